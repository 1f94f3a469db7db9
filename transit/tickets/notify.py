"""Tickets' notices (ADAPTER): queued in the same outbox as carriers' notices (contracts/outbox.py), as a
stored HTML document and a `notice_queued` ledger event naming the channels and their targets. A reporter's
target is `reporter:<ticket id>`, looked up at delivery, so that no e-mail or phone enters the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from collections.abc import Mapping

from sqlalchemy.orm import Session

from transit.contracts.notices import Notice
from transit.contracts.state import NOTICE_QUEUED
from transit.contracts.store import add_document
from transit.ledger.chain import Draft

SYSTEM = "system"


def queue_notice(
    session: Session,
    notice_id: str,
    kind: str,
    recipient: str,
    targets: Mapping[str, str],
    title: str,
    lines: list[str],
    ticket_id: int,
    at: dt.datetime,
) -> Draft:
    """Store the notice's document and return its `notice_queued` event for the caller to append."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    sha256 = hashlib.sha256(document.encode("utf-8")).hexdigest()
    add_document(session, Notice(notice_id, kind, "en", document, sha256), recipient, None, at)
    payload = {
        "notice_id": notice_id,
        "kind": kind,
        "carrier_id": recipient,
        "contract_id": None,
        "language": "en",
        "document_sha256": sha256,
        "channels": sorted(targets),
        "targets": dict(targets),
        "ticket_id": ticket_id,
    }
    return Draft(SYSTEM, NOTICE_QUEUED, f"ticket:{ticket_id}", payload)
