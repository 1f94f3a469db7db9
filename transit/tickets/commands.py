"""`transit tickets services|show|move|note`: the 109 catalog and the work on tickets (entry points).

Citizens' requests come in through Open311 (`POST /open311/v2/requests.{xml,json}` with an intake key); the
departments work them from here or over the HTTP API. Every change is a ledger event with its actor.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from transit import migrate
from transit.clock import SystemClock
from transit.console import FormatOption, cli_actor, emit, sessions_for, user_errors
from transit.contracts.outbox import deliver_with_standard_senders
from transit.errors import BadParameter
from transit.render import OutputFormat, render_json, render_records, to_json_value
from transit.settings import Settings
from transit.tickets.catalog import Catalog, load_catalog
from transit.tickets.escalation import escalate
from transit.tickets.evidence import check_pending
from transit.tickets.model import State, parse_instant
from transit.tickets.options import CatalogOption, NowOption
from transit.tickets.privacy import erase_expired
from transit.tickets.service import MoveRefused, add_note, change_state
from transit.tickets.store import TicketRow, notes_of

tickets_app = typer.Typer(help="109 tickets: the catalog, and work on tickets.", no_args_is_help=True)
SERVICE_COLUMNS = ("code", "name", "group", "department", "kind", "deadline_days", "ladder", "attributes")
NOTE_COLUMNS = ("at", "actor", "kind", "public", "state", "department", "text")
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who does this (default: cli:<OS user>)")]


@tickets_app.command("services")
@user_errors
def services_command(catalog: CatalogOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """The services (categories) of the catalog: sector, department, deadline, escalation ladder."""
    found = load_catalog(catalog or Settings().ticket_catalog)
    rows = [
        {"code": s.code, "name": s.name, "group": s.group, "department": s.department, "kind": s.kind.value,
         "deadline_days": s.deadline_days,
         "ladder": "; ".join(f"+{step.after_days}d {step.party}" for step in s.ladder),
         "attributes": ", ".join(a.code + ("*" if a.required else "") for a in s.attributes)}
        for s in found.services.values()
    ]  # fmt: skip
    emit(render_json(rows) + "\n" if fmt is OutputFormat.JSON else render_records(rows, SERVICE_COLUMNS, fmt))


@tickets_app.command("show")
@user_errors
def show_command(
    ticket_id: Annotated[int, typer.Argument(help="The ticket's id")], fmt: FormatOption = OutputFormat.TABLE
) -> None:
    """One ticket and its whole history (internal notes too; never the reporter's personal data)."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings)() as session:
        row = session.get(TicketRow, ticket_id)
        if row is None:
            raise BadParameter(f"TICKET_ID: no ticket {ticket_id}")
        ticket = {
            "ticket_id": row.id, "service_code": row.service_code, "sector": row.sector,
            "department": row.department, "state": row.state, "status": row.status,
            "requested_at": row.requested_at, "expected_at": row.expected_at, "closed_at": row.closed_at,
            "lat": row.lat, "long": row.lon, "address": row.address, "description": row.description,
            "attributes": row.attribute_values(), "duplicate_of": row.duplicate_of,
            "escalations": row.escalations,
        }  # fmt: skip
        notes = [
            {"at": n.at, "actor": n.actor, "kind": n.kind, "public": n.public, "state": n.state,
             "department": n.department, "text": n.text}
            for n in notes_of(session, [row.id], public_only=False)[row.id]
        ]  # fmt: skip
    if fmt is OutputFormat.JSON:
        emit(render_json(to_json_value({**ticket, "notes": notes})) + "\n")
        return
    emit(render_records([ticket], tuple(ticket), fmt) if fmt is OutputFormat.CSV else "")
    if fmt is OutputFormat.TABLE:
        for key, value in ticket.items():
            emit(f"{key:>13}: {'' if value is None else value}\n")
        emit("\n" + render_records(notes, NOTE_COLUMNS, fmt))


@tickets_app.command("move")
@user_errors
def move_command(
    ticket_id: Annotated[int, typer.Argument(help="The ticket's id")],
    state: Annotated[State, typer.Argument(help="routed, in_progress, done or rejected")],
    text: Annotated[str, typer.Option("--text", help="Why (shown to the reporter unless --internal)")],
    department: Annotated[
        str | None, typer.Option("--department", help="With `routed`: the department it goes to")
    ] = None,
    internal: Annotated[bool, typer.Option("--internal", help="Keep the text from the reporter")] = False,
    catalog: CatalogOption = None,
    actor: ActorOption = None,
) -> None:
    """Move a ticket to another state (or route it to another department); a move its states do not allow is
    refused and recorded in the ledger."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    found = load_catalog(catalog or settings.ticket_catalog)
    sessions = sessions_for(settings)
    with sessions() as session:
        try:
            row = change_state(session, found, ticket_id, state, cli_actor(actor), text, SystemClock().now(),
                               public=not internal, department=department)  # fmt: skip
        except MoveRefused as refused:
            session.commit()  # the refusal's protocol event
            raise BadParameter(f"{refused} (refused; recorded as ledger event {refused.seq})") from None
        session.commit()
        emit(f"ticket {row.id}: {row.state} ({row.status}), department {row.department}\n")


@tickets_app.command("note")
@user_errors
def note_command(
    ticket_id: Annotated[int, typer.Argument(help="The ticket's id")],
    text: Annotated[str, typer.Option("--text", help="The note")],
    public: Annotated[
        bool, typer.Option("--public", help="Show it to the reporter (default: internal)")
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Add a note to a ticket's history."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    with sessions_for(settings).begin() as session:
        add_note(session, ticket_id, text, cli_actor(actor), SystemClock().now(), public=public)
    emit(f"ticket {ticket_id}: note added ({'public' if public else 'internal'})\n")


@tickets_app.command("escalate")
@user_errors
def escalate_command(
    now: NowOption = None,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="Then deliver due notices")] = True,
    catalog: CatalogOption = None,
) -> None:
    """Fire the escalation steps that are due on overdue open tickets (each once), and deliver the notices."""
    settings, found, at = _scheduled_work(catalog, now)
    sessions = sessions_for(settings)
    with sessions.begin() as session:
        fired = escalate(session, found, at)
    for item in fired:
        reach = f"notice {item.notice_id}" if item.notice_id else "no channel to reach them"
        due = f"{item.due_at:%Y-%m-%d %H:%M} UTC"
        emit(f"ticket {item.ticket_id}: step {item.step} -> {item.party} (due {due}; {reach})\n")
    emit(f"{len(fired)} escalation step(s) fired\n")
    if deliver and fired:
        events = deliver_with_standard_senders(sessions, settings, at)
        sent = sum(1 for e in events if e.data().get("ok"))
        emit(f"outbox: {sent} of {len(events)} delivery attempt(s) succeeded\n")


@tickets_app.command("erase")
@user_errors
def erase_command(
    now: NowOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Erase the personal data of reporters whose tickets closed longer ago than the catalog's retention."""
    settings, found, at = _scheduled_work(catalog, now)
    with sessions_for(settings).begin() as session:
        erased = erase_expired(session, found, at)
    cutoff = at - dt.timedelta(days=found.retention_days)
    emit(f"{len(erased)} reporter(s) erased (tickets closed before {cutoff:%Y-%m-%d})\n")


@tickets_app.command("evidence")
@user_errors
def evidence_command(
    now: NowOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Check transport complaints without final evidence against the trips' telemetry verdicts."""
    settings, found, at = _scheduled_work(catalog, now)
    with sessions_for(settings).begin() as session:
        checked = check_pending(session, found, at)
    for item in checked:
        trips = ", ".join(f"{t['trip_id']} {t['start_time']} {t['verdict']}" for t in item.trips) or "no trip"
        emit(f"ticket {item.ticket_id}: {item.outcome} ({trips})\n")
    emit(f"{len(checked)} complaint(s) checked\n")


def _scheduled_work(catalog: Path | None, now: str | None) -> tuple[Settings, Catalog, dt.datetime]:
    """What a scheduled-work command starts from: the settings (database at head), the catalog, and the
    instant it runs as (`--now`, else the clock)."""
    settings = Settings()
    migrate.require_head(settings.database_url)
    if now is None:
        return settings, load_catalog(catalog or settings.ticket_catalog), SystemClock().now()
    try:
        at = parse_instant(now)
    except ValueError as exc:
        raise BadParameter(f"--now: {now!r} {exc}") from None
    return settings, load_catalog(catalog or settings.ticket_catalog), at


# --- reports (transit/tickets/report_commands.py) ---
from transit.tickets.report_commands import generate_command, hotspots_command, report_command  # noqa: E402

tickets_app.command("report")(report_command)
tickets_app.command("hotspots")(hotspots_command)
tickets_app.command("generate")(generate_command)
