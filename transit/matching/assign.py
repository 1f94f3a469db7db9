"""The matcher: which vehicle ran which trip instance of a service day, and how much of it (pure).

Candidates come from `candidates`; per path, the pings that may lie on it are projected once and every
candidate pair is tracked along the trip's path by `coverage`; `evidence` sums each pair up, and `choose`
groups pairs into runs and matches runs to instances. docs/matching.md has the whole picture.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from transit.matching.candidates import (
    MIN_MOVE_M,
    PathFilter,
    cell_keys,
    find_candidates,
    move_sectors,
    path_cells,
)
from transit.matching.choose import Instances, choose_pairs
from transit.matching.coverage import MatchRules, Schedules, track_pairs
from transit.matching.evidence import EVIDENCE_COLUMNS, CoveredStretches, MatchedPings, compute_evidence
from transit.matching.paths import PathIndex
from transit.matching.projection import FloatArray, IntArray, NearbySegments, ObjectArray, to_local_xy

__all__ = ["MATCH_COLUMNS", "MatchRules", "TrackCache", "match_day"]

MATCH_COLUMNS = (
    "service_date", "trip_id", "start_time", "vehicle_ids", "coverage", "first_ping_at", "last_ping_at",
    "stops_reached", "stops_total", "lost_distance_m", "start_delay_s", "lag_s",
)  # fmt: skip
_SURE_MOVE_M = 80.0  # a move this long has a heading well above 30 m GPS noise
_ACTIVE_COLUMNS = ("active_from_s", "core_from_s", "core_to_s", "active_to_s")  # Tracks.active_s
_THREADS = max(1, min(4, os.cpu_count() or 1))  # paths are tracked on this many threads
_PART_PAIRS = 2000  # candidate pairs of one path tracked at once
_ROUTE_ONLY = 0.5  # weight of a ping naming only an instance's route (assign._named_rows)
_TICKS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}  # of a datetime64 unit
_LAYOVER_M = 300.0  # inferred blocks: the one's last stop and the next one's first are one terminal
_TURN_S = 120.0  # and the next leaves at least this long after the one's end
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
    places: IntArray  # the distinct grid cell keys of the pings (candidates.cell_keys), sorted
    place: IntArray  # per ping: its cell's position in places
    sector: IntArray  # heading sector of its move, -1 under _SURE_MOVE_M
    heading: IntArray  # the same, -1 under candidates.MIN_MOVE_M
    ids: dict[str, tuple[np.ndarray, np.ndarray]]  # trip_id, start_time, route_id: plan's and pings' codes
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


@dataclass(slots=True)
class TrackCache:
    """The live matcher's per-vehicle state: tracked pairs kept from one pass over a day to the next.

    A pair's evidence depends only on its vehicle's pings within its window, so it stands as long as none
    of those changed. Before each pass the caller says, per vehicle_id,
    the time (epoch s) of its earliest ping that is new since the last pass (`changed_from`; a vehicle
    absent from it has none); pairs whose horizon ends before that are taken from the cache, the others
    are tracked again. Entries belong to one plan (its rows): keep one cache per service date and feed.
    """

    changed_from: dict[str, float] = field(default_factory=dict)
    scored: pd.DataFrame | None = None  # per pair: vehicle_id, instance, horizon_s and the evidence
    stretches: CoveredStretches | None = None  # by row of `scored`
    reused: int = 0  # pairs taken from the cache in the last pass
    tracked: int = 0  # pairs tracked in the last pass


def match_day(
    paths: PathIndex,
    plan: pd.DataFrame,
    pings: pd.DataFrame,
    *,
    use_trip_ids: bool = True,
    rules: MatchRules = MatchRules(),  # noqa: B008 (frozen, immutable default)
    cache: TrackCache | None = None,
) -> pd.DataFrame:
    """One row per trip instance of `plan` that a vehicle ran (columns MATCH_COLUMNS), in plan order.

    `cache` (the live matcher's): pairs tracked in an earlier pass over the same plan whose pings did not
    change are not tracked again; the result is the same as without it.
    """
    day = _prepare_plan(paths, plan)
    seen = _prepare_pings(pings, paths.origin, plan)
    window = (day.path, day.start_s - rules.before_start_s, day.end_s + rules.after_end_s)
    cells = path_cells(paths)
    pairs = find_candidates(
        cells, (seen.vehicle, seen.x, seen.y, seen.t), window, (seen.places, seen.place, seen.heading)
    )
    scored, covered = _score_pairs(paths, cells, day, seen, pairs, rules, cache)
    terminals = _terminals(paths, day)
    instances = Instances(day.path, day.block, terminals, _chains(plan, day, terminals))
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


def _chains(plan: pd.DataFrame, day: _Plan, terminals: FloatArray) -> IntArray:
    """Per instance without a block_id, an inferred block (-1 for the others): the route's trips chained as
    one bus runs them, first in, first out. Trips in order of their end; each is followed by the earliest
    trip of the same route not yet taken that leaves from the same terminal (its first stop within
    _LAYOVER_M of the one's last) at least _TURN_S after its end: how schedulers build blocks, and how buses
    queue at a terminal. Trackers label a bus by its block; a feed without blocks still implies them.
    """
    chain = np.full(len(plan), -1, dtype=np.int64)
    free = _duty(plan).str.startswith("route:").fillna(False).to_numpy(dtype=bool)
    free &= np.isfinite(terminals).all(axis=1)
    if "route_id" not in plan.columns or not free.any():
        return chain
    routes = plan["route_id"].astype(str).to_numpy()
    after = np.full(len(plan), -1, dtype=np.int64)  # the next trip of each one's chain
    taken = np.zeros(len(plan), dtype=bool)
    for route in pd.unique(routes[free]):
        mine = np.flatnonzero(free & (routes == route))
        leaves, arrives = _terminal_codes(terminals[mine], _LAYOVER_M)
        for place in np.unique(leaves):
            # This terminal's departures by time; `skip` jumps over those already taken (path halving).
            departing = mine[leaves == place]
            departing = departing[np.argsort(day.start_s[departing], kind="stable")]
            starts = day.start_s[departing]
            skip = np.arange(len(departing) + 1)
            coming = mine[arrives == place]
            for i in coming[np.argsort(day.end_s[coming], kind="stable")].tolist():
                k = int(np.searchsorted(starts, day.end_s[i] + _TURN_S, side="left"))
                while skip[k] != k:
                    skip[k] = skip[skip[k]]
                    k = int(skip[k])
                if k < len(departing):
                    after[i], taken[departing[k]], skip[k] = departing[k], True, k + 1
    for code, head in enumerate(np.flatnonzero(free & ~taken).tolist()):  # chains start where none leads
        k = head
        while k >= 0:
            chain[k], k = code, int(after[k])
    return chain


def _terminal_codes(terminals: FloatArray, reach_m: float) -> tuple[IntArray, IntArray]:
    """A code per trip's first and last stop (terminals: x0, y0, x1, y1): stops within reach_m of a
    terminal's first point share its code. A route has a handful of terminals: a plain loop over them."""
    points = np.vstack((terminals[:, :2], terminals[:, 2:]))
    distinct, back = np.unique(np.round(points), axis=0, return_inverse=True)
    centres: list[FloatArray] = []
    code = np.empty(len(distinct), dtype=np.int64)
    for k, point in enumerate(distinct):
        near = [c for c, centre in enumerate(centres) if np.hypot(*(point - centre)) <= reach_m]
        code[k] = near[0] if near else len(centres)
        if not near:
            centres.append(point)
    codes = code[back.ravel()]
    return codes[: len(terminals)], codes[len(terminals) :]


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
    """Epoch seconds of aware instants (NaN for none); from their integer ticks, without a copy per step."""
    index = pd.DatetimeIndex(pd.to_datetime(at, utc=True))
    ticks = index.asi8.astype(np.float64) / _TICKS_PER_SECOND[index.unit]
    return np.asarray(np.where(index.isna(), np.nan, ticks), dtype=np.float64)


def _prepare_pings(pings: pd.DataFrame, origin: tuple[float, float], plan: pd.DataFrame) -> _Pings:
    t = _seconds(pings["timestamp"])
    lat = pd.to_numeric(pings["latitude"]).to_numpy(dtype=float)
    lon = pd.to_numeric(pings["longitude"]).to_numpy(dtype=float)
    codes, names = _vehicle_codes(pings["vehicle_id"])
    usable = np.flatnonzero(np.isfinite(t) & np.isfinite(lat) & np.isfinite(lon))
    # By vehicle, then time; of pings repeating a vehicle's time, the first in the input stays.
    rows = usable[_by_vehicle_then_time(codes[usable], t[usable])]
    rows = rows[
        np.r_[True, (codes[rows][1:] != codes[rows][:-1]) | (t[rows][1:] != t[rows][:-1])][: len(rows)]
    ]
    codes, t = codes[rows].astype(np.int64), t[rows]
    x, y = to_local_xy(lat[rows], lon[rows], origin)
    counts = np.bincount(codes, minlength=len(names))
    t0 = float(t.min()) if len(t) else 0.0
    places, place = _sorted_codes(cell_keys(x, y))
    same = np.r_[False, codes[1:] == codes[:-1]][: len(codes)]
    dx, dy = np.where(same, np.r_[0.0, np.diff(x)], 0.0), np.where(same, np.r_[0.0, np.diff(y)], 0.0)
    heading = move_sectors(dx, dy, MIN_MOVE_M)  # (its first ping has no move: -1)
    return _Pings(
        vehicle_ids=np.asarray(names, dtype=object),
        vehicle=codes,
        first=np.r_[0, np.cumsum(counts)].astype(np.int64),
        x=x,
        y=y,
        t=t,
        key=np.asarray(codes * _KEY_STEP_S + (t - t0), dtype=np.float64),
        dx=dx,
        dy=dy,
        places=places,
        place=place.astype(np.int32),
        sector=np.where(np.hypot(dx, dy) >= _SURE_MOVE_M, heading, -1).astype(np.int8),
        heading=heading,
        ids={
            column: _codes(_text(plan, column), pings, column, rows)
            for column in ("trip_id", "start_time", "route_id")  # a plan made by hand may have no route_id
        },
        t0=t0,
    )


def _by_vehicle_then_time(vehicle: IntArray, t: FloatArray) -> IntArray:
    """The stable order by vehicle code, then time. Ping files come by time: then a stable sort of the
    vehicle codes alone does it (a radix sort when they fit 16 bits), several times faster than a lexsort."""
    if len(t) and bool(np.all(t[1:] >= t[:-1])):
        small = len(vehicle) == 0 or int(vehicle.max()) < np.iinfo(np.int16).max
        return np.argsort(vehicle.astype(np.int16) if small else vehicle, kind="stable")
    return np.lexsort((t, vehicle))


def _sorted_codes(keys: IntArray) -> tuple[IntArray, IntArray]:
    """np.unique(keys, return_inverse=True) by hashing (most keys repeat): the few distinct ones sorted."""
    codes, distinct = pd.factorize(keys)
    order = np.argsort(distinct)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.asarray(distinct[order], dtype=np.int64), rank[codes]


def _vehicle_codes(vehicle_id: pd.Series) -> tuple[IntArray, ObjectArray]:
    """Per ping, a code of its vehicle id (as text); codes follow the sorted ids."""
    codes, distinct = pd.factorize(vehicle_id.to_numpy(), use_na_sentinel=False)  # each id once
    names = pd.Index(distinct).astype(str).to_numpy(dtype=object)
    if len(set(names)) < len(names):  # ids that differ only in type (5 and "5"): one vehicle
        codes, distinct = pd.factorize(vehicle_id.astype(str).to_numpy(dtype=object))
        names = np.asarray(distinct, dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], names[order]


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
    rules: MatchRules,
    cache: TrackCache | None = None,
) -> tuple[pd.DataFrame, CoveredStretches]:
    """Every candidate pair's evidence and score (row i: pairs row i), tracked path by path, and stretches."""
    pairs = pairs.reset_index(drop=True)
    kept = _cached(cache, seen, day, pairs, rules)
    fresh = pairs[kept < 0]
    scored, covered = _track_pairs(paths, cells, day, seen, fresh, rules)
    if cache is None:
        return scored, covered
    if cache.scored is not None and cache.stretches is not None:
        scored, covered = _with_cached((cache.scored, cache.stretches), (scored, covered), kept)
    scored = scored.assign(
        vehicle=pairs["vehicle"].to_numpy(dtype=np.int64),
        instance=pairs["instance"].to_numpy(dtype=np.int64),
        vehicle_id=seen.vehicle_ids[pairs["vehicle"].to_numpy(dtype=np.int64)],
        horizon_s=_horizon_s(day, pairs["instance"].to_numpy(dtype=np.int64), rules),
    )
    cache.scored, cache.stretches = scored, covered
    cache.reused, cache.tracked = int((kept >= 0).sum()), len(fresh)
    return scored, covered


def _horizon_s(day: _Plan, instance: IntArray, rules: MatchRules) -> FloatArray:
    """The last time (epoch s) whose pings a pair's evidence depends on: its window's end."""
    return np.asarray(day.end_s[instance] + rules.after_end_s, dtype=np.float64)


def _cached(
    cache: TrackCache | None, seen: _Pings, day: _Plan, pairs: pd.DataFrame, rules: MatchRules
) -> IntArray:
    """Per pair, its row in the cache if that still stands (-1: track it)."""
    kept = np.full(len(pairs), -1, dtype=np.int64)
    if cache is None or cache.scored is None or len(pairs) == 0:
        return kept
    instance = pairs["instance"].to_numpy(dtype=np.int64)
    vehicle_id = seen.vehicle_ids[pairs["vehicle"].to_numpy(dtype=np.int64)]
    known = pd.MultiIndex.from_arrays([cache.scored["vehicle_id"], cache.scored["instance"]])
    at = known.get_indexer(pd.MultiIndex.from_arrays([vehicle_id, instance]))
    changed = pd.Series(cache.changed_from, dtype=float).reindex(vehicle_id).fillna(np.inf).to_numpy()
    stands = (at >= 0) & (_horizon_s(day, instance, rules) < changed)
    kept[stands] = at[stands]
    return kept


def _with_cached(
    cached: tuple[pd.DataFrame, CoveredStretches],
    tracked: tuple[pd.DataFrame, CoveredStretches],
    kept: IntArray,
) -> tuple[pd.DataFrame, CoveredStretches]:
    """The tracked pairs' results and the cached ones (rows `kept`, -1: tracked) together, in pair order."""
    (cached_scored, cached_stretches), (scored, covered) = cached, tracked
    fresh = np.flatnonzero(kept < 0)
    reused = np.flatnonzero(kept >= 0)
    columns = [c for c in scored.columns if c not in ("vehicle", "instance")]
    old = cached_scored.iloc[kept[reused]][columns].set_axis(reused)
    new = scored[columns].set_axis(fresh)
    both = pd.concat([f for f in (new, old) if len(f)]).sort_index() if len(new) or len(old) else new
    lo = np.searchsorted(cached_stretches.pair, kept[reused])
    hi = np.searchsorted(cached_stretches.pair, kept[reused], side="right")
    count = hi - lo
    rows = np.repeat(lo - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    parts = [
        (fresh[covered.pair], covered.intervals),
        (np.repeat(reused, count), cached_stretches.intervals[rows]),
    ]
    return both, CoveredStretches.of(parts)


def _track_pairs(
    paths: PathIndex,
    cells: pd.DataFrame,
    day: _Plan,
    seen: _Pings,
    pairs: pd.DataFrame,
    rules: MatchRules,
) -> tuple[pd.DataFrame, CoveredStretches]:
    """Track `pairs` (row i: pairs row i, whatever its label) path by path: evidence and stretches."""
    pairs = pairs.reset_index(drop=True)
    named = _named_rows(seen)
    path_of = day.path[pairs["instance"].to_numpy(dtype=np.int64)]
    order = np.argsort(path_of, kind="stable")
    bounds = np.flatnonzero(np.r_[True, path_of[order][1:] != path_of[order][:-1], True])
    groups = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)] if len(order) else []

    def score(members: IntArray) -> tuple[pd.DataFrame, tuple[IntArray, FloatArray]]:
        admits = PathFilter(cells, int(path_of[members[0]]), seen.places).admits
        frame, owner, intervals = _score_path(paths, day, seen, pairs.iloc[members], (named, admits), rules)
        return frame.set_axis(members), (members[owner], intervals)

    # Pairs are independent, and most of their work is numpy's, which runs outside the GIL: threads share
    # the pings without copying them. A busy path goes in parts (memory grows with a part's pings); the
    # biggest parts first, so that the threads end together.
    parts = [group[k : k + _PART_PAIRS] for group in groups for k in range(0, len(group), _PART_PAIRS)]
    parts.sort(key=len, reverse=True)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        done = list(pool.map(score, parts))
    frames = [frame for frame, _ in done]
    covered = [stretches for _, stretches in done]
    scored = (
        pd.concat(frames).sort_index()
        if frames
        else pd.DataFrame(columns=[*EVIDENCE_COLUMNS, *_ACTIVE_COLUMNS])
    )
    scored["vehicle"] = pairs["vehicle"].to_numpy(dtype=np.int64)
    scored["instance"] = pairs["instance"].to_numpy(dtype=np.int64)
    return scored, CoveredStretches.of(covered)


