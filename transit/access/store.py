"""API keys in the database (ADAPTER): one row per key, found by the SHA-256 of its secret.

Creating, revoking and rotating a key are ledger events (configuration changes, with who did it); the row
keeps the key's current state for the per-request lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.access.model import Principal, Role, hash_secret, new_key_id, new_secret
from transit.db import Base, UTCDateTime
from transit.errors import BadParameter, TransitError
from transit.ledger.chain import Draft
from transit.ledger.store import append_events

KEY_CREATED, KEY_REVOKED = "api_key_created", "api_key_revoked"


class KeyNotFound(TransitError):
    """No API key has that id."""


class ApiKeyRow(Base):
    """One API key: its hash (never the secret), role, owner and, for a carrier key, its carrier."""

    __tablename__ = "api_key"

    key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    owner_name: Mapped[str] = mapped_column(String(200))
    owner_staff_id: Mapped[str | None] = mapped_column(String(100))
    owner_contact: Mapped[str | None] = mapped_column(String(200))
    carrier_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    replaced_by: Mapped[str | None] = mapped_column(String(20))  # the key a rotation made


@dataclass(frozen=True, slots=True)
class Owner:
    """Whom a key belongs to: a person (name, staff id) or, for a carrier, its contact."""

    name: str
    staff_id: str | None = None
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: its secret is shown now and never again."""

    key_id: str
    secret: str
    principal: Principal


def to_principal(row: ApiKeyRow) -> Principal:
    return Principal(
        row.key_id, Role(row.role), row.owner_name, row.owner_staff_id, row.owner_contact, row.carrier_id
    )


def find_principal(session: Session, secret: str) -> Principal | None:
    """The principal of a live key with this secret, or None (unknown or revoked): one indexed lookup."""
    row = session.scalars(
        select(ApiKeyRow).where(
            ApiKeyRow.secret_sha256 == hash_secret(secret), ApiKeyRow.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else to_principal(row)


def create_key(
    session: Session, role: Role, owner: Owner, carrier_id: str | None, actor: str, at: dt.datetime
) -> IssuedKey:
    """Make a key; the caller commits. A carrier key needs its carrier, and only a carrier key has one."""
    if not owner.name.strip():
        raise BadParameter("--owner: empty; a key belongs to a person (or a carrier's contact)")
    if role is Role.CARRIER and not carrier_id:
        raise BadParameter("--carrier: a carrier key needs the carrier it may see")
    if role is not Role.CARRIER and carrier_id:
        raise BadParameter(f"--carrier: only a carrier key is bound to a carrier, not a {role} key")
    secret, key_id = new_secret(), new_key_id()
    row = ApiKeyRow(
        key_id=key_id,
        secret_sha256=hash_secret(secret),
        role=str(role),
        owner_name=owner.name.strip(),
        owner_staff_id=owner.staff_id,
        owner_contact=owner.contact,
        carrier_id=carrier_id,
        created_at=at,
        created_by=actor,
    )
    session.add(row)
    payload = {
        "key_id": key_id,
        "role": str(role),
        "owner_name": row.owner_name,
        "owner_staff_id": owner.staff_id,
        "owner_contact": owner.contact,
        "carrier_id": carrier_id,
    }
    append_events(session, [Draft(actor, KEY_CREATED, f"api_key:{key_id}", payload)], at)
    return IssuedKey(key_id, secret, to_principal(row))


def get_key(session: Session, key_id: str) -> ApiKeyRow:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise KeyNotFound(f"no API key {key_id!r} (see `transit keys list`)")
    return row


def revoke_key(session: Session, key_id: str, actor: str, at: dt.datetime, why: str = "revoked") -> ApiKeyRow:
    """Revoke a key for good; revoking a revoked key is refused. The caller commits."""
    row = get_key(session, key_id)
    if row.revoked_at is not None:
        raise BadParameter(f"API key {key_id} was revoked already, at {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    row.revoked_at, row.revoked_by = at, actor
    draft = Draft(actor, KEY_REVOKED, f"api_key:{key_id}", {"key_id": key_id, "why": why})
    append_events(session, [draft], at)
    return row


def rotate_key(session: Session, key_id: str, actor: str, at: dt.datetime) -> IssuedKey:
    """A new key with the same role, owner and carrier; the old one is revoked. The caller commits."""
    old = get_key(session, key_id)
    owner = Owner(old.owner_name, old.owner_staff_id, old.owner_contact)
    issued = create_key(session, Role(old.role), owner, old.carrier_id, actor, at)
    revoke_key(session, key_id, actor, at, why=f"rotated to {issued.key_id}")
    old.replaced_by = issued.key_id
    return issued


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)))
