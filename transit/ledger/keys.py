"""The ledger's Ed25519 signing key, kept in a file outside the database (ADAPTER).

The key file (TRANSIT_LEDGER_KEY_FILE) is PEM (PKCS#8), readable by its owner only. It is created on first
use, with a notice: the service must be able to sign its heads from its first event, and a lost key only
means that new heads are signed by a new one (the old heads stay checkable with the old public key).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from transit.errors import BadParameter


def load_signing_key(path: Path, *, create: bool = True) -> tuple[Ed25519PrivateKey, bool]:
    """The private key in `path`, and whether it was just created (only if `create` and it is missing)."""
    if not path.exists():
        if not create:
            raise BadParameter(f"{path}: no ledger signing key (TRANSIT_LEDGER_KEY_FILE)")
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        return key, True
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise BadParameter(f"{path}: not a PEM private key ({exc})") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise BadParameter(f"{path}: the ledger key must be Ed25519, not {type(loaded).__name__}")
    return loaded, False


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (public, or a private key whose public half is taken)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadParameter(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        if b"PRIVATE KEY" in data:
            private = load_pem_private_key(data, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return private.public_key()
        else:
            public = load_pem_public_key(data)
            if isinstance(public, Ed25519PublicKey):
                return public
    except (ValueError, TypeError) as exc:
        raise BadParameter(f"{path}: not a PEM key ({exc})") from exc
    raise BadParameter(f"{path}: not an Ed25519 key")


def public_pem(key: Ed25519PublicKey) -> str:
    """The PEM text of a public key (what auditors keep)."""
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
