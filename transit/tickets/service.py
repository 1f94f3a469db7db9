"""Working on tickets (ADAPTER over the store and the ledger): file one, move it through its states, route it
to another department, add notes. Every change is a ledger event (subject `ticket:<id>`) with its actor and a
note in the ticket's history; a move the states do not allow is refused and recorded (`protocol`).

The ledger carries no personal data: not the reporter, and of a note only its SHA-256 (the text stays in the
append-only notes table), so that erasing a reporter after the retention period leaves the chain whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from transit.errors import BadParameter, TransitError
from transit.gtfs.geo import haversine_m
from transit.ledger.chain import Draft
from transit.ledger.service import refuse
from transit.ledger.store import append_events
from transit.tickets.catalog import Catalog
from transit.tickets.model import (
    FINAL,
    Kind,
    Service,
    State,
    can_move,
    check_attributes,
    open311_status,
    parse_instant,
)
from transit.tickets.notify import queue_notice
from transit.tickets.store import NoteRow, ReporterRow, TicketRow, open_near

TICKET_FILED, TICKET_STATE, TICKET_NOTE = "ticket_filed", "ticket_state", "ticket_note"
_METRES_PER_DEGREE = 111_195.0
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ServiceNotFound(TransitError):
    """No service (category) has that code."""


class TicketNotFound(TransitError):
    """No ticket has that id."""


class MoveRefused(TransitError):
    """A state change the ticket's states do not allow; recorded in the ledger as a protocol event."""

    def __init__(self, message: str, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Reporter:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None

    def given(self) -> bool:
        return any(getattr(self, f) for f in self.__slots__)


@dataclass(frozen=True, slots=True)
class Submission:
    """What a reporter (through an intake system) asks for: Open311's POST fields."""

    service_code: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: Mapping[str, str | list[str]] = field(default_factory=dict)
    reporter: Reporter = field(default_factory=Reporter)


@dataclass(frozen=True, slots=True)
class Filed:
    ticket_id: int
    state: State
    department: str
    expected_at: dt.datetime | None
    duplicate_of: int | None
    service_notice: str


def file_ticket(
    session: Session, catalog: Catalog, submission: Submission, actor: str, now: dt.datetime
) -> Filed:
    """Store a new ticket, routed at once to its service's department (a consultation is done at once), with
    its deadline, linked to an open ticket of the same service nearby if there is one. The caller commits.
    Raises ServiceNotFound, or BadParameter naming the field."""
    service = catalog.service(submission.service_code)
    if service is None:
        raise ServiceNotFound(f"service_code: no service {submission.service_code!r}")
    _check_location(submission)
    _check_text(submission)
    try:
        attributes = check_attributes(service, submission.attributes)
    except ValueError as exc:
        raise BadParameter(str(exc)) from None
    holder = attributes.get("holder_email")
    if service.kind is Kind.PERMIT and isinstance(holder, str) and not _EMAIL.fullmatch(holder):
        raise BadParameter(f"attribute[holder_email]: {holder!r} is not an e-mail address (notices go there)")
    expected = _deadline(catalog, service, attributes, now)
    duplicate = _duplicate_of(session, service, submission)
    consultation = service.kind is Kind.CONSULTATION
    state = State.DONE if consultation else State.ROUTED
    row = TicketRow(
        service_code=service.code, kind=service.kind.value, sector=service.group,
        department=service.department, state=state.value, status=open311_status(state),
        requested_at=now, updated_at=now, expected_at=None if consultation else expected,
        closed_at=now if consultation else None, lat=submission.lat, lon=submission.lon,
        address=submission.address, address_id=submission.address_id, description=submission.description,
        media_url=submission.media_url, attributes=json.dumps(attributes, ensure_ascii=False, sort_keys=True),
        duplicate_of=duplicate, channel=actor, escalations=0,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if submission.reporter.given():
        session.add(
            ReporterRow(ticket_id=row.id, **{f: getattr(submission.reporter, f) for f in Reporter.__slots__})
        )
    department = catalog.party(service.department)
    routed_to = department.name if department else service.department
    notes: list[tuple[str, bool, State | None, str | None, str]] = [
        ("submitted", True, State.RECEIVED, None, f"Received by the 109 hotline ({service.name}).")
    ]
    if consultation:
        notes.append(("state", True, State.DONE, None, "Answered on the call."))
    else:
        notes.append(("routed", True, State.ROUTED, service.department, f"Forwarded to {routed_to}."))
    if duplicate is not None:
        notes.append(("duplicate", True, None, None, f"Linked to request {duplicate}, open nearby."))
    for kind, public, note_state, note_department, text in notes:
        record_note(session, row.id, now, actor, kind, public, note_state, note_department, text)
    payload = {
        "ticket_id": row.id, "service_code": service.code, "sector": service.group,
        "kind": service.kind.value, "department": service.department, "state": state.value,
        "requested_at": now.isoformat(),
        "expected_at": expected.isoformat() if expected and not consultation else None,
        "lat": submission.lat, "lon": submission.lon, "address": submission.address,
        "attributes": attributes, "duplicate_of": duplicate, "reporter_given": submission.reporter.given(),
    }  # fmt: skip
    append_events(session, [Draft(actor, TICKET_FILED, f"ticket:{row.id}", payload)], now)
    notice = "Answered on the call." if consultation else _service_notice(catalog, routed_to, expected)
    return Filed(row.id, state, service.department, row.expected_at, duplicate, notice)


def change_state(
    session: Session,
    catalog: Catalog,
    ticket_id: int,
    target: State,
    actor: str,
    text: str,
    now: dt.datetime,
    *,
    public: bool = True,
    department: str | None = None,
) -> TicketRow:
    """Move a ticket to `target` (routing it to `department` when `target` is routed); the caller commits.
    A move its states do not allow raises MoveRefused after recording the attempt (commit it too)."""
    row = _ticket(session, ticket_id)
    current = State(row.state)
    if not can_move(current, target):
        event = refuse(
            session, actor, f"move to {target.value}", f"ticket:{ticket_id}", now, state=current.value
        )
        raise MoveRefused(
            f"ticket {ticket_id} is {current.value}: it cannot become {target.value}", event.seq
        )
    if target is State.ROUTED:
        if department is None or department not in catalog.departments:
            raise BadParameter(f"department: {department!r} is not a department of the catalog")
        row.department = department
    elif department is not None:
        raise BadParameter("department: only a move to 'routed' names a department")
    if not text.strip():
        raise BadParameter("text: a state change says why (it is shown to the reporter when public)")
    row.state, row.status, row.updated_at = target.value, open311_status(target), now
    if target in FINAL:
        row.closed_at = now
    record_note(session, ticket_id, now, actor, "state", public, target, department, text)
    payload = {"ticket_id": ticket_id, "from": current.value, "to": target.value, "department": department,
               "public": public, "text_sha256": _digest(text)}  # fmt: skip
    drafts = [Draft(actor, TICKET_STATE, f"ticket:{ticket_id}", payload)]
    if public:
        drafts += _tell_reporter(session, catalog, row, target, text, now)
    append_events(session, drafts, now)
    return row


def _tell_reporter(
    session: Session, catalog: Catalog, row: TicketRow, target: State, text: str, now: dt.datetime
) -> list[Draft]:
    """A notice to the reporter of a public change, by e-mail and SMS as they left them (none if erased)."""
    reporter = session.get(ReporterRow, row.id)
    if reporter is None or reporter.erased_at is not None:
        return []
    channels = {
        c: f"reporter:{row.id}" for c, given in (("email", reporter.email), ("sms", reporter.phone)) if given
    }
    if not channels:
        return []
    service = catalog.service(row.service_code)
    name = service.name if service else row.service_code
    status = target.value.replace("_", " ")
    count = sum(1 for n in session.scalars(select(NoteRow.id).where(NoteRow.ticket_id == row.id)))
    notice_id = f"ticket:{row.id}/status-{count}"
    lines = [f"Your request {row.id} ({name}) is now {status}.", text]
    title = f"Request {row.id}: {status}"
    return [
        queue_notice(
            session, notice_id, "ticket_status", f"reporter:{row.id}", channels, title, lines, row.id, now
        )
    ]


def add_note(
    session: Session, ticket_id: int, text: str, actor: str, now: dt.datetime, *, public: bool = False
) -> None:
    """A note on a ticket's history, shown to the reporter when `public`; the caller commits."""
    row = _ticket(session, ticket_id)
    if not text.strip():
        raise BadParameter("text: empty")
    row.updated_at = now
    record_note(session, ticket_id, now, actor, "note", public, None, None, text)
    payload = {"ticket_id": ticket_id, "public": public, "text_sha256": _digest(text)}
    append_events(session, [Draft(actor, TICKET_NOTE, f"ticket:{ticket_id}", payload)], now)


def _ticket(session: Session, ticket_id: int) -> TicketRow:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return row


def record_note(
    session: Session,
    ticket_id: int,
    at: dt.datetime,
    actor: str,
    kind: str,
    public: bool,
    state: State | None,
    department: str | None,
    text: str,
) -> None:
    state_value = None if state is None else state.value
    session.add(NoteRow(ticket_id=ticket_id, at=at, actor=actor, kind=kind, public=public, state=state_value,
                        department=department, text=text))  # fmt: skip


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The longest each field may be (its column), by the Open311 name it comes in as.
_LONGEST = {"address_string": 500, "address_id": 200, "description": 4000, "media_url": 2000}
_REPORTER_LONGEST = {"first_name": 200, "last_name": 200, "email": 320, "phone": 50, "device_id": 200,
                     "account_id": 200}  # fmt: skip


def _check_text(submission: Submission) -> None:
    """Every text field within its length and free of NUL characters; BadParameter naming the field."""
    given = {"address_string": submission.address, "address_id": submission.address_id,
             "description": submission.description, "media_url": submission.media_url}  # fmt: skip
    given |= {name: getattr(submission.reporter, name) for name in _REPORTER_LONGEST}
    for name, value in given.items():
        if value is None:
            continue
        longest = _LONGEST.get(name) or _REPORTER_LONGEST[name]
        if len(value) > longest:
            raise BadParameter(f"{name}: longer than {longest:,} characters")
        if "\x00" in value:
            raise BadParameter(f"{name}: contains a NUL character")
    for code, answer in submission.attributes.items():
        if any("\x00" in v for v in (answer if isinstance(answer, list) else [answer])):
            raise BadParameter(f"attribute[{code}]: contains a NUL character")


def _check_location(submission: Submission) -> None:
    if (submission.lat is None) != (submission.lon is None):
        raise BadParameter("lat, long: send both or neither")
    if submission.lat is not None and submission.lon is not None:
        if not (math.isfinite(submission.lat) and -90 <= submission.lat <= 90):
            raise BadParameter(f"lat: {submission.lat} is not a latitude")
        if not (math.isfinite(submission.lon) and -180 <= submission.lon <= 180):
            raise BadParameter(f"long: {submission.lon} is not a longitude")
    elif not submission.address and not submission.address_id:
        raise BadParameter("lat, long, address_string, address_id: a location is needed (one of them)")


def _deadline(
    catalog: Catalog, service: Service, attributes: Mapping[str, str | list[str]], now: dt.datetime
) -> dt.datetime | None:
    if service.kind is Kind.PERMIT:
        until = attributes.get("until")
        if isinstance(until, str):
            return parse_instant(until)
        return None
    local = now.astimezone(ZoneInfo(catalog.timezone))
    return catalog.calendar.add_working_days(local, service.deadline_days).astimezone(dt.UTC)


def _duplicate_of(session: Session, service: Service, submission: Submission) -> int | None:
    """The open ticket of the same service nearest the new one within the service's radius (the first of a
    chain: a duplicate of a duplicate links to the original)."""
    radius = service.duplicate_radius_m
    if not radius or submission.lat is None or submission.lon is None:
        return None
    lat, lon = submission.lat, submission.lon
    degrees_lat = radius / _METRES_PER_DEGREE
    degrees_lon = degrees_lat / max(math.cos(math.radians(lat)), 0.01)
    near = [
        r for r in open_near(session, service.code, lat, lon, degrees_lat, degrees_lon) if r.lat is not None
    ]
    if not near:
        return None
    distance = haversine_m(
        np.full(len(near), lat), np.full(len(near), lon),
        np.array([r.lat for r in near]), np.array([r.lon for r in near]),
    )  # fmt: skip
    best = int(np.argmin(distance))
    if distance[best] > radius:
        return None
    return near[best].duplicate_of or near[best].id


def _service_notice(catalog: Catalog, routed_to: str, expected: dt.datetime | None) -> str:
    if expected is None:
        return f"Forwarded to {routed_to}."
    local = expected.astimezone(ZoneInfo(catalog.timezone))
    return f"Forwarded to {routed_to}; an answer is due by {local:%Y-%m-%d %H:%M} ({catalog.timezone})."
