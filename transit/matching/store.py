"""Verdicts in the database (ADAPTER): append-only, one row per decision, each a ledger-ready event.

A trip instance (service_date, trip_id, start_time, feed version) gets revision 1 (`verdict_final`) when it
is first decided. Deciding it again with the same outcome and evidence stores nothing; with a different
one, before the cut-off (the end of the next service day, local time), a new revision (`verdict_revised`)
that names the one it replaces; after the cut-off nothing is stored and the attempt is counted: only a
dispute changes an outcome then (DESIGN.md section 5). Rows are never updated or deleted; the current
verdict is the highest revision. Each row keeps its canonical JSON payload and its SHA-256, which the
ledger chains: every stored row is also a ledger event (kind verdict_final or verdict_revised).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.db import Base, UTCDateTime
from transit.ledger.canonical import canonical_json
from transit.ledger.chain import Draft
from transit.ledger.store import append_events
from transit.render import frame_to_records

EVENT_FINAL = "verdict_final"
EVENT_REVISED = "verdict_revised"
PAYLOAD_FIELDS = (
    "service_date", "trip_id", "start_time", "end_time", "start_at", "end_at", "route_id", "agency_id",
    "carrier_id", "verdict", "reason", "vehicle_ids", "coverage", "lost_distance_m", "first_ping_at",
    "last_ping_at", "stops_reached", "stops_total",
)  # fmt: skip


class VerdictRow(Base):
    """One decision about one trip instance (see the module docstring)."""

    __tablename__ = "verdict"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_date: Mapped[dt.date] = mapped_column(Date)
    trip_id: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[str] = mapped_column(String(9))
    feed_version_id: Mapped[int] = mapped_column(ForeignKey("feed_version.id"))
    revision: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    route_id: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(String(200))
    carrier_id: Mapped[str | None] = mapped_column(String(200))
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    coverage: Mapped[float] = mapped_column(Float)
    lost_distance_m: Mapped[float | None] = mapped_column(Float)
    vehicle_ids: Mapped[str | None] = mapped_column(String(1000))
    first_ping_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_ping_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    stops_reached: Mapped[int | None] = mapped_column(Integer)
    stops_total: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # "batch" (transit detect --store) or "live"
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of PAYLOAD_FIELDS
    payload_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("service_date", "trip_id", "start_time", "feed_version_id", "revision"),
        Index("ix_verdict_carrier_date", "carrier_id", "service_date"),
        Index("ix_verdict_carrier_key", "carrier_id", "service_date", "trip_id", "start_time", "id"),
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """Who decides, when, and how (batch or live)."""

    decided_at: dt.datetime
    actor: str
    source: str


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing a day's verdicts did, in trip instances."""

    final: int
    revised: int
    unchanged: int
    refused_after_cutoff: int


