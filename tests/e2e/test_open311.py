"""Open311 GeoReport v2 over the real server process and the real PostgreSQL, checked against the spec summary
(../shared/docs/open311.md): every endpoint in JSON and XML, filing and its refusals, the GET filters and
paging, the extensions, duplicate linking, the reporter's privacy (answers and ledger), and a real client
(the `georeport` package from PyPI, in a virtual environment of its own)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.deps import KEY_CACHE_SECONDS
from tests.conftest import _postgres_database, missing
from tests.e2e.open311_world import (
    FORMATS,
    JURISDICTION,
    Open311World,
    as_text,
    element_dict,
    errors_of,
    now,
    parse_json,
    parse_xml,
    running_world,
    w3c,
)
from transit.tickets.catalog import default_catalog

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("open311")]  # one world: one worker

CATALOG = default_catalog()
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
W3C_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
METRES_PER_DEGREE_LAT = 111_195.0
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
EXTENSION_FIELDS = {"extended_attributes", "attributes", "notes"}


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Open311World]:
    database = _postgres_database(request)  # a fresh clone of the migrated template, as transit_app
    try:
        with running_world(next(database), tmp_path_factory.mktemp("open311")) as built:
            yield built
    finally:
        next(database, None)  # drops it


def assert_w3c(text: object) -> dt.datetime:
    """A W3C date-time with an offset (Z or ±HH:MM), as an aware datetime."""
    assert isinstance(text, str) and W3C_WITH_OFFSET.fullmatch(text), text
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None
    return moment


def items_of(response: httpx.Response, fmt: str) -> list[dict[str, Any]]:
    """A service_requests body (200 or 201) in either format, as dicts of XML-spelled text, after checking
    its shape: a bare JSON array, or `<service_requests>` holding only `<request>` elements."""
    if fmt == "json":
        found = parse_json(response)
        assert isinstance(found, list), found
        return [as_text(item) for item in found]
    root = parse_xml(response, "service_requests")
    assert all(child.tag == "request" for child in root), response.text[:500]
    return [element_dict(child) for child in root]


def tags(root: ET.Element, path: str) -> list[str]:
    """The tags of the children of the element at `path` (which must exist)."""
    found = root.find(path)
    assert found is not None, (path, ET.tostring(root)[:500])
    return [child.tag for child in found]


def both(world: Open311World, path: str, **params: str) -> tuple[Any, ET.Element]:
    """The JSON body and the XML root of one GET, after checking both are 200 with their media types (and
    the XML declaration)."""
    answers = {fmt: world.get(path, fmt, **params) for fmt in FORMATS}
    for fmt, response in answers.items():
        assert response.status_code == 200, (fmt, response.text[:500])
    return parse_json(answers["json"]), parse_xml(answers["xml"])


# --- 1. every endpoint in both formats --------------------------------------------------------------------


def test_discovery_names_its_endpoints_formats_and_an_iso_changeset_in_both_formats(
    world: Open311World,
) -> None:
    answers = {fmt: world.client.get(f"/open311/discovery.{fmt}") for fmt in FORMATS}
    assert {fmt: r.status_code for fmt, r in answers.items()} == {"json": 200, "xml": 200}
    document = parse_json(answers["json"])
    assert isinstance(document, dict), document
    assert set(document) >= {"changeset", "contact", "key_service", "endpoints"}, document
    assert document["contact"] and document["key_service"]
    assert_w3c(document["changeset"])
    endpoints = document["endpoints"]
    assert isinstance(endpoints, list) and len(endpoints) >= 1, endpoints
    for endpoint in endpoints:
        assert endpoint["specification"] == SPECIFICATION
        assert endpoint["type"] in ("production", "test"), endpoint
        assert endpoint["formats"] == ["text/xml", "application/json"], endpoint
        assert_w3c(endpoint["changeset"])
        assert httpx.get(f"{endpoint['url']}/services.xml").status_code == 200, endpoint["url"]
    root = parse_xml(answers["xml"], "discovery")
    assert tags(root, "endpoints") == ["endpoint"] * len(endpoints)
    assert [f.text for f in root.findall("endpoints/endpoint[1]/formats/format")] == endpoints[0]["formats"]
    assert element_dict(root) == as_text(document)


def test_service_list_is_every_catalog_service_as_strings_with_metadata_and_group(
    world: Open311World,
) -> None:
    services, root = both(world, "services")
    assert isinstance(services, list), services
    assert [s["service_code"] for s in services] == list(CATALOG.services)
    by_code = {s["service_code"]: s for s in services}
    for code, service in CATALOG.services.items():
        listed = by_code[code]
        assert isinstance(listed["service_code"], str) and isinstance(listed["service_name"], str)
        assert listed["metadata"] is bool(service.attributes), listed
        assert listed["type"] == "realtime" and listed["group"] == service.group, listed
    assert by_code["water_supply"]["metadata"] is True and by_code["bus_stop"]["metadata"] is False
    assert root.tag == "services" and [s.tag for s in root] == ["service"] * len(services)
    assert [element_dict(s) for s in root] == as_text(services)


def test_water_supply_definition_has_a_required_singlevaluelist_in_both_formats(world: Open311World) -> None:
    definition, root = both(world, "services/water_supply")
    assert isinstance(definition, dict) and definition["service_code"] == "water_supply", definition
    [which] = definition["attributes"]
    assert which | {"description": None} == {
        "variable": True, "code": "which", "datatype": "singlevaluelist", "required": True,
        "datatype_description": None, "order": 1, "description": None,
        "values": [{"key": "cold", "name": "Cold water"}, {"key": "hot", "name": "Hot water"},
                   {"key": "both", "name": "Both"}],
    }  # fmt: skip
    assert which["description"], which
    assert root.tag == "service_definition"
    assert tags(root, "attributes") == ["attribute"], ET.tostring(root)  # a list of one, still wrapped
    assert tags(root, "attributes/attribute/values") == ["value"] * 3
    assert element_dict(root) == as_text(definition)


def test_bus_no_show_definition_has_a_required_datetime_attribute(world: Open311World) -> None:
    definition, root = both(world, "services/bus_no_show")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert list(attributes) == ["route", "stop", "time"]
    assert attributes["time"]["datatype"] == "datetime" and attributes["time"]["required"] is True
    assert attributes["route"]["required"] is True and attributes["stop"]["required"] is False
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 3]
    assert element_dict(root) == as_text(definition)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("/open311/v2/services/teleportation", "teleportation"),
        ("/open311/v2/requests/999999999", "999999999"),
        ("/open311/v2/requests/not-an-id", "not-an-id"),
        ("/open311/v2/tokens/abc123", "abc123"),
    ],
)
def test_what_does_not_exist_is_a_404_in_open311_error_format(
    world: Open311World, path: str, word: str, fmt: str
) -> None:
    response = world.client.get(f"{path}.{fmt}")
    assert response.status_code == 404, response.text
    [error] = errors_of(response, fmt)
    assert error["code"] == "404" and word in error["description"], error


def test_an_unknown_format_suffix_is_a_404_in_xml(world: Open311World) -> None:
    response = world.client.get("/open311/v2/services.yaml")
    assert response.status_code == 404
    [error] = errors_of(response, "xml")
    assert "yaml" in error["description"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["services", "services/water_supply", "requests", "tokens/abc"])
def test_jurisdiction_id_is_optional_but_checked_when_given(world: Open311World, path: str, fmt: str) -> None:
    if path != "tokens/abc":  # every token is unknown: 404 either way
        assert world.get(path, fmt, jurisdiction_id=JURISDICTION).status_code == 200
        assert world.get(path, fmt, jurisdiction_id="").status_code == 200  # sent empty = not sent
    response = world.get(path, fmt, jurisdiction_id="astana.kz")
    assert response.status_code == 404, response.text
    [error] = errors_of(response, fmt)
    assert "jurisdiction_id" in error["description"], error


def test_one_request_is_a_list_of_one_in_both_formats_with_every_field(world: Open311World) -> None:
    lat, lon = world.place()
    request_id = world.file(
        "pothole", lat=str(lat), long=str(lon), address_string="Abay St 12, Petropavl", address_id="A-77",
        description="A deep hole\nby the stop", media_url="https://example.kz/p/1.jpg",
    )  # fmt: skip
    [item], root = both(world, f"requests/{request_id}")
    assert isinstance(item["service_request_id"], str) and item["service_request_id"] == request_id
    assert set(item) >= REQUEST_FIELDS and not EXTENSION_FIELDS & set(item), sorted(item)
    assert item["status"] == "open" and item["service_code"] == "pothole"
    assert item["service_name"] == CATALOG.services["pothole"].name
    assert item["agency_responsible"] == CATALOG.departments["roads"].name
    assert (item["lat"], item["long"]) == (lat, lon)
    assert (item["address"], item["address_id"]) == ("Abay St 12, Petropavl", "A-77")
    assert (
        item["description"] == "A deep hole\nby the stop"
        and item["media_url"] == "https://example.kz/p/1.jpg"
    )
    requested = assert_w3c(item["requested_datetime"])
    assert abs(requested - now()) < dt.timedelta(minutes=1)
    assert assert_w3c(item["expected_datetime"]) > requested
    assert assert_w3c(item["updated_datetime"]) >= requested
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]  # wrapped, even for one
    assert element_dict(root[0]) == as_text(item)


def test_an_empty_answer_is_an_empty_list_in_both_formats(world: Open311World) -> None:
    found, root = both(world, "requests", start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00Z")
    assert found == [] and root.tag == "service_requests" and len(root) == 0


# --- 2. filing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "multipart"), [(f, m) for f in FORMATS for m in (False, True)])
def test_a_filed_request_is_a_201_with_a_string_id_and_a_notice_naming_department_and_due_date(
    world: Open311World, fmt: str, multipart: bool
) -> None:
    form = world.form("water_supply", **{"attribute[which]": "hot", "description": f"no hot water ({fmt})"})
    response = world.post(form, fmt, multipart=multipart)
    assert response.status_code == 201, response.text
    [answer] = items_of(response, fmt)
    request_id = answer["service_request_id"]
    assert isinstance(request_id, str) and request_id.isdigit() and "token" not in answer, answer
    if fmt == "json":
        assert isinstance(response.json()[0]["service_request_id"], str)
    [stored] = world.requests(service_request_id=request_id)
    assert stored["service_code"] == "water_supply" and stored["description"] == f"no hot water ({fmt})"
    notice = answer["service_notice"]
    assert CATALOG.departments["housing"].name in notice, notice
    due = assert_w3c(stored["expected_datetime"]).astimezone(ZoneInfo(CATALOG.timezone))
    assert f"{due:%Y-%m-%d %H:%M}" in notice, (notice, stored["expected_datetime"])


def test_a_description_of_exactly_4000_characters_is_taken(world: Open311World) -> None:
    request_id = world.file("pothole", description="x" * 4000)
    [stored] = world.requests(service_request_id=request_id)
    assert stored["description"] == "x" * 4000


def test_a_location_by_address_alone_is_taken(world: Open311World) -> None:
    request_id = world.file("garbage", address_string="Internatsionalnaya St 5")
    [stored] = world.requests(service_request_id=request_id)
    assert stored["address"] == "Internatsionalnaya St 5" and stored["lat"] is None and stored["long"] is None


def test_a_bus_no_show_with_its_required_datetime_is_taken_and_its_attributes_echoed(
    world: Open311World,
) -> None:
    answers = {"route": "12", "stop": "Central market", "time": "2026-11-29T08:00:00+05:00"}
    request_id = world.file("bus_no_show", **{f"attribute[{code}]": value for code, value in answers.items()})
    [item] = world.requests(service_request_id=request_id, extensions="true")
    assert {a["code"]: a["value"] for a in item["attributes"]} == answers
    assert item["extended_attributes"]["sector"] == "transport"


def test_non_latin_text_round_trips_in_both_formats(world: Open311World) -> None:
    text = "Яма на дороге у остановки; жол бұзылған"
    request_id = world.file("pothole", description=text, address_string="ул. Абая, 12")
    [item], root = both(world, f"requests/{request_id}")
    assert item["description"] == text and item["address"] == "ул. Абая, 12"
    assert root.findtext("request/description") == text


def test_a_department_key_files_and_a_revoked_intake_key_is_refused_within_the_key_cache_time(
    world: Open311World,
) -> None:
    assert world.file("snow", api_key=world.keys["department"]).isdigit()
    assert world.file("snow", api_key=world.keys["kiosk"]).isdigit()  # now in the server's key cache
    world.cli("keys", "revoke", world.key_ids["kiosk"])
    revoked_at = time.monotonic()
    while (response := world.post(world.form("snow", api_key=world.keys["kiosk"]))).status_code == 201:
        assert time.monotonic() - revoked_at < KEY_CACHE_SECONDS + 1.0, "the revoked key still files"
        time.sleep(0.2)
    assert response.status_code == 403, response.text
    assert "api_key" in errors_of(response, "json")[0]["description"]


# id, service, changes to a complete form (None drops a field; "@name": that key's secret), status, words
REFUSALS = [
    ("no_api_key", "pothole", {"api_key": None}, 403, ["api_key"]),
    ("unknown_key", "pothole", {"api_key": "t311_not_a_key"}, 403, ["api_key"]),
    ("planner_key", "pothole", {"api_key": "@planner"}, 403, ["api_key", "planner"]),
    ("auditor_key", "pothole", {"api_key": "@auditor"}, 403, ["api_key", "auditor"]),
    ("unknown_service", "teleportation", {}, 404, ["service_code", "teleportation"]),
    ("no_service_code", "pothole", {"service_code": None}, 400, ["service_code"]),
    ("no_location", "pothole", {"lat": None, "long": None}, 400, ["lat", "address_string"]),
    ("lat_without_long", "pothole", {"long": None}, 400, ["long"]),
    ("long_without_lat", "pothole", {"lat": None}, 400, ["lat"]),
    ("lat_not_a_number", "pothole", {"lat": "north"}, 400, ["lat", "north"]),
    ("lat_out_of_range", "pothole", {"lat": "91"}, 400, ["lat"]),
    ("missing_required_attribute", "bus_no_show", {"attribute[time]": "2026-11-29T08:00:00+05:00"},
     400, ["attribute[route]", "required"]),
    ("naive_datetime_attribute", "bus_no_show",
     {"attribute[route]": "12", "attribute[time]": "2026-11-29T08:00"}, 400, ["attribute[time]"]),
    ("value_not_in_list", "water_supply", {"attribute[which]": "lukewarm"},
     400, ["attribute[which]", "lukewarm"]),
    ("unknown_attribute", "pothole", {"attribute[colour]": "red"}, 400, ["attribute[colour]"]),
    ("description_over_4000", "pothole", {"description": "x" * 4001}, 400, ["description", "4,000"]),
    ("unknown_jurisdiction", "pothole", {"jurisdiction_id": "astana.kz"},
     404, ["jurisdiction_id", "astana.kz"]),
]  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("service", "changes", "status", "words"), [case[1:] for case in REFUSALS], ids=[c[0] for c in REFUSALS]
)
def test_a_refused_post_answers_in_open311_format_and_stores_nothing(
    world: Open311World, service: str, changes: dict[str, str | None], status: int, words: list[str], fmt: str
) -> None:
    form: dict[str, str | None] = dict(world.form(service))
    for name, value in changes.items():
        form[name] = world.keys[value[1:]] if value and value.startswith("@") else value
    since = now()
    response = world.post({k: v for k, v in form.items() if v is not None}, fmt)
    until = now()
    assert response.status_code == status, response.text[:500]
    [error] = errors_of(response, fmt)
    assert error["code"] == str(status), error
    assert all(word in error["description"] for word in words), error
    assert world.ids(start_date=w3c(since), end_date=w3c(until)) == []


# --- 3. GET /requests filters ----------------------------------------------------------------------------


def test_service_request_id_list_overrides_every_other_filter(world: Open311World) -> None:
    pothole, consultation = world.file("pothole"), world.file("consultation")
    both_ids = f"{pothole},{consultation}"
    found = world.ids(
        service_request_id=both_ids, service_code="snow", status="open",
        start_date="2020-01-01T00:00:00Z", end_date="2020-01-02T00:00:00Z",
    )  # fmt: skip
    assert found == [pothole, consultation]
    assert world.ids(service_request_id=f"{consultation}, 999999999") == [consultation]
    response = world.get("requests", service_request_id=f"{pothole},abc")
    assert (
        response.status_code == 400 and "service_request_id" in errors_of(response, "json")[0]["description"]
    )


def test_service_code_list_selects_those_services(world: Open311World) -> None:
    since = now()
    pothole, snow, _garbage = world.file("pothole"), world.file("snow"), world.file("garbage")
    window = {"start_date": w3c(since), "end_date": w3c(now())}
    assert world.ids(service_code="pothole,snow", **window) == [pothole, snow]
    assert world.ids(service_code="snow", **window) == [snow]
    assert len(world.ids(service_code="", **window)) == 3  # sent empty = not sent


def test_status_open_and_closed_a_consultation_is_closed_at_once(world: Open311World) -> None:
    since = now()
    complaint, consultation = (
        world.file("heating"),
        world.file("consultation", **{"attribute[topic]": "social"}),
    )
    window = {"start_date": w3c(since), "end_date": w3c(now())}
    assert world.ids(status="open", **window) == [complaint]
    assert world.ids(status="closed", **window) == [consultation]
    assert world.ids(status="open,closed", **window) == [complaint, consultation]
    assert world.ids(status="", **window) == [complaint, consultation]  # sent empty = not sent
    closed = world.requests(service_request_id=consultation)[0]
    assert closed["status"] == "closed"
    assert assert_w3c(closed["updated_datetime"]) == assert_w3c(closed["requested_datetime"])  # closed then
    response = world.get("requests", status="pending", **window)
    assert response.status_code == 400 and "status" in errors_of(response, "json")[0]["description"]


def test_start_and_end_dates_honour_their_offsets(world: Open311World) -> None:
    since = now()
    filed = [world.file("snow"), world.file("snow")]
    until = now()
    assert world.ids(start_date=w3c(since), end_date=w3c(until)) == filed
    assert world.ids(start_date=w3c(since, 5), end_date=w3c(until, -3.5)) == filed
    assert world.ids(start_date=w3c(since).replace("+00:00", "Z"), end_date=w3c(until, 6)) == filed
    # The same wall-clock time at -05:00 is five hours later: nothing was filed after it.
    shifted = since.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert world.ids(start_date=shifted.isoformat(), end_date=w3c(until + dt.timedelta(hours=6))) == []
    assert world.ids(start_date=w3c(until), end_date=w3c(until + dt.timedelta(minutes=1))) == []
    assert world.ids(start_date=w3c(since)) == filed  # start alone: 90 days from it
    assert set(filed) <= set(world.ids())  # no dates: the last 90 days


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "2026-01-01T00:00:00"}, ["start_date", "time zone"]),
        ({"end_date": "2026-01-01"}, ["end_date", "time zone"]),
        ({"updated_after": "2026-01-01T10:00"}, ["updated_after", "time zone"]),
        ({"start_date": "yesterday"}, ["start_date"]),
        ({"start_date": "2026-02-30T00:00:00Z"}, ["start_date"]),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:01Z"}, ["90 days"]),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-28T00:00:00Z"},
         ["end_date", "start_date"]),
        ({"page_size": "0"}, ["page_size"]),
        ({"page_size": "1001"}, ["page_size"]),
        ({"page": "0"}, ["page"]),
        ({"page": "two"}, ["page"]),
        ({"status": "in_progress"}, ["status"]),
    ],
    ids=["naive_start", "naive_end_date_only", "naive_updated_after", "not_a_date", "no_such_day",
         "span_over_90_days", "end_before_start", "page_size_0", "page_size_over_1000", "page_0",
         "page_not_a_number", "extended_status"],
)  # fmt: skip
def test_a_bad_filter_is_a_400_naming_it(
    world: Open311World, params: dict[str, str], words: list[str], fmt: str
) -> None:
    response = world.get("requests", fmt, **params)
    assert response.status_code == 400, response.text[:500]
    [error] = errors_of(response, fmt)
    assert error["code"] == "400" and all(w in error["description"] for w in words), error


def test_a_span_of_exactly_90_days_is_allowed(world: Open311World) -> None:
    response = world.get("requests", start_date="2026-01-01T00:00:00Z", end_date="2026-04-01T00:00:00Z")
    assert response.status_code == 200, response.text


def test_an_offset_plus_sent_unencoded_is_explained(world: Open311World) -> None:
    # In a query string an unencoded "+" is a space: the answer says to encode it.
    response = world.client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00+05:00")
    assert response.status_code == 400
    assert "%2B" in errors_of(response, "json")[0]["description"]


def test_pages_cover_every_request_exactly_once(world: Open311World) -> None:
    since = now()
    filed = [world.file("street_light") for _ in range(7)]
    window = {"start_date": w3c(since), "end_date": w3c(now())}
    assert world.ids(**window) == filed
    pages = [world.ids(page=str(n), page_size="3", **window) for n in range(1, 5)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [i for page in pages for i in page] == filed
    assert world.ids(page_size="3", **window) == filed[:3]  # page defaults to 1
    assert world.ids(page="", page_size="", **window) == filed  # sent empty = not sent


def test_updated_after_gives_only_what_changed_since(world: Open311World) -> None:
    before = world.file("elevator")
    middle = now()
    after = world.file("elevator")
    assert world.ids(updated_after=w3c(middle)) == [after]
    assert world.ids(updated_after=w3c(middle, 5)) == [after]
    assert before in world.ids(updated_after=w3c(middle - dt.timedelta(minutes=5)))
    assert world.ids(updated_after=w3c(now())) == []


# --- 4. extensions ---------------------------------------------------------------------------------------


def test_extensions_add_extended_attributes_attributes_and_public_notes(world: Open311World) -> None:
    request_id = world.file("water_supply", **{"attribute[which]": "both"})
    consultation = world.file("consultation", **{"attribute[topic]": "transport"})
    for path, params in [(f"requests/{request_id}", {}), ("requests", {"service_request_id": request_id})]:
        [item], root = both(world, path, extensions="true", **params)
        assert item["extended_attributes"] == {
            "sector": "housing_utilities", "department": "housing", "workflow_state": "routed",
            "kind": "complaint", "duplicate_of": None, "escalations": 0,
        }  # fmt: skip
        assert item["attributes"] == [{"code": "which", "name": "Which water", "value": "both"}]
        notes = item["notes"]
        assert [n["type"] for n in notes] == ["submitted", "routed"], notes
        assert all(n["description"] for n in notes) and [assert_w3c(n["datetime"]) for n in notes]
        assert CATALOG.departments["housing"].name in notes[-1]["description"]
        assert item["status_notes"] == notes[-1]["description"]
        assert tags(root, "request/attributes") == ["attribute"]  # a list of one
        assert tags(root, "request/notes") == ["note", "note"]
        assert element_dict(root[0]) == as_text(item)
    [closed] = world.requests(service_request_id=consultation, extensions="true")
    assert closed["extended_attributes"]["workflow_state"] == "done"
    assert closed["extended_attributes"]["kind"] == "consultation" and closed["status"] == "closed"
    assert [n["type"] for n in closed["notes"]] == ["submitted", "state"]


@pytest.mark.parametrize("extensions", [None, "false", ""])
def test_without_extensions_no_extension_field_appears(world: Open311World, extensions: str | None) -> None:
    request_id = world.file("water_supply", **{"attribute[which]": "cold"})
    params = {} if extensions is None else {"extensions": extensions}
    for path, more in [(f"requests/{request_id}", {}), ("requests", {"service_request_id": request_id})]:
        [item], root = both(world, path, **params, **more)
        assert set(item) == REQUEST_FIELDS, sorted(item)
        assert {child.tag for child in root[0]} == REQUEST_FIELDS
        for word in ("extended_attributes", "workflow_state", "<notes", "<attributes"):
            assert word not in ET.tostring(root, encoding="unicode"), word


# --- 5. duplicates ---------------------------------------------------------------------------------------


def test_a_flooding_request_50_m_from_an_open_one_links_to_it_and_is_still_listed(
    world: Open311World,
) -> None:
    lat, lon = world.place()
    step = 1 / METRES_PER_DEGREE_LAT

    def flooding(north_m: float, code: str = "flooding") -> str:
        return world.file(code, lat=str(lat + north_m * step), long=str(lon))

    since = now()
    first = flooding(0)
    near, near_again = flooding(50), flooding(-40)
    far, other_service = flooding(1000), flooding(0, "pothole")
    window = {"start_date": w3c(since), "end_date": w3c(now())}

    def duplicate_of(request_id: str) -> str | None:
        [item] = world.requests(service_request_id=request_id, extensions="true")
        link: str | None = item["extended_attributes"]["duplicate_of"]
        return link

    assert [duplicate_of(i) for i in (first, near, near_again, far, other_service)] == [
        None, first, first, None, None,
    ]  # fmt: skip
    assert world.ids(**window) == [first, near, near_again, far, other_service]  # none lost
    [linked] = world.requests(service_request_id=near, extensions="true")
    assert linked["status"] == "open" and linked["service_code"] == "flooding"
    assert any(n["type"] == "duplicate" and first in n["description"] for n in linked["notes"]), linked
    assert world.ids(service_code="flooding", status="open", **window) == [first, near, near_again, far]


# --- 6. privacy ------------------------------------------------------------------------------------------

REPORTER = {
    "first_name": "Zhanargul",
    "last_name": "Privatovna",
    "email": "zhanargul.p@mail.example",
    "phone": "+77015550199",
    "device_id": "device-7f3a9c21",
    "account_id": "acct-55e1d0b4",
}


def test_the_reporter_appears_in_no_answer_and_not_in_the_ledger(world: Open311World) -> None:
    since = now()
    request_id = world.file("heating", **REPORTER, **{"attribute[flat]": "41"})
    window = {"start_date": w3c(since), "end_date": w3c(now())}
    bodies = []
    for fmt in FORMATS:
        for extra in ({}, {"extensions": "true"}):
            bodies.append(world.get(f"requests/{request_id}", fmt, **extra))
            bodies.append(world.get("requests", fmt, service_request_id=request_id, **extra))
            bodies.append(world.get("requests", fmt, **window, **extra))
    for response in bodies:
        assert response.status_code == 200 and request_id in response.text, response.text[:300]
        leaked = [name for name, value in REPORTER.items() if value in response.text]
        assert not leaked, (str(response.url), leaked)

    events = json.loads(world.cli("ledger", "show", "--format", "json"))
    for event in events:  # the CLI prints each payload as its canonical JSON text
        event["payload"] = (
            json.loads(event["payload"]) if isinstance(event["payload"], str) else event["payload"]
        )
    filed = [
        e for e in events if e["kind"] == "ticket_filed" and e["payload"]["ticket_id"] == int(request_id)
    ]
    assert len(filed) == 1 and filed[0]["payload"]["reporter_given"] is True, filed
    dumped = json.dumps(events, ensure_ascii=False)
    assert not [name for name, value in REPORTER.items() if value in dumped]

    headers = {"Authorization": f"Bearer {world.keys['department']}"}
    response = world.client.get(
        "/v1/ledger/events", params={"subject_prefix": f"ticket:{request_id}", "limit": 1000}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert any(e["kind"] == "ticket_filed" for e in response.json()["items"]), response.text[:500]
    assert not [name for name, value in REPORTER.items() if value in response.text]


# --- edges: ids, pages and dates no request can have, values no column can hold, the key in the query ------


def once(world: Open311World, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own: after an unhandled error the server drops the connection,
    which must not break the shared client of the other tests."""
    with httpx.Client(base_url=world.base_url, timeout=30.0) as client:
        return client.request(method, path, **kwargs)


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "0001-01-01T00:00:00+05:00"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"start_date": "9999-12-31T23:00:00-05:00"},
        {"updated_after": "0001-01-01T00:00:00+05:00"},
    ],
    ids=["start_year_1", "end_year_1", "start_year_9999", "updated_after_year_1"],
)
def test_a_date_at_the_edge_of_the_calendar_is_a_400_in_open311_format(
    world: Open311World, params: dict[str, str]
) -> None:
    response = once(world, "GET", "/open311/v2/requests.json", params=params)
    assert response.status_code == 400, response.text[:300]
    assert errors_of(response, "json")[0]["code"] == "400"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/open311/v2/requests/2147483648.json", {}, 404),
        ("/open311/v2/requests/\u00b2.json", {}, 404),
        ("/open311/v2/requests.json", {"service_request_id": "\u00b2"}, 400),
        ("/open311/v2/requests.json", {"page": "\u00b2"}, 400),
        ("/open311/v2/requests.json", {"page": "1" * 5000}, 400),
    ],
    ids=[
        "id_past_int4",
        "id_superscript_two",
        "ids_superscript_two",
        "page_superscript_two",
        "page_5000_digits",
    ],
)
def test_an_id_or_page_no_request_can_have_is_an_open311_error(
    world: Open311World, path: str, params: dict[str, str], status: int
) -> None:
    response = once(world, "GET", path, params=params)
    assert response.status_code == status, response.text[:300]
    assert errors_of(response, "json")[0]["code"] == str(status)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address_string", "a" * 501),
        ("address_id", "a" * 201),
        ("media_url", "https://example.kz/" + "a" * 2000),
        ("first_name", "n" * 201),
        ("phone", "7" * 51),
        ("description", "a hole\x00by the stop"),
    ],
    ids=[
        "address_string_501",
        "address_id_201",
        "media_url_2019",
        "first_name_201",
        "phone_51",
        "nul_in_text",
    ],
)
def test_a_value_the_database_cannot_hold_is_a_400_in_open311_format_naming_the_field(
    world: Open311World, field: str, value: str
) -> None:
    response = once(world, "POST", "/open311/v2/requests.xml", data=world.form("pothole", **{field: value}))
    assert response.status_code == 400, response.text[:300]
    assert field in errors_of(response, "xml")[0]["description"]


