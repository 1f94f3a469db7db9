"""What the data can support: when the service was receiving, and how much of a carrier's fleet reported.

Pure functions over the day plan and the pings. A batch run has no ingest health records, so it infers the
service's gaps from the ping file itself: a stretch with no ping from any vehicle while the plan had trips
running is a service-side gap, never the carriers' fault.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.errors import BadParameter

SERVICE_GAP = pd.Timedelta(minutes=10)  # no ping from anyone for this long, while buses were due: a gap
REPORTING_WINDOW = pd.Timedelta(minutes=2)  # a vehicle "reports" at t with a ping within t ± this


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


@dataclass(frozen=True, slots=True)
class ServiceGaps:
    """When the service received nothing (UTC ns): the stretches without a ping longer than the gap, and
    before the first ping and after the last. Computed once per ping set (it sorts every timestamp)."""

    lows: np.ndarray
    highs: np.ndarray

    @classmethod
    def of(cls, stamps: pd.Series, gap: pd.Timedelta = SERVICE_GAP) -> ServiceGaps:
        lows, highs = down_intervals(stamps, gap)
        times = _ns(stamps.dropna())
        first, last = (
            (times.min(), times.max()) if len(times) else (np.iinfo(np.int64).max, np.iinfo(np.int64).min)
        )
        return cls(np.r_[np.iinfo(np.int64).min, lows, last], np.r_[first, highs, np.iinfo(np.int64).max])


def service_up_share(plan: pd.DataFrame, stamps: pd.Series | ServiceGaps) -> np.ndarray:
    """Per trip instance, the share of [start_at, end_at] when the service was receiving pings at all.

    Before the file's first ping and after its last, nothing was received either: that counts as down.
    """
    gaps = stamps if isinstance(stamps, ServiceGaps) else ServiceGaps.of(stamps)
    start, end = _ns(plan["start_at"]), _ns(plan["end_at"])
    duration = np.maximum(end - start, 1)
    down = np.zeros(len(plan), dtype=np.float64)
    for low, high in zip(gaps.lows, gaps.highs, strict=True):  # few intervals: one vector pass each
        down += np.clip(np.minimum(end, high) - np.maximum(start, low), 0, None)
    return np.asarray(np.clip(1.0 - down / duration, 0.0, 1.0))


MINUTE_NS = 60 * 10**9
START_SHIFTS_S = np.arange(0, 1201, 150)  # late starts DESIGN 5's start window allows (to +20 min), in steps


def fleet_dark_timeline(
    plan: pd.DataFrame,
    pings: pd.DataFrame,
    vehicle_carrier: pd.Series,
    min_share: float,
    window: pd.Timedelta = REPORTING_WINDOW,
) -> tuple[int, dict[object, np.ndarray]]:
    """Per carrier, minute by minute, whether its fleet was dark: under `min_share` of the vehicles its
    running trips needed had a ping within ± `window`. Returns the first minute (ns) and per carrier the
    cumulative count of dark minutes (length minutes + 1), so any span's dark share is one subtraction.
    """
    times = [_ns(plan["start_at"]), _ns(plan["end_at"]) + 2 * START_SHIFTS_S.max() * 10**9]
    stamps = _ns(pings["timestamp"]) if len(pings) else np.zeros(0, dtype=np.int64)
    low = min(int(times[0].min()) - 2 * 3600 * 10**9, int(stamps.min()) if len(stamps) else 0)
    low = low // MINUTE_NS * MINUTE_NS
    minutes = int((max(int(times[1].max()), int(stamps.max()) if len(stamps) else 0) - low) // MINUTE_NS) + 2
    reach = int(window.value // MINUTE_NS)
    carriers = plan["carrier_id"].to_numpy()
    # Vehicles as codes, each id mapped to its carrier once (not once per ping).
    vehicle, names = pd.factorize(pings["vehicle_id"].to_numpy())
    owner_of = pd.Series(names, dtype=object).map(vehicle_carrier).to_numpy(dtype=object)
    seen_key = vehicle.astype(np.int64) * (minutes + 1) + (stamps - low) // MINUTE_NS
    out: dict[object, np.ndarray] = {}
    for carrier in pd.unique(carriers):
        rows = carriers == carrier
        start = (_ns(plan["start_at"])[rows] - low) // MINUTE_NS
        end = (_ns(plan["end_at"])[rows] - low) // MINUTE_NS
        needed = np.cumsum(np.bincount(start, minlength=minutes + 1)[: minutes + 1]) - np.cumsum(
            np.bincount(end, minlength=minutes + 1)[: minutes + 1]
        )
        mine = np.isin(vehicle, np.flatnonzero(owner_of == carrier))
        seen = np.sort(pd.unique(seen_key[mine]))  # distinct (vehicle, minute), by vehicle then minute
        reporting = _distinct_within((seen // (minutes + 1), seen % (minutes + 1)), reach, minutes + 1)
        # With nothing scheduled it still needs one vehicle: a late trip may run then. The trip judged may be
        # missed, its bus off the air: the share counts the others (one fewer), unless none reports at all.
        dark = (reporting < min_share * (np.maximum(needed, 1) - 1)) | (reporting == 0)
        # A vehicle counts as reporting up to `reach` minutes around its pings, so a dark spell shows
        # `reach` minutes short at either end: widen it back (towards no_data, never towards missed).
        spread = np.cumsum(np.r_[0, dark, np.zeros(reach, dtype=bool)])
        lo = np.maximum(np.arange(len(dark)) - reach, 0)
        dark = (spread[np.minimum(np.arange(len(dark)) + reach + 1, len(spread) - 1)] - spread[lo]) > 0
        out[carrier] = np.r_[0, np.cumsum(dark)]
    return low, out


def _distinct_within(seen: tuple[np.ndarray, np.ndarray], reach: int, minutes: int) -> np.ndarray:
    """Per minute, how many vehicles had a ping-minute within ± reach (seen: distinct vehicle codes and
    minutes, sorted by vehicle, then minute)."""
    counts = np.zeros(minutes + 1, dtype=np.int64)
    v, m = seen
    if len(v) == 0:
        return counts[:minutes]
    # Each vehicle covers [m - reach, m + reach] around each ping-minute; merge overlaps per vehicle.
    lo, hi = np.maximum(m - reach, 0), np.minimum(m + reach + 1, minutes)
    fresh = np.r_[True, (v[1:] != v[:-1]) | (lo[1:] > hi[:-1])]
    starts = lo[fresh]
    ends = np.maximum.reduceat(hi, np.flatnonzero(fresh))
    np.add.at(counts, starts, 1)
    np.add.at(counts, ends, -1)
    return np.cumsum(counts)[:minutes]


def blind_shares(
    plan: pd.DataFrame,
    stamps: pd.Series | ServiceGaps,
    dark: tuple[int, dict[object, np.ndarray]],
    shift_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Service and fleet blind shares of each trip as if it started `shift_s` seconds late (per trip)."""
    shifted = plan[["start_at", "end_at", "carrier_id"]].copy()
    delta = pd.to_timedelta(shift_s, unit="s")
    shifted["start_at"] = shifted["start_at"] + delta
    shifted["end_at"] = shifted["end_at"] + delta
    service = 1.0 - service_up_share(shifted, stamps)
    low, cumulative = dark
    start = np.maximum((_ns(shifted["start_at"]) - low) // MINUTE_NS, 0)
    end = np.maximum((_ns(shifted["end_at"]) - low) // MINUTE_NS, start + 1)
    fleet = np.zeros(len(plan))
    carriers = plan["carrier_id"].to_numpy()
    for carrier, counts in cumulative.items():
        rows = np.flatnonzero(carriers == carrier)
        hi = np.minimum(end[rows], len(counts) - 1)
        lo = np.minimum(start[rows], hi)
        fleet[rows] = (counts[hi] - counts[lo]) / np.maximum(end[rows] - start[rows], 1)
    return service, fleet
