"""`synth city` as a real subprocess: the files it writes, their bytes, and its answers to bad input."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import gtfs_kit
import pandas as pd

GTFS_FILES = {
    "agency.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "feed_info.txt",
    "frequencies.txt",
    "routes.txt",
    "shapes.txt",
    "stop_times.txt",
    "stops.txt",
    "trips.txt",
}


def synth(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from transit.synth.cli import synth_app; synth_app()"
    return subprocess.run(
        [sys.executable, "-c", code, "city", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_city_writes_a_feed_gtfs_kit_reads_and_the_side_files(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "city.zip"
    result = synth("--routes", "20", "--seed", "7", "--start-date", "2026-03-01", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    assert "routes 20" in result.stdout and "blocks at peak" in result.stdout
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == GTFS_FILES
        assert archive.namelist() == sorted(archive.namelist())
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    feed = gtfs_kit.read_feed(out, dist_units="m")
    assert len(feed.routes) == 20
    assert feed.feed_info["feed_version"].iloc[0] == "synth-7-20260301-r20"
    population = pd.read_csv(tmp_path / "new" / "folder" / "city.population.csv")
    demand = pd.read_csv(tmp_path / "new" / "folder" / "city.od.csv", dtype={"origin_stop_id": str})
    assert list(population.columns) == ["cell_id", "lat", "lon", "population"]
    assert list(demand.columns) == ["origin_stop_id", "destination_stop_id", "trips_per_day"]
    assert set(demand["origin_stop_id"]) <= set(feed.stops["stop_id"])


def test_same_seed_and_date_write_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = {"a": "5", "b": "5", "c": "6"}
    for name, seed in runs.items():
        out = tmp_path / name / "feed.zip"
        result = synth("-n", "6", "--seed", seed, "--start-date", "2026-01-15", "--out", str(out))
        assert result.returncode == 0, result.stderr
    read = {name: [(tmp_path / name / f).read_bytes() for f in ("feed.zip", "feed.od.csv")] for name in runs}
    assert read["a"] == read["b"]
    assert read["a"][0] != read["c"][0]


def test_start_date_defaults_to_today(tmp_path: Path) -> None:
    before = dt.date.today()
    result = synth("-n", "3", "--seed", "1", "--out", str(tmp_path / "feed.zip"))
    assert result.returncode == 0, result.stderr
    feed = gtfs_kit.read_feed(tmp_path / "feed.zip", dist_units="m")
    assert feed.feed_info["feed_start_date"].iloc[0] in {f"{before:%Y%m%d}", f"{dt.date.today():%Y%m%d}"}


def assert_refused(result: subprocess.CompletedProcess[str], parameter: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert parameter in lines[0]
    assert result.stdout == ""


def test_zero_routes_exit_2_naming_routes(tmp_path: Path) -> None:
    result = synth("--routes", "0", "--seed", "1", "--out", str(tmp_path / "feed.zip"))
    assert_refused(result, "--routes")
    assert not (tmp_path / "feed.zip").exists()


def test_malformed_start_date_exits_2_naming_start_date(tmp_path: Path) -> None:
    result = synth(
        "-n", "3", "--seed", "1", "--start-date", "2026-13-40", "--out", str(tmp_path / "feed.zip")
    )
    assert_refused(result, "--start-date")


def test_zero_vehicles_exit_2_naming_vehicles(tmp_path: Path) -> None:
    result = synth("-n", "3", "--seed", "1", "--vehicles", "0", "--out", str(tmp_path / "feed.zip"))
    assert_refused(result, "--vehicles")


def test_out_below_a_file_exits_2_naming_out(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = synth("-n", "3", "--seed", "1", "--out", str(blocker / "feed.zip"))
    assert_refused(result, "--out")


def test_out_that_is_a_folder_exits_2_naming_out(tmp_path: Path) -> None:
    result = synth("-n", "3", "--seed", "1", "--out", str(tmp_path))
    assert_refused(result, "--out")
