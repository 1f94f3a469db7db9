"""How every bus moves through the day, as segments: (vehicle, t0, t1, path, d0, d1, instance).

Within a segment the bus moves along `path` from d0 to d1 metres at constant speed (d0 == d1: it stands).
Runs follow their trip's knots (cut at a short turn). Between two runs of a bus: if the next trip starts
within 300 m and within 45 minutes, the bus moves there at 5 m/s and stands (a layover), unless it deadheads;
otherwise (a missed trip, a short turn, an interlined block, a long break) the tracker reports a minute at
each end and is off in between (the bus went via the depot). A bus reports for three minutes before its
first trip and one minute after its last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.gtfs.geo import haversine_m
from transit.telemetry.sim_deadhead import DEADHEAD_MIN_GAP_S, DEADHEAD_MPS, Layovers, build_deadheads
from transit.telemetry.sim_paths import (
    BoolArray,
    FloatArray,
    IntArray,
    Paths,
    concat_paths,
    locate,
    straight_paths,
)
from transit.telemetry.sim_trips import Templates
from transit.telemetry.sim_vehicles import Fleet, Runs

NEAR_M = 300.0
REPOSITION_MPS = 5.0
PULL_OUT_S = 180.0
PULL_IN_S = 60.0
FAR_STAND_S = 60.0
DEPOT_RUN_MPS = 8.0  # between far-apart trips, tracker off
LONG_BREAK_S = 45 * 60.0  # a longer break between trips is spent at the depot, tracker off


@dataclass(frozen=True, slots=True)
class Segments:
    """The day's movements, sorted by vehicle then start time."""

    vehicle: IntArray
    t0: FloatArray
    t1: FloatArray
    path: IntArray
    d0: FloatArray
    d1: FloatArray
    instance: IntArray  # the trip instance run, -1 between trips


@dataclass(frozen=True, slots=True)
class Motion:
    """Segments, the paths they use, and the instances followed by a deadhead."""

    segments: Segments
    paths: Paths
    deadheaded: BoolArray  # per instance


@dataclass(frozen=True, slots=True)
class RunEnds:
    """Where each instance's run starts and ends on its path (metres); a short turn ends early."""

    start_m: FloatArray
    end_m: FloatArray


def build_motion(
    fleet: Fleet, runs: Runs, templates: Templates, paths: Paths, ends: RunEnds, deadhead: BoolArray
) -> Motion:
    """Every segment of the day: runs, layovers and repositioning, deadheads, pull-out and pull-in."""
    trip_path = templates.path[fleet.template]
    prev, nxt = _consecutive(fleet, runs.order)
    e_at = locate(paths, trip_path[prev], ends.end_m[prev])
    s_at = locate(paths, trip_path[nxt], ends.start_m[nxt])
    gap = runs.start_s[nxt] - runs.end_s[prev]
    near = (haversine_m(e_at.lat, e_at.lon, s_at.lat, s_at.lon) <= NEAR_M) & (gap <= LONG_BREAK_S)
    wants = np.flatnonzero(near & deadhead[prev] & (gap >= DEADHEAD_MIN_GAP_S))
    route = pd.factorize(fleet.route)[0]
    candidates = Layovers(
        e_at.lat[wants], e_at.lon[wants], s_at.lat[wants], s_at.lon[wants], gap[wants], route[prev[wants]]
    )
    dead = build_deadheads(paths, _path_routes(paths, trip_path, route), candidates)
    dead_rows = wants[dead.chosen]
    layover = near.copy()
    layover[dead_rows] = False
    moves = straight_paths(e_at.lat[layover], e_at.lon[layover], s_at.lat[layover], s_at.lon[layover])
    move_path = np.arange(moves.size) + paths.size
    dead_path = np.arange(dead.paths.size) + paths.size + moves.size
    parts = [
        _run_segments(fleet, runs, templates, ends),
        _layovers(fleet, runs, prev[layover], nxt[layover], move_path, moves.length_m),
        _layovers(fleet, runs, prev[dead_rows], nxt[dead_rows], dead_path, dead.paths.length_m, DEADHEAD_MPS),
        _far_stands(fleet, runs, trip_path, ends, prev[~near], nxt[~near]),
        _pull_out_in(fleet, runs, trip_path, ends),
    ]
    deadheaded = np.zeros(len(fleet.template), dtype=bool)
    deadheaded[prev[dead_rows]] = True
    all_paths = concat_paths(concat_paths(paths, moves), dead.paths)
    return Motion(_sorted(parts), all_paths, deadheaded)


def connection_times(
    fleet: Fleet, order: IntArray, templates: Templates, paths: Paths, ends: RunEnds
) -> FloatArray:
    """Seconds each run's bus needs after it to reach the first stop of its next run (0 after its last).

    Near (300 m): at 5 m/s. Farther: at 8 m/s, plus the minute it reports standing at each end.
    """
    trip_path = templates.path[fleet.template]
    prev, nxt = _consecutive(fleet, order)
    e_at = locate(paths, trip_path[prev], ends.end_m[prev])
    s_at = locate(paths, trip_path[nxt], ends.start_m[nxt])
    apart = haversine_m(e_at.lat, e_at.lon, s_at.lat, s_at.lon)
    out = np.zeros(len(fleet.template))
    out[prev] = np.where(apart <= NEAR_M, apart / REPOSITION_MPS, apart / DEPOT_RUN_MPS + 2 * FAR_STAND_S)
    return out


def _consecutive(fleet: Fleet, order: IntArray) -> tuple[IntArray, IntArray]:
    """Pairs of runs that follow each other on the same vehicle: (earlier, later) instances."""
    prev, nxt = order[:-1], order[1:]
    same = fleet.vehicle[prev] == fleet.vehicle[nxt]
    return prev[same], nxt[same]


