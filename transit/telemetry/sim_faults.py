"""The faults a simulated day may have, their checks, and the random draws that pick what each one hits.

Each fault draws from its own random stream (`numpy.random.default_rng([seed, k])`, k fixed per fault), so
that switching one fault on or off never changes which trips or vehicles another fault hits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from transit.errors import BadParameter
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray

STREAMS = (
    "miss", "late_start", "short_turn", "detour", "wrong_trip_id", "deadhead", "silent", "swap", "no_ids",
    "gps_noise", "drop", "duplicate", "out_of_order", "phase",
)  # fmt: skip
_WINDOW = re.compile(r"^\s*(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*-\s*(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*$")
MATCH_TOLERANCE_M = 60.0  # DESIGN.md section 5: a ping within 60 m of the path matches it
DETOUR_MAX_SHARE = 0.10  # of a trip's path off the path: a detoured trip keeps 90% coverage
_LAST_SECOND = 48 * 3600  # a service day's GTFS times may run past 24:00


class FaultInvalid(BadParameter):
    """A fault parameter out of range; `field` names the Faults field (the CLI names its option)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A window of a service day in GTFS seconds (from noon minus 12 h, local); `end_s` excluded."""

    start_s: int
    end_s: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_s < self.end_s <= _LAST_SECOND:
            raise BadParameter(f"a window must run forward within 00:00-48:00, got {self}")


def parse_window(text: str, field: str = "window") -> TimeWindow:
    """ "HH:MM-HH:MM" (or with seconds), local times of the service day; "23:00-25:30" crosses midnight.

    >>> parse_window("07:00-10:00")
    TimeWindow(start_s=25200, end_s=36000)
    """
    match = _WINDOW.match(text)
    if match is None:
        raise FaultInvalid(field, f"{text!r} is not a window HH:MM-HH:MM")
    h0, m0, s0, h1, m1, s1 = (int(g) if g else 0 for g in match.groups())
    start, end = h0 * 3600 + m0 * 60 + s0, h1 * 3600 + m1 * 60 + s1
    if not 0 <= start < end <= _LAST_SECOND:
        raise FaultInvalid(field, f"{text!r} must end after it starts, by 48:00 at the latest")
    return TimeWindow(start, end)


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong on the simulated day; rates are shares in 0..1. Default: only 5 m of GPS noise."""

    miss_rate: float = 0.0  # trips not run
    miss_carrier: str | None = None  # only this carrier's trips are not run (None: anyone's)
    gps_noise_m: float = 5.0  # standard deviation per axis (east, north), metres
    drop_rate: float = 0.0  # pings lost at random
    silent_rate: float = 0.0  # vehicles whose tracker is silent for 20-60% of their day
    late_start_rate: float = 0.0  # trips that start late by 1 minute to late_start_max_min
    late_start_max_min: float = 15.0
    detour_rate: float = 0.0  # trips that leave their path by 200-400 m, for at most 10% of it
    short_turn_rate: float = 0.0  # trips that stop at 30-70% of their path
    deadhead_rate: float = 0.0  # layovers spent running empty along another route's path
    swap_rate: float = 0.0  # vehicles replaced by another vehicle at a layover
    wrong_trip_id_rate: float = 0.0  # trips whose pings name another trip of the route
    no_ids_rate: float = 0.0  # vehicles whose pings carry no trip_id, route_id, start_date, start_time
    duplicate_rate: float = 0.0  # pings delivered twice
    out_of_order_rate: float = 0.0  # pings delivered 1-60 s late, after later pings
    dark_carrier: str | None = None  # a carrier whose whole fleet sends nothing in dark_window
    dark_window: TimeWindow | None = None  # None with a dark_carrier: the whole day
    outage: TimeWindow | None = None  # the service's ingest is down: no pings from anyone

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.endswith("_rate") and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise FaultInvalid(item.name, f"must be a share between 0 and 1, got {value}")
        if not (math.isfinite(self.gps_noise_m) and 0.0 <= self.gps_noise_m <= 1000.0):
            raise FaultInvalid("gps_noise_m", f"must be 0 to 1000 metres, got {self.gps_noise_m}")
        if not (math.isfinite(self.late_start_max_min) and 1.0 <= self.late_start_max_min <= 600.0):
            raise FaultInvalid(
                "late_start_max_min", f"must be 1 to 600 minutes, got {self.late_start_max_min}"
            )
        if self.dark_window is not None and self.dark_carrier is None:
            raise FaultInvalid("dark_window", "needs a dark_carrier")

    def names(self) -> list[str]:
        """The faults switched on, by their field name without "_rate" or "_m"."""
        on = [
            f.name.removesuffix("_rate")
            for f in fields(self)
            if f.name.endswith("_rate") and getattr(self, f.name)
        ]
        extra = [
            ("gps_noise", self.gps_noise_m),
            ("dark_carrier", self.dark_carrier),
            ("miss_carrier", self.miss_carrier),
            ("outage", self.outage),
        ]
        return on + [name for name, value in extra if value]


def stream(seed: int, fault: str) -> np.random.Generator:
    """The random stream of one fault."""
    return np.random.default_rng([seed, STREAMS.index(fault)])


@dataclass(frozen=True, slots=True)
class TripFaults:
    """What happens to each trip instance (plan row order)."""

    missed: BoolArray
    late_s: FloatArray  # own late start (whole seconds), 0: none
    cut_share: FloatArray  # share of the path run before a short turn; 1: none
    detour_at_m: FloatArray  # metres from the trip's first stop where a detour leaves the path; NaN: none
    detour_span_m: FloatArray  # path metres until it is back on the path
    detour_offset_m: FloatArray  # how far out, to the right of the path (negative: left)
    wrong: IntArray  # the instance whose ids the pings carry instead; -1: none
    deadhead: BoolArray  # after this run the bus runs empty along another route, if the layover allows


