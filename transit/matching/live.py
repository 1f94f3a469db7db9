"""The live matcher (SERVICE): at each tick of an injected clock, what the stored pings support so far.

Each tick takes the service dates whose trips have started and may not all be final, loads the feed in force
on each, reads the stored pings of that day so far, and runs the batch core (`detect_day`, as of now):

- trips whose end plus the grace period has passed get their verdict stored (`store_verdicts`, source
  "live"); a later tick that sees late pings stores a revision, until the cut-off;
- trips past start + 8 minutes, not final yet, that no vehicle has been matched to by then, get a
  `not_started` signal, once, while the service was receiving pings in the last 10 minutes (if it was not,
  the absence of pings proves nothing).

With a `LiveState` (the `transit match` loop keeps one) a tick is incremental: it reads only the pings that
are new since the last tick (newer timestamps, or received since, for late ones), and the matcher tracks
again only the (vehicle, trip) pairs of vehicles whose new pings fall in the pair's window: the state per
vehicle is its tracked pairs (`assign.TrackCache`). The run-to-trip choice and the verdicts are redone over
the day, which is cheap. Because a tick runs the batch core on the pings stored so far, the live path and
`transit detect --store` give the same verdicts on the same pings (a test shows it, with and without state).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import Clock
from transit.errors import FeedNotFound
from transit.gtfs.service import load_feed_in_force
from transit.matching.assign import TrackCache
from transit.matching.detect import detect_day
from transit.matching.store import Decision, StoreResult, add_signals, list_signals, store_verdicts
from transit.matching.verdicts import KEY, VerdictRules
from transit.telemetry.store import newest_receipt, pings_frame

NOT_STARTED_AFTER = dt.timedelta(minutes=8)  # DESIGN 5: no vehicle at its first stop by start + 8 min
RECEIVING_WITHIN = dt.timedelta(minutes=10)  # the service counts as receiving with a ping this recent
SIGNAL_NOT_STARTED = "not_started"
LATE_COMMIT = dt.timedelta(minutes=5)  # a ping received this long before the newest may still be committing


@dataclass(slots=True)
class _Day:
    """One service date's state: the feed version it was read for, its pings so far, the tracked pairs."""

    version_id: int
    pings: pd.DataFrame
    read_to: dt.datetime  # pings with a timestamp before this have been read
    received_to: dt.datetime | None  # ... and those received before this, less LATE_COMMIT
    cache: TrackCache = field(default_factory=TrackCache)