def _path_routes(paths: Paths, trip_path: IntArray, route: IntArray) -> IntArray:
    """The route code of the trips that use each path (any one of them); -1 for paths no trip uses."""
    out = np.full(paths.size, -1, dtype=np.int64)
    out[trip_path] = route
    return out


def _run_segments(fleet: Fleet, runs: Runs, templates: Templates, ends: RunEnds) -> Segments:
    """The knots of every run, shifted to its actual start and cut where a short turn ends it."""
    rows = runs.order
    template = fleet.template[rows]
    per_run = np.maximum(templates.count[template] - 1, 0)
    local = np.arange(per_run.sum()) - np.repeat(np.cumsum(per_run) - per_run, per_run)
    k = np.repeat(templates.first[template], per_run) + local
    instance = np.repeat(rows, per_run)
    start = runs.start_s[instance]
    t0, t1 = start + templates.knot_t[k], start + templates.knot_t[k + 1]
    d0, d1 = templates.knot_d[k], templates.knot_d[k + 1].copy()
    cut = ends.end_m[instance]
    keep = (d0 < cut) | (local == 0)
    over = keep & (d1 > cut)
    frac = np.divide(cut - d0, d1 - d0, out=np.zeros_like(d0), where=over)
    t1 = np.where(over, t0 + frac * (t1 - t0), t1)
    d1 = np.where(over, cut, d1)
    keep &= t1 > t0
    return Segments(
        fleet.vehicle[instance][keep],
        t0[keep],
        t1[keep],
        templates.path[template].repeat(per_run)[keep],
        d0[keep],
        d1[keep],
        instance[keep],
    )


def _layovers(
    fleet: Fleet,
    runs: Runs,
    prev: IntArray,
    nxt: IntArray,
    path: IntArray,
    length: FloatArray,
    speed_mps: float = REPOSITION_MPS,
) -> Segments:
    """Drive `path` (to the next trip's first stop) at `speed_mps`, then stand there until it departs."""
    e, s = runs.end_s[prev], runs.start_s[nxt]
    arrive = np.minimum(e + length / speed_mps, s)
    vehicle = fleet.vehicle[prev]
    none = np.full(len(prev), -1, dtype=np.int64)
    move = Segments(vehicle, e, arrive, path, np.zeros(len(prev)), length, none)
    stand = Segments(vehicle, arrive, s, path, length, length, none)
    return _concat([move, stand])


def _far_stands(
    fleet: Fleet, runs: Runs, trip_path: IntArray, ends: RunEnds, prev: IntArray, nxt: IntArray
) -> Segments:
    """A minute standing after the run and before the next one; the tracker is off in between."""
    e, s = runs.end_s[prev], runs.start_s[nxt]
    stand = np.minimum(FAR_STAND_S, (s - e) / 2)
    vehicle = fleet.vehicle[prev]
    none = np.full(len(prev), -1, dtype=np.int64)
    after = Segments(vehicle, e, e + stand, trip_path[prev], ends.end_m[prev], ends.end_m[prev], none)
    before = Segments(vehicle, s - stand, s, trip_path[nxt], ends.start_m[nxt], ends.start_m[nxt], none)
    return _concat([after, before])


def _pull_out_in(fleet: Fleet, runs: Runs, trip_path: IntArray, ends: RunEnds) -> Segments:
    """Standing at the first stop before the bus's first trip, and where its last trip ended after it."""
    order = runs.order
    vehicle = fleet.vehicle[order]
    first = order[np.r_[True, vehicle[1:] != vehicle[:-1]]] if len(order) else order
    last = order[np.r_[vehicle[1:] != vehicle[:-1], True]] if len(order) else order
    s, e = runs.start_s[first], runs.end_s[last]
    none = np.full(len(first), -1, dtype=np.int64)
    out = Segments(
        fleet.vehicle[first],
        s - PULL_OUT_S,
        s,
        trip_path[first],
        ends.start_m[first],
        ends.start_m[first],
        none,
    )
    back = Segments(
        fleet.vehicle[last], e, e + PULL_IN_S, trip_path[last], ends.end_m[last], ends.end_m[last], none
    )
    return _concat([out, back])


def swap_times(fleet: Fleet, runs: Runs, swap_at: FloatArray) -> FloatArray:
    """When a spare bus takes over each swapped vehicle: the end of the run before the chosen layover.

    A vehicle with a single run has no layover and is not swapped (NaN, as for vehicles without the fault).
    """
    prev, _nxt = _consecutive(fleet, runs.order)
    owner = fleet.vehicle[prev]
    count = np.bincount(owner, minlength=fleet.vehicles)
    start = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    chosen = np.flatnonzero(~np.isnan(swap_at) & (count > 0))
    pick = start[chosen] + np.minimum((swap_at[chosen] * count[chosen]).astype(np.int64), count[chosen] - 1)
    swap_s = np.full(fleet.vehicles, np.nan)
    swap_s[chosen] = runs.end_s[prev[pick]]
    return swap_s


def _concat(parts: list[Segments]) -> Segments:
    return Segments(*(np.concatenate([getattr(p, name) for p in parts]) for name in Segments.__slots__))


def _sorted(parts: list[Segments]) -> Segments:
    merged = _concat(parts)
    keep = merged.t1 > merged.t0
    order = np.flatnonzero(keep)[np.lexsort((merged.t0[keep], merged.vehicle[keep]))]
    return Segments(*(getattr(merged, name)[order] for name in Segments.__slots__))
