"""`transit detect` (a whole service day from a feed and a ping file) and `transit match` (the live matcher
over the stored pings): entry points."""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from sqlalchemy.orm import Session, sessionmaker

from transit import migrate
from transit.clock import SystemClock
from transit.console import FormatOption, cli_actor, emit, parse_date_option, sessions_for
from transit.contracts.outbox import deliver_with_standard_senders
from transit.contracts.service import NoVerdicts, alert_not_started, enforce
from transit.errors import BadParameter
from transit.gtfs.load import LoadedFeed, load_feed
from transit.gtfs.store import find_feed_version_by_hash
from transit.ledger.chain import Event
from transit.ledger.commands import signing_key
from transit.ledger.service import make_checkpoint
from transit.ledger.store import list_checkpoints
from transit.matching.detect import CARRIER_COLUMNS, TRIP_COLUMNS, detect_day
from transit.matching.exemptions import apply_exemptions, read_exemptions
from transit.matching.health import infer_service_date
from transit.matching.live import LiveState, TickResult, tick
from transit.matching.realtime_ids import read_id_map
from transit.matching.store import Decision, store_verdicts
from transit.render import OutputFormat, frame_to_records, render_json, render_records
from transit.settings import Settings
from transit.telemetry.files import read_ping_file
from transit.tickets.catalog import load_catalog
from transit.tickets.upkeep import ticket_upkeep


