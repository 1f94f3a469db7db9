"""The 109 tickets' pure core: the states and their moves, the checks of submitted attributes, and the
catalog's parsing (errors name the source, the service and the field); the shipped catalog loads."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from transit.errors import BadParameter
from transit.tickets.catalog import HOLDER, default_catalog, parse_catalog, read_catalog
from transit.tickets.model import (
    Attribute,
    AttributeProblem,
    Datatype,
    Kind,
    Service,
    State,
    Step,
    can_move,
    check_attributes,
    open311_status,
)

S = State
# The allowed moves, written out from the module's docstring: received -> routed -> in_progress -> done |
# rejected; routed and in_progress may be routed again; done and rejected are final.
ALLOWED = {
    (S.RECEIVED, S.ROUTED), (S.RECEIVED, S.IN_PROGRESS), (S.RECEIVED, S.DONE), (S.RECEIVED, S.REJECTED),
    (S.ROUTED, S.ROUTED), (S.ROUTED, S.IN_PROGRESS), (S.ROUTED, S.DONE), (S.ROUTED, S.REJECTED),
    (S.IN_PROGRESS, S.ROUTED), (S.IN_PROGRESS, S.DONE), (S.IN_PROGRESS, S.REJECTED),
}  # fmt: skip


@pytest.mark.parametrize("current", list(State))
@pytest.mark.parametrize("target", list(State))
def test_can_move_allows_exactly_the_moves_of_the_state_table(current: State, target: State) -> None:
    assert can_move(current, target) is ((current, target) in ALLOWED)


def test_nothing_moves_back_to_received_and_final_states_move_nowhere() -> None:
    assert not any(can_move(s, S.RECEIVED) for s in State)
    assert not any(can_move(final, t) for final in (S.DONE, S.REJECTED) for t in State)


@pytest.mark.parametrize(
    ("state", "status"),
    [(S.RECEIVED, "open"), (S.ROUTED, "open"), (S.IN_PROGRESS, "open"), (S.DONE, "closed"),
     (S.REJECTED, "closed")],
)  # fmt: skip
def test_open311_sees_open_until_a_final_state(state: State, status: str) -> None:
    assert open311_status(state) == status


# --- submitted attributes --------------------------------------------------------------------------------

COLOURS = (("red", "Red"), ("green", "Green"), ("blue", "Blue"))
SERVICE = Service(
    code="probe",
    name="Every datatype",
    group="test",
    department="roads",
    attributes=(
        Attribute("route", "Route", Datatype.STRING, required=True),
        Attribute("note", "Note", Datatype.TEXT),
        Attribute("depth", "Depth (cm)", Datatype.NUMBER),
        Attribute("time", "When", Datatype.DATETIME),
        Attribute("colour", "Colour", Datatype.SINGLE, values=COLOURS),
        Attribute("colours", "Colours", Datatype.MULTI, values=COLOURS),
        Attribute("fixed", "Not for the reporter", variable=False),
    ),
)


def problem(given: dict[str, Any]) -> AttributeProblem:
    with pytest.raises(AttributeProblem) as raised:
        check_attributes(SERVICE, {"route": "7"} | given)
    return raised.value


def test_a_complete_submission_comes_back_checked_without_the_empty_ones() -> None:
    given = {"route": "7", "note": "", "depth": "12.5", "time": "2026-03-20T08:15:00+05:00",
             "colour": "red", "colours": ["green", "blue"]}  # fmt: skip
    assert check_attributes(SERVICE, given) == {
        "route": "7", "depth": "12.5", "time": "2026-03-20T08:15:00+05:00", "colour": "red",
        "colours": ["green", "blue"],
    }  # fmt: skip


@pytest.mark.parametrize("missing", [{}, {"route": ""}, {"route": None}, {"route": "   "}])
def test_a_required_attribute_missing_or_empty_is_named(missing: dict[str, Any]) -> None:
    with pytest.raises(AttributeProblem) as raised:
        check_attributes(SERVICE, missing)
    assert raised.value.code == "route"
    assert str(raised.value) == "attribute[route]: required"


def test_an_unknown_code_is_refused_naming_it_and_the_service() -> None:
    found = problem({"colour": "red", "flavour": "mint"})
    assert found.code == "flavour"
    assert "probe has no such attribute" in str(found)


def test_a_non_variable_attribute_cannot_be_submitted() -> None:
    assert problem({"fixed": "x"}).code == "fixed"


@pytest.mark.parametrize("number", ["0", "-3", "12.5", "1e3", " 7 "])
def test_numbers_are_taken_as_given(number: str) -> None:
    assert check_attributes(SERVICE, {"route": "7", "depth": number})["depth"] == number


@pytest.mark.parametrize(
    ("number", "says"),
    [("deep", "is not a number"), ("12cm", "is not a number"), ("nan", "is not a number"),
     ("NaN", "is not a number"), ("inf", "is not a number"), ("1_000", "is not a number"),
     ("-Infinity", "is not a number"), ("1e400", "is not a finite number")],
)  # fmt: skip
def test_a_number_that_is_not_a_finite_number_is_refused(number: str, says: str) -> None:
    found = problem({"depth": number})
    assert found.code == "depth"
    assert f"{number!r} {says}" in str(found)


@pytest.mark.parametrize(
    "moment", ["2026-03-20T08:15:00+05:00", "2026-03-20T03:15:00Z", "2026-03-20T08:15+05:00",
               "2026-03-20T03:15:00.250Z"],
)  # fmt: skip
def test_a_datetime_with_an_offset_is_taken(moment: str) -> None:
    assert check_attributes(SERVICE, {"route": "7", "time": moment})["time"] == moment


def test_a_datetime_without_an_offset_is_refused_saying_how_to_give_one() -> None:
    found = problem({"time": "2026-03-20T08:15:00"})
    assert found.code == "time"
    assert "needs a UTC offset (Z or +05:00)" in str(found)


@pytest.mark.parametrize("moment", ["yesterday", "20.03.2026 08:15", "2026-13-01T00:00:00Z"])
def test_a_datetime_that_is_not_iso_8601_is_refused(moment: str) -> None:
    assert "is not an ISO 8601 date and time" in str(problem({"time": moment}))


def test_a_single_value_list_takes_one_listed_key() -> None:
    assert "'purple' is not one of red, green, blue" in str(problem({"colour": "purple"}))
    assert "takes one value" in str(problem({"colour": ["red", "green"]}))
    assert "takes one value" in str(problem({"route": ["7", "8"]}))  # a string takes one value too
    assert problem({"colour": "Red"}).code == "colour"  # the key, not the name


def test_a_multi_value_list_takes_listed_keys_and_a_single_key_as_a_list() -> None:
    assert check_attributes(SERVICE, {"route": "7", "colours": "red"})["colours"] == ["red"]
    found = problem({"colours": ["red", "purple"]})
    assert found.code == "colours"
    assert "'purple' is not one of blue, green, red" in str(found)


@pytest.mark.parametrize("code", ["route", "note"])
def test_a_value_is_at_most_4000_characters(code: str) -> None:
    exactly, over = "x" * 4000, "x" * 4001
    base = {"route": "7"}
    assert check_attributes(SERVICE, base | {code: exactly})[code] == exactly
    with pytest.raises(AttributeProblem, match="longer than 4,000 characters") as raised:
        check_attributes(SERVICE, base | {code: over})
    assert raised.value.code == code


# --- the catalog -------------------------------------------------------------------------------------------

SOURCE = "city.toml"


def document() -> dict[str, Any]:
    """A small valid catalog: two departments, one party, two services."""
    return {
        "jurisdiction_id": "city.example",
        "timezone": "Asia/Almaty",
        "retention_days": 365,
        "calendar": {"country": "KZ", "years": [2026]},
        "department": [
            {"id": "roads", "name": "Roads", "channels": {"email": "roads@city.example"}},
            {"id": "construction", "name": "Construction", "channels": {"webhook": "http://127.0.0.1/x"}},
        ],
        "party": [{"id": "police", "name": "Police", "channels": {"email": "police@city.example"}}],
        "service": [
            {"code": "pothole", "name": "Pothole", "group": "roads", "department": "roads",
             "deadline_days": 10,
             "ladder": [{"after_days": 2, "party": "police"}, {"after_days": 0, "party": "roads"}]},
            {"code": "dig", "name": "Excavation", "group": "construction", "department": "construction",
             "kind": "permit", "ladder": [{"after_days": 0, "party": "holder"}],
             "attribute": [{"code": "until", "description": "Until", "datatype": "datetime",
                            "required": True}]},
        ],
    }  # fmt: skip


def test_a_small_catalog_parses_with_its_defaults() -> None:
    catalog = parse_catalog(document(), SOURCE)
    pothole, dig = catalog.services["pothole"], catalog.services["dig"]
    assert pothole.ladder == (Step(0, "roads"), Step(2, "police"))  # sorted by after_days
    assert (pothole.kind, pothole.deadline_days, pothole.duplicate_radius_m) == (Kind.COMPLAINT, 10, 100.0)
    assert (dig.kind, dig.deadline_days, dig.ladder) == (Kind.PERMIT, 15, (Step(0, HOLDER),))
    assert dig.attributes == (Attribute("until", "Until", Datatype.DATETIME, required=True, order=1),)
    assert catalog.party("police") is not None and catalog.party("roads") is not None
    assert catalog.party(HOLDER) is None


def change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The small catalog with the item at `path` set to `value` (deleted when value is ...)."""
    changed = copy.deepcopy(document())
    where: Any = changed
    for key in path[:-1]:
        where = where[key]
    if value is ...:
        del where[path[-1]]
    else:
        where[path[-1]] = value
    return changed


