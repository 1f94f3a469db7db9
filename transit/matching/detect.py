"""Decide a whole service day from a day plan and its pings: the batch path of `transit detect` (pure).

The same matching core (`assign.match_day`) and the same rules (`verdicts.decide`) serve the live path; here
the service's health is inferred from the ping file itself (`health`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.gtfs.dayplan import ScheduleTables
from transit.matching.assign import TrackCache, match_day
from transit.matching.health import START_SHIFTS_S, ServiceGaps, blind_shares, fleet_dark_timeline
from transit.matching.paths import build_paths
from transit.matching.realtime_ids import IdResolution, map_realtime_ids
from transit.matching.verdicts import SUMMARY_COLUMNS, VerdictRules, decide, summarise_carriers

KEY = ["service_date", "trip_id", "start_time"]
TRIP_COLUMNS = (
    "service_date", "trip_id", "start_time", "end_time", "start_at", "end_at", "route_id", "agency_id",
    "carrier_id", "verdict", "reason", "vehicle_ids", "coverage", "lost_distance_m", "first_ping_at",
    "last_ping_at", "stops_reached", "stops_total",
)  # fmt: skip
CARRIER_COLUMNS = SUMMARY_COLUMNS


@dataclass(frozen=True, slots=True)
class Detection:
    """The verdicts of one service day (TRIP_COLUMNS) and their roll-up per carrier (CARRIER_COLUMNS)."""

    service_date: dt.date
    trips: pd.DataFrame
    carriers: pd.DataFrame
    matched: pd.DataFrame  # the matcher's evidence of every instance a vehicle ran (assign.MATCH_COLUMNS)
    realtime_ids: dict[str, IdResolution]  # how the payloads' trip_id and route_id were read (realtime_ids)


def detect_day(
    feed: ScheduleTables,
    plan: pd.DataFrame,
    pings: pd.DataFrame,
    *,
    use_trip_ids: bool = True,
    rules: VerdictRules = VerdictRules(),  # noqa: B008 (frozen)
    as_of: dt.datetime | None = None,
    id_map: Mapping[str, Mapping[str, str]] | None = None,
    cache: TrackCache | None = None,
) -> Detection:
    """The verdict of every trip instance of `plan` final at `as_of`, from `pings` (PING_FIELDS columns, any
    order). Without `as_of` (batch) every trip is final: as of the end of the last one plus the grace.
    `id_map`: realtime ids to the feed's, per kind, beyond what `realtime_ids` resolves by itself.
    `cache`: the live matcher's tracked pairs of earlier passes over this plan (`assign.TrackCache`)."""
    service_date = dt.date.fromisoformat(str(plan["service_date"].iloc[0])) if len(plan) else dt.date.min
    pings, resolved = map_realtime_ids(pings, feed, id_map)
    evidence = match_day(build_paths(feed), plan, pings, use_trip_ids=use_trip_ids, cache=cache)
    service_blind, fleet_blind = _blind(plan, pings, evidence, rules)
    keys = plan[KEY]
    service_up = keys.assign(service_up_share=1.0 - service_blind)
    fleet = keys.assign(
        fleet_reporting_share=np.where(fleet_blind > 0, 0.0, 1.0), fleet_dark_share=fleet_blind
    )
    if as_of is None:
        last = plan["end_at"].max() if len(plan) else pd.Timestamp(dt.datetime.min, tz="UTC")
        as_of = (last + pd.Timedelta(seconds=rules.grace_seconds)).to_pydatetime()
    verdicts = decide(plan, evidence, service_up, fleet, as_of, rules)
    trips = verdicts[[c for c in TRIP_COLUMNS if c in verdicts.columns]]
    carriers = summarise_carriers(verdicts)[list(CARRIER_COLUMNS)]
    return Detection(service_date, trips, carriers, evidence, resolved)


def _blind(
    plan: pd.DataFrame, pings: pd.DataFrame, evidence: pd.DataFrame, rules: VerdictRules
) -> tuple[np.ndarray, np.ndarray]:
    """Per trip, the share the service could not see (its own gaps) and the carrier's dark share.

    A trip that was seen is judged over the time it ran (its lag behind the schedule); one never seen could
    have run at any start within the start window, so it takes the worst of those starts: an outage or a
    dark fleet just after its scheduled start may hide a late bus, and then "missed" is not supported.
    """
    dark = fleet_dark_timeline(
        plan, pings, vehicle_carriers(plan, evidence, pings), rules.min_fleet_reporting_share
    )
    lag = plan[KEY].merge(evidence[KEY + ["lag_s"]], on=KEY, how="left")["lag_s"].to_numpy(dtype=float)
    seen = np.isfinite(lag)
    shift = np.clip(np.nan_to_num(lag), -rules.start_window_early_seconds, rules.start_window_late_seconds)
    gaps = ServiceGaps.of(pings["timestamp"])  # sorts every timestamp: once, not per start tried
    service, fleet = blind_shares(plan, gaps, dark, np.where(seen, shift, 0.0))
    for start in START_SHIFTS_S:
        other_service, other_fleet = blind_shares(plan, gaps, dark, np.full(len(plan), float(start)))
        service = np.where(seen, service, np.maximum(service, other_service))
        fleet = np.where(seen, fleet, np.maximum(fleet, other_fleet))
    return service, fleet


def vehicle_carriers(plan: pd.DataFrame, evidence: pd.DataFrame, pings: pd.DataFrame) -> pd.Series:
    """vehicle_id → carrier_id: the carrier of the trips a vehicle ran, else the carrier its payload names."""
    ran = evidence[KEY + ["vehicle_ids"]].merge(plan[KEY + ["carrier_id"]], on=KEY)
    ran = ran.assign(vehicle_id=ran["vehicle_ids"].astype(str).str.split(",")).explode("vehicle_id")
    by_trips = ran.groupby("vehicle_id")["carrier_id"].agg(lambda c: c.mode().iloc[0])
    payload = pings[["vehicle_id", "carrier_id"]]  # two columns, not a copy of the whole frame
    named = payload[payload["carrier_id"].notna()].groupby("vehicle_id", observed=True)["carrier_id"].first()
    combined: pd.Series = pd.concat([by_trips, named[~named.index.isin(by_trips.index)]])
    return combined
