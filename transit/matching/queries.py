"""Stored verdicts for readers (ADAPTER): filtered, paged lists of current verdicts and one trip's history.

The current verdict of a trip instance is its highest revision; a list pages by its order key
(service_date, trip_id, start_time, row id), so that a page costs an index range, however deep it is.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from transit.matching.store import VerdictRow

VerdictCursor = tuple[dt.date, str, str, int]  # service_date, trip_id, start_time, row id of the last row


@dataclass(frozen=True, slots=True)
class VerdictFilter:
    """Which current verdicts: days first..last, and optionally a route, a carrier, a verdict."""

    first: dt.date
    last: dt.date
    route_id: str | None = None
    carrier_id: str | None = None
    verdict: str | None = None


def list_verdicts(
    session: Session, where: VerdictFilter, after: VerdictCursor | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` current verdicts in (service_date, trip_id, start_time) order after the cursor; each is
    the verdict's payload (matching.store.PAYLOAD_FIELDS) with its revision, decision and cursor key."""
    query = _current(select(VerdictRow)).where(VerdictRow.service_date.between(where.first, where.last))
    for column, value in (
        (VerdictRow.route_id, where.route_id),
        (VerdictRow.carrier_id, where.carrier_id),
        (VerdictRow.verdict, where.verdict),
    ):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        day, trip, start, row_id = after
        query = query.where(
            or_(
                VerdictRow.service_date > day,
                and_(VerdictRow.service_date == day, VerdictRow.trip_id > trip),
                and_(
                    VerdictRow.service_date == day, VerdictRow.trip_id == trip, VerdictRow.start_time > start
                ),
                and_(
                    VerdictRow.service_date == day,
                    VerdictRow.trip_id == trip,
                    VerdictRow.start_time == start,
                    VerdictRow.id > row_id,
                ),
            )
        )
    query = query.order_by(
        VerdictRow.service_date, VerdictRow.trip_id, VerdictRow.start_time, VerdictRow.id
    ).limit(limit)
    return [to_record(row) for row in session.scalars(query)]


def verdict_history(
    session: Session, service_date: dt.date, trip_id: str, start_time: str
) -> list[dict[str, Any]]:
    """Every stored revision of one trip instance, oldest first (empty when none is stored)."""
    rows = session.scalars(
        select(VerdictRow)
        .where(
            VerdictRow.service_date == service_date,
            VerdictRow.trip_id == trip_id,
            VerdictRow.start_time == start_time,
        )
        .order_by(VerdictRow.feed_version_id, VerdictRow.revision)
    )
    return [to_record(row) for row in rows]


def cursor_of(record: dict[str, Any]) -> VerdictCursor:
    """The paging key of a record that `list_verdicts` returned."""
    key: VerdictCursor = record["_key"]
    return key


def to_record(row: VerdictRow) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(row.payload)
    return record | {
        "revision": row.revision,
        "event": row.event,
        "feed_version_id": row.feed_version_id,
        "decided_at": row.decided_at,
        "decided_by": row.actor,
        "source": row.source,
        "payload_sha256": row.payload_sha256,
        "_key": (row.service_date, row.trip_id, row.start_time, row.id),
    }


def _current(query: Select[Any]) -> Select[Any]:
    """Only rows that no higher revision of the same trip instance (and feed version) replaces."""
    newer = aliased(VerdictRow)
    return query.where(
        ~exists().where(
            newer.service_date == VerdictRow.service_date,
            newer.trip_id == VerdictRow.trip_id,
            newer.start_time == VerdictRow.start_time,
            newer.feed_version_id == VerdictRow.feed_version_id,
            newer.revision > VerdictRow.revision,
        )
    )
