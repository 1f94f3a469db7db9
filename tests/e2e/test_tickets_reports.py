"""The 109 analytics through the real command line: three generated years in a migrated database, the
quarterly report as a table, CSV, JSON and charts, the flooding hotspots against the zones the generator
planted, and every user mistake an exit 2 that names the option. Once on PostgreSQL too."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from tests.support import run_cli
from transit.gtfs.geo import haversine_m
from transit.tickets.generate import PlantedZone, plant_flood_zones

pytestmark = pytest.mark.xdist_group("tickets_reports")  # one generated history: one worker (loadgroup)

PER_YEAR = 20_000
YEARS = (2024, 2025, 2026)
PLANTED = plant_flood_zones(YEARS)
NEAR_M = 300.0
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class History:
    url: str
    path: Path
    generate_output: str


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """A SQLite database made by `transit db upgrade`, filled by `transit tickets generate` (3 years)."""
    path = tmp_path_factory.mktemp("tickets-history") / "transit.db"
    url = f"sqlite:///{path}"
    upgraded = run_cli("db", "upgrade", database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    generated = run_cli(
        "tickets", "generate", "--years", "3", "--end-year", "2026", "--per-year", str(PER_YEAR),
        "--seed", "1", database_url=url,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    return History(url, path, generated.stdout)


def ok(*args: str, url: str) -> str:
    result = run_cli(*args, database_url=url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_generate_fills_an_empty_database_once(history: History) -> None:
    assert f"generated {3 * PER_YEAR:,} tickets, 2024 to 2026" in history.generate_output
    assert "new estate north-east" in history.generate_output
    with sqlite3.connect(history.path) as db:
        assert db.execute("SELECT count(*), min(channel), max(channel) FROM ticket").fetchone() == (
            3 * PER_YEAR, "generated", "generated",
        )  # fmt: skip
        assert db.execute("SELECT count(*) FROM ticket_note").fetchone() == (0,)  # no history, no ledger
    again = run_cli("tickets", "generate", "--per-year", "1000", database_url=history.url)
    assert again.returncode == 2
    assert f"already holds {3 * PER_YEAR:,} ticket(s)" in again.stderr and "Traceback" not in again.stderr


def test_a_generated_ticket_reads_back_through_the_ordinary_commands(history: History) -> None:
    shown = ok("tickets", "show", "1", url=history.url)
    assert "requested_at: 2023-12-31 " in shown  # the first minutes of 2024 in Almaty
    assert "state: done" in shown and "channel" not in shown


def test_the_report_table_shows_sectors_services_trend_and_places(history: History) -> None:
    out = ok("tickets", "report", "--quarter", "2026Q2", url=history.url)
    assert out.startswith("109 hotline, 2026Q2: 2026-04-01 to 2026-06-30 (Asia/Almaty)")
    for heading in ("By sector", "By service", "Repeated places"):
        assert heading in out
    header = next(line for line in out.splitlines() if line.startswith("sector "))
    assert header.split()[-5:] == ["2025Q3", "2025Q4", "2026Q1", "vs_previous", "vs_year_ago"]
    assert "flooding" in out and "(all)" in out


def test_the_report_csv_counts_what_the_database_holds(history: History) -> None:
    rows = list(csv.DictReader(io.StringIO(ok("tickets", "report", "--quarter", "2026Q2", "-f", "csv",
                                              url=history.url))))  # fmt: skip
    sectors = [r for r in rows if r["level"] == "sector"]
    total = next(r for r in sectors if r["sector"] == "(all)")
    in_quarter = "requested_at >= '2026-03-31 19:00:00' AND requested_at < '2026-06-30 19:00:00'"
    with sqlite3.connect(history.path) as db:  # 2026Q2 in Almaty (UTC+5), as stored (UTC text)
        (received,) = db.execute(f"SELECT count(*) FROM ticket WHERE {in_quarter}").fetchone()
        (flooding,) = db.execute(
            f"SELECT count(*) FROM ticket WHERE service_code = 'flooding' AND {in_quarter}"
        ).fetchone()
    assert int(total["received"]) == received
    assert sum(int(r["received"]) for r in sectors if r["sector"] != "(all)") == received
    assert int(total["consultations"]) / received == pytest.approx(0.8, abs=0.02)
    assert 0.75 < float(total["within_deadline_share"]) < 0.95
    service = next(r for r in rows if r["level"] == "service" and r["service_code"] == "flooding")
    assert int(service["received"]) == flooding
    assert float(service["change_vs_previous"]) > 1  # the spring floods: April against January to March
    places = [r for r in rows if r["level"] == "place"]
    assert places and all(int(r["received"]) >= 2 for r in places)


def test_the_report_json_and_one_chart_per_sector(history: History, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    result = run_cli("tickets", "report", "--quarter", "2026Q2", "--format", "json", "--charts", str(charts),
                     database_url=history.url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["quarter"] == "2026Q2" and report["quarters"] == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert report["start"] == "2026-03-31T19:00:00Z" and report["end"] == "2026-06-30T19:00:00Z"
    sectors = [s["sector"] for s in report["sectors"] if s["sector"] != "(all)"]
    written = sorted(charts.glob("*.png"))
    assert [p.name for p in written] == sorted(f"2026Q2-{s}.png" for s in sectors)
    for path in written:
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 10_000
    assert result.stderr.count("chart: ") == len(sectors)


def zones_near(zone: PlantedZone, found: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    if not found:
        return []
    lat = np.array([z["lat"] for z in found])
    lon = np.array([z["lon"] for z in found])
    distance = haversine_m(np.full(lat.size, zone.lat), np.full(lat.size, zone.lon), lat, lon)
    return sorted(((float(d), z) for d, z in zip(distance, found, strict=True) if d <= NEAR_M),
                  key=lambda pair: pair[0])  # fmt: skip


def test_three_years_of_flooding_give_the_planted_recurring_zones(history: History, tmp_path: Path) -> None:
    geojson, plot = tmp_path / "flooding.geojson", tmp_path / "flooding.png"
    result = json.loads(ok(
        "tickets", "hotspots", "--service", "flooding", "--from", "2024-01-01", "--to", "2026-12-31",
        "--format", "json", "--geojson", str(geojson), "--plot", str(plot), url=history.url,
    ))  # fmt: skip
    zones = result["zones"]
    recurring = [z for z in zones if z["recurring"]]
    for planted in PLANTED:
        near = zones_near(planted, zones)
        assert near, f"nothing found within {NEAR_M} m of {planted.name}"
        if planted.recurring:
            assert near[0][1]["recurring"], (planted, near)
            assert near[0][1]["years"] == list(YEARS)
        else:
            assert not any(z["recurring"] for _, z in near), (planted, near)
            assert near[0][1]["by_year"]["2025"] > 10
    for zone in recurring:  # nothing recurs that was not planted
        assert any(p.recurring and zones_near(p, [zone]) for p in PLANTED), zone
    assert len(recurring) == sum(p.recurring for p in PLANTED)
    collection = json.loads(geojson.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == result["cells"]
    assert sum(f["properties"]["count"] for f in collection["features"]) == result["located"]
    assert {f["properties"]["zone"] for f in collection["features"] if f["properties"]["recurring"]} == {
        z["zone"] for z in recurring
    }
    assert plot.read_bytes().startswith(PNG) and plot.stat().st_size > 20_000


def test_one_spring_has_hot_zones_but_none_recurring(history: History) -> None:
    out = ok("tickets", "hotspots", "--service", "flooding", "--from", "2025-01-01", "--to", "2025-12-31",
             url=history.url)  # fmt: skip
    assert ", 0 recurring" in out.splitlines()[0]
    one_year = json.loads(ok("tickets", "hotspots", "--service", "flooding", "--from", "2025-01-01", "--to",
                             "2025-12-31", "-f", "json", url=history.url))  # fmt: skip
    assert one_year["from"] == "2025-01-01"
    assert zones_near(PLANTED[-1], one_year["zones"])  # the one-year zone is hot in its year


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("tickets", "report", "--quarter", "2026Q5"), "--quarter"),
        (("tickets", "report", "--quarter", "Q2"), "--quarter"),
        (("tickets", "report", "--quarter", "2026Q2", "--previous", "-1"), "--previous"),
        (("tickets", "hotspots", "--service", "floods"), "--service"),
        (("tickets", "hotspots", "--service", "flooding", "--from", "2026-05-01", "--to", "2026-04-01"),
         "--from"),
        (("tickets", "hotspots", "--service", "flooding", "--to", "2026-02-30"), "--to"),
        (("tickets", "hotspots", "--service", "flooding", "--cell-m", "0"), "--cell-m"),
        (("tickets", "hotspots", "--service", "flooding", "--cell-m", "nan"), "--cell-m"),
        (("tickets", "hotspots", "--service", "flooding", "--cell-m", "wide"), "--cell-m"),
        (("tickets", "hotspots", "--service", "flooding", "--min-count", "0"), "--min-count"),
        (("tickets", "hotspots", "--service", "flooding", "--plot", "map.gif"), "--plot"),
        (("tickets", "generate", "--per-year", "10"), "--per-year"),
        (("tickets", "generate", "--years", "0"), "--years"),
    ],
)  # fmt: skip
def test_user_mistakes_exit_2_naming_the_option(history: History, args: tuple[str, ...], option: str) -> None:
    result = run_cli(*args, database_url=history.url)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert option in result.stderr and "Traceback" not in result.stderr


def test_writing_where_one_cannot_is_an_exit_2(history: History, tmp_path: Path) -> None:
    result = run_cli("tickets", "hotspots", "--service", "flooding", "--geojson",
                     str(tmp_path / "missing" / "cells.geojson"), database_url=history.url)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cells.geojson" in result.stderr


def test_a_database_without_the_schema_is_told_to_upgrade(tmp_path: Path) -> None:
    result = run_cli(
        "tickets", "report", "--quarter", "2026Q2", database_url=f"sqlite:///{tmp_path / 'new.db'}"
    )
    assert result.returncode == 2 and "transit db upgrade" in result.stderr


@pytest.mark.postgres
def test_postgresql_gives_the_same_report_as_sqlite(
    postgres_database_url: str, sqlite_database_url: str
) -> None:
    """Generated with COPY on PostgreSQL (as the service's role), with executemany on SQLite: the same
    volumes, trend and repeated places, and the same flooding zones."""
    generate = ("tickets", "generate", "--years", "2", "--per-year", "5000", "--seed", "3")
    reports, zones = [], []
    for url in (postgres_database_url, sqlite_database_url):
        assert "generated 10,000 tickets" in ok(*generate, url=url)
        report = json.loads(ok("tickets", "report", "--quarter", "2026Q2", "-f", "json", url=url))
        reports.append([(s["sector"], s["received"], s["received_2026Q1"], s["consultations"])
                        for s in report["sectors"]] + [report["addresses"]])  # fmt: skip
        found = json.loads(ok("tickets", "hotspots", "--service", "flooding", "-f", "json", url=url))
        zones.append(found["zones"])
    assert reports[0] == reports[1]
    assert zones[0] == zones[1]
    engine = create_engine(postgres_database_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM ticket WHERE channel = 'generated'")) == 10_000
    engine.dispose()
