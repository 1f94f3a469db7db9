"""How much of a trip's path a vehicle's pings cover, in order: forward-only progress along the path.

Vectorised over the pings of many (vehicle, trip instance) pairs on one path at once, pair after pair,
each pair's pings sorted by time. A pair's pings start at the vehicle's departure from the first stop (its
previous trip, often arriving on the reverse street, never counts). Progress is a running lower bound taken
only from pings that move forward three in a row; a ping matches when it lies within the match radius of
the path at or beyond that progress, at a time the schedule makes plausible for that point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.matching.projection import BACK_TOLERANCE_M, FloatArray, IntArray, NearbySegments, Path, fold_m

_STEP_BACK_M = 5.0  # a step this far backwards still counts as standing still (not as moving back)
_EARLY_PACE = 0.75  # a vehicle may run its trip in this share of the scheduled time (after an early start)
_LATE_PACE = 1.5  # or take this many times the scheduled time (after a start up to late_start_s late)
_END_STEP_M = 200.0  # most path counted before the first matched ping and after the last
_MIN_MOVE_M = 40.0  # a move this long has a direction above the GPS noise
_TIE_M = 10.0
_LONG_GAP_S = 120.0
_STOP_RADIUS_M = 60.0  # a vehicle within this of the first stop is there (twice this with GPS noise)
_TERMINAL_M = 200.0  # on a loop or out-and-back, the earliest pass within this of the nearest wins
_GROUP = 1e8  # metres (or seconds) that keep pairs apart in one running maximum
MIN_COVERAGE = 0.2  # DESIGN 5: under it a run is no trip at all (choose never takes such a pair)


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Matching thresholds (DESIGN section 5 anchors); times in seconds, distances in metres."""

    match_radius_m: float = 60.0
    chain_radius_m: float = 200.0  # a stop chain is a straight line from stop to stop; buses follow streets
    at_stop_m: float = 50.0
    before_start_s: float = 600.0
    after_end_s: float = 1800.0
    late_start_s: float = 1200.0
    lost_after_s: float = 360.0
    max_speed_mps: float = 30.0
    min_coverage: float = MIN_COVERAGE  # pairs that cannot reach it are not tracked


@dataclass(frozen=True, slots=True)
class Schedules:
    """Per pair: scheduled start and end (epoch seconds), first and last stop (metres along the path)."""

    start_s: FloatArray
    end_s: FloatArray
    first_m: FloatArray
    last_m: FloatArray


@dataclass(frozen=True, slots=True)
class Tracks:
    """The tracked pings (`keep`: rows of the input), their pair, along and match; covered stretches."""

    keep: IntArray
    pair: IntArray
    along_m: FloatArray
    matched: np.ndarray
    interval_pair: IntArray
    intervals: FloatArray  # k × 2 metres along, disjoint and sorted within each pair
    covered_m: FloatArray  # per pair
    active_s: FloatArray  # per pair × 4: when the vehicle began, covered 5% and 95%, and ended its steps