def duplicate_service() -> dict[str, Any]:
    changed = copy.deepcopy(document())
    changed["service"][1]["code"] = "pothole"
    return changed


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (change(("service", 0, "department"), "sewers"),
         "city.toml, service 1 (pothole), department: 'sewers' is not a [[department]]"),
        (change(("service", 1, "kind"), "licence"),
         "city.toml, service 2 (dig), kind: 'licence' is not one of complaint, consultation, permit"),
        (change(("service", 0, "deadline_days"), -1),
         "city.toml, service 1 (pothole), deadline_days: -1 must be 0..366 working days"),
        (change(("service", 0, "deadline_days"), True),
         "city.toml, service 1 (pothole), deadline_days: True must be 0..366 working days"),
        (change(("service", 0, "ladder", 1, "party"), "mayor"),
         "city.toml, service 1 (pothole), ladder 2, party: 'mayor' is not a department, a party or 'holder'"),
        (change(("service", 0, "ladder", 0, "after_days"), -2),
         "city.toml, service 1 (pothole), ladder 1, after_days: -2 must be a whole number >= 0"),
        (duplicate_service(), "city.toml, service 2, code: 'pothole' is used twice"),
        (change(("service", 0, "colour"), "red"), "city.toml, service 1 (pothole), colour: not a field"),
        (change(("service", 0, "name"), " "), "city.toml, service 1 (pothole), name: missing or not text"),
        (change(("service", 1, "attribute", 0, "datatype"), "date"),
         "city.toml, service 2 (dig), attribute 1 (until), datatype: 'date' is not one of"),
        (change(("service",), []), "city.toml: no [[service]]"),
        (change(("timezone",), "Mars/Olympus"),
         "city.toml, timezone: 'Mars/Olympus' is not an IANA time zone"),
        (change(("timezone",), ...), "city.toml, timezone: missing or not text"),
        (change(("retention_days",), 29),
         "city.toml, retention_days: 29 must be a whole number of days, 30 or more"),
        (change(("retention_days",), 365.0), "city.toml, retention_days: 365.0 must be a whole number"),
        (change(("retention_days",), ...), "city.toml, retention_days: None must be a whole number"),
        (change(("department", 1, "id"), "roads"), "city.toml, department 2, id: 'roads' is used twice"),
        (change(("party", 0, "id"), "roads"), "city.toml: 'roads' is named twice"),
        (change(("party", 0, "id"), "holder"), "city.toml: 'holder' is named twice"),
        (change(("party", 0, "channels"), {"fax": "123"}),
         "city.toml, party 1 (police), channels.fax: not a channel (webhook, email)"),
        (change(("calendar",), ...), "city.toml, calendar: a [calendar] table is needed"),
        (change(("calendar", "country"), "RU"), "city.toml, calendar, country: 'RU' is not a country"),
        (change(("jurisdiction_id",), ...), "city.toml, jurisdiction_id: missing or not text"),
    ],
)  # fmt: skip
def test_a_bad_catalog_names_the_source_the_service_and_the_field(bad: dict[str, Any], says: str) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_catalog(bad, SOURCE)
    assert str(raised.value).startswith(says)


