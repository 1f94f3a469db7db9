"""The ledger's events: what each one holds, how it is chained to the one before, and how to check it (pure).

An event's *entry* is the canonical JSON of everything it says (sequence, time, actor, OS user, kind, subject,
payload) and the hash of the event before it; its hash is the SHA-256 of the entry, and the entry is also the
leaf of the Merkle tree (`merkle.leaf_hash`). Changing, removing or reordering any event breaks the chain at
that event; removing the newest events leaves the chain intact, and only a signed tree head taken before
(`checkpoint`) shows it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from transit.ledger.canonical import canonical_json, parse_canonical
from transit.ledger.merkle import TreeBuilder, leaf_hash

__all__ = ["GENESIS_HASH", "Draft", "Event", "Problem", "entry_bytes", "seal", "walk_chain"]

GENESIS_HASH = "0" * 64  # the "previous hash" of the first event


@dataclass(frozen=True, slots=True)
class Draft:
    """An event to append: who did what to which subject, and its data (a JSON object)."""

    actor: str  # a person (or "system" for the service's own automatic steps)
    kind: str  # e.g. verdict_final, warning_issued, protocol
    subject: str  # what it is about, e.g. "contract:C1", "trip:2026-12-01/T1/08:00:00"
    payload: dict[str, Any]
    os_user: str = ""  # the operating-system user of the process that appended it


@dataclass(frozen=True, slots=True)
class Event:
    """A sealed event as stored; `payload` is its canonical JSON text."""

    seq: int
    at: dt.datetime
    actor: str
    os_user: str
    kind: str
    subject: str
    payload: str
    prev_hash: str
    hash: str

    def data(self) -> Any:
        """The payload as a value."""
        return parse_canonical(self.payload)


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with the ledger, at which sequence number (the first one concerned)."""

    seq: int
    message: str


def _instant(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_bytes(
    seq: int, at: dt.datetime, draft: Draft, prev_hash: str, payload_text: str | None = None
) -> bytes:
    """The canonical bytes an event's hash and Merkle leaf are taken over: the canonical JSON of
    {seq, at, actor, os_user, kind, subject, payload, prev_hash}. `payload_text`, the payload's canonical
    JSON where it is at hand, is spliced in rather than encoded again."""
    payload = payload_text if payload_text is not None else canonical_json(draft.payload).decode("utf-8")
    head = canonical_json(
        {"actor": draft.actor, "at": _instant(at), "kind": draft.kind, "os_user": draft.os_user}
    ).decode("utf-8")
    tail = canonical_json({"prev_hash": prev_hash, "seq": seq, "subject": draft.subject}).decode("utf-8")
    # Keys in order: actor, at, kind, os_user | payload | prev_hash, seq, subject.
    return f'{head[:-1]},"payload":{payload},{tail[1:]}'.encode()


def event_entry(event: Event) -> bytes:
    """A stored event's entry: the bytes of its hash and of its Merkle leaf."""
    draft = Draft(event.actor, event.kind, event.subject, {}, event.os_user)
    return entry_bytes(event.seq, event.at, draft, event.prev_hash, event.payload)


def seal(draft: Draft, seq: int, at: dt.datetime, prev_hash: str) -> Event:
    """The event that `draft` becomes as number `seq`, after the event whose hash is `prev_hash`."""
    if not draft.actor.strip():
        raise ValueError("every ledger event names its actor")
    payload = canonical_json(draft.payload).decode("utf-8")
    entry = entry_bytes(seq, at, draft, prev_hash, payload)
    return Event(
        seq=seq,
        at=at.astimezone(dt.UTC),
        actor=draft.actor,
        os_user=draft.os_user,
        kind=draft.kind,
        subject=draft.subject,
        payload=payload,
        prev_hash=prev_hash,
        hash=hashlib.sha256(entry).hexdigest(),
    )


@dataclass(slots=True)
class ChainWalk:
    """The result of walking the chain: events seen, the Merkle root after each size asked for and at the
    end, problems."""

    size: int
    roots: dict[int, bytes]
    problems: list[Problem]
    root: bytes = b""


def walk_chain(events: Iterable[Event], root_sizes: Iterable[int] = ()) -> ChainWalk:
    """Check every event against the one before (sequence, canonical payload, previous hash, own hash) and
    take the Merkle root at each of `root_sizes`. Events come in stored order (by sequence number)."""
    wanted = set(root_sizes)
    tree = TreeBuilder()
    walk = ChainWalk(0, {}, [])
    prev_hash, prev_sound = GENESIS_HASH, True
    for event in _numbered(events, walk):
        _check_payload(event, walk)
        entry = event_entry(event)
        sound = hashlib.sha256(entry).hexdigest() == event.hash
        if not sound:
            walk.problems.append(Problem(event.seq, "its content does not match its hash (changed)"))
        elif event.prev_hash != prev_hash and prev_sound and event.seq > 1:
            # Both hash true to their content: the one before was rewritten and rehashed (or this one was).
            message = (
                f"event {event.seq} no longer follows it: it was rewritten and rehashed (or {event.seq} was)"
            )
            walk.problems.append(Problem(event.seq - 1, message))
        elif event.prev_hash != prev_hash:
            walk.problems.append(Problem(event.seq, "does not follow the event before it (previous hash)"))
        prev_hash, prev_sound = event.hash, sound
        tree.add(leaf_hash(entry))
        if tree.size in wanted:
            walk.roots[tree.size] = tree.root()
    walk.size, walk.root = tree.size, tree.root()
    return walk


def _numbered(events: Iterable[Event], walk: ChainWalk) -> Iterator[Event]:
    expected = 1
    for event in events:
        if event.seq != expected:
            missing = event.seq > expected
            walk.problems.append(
                Problem(
                    expected,
                    f"sequence number {expected} is missing" if missing else f"sequence {event.seq} repeats",
                )
            )
            expected = event.seq
        expected += 1
        yield event


def _check_payload(event: Event, walk: ChainWalk) -> None:
    try:
        parse_canonical(event.payload)
    except ValueError:
        walk.problems.append(Problem(event.seq, "its payload is not canonical JSON (changed)"))
