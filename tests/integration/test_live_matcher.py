"""The live matcher on the real databases: a simulated day's pings stored, then ticks of an injected clock.

The live path and the batch path (`detect_day`, as `transit detect` runs it) must give the same verdicts on
the same pings; `not_started` signals come at start + 8 minutes for trips no bus turned up for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import FixedClock
from transit.contracts.config import parse_contract_book
from transit.contracts.service import load_book, read_state
from transit.db import make_engine, make_session_factory
from transit.gtfs.load import LoadedFeed, load_feed
from transit.gtfs.service import store_feed
from transit.ledger.keys import load_signing_key
from transit.ledger.service import verify
from transit.ledger.store import list_checkpoints
from transit.matching.commands import after_tick
from transit.matching.detect import detect_day
from transit.matching.live import SIGNAL_NOT_STARTED, LiveState, tick
from transit.matching.store import current_verdicts, list_signals
from transit.settings import Settings
from transit.synth.city import build_city
from transit.synth.write import write_city
from transit.telemetry.files import frame_to_pings
from transit.telemetry.simulate import Faults, Simulation, simulate_day
from transit.telemetry.store import add_pings

DAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LoadedFeed, Simulation]:
    feed = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(2, seed=4, start_date=dt.date(2026, 11, 30)), feed)
    loaded = load_feed(feed)
    return feed, loaded, simulate_day(loaded, DAY, Faults(miss_rate=0.15, drop_rate=0.1), seed=3)


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def stored_day(sessions: sessionmaker[Session], day: tuple[Path, LoadedFeed, Simulation]) -> int:
    feed, _, simulation = day
    version = store_feed(sessions, feed, FixedClock(dt.datetime(2026, 11, 30, tzinfo=dt.UTC))).version
    pings = frame_to_pings(simulation.pings.drop_duplicates(["vehicle_id", "timestamp"]))
    with sessions.begin() as session:
        add_pings(session, pings, dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "test")
    return version.id


def test_live_ticks_give_the_batch_verdicts(
    sessions: sessionmaker[Session], day: tuple[Path, LoadedFeed, Simulation]
) -> None:
    version_id = stored_day(sessions, day)
    _, loaded, simulation = day
    plan = loaded.day_plan(DAY)
    end = (plan["end_at"].max() + pd.Timedelta(minutes=31)).to_pydatetime()
    midday = (plan["start_at"].min() + (plan["end_at"].max() - plan["start_at"].min()) / 2).to_pydatetime()
    # The day before has a plan too, with no pings at all: its trips are no_data, not today's business.
    first = {r.service_date: r for r in tick(sessions, FixedClock(midday))}[DAY]  # some trips final
    last = {r.service_date: r for r in tick(sessions, FixedClock(end))}[DAY]
    assert 0 < first.stored.final < len(plan)
    assert last.stored.final == len(plan) - first.stored.final
    batch = detect_day(loaded.feed, plan, simulation.pings).trips.astype({"trip_id": str})
    with sessions() as session:
        live = current_verdicts(session, DAY, version_id)
    both = batch.merge(live, on=["trip_id", "start_time"], suffixes=("_batch", "_live"))
    assert len(both) == len(batch) == len(plan)
    # Midday verdicts came from the pings up to midday: the trips final by then were decided on all theirs.
    assert (both["verdict_batch"] == both["verdict_live"]).all()
    assert (both["reason_batch"] == both["reason_live"]).all()
    again = {r.service_date: r for r in tick(sessions, FixedClock(end + dt.timedelta(minutes=5)))}[DAY]
    assert (again.stored.final, again.stored.revised) == (0, 0)


def test_ticks_with_state_track_only_what_changed_and_give_the_batch_verdicts(
    sessions: sessionmaker[Session], day: tuple[Path, LoadedFeed, Simulation]
) -> None:
    """The `transit match` loop keeps a LiveState: each tick reads only the new pings and tracks again only
    the pairs whose vehicle has new pings in their window; the verdicts are still the batch's."""
    version_id = stored_day(sessions, day)
    _, loaded, simulation = day
    plan = loaded.day_plan(DAY)
    first, last = plan["start_at"].min().to_pydatetime(), plan["end_at"].max().to_pydatetime()
    state = LiveState()
    stored, reused = 0, []
    now = first + dt.timedelta(hours=2)
    while now < last + dt.timedelta(minutes=31):
        result = {r.service_date: r for r in tick(sessions, FixedClock(now), state=state)}[DAY]
        stored += result.stored.final
        reused.append(state.days[DAY].cache.reused)
        now += dt.timedelta(hours=2)
    result = {r.service_date: r for r in tick(sessions, FixedClock(now), state=state)}[DAY]
    stored += result.stored.final
    assert stored == len(plan)
    assert reused[0] == 0 and all(n > 0 for n in reused[1:])  # later ticks keep most tracked pairs
    assert len(state.days[DAY].pings) == len(simulation.pings.drop_duplicates(["vehicle_id", "timestamp"]))
    batch = detect_day(loaded.feed, plan, simulation.pings).trips.astype({"trip_id": str})
    with sessions() as session:
        live = current_verdicts(session, DAY, version_id)
    both = batch.merge(live, on=["trip_id", "start_time"], suffixes=("_batch", "_live"))
    assert len(both) == len(plan)
    assert (both["verdict_batch"] == both["verdict_live"]).all()
    assert (both["reason_batch"] == both["reason_live"]).all()
    assert (both["coverage_batch"].round(4) == both["coverage_live"].round(4)).all()