def test_an_api_key_in_the_query_string_is_taken(world: Open311World) -> None:
    form = world.form("pothole")
    key = form.pop("api_key")
    response = once(world, "POST", "/open311/v2/requests.json", params={"api_key": key}, data=form)
    assert response.status_code == 201, response.text


def test_end_date_includes_a_request_requested_at_that_very_second(world: Open311World) -> None:
    request_id = world.file("garbage")
    [item] = world.requests(service_request_id=request_id)
    moment = item["requested_datetime"]  # whole seconds, as every client sees it
    assert request_id in world.ids(start_date=moment, end_date=moment)


# --- 7. a real client ------------------------------------------------------------------------------------

CLIENT_SCRIPT = """
import json, sys
from georeport import GeoReport

root, ids = sys.argv[1], sys.argv[2]
out = {}
for fmt in ("json", "xml"):
    client = GeoReport(root, jurisdiction=sys.argv[3], output_format=fmt)
    services = client.get_service_list()
    many = client.get_service_requests(service_request_id=ids)
    one = client.get_service_request(ids.split(",")[0])
    attributes = client.get_service_definition("bus_no_show")["attributes"]
    if fmt == "xml":
        attributes = attributes["attribute"]
    out[fmt] = {
        "service_codes": [s["service_code"] for s in services],
        "metadata": [str(s["metadata"]).lower() for s in services],
        "many_is_a_list": isinstance(many, list),
        "request_ids": [r["service_request_id"] for r in many],
        "statuses": [r["status"] for r in many],
        "one_id": one["service_request_id"],
        "attribute_codes": [a["code"] for a in attributes],
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def georeport_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a virtual environment holding PyPI's `georeport` (it pins an old xmltodict)."""
    folder = tmp_path_factory.mktemp("georeport") / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(folder)], capture_output=True, text=True)
    assert made.returncode == 0, f"python -m venv: {made.stderr}"
    python = folder / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "georeport"]
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    if installed.returncode != 0:
        missing(f"pip install georeport failed (is the package index reachable?): {installed.stderr[-2000:]}")
    return python


