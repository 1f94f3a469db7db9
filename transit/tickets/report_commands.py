"""`transit tickets report|hotspots|generate`: the 109 analytics (entry points).

- `report --quarter 2026Q3`: the quarter's volumes, deadlines kept, times to close, trend and repeated
  places by sector and service (transit/tickets/analytics.py), as a table, JSON or CSV, and with
  `--charts DIR` one PNG per sector.
- `hotspots --service flooding`: where a service's requests cluster on a metric grid over a period, which
  zones recur (transit/tickets/hotspots.py), as a table, GeoJSON and a map.
- `generate`: a synthetic multi-year history (transit/tickets/generate.py) into an empty ticket table.

Plain functions, registered on `tickets_app` in transit/tickets/commands.py. The generator, the hotspots
(scipy) and the adapters are imported inside the commands, so that the other `transit tickets` commands
start without them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import pandas as pd
import typer
from sqlalchemy.orm import Session

from transit import migrate
from transit.clock import SystemClock
from transit.console import FormatOption, emit, parse_date_option, sessions_for, user_errors
from transit.errors import BadParameter
from transit.render import (
    OutputFormat,
    frame_to_records,
    render_csv,
    render_json,
    render_records,
    to_json_value,
)
from transit.settings import Settings
from transit.tickets.analytics import (
    MEASURES,
    Report,
    change_text,
    parse_quarter,
    quarterly_report,
    report_period,
    share_text,
)
from transit.tickets.catalog import load_catalog
from transit.tickets.options import CatalogOption

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
CELL_M_RANGE = (10.0, 5_000.0)
ZONE_COLUMNS = ("zone", "recurring", "requests", "cells", "years", "by_year", "lat", "lon")


# --- report -------------------------------------------------------------------------------------------------


@user_errors
def report_command(
    quarter: Annotated[
        str, typer.Option("--quarter", help="The quarter, YYYYQn (2026Q3), in the catalog's time zone")
    ],
    fmt: FormatOption = OutputFormat.TABLE,
    charts: Annotated[
        Path | None, typer.Option("--charts", help="Write one PNG per sector into this folder")
    ] = None,
    previous: Annotated[
        int, typer.Option("--previous", min=0, max=12, help="Quarters before it in the trend")
    ] = 3,
    catalog: CatalogOption = None,
) -> None:
    """A quarter's analytics by sector and service, as a table, JSON or CSV, and charts.

    Volumes, cases closed within their deadline, median time to close, open at the quarter's end, the trend
    against the previous quarters and a year before, repeated places. Consultations count in the volumes
    only."""
    from transit.tickets.reports import load_tickets, write_charts

    settings = Settings()
    wanted = parse_quarter(quarter)
    found = load_catalog(catalog or settings.ticket_catalog)
    migrate.require_head(settings.database_url)
    start, end = report_period(wanted, previous, found.timezone)
    with sessions_for(settings)() as session:
        tickets = load_tickets(session, start, end)
    report = quarterly_report(
        tickets, wanted, timezone=found.timezone, as_of=SystemClock().now(), previous=previous
    )
    written = write_charts(report, charts) if charts is not None else []
    if fmt is OutputFormat.JSON:
        emit(render_json(_report_json(report)) + "\n")
    elif fmt is OutputFormat.CSV:
        emit(_report_csv(report))
    else:
        emit(_report_table(report))
    for path in written:
        typer.echo(f"chart: {path}", err=fmt is not OutputFormat.TABLE)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    shares = [c for c in frame.columns if c.endswith("_share") or c.startswith("change_")]
    return frame.round({**dict.fromkeys(shares, 4), "median_close_hours": 1})


def _report_json(report: Report) -> dict[str, Any]:
    return {
        "quarter": report.quarter, "timezone": report.timezone, "start": to_json_value(report.start),
        "end": to_json_value(report.end), "as_of": to_json_value(report.as_of),
        "quarters": list(report.quarters),
        "sectors": frame_to_records(_rounded(report.sectors)),
        "services": frame_to_records(_rounded(report.services)),
        "addresses": frame_to_records(report.addresses),
    }  # fmt: skip


def _report_csv(report: Report) -> str:
    """One table: a row per sector (the total last), per service and per repeated place (`level`)."""
    trend = [f"received_{q}" for q in report.quarters[:-1]]
    columns = ["level", "sector", "service_code", "place", *MEASURES, *trend, "change_vs_previous",
               "change_vs_year_ago", "services"]  # fmt: skip
    places = report.addresses.rename(columns={"requests": "received"}).assign(level="place")
    parts = [
        _rounded(report.sectors).assign(level="sector"),
        _rounded(report.services).assign(level="service"),
        places,
    ]
    records = [r for part in parts for r in frame_to_records(part)]
    return render_csv(records, columns)


def _report_table(report: Report) -> str:
    local = ZoneInfo(report.timezone)
    last_day = (report.end.astimezone(local) - dt.timedelta(days=1)).date()
    lines = [
        f"109 hotline, {report.quarter}: {report.start.astimezone(local).date()} to {last_day} "
        f"({report.timezone}), as of {report.as_of:%Y-%m-%d %H:%M} UTC",
        "within deadline: of the cases due (consultations excluded); median close: hours, closed cases",
        "",
        "By sector",
        _measure_table(report, report.sectors, ["sector"]),
        "By service",
        _measure_table(report, report.services, ["sector", "service_code"]),
        "Repeated places (2 requests or more; the top 5 per sector)",
        render_records(frame_to_records(report.addresses), ("sector", "place", "requests", "services"),
                       OutputFormat.TABLE),
    ]  # fmt: skip
    return "\n".join(lines)


def _measure_table(report: Report, frame: pd.DataFrame, keys: list[str]) -> str:
    trend = list(report.quarters[:-1])
    rows = []
    for record in frame_to_records(frame):
        row = {key: record[key] for key in keys}
        for name in ("received", "consultations", "cases", "closed", "open_at_end", "due"):
            row[name] = f"{record[name]:,}"
        row["within_deadline"] = share_text(_number(record["within_deadline_share"]))
        hours = _number(record["median_close_hours"])
        row["median_close_h"] = "" if math.isnan(hours) else f"{hours:.1f}"
        for label in trend:
            volume = _number(record[f"received_{label}"])
            row[label] = "" if math.isnan(volume) else f"{volume:,.0f}"
        row["vs_previous"] = change_text(_number(record["change_vs_previous"]))
        row["vs_year_ago"] = change_text(_number(record["change_vs_year_ago"]))
        rows.append(row)
    columns = [*keys, "received", "consultations", "cases", "closed", "open_at_end", "due", "within_deadline",
               "median_close_h", *trend, "vs_previous", "vs_year_ago"]  # fmt: skip
    return render_records(rows, columns, OutputFormat.TABLE)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


# --- hotspots -----------------------------------------------------------------------------------------------


@user_errors
def hotspots_command(
    service: Annotated[str, typer.Option("--service", help="The service's code, such as flooding")],
    start_date: Annotated[
        str | None, typer.Option("--from", help="First local day, YYYY-MM-DD (default: the first request)")
    ] = None,
    end_date: Annotated[
        str | None, typer.Option("--to", help="Last local day, YYYY-MM-DD, included (default: the last)")
    ] = None,
    cell_m: Annotated[
        float, typer.Option("--cell-m", help="Side of a grid cell, metres (10 to 5,000)")
    ] = 250.0,
    min_count: Annotated[
        int, typer.Option("--min-count", min=1, help="Requests that make a cell hot, and a zone's year count")
    ] = 3,
    min_years: Annotated[
        int, typer.Option("--min-years", min=1, help="Years a zone must stand out in to be recurring")
    ] = 2,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write the cells as GeoJSON here")] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the map to this .png (.svg, .pdf)")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
    catalog: CatalogOption = None,
) -> None:
    """Where a service's requests cluster over a period, and which zones come back year after year.

    Cells of a metric grid (transit/tickets/hotspots.py): the zones as a table, the cells as GeoJSON and a
    map."""
    from transit.tickets.hotspots import compute_zones, hotspots, to_geojson
    from transit.tickets.reports import POINT_COLUMNS, load_tickets, write_hotspot_map

    settings = Settings()
    found = load_catalog(catalog or settings.ticket_catalog)
    if found.service(service) is None:
        raise BadParameter(f"--service: no service {service!r} in the catalog ({', '.join(found.services)})")
    if not (math.isfinite(cell_m) and CELL_M_RANGE[0] <= cell_m <= CELL_M_RANGE[1]):
        raise BadParameter(f"--cell-m: {cell_m:g} is not a cell size from 10 to 5,000 metres")
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise BadParameter(f"--plot: {plot} must end in {', '.join(PLOT_SUFFIXES)}")
    start, end = _period(start_date, end_date, found.timezone)
    migrate.require_head(settings.database_url)
    with sessions_for(settings)() as session:
        points = load_tickets(session, start, end, [service], POINT_COLUMNS)
    cells = hotspots(points, cell_m, min_count, min_years, timezone=found.timezone)
    zones = compute_zones(cells)
    if geojson is not None:
        geojson.write_text(json.dumps(to_geojson(cells), ensure_ascii=False), encoding="utf-8")
    if plot is not None:
        span = _span_text(points, start_date, end_date, found.timezone)
        write_hotspot_map(
            cells, plot, title=f"{service}, {span}: {len(points):,} requests, cells of {cell_m:g} m"
        )
    records = [_zone_record(z, fmt) for z in zones.to_dict("records")]
    summary = {
        "service": service, "from": start_date, "to": end_date, "cell_m": cell_m, "min_count": min_count,
        "min_years": min_years, "requests": len(points), "located": int(points["lat"].notna().sum()),
        "cells": len(cells), "hot_cells": int(cells["hot"].sum()) if len(cells) else 0,
        "zones": len(zones), "recurring": int(zones["recurring"].sum()) if len(zones) else 0,
    }  # fmt: skip
    if fmt is OutputFormat.JSON:
        emit(render_json({**summary, "zones": records}) + "\n")
        return
    if fmt is OutputFormat.TABLE:
        emit(f"{service}: {summary['requests']:,} requests ({summary['located']:,} with a place), "
             f"{summary['cells']:,} cells of {cell_m:g} m, {summary['hot_cells']:,} hot, "
             f"{summary['zones']} zone(s), {summary['recurring']} recurring\n")  # fmt: skip
    emit(render_records(records, ZONE_COLUMNS, fmt))
    for path in (geojson, plot):
        if path is not None:
            typer.echo(f"wrote {path}", err=fmt is not OutputFormat.TABLE)


def _period(
    start_date: str | None, end_date: str | None, timezone: str
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) in UTC from the local days --from and --to (included)."""
    zone = ZoneInfo(timezone)
    first = None if start_date is None else parse_date_option(start_date, "--from")
    last = None if end_date is None else parse_date_option(end_date, "--to")
    if first is not None and last is not None and first > last:
        raise BadParameter(f"--from: {first} is after --to {last}")
    start = None if first is None else dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = None if last is None else dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return start, None if end is None else end.astimezone(dt.UTC)