def test_late_pings_are_read_and_revise_the_pairs_they_touch(
    sessions: sessionmaker[Session], day: tuple[Path, LoadedFeed, Simulation]
) -> None:
    """Pings that arrive late (received after a tick, with earlier timestamps) are read by the next tick and
    their vehicles' pairs are tracked again: the result is as if they had all been there."""
    feed, loaded, simulation = day
    store_feed(sessions, feed, FixedClock(dt.datetime(2026, 11, 30, tzinfo=dt.UTC)))
    pings = simulation.pings.drop_duplicates(["vehicle_id", "timestamp"])
    late_vehicle = pings["vehicle_id"].value_counts().index[0]
    late = pings["vehicle_id"] == late_vehicle
    with sessions.begin() as session:
        add_pings(session, frame_to_pings(pings[~late]), dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "test")
    plan = loaded.day_plan(DAY)
    end = (plan["end_at"].max() + pd.Timedelta(hours=3)).to_pydatetime()
    state = LiveState()
    tick(sessions, FixedClock(end - dt.timedelta(hours=1)), state=state)
    with sessions.begin() as session:
        add_pings(session, frame_to_pings(pings[late]), dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "test")
    tick(sessions, FixedClock(end), state=state)
    cache = state.days[DAY].cache
    assert set(cache.changed_from) == {late_vehicle}
    assert cache.reused > 0 and cache.tracked > 0
    assert len(state.days[DAY].pings) == len(pings)
    fresh = LiveState()
    tick(sessions, FixedClock(end), state=fresh)
    columns = ["vehicle_id", "instance", "coverage", "first_s", "last_s", "lag_s"]
    kept, anew = (s.days[DAY].cache.scored for s in (state, fresh))
    assert kept is not None and anew is not None
    pd.testing.assert_frame_equal(
        kept[columns].sort_values(["vehicle_id", "instance"], ignore_index=True),
        anew[columns].sort_values(["vehicle_id", "instance"], ignore_index=True),
    )


