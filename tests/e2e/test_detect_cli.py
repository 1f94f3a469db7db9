"""`transit detect` on simulated days: the JSON document, the verdicts against the simulator's truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.support import run_cli
from transit.matching.detect import CARRIER_COLUMNS, TRIP_COLUMNS

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
