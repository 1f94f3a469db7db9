"""Signed tree heads: the ledger's size and Merkle root at a moment, signed with Ed25519 (pure).

A checkpoint kept outside the system (by an auditor) pins the first `tree_size` events: any later change to
them, and removing events up to that size, no longer matches it. The signed message is the canonical JSON of
the head (origin, tree_size, root_hash, at, key_id); the exported file adds the signature and the public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from transit.ledger.canonical import canonical_json

__all__ = ["ORIGIN", "Checkpoint", "from_export", "key_id", "sign_head", "signed_by", "to_export"]

ORIGIN = "transit-compliance ledger v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed head: `root_hash` (hex) of the first `tree_size` events, at `at`, by key `key_id`."""

    tree_size: int
    root_hash: str
    at: dt.datetime
    key_id: str
    signature: str  # base64 of the Ed25519 signature over `message()`

    def message(self) -> bytes:
        """The bytes that are signed."""
        return _message(self.tree_size, self.root_hash, self.at, self.key_id)


def _message(tree_size: int, root_hash: str, at: dt.datetime, key: str) -> bytes:
    when = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return canonical_json(
        {"origin": ORIGIN, "tree_size": tree_size, "root_hash": root_hash, "at": when, "key_id": key}
    )


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def sign_head(key: Ed25519PrivateKey, tree_size: int, root: bytes, at: dt.datetime) -> Checkpoint:
    """The checkpoint of a tree of `tree_size` events with Merkle root `root`, signed now (`at`)."""
    name = key_id(key.public_key())
    signature = key.sign(_message(tree_size, root.hex(), at, name))
    return Checkpoint(
        tree_size, root.hex(), at.astimezone(dt.UTC), name, base64.b64encode(signature).decode()
    )


def signed_by(checkpoint: Checkpoint, key: Ed25519PublicKey) -> bool:
    """Whether `key` signed exactly this checkpoint."""
    if checkpoint.key_id != key_id(key):
        return False
    try:
        key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def to_export(checkpoint: Checkpoint, key: Ed25519PublicKey) -> str:
    """The JSON text an auditor keeps: the head, its signature and the public key that made it."""
    head: dict[str, Any] = json.loads(checkpoint.message())
    head["signature"] = checkpoint.signature
    head["public_key"] = base64.b64encode(public_bytes(key)).decode()
    return json.dumps(head, indent=2) + "\n"


def from_export(text: str) -> tuple[Checkpoint, Ed25519PublicKey]:
    """A checkpoint read back from `to_export`'s text; ValueError naming what is wrong."""
    try:
        head = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(head, dict):
        raise ValueError("not a checkpoint (a JSON object is expected)")
    fields = ("origin", "tree_size", "root_hash", "at", "key_id", "signature", "public_key")
    missing = [name for name in fields if name not in head]
    if missing:
        raise ValueError(f"field {missing[0]!r} is missing")
    if head["origin"] != ORIGIN:
        raise ValueError(f"field 'origin' is {head['origin']!r}, not this ledger's {ORIGIN!r}")
    if not isinstance(head["tree_size"], int) or head["tree_size"] < 0:
        raise ValueError("field 'tree_size' must be a whole number of events")
    try:
        at = dt.datetime.strptime(head["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(head["public_key"], validate=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"field 'at' or 'public_key' is malformed ({exc})") from exc
    return Checkpoint(
        head["tree_size"], str(head["root_hash"]), at, str(head["key_id"]), head["signature"]
    ), public
