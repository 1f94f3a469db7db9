"""Feed versions in the database (ADAPTER): stored once per content, and the feed in force on a date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from transit.db import Base, UTCDateTime
from transit.errors import FeedNotFound
from transit.gtfs.model import FeedAgency, FeedVersion


class FeedVersionRow(Base):
    __tablename__ = "feed_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source_name: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Loading the same content again makes it the latest loaded: how a city reverts to an earlier feed.
    last_loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, index=True)
    valid_to: Mapped[dt.date] = mapped_column(Date, index=True)
    feed_version: Mapped[str | None] = mapped_column(String(200))
    trip_count: Mapped[int] = mapped_column(Integer)
    archive: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    agencies: Mapped[list[FeedAgencyRow]] = relationship(
        back_populates="feed", lazy="selectin", order_by="FeedAgencyRow.carrier_id"
    )


class FeedAgencyRow(Base):
    __tablename__ = "feed_agency"

    feed_version_id: Mapped[int] = mapped_column(ForeignKey("feed_version.id"), primary_key=True)
    carrier_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    agency_id: Mapped[str | None] = mapped_column(String(200))
    agency_name: Mapped[str] = mapped_column(String(500))
    agency_timezone: Mapped[str] = mapped_column(String(100))
    feed: Mapped[FeedVersionRow] = relationship(back_populates="agencies")


def to_domain(row: FeedVersionRow) -> FeedVersion:
    return FeedVersion(
        id=row.id,
        content_sha256=row.content_sha256,
        source_name=row.source_name,
        loaded_at=row.loaded_at,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        feed_version=row.feed_version,
        trip_count=row.trip_count,
        agencies=tuple(
            FeedAgency(a.carrier_id, a.agency_id, a.agency_name, a.agency_timezone) for a in row.agencies
        ),
    )


def find_feed_version_by_hash(session: Session, content_sha256: str) -> FeedVersion | None:
    row = session.scalar(select(FeedVersionRow).where(FeedVersionRow.content_sha256 == content_sha256))
    return None if row is None else to_domain(row)


def add_feed_version(session: Session, version: FeedVersion, archive: bytes) -> tuple[FeedVersion, bool]:
    """Store a feed version unless the same content is stored already; returns (stored version, created).

    Safe against a concurrent load of the same feed: the unique content hash decides, and the loser
    gets the winner's version.
    """
    existing = find_feed_version_by_hash(session, version.content_sha256)
    if existing is not None:
        _touch(session, existing.id, version.loaded_at)
        return existing, False
    row = FeedVersionRow(
        content_sha256=version.content_sha256,
        source_name=version.source_name,
        loaded_at=version.loaded_at,
        last_loaded_at=version.loaded_at,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        feed_version=version.feed_version,
        trip_count=version.trip_count,
        archive=archive,
        agencies=[
            FeedAgencyRow(
                carrier_id=a.carrier_id,
                agency_id=a.agency_id,
                agency_name=a.agency_name,
                agency_timezone=a.agency_timezone,
            )
            for a in version.agencies
        ],
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        stored = find_feed_version_by_hash(session, version.content_sha256)
        if stored is None:
            raise
        _touch(session, stored.id, version.loaded_at)
        return stored, False
    return to_domain(row), True


def _touch(session: Session, feed_version_id: int, loaded_at: dt.datetime) -> None:
    session.execute(
        update(FeedVersionRow).where(FeedVersionRow.id == feed_version_id).values(last_loaded_at=loaded_at)
    )


def find_feed_in_force(session: Session, service_date: dt.date) -> FeedVersion | None:
    """The latest loaded version (by its last load) whose validity covers `service_date`, or None."""
    row = session.scalar(
        select(FeedVersionRow)
        .where(FeedVersionRow.valid_from <= service_date, FeedVersionRow.valid_to >= service_date)
        .order_by(FeedVersionRow.last_loaded_at.desc(), FeedVersionRow.id.desc())
        .limit(1)
    )
    return None if row is None else to_domain(row)


def get_feed_archive(session: Session, feed_version_id: int) -> bytes:
    """The stored files of a feed version; raises FeedNotFound."""
    archive = session.scalar(select(FeedVersionRow.archive).where(FeedVersionRow.id == feed_version_id))
    if archive is None:
        raise FeedNotFound(f"feed version {feed_version_id} is not stored")
    return archive


def list_feed_versions(session: Session) -> list[FeedVersion]:
    return [to_domain(r) for r in session.scalars(select(FeedVersionRow).order_by(FeedVersionRow.id))]
