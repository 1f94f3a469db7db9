"""Verify the whole ledger: the chain, the stored signed heads, and an auditor's exported head (pure).

The chain catches an event changed, removed or reordered in the middle; the signed heads catch what the chain
cannot: the newest events removed (a head covers more events than are left) or the whole chain rewritten
consistently (a head's root no longer matches). The first bad sequence number is named; for a rewritten
chain it is the first event after the last head that still matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transit.ledger.chain import Event, Problem, walk_chain
from transit.ledger.checkpoint import Checkpoint, key_id, signed_by

__all__ = ["Verification", "verify_ledger"]


@dataclass(slots=True)
class Verification:
    """What `verify_ledger` found."""

    size: int = 0
    heads_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return min(p.seq for p in self.problems) if self.problems else None


def verify_ledger(
    events: Iterable[Event],
    stored: Sequence[Checkpoint],
    key: Ed25519PublicKey | None,
    exported: Checkpoint | None = None,
) -> Verification:
    """Check `events` (in stored order), every stored head signed by `key`, and `exported` (an auditor's).

    Without a key there must be no heads to check (ValueError): an unchecked signature proves nothing.
    """
    if key is None and (stored or exported is not None):
        raise ValueError("signed heads need the public key to be checked")
    heads = [(head, "stored head") for head in stored]
    if exported is not None:
        heads.append((exported, "exported head"))
    walk = walk_chain(events, {head.tree_size for head, _ in heads})
    found = Verification(walk.size, 0, list(walk.problems))
    good = 0  # the largest size a head confirmed so far
    for head, name in sorted(heads, key=lambda h: h[0].tree_size):
        found.heads_checked += 1
        when = f"{name} of {head.tree_size} events signed {head.at:%Y-%m-%d %H:%M:%S} UTC"
        if key is None or not signed_by(head, key):
            why = "by another key" if key is None or head.key_id != key_id(key) else "with a bad signature"
            found.problems.append(Problem(head.tree_size, f"the {when} is signed {why}"))
        elif head.tree_size > walk.size:
            found.problems.append(
                Problem(
                    walk.size + 1,
                    f"events {walk.size + 1}..{head.tree_size} were removed: the {when} holds them",
                )
            )
        elif head.tree_size and walk.roots.get(head.tree_size, b"").hex() != head.root_hash:
            # Where the chain already shows damage in the range, that is where it starts; a chain rewritten
            # consistently shows none, and then the head only says: after the last head that still matches.
            broken = [p.seq for p in walk.problems if good < p.seq <= head.tree_size]
            start = min(broken, default=good + 1)
            found.problems.append(
                Problem(start, f"events {good + 1}..{head.tree_size} differ from the {when}")
            )
        else:
            good = max(good, head.tree_size)
    found.problems.sort(key=lambda p: p.seq)
    return found
