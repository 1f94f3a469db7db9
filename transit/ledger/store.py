"""The ledger in the database (ADAPTER): append events under a lock, read them back, keep signed heads.

Nothing here updates or deletes a row. Appends are serialised: on PostgreSQL by a transaction-scoped
advisory lock, so several processes can append; on SQLite the database's single writer does it, and a
race that still reaches the same sequence number fails on the primary key instead of forking the chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from collections.abc import Iterator, Sequence

from sqlalchemy import Integer, String, Text, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.db import Base, UTCDateTime
from transit.ledger.chain import GENESIS_HASH, Draft, Event, seal
from transit.ledger.checkpoint import Checkpoint

ADVISORY_LOCK = 0x7472616E73697431  # "transit1": the one lock every ledger writer takes on PostgreSQL
_READ_BATCH = 5_000


class LedgerEventRow(Base):
    """One event of the ledger (transit.ledger.chain.Event)."""

    __tablename__ = "ledger_event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    os_user: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(400), index=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LedgerCheckpointRow(Base):
    """A signed head of the ledger (transit.ledger.checkpoint.Checkpoint)."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(100))


def os_user() -> str:
    """The operating-system user running this process (recorded with every event it appends)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def append_events(session: Session, drafts: Sequence[Draft], at: dt.datetime) -> list[Event]:
    """Append `drafts` in order after the newest event, all at `at`; the caller commits."""
    if not drafts:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    last = session.execute(
        select(LedgerEventRow.seq, LedgerEventRow.hash).order_by(LedgerEventRow.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    user = os_user()
    events = []
    for draft in drafts:
        seq += 1
        event = seal(draft if draft.os_user else _with_user(draft, user), seq, at, prev_hash)
        prev_hash = event.hash
        events.append(event)
    session.execute(insert(LedgerEventRow), [dataclasses.asdict(event) for event in events])
    return events


def _with_user(draft: Draft, user: str) -> Draft:
    return Draft(draft.actor, draft.kind, draft.subject, draft.payload, user)


def iter_events(
    session: Session, *, kinds: Sequence[str] = (), subject_prefix: str = "", after_seq: int = 0
) -> Iterator[Event]:
    """Every event in sequence order (optionally of some kinds, or subjects starting with a prefix, or
    after a sequence number)."""
    columns = LedgerEventRow.__table__.c
    query = select(
        columns.seq,
        columns.at,
        columns.actor,
        columns.os_user,
        columns.kind,
        columns.subject,
        columns.payload,
        columns.prev_hash,
        columns.hash,
    ).order_by(columns.seq)
    if after_seq:
        query = query.where(columns.seq > after_seq)
    if kinds:
        query = query.where(columns.kind.in_(kinds))
    if subject_prefix:
        query = query.where(columns.subject.startswith(subject_prefix, autoescape=True))
    for row in session.execute(query.execution_options(yield_per=_READ_BATCH)):
        yield Event(*row)


def count_events(session: Session) -> int:
    """How many events the ledger holds (its newest sequence number, when nothing was removed)."""
    newest = select(LedgerEventRow.seq).order_by(LedgerEventRow.seq.desc()).limit(1)  # not every seq sent
    return int(session.execute(newest).scalar() or 0)


def add_checkpoint(session: Session, checkpoint: Checkpoint) -> None:
    """Keep a signed head; the caller commits."""
    session.add(
        LedgerCheckpointRow(
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash,
            at=checkpoint.at,
            key_id=checkpoint.key_id,
            signature=checkpoint.signature,
        )
    )
    session.flush()


def list_checkpoints(session: Session) -> list[Checkpoint]:
    """Every stored signed head, oldest first."""
    rows = session.execute(select(LedgerCheckpointRow).order_by(LedgerCheckpointRow.id)).scalars()
    return [Checkpoint(r.tree_size, r.root_hash, r.at, r.key_id, r.signature) for r in rows]