def _named_rows(seen: _Pings) -> Callable[[IntArray, IntArray], FloatArray]:
    """How much ping rows name the given plan rows in their payload: 1 for its trip_id (and start_time if
    given), _ROUTE_ONLY for its route_id on a ping without a trip_id (it narrows the route, not the trip).

    Ids are coded once against the plan's (`_Pings.ids`), so that the many (ping, pair) rows compare integers.
    """
    (trip, ping_trip), (start, ping_start), (route, ping_route) = (
        seen.ids[column] for column in ("trip_id", "start_time", "route_id")
    )

    def named(rows: IntArray, instance: IntArray) -> FloatArray:
        same_start = (ping_start[rows] == start[instance]) | (ping_start[rows] == _ABSENT)
        by_trip = (ping_trip[rows] == trip[instance]) & (trip[instance] >= 0) & same_start
        by_route = (
            (ping_trip[rows] == _ABSENT) & (ping_route[rows] == route[instance]) & (route[instance] >= 0)
        )
        return np.where(by_trip, 1.0, np.where(by_route, _ROUTE_ONLY, 0.0))

    return named


_ABSENT = -2  # `_codes` of a missing id (-1: an id the plan does not have)


def _codes(
    plan_ids: ObjectArray, pings: pd.DataFrame, column: str, rows: IntArray
) -> tuple[np.ndarray, np.ndarray]:
    """The plan's ids and the ids of the ping rows `rows` in `column`, as codes of the plan's distinct ids
    (-1: not in the plan; _ABSENT: none). Each distinct ping id is looked up once."""
    known = pd.Index(pd.unique(plan_ids[pd.notna(plan_ids)]))
    plan_codes = np.where(pd.isna(plan_ids), _ABSENT, known.get_indexer(pd.Index(plan_ids))).astype(np.int32)
    if column not in pings.columns:
        return plan_codes, np.full(len(rows), _ABSENT, dtype=np.int32)
    codes, distinct = pd.factorize(pings[column].to_numpy())  # -1: missing; the rows taken from the codes
    as_text = pd.Index(distinct).astype(str)
    looked_up = np.r_[known.get_indexer(as_text), _ABSENT].astype(np.int32)
    return plan_codes, looked_up[codes[rows]]


