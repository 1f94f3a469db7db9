"""The contracts commands' bad input, and the configuration they record: contracts, vehicles, exemptions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2

from tests.support import run_cli

TODAY = dt.datetime.now(dt.UTC).date()  # the department's time zone is UTC when the file names none
GOOD = """
[[carrier]]
id = "AP1"
name = "Avtopark 1"
[[contract]]
id = "C-1"
carrier = "AP1"
agency_id = "AP1"
start = 2026-01-01
end = 2099-12-31
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feed = tmp_path_factory.mktemp("city") / "city.zip"
    made = run_cli(
        "synth",
        "city",
        "--routes",
        "2",
        "--seed",
        "4",
        "--start-date",
        (TODAY - dt.timedelta(days=1)).isoformat(),
        "--out",
        str(feed),
    )
    assert made.returncode == 0, made.stderr
    return feed


def events(database_url: str, kind: str) -> list[dict[str, object]]:
    shown = run_cli("ledger", "show", "--kind", kind, "--format", "json", database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    found: list[dict[str, object]] = json.loads(shown.stdout)
    return found


def test_a_bad_contracts_file_names_each_mistake_and_stores_nothing(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "contracts.toml"
    bad.write_text(
        GOOD.replace("start = 2026-01-01", 'start = "November"').replace('"AP1"\nagency', '"AP9"\nagency')
    )
    result = run_cli("contracts", "load", str(bad), "--actor", "clerk", database_url=sqlite_database_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "[[contract]] #1 (C-1): field 'start' must be a date like 2026-01-01" in result.stderr
    assert "names 'AP9', which no [[carrier]] declares" in result.stderr
    assert events(sqlite_database_url, "contract_registered") == []
    no_actor = run_cli("contracts", "load", str(bad), database_url=sqlite_database_url)
    assert no_actor.returncode == 2 and "--actor" in no_actor.stderr


def test_a_changed_file_amends_and_a_contract_left_out_is_kept(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "contracts.toml"
    path.write_text(GOOD)
    assert (
        run_cli(
            "contracts", "load", str(path), "--actor", "clerk", database_url=sqlite_database_url
        ).returncode
        == 0
    )
    path.write_text(GOOD.replace("end = 2099-12-31", "end = 2098-12-31"))
    amended = run_cli("contracts", "load", str(path), "--actor", "head", database_url=sqlite_database_url)
    assert "0 registered, 1 amended, 1 unchanged" in amended.stdout
    (amendment,) = events(sqlite_database_url, "contract_amended")
    assert amendment["actor"] == "head" and json.loads(str(amendment["payload"]))["changed"] == ["end"]
    path.write_text(GOOD.split("[[contract]]")[0])
    kept = run_cli("contracts", "load", str(path), "--actor", "head", database_url=sqlite_database_url)
    assert "kept, though not in the file: C-1" in kept.stdout
    listed = run_cli("contracts", "list", "--format", "json", database_url=sqlite_database_url)
    assert [c["contract_id"] for c in json.loads(listed.stdout)] == ["C-1"]
    refused = run_cli("contracts", "delete", "C-1", "--actor", "clerk", database_url=sqlite_database_url)
    assert refused.returncode == 2 and "recorded as event" in refused.stderr
    assert [e["actor"] for e in events(sqlite_database_url, "protocol")] == ["clerk"]


def test_vehicles_and_exemptions_by_area_are_recorded_and_bad_rows_named(
    city: Path, sqlite_database_url: str, tmp_path: Path
) -> None:
    contracts = tmp_path / "contracts.toml"
    contracts.write_text(GOOD)
    assert (
        run_cli(
            "contracts", "load", str(contracts), "--actor", "clerk", database_url=sqlite_database_url
        ).returncode
        == 0
    )
    vehicles = tmp_path / "vehicles.csv"
    vehicles.write_text("vehicle_id,carrier_id\nbus-1,AP1\nbus-2,AP7\n")
    bad = run_cli("vehicles", "load", str(vehicles), "--actor", "clerk", database_url=sqlite_database_url)
    assert bad.returncode == 2 and "vehicles.csv: row 3, carrier_id: 'AP7'" in bad.stderr
    assert events(sqlite_database_url, "vehicle_registered") == []  # nothing stored from a bad file
    vehicles.write_text("vehicle_id,carrier_id\nbus-1,AP1\n")
    assert (
        run_cli(
            "vehicles", "load", str(vehicles), "--actor", "clerk", database_url=sqlite_database_url
        ).returncode
        == 0
    )
    loaded = run_cli("gtfs", "load", str(city), "--actor", "planner", database_url=sqlite_database_url)
    assert (
        loaded.returncode == 0 and events(sqlite_database_url, "feed_version_stored")[0]["actor"] == "planner"
    )
    exempt = (
        "exemptions",
        "add",
        "--date",
        TODAY.isoformat(),
        "--reason",
        "city marathon",
        "--actor",
        "head",
    )
    everywhere = run_cli(*exempt, "--area", "-90,-180,90,180", database_url=sqlite_database_url)
    assert everywhere.returncode == 0, everywhere.stderr
    payload = json.loads(str(events(sqlite_database_url, "exemption_granted")[0]["payload"]))
    assert payload["stop_ids"] and payload["trips"]  # every stop and trip of the feed lies inside
    nowhere = run_cli(*exempt, "--area", "10,10,10.001,10.001", database_url=sqlite_database_url)
    assert (
        nowhere.returncode == 2 and f"no stop of the feed in force on {TODAY} lies inside" in nowhere.stderr
    )
    malformed = run_cli(*exempt, "--area", "north", database_url=sqlite_database_url)
    assert (
        malformed.returncode == 2
        and "--area: 'north' is not MIN_LAT,MIN_LON,MAX_LAT,MAX_LON" in malformed.stderr
    )
    # After the cut-off (yesterday's service at the latest) an exemption would undo enforcement by decree.
    late = (TODAY - dt.timedelta(days=2)).isoformat()
    refused = run_cli(
        "exemptions",
        "add",
        "--date",
        late,
        "--route",
        "1",
        "--reason",
        "favour",
        "--actor",
        "clerk",
        database_url=sqlite_database_url,
    )
    assert refused.returncode == 2 and "recorded as event" in refused.stderr
    assert (
        "after the cut-off"
        in json.loads(str(events(sqlite_database_url, "protocol")[-1]["payload"]))["attempted"]
    )


def test_a_realtime_feed_exempts_its_canceled_trips_and_skips_what_is_too_old(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    for number, day in enumerate((TODAY, TODAY - dt.timedelta(days=5))):
        entity = message.entity.add(id=f"e{number}")
        entity.trip_update.trip.trip_id = f"T{number}"
        entity.trip_update.trip.start_date = day.strftime("%Y%m%d")
        entity.trip_update.trip.schedule_relationship = gtfs_realtime_pb2.TripDescriptor.CANCELED
    feed = tmp_path / "updates.pb"
    feed.write_bytes(message.SerializeToString())
    result = run_cli(
        "exemptions", "import", str(feed), "--actor", "dispatcher", database_url=sqlite_database_url
    )
    assert result.returncode == 0, result.stderr
    assert "1 exemption(s) granted" in result.stdout and "past the cut-off" in result.stdout
    (granted,) = events(sqlite_database_url, "exemption_granted")
    assert json.loads(str(granted["payload"]))["trips"] == [["T0", None]]
    (tmp_path / "bad.pb").write_bytes(b"\xff\xff not protobuf")
    bad = run_cli(
        "exemptions",
        "import",
        str(tmp_path / "bad.pb"),
        "--actor",
        "dispatcher",
        database_url=sqlite_database_url,
    )
    assert bad.returncode == 2 and "bad.pb: not a GTFS-realtime FeedMessage" in bad.stderr