def track_pairs(
    pair: IntArray,
    pings: tuple[IntArray, IntArray],
    xyt: tuple[FloatArray, FloatArray, FloatArray],
    motion: tuple[FloatArray, FloatArray],
    grid: NearbySegments,
    sched: Schedules,
    rules: MatchRules,
) -> Tracks:
    """Forward-constrained matching of many pairs' pings to one path, pair-major, by time within a pair.

    `pings` = (distinct, at): the distinct rows of xyt concerned, and per tracked ping its position in them.
    Each distinct ping is first projected once, freely (ties to the earlier pass); pings with a known
    progress are then projected again, forward of it, within what the vehicle could have driven since.
    `motion` is each ping's move (metres east, north) since its vehicle's previous ping: a ping moving
    against the path's direction where it lies (the other direction of an out-and-back street) never
    matches.
    """
    if rules.match_radius_m > grid.reach_m:
        raise ValueError(f"match_radius_m must be at most {grid.reach_m} m (the grid's reach)")
    x, y, t = xyt
    path = grid.path
    distinct, back = pings
    free_along, free_offset = grid.project(x[distinct], y[distinct])
    rows = distinct[back]
    fold = fold_m(path, 2 * rules.match_radius_m)
    near = _may_match(pair, (free_along[back], free_offset[back], t[rows]), fold, sched, rules)
    hopeful = _hopeful(pair[near], free_along[back[near]], fold, sched, rules)
    keep = np.flatnonzero(hopeful[pair])
    here = rows[keep]
    # The departure is found among all the pair's pings (a bus leaving the stop by another street has left).
    keep = keep[_after_departure(pair[keep], (x[here], y[here], t[here]), path, sched, rules)]
    # Only pings that may match are tracked; `adjacent` keeps what the others did: break a run of pings.
    keep = keep[near[keep]]
    adjacent = np.r_[False, np.diff(keep) == 1]
    pair, rows, back = pair[keep], rows[keep], back[keep]
    x, y, t = x[rows], y[rows], t[rows]
    dx, dy = motion[0][rows], motion[1][rows]
    along, offset = free_along[back], free_offset[back]
    ok = (offset <= rules.match_radius_m) & _plausible(along, t, pair, sched, rules)
    ok &= ~_against(dx, dy, along, path)
    bound, since_s = _progress_bound(along, t, pair, ok, adjacent, rules)
    ahead = since_s * rules.max_speed_mps + rules.match_radius_m
    # The free projection stands wherever it already lies within the forward window (most pings).
    outside = (along < bound - BACK_TOLERANCE_M) | (along > bound + ahead)
    redo = np.flatnonzero(np.isfinite(since_s) & outside)
    along[redo], offset[redo] = grid.project(
        x[redo], y[redo], bound[redo] - BACK_TOLERANCE_M, bound[redo] + ahead[redo], tie_m=_TIE_M
    )
    matched = ok.copy()
    matched[redo] = (offset[redo] <= rules.match_radius_m) & _plausible(
        along[redo], t[redo], pair[redo], sched, rules
    )
    matched[redo] &= ~_against(dx[redo], dy[redo], along[redo], path)
    owner, intervals = _intervals(pair[matched], along[matched], t[matched], sched, rules)
    covered = np.bincount(owner, intervals[:, 1] - intervals[:, 0], minlength=len(sched.start_s))
    active = _active_span(pair[matched], along[matched], t[matched], len(sched.start_s), rules)
    return Tracks(keep, pair, along, matched, owner, intervals, covered.astype(np.float64), active)


def _may_match(
    pair: IntArray,
    free: tuple[FloatArray, FloatArray, FloatArray],
    fold: float,
    sched: Schedules,
    rules: MatchRules,
) -> np.ndarray:
    """Per row, whether the forward projection may match it: a ping it matches lies within the match radius
    of the path, as its free projection (`free`: along, offset, time) does, so the two points lie within
    twice the radius of each other and at most the path's fold (`fold_m`) apart along it; the schedule must
    allow the vehicle somewhere within that fold of the free projection."""
    along, offset, t = free
    return np.asarray(
        (offset <= rules.match_radius_m) & _plausible(along, t, pair, sched, rules, give_m=fold), dtype=bool
    )


def _hopeful(
    pair: IntArray, along: FloatArray, fold: float, sched: Schedules, rules: MatchRules
) -> np.ndarray:
    """Per pair, whether it may cover rules.min_coverage of its trip; the others need no tracking.

    An upper bound from the rows that may match (`_may_match`: their pair, sorted, and free projection):
    coverage cannot reach beyond the span of those, widened by the path's fold, plus one end step either
    side.
    """
    n = len(sched.start_s)
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    if len(pair):
        heads = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        lo[pair[heads]] = np.minimum.reduceat(along, heads) - fold - _END_STEP_M
        hi[pair[heads]] = np.maximum.reduceat(along, heads) + fold + _END_STEP_M
    reach = np.clip(hi, sched.first_m, sched.last_m) - np.clip(lo, sched.first_m, sched.last_m)
    span = sched.last_m - sched.first_m
    return np.asarray(
        np.where(span > 0, reach >= rules.min_coverage * span - 1e-6, np.isfinite(lo)), dtype=bool
    )


def _active_span(pair: IntArray, along: FloatArray, t: FloatArray, n: int, rules: MatchRules) -> FloatArray:
    """Per pair: when its forward steps began, reached 5% and 95% of their total length, and ended (NaN: no
    step). Unlike the first and last matched ping, a stray ping (a turn at the terminal, the street crossed
    on the way to another trip) barely moves the middle two.
    """
    out = np.full((n, 4), np.nan)
    step = np.r_[np.diff(along), 0.0]
    ok = (
        (np.r_[pair[1:] == pair[:-1], False]) & (step > 0) & (np.r_[np.diff(t), np.inf] <= rules.lost_after_s)
    )
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return out
    owner, length = pair[rows], step[rows]
    total = np.bincount(owner, length, minlength=n)
    lift = np.r_[0.0, np.cumsum(total)][owner]
    reached = (np.cumsum(length) - lift) / total[owner]
    for column, (share, end) in enumerate(((0.0, 0), (0.05, 0), (0.95, 1), (1.0, 1))):
        at = np.full(n, len(rows))
        hit = np.flatnonzero(reached >= share - 1e-9)
        np.minimum.at(at, owner[hit], hit)
        found = at < len(rows)
        out[found, column] = t[rows[at[found]] + end]  # a step's start, or its end
    return out