def _score_path(
    paths: PathIndex,
    day: _Plan,
    seen: _Pings,
    pairs: pd.DataFrame,
    tests: tuple[Callable[[IntArray, IntArray], FloatArray], Callable[[IntArray, IntArray], np.ndarray]],
    rules: MatchRules,
) -> tuple[pd.DataFrame, IntArray, FloatArray]:
    """Scores of the pairs of one path (row k: pairs row k) and their covered stretches (local pair, m).

    `tests`: whether ping rows name given instances in their payload, and whether pings (place, sector)
    may lie on this path at all (the others are left out before tracking).
    """
    named, admits = tests
    vehicle = pairs["vehicle"].to_numpy(dtype=np.int64)
    instance = pairs["instance"].to_numpy(dtype=np.int64)
    # The pings that may lie on this path (its cells, its way) in the windows of its pairs, in key order.
    opens = seen.key_of(vehicle, day.start_s[instance] - rules.before_start_s)
    closes = seen.key_of(vehicle, day.end_s[instance] + rules.after_end_s)
    mine = _rows_within(seen.key, opens, closes)
    admitted = mine[admits(seen.place[mine], seen.sector[mine])]
    keys = seen.key[admitted]
    lo, hi = np.searchsorted(keys, opens), np.searchsorted(keys, closes, "right")
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
    # Stretches serve only pairs that may be chosen (choose keeps none under MIN_COVERAGE, as rules here).
    useful = evidence["coverage"].to_numpy(dtype=float)[tracks.interval_pair] >= rules.min_coverage
    return evidence, tracks.interval_pair[useful], tracks.intervals[useful]


def _rows_within(keys: FloatArray, opens: FloatArray, closes: FloatArray) -> IntArray:
    """The rows of sorted `keys` within any of the windows [opens, closes], in order, each once."""
    if len(opens) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = np.searchsorted(keys, opens), np.searchsorted(keys, closes, "right")
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    heads = np.flatnonzero(np.r_[True, lo[1:] > reach[:-1]])
    begin, end = lo[heads], reach[np.r_[heads[1:] - 1, len(lo) - 1]]
    count = end - begin
    return np.repeat(begin - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())


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
