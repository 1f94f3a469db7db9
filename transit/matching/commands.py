"""`transit detect`: decide a whole service day from a feed and a ping file (entry point)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from transit.console import FormatOption, emit, parse_date_option
from transit.errors import BadParameter
from transit.gtfs.load import load_feed
from transit.matching.detect import CARRIER_COLUMNS, TRIP_COLUMNS, detect_day
from transit.matching.health import infer_service_date
from transit.render import OutputFormat, frame_to_records, render_json, render_records
from transit.telemetry.files import read_ping_file


def detect_command(
    feed: Annotated[Path, typer.Option("--feed", help="GTFS zip or folder")],
    pings: Annotated[Path, typer.Option("--pings", help="Ping file or folder: CSV, CSV.gz, JSON lines, .pb")],
    date: Annotated[
        str | None, typer.Option("--date", help="Service date YYYY-MM-DD (default: the one with most pings)")
    ] = None,
    ignore_trip_ids: Annotated[
        bool, typer.Option("--ignore-trip-ids", help="Match by position and schedule alone")
    ] = False,
    store: Annotated[bool, typer.Option("--store", help="Store the verdicts (not available yet)")] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Which scheduled trips of a service day were run, per carrier, with evidence."""
    if store:
        raise BadParameter("--store: storing verdicts comes with the verdict store; run without it for now")
    loaded = load_feed(feed)
    ping_file = read_ping_file(pings)
    timezone = str(loaded.feed.agency["agency_timezone"].iloc[0])
    service_date = (
        parse_date_option(date, timezone=timezone) if date else infer_service_date(ping_file.pings, timezone)
    )
    plan = loaded.day_plan(service_date)
    if plan.empty:
        raise BadParameter(f"--date: the feed schedules no trip on {service_date.isoformat()}")
    detection = detect_day(loaded.feed, plan, ping_file.pings, use_trip_ids=not ignore_trip_ids)
    rejected = [
        {"file": str(r.file), "row": r.row, "reason": str(r.reason), "detail": r.detail}
        for r in ping_file.rejected
    ]
    trips, carriers = frame_to_records(detection.trips), frame_to_records(detection.carriers)
    if fmt is OutputFormat.JSON:
        document: dict[str, Any] = {
            "service_date": service_date.isoformat(),
            "feed_version": loaded.content_sha256,
            "trips": trips,
            "carriers": carriers,
            "rejected_rows": rejected,
        }
        emit(render_json(document) + "\n")
        return
    if fmt is OutputFormat.CSV:
        emit(render_records(trips, TRIP_COLUMNS, fmt))
        return
    emit(render_records(carriers, CARRIER_COLUMNS, fmt))
    emit(f"\n{service_date}: {len(trips)} trip instances; {len(rejected)} ping rows rejected\n")
