"""The matcher: which vehicle ran which trip instance of a service day, and how much of it (pure).

Candidates come from `candidates`; per path, the pings that may lie on it are projected once and every
candidate pair is tracked along the trip's path by `coverage`; `evidence` sums each pair up, and `choose`
groups pairs into runs and matches runs to instances. docs/matching.md has the whole picture.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from transit.matching.candidates import PathFilter, cell_keys, find_candidates, move_sectors, path_cells
from transit.matching.choose import Instances, choose_pairs
from transit.matching.coverage import MatchRules, Schedules, Tracks, track_pairs
from transit.matching.evidence import EVIDENCE_COLUMNS, CoveredStretches, MatchedPings, compute_evidence
from transit.matching.paths import PathIndex
from transit.matching.projection import FloatArray, IntArray, NearbySegments, ObjectArray, to_local_xy

__all__ = ["MATCH_COLUMNS", "MatchRules", "match_day"]

MATCH_COLUMNS = (
    "service_date", "trip_id", "start_time", "vehicle_ids", "coverage", "first_ping_at", "last_ping_at",
    "stops_reached", "stops_total", "lost_distance_m", "start_delay_s", "lag_s",
)  # fmt: skip
_EPOCH = pd.Timestamp(0, tz="UTC")
_SURE_MOVE_M = 80.0  # a move this long has a heading well above 30 m GPS noise
_END_AWAY_M = 300.0  # a covered stretch starting (ending) this far from the first (last) stop
_AROUND_S = 180.0  # ... while the vehicle reported within this before (after) it
_ACTIVE_COLUMNS = ("active_from_s", "core_from_s", "core_to_s", "active_to_s")  # Tracks.active_s
_THREADS = max(1, min(4, os.cpu_count() or 1))  # paths are tracked on this many threads
_ROUTE_ONLY = 0.5  # weight of a ping naming only an instance's route (assign._named_rows)
_KEY_STEP_S = 1e8  # seconds between vehicles in the ping sort key (more than any ping file spans)


@dataclass(frozen=True, slots=True)
class _Pings:
    """Pings sorted by vehicle then time, duplicates removed; vehicle rows first[v] to first[v + 1] - 1."""

    vehicle_ids: ObjectArray
    vehicle: IntArray
    first: IntArray
    x: FloatArray
    y: FloatArray
    t: FloatArray
    key: FloatArray  # per ping: key_of(vehicle, t), non-decreasing
    dx: FloatArray  # metres moved east since the vehicle's previous ping (0 for its first)
    dy: FloatArray
    cell: IntArray  # grid cell key (candidates.cell_keys)
    sector: IntArray  # heading sector of its move, -1 under _SURE_MOVE_M
    trip_id: ObjectArray
    route_id: ObjectArray
    start_time: ObjectArray
    t0: float

    def key_of(self, vehicle: IntArray, t: FloatArray) -> FloatArray:
        """The sort key of a vehicle at a time (epoch seconds)."""
        return np.asarray(vehicle * _KEY_STEP_S + (t - self.t0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Per trip instance: row in the path index (-1: none), path, start and end (epoch s), stop span."""

    trip: IntArray
    path: IntArray
    start_s: FloatArray
    end_s: FloatArray
    first_m: FloatArray
    last_m: FloatArray
    block: IntArray  # code of the instance's duty (`_duty`: block, else route), -1 for none


def match_day(
    paths: PathIndex,
    plan: pd.DataFrame,
    pings: pd.DataFrame,
    *,
    use_trip_ids: bool = True,
    rules: MatchRules = MatchRules(),  # noqa: B008 (frozen, immutable default)
) -> pd.DataFrame:
    """One row per trip instance of `plan` that a vehicle ran (columns MATCH_COLUMNS), in plan order."""
    day = _prepare_plan(paths, plan)
    seen = _prepare_pings(pings, paths.origin)
    window = (day.path, day.start_s - rules.before_start_s, day.end_s + rules.after_end_s)
    cells = path_cells(paths)
    pairs = find_candidates(cells, (seen.vehicle, seen.x, seen.y, seen.t), window)
    scored, covered = _score_pairs(paths, cells, day, seen, pairs, plan, rules)
    instances = Instances(day.path, day.block, _terminals(paths, day))
    chosen = [int(i) for i in choose_pairs(scored, instances, use_trip_ids=use_trip_ids)]
    stretches = [covered.of_pair(i) for i in chosen]
    return _report(paths, plan, day, seen, scored.loc[chosen], stretches)


