"""Who calls the API (pure): roles, the principal behind an API key, and the key's secret.

A key is 256 random bits shown once; the service keeps only its SHA-256, so checking a key is one indexed
lookup of a hash (a slow password hash would be pointless against 256 random bits, and would cost
milliseconds per request).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

SECRET_PREFIX = "trk_"  # makes a leaked key recognisable to secret scanners


class Role(StrEnum):
    """The user groups of the service (DESIGN section 1)."""

    DEPARTMENT = "department"  # the transport department: everything, rules disputes, grants exemptions
    CARRIER = "carrier"  # one carrier: its own record only
    PLANNER = "planner"  # feeds, day plans, route analysis
    INTAKE = "intake"  # the 109 hotline system: files tickets
    AUDITOR = "auditor"  # reads and verifies the ledger


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid key: its role, the person (or carrier contact) it belongs to, its carrier."""

    key_id: str
    role: Role
    owner_name: str
    owner_staff_id: str | None = None
    owner_contact: str | None = None
    carrier_id: str | None = None  # set exactly for the carrier role

    @property
    def actor(self) -> str:
        """How the ledger names whoever acts with this key: the person, not just the key."""
        who = self.owner_name + (f" #{self.owner_staff_id}" if self.owner_staff_id else "")
        return f"key:{self.key_id} ({self.role}: {who})"


def new_secret() -> str:
    """A fresh key: the prefix and 256 random bits, URL-safe."""
    return SECRET_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def new_key_id() -> str:
    """A short public name for a key (what `transit keys list` shows and `revoke` takes)."""
    return "k" + secrets.token_hex(5)


def hash_secret(secret: str) -> str:
    """The stored form of a key: hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
