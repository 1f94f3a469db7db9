"""Notice documents in the database (ADAPTER): append-only, one row per notice, its hash in the ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from transit.contracts.notices import Notice
from transit.db import Base, UTCDateTime


class NoticeDocumentRow(Base):
    """The document of one notice, exactly as sent (its SHA-256 is in the ledger's notice_queued event)."""

    __tablename__ = "notice_document"

    notice_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    carrier_id: Mapped[str] = mapped_column(String(200), index=True)
    contract_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    html: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


def add_document(
    session: Session, notice: Notice, carrier_id: str, contract_id: str | None, at: dt.datetime
) -> None:
    """Keep a notice's document; the caller commits."""
    session.add(
        NoticeDocumentRow(
            notice_id=notice.notice_id,
            kind=notice.kind,
            carrier_id=carrier_id,
            contract_id=contract_id,
            language=notice.language,
            created_at=at,
            html=notice.html,
            sha256=notice.sha256,
        )
    )


def find_document(session: Session, notice_id: str) -> NoticeDocumentRow | None:
    """The stored document of a notice, or None."""
    return session.scalars(select(NoticeDocumentRow).where(NoticeDocumentRow.notice_id == notice_id)).first()
