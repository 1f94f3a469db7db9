"""Deadlines and escalation (ADAPTER): when a ticket's deadline passes without a final state, its service's
ladder fires, step by step: step k fires once `after_days` working days past the deadline have ended (0: the
deadline itself). Each firing queues a notice to the step's party through the outbox (a department, a party
of the catalog such as the police, or a permit's holder), adds an internal note and a `ticket_escalated`
ledger event, and counts on the ticket, so that running it again fires nothing twice.

`transit tickets escalate [--now T]` runs one pass; the live service runs it on schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from transit.ledger.chain import Draft
from transit.ledger.store import append_events
from transit.tickets.catalog import HOLDER, Catalog
from transit.tickets.model import Service, Step
from transit.tickets.notify import SYSTEM, queue_notice
from transit.tickets.service import record_note
from transit.tickets.store import TicketRow

TICKET_ESCALATED = "ticket_escalated"


@dataclass(frozen=True, slots=True)
class Escalated:
    ticket_id: int
    step: int  # 1-based rung of the ladder
    party: str
    notice_id: str | None  # None: the party has no channel to reach it (recorded all the same)
    due_at: dt.datetime


def escalate(session: Session, catalog: Catalog, now: dt.datetime) -> list[Escalated]:
    """Fire every ladder step that is due at `now` on open tickets past their deadline; the caller commits."""
    overdue = session.scalars(
        select(TicketRow)
        .where(TicketRow.status == "open", TicketRow.expected_at.is_not(None), TicketRow.expected_at < now)
        .order_by(TicketRow.id)
    )
    fired: list[Escalated] = []
    drafts: list[Draft] = []
    for row in overdue:
        service = catalog.service(row.service_code)
        if service is None or row.expected_at is None:
            continue
        for number in range(row.escalations + 1, len(service.ladder) + 1):
            step = service.ladder[number - 1]
            due = step_due(catalog, row.expected_at, step)
            if now <= due:
                break
            escalated, events = _fire(session, catalog, service, row, number, step, due, now)
            fired.append(escalated)
            drafts += events
            row.escalations = number
    append_events(session, drafts, now)
    return fired


def step_due(catalog: Catalog, deadline: dt.datetime, step: Step) -> dt.datetime:
    """When a step fires: the deadline itself, or the end of the `after_days`-th working day after it."""
    if step.after_days == 0:
        return deadline
    local = deadline.astimezone(ZoneInfo(catalog.timezone))
    return catalog.calendar.add_working_days(local, step.after_days).astimezone(dt.UTC)


def _fire(
    session: Session,
    catalog: Catalog,
    service: Service,
    row: TicketRow,
    number: int,
    step: Step,
    due: dt.datetime,
    now: dt.datetime,
) -> tuple[Escalated, list[Draft]]:
    targets, name = _reach(catalog, row, step.party)
    assert row.expected_at is not None
    zone = ZoneInfo(catalog.timezone)
    where = row.address or (
        f"{row.lat:.5f}, {row.lon:.5f}" if row.lat is not None and row.lon is not None else ""
    )
    title = f"Overdue: request {row.id} ({service.name})"
    received, deadline = (
        t.astimezone(zone).strftime("%Y-%m-%d %H:%M") for t in (row.requested_at, row.expected_at)
    )
    lines = [
        f"Request {row.id}, {service.name}, at {where}, received {received}.",
        f"It was due by {deadline} and is still {row.state.replace('_', ' ')}.",
        f"Escalation step {number} of {len(service.ladder)}: {name}.",
    ]
    if service.kind.value == "permit":
        values = row.attribute_values()
        lines.insert(1, f"Permit {values.get('permit_no', '?')} held by {values.get('holder', '?')}.")
    events: list[Draft] = []
    notice_id = None
    if targets:
        notice_id = f"ticket:{row.id}/escalation-{number}"
        events.append(queue_notice(session, notice_id, "ticket_escalation", step.party if step.party != HOLDER
                                   else f"holder:{row.id}", targets, title, lines, row.id, now))  # fmt: skip
    text = f"Escalated (step {number}) to {name}" + ("" if targets else ": no channel to reach them")
    record_note(session, row.id, now, SYSTEM, "escalated", False, None, None, text)
    payload = {"ticket_id": row.id, "step": number, "party": step.party, "due_at": due.isoformat(),
               "notice_id": notice_id}  # fmt: skip
    events.append(Draft(SYSTEM, TICKET_ESCALATED, f"ticket:{row.id}", payload))
    return Escalated(row.id, number, step.party, notice_id, due), events


def _reach(catalog: Catalog, row: TicketRow, party_id: str) -> tuple[dict[str, str], str]:
    """The channels and the name of a step's party."""
    if party_id == HOLDER:
        values = row.attribute_values()
        email = values.get("holder_email")
        return ({"email": str(email)} if email else {}), f"the permit holder, {values.get('holder', '?')}"
    party = catalog.party(party_id)
    if party is None:
        return {}, party_id
    return dict(party.channels), party.name
