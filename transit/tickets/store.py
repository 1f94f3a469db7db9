"""Tickets in the database (ADAPTER): the ticket row (its current state), the reporter's personal data kept
apart so that it can be erased, and the notes (append-only). Every change is also a ledger event
(transit/tickets/service.py), which carries no personal data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.db import Base, UTCDateTime


class TicketRow(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_requested_at", "requested_at", "id"),
        Index("ix_ticket_updated_at", "updated_at"),
        Index("ix_ticket_open_service", "status", "service_code", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_code: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # open | closed (Open311)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(200))
    zipcode: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(String(2000))
    attributes: Mapped[str] = mapped_column(Text)  # JSON object: code -> value or list of values
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(200))  # who filed it: the intake key's owner
    escalations: Mapped[int] = mapped_column(Integer)  # ladder steps fired so far

    def attribute_values(self) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(self.attributes)
        return values


class ReporterRow(Base):
    """Who reported a ticket: personal data, never in a public answer or the ledger; erased (set to NULL)
    after the catalog's retention period."""

    __tablename__ = "ticket_reporter"

    ticket_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NoteRow(Base):
    """One entry of a ticket's history (append-only): filed, routed, a state change, a note, an escalation."""

    __tablename__ = "ticket_note"
    __table_args__ = (Index("ix_ticket_note_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    public: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Open311's GET /requests filters: ids (override everything), service codes, requested between
    `start` (inclusive) and `end` (exclusive), status; paged by id order."""

    ids: Sequence[int] = ()
    service_codes: Sequence[str] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: Sequence[str] = ()
    updated_after: dt.datetime | None = None
    offset: int = 0
    limit: int = 1000


def find_tickets(session: Session, query: TicketQuery) -> list[TicketRow]:
    statement = select(TicketRow)
    if query.ids:
        statement = statement.where(TicketRow.id.in_(list(query.ids)))
    else:
        if query.service_codes:
            statement = statement.where(TicketRow.service_code.in_(list(query.service_codes)))
        if query.start is not None:
            statement = statement.where(TicketRow.requested_at >= query.start)
        if query.end is not None:
            statement = statement.where(TicketRow.requested_at < query.end)
        if query.statuses:
            statement = statement.where(TicketRow.status.in_(list(query.statuses)))
        if query.updated_after is not None:
            statement = statement.where(TicketRow.updated_at > query.updated_after)
    statement = (
        statement.order_by(TicketRow.requested_at, TicketRow.id).offset(query.offset).limit(query.limit)
    )
    return list(session.scalars(statement))


def notes_of(session: Session, ticket_ids: Sequence[int], public_only: bool) -> dict[int, list[NoteRow]]:
    """Each ticket's notes in order (only those shown to the public with `public_only`)."""
    if not ticket_ids:
        return {}
    statement = select(NoteRow).where(NoteRow.ticket_id.in_(list(ticket_ids)))
    if public_only:
        statement = statement.where(NoteRow.public.is_(True))
    found: dict[int, list[NoteRow]] = {t: [] for t in ticket_ids}
    for row in session.scalars(statement.order_by(NoteRow.ticket_id, NoteRow.id)):
        found[row.ticket_id].append(row)
    return found


@dataclass(frozen=True, slots=True)
class Nearby:
    id: int
    lat: float | None
    lon: float | None
    duplicate_of: int | None


def open_near(
    session: Session, service_code: str, lat: float, lon: float, degrees_lat: float, degrees_lon: float
) -> list[Nearby]:
    """Open tickets of the service within a lat/lon box around (lat, lon), oldest first: only what a
    duplicate check needs."""
    statement = (
        select(TicketRow.id, TicketRow.lat, TicketRow.lon, TicketRow.duplicate_of)
        .where(
            TicketRow.status == "open",
            TicketRow.service_code == service_code,
            TicketRow.lat.between(lat - degrees_lat, lat + degrees_lat),
            TicketRow.lon.between(lon - degrees_lon, lon + degrees_lon),
        )
        .order_by(TicketRow.id)
    )
    return [Nearby(*row) for row in session.execute(statement).tuples()]


def public_notes_between(
    session: Session, start: dt.datetime, end: dt.datetime, limit: int
) -> list[tuple[NoteRow, TicketRow]]:
    """Public notes written in [start, end), with their tickets, in order (FixMyStreet's updates)."""
    statement = (
        select(NoteRow, TicketRow)
        .join(TicketRow, TicketRow.id == NoteRow.ticket_id)
        .where(NoteRow.public.is_(True), NoteRow.at >= start, NoteRow.at < end)
        .order_by(NoteRow.id)
        .limit(limit)
    )
    return [(note, ticket) for note, ticket in session.execute(statement).tuples()]
