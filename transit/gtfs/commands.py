"""`transit gtfs ...`: validate a feed, store it as a feed version, list the stored versions and a service
date's trips (entry point)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from transit.clock import SystemClock
from transit.console import (
    FormatOption,
    cli_actor,
    emit,
    finding_line,
    parse_date_option,
    sessions_for,
    user_errors,
)
from transit.gtfs.dayplan import DAY_PLAN_COLUMNS, summarise_day_plan
from transit.gtfs.load import LoadedFeed, load_feed, validate_feed
from transit.gtfs.model import FeedVersion, Severity
from transit.gtfs.service import load_feed_in_force, store_feed
from transit.gtfs.store import list_feed_versions
from transit.render import OutputFormat, frame_to_records, render_json, render_records, to_json_value
from transit.settings import Settings

gtfs_app = typer.Typer(help="GTFS feeds: validate, store, and list the day plan.", no_args_is_help=True)

FINDING_COLUMNS = ("severity", "code", "file", "line", "field", "message")


@gtfs_app.command("check")
@user_errors
def gtfs_check(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validate a feed: bytes, CSV structure, columns, values, keys. Exit 0 (warnings allowed) or 2."""
    _raw, findings = validate_feed(feed)
    records = [f.to_dict() for f in findings]
    errors = sum(f.severity is Severity.ERROR for f in findings)
    if fmt is OutputFormat.TABLE:
        for f in findings:
            emit(finding_line(f) + "\n")
        emit(f"{feed}: {errors} error(s), {len(findings) - errors} warning(s)\n")
    else:
        emit(render_records(records, FINDING_COLUMNS, fmt))
    if errors:
        raise typer.Exit(2)


@gtfs_app.command("load")
@user_errors
def gtfs_load(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    fmt: FormatOption = OutputFormat.TABLE,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who loads it (default: cli:<OS user>); a ledger event")
    ] = None,
) -> None:
    """Validate a feed and store it as a feed version (the same content is stored once)."""
    who = cli_actor(actor)
    stored = store_feed(sessions_for(Settings()), feed, SystemClock(), who)
    record = {"created": stored.created, "warnings": len(stored.findings), **_version_record(stored.version)}
    if fmt is OutputFormat.TABLE:
        verb = "stored as" if stored.created else "already stored as"
        v = stored.version
        emit(
            f"{feed}: {verb} feed version {v.id} (sha256 {v.content_sha256[:12]}…), valid {v.valid_from} to "
            f"{v.valid_to}, {v.trip_count} trips, carriers {', '.join(a.carrier_id for a in v.agencies)}; "
            f"{len(stored.findings)} warning(s)\n"
        )
    else:
        emit(render_records([record], list(record), fmt))


@gtfs_app.command("versions")
@user_errors
def gtfs_versions(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the stored feed versions."""
    with sessions_for(Settings())() as session:
        versions = list_feed_versions(session)
    records = [_version_record(v) for v in versions]
    columns = [
        "id",
        "source_name",
        "feed_version",
        "valid_from",
        "valid_to",
        "trip_count",
        "carriers",
        "loaded_at",
    ]
    emit(render_records(records, columns, fmt))


def _version_record(v: FeedVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "content_sha256": v.content_sha256,
        "source_name": v.source_name,
        "feed_version": v.feed_version,
        "valid_from": v.valid_from.isoformat(),
        "valid_to": v.valid_to.isoformat(),
        "trip_count": v.trip_count,
        "carriers": ",".join(a.carrier_id for a in v.agencies),
        "loaded_at": to_json_value(v.loaded_at),
    }


@gtfs_app.command("trips")
@user_errors
def gtfs_trips(
    feed: Annotated[
        Path | None, typer.Argument(help="GTFS zip or folder; omitted: the stored feed in force on the date")
    ] = None,
    date: Annotated[str, typer.Option("--date", "-d", help="Service date YYYY-MM-DD, or 'today'")] = "today",
    fmt: FormatOption = OutputFormat.TABLE,
    summary: Annotated[bool, typer.Option("--summary", help="Counts per carrier and route")] = False,
) -> None:
    """List every trip instance scheduled on a service date, with its carrier. Writes nothing."""
    loaded, service_date = _feed_for_date(feed, date)
    plan = loaded.day_plan(service_date)
    if summary:
        emit(render_summary(summarise_day_plan(plan), fmt))
        return
    emit(render_records(frame_to_records(plan), DAY_PLAN_COLUMNS, fmt))


def _feed_for_date(feed: Path | None, date: str) -> tuple[LoadedFeed, dt.date]:
    if feed is not None:
        loaded = load_feed(feed)
        return loaded, parse_date_option(date, timezone=_timezone(loaded))
    sessions = sessions_for(Settings())
    service_date = parse_date_option(date)
    version, loaded = load_feed_in_force(sessions, service_date)
    if date == "today":  # today is a local date: in the zone of the feed, which may start a different feed
        local = parse_date_option(date, timezone=version.agencies[0].agency_timezone)
        if local != service_date:
            version, loaded = load_feed_in_force(sessions, local)
        service_date = local
    return loaded, service_date


def _timezone(loaded: LoadedFeed) -> str:
    return str(loaded.feed.agency["agency_timezone"].iloc[0])


def render_summary(carriers: list[dict[str, Any]], fmt: OutputFormat) -> str:
    """Trips and kilometres per carrier and route (`summarise_day_plan`), as `gtfs trips --summary` and the
    demo print them."""
    carriers = [{k: to_json_value(v) for k, v in c.items()} for c in carriers]
    if fmt is OutputFormat.JSON:
        return render_json(carriers) + "\n"
    rows = [
        {"carrier_id": c["carrier_id"], **route}
        for c in carriers
        for route in [
            *c["routes"],
            {"route_id": "(all)", "trips": c["trips"], "distance_km": c["distance_km"]},
        ]
    ]
    return render_records(rows, ["carrier_id", "route_id", "route_short_name", "trips", "distance_km"], fmt)
