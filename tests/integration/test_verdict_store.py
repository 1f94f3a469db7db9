"""Verdicts in the real databases: append-only decisions, idempotent re-runs, revisions until the cut-off."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import FixedClock
from transit.db import make_engine, make_session_factory
from transit.gtfs.load import load_feed
from transit.gtfs.service import store_feed
from transit.matching.detect import detect_day
from transit.matching.store import (
    EVENT_FINAL,
    EVENT_REVISED,
    Decision,
    StoreResult,
    VerdictRow,
    current_verdicts,
    revision_cutoff,
    store_verdicts,
)
from transit.synth.city import build_city
from transit.synth.write import write_city
from transit.telemetry.simulate import Faults, simulate_day

DAY = dt.date(2026, 12, 1)
ZONE = "Asia/Almaty"


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A 2-route city and the verdicts of one simulated day with missed trips."""
    feed = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(2, seed=3, start_date=dt.date(2026, 11, 30)), feed)
    loaded = load_feed(feed)
    sim = simulate_day(loaded, DAY, Faults(miss_rate=0.2), seed=2)
    trips = detect_day(loaded.feed, loaded.day_plan(DAY), sim.pings).trips
    return feed, trips


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def decision(at: dt.datetime, actor: str = "cli:tester") -> Decision:
    return Decision(at, actor, source="batch")


FIRST_DECIDED = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def store_day(sessions: sessionmaker[Session], decided: tuple[Path, pd.DataFrame]) -> tuple[int, StoreResult]:
    """The feed stored, then the day's verdicts decided at FIRST_DECIDED: the feed version and the result."""
    feed, trips = decided
    version = store_feed(sessions, feed, FixedClock(dt.datetime(2026, 11, 30, tzinfo=dt.UTC))).version
    with sessions.begin() as session:
        return version.id, store_verdicts(session, version.id, trips, decision(FIRST_DECIDED), ZONE)


def test_a_day_is_stored_once_and_a_rerun_changes_nothing(
    sessions: sessionmaker[Session], decided: tuple[Path, pd.DataFrame]
) -> None:
    _, trips = decided
    version_id, first = store_day(sessions, decided)
    at = FIRST_DECIDED
    with sessions.begin() as session:
        again = store_verdicts(session, version_id, trips, decision(at + dt.timedelta(hours=1)), ZONE)
    assert (first.final, first.revised, first.unchanged) == (len(trips), 0, 0)
    assert (again.final, again.revised, again.unchanged) == (0, 0, len(trips))
    with sessions() as session:
        stored = current_verdicts(session, DAY, version_id)
        row = session.scalars(select(VerdictRow).limit(1)).one()
    assert len(stored) == len(trips) and set(stored["event"]) == {EVENT_FINAL}
    counts = stored["verdict"].value_counts().sort_index()
    assert (counts == trips["verdict"].value_counts().sort_index()).all()
    assert "missed" in set(stored["verdict"])
    assert row.payload_sha256 == hashlib.sha256(row.payload.encode()).hexdigest()
    assert row.decided_at == at and row.actor == "cli:tester"


def test_a_changed_verdict_is_a_new_revision_until_the_cutoff_and_refused_after(
    sessions: sessionmaker[Session], decided: tuple[Path, pd.DataFrame]
) -> None:
    _, trips = decided
    version_id, _ = store_day(sessions, decided)
    missed = trips.index[trips["verdict"] == "missed"][0]
    late_data = trips.copy()
    late_data.loc[missed, ["verdict", "reason", "coverage"]] = ["performed", "covered", 0.95]
    cutoff = revision_cutoff(DAY, ZONE)
    assert cutoff == dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)  # local midnight ending Dec 2
    with sessions.begin() as session:
        revised = store_verdicts(session, version_id, late_data, decision(cutoff), ZONE)
    assert (revised.final, revised.revised, revised.unchanged) == (0, 1, len(trips) - 1)
    back = trips.copy()  # the old outcome again, after the cut-off: refused, nothing stored
    with sessions.begin() as session:
        refused = store_verdicts(session, version_id, back, decision(cutoff + dt.timedelta(seconds=1)), ZONE)
    assert refused.refused_after_cutoff == 1 and refused.revised == 0
    with sessions() as session:
        stored = current_verdicts(session, DAY, version_id).set_index(["trip_id", "start_time"])
        total = session.scalar(select(func.count()).select_from(VerdictRow))
    key = (trips.loc[missed, "trip_id"], trips.loc[missed, "start_time"])
    assert stored.loc[key, "verdict"] == "performed"
    assert stored.loc[key, "revision"] == 2 and stored.loc[key, "event"] == EVENT_REVISED
    assert total == len(trips) + 1  # the first decision is kept beside its revision