@dataclass(slots=True)
class LiveState:
    """What the live matcher keeps from one tick to the next, per service date."""

    days: dict[dt.date, _Day] = field(default_factory=dict)

    def read(
        self,
        sessions: sessionmaker[Session],
        service_date: dt.date,
        version_id: int,
        span: tuple[dt.datetime, dt.datetime],
    ) -> tuple[pd.DataFrame, TrackCache]:
        """The day's pings in span [start, now) and its cache, which learns which vehicles have new pings."""
        start, now = span
        day = self.days.get(service_date)
        with sessions() as session:
            received = newest_receipt(session)
            if day is None or day.version_id != version_id:  # a new day, or a new feed: start afresh
                day = _Day(version_id, pings_frame(session, start, now), now, received)
                self.days = {d: v for d, v in self.days.items() if d >= service_date - dt.timedelta(days=3)}
                self.days[service_date] = day
                return day.pings, day.cache
            since = (day.read_to, (day.received_to or start) - LATE_COMMIT)
            fresh = pings_frame(session, start, now, fresh_since=since)
        known = day.pings[["vehicle_id", "timestamp"]]
        fresh = fresh.merge(known, on=["vehicle_id", "timestamp"], how="left", indicator=True)
        fresh = fresh[fresh["_merge"] == "left_only"].drop(columns="_merge")
        seconds = (
            pd.to_datetime(fresh["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")
        ).dt.total_seconds()
        earliest = seconds.groupby(fresh["vehicle_id"].to_numpy()).min()
        day.cache.changed_from = {str(v): float(t) for v, t in earliest.items()}
        day.pings = pd.concat([day.pings, fresh], ignore_index=True) if len(fresh) else day.pings
        day.read_to, day.received_to = now, received or day.received_to
        return day.pings, day.cache


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick did for one service date."""

    service_date: dt.date
    feed_version_id: int
    stored: StoreResult
    not_started: int
    alerts: pd.DataFrame  # the trips signalled not_started in this tick (KEY, carrier_id, route_id, start_at)
    final: bool  # every trip of the day is past its end plus the grace period: its verdicts are all final


def tick(
    sessions: sessionmaker[Session],
    clock: Clock,
    actor: str = "live",
    rules: VerdictRules = VerdictRules(),  # noqa: B008 (frozen)
    state: LiveState | None = None,
) -> list[TickResult]:
    """One pass over the service dates in play at `clock.now()`; incremental with a `state` kept between
    passes (the same verdicts, for less work)."""
    now = clock.now()
    results = []
    for service_date in (now.date() - dt.timedelta(days=1), now.date(), now.date() + dt.timedelta(days=1)):
        try:
            version, loaded = load_feed_in_force(sessions, service_date)
        except FeedNotFound:
            continue
        plan = loaded.day_plan(service_date)
        if plan.empty or plan["start_at"].min() > now:
            continue
        if plan["end_at"].max() + pd.Timedelta(days=2) < now:  # long past its cut-off: nothing can change
            continue
        start = (plan["start_at"].min() - pd.Timedelta(hours=1)).to_pydatetime()
        span = (start, now + dt.timedelta(microseconds=1))
        cache = None
        if state is None:
            with sessions() as session:
                pings = pings_frame(session, *span)
        else:
            pings, cache = state.read(sessions, service_date, version.id, span)
        detection = detect_day(loaded.feed, plan, pings, as_of=now, rules=rules, cache=cache)
        timezone = str(loaded.feed.agency["agency_timezone"].iloc[0])
        decision = Decision(now, actor, source="live")
        late = not_started(plan, detection.matched, pings, now, rules)
        with sessions.begin() as session:
            stored = store_verdicts(session, version.id, detection.trips, decision, timezone)
            known = list_signals(session, service_date, SIGNAL_NOT_STARTED)
            signalled = add_signals(session, version.id, late, SIGNAL_NOT_STARTED, decision)
        fresh = late.merge(
            known[["trip_id", "start_time"]], on=["trip_id", "start_time"], how="left", indicator=True
        )
        fresh = fresh[fresh["_merge"] == "left_only"].drop(columns="_merge")
        alerts = fresh.merge(plan[[*KEY, "route_id", "agency_id", "start_at", "end_at"]], on=KEY, how="left")
        final = bool(plan["end_at"].max() + pd.Timedelta(seconds=rules.grace_seconds) <= now)
        results.append(TickResult(service_date, version.id, stored, signalled, alerts, final))
    return results


def not_started(
    plan: pd.DataFrame, matched: pd.DataFrame, pings: pd.DataFrame, now: dt.datetime, rules: VerdictRules
) -> pd.DataFrame:
    """Instances past start + 8 min and not final at `now` with no vehicle matched by then (KEY, carrier)."""
    latest = pd.to_datetime(pings["timestamp"], utc=True).max() if len(pings) else None
    receiving = latest is not None and latest >= pd.Timestamp(now - RECEIVING_WITHIN)
    if not receiving:
        return pd.DataFrame(columns=[*KEY, "carrier_id"])
    due = plan[
        (plan["start_at"] + NOT_STARTED_AFTER <= now)
        & (plan["end_at"] + pd.Timedelta(seconds=rules.grace_seconds) > now)
    ]
    seen = matched[KEY + ["first_ping_at"]].merge(due[KEY + ["start_at"]], on=KEY)
    on_time = seen[pd.to_datetime(seen["first_ping_at"], utc=True) <= seen["start_at"] + NOT_STARTED_AFTER]
    late = due.merge(on_time[KEY], on=KEY, how="left", indicator=True)
    return late.loc[late["_merge"] == "left_only", [*KEY, "carrier_id"]].reset_index(drop=True)