def _span_text(points: pd.DataFrame, start_date: str | None, end_date: str | None, timezone: str) -> str:
    if points.empty:
        return f"{start_date or '...'} to {end_date or '...'}"
    local = points["requested_at"].dt.tz_convert(timezone)
    return f"{start_date or local.min().date()} to {end_date or local.max().date()}"


def _zone_record(zone: dict[Any, Any], fmt: OutputFormat) -> dict[str, Any]:
    years, by_year = list(zone["years"]), {str(y): int(n) for y, n in zone["by_year"]}
    listed = fmt is OutputFormat.JSON
    return {
        "zone": int(zone["zone"]), "recurring": bool(zone["recurring"]), "requests": int(zone["count"]),
        "cells": int(zone["cells"]), "years": years if listed else " ".join(str(y) for y in years),
        "by_year": by_year if listed else " ".join(f"{y}:{n}" for y, n in by_year.items()),
        "lat": round(float(zone["lat"]), 6) if listed else f"{zone['lat']:.5f}",
        "lon": round(float(zone["lon"]), 6) if listed else f"{zone['lon']:.5f}",
    }  # fmt: skip


# --- generate -----------------------------------------------------------------------------------------------


@user_errors
def generate_command(
    years: Annotated[int, typer.Option("--years", min=1, max=6, help="Calendar years of history")] = 3,
    end_year: Annotated[int, typer.Option("--end-year", min=2023, max=2100, help="The last year")] = 2026,
    per_year: Annotated[
        int, typer.Option("--per-year", min=100, max=1_000_000, help="Contacts a year (80% consultations)")
    ] = 93_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed: the same seed, the same data")] = 1,
    catalog: CatalogOption = None,
) -> None:
    """Fill an empty ticket table with a synthetic history, to try the analytics on.

    Consultations, complaints by service and season, spring flooding in recurring zones. Refused on a
    database that holds any ticket. Generated tickets (channel "generated") bypass the ledger: they are test
    data."""
    from transit.tickets.generate import generate_tickets
    from transit.tickets.reports import insert_generated

    settings = Settings()
    found = load_catalog(catalog or settings.ticket_catalog)
    migrate.require_head(settings.database_url)
    sessions = sessions_for(settings)
    with sessions() as session:
        _require_empty(session)  # before the work; again below, in the inserting transaction
    began = time.perf_counter()
    generated = generate_tickets(found, years=years, end_year=end_year, per_year=per_year, seed=seed)
    made = time.perf_counter() - began
    with sessions.begin() as session:
        _require_empty(session)
        inserted = insert_generated(session, generated.tickets)
    stored = time.perf_counter() - began - made
    tickets = generated.tickets
    emit(f"generated {inserted:,} tickets, {end_year - years + 1} to {end_year} ({per_year:,} a year, seed "
         f"{seed}): {made:.1f} s to generate, {stored:.1f} s to insert\n")  # fmt: skip
    by_sector = tickets.groupby(["sector", "kind"]).size().rename("tickets").reset_index()
    emit(render_records(frame_to_records(by_sector), ("sector", "kind", "tickets"), OutputFormat.TABLE))
    emit("planted flood zones:\n")
    zones = [{"zone": z.name, "lat": f"{z.lat:.5f}", "lon": f"{z.lon:.5f}", "sigma_m": f"{z.sigma_m:.0f}",
              "years": " ".join(str(y) for y in z.years)} for z in generated.zones]  # fmt: skip
    emit(render_records(zones, ("zone", "lat", "lon", "sigma_m", "years"), OutputFormat.TABLE))


def _require_empty(session: Session) -> None:
    from transit.tickets.reports import count_tickets

    held = count_tickets(session)
    if held:
        raise BadParameter(
            f"the database already holds {held:,} ticket(s): generate only into an empty ticket table "
            "(a fresh database), so that test data never mixes with real requests or another run"
        )
