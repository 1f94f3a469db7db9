"""What the data can support: when the service was receiving, and how much of a carrier's fleet reported.

Pure functions over the day plan and the pings. A batch run has no ingest health records, so it infers the
service's gaps from the ping file itself: a stretch with no ping from any vehicle while the plan had trips
running is a service-side gap, never the carriers' fault.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from transit.errors import BadParameter

SERVICE_GAP = pd.Timedelta(minutes=10)  # no ping from anyone for this long, while buses were due: a gap
REPORTING_WINDOW = pd.Timedelta(minutes=10)  # a vehicle "reports" at t with a ping within t ± this


def _ns(instants: pd.Series) -> np.ndarray:
    """Aware instants as int64 nanoseconds (pandas 3 may hold them in microseconds)."""
    return np.asarray(pd.to_datetime(instants, utc=True).dt.as_unit("ns").astype("int64").to_numpy())


def infer_service_date(pings: pd.DataFrame, timezone: str, night_end_hour: int = 4) -> dt.date:
    """The local service date with the most pings; pings before `night_end_hour` serve the day before.

    Buses running after midnight are still on the previous service date's trips (GTFS times past 24:00).
    """
    local = pings["timestamp"].dt.tz_convert(timezone)
    shifted = local - pd.to_timedelta((local.dt.hour < night_end_hour).astype(int), unit="D")
    counts = shifted.dt.date.value_counts()
    if counts.empty:
        raise BadParameter("the ping file has no usable ping to infer the service date from; give --date")
    best = counts.sort_index().idxmax()  # the most pings; on a tie, the earliest date
    return dt.date.fromisoformat(str(best))


def down_intervals(stamps: pd.Series, gap: pd.Timedelta = SERVICE_GAP) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (UTC, ns) of the stretches longer than `gap` without a ping, within the file's span."""
    times = np.sort(_ns(stamps.dropna()))
    if len(times) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    holes = np.flatnonzero(np.diff(times) > gap.value)
    return times[holes], times[holes + 1]


def service_up_share(plan: pd.DataFrame, stamps: pd.Series, gap: pd.Timedelta = SERVICE_GAP) -> np.ndarray:
    """Per trip instance, the share of [start_at, end_at] when the service was receiving pings at all.

    Before the file's first ping and after its last, nothing was received either: that counts as down.
    """
    start, end = _ns(plan["start_at"]), _ns(plan["end_at"])
    duration = np.maximum(end - start, 1)
    lows, highs = down_intervals(stamps, gap)
    times = _ns(stamps.dropna())
    first, last = (
        (times.min(), times.max()) if len(times) else (np.iinfo(np.int64).max, np.iinfo(np.int64).min)
    )
    lows = np.r_[np.iinfo(np.int64).min, lows, last]
    highs = np.r_[first, highs, np.iinfo(np.int64).max]
    down = np.zeros(len(plan), dtype=np.float64)
    for low, high in zip(lows, highs, strict=True):  # few intervals: one vector pass each
        down += np.clip(np.minimum(end, high) - np.maximum(start, low), 0, None)
    return np.asarray(np.clip(1.0 - down / duration, 0.0, 1.0))


def fleet_reporting_share(
    plan: pd.DataFrame,
    pings: pd.DataFrame,
    vehicle_carrier: pd.Series,
    window: pd.Timedelta = REPORTING_WINDOW,
    samples: int = 5,
) -> np.ndarray:
    """The carrier's reporting share at `samples` moments across each trip: shape (trips, samples).

    The share at a moment: the carrier's vehicles (`vehicle_carrier`: vehicle_id → carrier_id, from the trips
    they ran or their payload) with a ping within ± `window`, over the carrier's trip instances running then
    (one vehicle each), capped at 1. Callers take the lowest (the trip's worst moment) and the share of
    moments below a threshold (how much of the trip was dark).
    """
    start, end = _ns(plan["start_at"]), _ns(plan["end_at"])
    fractions = np.linspace(0.0, 1.0, samples)
    moments = start[:, None] + ((end - start)[:, None] * fractions[None, :]).astype(np.int64)
    share = np.ones((len(plan), samples), dtype=np.float64)
    carriers = plan["carrier_id"].to_numpy()
    for carrier in pd.unique(carriers):
        rows = np.flatnonzero(carriers == carrier)
        at = moments[rows].ravel()
        needed = _running_at(plan.iloc[rows], at)
        vehicles = vehicle_carrier.index[vehicle_carrier.to_numpy() == carrier]
        reporting = _reporting_at(pings[pings["vehicle_id"].isin(vehicles)], at, window)
        share[rows] = np.minimum(1.0, reporting / np.maximum(needed, 1)).reshape(len(rows), samples)
    return share


def _running_at(plan: pd.DataFrame, moments: np.ndarray) -> np.ndarray:
    starts, ends = np.sort(_ns(plan["start_at"])), np.sort(_ns(plan["end_at"]))
    return np.asarray(
        np.searchsorted(starts, moments, side="right") - np.searchsorted(ends, moments, side="left")
    )


def _reporting_at(pings: pd.DataFrame, moments: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """Distinct vehicles with a ping within ± window of each moment."""
    if pings.empty:
        return np.zeros(len(moments), dtype=np.int64)
    counts = np.zeros(len(moments), dtype=np.int64)
    for _vehicle, times in pings.groupby("vehicle_id", observed=True)["timestamp"]:
        stamps = np.sort(_ns(times))
        low = np.searchsorted(stamps, moments - window.value, side="left")
        high = np.searchsorted(stamps, moments + window.value, side="right")
        counts += high > low
    return counts