def _terminals(paths: PathIndex, day: _Plan) -> FloatArray:
    """Per instance, where its first and its last stop lie on its path: x0, y0, x1, y1 (NaN: no path)."""
    out = np.full((len(day.path), 4), np.nan)
    for path_id in np.unique(day.path[day.path >= 0]):
        rows = day.path == path_id
        path = paths.path(int(path_id))
        for k, along in enumerate((day.first_m[rows], day.last_m[rows])):
            out[rows, 2 * k] = np.interp(along, path.cum_m, path.x)
            out[rows, 2 * k + 1] = np.interp(along, path.cum_m, path.y)
    return out


def _duty(plan: pd.DataFrame) -> pd.Series:
    """What one vehicle keeps to through the day: the instance's block, else its route (a feed without
    blocks, or frequency-based trips); null where neither is known."""

    def text(column: str) -> pd.Series:
        if column not in plan.columns:
            return pd.Series(pd.NA, index=plan.index, dtype="string")
        values = plan[column].astype("string").str.strip()
        return values.mask(values == "")

    return ("block:" + text("block_id")).fillna("route:" + text("route_id"))


def _prepare_plan(paths: PathIndex, plan: pd.DataFrame) -> _Plan:
    trip = paths.trip_positions(plan["trip_id"].astype(str).to_numpy(dtype=object))
    path = np.where(trip >= 0, paths.trip_path[np.maximum(trip, 0)], -1).astype(np.int64)
    first_m, last_m = np.zeros(len(trip)), np.zeros(len(trip))
    for pattern in np.unique(paths.trip_pattern[trip[trip >= 0]]):
        lo, n = int(paths.pattern_first[pattern]), int(paths.pattern_count[pattern])
        rows = (trip >= 0) & (paths.trip_pattern[np.maximum(trip, 0)] == pattern)
        first_m[rows], last_m[rows] = paths.stop_dist_m[lo], paths.stop_dist_m[lo + n - 1]
    block, _ = pd.factorize(_duty(plan))
    return _Plan(
        trip,
        path,
        _seconds(plan["start_at"]),
        _seconds(plan["end_at"]),
        first_m,
        last_m,
        block.astype(np.int64),
    )


def _seconds(at: pd.Series) -> FloatArray:
    """Epoch seconds of aware instants."""
    return np.asarray((pd.to_datetime(at, utc=True) - _EPOCH).dt.total_seconds(), dtype=np.float64)


def _prepare_pings(pings: pd.DataFrame, origin: tuple[float, float]) -> _Pings:
    frame = pd.DataFrame(
        {
            "vehicle_id": pings["vehicle_id"].astype(str).to_numpy(dtype=object),
            "t": _seconds(pings["timestamp"]),
            "lat": pd.to_numeric(pings["latitude"]).to_numpy(dtype=float),
            "lon": pd.to_numeric(pings["longitude"]).to_numpy(dtype=float),
            "trip_id": _text(pings, "trip_id"),
            "route_id": _text(pings, "route_id"),
            "start_time": _text(pings, "start_time"),
        }
    ).dropna(subset=["t", "lat", "lon"])
    frame = frame.drop_duplicates(["vehicle_id", "t"]).sort_values(["vehicle_id", "t"], kind="stable")
    codes, names = pd.factorize(frame["vehicle_id"], sort=True)
    x, y = to_local_xy(frame["lat"].to_numpy(), frame["lon"].to_numpy(), origin)
    counts = np.bincount(codes, minlength=len(names))
    t = frame["t"].to_numpy(dtype=float)
    t0 = float(t.min()) if len(t) else 0.0
    same = np.r_[False, codes[1:] == codes[:-1]]
    dx, dy = np.where(same, np.r_[0.0, np.diff(x)], 0.0), np.where(same, np.r_[0.0, np.diff(y)], 0.0)
    return _Pings(
        vehicle_ids=np.asarray(names, dtype=object),
        vehicle=codes.astype(np.int64),
        first=np.r_[0, np.cumsum(counts)].astype(np.int64),
        x=x,
        y=y,
        t=t,
        key=np.asarray(codes * _KEY_STEP_S + (t - t0), dtype=np.float64),
        dx=dx,
        dy=dy,
        cell=cell_keys(x, y),
        sector=move_sectors(dx, dy, _SURE_MOVE_M),
        trip_id=frame["trip_id"].to_numpy(dtype=object),
        route_id=frame["route_id"].to_numpy(dtype=object),
        start_time=frame["start_time"].to_numpy(dtype=object),
        t0=t0,
    )


def _text(pings: pd.DataFrame, column: str) -> ObjectArray:
    if column not in pings.columns:
        return np.full(len(pings), None, dtype=object)
    text = pings[column].astype("string")
    return np.asarray(text.astype(object).where(text.notna(), None).to_numpy(), dtype=object)


