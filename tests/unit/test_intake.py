"""Sorting a batch of raw messages into pings and rejections, with the wall or the stream clock."""

from __future__ import annotations

import datetime as dt
import json

from transit.telemetry.intake import Message, StreamClock, triage
from transit.telemetry.model import Ping, PingRules, RejectReason
from transit.telemetry.speed import SpeedGuard

NOW = dt.datetime(2026, 11, 29, 4, 0, tzinfo=dt.UTC)
PREFIX = "transit/v1"


def message(vehicle: str, at: dt.datetime, lat: float = 54.87, lon: float = 69.14) -> Message:
    payload = {"vehicle_id": vehicle, "timestamp": at.isoformat(), "latitude": lat, "longitude": lon}
    return Message(f"{PREFIX}/vehicles/{vehicle}/position", json.dumps(payload).encode())


def test_every_message_becomes_a_ping_or_a_rejection_with_its_index() -> None:
    batch = [
        message("bus-1", NOW),
        Message(f"{PREFIX}/vehicles/bus-2/position", b"{broken"),
        Message("elsewhere/topic", b"{}"),
        message("bus-3", NOW + dt.timedelta(days=1)),
    ]
    out = triage(batch, PREFIX, PingRules(), lambda _p: NOW, SpeedGuard(PingRules()))
    assert [p.vehicle_id for p in out.pings] == ["bus-1"]
    assert [(i, r.reason) for i, r in out.rejected] == [
        (1, RejectReason.UNPARSABLE),
        (2, RejectReason.UNKNOWN_TOPIC),
        (3, RejectReason.TIMESTAMP_IN_FUTURE),
    ]
    assert out.count_by_reason()[RejectReason.UNPARSABLE] == 1


def test_the_stream_clock_replays_old_history_without_rejecting_it() -> None:
    old = NOW - dt.timedelta(days=400)
    batch = [message(f"bus-{i}", old + dt.timedelta(seconds=i)) for i in range(5)]
    wall = triage(batch, PREFIX, PingRules(), lambda _p: NOW, SpeedGuard(PingRules()))
    stream = triage(batch, PREFIX, PingRules(), StreamClock(), SpeedGuard(PingRules()))
    assert len(wall.pings) == 0 and len(stream.pings) == 5


def test_the_stream_clock_ignores_a_bogus_timestamp_and_never_goes_back() -> None:
    clock = StreamClock()
    ping = Ping("b", NOW, 54.0, 69.0)
    later = Ping("b", NOW + dt.timedelta(minutes=20), 54.0, 69.0)
    far = Ping("b", NOW.replace(year=2099), 54.0, 69.0)
    assert clock([ping, ping, later, far]) == NOW + dt.timedelta(minutes=20)
    assert clock([Ping("b", NOW - dt.timedelta(hours=1), 54.0, 69.0)]) == NOW + dt.timedelta(minutes=20)


def test_a_replayed_burst_spanning_many_minutes_is_accepted_whole_but_2099_is_not() -> None:
    start = NOW - dt.timedelta(days=30)
    batch = [message("bus-1", start + dt.timedelta(minutes=m), lat=54.87 + m * 1e-3) for m in range(0, 40, 2)]
    batch.append(message("bus-2", NOW.replace(year=2099)))
    out = triage(batch, PREFIX, PingRules(), StreamClock(), SpeedGuard(PingRules()))
    assert len(out.pings) == 20
    assert [r.reason for _, r in out.rejected] == [RejectReason.TIMESTAMP_IN_FUTURE]


def test_an_impossible_jump_is_rejected_but_the_next_plausible_ping_is_kept() -> None:
    batch = [
        message("bus-1", NOW),
        message("bus-1", NOW + dt.timedelta(seconds=10), lat=55.87),  # 111 km in 10 s
        message("bus-1", NOW + dt.timedelta(seconds=20), lat=54.8705),
    ]
    out = triage(batch, PREFIX, PingRules(), lambda _p: NOW, SpeedGuard(PingRules()))
    assert [r.reason for _, r in out.rejected] == [RejectReason.IMPOSSIBLE_SPEED]
    assert len(out.pings) == 2
