"""The `transit` command's subcommands, per area (transit.cli starts it). Bad input exits 2 with a message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from transit import migrate
from transit.access.commands import keys_app
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
from transit.contracts.commands import (
    carriers_app,
    contracts_app,
    disputes_app,
    enforce_command,
    exemptions_app,
    notices_app,
    vehicles_app,
)
from transit.demo import run_demo
from transit.gtfs.dayplan import DAY_PLAN_COLUMNS, summarise_day_plan
from transit.gtfs.load import LoadedFeed, load_feed, validate_feed
from transit.gtfs.model import FeedVersion, Severity
from transit.gtfs.service import load_feed_in_force, store_feed
from transit.gtfs.store import list_feed_versions
from transit.ledger.commands import ledger_app
from transit.matching.commands import detect_command, match_command
from transit.render import OutputFormat, frame_to_records, render_json, render_records, to_json_value
from transit.routes_opt.commands import routes_app
from transit.serve import serve_command
from transit.settings import Settings
from transit.synth.cli import synth_app
from transit.telemetry.commands import ingest_command, replay_command
from transit.telemetry.sim_cli import simulate_command
from transit.tickets.commands import tickets_app

app = typer.Typer(
    help="Transit compliance service: GTFS day plans, trip verdicts, carrier contracts, 109 tickets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
gtfs_app = typer.Typer(help="GTFS feeds: validate, store, and list the day plan.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(gtfs_app, name="gtfs")
app.add_typer(synth_app, name="synth")
app.add_typer(ledger_app, name="ledger")
app.add_typer(contracts_app, name="contracts")
app.add_typer(disputes_app, name="disputes")
app.add_typer(carriers_app, name="carriers")
app.add_typer(notices_app, name="notices")
app.add_typer(vehicles_app, name="vehicles")
app.add_typer(exemptions_app, name="exemptions")
app.add_typer(keys_app, name="keys")
app.add_typer(tickets_app, name="tickets")
app.add_typer(routes_app, name="routes")  # transit.cli starts it without the rest
app.command("enforce")(user_errors(enforce_command))
app.command("ingest")(user_errors(ingest_command))
app.command("replay")(user_errors(replay_command))
app.command("simulate")(user_errors(simulate_command))
app.command("detect")(user_errors(detect_command))
app.command("match")(user_errors(match_command))
app.command("serve")(user_errors(serve_command))

FINDING_COLUMNS = ("severity", "code", "file", "line", "field", "message")


# --- db ----------------------------------------------------------------------------------------------------


@db_app.command("upgrade")
@user_errors
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply the migrations to TRANSIT_DATABASE_URL."""
    settings = Settings()
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings.database_url)}")


# --- gtfs --------------------------------------------------------------------------------------------------


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
        emit(_render_summary(summarise_day_plan(plan), fmt))
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


def _render_summary(carriers: list[dict[str, Any]], fmt: OutputFormat) -> str:
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


@app.command("demo")
@user_errors
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its feed and database")
    ] = Path("demo"),
    routes: Annotated[int, typer.Option("--routes", min=1, help="Routes of the synthetic city")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic city")] = 7,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the API running at the end, until Ctrl-C")
    ] = False,
) -> None:
    """The service working on a synthetic city: feed, day plan, simulated buses, ingest, verdicts,
    contracts, the ledger and the HTTP API."""
    run_demo(
        directory, routes, seed, emit, lambda carriers: _render_summary(carriers, OutputFormat.TABLE), serve
    )