def _against(dx: FloatArray, dy: FloatArray, along: FloatArray, path: Path) -> np.ndarray:
    """Whether each move (dx, dy) of at least _MIN_MOVE_M runs more than 120 degrees off the path at along."""
    if len(path.x) < 2:
        return np.zeros(len(dx), dtype=bool)
    px, py = np.diff(path.x), np.diff(path.y)
    length = np.hypot(px, py)
    ux = np.divide(px, length, out=np.zeros_like(px), where=length > 0)  # unit directions (0: no length)
    uy = np.divide(py, length, out=np.zeros_like(py), where=length > 0)
    seg = np.clip(np.searchsorted(path.cum_m, along, side="right") - 1, 0, len(path.x) - 2)
    # cos > -0.5 ⇔ dx·u + dy·u > -0.5·moved (for a move of at least _MIN_MOVE_M; 0 for a segment of none)
    moved = np.hypot(dx, dy)
    return np.asarray((moved >= _MIN_MOVE_M) & (dx * ux[seg] + dy * uy[seg] < -0.5 * moved), dtype=bool)


def _after_departure(
    pair: IntArray,
    xyt: tuple[FloatArray, FloatArray, FloatArray],
    path: Path,
    sched: Schedules,
    rules: MatchRules,
) -> IntArray:
    """Rows from each pair's departure: the last ping of its first stay at the first stop (all if none)."""
    x, y, t = xyt
    x0, y0 = np.interp(sched.first_m, path.cum_m, path.x), np.interp(sched.first_m, path.cum_m, path.y)
    distance = np.hypot(x - x0[pair], y - y0[pair])
    row = np.arange(len(pair))
    n = len(sched.start_s)
    # Twice the match radius: a bus that turns at the terminal may pass its stop at a distance.
    # Distances to the stop itself, not to the path: the same on a stop chain as on a shape.
    near = (distance <= 2 * _STOP_RADIUS_M) & (t <= sched.start_s[pair] + rules.late_start_s)
    first_near = np.full(n, len(pair))
    np.minimum.at(first_near, pair[near], row[near])
    gone = (distance > 4 * _STOP_RADIUS_M) & (row > first_near[pair])
    leaving = np.full(n, len(pair))
    np.minimum.at(leaving, pair[gone], row[gone])
    stay = near & (row < leaving[pair])
    # Leaving: the last ping of the stay about as near the stop as the stay came (not its 120 m edge).
    closest = np.full(n, np.inf)
    np.minimum.at(closest, pair[stay], distance[stay])
    there = stay & (distance <= np.maximum(_STOP_RADIUS_M, closest[pair] + _STOP_RADIUS_M / 2))
    departure = np.full(n, -1)
    np.maximum.at(departure, pair[there], row[there])
    return np.flatnonzero(row >= departure[pair])


def _plausible(
    along: FloatArray,
    t: FloatArray,
    pair: IntArray,
    sched: Schedules,
    rules: MatchRules,
    give_m: float = 0.0,
) -> np.ndarray:
    """Whether the schedule allows the vehicle at `along` (or within give_m of it) at time t: not far ahead
    of it, nor far behind."""
    first, start = sched.first_m[pair], sched.start_s[pair]
    length = np.maximum(sched.last_m[pair] - first, 1.0)
    duration = np.maximum(sched.end_s[pair] - start, 60.0)
    share_lo = np.clip((along - give_m - first) / length, 0.0, 1.0)
    share_hi = np.clip((along + give_m - first) / length, 0.0, 1.0)
    earliest = start - rules.before_start_s + _EARLY_PACE * duration * share_lo
    latest = start + rules.late_start_s + _LATE_PACE * duration * share_hi
    return np.asarray((t >= earliest) & (t <= latest), dtype=bool)