def detect_command(
    feed: Annotated[Path, typer.Option("--feed", help="GTFS zip or folder")],
    pings: Annotated[Path, typer.Option("--pings", help="Ping file or folder: CSV, CSV.gz, JSON lines, .pb")],
    date: Annotated[
        str | None, typer.Option("--date", help="Service date YYYY-MM-DD (default: the one with most pings)")
    ] = None,
    ignore_trip_ids: Annotated[
        bool, typer.Option("--ignore-trip-ids", help="Match by position and schedule alone")
    ] = False,
    exempt: Annotated[
        list[Path] | None,
        typer.Option(
            "--exempt", help="Exempted or cancelled trips: CSV, or GTFS-rt TripUpdates .pb (repeatable)"
        ),
    ] = None,
    id_map: Annotated[
        Path | None,
        typer.Option("--id-map", help="CSV kind,realtime_id,static_id: realtime ids to the feed's"),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Store the verdicts in TRANSIT_DATABASE_URL (feed loaded first)")
    ] = False,
    actor: Annotated[
        str | None, typer.Option("--actor", help="With --store: who decides (default: cli:<OS user>)")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Which scheduled trips of a service day were run, per carrier, with evidence."""
    exemptions = read_exemptions(exempt or [])  # small: its errors before the long reads
    explicit_ids = read_id_map(id_map) if id_map else None
    loaded = load_feed(feed)
    target = _store_target(loaded, feed) if store else None  # likewise, before reading the pings
    ping_file = read_ping_file(pings)
    timezone = str(loaded.feed.agency["agency_timezone"].iloc[0])
    service_date = (
        parse_date_option(date, timezone=timezone) if date else infer_service_date(ping_file.pings, timezone)
    )
    plan = loaded.day_plan(service_date)
    if plan.empty:
        raise BadParameter(f"--date: the feed schedules no trip on {service_date.isoformat()}")
    plan = apply_exemptions(plan, exemptions)
    detection = detect_day(
        loaded.feed, plan, ping_file.pings, use_trip_ids=not ignore_trip_ids, id_map=explicit_ids
    )
    for kind, resolution in detection.realtime_ids.items():
        if resolution.mapped or resolution.unknown:
            sys.stderr.write(f"payload {kind}s: {resolution.describe()}\n")
    if target is not None:
        sessions, version_id = target
        who = cli_actor(actor)
        decision = Decision(SystemClock().now(), who, source="batch")
        with sessions.begin() as session:
            result = store_verdicts(session, version_id, detection.trips, decision, timezone)
        sys.stderr.write(
            f"stored: {result.final} final, {result.revised} revised, {result.unchanged} unchanged,"
            f" {result.refused_after_cutoff} changed after the revision cut-off (not stored)\n"
        )
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
    emit(carrier_table(detection.carriers, fmt))
    emit(f"\n{service_date}: {len(trips)} trip instances; {len(rejected)} ping rows rejected\n")


def carrier_table(carriers: pd.DataFrame, fmt: OutputFormat = OutputFormat.TABLE) -> str:
    """The verdicts per carrier for people: missed_pct as a percentage (JSON and CSV keep the share)."""
    records = frame_to_records(carriers)
    if fmt is OutputFormat.TABLE:
        for record in records:
            share = record["missed_pct"]
            record["missed_pct"] = "" if share is None else f"{share:.1%}"
    return render_records(records, CARRIER_COLUMNS, fmt)


def _store_target(loaded: LoadedFeed, feed: Path) -> tuple[sessionmaker[Session], int]:
    """The database of the settings and the stored version of this feed; BadParameter if one is missing."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    sessions = sessions_for(settings)
    with sessions() as session:
        version = find_feed_version_by_hash(session, loaded.content_sha256)
    if version is None:
        raise BadParameter(f"--store: the feed {feed} is not loaded; run `transit gtfs load {feed}` first")
    return sessions, version.id


CHECKPOINT_EVERY = dt.timedelta(hours=1)  # the ledger's head is signed at least this often while live


def match_command(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron or a test)")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between passes", metavar="SECONDS")
    ] = 60.0,
) -> None:
    """The live matcher: final verdicts and not_started signals from the stored pings, pass after pass; the
    not_started alerts go out at once, a day is enforced once all its verdicts are final, and the ledger's
    head is signed after every enforcement and at least hourly. Each pass also does the 109 tickets'
    scheduled work (escalations, complaint evidence, erasure of expired personal data)."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    sessions = sessions_for(settings)
    clock = SystemClock()
    actor = f"live:{getpass.getuser()}"
    catalog = load_catalog(settings.ticket_catalog)
    state = LiveState()  # per service date: the pings read so far and the tracked pairs
    while True:
        for result in tick(sessions, clock, actor=actor, state=state):
            stored = result.stored
            sys.stdout.write(
                f"{clock.now():%Y-%m-%dT%H:%M:%SZ} {result.service_date}: {stored.final} final, "
                f"{stored.revised} revised, {result.not_started} not_started\n"
            )
            after_tick(sessions, settings, result, clock.now(), actor)
            sys.stdout.flush()
        with sessions.begin() as session:
            upkeep = ticket_upkeep(session, catalog, clock.now())
        if upkeep.escalated or upkeep.erased or any(e.outcome != "pending" for e in upkeep.evidence):
            sys.stdout.write(f"{clock.now():%Y-%m-%dT%H:%M:%SZ} {upkeep.describe()}\n")
            deliver_with_standard_senders(sessions, settings, clock.now())
        if once:
            return
        time.sleep(interval)


def after_tick(
    sessions: sessionmaker[Session], settings: Settings, result: TickResult, now: dt.datetime, actor: str
) -> None:
    """What a tick sets off: not_started alerts; enforcement of a day whose verdicts are all final (exactly
    once in effect: enforcing again adds nothing); a signed head after enforcement and at least hourly;
    delivery of whatever notices are due."""
    with sessions.begin() as session:
        alerted = alert_not_started(session, result.alerts, now)
        enforced: list[Event] = []
        if result.final:
            with contextlib.suppress(NoVerdicts):  # nothing of the day was stored: nothing to enforce
                enforced = enforce(session, result.service_date, now, actor).events
        heads = list_checkpoints(session)
        stale = not heads or heads[-1].at < now - CHECKPOINT_EVERY
        if enforced or stale:
            make_checkpoint(session, signing_key(settings), now)
    if alerted or enforced:
        sys.stdout.write(
            f"  {len(alerted)} not_started alert(s); enforced {result.service_date}: {len(enforced)} events\n"
        )
    deliver_with_standard_senders(sessions, settings, now)