def _score_pairs(
    paths: PathIndex,
    cells: pd.DataFrame,
    day: _Plan,
    seen: _Pings,
    pairs: pd.DataFrame,
    plan: pd.DataFrame,
    rules: MatchRules,
) -> tuple[pd.DataFrame, CoveredStretches]:
    """Every candidate pair's evidence and score (row i: pairs row i), tracked path by path, and stretches."""
    pairs = pairs.reset_index(drop=True)
    named = _named_rows(plan, seen)
    path_of = day.path[pairs["instance"].to_numpy(dtype=np.int64)]
    order = np.argsort(path_of, kind="stable")
    bounds = np.flatnonzero(np.r_[True, path_of[order][1:] != path_of[order][:-1], True])
    groups = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)] if len(order) else []

    def score(members: IntArray) -> tuple[pd.DataFrame, tuple[IntArray, FloatArray]]:
        admits = PathFilter(cells, int(path_of[members[0]])).admits
        frame, owner, intervals = _score_path(paths, day, seen, pairs.iloc[members], (named, admits), rules)
        return frame.set_axis(members), (members[owner], intervals)

    # Paths are independent, and most of their work is numpy's, which runs outside the GIL: threads share
    # the pings without copying them. The biggest paths first, so that the threads end together.
    groups.sort(key=len, reverse=True)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        done = list(pool.map(score, groups))
    frames = [frame for frame, _ in done]
    covered = [stretches for _, stretches in done]
    scored = (
        pd.concat(frames).sort_index()
        if frames
        else pd.DataFrame(columns=[*EVIDENCE_COLUMNS, *_ACTIVE_COLUMNS, "elsewhere"])
    )
    scored["vehicle"] = pairs["vehicle"].to_numpy(dtype=np.int64)
    scored["instance"] = pairs["instance"].to_numpy(dtype=np.int64)
    return scored, CoveredStretches.of(covered)


def _named_rows(plan: pd.DataFrame, seen: _Pings) -> Callable[[IntArray, IntArray], FloatArray]:
    """How much ping rows name the given plan rows in their payload: 1 for its trip_id (and start_time if
    given), _ROUTE_ONLY for its route_id on a ping without a trip_id (it narrows the route, not the trip)."""
    trip_ids = plan["trip_id"].astype(str).to_numpy(dtype=object)
    route_ids = _text(plan, "route_id")  # a plan made by hand may have none
    start_times = plan["start_time"].astype(str).to_numpy(dtype=object)

    def named(rows: IntArray, instance: IntArray) -> FloatArray:
        start, trip = seen.start_time[rows], seen.trip_id[rows]
        same_start = (start == start_times[instance]) | pd.isna(start)
        by_trip = (trip == trip_ids[instance]) & same_start
        route = seen.route_id[rows]
        by_route = pd.isna(trip) & pd.notna(route) & (route == route_ids[instance])
        return np.where(by_trip, 1.0, np.where(by_route, _ROUTE_ONLY, 0.0))

    return named


