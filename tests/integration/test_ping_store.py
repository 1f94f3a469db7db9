"""Ping storage on the real databases: idempotent pings and dead letters, health intervals."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from transit.db import make_engine, make_session_factory
from transit.telemetry.model import Ping
from transit.telemetry.store import (
    DeadLetter,
    add_dead_letters,
    add_pings,
    count_dead_letters_by_reason,
    count_pings,
    extend_interval,
    list_intervals,
    list_pings,
)

T0 = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def pings(count: int, vehicle: str = "bus-1") -> list[Ping]:
    return [
        Ping(vehicle, T0 + dt.timedelta(seconds=10 * i), 54.87 + i * 1e-4, 69.14, trip_id="T1", speed=7.5)
        for i in range(count)
    ]


def test_a_ping_stored_twice_is_one_row(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert add_pings(session, pings(5), T0, "w1") == 5
    with sessions.begin() as session:
        assert add_pings(session, pings(8), T0, "w2") == 3
        assert add_pings(session, pings(8) + pings(8), T0, "w2") == 0  # duplicates inside one batch too
    with sessions() as session:
        assert count_pings(session) == 8
        stored = list_pings(session, T0, T0 + dt.timedelta(hours=1))
    assert stored == pings(8)
    assert all(p.timestamp.tzinfo is not None for p in stored)


def test_a_ping_with_an_offset_is_stored_as_the_same_instant(sessions: sessionmaker[Session]) -> None:
    local = Ping("bus-2", T0.astimezone(dt.timezone(dt.timedelta(hours=5))), 54.87, 69.14)
    with sessions.begin() as session:
        add_pings(session, [local], T0, "w1")
        assert add_pings(session, [Ping("bus-2", T0, 54.87, 69.14)], T0, "w1") == 0
    with sessions() as session:
        [stored] = list_pings(session, T0, T0 + dt.timedelta(seconds=1))
    assert stored.timestamp == T0


def test_a_redelivered_dead_letter_is_stored_once(sessions: sessionmaker[Session]) -> None:
    letter = DeadLetter(T0, "transit/v1/vehicles/x/position", "unparsable", "not JSON", "x", b"{oops")
    other = DeadLetter(T0, "transit/v1/vehicles/x/position", "unparsable", "not JSON", "x", b"{oops2")
    with sessions.begin() as session:
        assert add_dead_letters(session, [letter, other], "w1") == 2
    with sessions.begin() as session:
        assert add_dead_letters(session, [letter], "w2") == 0
    with sessions() as session:
        assert count_dead_letters_by_reason(session) == {"unparsable": 2}


def test_heartbeats_extend_one_interval_and_a_restart_opens_another(sessions: sessionmaker[Session]) -> None:
    first, second = T0, T0 + dt.timedelta(minutes=30)
    with sessions.begin() as session:
        for minute in (0, 1, 2):
            extend_interval(session, "w1", "storing", first, first + dt.timedelta(minutes=minute))
        extend_interval(session, "w1", "storing", second, second + dt.timedelta(minutes=5))
    with sessions() as session:
        intervals = list_intervals(session, "storing", T0, T0 + dt.timedelta(hours=1))
    assert [(i.started_at, i.ended_at) for i in intervals] == [
        (first, first + dt.timedelta(minutes=2)),
        (second, second + dt.timedelta(minutes=5)),
    ]
    with sessions() as session:
        # The gap between them is what a verdict must call a service-side gap.
        gap = list_intervals(session, "storing", T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=20))
    assert gap == []
