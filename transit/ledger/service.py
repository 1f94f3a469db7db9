"""Ledger use cases: sign a head, verify everything, record a refused attempt. The caller owns the session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from transit.errors import TransitError
from transit.ledger.chain import Draft, Event, walk_chain
from transit.ledger.checkpoint import Checkpoint, sign_head
from transit.ledger.store import add_checkpoint, append_events, iter_events, list_checkpoints
from transit.ledger.verify import Verification, verify_ledger


class LedgerDamaged(TransitError):
    """The stored ledger does not verify."""


PROTOCOL = "protocol"  # the kind of event that records a refused attempt to change or remove something


def make_checkpoint(session: Session, key: Ed25519PrivateKey, at: dt.datetime) -> Checkpoint:
    """Sign the ledger's current head and keep it; the caller commits. A ledger whose chain is broken is
    not signed: a head would vouch for the damage."""
    walk = walk_chain(iter_events(session))
    if walk.problems:
        first = walk.problems[0]
        raise LedgerDamaged(f"the ledger is damaged at event {first.seq} ({first.message}); not signing it")
    head = sign_head(key, walk.size, walk.root, at)
    add_checkpoint(session, head)
    return head


def verify(
    session: Session, key: Ed25519PublicKey | None, exported: Checkpoint | None = None
) -> Verification:
    """Verify the stored ledger against its stored heads and, if given, an auditor's exported head."""
    return verify_ledger(iter_events(session), list_checkpoints(session), key, exported)


def refuse(
    session: Session, actor: str, attempted: str, subject: str, at: dt.datetime, **details: Any
) -> Event:
    """Record that `actor` tried to change or remove `subject` (`attempted`: what they asked) and was refused.

    The caller commits, then tells the actor: the refusal is the answer, the protocol is its record.
    """
    draft = Draft(actor, PROTOCOL, subject, {"attempted": attempted, "refused": True, **details})
    return append_events(session, [draft], at)[0]
