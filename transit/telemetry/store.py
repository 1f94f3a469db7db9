"""Pings, dead letters and the ingest's own health in the database (ADAPTER).

Inserts are idempotent on (vehicle_id, timestamp): a redelivered or duplicated ping is stored once. On
PostgreSQL a batch goes through COPY into a temporary table and one INSERT … ON CONFLICT DO NOTHING; on
SQLite through INSERT OR IGNORE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Float, Index, Integer, LargeBinary, String, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.db import Base, UTCDateTime
from transit.telemetry.model import PING_FIELDS, Ping


class PingRow(Base):
    __tablename__ = "ping"

    vehicle_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    trip_id: Mapped[str | None] = mapped_column(String(200))
    route_id: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[str | None] = mapped_column(String(8))
    start_time: Mapped[str | None] = mapped_column(String(9))
    bearing: Mapped[float | None] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)
    carrier_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    worker_id: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_ping_timestamp", "timestamp"),)


class DeadLetterRow(Base):
    """A rejected message; its `fingerprint` (topic, payload, reason, detail) makes redelivery idempotent."""

    __tablename__ = "dead_letter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    worker_id: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(50), index=True)
    detail: Mapped[str] = mapped_column(String(1000))
    vehicle_id: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class IngestIntervalRow(Base):
    """When a worker was connected to the broker, and when it was storing: heartbeats extend `ended_at`."""

    __tablename__ = "ingest_interval"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # "connected" | "storing"
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message (or one ping of it) that could not be used, as stored."""

    received_at: dt.datetime
    topic: str
    reason: str
    detail: str
    vehicle_id: str | None
    payload: bytes

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (self.topic.encode(), self.payload, self.reason.encode(), self.detail.encode()):
            digest.update(len(part).to_bytes(8, "big") + part)
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class IngestInterval:
    worker_id: str
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime


_PING_COLUMNS = (
    "vehicle_id", "timestamp", "latitude", "longitude", "trip_id", "route_id", "start_date", "start_time",
    "bearing", "speed", "carrier_id", "received_at", "worker_id",
)  # fmt: skip


def add_pings(session: Session, pings: Sequence[Ping], received_at: dt.datetime, worker_id: str) -> int:
    """Store pings, skipping any already stored (same vehicle and timestamp); returns how many were new."""
    if not pings:
        return 0
    rows = [
        (
            p.vehicle_id,
            p.timestamp.astimezone(dt.UTC),
            p.latitude,
            p.longitude,
            p.trip_id,
            p.route_id,
            p.start_date,
            p.start_time,
            p.bearing,
            p.speed,
            p.carrier_id,
            received_at,
            worker_id,
        )  # fmt: skip
        for p in pings
    ]
    if session.get_bind().dialect.name == "postgresql":
        return _copy_pings(session, rows)
    return _count_changes(
        session,
        lambda: session.execute(
            sqlite_insert(PingRow).on_conflict_do_nothing(),
            [dict(zip(_PING_COLUMNS, row, strict=True)) for row in rows],
        ),
    )


def _count_changes(session: Session, write: Callable[[], object]) -> int:
    """Rows a write inserted on SQLite, whose executemany rowcount is not reliable."""
    connection = session.connection()
    before = int(connection.exec_driver_sql("SELECT total_changes()").scalar_one())
    write()
    return int(connection.exec_driver_sql("SELECT total_changes()").scalar_one()) - before