def test_retention_of_exactly_30_days_is_allowed() -> None:
    assert parse_catalog(change(("retention_days",), 30), SOURCE).retention_days == 30


def test_a_catalog_file_that_is_not_toml_or_absent_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('timezone = "Asia/Almaty\n', encoding="utf-8")
    with pytest.raises(BadParameter, match=rf"^{broken}: not valid TOML"):
        read_catalog(broken)
    with pytest.raises(BadParameter, match=rf"^{tmp_path / 'absent.toml'}: cannot be read"):
        read_catalog(tmp_path / "absent.toml")


def test_the_shipped_catalog_loads_with_the_permit_ladder_and_parties_that_can_be_reached() -> None:
    catalog = default_catalog()
    assert (catalog.jurisdiction_id, catalog.timezone, catalog.retention_days) == (
        "petropavl.kz", "Asia/Almaty", 1095,
    )  # fmt: skip
    permit = catalog.services["excavation_permit"]
    assert permit.kind is Kind.PERMIT
    assert permit.ladder == (Step(0, HOLDER), Step(3, "police"))
    assert {a.code: (a.datatype, a.required) for a in permit.attributes} == {
        "permit_no": (Datatype.STRING, True), "holder": (Datatype.STRING, True),
        "holder_email": (Datatype.STRING, True), "until": (Datatype.DATETIME, True),
    }  # fmt: skip
    police = catalog.party("police")
    assert police is not None and police.channels == {"email": "police@petropavl.example"}
    for service in catalog.services.values():  # every department and ladder party has a way to be told
        assert service.department in catalog.departments
        for step in service.ladder:
            party = catalog.party(step.party)
            assert step.party == HOLDER or (party is not None and party.channels), (service.code, step)
    transport = sorted(s.code for s in catalog.services.values() if s.transport)
    assert transport == ["bus_conduct", "bus_no_show"]
    assert catalog.services["consultation"].kind is Kind.CONSULTATION
    assert not catalog.calendar.is_working_day(dt.date(2026, 5, 27))  # Kurban Ait, configured
    assert not catalog.calendar.is_working_day(dt.date(2026, 12, 16))  # Independence Day, a Wednesday
