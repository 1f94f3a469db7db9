"""Feed versions in the real databases: one version per content, the feed in force, aware UTC instants."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import FixedClock
from transit.db import make_engine, make_session_factory
from transit.errors import FeedNotFound
from transit.gtfs.load import load_feed
from transit.gtfs.service import load_feed_in_force, store_feed
from transit.gtfs.store import find_feed_in_force, list_feed_versions

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "gtfs" / "tiny"
LOADED_AT = dt.datetime(2026, 11, 29, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def zip_of(folder: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for child in sorted(folder.iterdir(), reverse=True):  # another member order than the folder's
            archive.write(child, prefix + child.name)
    return out


def test_the_same_content_as_folder_or_zip_is_one_version(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = FixedClock(LOADED_AT)
    first = store_feed(sessions, TINY, clock)
    second = store_feed(sessions, zip_of(TINY, tmp_path / "tiny.zip"), clock)
    assert first.created and not second.created
    assert second.version.id == first.version.id
    with sessions() as session:
        assert len(list_feed_versions(session)) == 1


def test_stored_version_keeps_agencies_validity_and_an_aware_load_time(
    sessions: sessionmaker[Session],
) -> None:
    stored = store_feed(sessions, TINY, FixedClock(LOADED_AT)).version
    with sessions() as session:
        [version] = list_feed_versions(session)
    assert version == stored
    assert version.loaded_at == LOADED_AT and version.loaded_at.tzinfo is not None
    assert (version.valid_from, version.valid_to) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert [a.carrier_id for a in version.agencies] == ["AP1", "AP2"]
    assert version.trip_count == 5


def test_no_feed_in_force_outside_every_validity(sessions: sessionmaker[Session]) -> None:
    store_feed(sessions, TINY, FixedClock(LOADED_AT))
    with sessions() as session:
        assert find_feed_in_force(session, dt.date(2025, 12, 31)) is None
        assert find_feed_in_force(session, dt.date(2026, 12, 31)) is not None
    with pytest.raises(FeedNotFound, match="2027-01-01"):
        load_feed_in_force(sessions, dt.date(2027, 1, 1))


def test_the_stored_archive_rebuilds_the_same_day_plan(sessions: sessionmaker[Session]) -> None:
    store_feed(sessions, TINY, FixedClock(LOADED_AT))
    _version, stored = load_feed_in_force(sessions, dt.date(2026, 12, 24))
    direct = load_feed(TINY)
    day = dt.date(2026, 12, 24)
    assert stored.day_plan(day).equals(direct.day_plan(day))
    assert stored.content_sha256 == direct.content_sha256


def test_reloading_an_earlier_feed_puts_it_back_in_force(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for child in TINY.iterdir():
        (other / child.name).write_bytes(child.read_bytes())
    (other / "routes.txt").write_text(
        (TINY / "routes.txt").read_text(encoding="utf-8").replace("Centre - Station", "Centre - New Station"),
        encoding="utf-8",
    )
    first = store_feed(sessions, TINY, FixedClock(LOADED_AT)).version
    second = store_feed(sessions, other, FixedClock(LOADED_AT + dt.timedelta(hours=1))).version
    day = dt.date(2026, 6, 1)
    with sessions() as session:
        assert find_feed_in_force(session, day) == second
    again = store_feed(sessions, TINY, FixedClock(LOADED_AT + dt.timedelta(hours=2)))
    assert not again.created and again.version.id == first.id
    with sessions() as session:
        in_force = find_feed_in_force(session, day)
    assert in_force is not None and in_force.id == first.id
