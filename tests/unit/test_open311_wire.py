"""Open311 GeoReport v2 wire format: Spark-convention bodies in XML and JSON, the POST form, W3C dates."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from api.open311.wire import (
    JSON_MEDIA_TYPE,
    XML_MEDIA_TYPE,
    Body,
    FormError,
    Kind,
    UnknownFormat,
    WireFormat,
    parse_format,
    parse_request_form,
    parse_w3c_datetime,
    render,
    render_response,
)

ALMATY = dt.timezone(dt.timedelta(hours=5))
REQUESTED_AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=ALMATY)


def to_xml(kind: Kind, data: Body) -> ET.Element:
    body, media_type = render(kind, data, WireFormat.XML)
    assert media_type == XML_MEDIA_TYPE
    return ET.fromstring(body)


def to_json(kind: Kind, data: Body) -> Any:
    body, media_type = render(kind, data, WireFormat.JSON)
    assert media_type == JSON_MEDIA_TYPE
    return json.loads(body.decode("utf-8"))


def make_request(**overrides: object) -> dict[str, object]:
    request: dict[str, object] = {
        "service_request_id": "2026-000123",
        "status": "open",
        "status_notes": None,
        "service_name": "Pothole",
        "service_code": "001",
        "description": "A deep hole",
        "requested_datetime": REQUESTED_AT,
        "updated_datetime": REQUESTED_AT + dt.timedelta(hours=2),
        "address": "Abay Ave 10, Almaty",
        "lat": 43.2385,
        "long": 76.9456,
    }
    return request | overrides


SERVICES: list[dict[str, object]] = [
    {
        "service_code": "001",
        "service_name": "Pothole",
        "description": None,
        "metadata": True,
        "type": "realtime",
        "keywords": "road,hole",
        "group": "roads",
    },
    {
        "service_code": "002",
        "service_name": "Bus stop",
        "description": "Broken shelter",
        "metadata": False,
        "type": "realtime",
        "keywords": None,
        "group": "transport",
        "groups": ["transport", "stops"],
    },
]

DEFINITION: dict[str, object] = {
    "service_code": "001",
    "attributes": [
        {
            "variable": True,
            "code": "SIDE",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "Which side of the road?",
            "values": [{"key": "1", "name": "Left"}, {"key": "2", "name": "Right"}],
        },
        {
            "variable": False,
            "code": "NOTE",
            "datatype": "text",
            "required": False,
            "datatype_description": None,
            "order": 2,
            "description": "Photos help",
        },
    ],
}

DISCOVERY: dict[str, object] = {
    "changeset": dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC),
    "contact": "open311@almaty.example",
    "key_service": "https://almaty.example/keys",
    "endpoints": [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": f"https://{name}.almaty.example/open311/v2",
            "changeset": dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC),
            "type": name,
            "formats": ["text/xml", "application/json"],
        }
        for name in ("production", "test")
    ],
}


# --- formats and media types ---


@pytest.mark.parametrize(("suffix", "expected"), [("xml", WireFormat.XML), ("json", WireFormat.JSON)])
def test_suffix_names_the_format(suffix: str, expected: WireFormat) -> None:
    assert parse_format(suffix) is expected


@pytest.mark.parametrize("suffix", ["html", "XML", ".json", "", "jsonp"])
def test_other_suffixes_are_unknown_formats(suffix: str) -> None:
    with pytest.raises(UnknownFormat, match="use xml or json"):
        parse_format(suffix)
    assert issubclass(UnknownFormat, ValueError)


def test_media_types_carry_the_utf8_charset() -> None:
    assert render("errors", [], WireFormat.XML)[1] == "text/xml; charset=utf-8"
    assert render("errors", [], WireFormat.JSON)[1] == "application/json; charset=utf-8"


def test_xml_starts_with_the_double_quoted_declaration_and_has_no_namespace() -> None:
    body, _ = render("services", SERVICES, WireFormat.XML)
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<services>')
    assert b"xmlns" not in body


@pytest.mark.parametrize(
    ("fmt", "content_type"), [(WireFormat.XML, XML_MEDIA_TYPE), (WireFormat.JSON, JSON_MEDIA_TYPE)]
)
def test_response_helper_sets_status_media_type_and_body(fmt: WireFormat, content_type: str) -> None:
    errors = [{"code": 403, "description": "bad api_key"}]
    response = render_response("errors", errors, fmt, status_code=403)
    assert response.status_code == 403
    assert response.headers["content-type"] == content_type
    assert response.body == render("errors", errors, fmt)[0]


# --- each kind in both formats ---


def test_services_xml_is_a_container_of_service_elements() -> None:
    root = to_xml("services", SERVICES)
    assert root.tag == "services"
    assert [child.tag for child in root] == ["service", "service"]
    first, second = root
    assert first.findtext("service_code") == "001"
    assert first.findtext("metadata") == "true"
    assert second.findtext("metadata") == "false"
    assert [group.text for group in second.findall("groups/group")] == ["transport", "stops"]


def test_services_json_is_a_bare_array_with_string_codes_and_json_booleans() -> None:
    services = to_json("services", SERVICES)
    assert isinstance(services, list)
    assert [service["service_code"] for service in services] == ["001", "002"]
    assert services[0]["metadata"] is True
    assert services[0]["description"] is None
    assert services[1]["groups"] == ["transport", "stops"]


def test_service_definition_xml_nests_attributes_and_values() -> None:
    root = to_xml("service_definition", DEFINITION)
    assert root.tag == "service_definition"
    assert [child.tag for child in root] == ["service_code", "attributes"]
    attributes = root.findall("attributes/attribute")
    assert [attribute.findtext("code") for attribute in attributes] == ["SIDE", "NOTE"]
    assert attributes[0].findtext("variable") == "true"
    assert attributes[0].findtext("order") == "1"
    values = attributes[0].findall("values/value")
    assert [(value.findtext("key"), value.findtext("name")) for value in values] == [
        ("1", "Left"),
        ("2", "Right"),
    ]
    assert attributes[1].find("values") is None


def test_service_definition_json_is_an_object_with_attribute_and_value_arrays() -> None:
    definition = to_json("service_definition", DEFINITION)
    assert definition["service_code"] == "001"
    assert [attribute["code"] for attribute in definition["attributes"]] == ["SIDE", "NOTE"]
    assert definition["attributes"][0]["values"] == [
        {"key": "1", "name": "Left"},
        {"key": "2", "name": "Right"},
    ]
    assert definition["attributes"][0]["order"] == 1
    assert definition["attributes"][0]["required"] is True


def test_service_requests_xml_has_a_request_element_per_request() -> None:
    root = to_xml("service_requests", [make_request(), make_request(service_request_id="2026-000124")])
    assert root.tag == "service_requests"
    assert [request.findtext("service_request_id") for request in root] == ["2026-000123", "2026-000124"]
    first = root[0]
    assert first.findtext("requested_datetime") == "2026-11-29T10:00:00+05:00"
    assert first.findtext("updated_datetime") == "2026-11-29T12:00:00+05:00"
    assert first.findtext("lat") == "43.2385"
    assert first.findtext("long") == "76.9456"


def test_service_requests_json_keeps_numbers_for_coordinates_and_strings_for_ids() -> None:
    (request,) = to_json("service_requests", [make_request()])
    assert request["lat"] == 43.2385
    assert request["long"] == 76.9456
    assert request["service_request_id"] == "2026-000123"
    assert request["service_code"] == "001"
    assert request["requested_datetime"] == "2026-11-29T10:00:00+05:00"


def test_one_request_is_still_a_container_in_xml_and_an_array_in_json() -> None:
    root = to_xml("service_requests", [make_request()])
    assert root.tag == "service_requests"
    assert [child.tag for child in root] == ["request"]
    body = to_json("service_requests", [make_request()])
    assert isinstance(body, list)
    assert len(body) == 1


def test_post_answer_with_only_an_id_renders_as_a_one_element_list() -> None:
    answer = [
        {"service_request_id": "2026-000125", "service_notice": "Within 3 working days", "account_id": None}
    ]
    root = to_xml("service_requests", answer)
    assert root.findtext("request/service_request_id") == "2026-000125"
    assert to_json("service_requests", answer) == answer


def test_no_requests_is_an_empty_container_and_an_empty_array() -> None:
    root = to_xml("service_requests", [])
    assert root.tag == "service_requests"
    assert len(root) == 0
    assert to_json("service_requests", []) == []


def test_extensions_render_nested_objects_and_lists_recursively() -> None:
    request = make_request(
        extended_attributes={
            "workflow_state": "in_progress",
            "photos": [{"media_url": "https://x.example/1.jpg", "width": 640}],
        },
        notes=[
            {"datetime": REQUESTED_AT, "description": "Received", "type": "submitted"},
            {"datetime": REQUESTED_AT + dt.timedelta(hours=1), "description": "Sent on", "type": "activity"},
        ],
        attributes=[{"code": "SIDE", "name": "Side", "label": "Side", "value": "1"}],
    )
    root = to_xml("service_requests", [request])
    assert root.findtext("request/extended_attributes/workflow_state") == "in_progress"
    assert root.findtext("request/extended_attributes/photos/photo/width") == "640"
    assert [note.findtext("type") for note in root.findall("request/notes/note")] == ["submitted", "activity"]
    assert root.findtext("request/attributes/attribute/code") == "SIDE"
    (decoded,) = to_json("service_requests", [request])
    assert decoded["extended_attributes"]["photos"] == [
        {"media_url": "https://x.example/1.jpg", "width": 640}
    ]
    assert [note["datetime"] for note in decoded["notes"]] == [
        "2026-11-29T10:00:00+05:00",
        "2026-11-29T11:00:00+05:00",
    ]


def test_errors_in_both_formats() -> None:
    errors = [
        {"code": 400, "description": "lat: not a number"},
        {"code": 404, "description": "no such service"},
    ]
    root = to_xml("errors", errors)
    assert root.tag == "errors"
    assert [(error.findtext("code"), error.findtext("description")) for error in root.findall("error")] == [
        ("400", "lat: not a number"),
        ("404", "no such service"),
    ]
    assert to_json("errors", errors) == errors
    assert render("errors", errors[:1], WireFormat.JSON)[0].startswith(b'[{"code":400,')


def test_discovery_xml_lists_endpoints_and_their_formats() -> None:
    root = to_xml("discovery", DISCOVERY)
    assert root.tag == "discovery"
    assert root.findtext("changeset") == "2026-11-01T09:30:00+00:00"
    endpoints = root.findall("endpoints/endpoint")
    assert [endpoint.findtext("type") for endpoint in endpoints] == ["production", "test"]
    assert [fmt.text for fmt in endpoints[0].findall("formats/format")] == ["text/xml", "application/json"]
    assert endpoints[0].findtext("specification") == "http://wiki.open311.org/GeoReport_v2"


def test_discovery_json_is_an_object_with_format_strings() -> None:
    discovery = to_json("discovery", DISCOVERY)
    assert discovery["key_service"] == "https://almaty.example/keys"
    assert [endpoint["formats"] for endpoint in discovery["endpoints"]] == [
        ["text/xml", "application/json"]
    ] * 2


def test_service_request_updates_in_both_formats() -> None:
    updates = [
        {
            "update_id": "u1",
            "service_request_id": "2026-000123",
            "status": "fixed",
            "updated_datetime": REQUESTED_AT,
            "description": "Filled",
            "media_url": None,
        }
    ]
    root = to_xml("service_request_updates", updates)
    assert root.tag == "service_request_updates"
    assert [child.tag for child in root] == ["request_update"]
    assert root.findtext("request_update/status") == "fixed"
    assert to_json("service_request_updates", updates)[0]["updated_datetime"] == "2026-11-29T10:00:00+05:00"


# --- scalars ---


def test_none_is_an_empty_element_in_xml_and_null_in_json() -> None:
    body, _ = render("service_requests", [make_request(status_notes=None)], WireFormat.XML)
    assert b"<status_notes/>" in body
    assert ET.fromstring(body).find("request/status_notes") is not None
    assert to_json("service_requests", [make_request(status_notes=None)])[0]["status_notes"] is None


def test_booleans_are_lower_case_words_in_xml_and_booleans_in_json() -> None:
    body, _ = render("services", SERVICES, WireFormat.XML)
    assert b"<metadata>true</metadata>" in body
    assert b"<metadata>false</metadata>" in body
    assert [service["metadata"] for service in to_json("services", SERVICES)] == [True, False]


def test_markup_characters_and_quotes_are_escaped_and_round_trip() -> None:
    text = """<b>"Fish" & 'chips'</b> ]]> &amp;"""
    body, _ = render("service_requests", [make_request(description=text)], WireFormat.XML)
    assert b"<b>" not in body
    assert ET.fromstring(body).findtext("request/description") == text
    assert to_json("service_requests", [make_request(description=text)])[0]["description"] == text


def test_control_characters_are_replaced_so_the_xml_still_parses() -> None:
    text = "a\x00b\x0bc\x1fd\ud800e\uffff"
    body, _ = render("service_requests", [make_request(description=text)], WireFormat.XML)
    assert ET.fromstring(body).findtext("request/description") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd"
    decoded = to_json("service_requests", [make_request(description=text)])
    assert decoded[0]["description"] == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd"


def test_tab_newline_and_carriage_return_survive_the_xml_round_trip() -> None:
    text = "line 1\r\nline 2\tend"
    root = to_xml("service_requests", [make_request(description=text)])
    assert root.findtext("request/description") == text


@pytest.mark.parametrize("fmt", list(WireFormat))
def test_cyrillic_and_kazakh_text_round_trips_as_utf8(fmt: WireFormat) -> None:
    text = "Қала көшесінде шұңқыр, әкімдік; Яма на улице Абая"
    body, _ = render("service_requests", [make_request(description=text, address="Әл-Фараби даңғылы")], fmt)
    assert "Қ".encode() in body
    assert "ә".encode() in body
    if fmt is WireFormat.XML:
        request = ET.fromstring(body).find("request")
        assert request is not None
        assert (request.findtext("description"), request.findtext("address")) == (text, "Әл-Фараби даңғылы")
    else:
        (request,) = json.loads(body)
        assert (request["description"], request["address"]) == (text, "Әл-Фараби даңғылы")


def test_utc_datetimes_keep_an_explicit_offset_and_drop_microseconds() -> None:
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    (request,) = to_json("service_requests", [make_request(requested_datetime=at)])
    assert request["requested_datetime"] == "2026-01-02T03:04:05+00:00"


def test_an_offset_with_seconds_is_written_in_utc() -> None:
    local_mean_time = dt.timezone(dt.timedelta(hours=5, minutes=7, seconds=48))
    at = dt.datetime(1920, 5, 1, 12, 0, tzinfo=local_mean_time)
    (request,) = to_json("service_requests", [make_request(requested_datetime=at)])
    assert request["requested_datetime"] == "1920-05-01T06:52:12+00:00"


@pytest.mark.parametrize("fmt", list(WireFormat))
def test_a_naive_datetime_is_refused(fmt: WireFormat) -> None:
    with pytest.raises(ValueError, match="requested_datetime: naive datetime"):
        render("service_requests", [make_request(requested_datetime=dt.datetime(2026, 11, 29, 10, 0))], fmt)


# --- programming errors ---


@pytest.mark.parametrize("fmt", list(WireFormat))
def test_an_unknown_list_container_is_a_programming_error(fmt: WireFormat) -> None:
    with pytest.raises(ValueError, match="comments: no element name"):
        render("service_requests", [make_request(comments=["first"])], fmt)


@pytest.mark.parametrize("fmt", list(WireFormat))
@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (float("nan"), ValueError, "not a finite number"),
        (Decimal("1.5"), TypeError, "cannot render a Decimal"),
        (dt.date(2026, 11, 29), TypeError, "cannot render a date"),
        ({"bad key": 1}, ValueError, "cannot be an XML element name"),
        ({1: "x"}, ValueError, "cannot be an XML element name"),
    ],
)
def test_values_that_have_no_wire_form_are_refused(
    fmt: WireFormat, value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        render("service_requests", [make_request(lat=value)], fmt)


def test_a_body_of_the_wrong_shape_or_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="list of objects"):
        render("service_requests", make_request(), WireFormat.JSON)
    with pytest.raises(TypeError, match="list of objects"):
        render("services", ["001"], WireFormat.XML)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="one object"):
        render("discovery", [DISCOVERY], WireFormat.XML)
    with pytest.raises(ValueError, match="unknown Open311 body kind"):
        render("tokens", [], WireFormat.XML)  # type: ignore[arg-type]


# --- the POST /requests form ---


def test_plain_fields_and_attributes_are_split() -> None:
    form = parse_request_form(
        [
            ("api_key", "k1"),
            ("service_code", "001"),
            ("lat", "43.2385"),
            ("long", "76.9456"),
            ("attribute[SIDE]", "1"),
            ("attribute[KINDS][]", "deep"),
            ("description", "Қазылған шұңқыр"),
            ("attribute[KINDS][]", "wide"),
            ("attribute[ONE][]", "only"),
        ]
    )
    assert form.fields == {
        "api_key": "k1",
        "service_code": "001",
        "lat": "43.2385",
        "long": "76.9456",
        "description": "Қазылған шұңқыр",
    }
    assert form.attributes == {"SIDE": "1", "KINDS": ["deep", "wide"], "ONE": ["only"]}
    assert form.media_urls == []


def test_empty_values_count_as_not_sent() -> None:
    form = parse_request_form(
        [
            ("service_code", "001"),
            ("jurisdiction_id", ""),
            ("last_name", ""),
            ("attribute[SIDE]", ""),
            ("attribute[KINDS][]", ""),
            ("attribute[KINDS][]", "deep"),
            ("attribute[KINDS][]", ""),
            ("attribute[NONE][]", ""),
            ("media_url", ""),
        ]
    )
    assert form.fields == {"service_code": "001"}
    assert form.attributes == {"KINDS": ["deep"]}
    assert form.media_urls == []


def test_an_empty_value_does_not_make_a_key_repeated() -> None:
    form = parse_request_form(
        [("email", ""), ("email", "a@b.kz"), ("attribute[SIDE]", ""), ("attribute[SIDE]", "2")]
    )
    assert form.fields == {"email": "a@b.kz"}
    assert form.attributes == {"SIDE": "2"}


def test_a_repeated_plain_key_is_an_error_naming_it() -> None:
    with pytest.raises(FormError) as raised:
        parse_request_form([("email", "a@b.kz"), ("service_code", "001"), ("email", "c@d.kz")])
    assert raised.value.field == "email"
    assert raised.value.message == "sent more than once"
    assert str(raised.value) == "email: sent more than once"


def test_media_url_may_repeat_and_keeps_its_order() -> None:
    form = parse_request_form(
        [("media_url", "https://x.example/1.jpg"), ("media_url", "https://x.example/2.jpg")]
    )
    assert form.media_urls == ["https://x.example/1.jpg", "https://x.example/2.jpg"]
    assert "media_url" not in form.fields


@pytest.mark.parametrize(
    "key",
    [
        "attribute[",
        "attribute[]",
        "attribute[][]",
        "attribute",
        "attribute[SIDE",
        "attribute[SIDE]x",
        "attribute[SIDE][",
        "attribute[SIDE][0]",
        "attribute[SIDE][][]",
        "attribute[[SIDE]]",
    ],
)
@pytest.mark.parametrize("value", ["1", ""])
def test_a_malformed_attribute_key_is_an_error_naming_it(key: str, value: str) -> None:
    with pytest.raises(FormError, match="malformed attribute key") as raised:
        parse_request_form([("service_code", "001"), (key, value)])
    assert raised.value.field == key


def test_a_single_attribute_sent_twice_is_an_error() -> None:
    with pytest.raises(FormError, match=r"several answers use attribute\[SIDE\]\[\]") as raised:
        parse_request_form([("attribute[SIDE]", "1"), ("attribute[SIDE]", "2")])
    assert raised.value.field == "attribute[SIDE]"


@pytest.mark.parametrize(
    "items",
    [
        [("attribute[SIDE]", "1"), ("attribute[SIDE][]", "2")],
        [("attribute[SIDE][]", "1"), ("attribute[SIDE]", "2")],
    ],
)
def test_an_attribute_sent_both_with_and_without_brackets_is_an_error(items: list[tuple[str, str]]) -> None:
    with pytest.raises(FormError, match="sent both as") as raised:
        parse_request_form(items)
    assert raised.value.field == items[1][0]


def test_the_form_is_a_frozen_value() -> None:
    form = parse_request_form([("service_code", "001")])
    with pytest.raises(AttributeError):
        form.fields = {}  # type: ignore[misc]


# --- W3C date-times ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-01-01T00:00:00Z", dt.datetime(2010, 1, 1, tzinfo=dt.UTC)),
        ("2026-11-29T10:00:00+05:00", dt.datetime(2026, 11, 29, 10, 0, tzinfo=ALMATY)),
        (
            "1994-11-05T08:15:30-05:00",
            dt.datetime(1994, 11, 5, 8, 15, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5))),
        ),
        ("2026-11-29T10:00Z", dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)),
        ("2026-11-29T10:00:00.25Z", dt.datetime(2026, 11, 29, 10, 0, 0, 250000, tzinfo=dt.UTC)),
    ],
)
def test_w3c_datetimes_with_an_offset_parse(text: str, expected: dt.datetime) -> None:
    parsed = parse_w3c_datetime(text, "start_date")
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_the_given_offset_is_kept() -> None:
    assert (
        parse_w3c_datetime("2026-11-29T10:00:00+05:00", "start_date").isoformat()
        == "2026-11-29T10:00:00+05:00"
    )


@pytest.mark.parametrize("text", ["2026-11-29T10:00:00", "2026-11-29T10:00", "2026-11-29"])
def test_a_naive_date_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(FormError, match="has no time zone") as raised:
        parse_w3c_datetime(text, "end_date")
    assert raised.value.field == "end_date"


def test_an_offset_whose_plus_became_a_space_gets_a_hint() -> None:
    with pytest.raises(FormError, match="%2B") as raised:
        parse_w3c_datetime("2026-11-29T10:00:00 05:00", "updated_after")
    assert raised.value.field == "updated_after"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-29 10:00:00Z",
        "2026-11-29t10:00:00z",
        "20261129T100000Z",
        "2026-11-29T10:00:00+0500",
        "2026-11-29T10:00:00+05",
        "٢٠٢٦-11-29T10:00:00Z",
        "2026-11-29T10:00:00Z ",
    ],
)
def test_text_that_is_not_a_w3c_datetime_is_refused(text: str) -> None:
    with pytest.raises(FormError, match="not a W3C date-time"):
        parse_w3c_datetime(text, "start_date")


@pytest.mark.parametrize(
    "text", ["2026-02-30T10:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T10:00:00+24:00"]
)
def test_an_impossible_date_or_offset_is_refused(text: str) -> None:
    with pytest.raises(FormError, match="not a real date and time") as raised:
        parse_w3c_datetime(text, "start_date")
    assert raised.value.field == "start_date"
