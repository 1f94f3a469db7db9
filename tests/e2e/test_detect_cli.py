"""`transit detect` on simulated days: the JSON document, the verdicts against the simulator's truth."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.support import run_cli
from transit.matching.detect import CARRIER_COLUMNS, TRIP_COLUMNS

pytestmark = pytest.mark.xdist_group("detect_cli")  # one city and simulated day: one worker (loadgroup)

DAY = "2026-12-01"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    feed = tmp_path_factory.mktemp("city") / "city.zip"
    result = run_cli(
        "synth", "city", "--routes", "4", "--seed", "3", "--start-date", "2026-11-30", "--out", str(feed)
    )
    assert result.returncode == 0, result.stderr
    return feed


@pytest.fixture(scope="module")
def missed_day(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulated day with 10% of trips not run, shared by the tests that only read it."""
    return simulate(city, tmp_path_factory.mktemp("missed") / "p.csv", "--miss-rate", "0.1")


def simulate(city: Path, out: Path, *faults: str) -> Path:
    result = run_cli(
        "simulate", "--feed", str(city), "--date", DAY, "--out", str(out), "--seed", "5", *faults
    )
    assert result.returncode == 0, result.stderr
    return out


def detect(city: Path, pings: Path, *extra: str) -> dict[str, object]:
    result = run_cli("detect", "--feed", str(city), "--pings", str(pings), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_the_json_document_has_the_documented_shape(city: Path, missed_day: Path) -> None:
    pings = missed_day
    document = detect(city, pings)
    assert set(document) == {"service_date", "feed_version", "trips", "carriers", "rejected_rows"}
    assert document["service_date"] == DAY  # inferred: the date holding the most pings
    trips = pd.DataFrame(document["trips"])
    carriers = pd.DataFrame(document["carriers"])
    assert tuple(trips.columns) == TRIP_COLUMNS
    assert tuple(carriers.columns) == CARRIER_COLUMNS
    assert set(trips["verdict"]) <= {"performed", "partial", "missed", "no_data", "exempt"}
    for carrier in carriers.to_dict("records"):
        parts = sum(int(carrier[k]) for k in ("performed", "partial", "missed", "no_data", "exempt"))
        assert parts == carrier["scheduled"]


@pytest.mark.parametrize("ids", [(), ("--ignore-trip-ids",)])
def test_missed_trips_of_a_clean_day_are_found_exactly(
    city: Path, missed_day: Path, ids: tuple[str, ...]
) -> None:
    trips = pd.DataFrame(detect(city, missed_day, *ids)["trips"])
    truth = pd.read_csv(missed_day.with_suffix(".truth.csv"), dtype=str)
    both = truth.merge(trips, on=["trip_id", "start_time"], suffixes=("_truth", ""))
    assert len(both) == len(truth) == len(trips)
    assert (both["verdict"] == both["expected_verdict"]).all()


def test_bad_input_names_the_option(city: Path, tmp_path: Path) -> None:
    pings = simulate(city, tmp_path / "p.csv")
    no_service = run_cli("detect", "--feed", str(city), "--pings", str(pings), "--date", "2030-01-01")
    assert no_service.returncode == 2 and "--date" in no_service.stderr
    missing = run_cli("detect", "--feed", str(city), "--pings", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr
    assert "Traceback" not in no_service.stderr + missing.stderr


def test_store_needs_the_feed_loaded_then_appends_once(
    city: Path, missed_day: Path, database_url: str
) -> None:
    pings = missed_day
    args = ("detect", "--feed", str(city), "--pings", str(pings), "--store", "--format", "json")
    not_loaded = run_cli(*args, database_url=database_url)
    assert not_loaded.returncode == 2 and "transit gtfs load" in not_loaded.stderr
    assert "Traceback" not in not_loaded.stderr
    assert run_cli("gtfs", "load", str(city), database_url=database_url).returncode == 0
    first = run_cli(*args, database_url=database_url)
    again = run_cli(*args, database_url=database_url)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    trips = len(json.loads(first.stdout)["trips"])
    assert f"stored: {trips} final, 0 revised, 0 unchanged" in first.stderr
    assert f"stored: 0 final, 0 revised, {trips} unchanged" in again.stderr
    # Every stored verdict is also a ledger event, chained and verifiable.
    ledger = run_cli(
        "ledger", "show", "--kind", "verdict_final", "--format", "json", database_url=database_url
    )
    events = json.loads(ledger.stdout)
    assert len(events) == trips and {json.loads(e["payload"])["verdict"]["trip_id"] for e in events} == {
        t["trip_id"] for t in json.loads(first.stdout)["trips"]
    }
    verified = run_cli("ledger", "verify", database_url=database_url)
    assert (
        verified.returncode == 0 and f"ledger verified: {trips + 1} events" in verified.stdout
    )  # + the feed


def test_exempted_trips_are_exempt_and_leave_missed_pct(city: Path, tmp_path: Path) -> None:
    pings = simulate(city, tmp_path / "p.csv", "--miss-rate", "0.2")
    truth = pd.read_csv(tmp_path / "p.truth.csv", dtype=str)
    missed = truth[truth["expected_verdict"] == "missed"].head(3)
    exempt = tmp_path / "exempt.csv"
    missed[["trip_id", "start_time"]].assign(reason="canceled_by_agency").to_csv(exempt, index=False)
    before = detect(city, pings)
    after = detect(city, pings, "--exempt", str(exempt))
    trips = pd.DataFrame(after["trips"]).merge(
        missed[["trip_id", "start_time"]], on=["trip_id", "start_time"]
    )
    assert (trips["verdict"] == "exempt").all() and (trips["reason"] == "canceled_by_agency").all()
    assert len(trips) == 3
    carriers_before = pd.DataFrame(before["carriers"]).set_index("carrier_id")
    carriers_after = pd.DataFrame(after["carriers"]).set_index("carrier_id")
    assert carriers_after["exempt"].sum() == 3
    assert carriers_before["missed"].sum() - carriers_after["missed"].sum() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("trip_id,reason\nx,holiday\n", encoding="utf-8")
    refused = run_cli("detect", "--feed", str(city), "--pings", str(pings), "--exempt", str(bad))
    assert refused.returncode == 2 and "row 2, reason" in refused.stderr and "Traceback" not in refused.stderr


def test_match_once_passes_over_the_stored_pings(city: Path, database_url: str) -> None:
    """The live matcher's entry point: one pass, nothing to do without a feed; a line per day in play."""
    empty = run_cli("match", "--once", database_url=database_url)
    assert empty.returncode == 0 and empty.stdout == "", empty.stderr
    assert run_cli("gtfs", "load", str(city), database_url=database_url).returncode == 0
    passed = run_cli("match", "--once", database_url=database_url)
    assert passed.returncode == 0, passed.stderr
    line = re.compile(r"^\S+Z \d{4}-\d\d-\d\d: \d+ final, \d+ revised, \d+ not_started$")
    assert all(line.match(text) for text in passed.stdout.splitlines())  # none before the feed's first day


@pytest.fixture(scope="module")
def metrotransit(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Metro Transit's route 2 feed as the agency published it: the upstream subset shortened trips.txt's
    trip_ids (not stop_times') and repeated shapes rows, which our validator rightly refuses. Undo both."""
    source = zipfile.ZipFile(shared_data / "metrotransit_route2_2019-06-19" / "gtfs.zip")
    folder = tmp_path_factory.mktemp("metrotransit")
    tables = {
        name: pd.read_csv(source.open(name), dtype=str, keep_default_na=False) for name in source.namelist()
    }
    full = {trip.split("-", 1)[0]: trip for trip in tables["stop_times.txt"]["trip_id"].unique()}
    tables["trips.txt"]["trip_id"] = tables["trips.txt"]["trip_id"].map(full)
    tables["shapes.txt"] = tables["shapes.txt"].drop_duplicates()
    for name, table in tables.items():
        table.to_csv(folder / name, index=False)
    return folder


def test_realtime_ids_of_a_real_feed_are_read_in_the_feeds_terms(
    metrotransit: Path, shared_data: Path, tmp_path: Path
) -> None:
    # Its trackers report route "2" (the feed's "2-111") and trip "14941904" (the feed's
    # "14941904-JUN19-MVS-BUS-Weekday-01"): every one resolves, and each names a trip running then.
    pings = shared_data / "metrotransit_route2_2019-06-19" / "vehicle_positions"
    result = run_cli("detect", "--feed", str(metrotransit), "--pings", str(pings), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "payload route_ids: 0 as in the feed, 1 mapped (2 -> 2-111), 0 unknown" in result.stderr
    assert "payload trip_ids: 0 as in the feed, 11 mapped" in result.stderr
    document = json.loads(result.stdout)
    assert document["service_date"] == "2019-06-19"
    trips = pd.DataFrame(document["trips"])
    mapped = re.findall(r"(\d+) -> (\d+-JUN19-MVS-BUS-Weekday-01)", result.stderr)
    assert mapped and all(short == long.split("-")[0] for short, long in mapped)
    at = pd.Timestamp("2019-06-19T15:41:00Z")  # 10:41 CDT, the snapshots' minute
    slack = pd.Timedelta(minutes=20)  # a bus waiting at its first stop, or running late
    start, end = pd.to_datetime(trips["start_at"]), pd.to_datetime(trips["end_at"])
    running = trips[(start - slack <= at) & (end + slack >= at)]
    assert {long for _, long in mapped} <= set(running["trip_id"])
    # 1.5 minutes of pings judge nothing: the rest of the day is the service's gap, never "missed".
    assert set(trips["verdict"]) == {"no_data"}

    # An explicit table overrides the rules; a bad one is named by row and field.
    table = tmp_path / "ids.csv"
    table.write_text("kind,realtime_id,static_id\nroute_id,2,elsewhere\n")
    result = run_cli("detect", "--feed", str(metrotransit), "--pings", str(pings), "--id-map", str(table))
    assert result.returncode == 0 and "1 mapped (2 -> elsewhere)" in result.stderr
    table.write_text("kind,realtime_id,static_id\nbus,2,elsewhere\n")
    result = run_cli("detect", "--feed", str(metrotransit), "--pings", str(pings), "--id-map", str(table))
    assert result.returncode == 2 and "row 2, kind" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_real_sunday_agrees_with_what_its_trackers_reported(shared_data: Path) -> None:
    """CapMetro, Austin, 2015-06-07 (issue 4's real-data goal), trip ids ignored: of the (vehicle, trip)
    pairs its trackers reported with at least 5 pings and a trip of the day's plan, at least 97% assigned
    to that vehicle; at most 5% of the matcher's own assignments reported by no tracker; the thin morning
    (a coverage gap of that old feed) no_data, never missed."""
    data = shared_data / "capmetro_austin_2015-06-07"
    pings_file = data / "vehicle_positions_2015-06-07.csv"
    result = run_cli(
        "detect", "--feed", str(data / "capmetro_reconstructed_gtfs.zip"), "--pings", str(pings_file),
        "--date", "2015-06-07", "--ignore-trip-ids", "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    trips = pd.DataFrame(json.loads(result.stdout)["trips"])
    pings = pd.read_csv(pings_file, dtype=str)
    reported = pings.dropna(subset=["trip_id"]).groupby(["vehicle_id", "trip_id"]).size()
    judged = reported[(reported >= 5) & reported.index.get_level_values("trip_id").isin(trips["trip_id"])]
    ran = trips.dropna(subset=["vehicle_ids"])
    assigned = {
        (v, t) for t, vs in zip(ran["trip_id"], ran["vehicle_ids"], strict=True) for v in vs.split(",")
    }
    assert len(judged) > 1000
    assert sum(pair in assigned for pair in judged.index) / len(judged) >= 0.97
    known = set(reported.index)
    assert sum(pair not in known for pair in assigned) / len(assigned) <= 0.05
    morning = trips[pd.to_datetime(trips["start_at"]).dt.tz_convert("America/Chicago").dt.hour < 13]
    assert (morning["verdict"] != "missed").all() and (morning["verdict"] == "no_data").sum() > 300