def test_not_started_comes_at_start_plus_8_minutes_once(
    sessions: sessionmaker[Session], day: tuple[Path, LoadedFeed, Simulation]
) -> None:
    stored_day(sessions, day)
    _, loaded, simulation = day
    plan = loaded.day_plan(DAY)
    truth = simulation.truth.astype({"trip_id": str})
    not_run = truth[truth["happened"] == "not_run"].merge(plan, on=["trip_id", "start_time"])
    target = not_run.sort_values("start_at").iloc[len(not_run) // 2]
    at = (target["start_at"] + pd.Timedelta(minutes=8)).to_pydatetime()
    tick(sessions, FixedClock(at - dt.timedelta(seconds=1)))
    with sessions() as session:
        before = list_signals(session, DAY, SIGNAL_NOT_STARTED)
    assert not (
        (before["trip_id"] == target["trip_id"]) & (before["start_time"] == target["start_time"])
    ).any()
    tick(sessions, FixedClock(at))
    tick(sessions, FixedClock(at + dt.timedelta(minutes=1)))
    with sessions() as session:
        after = list_signals(session, DAY, SIGNAL_NOT_STARTED)
    hit = after[(after["trip_id"] == target["trip_id"]) & (after["start_time"] == target["start_time"])]
    assert len(hit) == 1 and hit["signalled_at"].iloc[0] == at
    ran = truth[(truth["happened"] == "ran") & (truth["start_delay_s"].astype(float) == 0)]
    signalled_ran = after.merge(ran, on=["trip_id", "start_time"])
    assert len(signalled_ran) <= 0.1 * len(after)  # a bus on its trip is rarely signalled


LIVE_CONTRACTS = """
[department]
timezone = "Asia/Almaty"
[[carrier]]
id = "{carrier}"
name = "Carrier"
[carrier.channels]
mqtt = false
[[contract]]
id = "C-live"
carrier = "{carrier}"
agency_id = "{carrier}"
start = 2026-11-01
end = 2027-11-01
"""


def test_the_live_service_alerts_at_once_and_enforces_a_day_when_it_is_final(
    sessions: sessionmaker[Session],
    day: tuple[Path, LoadedFeed, Simulation],
    database_url: str,
    tmp_path: Path,
) -> None:
    stored_day(sessions, day)
    _, loaded, simulation = day
    plan = loaded.day_plan(DAY)
    carrier = str(plan["carrier_id"].iloc[0])
    settings = Settings(database_url=database_url, ledger_key_file=tmp_path / "ledger.key")
    with sessions.begin() as session:
        book = parse_contract_book(LIVE_CONTRACTS.format(carrier=carrier))
        load_book(session, book, "test", dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    truth = simulation.truth.astype({"trip_id": str})[["trip_id", "start_time", "happened"]]
    truth = truth.merge(plan, on=["trip_id", "start_time"])
    target = (
        truth[(truth["happened"] == "not_run") & (truth["carrier_id"] == carrier)]
        .sort_values("start_at")
        .iloc[0]
    )
    at = (target["start_at"] + pd.Timedelta(minutes=8)).to_pydatetime()
    for now in (at, at + dt.timedelta(minutes=1)):  # the alert goes out once
        result = {r.service_date: r for r in tick(sessions, FixedClock(now))}[DAY]
        assert not result.final
        after_tick(sessions, settings, result, now, "live")
    with sessions() as session:
        state = read_state(session)
    alert = f"not_started:{DAY.isoformat()}/{target['trip_id']}/{target['start_time']}"
    assert alert in state.notices and state.notices[alert].kind == "not_started"
    assert sum(n.kind == "not_started" for n in state.notices.values()) == len(
        {n for n in state.notices if n.startswith("not_started:")}
    )
    assert not state.warnings  # nothing is enforced before the day is final
    end = (plan["end_at"].max() + pd.Timedelta(minutes=31)).to_pydatetime()
    for now in (end, end + dt.timedelta(minutes=5)):  # enforced once however often it runs
        result = {r.service_date: r for r in tick(sessions, FixedClock(now))}[DAY]
        assert result.final
        after_tick(sessions, settings, result, now, "live")
    with sessions() as session:
        state = read_state(session)
        heads = list_checkpoints(session)
        assert verify(session, load_signing_key(settings.ledger_key_file)[0].public_key()).ok
    assert [w.unit_date for w in state.warnings.values()] == [DAY]
    missed = {v.trip["trip_id"] for v in state.violations.values()}
    assert str(target["trip_id"]) in missed
    assert len(heads) >= 2  # signed on the first pass (none yet) and after the enforcement
