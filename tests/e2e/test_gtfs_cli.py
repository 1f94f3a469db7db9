"""The `transit gtfs` commands as a user runs them: real feeds, real databases, a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.support import run_cli
from transit import migrate
from transit.gtfs.dayplan import DAY_PLAN_COLUMNS

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "gtfs" / "tiny"
FINDING_KEYS = {"severity", "code", "file", "line", "field", "message"}

# Each of ../shared/data/bad_gtfs, with the exit code and a finding (code, file) it must report.
BAD_CASES = [
    ("transitfeed_good_feed", 0, None),
    ("transitfeed_missing_stop_times", 2, ("missing_required_file", "stop_times.txt")),
    ("transitfeed_missing_agency", 2, ("missing_required_file", "agency.txt")),
    ("transitfeed_empty_file", 2, ("empty_file", "agency.txt")),
    ("transitfeed_missing_column", 2, ("missing_required_column", "agency.txt")),
    ("transitfeed_bad_date_format", 2, ("invalid_date", "calendar.txt")),
    ("transitfeed_undefined_stop", 2, ("foreign_key_violation", "stop_times.txt")),
    ("transitfeed_utf16", 2, ("encoding_utf16", "agency.txt")),
    ("cutr_badgtfs.zip", 2, ("missing_required_file", "agency.txt")),
    ("partridge_empty", 2, ("no_service", None)),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "exit_code", "expected"), BAD_CASES)
def test_check_reports_each_bad_feed_as_json_without_a_traceback(
    bad_gtfs: Path, case: str, exit_code: int, expected: tuple[str, str | None] | None
) -> None:
    result = run_cli("gtfs", "check", str(bad_gtfs / case), "--format", "json")
    assert "Traceback" not in result.stderr
    assert result.returncode == exit_code, result.stdout + result.stderr
    findings = json.loads(result.stdout)
    assert all(set(f) == FINDING_KEYS for f in findings)
    errors = [(f["code"], f["file"]) for f in findings if f["severity"] == "error"]
    if expected is None:
        assert errors == []
    else:
        assert expected in errors


@pytest.mark.slow
def test_check_table_output_names_file_line_and_field(bad_gtfs: Path) -> None:
    result = run_cli("gtfs", "check", str(bad_gtfs / "transitfeed_bad_date_format"))
    assert result.returncode == 2
    assert "calendar.txt:2 [start_date]" in result.stdout
    assert "error(s)" in result.stdout.splitlines()[-1]


def test_check_of_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("gtfs", "check", str(tmp_path / "nope.zip"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_trips_json_lists_every_instance_with_exactly_the_documented_fields(cairns_feed: Path) -> None:
    result = run_cli("gtfs", "trips", str(cairns_feed), "--date", "2014-05-27", "--format", "json")
    assert result.returncode == 0, result.stderr
    trips = json.loads(result.stdout)
    assert len(trips) == 622
    assert all(tuple(t) == DAY_PLAN_COLUMNS for t in trips)
    first = trips[0]
    assert first["start_at"].endswith("Z") and first["service_date"] == "2014-05-27"
    # A one-agency feed without agency_id: the carrier is the agency's name, slugged.
    assert first["agency_id"] is None
    assert first["carrier_id"] == "department-of-transport-and-main-roads-translink-division-qconnect"
    assert all(t["distance_m"] > 0 and t["stop_count"] >= 2 for t in trips)


@pytest.mark.slow
@pytest.mark.parametrize(("date", "expected"), [("2014-05-27", 622), ("2014-06-09", 266)])
def test_cairns_weekday_and_public_holiday(cairns_feed: Path, date: str, expected: int) -> None:
    result = run_cli("gtfs", "trips", str(cairns_feed), "--date", date, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == expected
    assert tuple(rows[0]) == DAY_PLAN_COLUMNS


@pytest.mark.slow
@pytest.mark.parametrize(
    ("date", "total", "per_carrier"),
    [("2017-11-20", 1453, {"ST": 1063, "EOS": 354, "KMD": 36}), ("2017-11-23", 532, None)],
)
def test_seattle_per_carrier_summary(
    seattle_feed: Path, date: str, total: int, per_carrier: dict[str, int] | None
) -> None:
    result = run_cli("gtfs", "trips", str(seattle_feed), "--date", date, "--summary", "--format", "json")
    assert result.returncode == 0, result.stderr
    carriers = json.loads(result.stdout)
    assert sum(c["trips"] for c in carriers) == total
    for carrier in carriers:
        assert carrier["trips"] == sum(r["trips"] for r in carrier["routes"])
    if per_carrier is not None:
        assert {c["carrier_id"]: c["trips"] for c in carriers} == per_carrier


def test_trips_with_a_malformed_date_names_the_option() -> None:
    result = run_cli("gtfs", "trips", str(TINY), "--date", "2026-13-01")
    assert result.returncode == 2
    assert "--date" in result.stderr and "2026-13-01" in result.stderr
    assert "Traceback" not in result.stderr


def test_trips_of_an_invalid_feed_lists_its_errors_and_exits_2(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(TINY, feed)
    (feed / "trips.txt").write_text("route_id,service_id,trip_id\nR9,WK,T1\n", encoding="utf-8")
    result = run_cli("gtfs", "trips", str(feed), "--date", "2026-01-06")
    assert result.returncode == 2
    assert "trips.txt:2 [route_id]" in result.stderr
    assert result.stdout == ""


def test_load_is_idempotent_and_the_plan_comes_from_the_stored_feed(database_url: str) -> None:
    first = run_cli("gtfs", "load", str(TINY), "--format", "json", database_url=database_url)
    again = run_cli("gtfs", "load", str(TINY), "--format", "json", database_url=database_url)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    one, two = json.loads(first.stdout)[0], json.loads(again.stdout)[0]
    assert (one["created"], two["created"]) == (True, False)
    assert one["id"] == two["id"] and one["content_sha256"] == two["content_sha256"]
    assert (one["valid_from"], one["valid_to"]) == ("2026-01-01", "2026-12-31")
    versions = json.loads(run_cli("gtfs", "versions", "-f", "json", database_url=database_url).stdout)
    assert len(versions) == 1
    stored = run_cli("gtfs", "trips", "--date", "2026-12-24", "-f", "json", database_url=database_url)
    assert stored.returncode == 0, stored.stderr
    assert len(json.loads(stored.stdout)) == 8


def test_the_feed_in_force_is_the_latest_loaded_whose_validity_covers_the_date(
    database_url: str, tmp_path: Path
) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(TINY, newer)
    # The newer feed runs only in the second half of the year and drops the frequency route's windows.
    calendar = (TINY / "calendar.txt").read_text(encoding="utf-8").replace("20260101", "20260701")
    (newer / "calendar.txt").write_text(calendar, encoding="utf-8")
    (newer / "calendar_dates.txt").write_text("service_id,date,exception_type\n", encoding="utf-8")
    for name in ("trips.txt", "stop_times.txt"):
        kept = [line for line in (TINY / name).read_text(encoding="utf-8").splitlines() if "XMAS" not in line]
        (newer / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    (newer / "frequencies.txt").unlink()
    assert run_cli("gtfs", "load", str(TINY), database_url=database_url).returncode == 0
    assert run_cli("gtfs", "load", str(newer), database_url=database_url).returncode == 0

    def stored_count(date: str) -> int:
        result = run_cli("gtfs", "trips", "--date", date, "-f", "json", database_url=database_url)
        assert result.returncode == 0, result.stderr
        return len(json.loads(result.stdout))

    assert stored_count("2026-01-06") == 7  # only the first feed covers January
    assert stored_count("2026-12-24") == 3  # the newer feed: no XMAS service, one R2 template trip


def test_trips_without_a_stored_feed_is_a_clear_error(database_url: str) -> None:
    result = run_cli("gtfs", "trips", "--date", "2026-01-06", database_url=database_url)
    assert result.returncode == 2
    assert "no stored feed version is in force on 2026-01-06" in result.stderr


def test_an_unmigrated_database_gets_a_hint_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli("gtfs", "versions", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 2
    assert "transit db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_cli("db", "upgrade", database_url=url)
    assert result.returncode == 0, result.stderr
    assert f"database at revision {migrate.head_revision()}" in result.stdout
    assert run_cli("gtfs", "versions", database_url=url).returncode == 0