def draw_trip_faults(
    faults: Faults, seed: int, route_id: pd.Series, length_m: FloatArray, carrier_id: pd.Series | None = None
) -> TripFaults:
    """Pick the trips each trip fault hits; a missed trip has no other trip fault, a short turn no detour.

    `length_m` is each trip's path length: a detour keeps within 10% of it, so trips under about 3.8 km
    are never detoured.
    """
    n = len(route_id)
    missed = stream(seed, "miss").random(n) < faults.miss_rate
    if faults.miss_carrier is not None:
        owner = carrier_id.astype(str).to_numpy() if carrier_id is not None else np.full(n, "")
        missed &= owner == faults.miss_carrier
    rng = stream(seed, "late_start")
    late = (rng.random(n) < faults.late_start_rate) & ~missed
    late_s = np.where(late, np.round(rng.uniform(60.0, faults.late_start_max_min * 60.0, n)), 0.0)
    rng = stream(seed, "short_turn")
    cut = (rng.random(n) < faults.short_turn_rate) & ~missed
    cut_share = np.where(cut, rng.uniform(0.3, 0.7, n), 1.0)
    at_m, span_m, offset_m = _detours(stream(seed, "detour"), faults.detour_rate, length_m, missed | cut)
    rng = stream(seed, "wrong_trip_id")
    wrong = (rng.random(n) < faults.wrong_trip_id_rate) & ~missed
    deadhead = (stream(seed, "deadhead").random(n) < faults.deadhead_rate) & ~missed
    return TripFaults(
        missed=missed,
        late_s=late_s,
        cut_share=cut_share,
        detour_at_m=at_m,
        detour_span_m=span_m,
        detour_offset_m=offset_m,
        wrong=_other_instances(route_id, wrong, rng.random(n)),
        deadhead=deadhead,
    )


def _detours(
    rng: np.random.Generator, rate: float, length_m: FloatArray, excluded: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Detours out 200-400 m (h), over h of path each way and 100 m or more between; off-path <= 10%."""
    n = len(length_m)
    chosen = (rng.random(n) < rate) & ~excluded
    u_out, u_hold, u_at, side = rng.random(n), rng.random(n), rng.random(n), rng.random(n) < 0.5
    budget = DETOUR_MAX_SHARE * length_m + 2 * MATCH_TOLERANCE_M  # path metres the detour may span
    out = np.minimum(200.0 + 200.0 * u_out, (budget - 100.0) / 2)
    chosen &= out >= 200.0
    span = 2 * out + 100.0 + u_hold * np.maximum(budget - 2 * out - 100.0, 0.0)
    at = 0.1 * length_m + u_at * np.maximum(0.8 * length_m - span, 0.0)
    return (
        np.where(chosen, at, np.nan),
        np.where(chosen, span, 0.0),
        np.where(chosen, np.where(side, out, -out), 0.0),
    )


def _other_instances(route_id: pd.Series, chosen: BoolArray, u: FloatArray) -> IntArray:
    """For each chosen instance, another instance of its route (of the plan, if the route has one only)."""
    codes, _routes = pd.factorize(route_id)
    order = np.argsort(codes, kind="stable")
    size = np.bincount(codes)
    start = np.r_[0, np.cumsum(size)[:-1]]
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.repeat(start, size)
    out = np.full(len(codes), -1, dtype=np.int64)
    for i in np.flatnonzero(chosen):
        members, own = int(size[codes[i]]), int(rank[i])
        if members > 1:
            pick = int(u[i] * (members - 1))
            out[i] = order[start[codes[i]] + pick + (pick >= own)]
        elif len(codes) > 1:
            pick = int(u[i] * (len(codes) - 1))
            out[i] = pick + (pick >= i)
    return out


@dataclass(frozen=True, slots=True)
class VehicleFaults:
    """What happens to each vehicle (fleet order): silence as shares of its day, a swap, payload ids."""

    silent_at: FloatArray  # share of the vehicle's day where the silence starts; NaN: none
    silent_share: FloatArray
    swap_at: FloatArray  # which of its layovers (as a share of them) the swap happens at; NaN: none
    no_ids: BoolArray
    spare_no_ids: BoolArray  # for the vehicle that replaces it after a swap


def draw_vehicle_faults(faults: Faults, seed: int, vehicles: int) -> VehicleFaults:
    """Pick the vehicles each vehicle fault hits."""
    rng = stream(seed, "silent")
    silent = rng.random(vehicles) < faults.silent_rate
    share, at = rng.uniform(0.2, 0.6, vehicles), rng.random(vehicles)
    rng = stream(seed, "swap")
    swap = rng.random(vehicles) < faults.swap_rate
    swap_at = np.where(swap, rng.random(vehicles), np.nan)
    rng = stream(seed, "no_ids")
    no_ids = rng.random(vehicles) < faults.no_ids_rate
    spare_no_ids = rng.random(vehicles) < faults.no_ids_rate
    return VehicleFaults(
        silent_at=np.where(silent, at * (1.0 - share), np.nan),
        silent_share=np.where(silent, share, 0.0),
        swap_at=swap_at,
        no_ids=no_ids,
        spare_no_ids=spare_no_ids,
    )
