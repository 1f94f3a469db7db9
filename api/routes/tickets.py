"""The 109 tickets for the staff who work them: list and read (with the whole history), change a ticket's
state or route it, add a note. Citizens' requests come in through Open311 (api/open311/routes.py); every
change here is a ledger event with the key's owner as actor, and a refused move is recorded too."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import SessionDep, StateDep, allow
from api.errors import Refused, problem_response
from api.paging import (
    CSV_RESPONSE,
    Cursor,
    FormatQuery,
    Limit,
    ListFormat,
    Page,
    csv_response,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_size,
)
from api.schemas import ReporterOut, TicketNoteCreate, TicketNoteOut, TicketOut, TicketStateCreate
from transit.access.model import Principal, Role
from transit.tickets.model import State
from transit.tickets.service import MoveRefused, TicketNotFound, add_note, change_state
from transit.tickets.store import ReporterRow, TicketQuery, TicketRow, find_tickets, notes_of

router = APIRouter(prefix="/v1", tags=["tickets"])
Staff = Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.INTAKE, Role.AUDITOR))]
Worker = Annotated[Principal, Depends(allow(Role.DEPARTMENT))]
Writer = Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.INTAKE))]
COLUMNS = tuple(f for f in TicketOut.model_fields if f not in ("notes", "reporter"))


@router.get(
    "/tickets", response_model=Page[TicketOut], responses=CSV_RESPONSE, summary="Tickets, oldest first"
)
def tickets(
    principal: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    service_code: Annotated[str | None, Query(max_length=100)] = None,
    received_from: Annotated[dt.date | None, Query(alias="from")] = None,
    received_to: Annotated[dt.date | None, Query(alias="to", description="Inclusive")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    start = 0 if cursor is None else cursor_int(decode_cursor(cursor, 1)[0])
    size = page_size(limit, fmt)
    query = TicketQuery(
        service_codes=[service_code] if service_code else [],
        start=None if received_from is None else dt.datetime.combine(received_from, dt.time(), dt.UTC),
        end=None
        if received_to is None
        else dt.datetime.combine(received_to + dt.timedelta(days=1), dt.time(), dt.UTC),
        statuses=[status] if status else [],
        offset=start,
        limit=size + 1,
    )
    rows = find_tickets(session, query)
    items = [_ticket(row) for row in rows[:size]]
    next_cursor = encode_cursor([start + size]) if len(rows) > size else None
    if fmt is ListFormat.CSV:
        return csv_response([i.model_dump() for i in items], COLUMNS, "tickets", next_cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}", response_model=TicketOut, summary="One ticket with its whole history")
def ticket(principal: Staff, session: SessionDep, ticket_id: int) -> TicketOut:
    row = _row(session, ticket_id)
    out = _ticket(row)
    out.notes = [TicketNoteOut(at=n.at, actor=n.actor, kind=n.kind, public=n.public, state=n.state,
                               department=n.department, text=n.text)
                 for n in notes_of(session, [row.id], public_only=False)[row.id]]  # fmt: skip
    reporter = session.get(ReporterRow, row.id) if principal.role is Role.DEPARTMENT else None
    if reporter is not None:
        out.reporter = _reporter(reporter)
    return out


@router.post(
    "/tickets/{ticket_id}/state",
    response_model=TicketOut,
    summary="Move a ticket to another state, or route it to another department",
    responses={409: problem_response("Not allowed from its state: refused, and recorded in the ledger")},
)
def move(
    principal: Worker, session: SessionDep, state: StateDep, ticket_id: int, body: TicketStateCreate
) -> Any:
    _row(session, ticket_id)
    try:
        change_state(session, state.catalog, ticket_id, State(body.state), principal.actor, body.text,
                     dt.datetime.now(dt.UTC), public=body.public, department=body.department)  # fmt: skip
    except MoveRefused as refused:
        session.commit()
        raise Refused(str(refused), refused.seq, status=409) from None
    session.commit()
    return ticket(principal, session, ticket_id)


@router.post("/tickets/{ticket_id}/notes", response_model=TicketOut, status_code=201, summary="Add a note")
def note(principal: Writer, session: SessionDep, ticket_id: int, body: TicketNoteCreate) -> Any:
    _row(session, ticket_id)
    add_note(session, ticket_id, body.text, principal.actor, dt.datetime.now(dt.UTC), public=body.public)
    session.commit()
    return ticket(principal, session, ticket_id)


def _row(session: Session, ticket_id: int) -> TicketRow:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return row


def _ticket(row: TicketRow) -> TicketOut:
    return TicketOut(
        ticket_id=row.id, service_code=row.service_code, kind=row.kind, sector=row.sector,
        department=row.department, state=row.state, status=row.status, requested_at=row.requested_at,
        updated_at=row.updated_at, expected_at=row.expected_at, closed_at=row.closed_at, lat=row.lat,
        long=row.lon, address=row.address, description=row.description, attributes=row.attribute_values(),
        duplicate_of=row.duplicate_of, escalations=row.escalations, channel=row.channel,
    )  # fmt: skip


def _reporter(row: ReporterRow) -> ReporterOut:
    return ReporterOut(first_name=row.first_name, last_name=row.last_name, email=row.email, phone=row.phone,
                       erased_at=row.erased_at)  # fmt: skip