def _progress_bound(
    along: FloatArray, t: FloatArray, pair: IntArray, ok: np.ndarray, adjacent: np.ndarray, rules: MatchRules
) -> tuple[FloatArray, FloatArray]:
    """Progress before each ping (most along of its pair's earlier trusted pings) and seconds since then.

    `adjacent`: whether each row's previous row is the pair's previous ping (no ping left out between).
    """
    same = np.r_[False, pair[1:] == pair[:-1]]
    moved = np.r_[0.0, np.diff(along)]
    fast = moved > np.r_[0.0, np.diff(t)] * rules.max_speed_mps + 2 * _STOP_RADIUS_M
    step = same & adjacent & ok & np.r_[False, ok[:-1]] & (moved >= -_STEP_BACK_M) & ~fast
    trusted = step & adjacent & np.r_[False, step[:-1]]
    lift = pair * _GROUP
    best = np.maximum.accumulate(np.where(trusted, along, 0.0) + lift) - lift
    bound = np.where(same, np.r_[0.0, best[:-1]], 0.0)
    rel = t - (t.min() if len(t) else 0.0)
    last = np.maximum.accumulate(np.where(trusted, rel, -1.0) + lift) - lift
    before = np.where(same, np.r_[-1.0, last[:-1]], -1.0)
    return bound, np.where(before >= 0, rel - before, np.inf)


def _intervals(
    pair: IntArray, along: FloatArray, t: FloatArray, sched: Schedules, rules: MatchRules
) -> tuple[IntArray, FloatArray]:
    """Covered stretches per pair: between consecutive matched pings moving forward, not too fast, in time.

    Like the simulator's truth, one ping step (the pair's median, at most _END_STEP_M) also counts before the
    first matched ping and after the last.
    """
    lo, hi, dt_s = along[:-1], along[1:], np.diff(t)
    possible = hi - lo <= dt_s * rules.max_speed_mps + 2 * _STOP_RADIUS_M  # GPS noise either end
    # A bus that vanished on the way and reappears at the last stop may have gone another way (a short
    # turn, back via the depot): a long silence is not bridged into the terminal.
    owner_last = sched.last_m[pair[1:]]
    possible &= ~((dt_s > _LONG_GAP_S) & (hi >= owner_last - _TERMINAL_M) & (lo < owner_last - _TERMINAL_M))
    keep = np.flatnonzero((pair[1:] == pair[:-1]) & (dt_s <= rules.lost_after_s) & (hi >= lo) & possible)
    owner, lo, hi = pair[keep], lo[keep].copy(), hi[keep].copy()
    if len(owner):
        first = np.r_[True, owner[1:] != owner[:-1]]
        last = np.r_[owner[1:] != owner[:-1], True]
        _, medians = group_medians(owner, hi - lo)
        step = np.minimum(np.repeat(medians, np.diff(np.r_[np.flatnonzero(first), len(owner)])), _END_STEP_M)
        lo[first] -= step[first]
        hi[last] += step[last]
    lo = np.clip(lo, sched.first_m[owner], sched.last_m[owner])
    hi = np.clip(hi, sched.first_m[owner], sched.last_m[owner])
    return merge_intervals(owner, np.column_stack((lo, hi)))


def group_medians(group: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """The median of `values` within each run of equal `group` (sorted): the groups and their medians.

    One sort on a float key (the group lifted above the values' range): several times faster than a
    lexsort of the two; values closer than about 1e-6 of their range may swap, which moves no median more.
    """
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    low, span = float(values.min()), float(values.max() - values.min()) + 1.0
    order = np.argsort((group - group[0]) * span + (values - low))
    ranked = values[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    counts = np.diff(np.r_[starts, len(group)])
    return group[starts], (ranked[starts + (counts - 1) // 2] + ranked[starts + counts // 2]) / 2


def merge_intervals(group: IntArray, pairs: FloatArray) -> tuple[IntArray, FloatArray]:
    """The union of closed intervals (k × 2) within each group: sorted, disjoint intervals and their group."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    key = group * _GROUP + pairs[:, 0]  # as the running maximum below lifts them: groups kept apart
    if np.any(key[1:] < key[:-1]):  # mostly in order already (forward pings): then timsort is quick
        order = np.argsort(key, kind="stable")
        group, pairs = group[order], pairs[order]
    lift = group * _GROUP
    reach = np.maximum.accumulate(pairs[:, 1] + lift) - lift
    starts = np.r_[True, (group[1:] != group[:-1]) | (pairs[1:, 0] > reach[:-1])]
    at = np.flatnonzero(starts)
    ends = np.maximum.reduceat(pairs[:, 1], at)
    return group[at], np.column_stack((pairs[at, 0], ends))
