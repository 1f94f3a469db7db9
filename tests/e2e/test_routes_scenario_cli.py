"""`transit routes scenario` as a planner runs it: the real Cairns feed, a made-up city with its demand and
population files, and the errors a planner can make."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_cli
from transit.synth.city import build_city
from transit.synth.write import write_city

DATE = "2014-05-27"  # a Tuesday of the Cairns feed
CITY_DATE = "2026-11-30"  # a Monday of the made-up city


def scenario_file(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def drop(route: str) -> str:
    return f'[[operation]]\nkind = "drop"\nroute = "{route}"\n'


def run_json(*args: str) -> dict[str, Any]:
    result = run_cli("routes", "scenario", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def assert_user_error(args: tuple[str, ...], *fragments: str) -> None:
    result = run_cli("routes", "scenario", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.slow
def test_dropping_a_duplicated_route_costs_passengers_almost_nothing_and_a_unique_one_a_lot(
    cairns_feed: Path, tmp_path: Path
) -> None:
    # 131N runs entirely on 131's stops: its riders have another bus.
    duplicate = run_json(
        str(cairns_feed), str(scenario_file(tmp_path, "night", drop("131N"))), "--date", DATE
    )
    assert duplicate["operations"] == [{"kind": "drop", "name": "drop 131N", "route": "131N-423"}]
    assert duplicate["routes_changed"] == ["131N-423"] and duplicate["service_date"] == DATE
    assert duplicate["demand_source"].startswith("proxy")
    change = duplicate["change"]
    assert change["trips"] < 0 and change["vehicle_hours"] < 0 and change["vehicle_km"] < 0
    assert abs(change["att"]) < 0.1 and abs(change["dun"]) < 0.1
    assert duplicate["stops_losing_service"] == [] and duplicate["demand_losing_service"] == 0.0
    assert duplicate["people_losing_service"] is None  # no population grid given
    assert change["stops_served"] == 0
    # 123 serves stops no other route does.
    unique = run_json(str(cairns_feed), str(scenario_file(tmp_path, "cut", drop("123"))), "--date", DATE)
    assert len(unique["stops_losing_service"]) >= 10
    assert unique["change"]["stops_served"] == -len(unique["stops_losing_service"])
    assert unique["change"]["dun"] >= 3.0
    assert unique["demand_losing_service"] > 0
    assert unique["before"] == duplicate["before"]  # the same day, before any change
    assert unique["after"]["dun"] == pytest.approx(
        unique["before"]["dun"] + unique["change"]["dun"], abs=0.01
    )


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A made-up city of 12 routes, with city.od.csv and city.population.csv beside its feed."""
    feed = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(routes=12, seed=3, start_date=dt.date(2026, 11, 30)), feed)
    return feed


def test_a_city_scenario_uses_its_od_and_population_files_in_every_format(city: Path) -> None:
    # Route 8 of this city has 23 stops no other route serves.
    plan = scenario_file(city.parent, "drop8", drop("8"))
    args = (str(city), str(plan), "--date", CITY_DATE, "--demand", str(city.with_name("city.od.csv")),
            "--population", str(city.with_name("city.population.csv")))  # fmt: skip
    data = run_json(*args)
    assert data["demand_source"] == "origin-destination file"
    people = data["people_losing_service"]
    assert isinstance(people, int) and people > 0
    assert data["stops_losing_service"] and data["demand_losing_service"] > 0
    assert data["change"]["dun"] > 0 and data["change"]["peak_buses"] < 0

    table = run_cli("routes", "scenario", *args)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line.split()[1:] for line in table.stdout.splitlines() if line.strip()}
    assert rows["figure"] == ["before", "after", "change"]
    assert rows["trips"] == [
        str(data["before"]["trips"]),
        str(data["after"]["trips"]),
        str(data["change"]["trips"]),
    ]
    assert (
        "Scenario 'drop8' on 2026-11-30: 1 operation(s) on 8; demand: origin-destination file" in table.stdout
    )
    assert f"Stops losing all service: {len(data['stops_losing_service'])}: " in table.stdout
    assert f"Demand (trips/day) at those stops: {data['demand_losing_service']}" in table.stdout
    assert f"People with no served stop within 400 m any more: {people}" in table.stdout

    flat = run_cli("routes", "scenario", *args, "--format", "csv")
    assert flat.returncode == 0, flat.stderr
    records = list(csv.DictReader(io.StringIO(flat.stdout)))
    assert list(records[0]) == ["figure", "before", "after", "change"]
    assert [r["figure"] for r in records] == list(data["before"])
    assert {r["figure"]: float(r["change"]) for r in records} == pytest.approx(data["change"])


@pytest.mark.slow
def test_a_ten_minute_headway_in_the_morning_peak_adds_trips_and_vehicle_hours(
    cairns_feed: Path, tmp_path: Path
) -> None:
    plan = scenario_file(
        tmp_path,
        "peak110",
        '[[operation]]\nkind = "headway"\nroute = "110"\nminutes = 10\nfrom = "07:00:00"\nto = "09:00:00"\n',
    )
    data = run_json(str(cairns_feed), str(plan), "--date", DATE, "--transfer-penalty", "10")
    assert data["transfer_penalty_min"] == 10.0
    assert data["operations"][0] == {"kind": "headway", "name": "headway 110", "route": "110-423",
                                     "minutes": 10.0, "start": 7 * 3600, "end": 9 * 3600}  # fmt: skip
    # Both directions had 4 departures in the window and now have 12.
    assert data["change"]["trips"] == 16
    assert data["change"]["vehicle_hours"] > 0 and data["change"]["peak_buses"] > 0
    assert data["change"]["att"] < 0
    assert data["stops_losing_service"] == []


@pytest.mark.slow
def test_bad_inputs_exit_2_with_one_line_naming_the_file_operation_and_field(
    cairns_feed: Path, tmp_path: Path
) -> None:
    feed = str(cairns_feed)
    unknown = scenario_file(tmp_path, "unknown", drop("131N") + drop("999"))
    assert_user_error(
        (feed, str(unknown), "--date", DATE),
        f"{unknown}: operation 2 (drop 999), route: '999' is neither a route_id nor a route_short_name",
    )
    fine = scenario_file(tmp_path, "fine", drop("131N"))
    od = tmp_path / "od.csv"
    od.write_text("origin_stop_id,destination_stop_id,trips_per_day\n750075,750154,3\n750075,NOPE,1\n")
    assert_user_error(
        (feed, str(fine), "--date", DATE, "--demand", str(od)),
        f"--demand: {od} row 3, destination_stop_id: 'NOPE' is not a stop of the feed",
    )
    assert_user_error(
        (feed, str(fine), "--date", "2030-01-01"), "--date: the feed schedules no trip on 2030-01-01"
    )
