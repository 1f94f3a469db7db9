"""Reporters' personal data (ADAPTER): erased after the catalog's retention period, while the ticket and its
history stay. Names, e-mail, phone, device and account ids live only in `ticket_reporter` (never in the
ledger, never in a public answer); erasing sets them to NULL and records a `reporter_erased` ledger event.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from transit.ledger.chain import Draft
from transit.ledger.store import append_events
from transit.tickets.catalog import Catalog
from transit.tickets.notify import SYSTEM
from transit.tickets.store import ReporterRow, TicketRow

REPORTER_ERASED = "reporter_erased"
PERSONAL = ("first_name", "last_name", "email", "phone", "device_id", "account_id")


def erase_expired(session: Session, catalog: Catalog, now: dt.datetime) -> list[int]:
    """Erase the reporters of tickets closed more than `retention_days` before `now`; the ids of the tickets
    whose reporter was erased. The caller commits."""
    cutoff = now - dt.timedelta(days=catalog.retention_days)
    rows = session.scalars(
        select(ReporterRow)
        .join(TicketRow, TicketRow.id == ReporterRow.ticket_id)
        .where(
            ReporterRow.erased_at.is_(None), TicketRow.closed_at.is_not(None), TicketRow.closed_at < cutoff
        )
        .order_by(ReporterRow.ticket_id)
    ).all()
    drafts = []
    for row in rows:
        for name in PERSONAL:
            setattr(row, name, None)
        row.erased_at = now
        payload = {"ticket_id": row.ticket_id, "retention_days": catalog.retention_days}
        drafts.append(Draft(SYSTEM, REPORTER_ERASED, f"ticket:{row.ticket_id}", payload))
    append_events(session, drafts, now)
    return [row.ticket_id for row in rows]