def test_the_georeport_client_reads_our_services_and_requests_in_json_and_xml(
    world: Open311World, georeport_python: Path, tmp_path: Path
) -> None:
    filed = [world.file("pothole"), world.file("consultation")]
    discovery = world.client.get("/open311/discovery.json").json()
    [root] = [e["url"] for e in discovery["endpoints"] if e["type"] == "production"]
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT, encoding="utf-8")
    ran = subprocess.run(
        [str(georeport_python), str(script), root, ",".join(filed), JURISDICTION],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    services = world.get("services").json()
    for fmt in FORMATS:
        got = seen[fmt]
        assert got["service_codes"] == [s["service_code"] for s in services], fmt
        assert got["metadata"] == [str(s["metadata"]).lower() for s in services], fmt
        assert got["many_is_a_list"] and got["request_ids"] == filed, (fmt, got)
        assert got["statuses"] == ["open", "closed"], (fmt, got)
        assert got["one_id"] == filed[0], (fmt, got)
        assert got["attribute_codes"] == ["route", "stop", "time"], (fmt, got)


# --- 8. updates (FixMyStreet) ------------------------------------------------------------------------------


def test_public_changes_come_out_as_updates_with_extended_statuses_in_both_formats(
    world: Open311World,
) -> None:
    since = now()
    first, other = world.file("pothole"), world.file("garbage")
    department = {"Authorization": f"Bearer {world.keys['department']}"}
    for state, text, public in (("in_progress", "A crew is on its way", True), ("done", "Filled", True)):
        moved = world.client.post(f"/v1/tickets/{first}/state", headers=department,
                                  json={"state": state, "text": text, "public": public})  # fmt: skip
        assert moved.status_code == 200, moved.text
    hidden = world.client.post(f"/v1/tickets/{other}/notes", headers=department, json={"text": "internal"})
    assert hidden.status_code == 201, hidden.text
    window = {"start_date": w3c(since), "end_date": w3c(now())}
    response = world.get("servicerequestupdates", **window)
    assert (
        response.status_code == 200 and response.headers["content-type"] == "application/json; charset=utf-8"
    )
    updates = response.json()
    mine = [(u["service_request_id"], u["status"], u["description"]) for u in updates]
    assert mine[-2:] == [(first, "in_progress", "A crew is on its way"), (first, "fixed", "Filled")], mine
    assert "internal" not in response.text and {u["service_request_id"] for u in updates} == {first, other}
    assert all(u["update_id"].isdigit() and u["updated_datetime"].endswith("+00:00") for u in updates)
    xml = parse_xml(world.get("servicerequestupdates", "xml", **window), "service_request_updates")
    assert [e.findtext("status") for e in xml.findall("request_update")] == [u["status"] for u in updates]