def _copy_pings(session: Session, rows: Sequence[tuple[object, ...]]) -> int:
    """COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING (PostgreSQL)."""
    connection = session.connection()
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS ping_batch (LIKE ping INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
    )
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("the session's connection has no driver connection")
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ping_batch ({', '.join(_PING_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    columns = ", ".join(_PING_COLUMNS)
    result = connection.execute(
        text(
            f"INSERT INTO ping ({columns}) SELECT {columns} FROM ping_batch "
            "ON CONFLICT (vehicle_id, timestamp) DO NOTHING"
        )
    )
    return int(result.rowcount or 0)


def add_dead_letters(session: Session, letters: Sequence[DeadLetter], worker_id: str) -> int:
    """Store rejected messages, once however often the broker redelivers them; returns how many were new."""
    if not letters:
        return 0
    rows = [
        {
            "fingerprint": d.fingerprint,
            "received_at": d.received_at,
            "worker_id": worker_id,
            "topic": _printable(d.topic)[:500],
            "reason": d.reason,
            "detail": _printable(d.detail)[:1000],
            "vehicle_id": None if d.vehicle_id is None else _printable(d.vehicle_id)[:100],
            "payload": d.payload,
        }
        for d in letters
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(DeadLetterRow).on_conflict_do_nothing(index_elements=["fingerprint"])
    return len(session.execute(statement.returning(DeadLetterRow.id), rows).all())


def _printable(text: str) -> str:
    """Text a database column takes: PostgreSQL refuses NUL, so control characters are escaped."""
    return "".join(ch if ord(ch) >= 32 else f"\\x{ord(ch):02x}" for ch in text)


def extend_interval(
    session: Session, worker_id: str, kind: str, started_at: dt.datetime, now: dt.datetime
) -> None:
    """Open the interval (worker, kind, started_at) or move its end to `now`: a heartbeat."""
    values = {"worker_id": worker_id, "kind": kind, "started_at": started_at, "ended_at": now}
    if session.get_bind().dialect.name == "postgresql":
        statement = pg_insert(IngestIntervalRow).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["worker_id", "kind", "started_at"], set_={"ended_at": statement.excluded.ended_at}
        )
        session.execute(statement)
        return
    updated = session.execute(
        update(IngestIntervalRow)
        .where(
            IngestIntervalRow.worker_id == worker_id,
            IngestIntervalRow.kind == kind,
            IngestIntervalRow.started_at == started_at,
        )
        .values(ended_at=now)
    )
    if not getattr(updated, "rowcount", 0):
        session.add(IngestIntervalRow(**values))


def list_intervals(session: Session, kind: str, start: dt.datetime, end: dt.datetime) -> list[IngestInterval]:
    """Intervals of `kind` that overlap [start, end], of every worker, by start."""
    rows = session.scalars(
        select(IngestIntervalRow)
        .where(
            IngestIntervalRow.kind == kind,
            IngestIntervalRow.started_at <= end,
            IngestIntervalRow.ended_at >= start,
        )
        .order_by(IngestIntervalRow.started_at)
    )
    return [IngestInterval(r.worker_id, r.kind, r.started_at, r.ended_at) for r in rows]


def count_pings(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PingRow)) or 0)


def count_dead_letters_by_reason(session: Session) -> dict[str, int]:
    rows = session.execute(select(DeadLetterRow.reason, func.count()).group_by(DeadLetterRow.reason))
    return {reason: int(count) for reason, count in rows}


def list_pings(session: Session, start: dt.datetime, end: dt.datetime) -> list[Ping]:
    """Stored pings with timestamp in [start, end), ordered by vehicle then time."""
    rows = session.scalars(
        select(PingRow)
        .where(PingRow.timestamp >= start, PingRow.timestamp < end)
        .order_by(PingRow.vehicle_id, PingRow.timestamp)
    )
    return [
        Ping(
            r.vehicle_id,
            r.timestamp,
            r.latitude,
            r.longitude,
            r.trip_id,
            r.route_id,
            r.start_date,
            r.start_time,
            r.bearing,
            r.speed,
            r.carrier_id,
        )  # fmt: skip
        for r in rows
    ]


def pings_frame(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    fresh_since: tuple[dt.datetime, dt.datetime] | None = None,
) -> pd.DataFrame:
    """Stored pings with timestamp in [start, end) as a ping frame (PING_FIELDS columns, UTC timestamps).

    `fresh_since` = (read_to, received_since): only those with a timestamp from read_to on (not read yet)
    or received from received_since on (late pings for earlier times); a reader that read up to read_to
    before passes what it read then, less a margin for transactions that commit late.
    """
    columns = [getattr(PingRow, field) for field in PING_FIELDS]
    query = select(*columns).where(PingRow.timestamp >= start, PingRow.timestamp < end)
    if fresh_since is not None:
        read_to, received_since = fresh_since
        query = query.where((PingRow.timestamp >= read_to) | (PingRow.received_at >= received_since))
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(PING_FIELDS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    for field in ("latitude", "longitude", "bearing", "speed"):
        frame[field] = pd.to_numeric(frame[field]).astype(float)
    return frame


def newest_receipt(session: Session) -> dt.datetime | None:
    """When the newest stored ping was received (None: none stored)."""
    return session.scalar(select(func.max(PingRow.received_at)))


def latest_positions(session: Session, since: dt.datetime) -> list[PingRow]:
    """Each vehicle's newest ping at or after `since` (one row per vehicle, by vehicle_id)."""
    newest = (
        select(PingRow.vehicle_id, func.max(PingRow.timestamp).label("at"))
        .where(PingRow.timestamp >= since)
        .group_by(PingRow.vehicle_id)
        .subquery()
    )
    query = (
        select(PingRow)
        .join(newest, (PingRow.vehicle_id == newest.c.vehicle_id) & (PingRow.timestamp == newest.c.at))
        .order_by(PingRow.vehicle_id)
    )
    return list(session.scalars(query))