def _score_path(
    paths: PathIndex,
    day: _Plan,
    seen: _Pings,
    pairs: pd.DataFrame,
    tests: tuple[Callable[[IntArray, IntArray], FloatArray], Callable[[IntArray, IntArray], np.ndarray]],
    rules: MatchRules,
) -> tuple[pd.DataFrame, IntArray, FloatArray]:
    """Scores of the pairs of one path (row k: pairs row k) and their covered stretches (local pair, m).

    `tests`: whether ping rows name given instances in their payload, and whether pings (cell, sector)
    may lie on this path at all (the others are left out before tracking).
    """
    named, admits = tests
    vehicle = pairs["vehicle"].to_numpy(dtype=np.int64)
    instance = pairs["instance"].to_numpy(dtype=np.int64)
    # The pings that may lie on this path (its cells, its way) of the vehicles concerned, in key order.
    vehicles = np.unique(vehicle)
    begin, count = seen.first[vehicles], seen.first[vehicles + 1] - seen.first[vehicles]
    mine = np.repeat(begin - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    admitted = mine[admits(seen.cell[mine], seen.sector[mine])]
    keys = seen.key[admitted]
    lo = np.searchsorted(keys, seen.key_of(vehicle, day.start_s[instance] - rules.before_start_s))
    hi = np.searchsorted(keys, seen.key_of(vehicle, day.end_s[instance] + rules.after_end_s), "right")
    count = hi - lo
    pair = np.repeat(np.arange(len(pairs)), count)
    at = np.repeat(lo - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    rows = admitted[at]
    sched = Schedules(day.start_s[instance], day.end_s[instance], day.first_m[instance], day.last_m[instance])
    path_id = int(day.path[instance[0]])
    if pd.isna(paths.shape_id[path_id]):  # a stop chain: the bus keeps to streets, not to the chords
        rules = replace(rules, match_radius_m=rules.chain_radius_m)
    grid = NearbySegments.of(paths.path(path_id), cell_m=max(100.0, rules.match_radius_m / 0.75))
    xyt, motion = (seen.x, seen.y, seen.t), (seen.dx, seen.dy)
    tracks = track_pairs(pair, (admitted, at), xyt, motion, grid, sched, rules)
    hit = tracks.matched
    ping = rows[tracks.keep][hit]
    found = MatchedPings(
        tracks.pair[hit], tracks.along_m[hit], seen.t[ping], named(ping, instance[tracks.pair[hit]])
    )
    evidence = compute_evidence(found, sched, tracks.covered_m, rules.at_stop_m)
    for k, column in enumerate(_ACTIVE_COLUMNS):
        evidence[column] = tracks.active_s[:, k]
    evidence["elsewhere"] = _seen_elsewhere(seen, vehicle, sched, tracks)
    return evidence, tracks.interval_pair, tracks.intervals


def _seen_elsewhere(seen: _Pings, vehicle: IntArray, sched: Schedules, tracks: Tracks) -> np.ndarray:
    """Pairs that cover only a middle stretch of the path while their vehicle kept reporting before and
    after: it was visibly elsewhere when it would have run the rest (a deadhead along another route, or
    the shared part of another route's corridor), unlike a silent tracker, which leaves no pings.
    """
    n = len(vehicle)
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lo, tracks.interval_pair, tracks.intervals[:, 0])
    np.maximum.at(hi, tracks.interval_pair, tracks.intervals[:, 1])
    middle = (lo > sched.first_m + _END_AWAY_M) & (hi < sched.last_m - _END_AWAY_M)
    began, ended = tracks.active_s[:, 0], tracks.active_s[:, 3]
    before = _pings_between(seen, vehicle, began - _AROUND_S, began - 1.0)
    after = _pings_between(seen, vehicle, ended + 1.0, ended + _AROUND_S)
    return np.asarray(middle & before & after, dtype=bool)


def _pings_between(seen: _Pings, vehicle: IntArray, t0: FloatArray, t1: FloatArray) -> np.ndarray:
    """Whether each vehicle has a ping in [t0, t1] (NaN bounds: no)."""
    ok = np.isfinite(t0) & np.isfinite(t1)
    t0, t1 = np.nan_to_num(t0), np.nan_to_num(t1)
    first = np.searchsorted(seen.key, seen.key_of(vehicle, t0), side="left")
    last = np.searchsorted(seen.key, seen.key_of(vehicle, t1), side="right")
    return np.asarray(ok & (last > first), dtype=bool)


def _report(
    paths: PathIndex,
    plan: pd.DataFrame,
    day: _Plan,
    seen: _Pings,
    chosen: pd.DataFrame,
    stretches: list[FloatArray],
) -> pd.DataFrame:
    """The output frame: one row per chosen pair, in plan order."""
    instance = chosen["instance"].to_numpy(dtype=np.int64)
    stops = [paths.trip_stop_dist_m(int(day.trip[i])) for i in instance]
    length = day.last_m[instance] - day.first_m[instance]
    coverage = chosen["coverage"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "service_date": plan["service_date"].to_numpy()[instance],
            "trip_id": plan["trip_id"].to_numpy()[instance],
            "start_time": plan["start_time"].to_numpy()[instance],
            "vehicle_ids": seen.vehicle_ids[chosen["vehicle"].to_numpy(dtype=np.int64)],
            "coverage": np.round(coverage, 4),
            "first_ping_at": _instants(chosen["first_s"]),
            "last_ping_at": _instants(chosen["last_s"]),
            "stops_reached": [_reached(s, c) for s, c in zip(stops, stretches, strict=True)],
            "stops_total": [len(s) for s in stops],
            "lost_distance_m": np.round(length * (1.0 - coverage), 1),
            "start_delay_s": chosen["start_delay_s"].to_numpy(dtype=float),
            "lag_s": chosen["lag_s"].to_numpy(dtype=float),
            "_order": instance,
        }
    )
    return out.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def _instants(seconds: pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(seconds.to_numpy(dtype=float), unit="s", utc=True))


def _reached(stop_m: FloatArray, intervals: FloatArray, at_stop_m: float = 50.0) -> int:
    """Stops that lie within at_stop_m of a covered stretch."""
    if len(intervals) == 0:
        return 0
    near = (stop_m[:, None] >= intervals[None, :, 0] - at_stop_m) & (
        stop_m[:, None] <= intervals[None, :, 1] + at_stop_m
    )
    return int(near.any(axis=1).sum())
