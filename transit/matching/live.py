"""The live matcher (SERVICE): at each tick of an injected clock, what the stored pings support so far.

Each tick takes the service dates whose trips have started and may not all be final, loads the feed in force
on each, reads the stored pings of that day so far, and runs the batch core (`detect_day`, as of now):

- trips whose end plus the grace period has passed get their verdict stored (`store_verdicts`, source
  "live"); a later tick that sees late pings stores a revision, until the cut-off;
- trips past start + 8 minutes, not final yet, that no vehicle has been matched to by then, get a
  `not_started` signal, once, while the service was receiving pings in the last 10 minutes (if it was not,
  the absence of pings proves nothing).

Because a tick runs the batch core on the pings stored so far, the live path and `transit detect --store`
give the same verdicts on the same pings (a test shows it). The price: a tick costs as much as deciding the
day so far; an incremental matcher with per-vehicle state, partitioned by vehicle over workers, is the next
step (docs/matching.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import Clock
from transit.errors import FeedNotFound
from transit.gtfs.service import load_feed_in_force
from transit.matching.detect import detect_day
from transit.matching.store import Decision, StoreResult, add_signals, list_signals, store_verdicts
from transit.matching.verdicts import KEY, VerdictRules
from transit.telemetry.store import pings_frame

NOT_STARTED_AFTER = dt.timedelta(minutes=8)  # DESIGN 5: no vehicle at its first stop by start + 8 min
RECEIVING_WITHIN = dt.timedelta(minutes=10)  # the service counts as receiving with a ping this recent
SIGNAL_NOT_STARTED = "not_started"


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
) -> list[TickResult]:
    """One pass over the service dates in play at `clock.now()`."""
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
        with sessions() as session:
            pings = pings_frame(session, start, now + dt.timedelta(microseconds=1))
        detection = detect_day(loaded.feed, plan, pings, as_of=now, rules=rules)
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
