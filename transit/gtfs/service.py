"""Use cases over stored feeds: load a feed as a version, and build the day plan of the feed in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import Clock
from transit.errors import FeedNotFound
from transit.gtfs.dayplan import build_agency_table
from transit.gtfs.load import LoadedFeed, load_feed, load_feed_archive
from transit.gtfs.model import FeedAgency, FeedVersion, Finding
from transit.gtfs.source import pack_members
from transit.gtfs.store import add_feed_version, find_feed_in_force, get_feed_archive
from transit.ledger.chain import Draft
from transit.ledger.store import append_events

FEED_VERSION_STORED = "feed_version_stored"


@dataclass(frozen=True, slots=True)
class StoredFeed:
    version: FeedVersion
    created: bool
    findings: list[Finding]


def store_feed(
    sessions: sessionmaker[Session], path: Path, clock: Clock, actor: str = "system"
) -> StoredFeed:
    """Validate the feed at `path` and store it as a feed version; the same content is stored once. A new
    version is a configuration event of the ledger (`feed_version_stored`, by `actor`)."""
    loaded = load_feed(path)
    version = to_feed_version(loaded, source_name=Path(path).name, loaded_at=clock.now())
    with sessions.begin() as session:
        stored, created = add_feed_version(session, version, pack_members(loaded.file_bytes))
        if created:
            payload = {
                "feed_version_id": stored.id,
                "content_sha256": stored.content_sha256,
                "source_name": stored.source_name,
                "valid_from": stored.valid_from.isoformat(),
                "valid_to": stored.valid_to.isoformat(),
                "trip_count": stored.trip_count,
            }
            draft = Draft(actor, FEED_VERSION_STORED, f"feed_version:{stored.id}", payload)
            append_events(session, [draft], clock.now())
    return StoredFeed(stored, created, loaded.findings)


def to_feed_version(loaded: LoadedFeed, source_name: str, loaded_at: dt.datetime) -> FeedVersion:
    """The version record of a loaded feed (id 0 until stored)."""
    agencies = build_agency_table(loaded.feed.agency)
    info = loaded.feed.feed_info
    label = None
    if info is not None and "feed_version" in info and pd.notna(info["feed_version"].iloc[0]):
        label = str(info["feed_version"].iloc[0])
    return FeedVersion(
        id=0,
        content_sha256=loaded.content_sha256,
        source_name=source_name,
        loaded_at=loaded_at,
        valid_from=loaded.valid_from,
        valid_to=loaded.valid_to,
        feed_version=label,
        trip_count=len(loaded.feed.trips),
        agencies=tuple(
            FeedAgency(
                carrier_id=str(r["carrier_id"]),
                agency_id=None if r["agency_id"] is None else str(r["agency_id"]),
                agency_name=str(r["agency_name"] or ""),
                agency_timezone=str(r["agency_timezone"] or ""),
            )
            for r in agencies.to_dict("records")
        ),
    )


def load_feed_in_force(
    sessions: sessionmaker[Session], service_date: dt.date
) -> tuple[FeedVersion, LoadedFeed]:
    """The stored feed version in force on `service_date`, loaded; raises FeedNotFound."""
    with sessions() as session:
        version = find_feed_in_force(session, service_date)
        if version is None:
            raise FeedNotFound(
                f"no stored feed version is in force on {service_date.isoformat()}; "
                "load one with `transit gtfs load FEED`"
            )
        archive = get_feed_archive(session, version.id)
    return version, load_feed_archive(archive, f"feed version {version.id} ({version.source_name})")