def revision_cutoff(service_date: dt.date, timezone: str) -> dt.datetime:
    """When late data stops revising a verdict: the end of the next service day (local midnight)."""
    local = dt.datetime.combine(service_date + dt.timedelta(days=2), dt.time(0), ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


def store_verdicts(
    session: Session, feed_version_id: int, trips: pd.DataFrame, decision: Decision, timezone: str
) -> StoreResult:
    """Append the verdicts of `trips` (detect's TRIP_COLUMNS) that are new or changed (module docstring)."""
    records = frame_to_records(trips[[c for c in PAYLOAD_FIELDS if c in trips.columns]])
    latest = _latest(session, feed_version_id, {str(r["service_date"]) for r in records})
    counts = {"final": 0, "revised": 0, "unchanged": 0, "refused": 0}
    drafts = []
    for record in records:
        payload = canonical_json(record).decode("utf-8")
        digest = hashlib.sha256(payload.encode()).hexdigest()
        key = (str(record["service_date"]), str(record["trip_id"]), str(record["start_time"]))
        before = latest.get(key)
        if before is not None and before[1] == digest:
            counts["unchanged"] += 1
            continue
        service_date = dt.date.fromisoformat(key[0])
        if before is not None and decision.decided_at > revision_cutoff(service_date, timezone):
            counts["refused"] += 1
            continue
        revision = 1 if before is None else before[0] + 1
        counts["final" if before is None else "revised"] += 1
        row = _row(record, feed_version_id, revision, decision, (payload, digest))
        session.add(row)
        drafts.append(_event(row, record, digest))
    session.flush()
    append_events(session, drafts, decision.decided_at)
    return StoreResult(counts["final"], counts["revised"], counts["unchanged"], counts["refused"])


def _event(row: VerdictRow, record: dict[str, Any], digest: str) -> Draft:
    """The ledger event of a stored verdict: the verdict itself, where it came from, and its hash."""
    return Draft(
        actor=row.actor,
        kind=row.event,
        subject=f"trip:{row.service_date.isoformat()}/{row.trip_id}/{row.start_time}",
        payload={
            "verdict": record,
            "verdict_sha256": digest,
            "revision": row.revision,
            "feed_version_id": row.feed_version_id,
            "source": row.source,
        },
    )


def _latest(
    session: Session, feed_version_id: int, dates: set[str]
) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(service_date, trip_id, start_time) -> (highest revision, its payload hash), for the given dates."""
    newest = (
        select(
            VerdictRow.service_date,
            VerdictRow.trip_id,
            VerdictRow.start_time,
            func.max(VerdictRow.revision).label("revision"),
        )
        .where(VerdictRow.feed_version_id == feed_version_id)
        .where(VerdictRow.service_date.in_([dt.date.fromisoformat(d) for d in dates]))
        .group_by(VerdictRow.service_date, VerdictRow.trip_id, VerdictRow.start_time)
        .subquery()
    )
    rows = session.execute(
        select(VerdictRow.service_date, VerdictRow.trip_id, VerdictRow.start_time, VerdictRow.revision)
        .add_columns(VerdictRow.payload_sha256)
        .join(
            newest,
            (VerdictRow.service_date == newest.c.service_date)
            & (VerdictRow.trip_id == newest.c.trip_id)
            & (VerdictRow.start_time == newest.c.start_time)
            & (VerdictRow.revision == newest.c.revision),
        )
        .where(VerdictRow.feed_version_id == feed_version_id)
    )
    return {(d.isoformat(), t, s): (r, h) for d, t, s, r, h in rows}


def _row(
    record: dict[str, Any], feed_version_id: int, revision: int, decision: Decision, payload: tuple[str, str]
) -> VerdictRow:
    def instant(name: str) -> dt.datetime | None:
        value = record.get(name)
        return None if value is None else pd.Timestamp(value).to_pydatetime()

    def optional(name: str) -> Any:
        return record.get(name)

    start_at, end_at = instant("start_at"), instant("end_at")
    if start_at is None or end_at is None:
        raise ValueError(f"trip {record.get('trip_id')} has no start_at or end_at")
    return VerdictRow(
        service_date=dt.date.fromisoformat(str(record["service_date"])),
        trip_id=str(record["trip_id"]),
        start_time=str(record["start_time"]),
        feed_version_id=feed_version_id,
        revision=revision,
        event=EVENT_FINAL if revision == 1 else EVENT_REVISED,
        verdict=str(record["verdict"]),
        reason=str(record["reason"]),
        route_id=optional("route_id"),
        agency_id=optional("agency_id"),
        carrier_id=optional("carrier_id"),
        start_at=start_at,
        end_at=end_at,
        coverage=float(record.get("coverage") or 0.0),
        lost_distance_m=optional("lost_distance_m"),
        vehicle_ids=optional("vehicle_ids"),
        first_ping_at=instant("first_ping_at"),
        last_ping_at=instant("last_ping_at"),
        stops_reached=optional("stops_reached"),
        stops_total=optional("stops_total"),
        decided_at=decision.decided_at,
        actor=decision.actor,
        source=decision.source,
        payload=payload[0],
        payload_sha256=payload[1],
    )


def current_verdicts(session: Session, service_date: dt.date, feed_version_id: int) -> pd.DataFrame:
    """The current (highest revision) verdict of every stored trip instance of a day, with its revision."""
    rows = session.scalars(
        select(VerdictRow)
        .where(VerdictRow.service_date == service_date, VerdictRow.feed_version_id == feed_version_id)
        .order_by(VerdictRow.trip_id, VerdictRow.start_time, VerdictRow.revision)
    ).all()
    frame = pd.DataFrame(
        [
            {
                "trip_id": r.trip_id,
                "start_time": r.start_time,
                "revision": r.revision,
                "event": r.event,
                "verdict": r.verdict,
                "reason": r.reason,
                "carrier_id": r.carrier_id,
                "coverage": r.coverage,
                "actor": r.actor,
                "payload_sha256": r.payload_sha256,
            }  # fmt: skip
            for r in rows
        ],
        columns=[
            "trip_id",
            "start_time",
            "revision",
            "event",
            "verdict",
            "reason",
            "carrier_id",
            "coverage",
            "actor",
            "payload_sha256",
        ],  # fmt: skip
    )
    return frame.drop_duplicates(["trip_id", "start_time"], keep="last").reset_index(drop=True)


def day_verdicts(session: Session, service_date: dt.date) -> tuple[int | None, pd.DataFrame]:
    """The current verdicts of a day in full (PAYLOAD_FIELDS, revision, payload_sha256), from the newest feed
    version that has verdicts for it; (None, empty) when none are stored."""
    version = session.scalar(
        select(func.max(VerdictRow.feed_version_id)).where(VerdictRow.service_date == service_date)
    )
    columns = [*PAYLOAD_FIELDS, "revision", "payload_sha256"]
    if version is None:
        return None, pd.DataFrame(columns=columns)
    rows = session.execute(
        select(VerdictRow.trip_id, VerdictRow.start_time, VerdictRow.revision, VerdictRow.payload,
               VerdictRow.payload_sha256)
        .where(VerdictRow.service_date == service_date, VerdictRow.feed_version_id == version)
        .order_by(VerdictRow.trip_id, VerdictRow.start_time, VerdictRow.revision)
    ).all()  # fmt: skip
    records = [
        json.loads(r.payload) | {"revision": r.revision, "payload_sha256": r.payload_sha256} for r in rows
    ]
    frame = pd.DataFrame(records, columns=columns)
    return version, frame.drop_duplicates(["trip_id", "start_time"], keep="last").reset_index(drop=True)


class TripSignalRow(Base):
    """An early signal about a trip instance, at most once per kind (`not_started`: no vehicle by start + 8
    minutes). Append-only; the final verdict comes later, in `verdict`."""

    __tablename__ = "trip_signal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_date: Mapped[dt.date] = mapped_column(Date)
    trip_id: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[str] = mapped_column(String(9))
    feed_version_id: Mapped[int] = mapped_column(ForeignKey("feed_version.id"))
    kind: Mapped[str] = mapped_column(String(20))
    carrier_id: Mapped[str | None] = mapped_column(String(200))
    signalled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("service_date", "trip_id", "start_time", "feed_version_id", "kind"),)


def add_signals(
    session: Session, feed_version_id: int, signals: pd.DataFrame, kind: str, decision: Decision
) -> int:
    """Store the signals (service_date, trip_id, start_time, carrier_id) not stored before; how many."""
    if signals.empty:
        return 0
    dates = sorted({dt.date.fromisoformat(str(d)) for d in signals["service_date"]})
    stored = session.execute(
        select(TripSignalRow.service_date, TripSignalRow.trip_id, TripSignalRow.start_time).where(
            TripSignalRow.feed_version_id == feed_version_id,
            TripSignalRow.kind == kind,
            TripSignalRow.service_date.in_(dates),
        )
    )
    known: set[tuple[dt.date, str, str]] = {(row[0], row[1], row[2]) for row in stored}
    added = 0
    for record in signals.to_dict("records"):
        key = (
            dt.date.fromisoformat(str(record["service_date"])),
            str(record["trip_id"]),
            str(record["start_time"]),
        )
        if key in known:
            continue
        carrier = record.get("carrier_id")
        session.add(
            TripSignalRow(
                service_date=key[0],
                trip_id=key[1],
                start_time=key[2],
                feed_version_id=feed_version_id,
                kind=kind,
                carrier_id=None if pd.isna(carrier) else str(carrier),
                signalled_at=decision.decided_at,
                actor=decision.actor,
            )  # fmt: skip
        )
        known.add(key)
        added += 1
    session.flush()
    return added


def list_signals(session: Session, service_date: dt.date, kind: str) -> pd.DataFrame:
    """The stored signals of a kind on a service date (trip_id, start_time, carrier_id, signalled_at)."""
    rows = session.execute(
        select(
            TripSignalRow.trip_id,
            TripSignalRow.start_time,
            TripSignalRow.carrier_id,
            TripSignalRow.signalled_at,
        )
        .where(TripSignalRow.service_date == service_date, TripSignalRow.kind == kind)
        .order_by(TripSignalRow.trip_id, TripSignalRow.start_time)
    ).all()
    return pd.DataFrame(rows, columns=["trip_id", "start_time", "carrier_id", "signalled_at"])
