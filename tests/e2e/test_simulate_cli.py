"""`simulate` as a real subprocess: the files it writes, their headers, counts and bytes, and bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from transit.gtfs.load import load_feed
from transit.synth.city import build_city
from transit.synth.write import write_city
from transit.telemetry.model import PING_FIELDS
from transit.telemetry.simulate import TRUTH_COLUMNS

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "gtfs" / "tiny"
# The main CLI registers the command the same way: app.command("simulate")(user_errors(simulate_command)).
APP = (
    "import typer; from transit.console import user_errors; "
    "from transit.telemetry.sim_cli import simulate_command; "
    "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False); "
    "app.command('simulate')(user_errors(simulate_command)); app.command('version')(lambda: None); app()"
)


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", APP, "simulate", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(6, seed=7, start_date=dt.date(2026, 3, 2)), out)
    return out


def test_writes_pings_and_truth_beside_them_with_headers_and_counts(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "pings.csv"
    result = simulate("--feed", str(city), "--date", "2026-03-03", "--out", str(out), "--miss-rate", "0.1")
    assert result.returncode == 0, result.stderr
    pings = pd.read_csv(out, dtype=str, keep_default_na=False)
    truth = pd.read_csv(tmp_path / "new" / "pings.truth.csv", dtype=str, keep_default_na=False)
    assert tuple(pings.columns) == PING_FIELDS
    assert tuple(truth.columns) == TRUTH_COLUMNS
    assert len(truth) == len(load_feed(city).day_plan(dt.date(2026, 3, 3)))
    assert pings["timestamp"].str.fullmatch(r"2026-03-0[234]T\d\d:\d\d:\d\dZ").all()
    assert f"{len(pings):,} pings" in result.stdout
    assert f"{len(truth):,} trip instances" in result.stdout
    assert f"{pings['vehicle_id'].nunique():,} vehicles" in result.stdout
    missed = truth[truth["happened"] == "not_run"]
    assert len(missed) > 0 and set(missed["expected_verdict"]) == {"missed"}
    named = set(zip(pings["trip_id"], pings["start_time"], strict=True))
    assert not named & set(zip(missed["trip_id"], missed["start_time"], strict=True))


def test_gzip_output_keeps_the_truth_plain_and_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    runs = {"a": "5", "b": "5", "c": "6"}
    for name, seed in runs.items():
        out = tmp_path / name / "day.csv.gz"
        result = simulate("--feed", str(TINY), "--date", "2026-01-06", "--out", str(out), "--seed", seed)
        assert result.returncode == 0, result.stderr
    files = {name: (tmp_path / name / "day.csv.gz", tmp_path / name / "day.truth.csv") for name in runs}
    with gzip.open(files["a"][0], "rt") as text:
        assert text.readline().strip() == ",".join(PING_FIELDS)
    assert files["a"][1].read_text().splitlines()[0] == ",".join(TRUTH_COLUMNS)
    assert [f.read_bytes() for f in files["a"]] == [f.read_bytes() for f in files["b"]]
    assert files["a"][0].read_bytes() != files["c"][0].read_bytes()


def assert_refused(result: subprocess.CompletedProcess[str], option: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert option in result.stderr.splitlines()[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--miss-rate", "1.5"], "--miss-rate"),
        (["--drop-rate", "-0.1"], "--drop-rate"),
        (["--gps-noise", "-3"], "--gps-noise"),
        (["--late-start-max-min", "0"], "--late-start-max-min"),
        (["--outage", "10:00-09:00"], "--outage"),
        (["--outage", "noon"], "--outage"),
        (["--dark-carrier", "NOPE"], "--dark-carrier"),
        (["--dark-window", "07:00-08:00"], "--dark-window"),
        (["--interval", "0"], "--interval"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    out = tmp_path / "p.csv"
    assert_refused(simulate("--feed", str(TINY), "--date", "2026-01-06", "--out", str(out), *args), option)
    assert not out.exists()


@pytest.mark.parametrize("date", ["2026-13-01", "yesterday", "2030-01-01"])
def test_a_malformed_or_out_of_range_date_exits_2_naming_date(tmp_path: Path, date: str) -> None:
    assert_refused(simulate("--feed", str(TINY), "--date", date, "--out", str(tmp_path / "p.csv")), "--date")


def test_a_feed_with_errors_exits_2_naming_the_feed(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for member in TINY.iterdir():
        (broken / member.name).write_bytes(member.read_bytes())
    (broken / "trips.txt").write_text("route_id,service_id,trip_id\nNOPE,WK,T1\n")
    result = simulate("--feed", str(broken), "--date", "2026-01-06", "--out", str(tmp_path / "p.csv"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(broken) in result.stderr


def test_an_out_path_that_is_a_folder_exits_2_naming_out(tmp_path: Path) -> None:
    assert_refused(simulate("--feed", str(TINY), "--date", "2026-01-06", "--out", str(tmp_path)), "--out")
