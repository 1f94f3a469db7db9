"""Deadheads: during a layover the bus runs empty, with no trip_id, along another route's path and back.

From where its trip ended the bus goes straight to the nearest vertex (within 300 m) of a path that another
route's trips use today, follows that path for 300 m to 3 km (as far as the layover allows at 8 m/s), comes
back the same way and goes straight to its next trip's first stop, where it stands until departure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.telemetry.sim_paths import FloatArray, IntArray, Paths, build_paths, locate, to_plane_m

DEADHEAD_MPS = 8.0
DEADHEAD_REACH_M = 300.0
DEADHEAD_MIN_M = 300.0
DEADHEAD_MAX_M = 3000.0
DEADHEAD_MIN_GAP_S = 2 * (DEADHEAD_REACH_M + DEADHEAD_MIN_M) / DEADHEAD_MPS


@dataclass(frozen=True, slots=True)
class Layovers:
    """Candidate layovers: where the bus stands, where it must be, when, and the route it runs."""

    end_lat: FloatArray
    end_lon: FloatArray
    next_lat: FloatArray
    next_lon: FloatArray
    gap_s: FloatArray
    route: IntArray  # route code of the trip just run


@dataclass(frozen=True, slots=True)
class Deadheads:
    """The layovers that became deadheads (indices into the candidates) and one path for each."""

    chosen: IntArray
    paths: Paths


def build_deadheads(paths: Paths, path_route: IntArray, layovers: Layovers) -> Deadheads:
    """A deadhead path for each candidate layover that has another route's path within reach."""
    vertex_route = np.repeat(path_route, paths.count)
    usable = np.flatnonzero(vertex_route >= 0)
    lat0 = float(np.mean(paths.lat[usable])) if len(usable) else 0.0
    x, y = to_plane_m(paths.lat[usable], paths.lon[usable], lat0)
    by_x = np.argsort(x, kind="stable")
    xs, ys, vs = x[by_x], y[by_x], usable[by_x]
    ex, ey = to_plane_m(layovers.end_lat, layovers.end_lon, lat0)
    vertex_path = np.repeat(np.arange(paths.size), paths.count)
    chosen: list[int] = []
    points: list[tuple[FloatArray, FloatArray]] = []
    for k in range(len(ex)):
        lo, hi = np.searchsorted(xs, [ex[k] - DEADHEAD_REACH_M, ex[k] + DEADHEAD_REACH_M])
        near = np.hypot(xs[lo:hi] - ex[k], ys[lo:hi] - ey[k])
        near[vertex_route[vs[lo:hi]] == layovers.route[k]] = np.inf
        if hi == lo or not np.isfinite(near.min()):
            continue
        vertex = int(vs[lo + int(np.argmin(near))])
        route = _route_points(paths, int(vertex_path[vertex]), vertex, layovers, k, float(near.min()))
        if route is not None:
            chosen.append(k)
            points.append(route)
    group = np.repeat(np.arange(len(points), dtype=np.int64), [len(p[0]) for p in points])
    lat = np.concatenate([p[0] for p in points]) if points else np.zeros(0)
    lon = np.concatenate([p[1] for p in points]) if points else np.zeros(0)
    return Deadheads(np.asarray(chosen, dtype=np.int64), build_paths(group, lat, lon, len(points)))


def _route_points(
    paths: Paths, path: int, vertex: int, layovers: Layovers, k: int, reach_m: float
) -> tuple[FloatArray, FloatArray] | None:
    """End point, out along the other path, back, next first stop; None when the layover is too short."""
    budget = layovers.gap_s[k] * DEADHEAD_MPS - 2 * reach_m - 2 * DEADHEAD_REACH_M  # margin for the way back
    at = float(paths.cum_m[vertex])
    forward = float(paths.length_m[path]) - at
    room = max(forward, at)
    run = min(DEADHEAD_MAX_M, budget / 2, room)
    if run < DEADHEAD_MIN_M:
        return None
    lo = int(paths.first[path])
    cum = paths.cum_m[lo : lo + int(paths.count[path])]
    target = at + run if forward >= at else at - run
    inner = np.flatnonzero((cum > min(at, target)) & (cum < max(at, target))) + lo
    if target < at:
        inner = inner[::-1]
    tip = locate(paths, np.array([path]), np.array([target]))
    out_lat = np.r_[paths.lat[vertex], paths.lat[inner], tip.lat]
    out_lon = np.r_[paths.lon[vertex], paths.lon[inner], tip.lon]
    lat = np.r_[layovers.end_lat[k], out_lat, out_lat[::-1][1:], layovers.next_lat[k]]
    lon = np.r_[layovers.end_lon[k], out_lon, out_lon[::-1][1:], layovers.next_lon[k]]
    return lat, lon
