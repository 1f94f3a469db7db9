"""How much of one trip's path one vehicle's pings cover, in order: forward-only progress along the path.

Vectorised over the pings of one (vehicle, trip instance) pair. Progress is a running lower bound taken only
from pings that move forward three in a row, so that a bus arriving on the reverse street (its previous trip)
or standing in GPS noise cannot push it ahead; a ping matches when it lies within the match radius of the
path at or beyond that progress, at a time the schedule makes plausible for that point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.matching.projection import FloatArray, Path, project_forward

_STEP_BACK_M = 5.0  # a step this far backwards still counts as standing still (not as moving back)


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Matching thresholds (DESIGN section 5 anchors); times in seconds, distances in metres."""

    match_radius_m: float = 60.0
    at_stop_m: float = 50.0
    before_start_s: float = 600.0
    after_end_s: float = 1800.0
    late_start_s: float = 1200.0
    lost_after_s: float = 360.0
    max_speed_mps: float = 30.0
    min_trusted_coverage: float = 0.2
    trip_id_preference: float = 1.25


@dataclass(frozen=True, slots=True)
class Schedule:
    """One trip instance on its path: start and end (epoch seconds) and its first and last stop (metres)."""

    start_s: float
    end_s: float
    first_m: float
    last_m: float


@dataclass(frozen=True, slots=True)
class Track:
    """Where the pings of one pair fall on the path: along (metres) and which of them matched."""

    along_m: FloatArray
    matched: np.ndarray
    intervals: FloatArray  # covered stretches (k × 2, metres along), merged and clipped to the trip


def track_pings(
    x: FloatArray, y: FloatArray, t: FloatArray, path: Path, sched: Schedule, rules: MatchRules
) -> Track:
    """Forward-constrained matching of time-sorted pings (local metres, epoch seconds) to one trip instance."""
    along, offset = project_forward(x, y, path, np.zeros(len(x)))
    bound = np.zeros(len(x))
    for _ in range(2):
        ok = (offset <= rules.match_radius_m) & _plausible(along, t, sched, rules)
        bound, since_s = _progress_bound(along, t, ok, rules)
        ahead = since_s * rules.max_speed_mps + rules.match_radius_m
        along, offset = project_forward(x, y, path, bound, max_ahead_m=ahead)
    matched = (offset <= rules.match_radius_m) & _plausible(along, t, sched, rules)
    return Track(along, matched, _intervals(along[matched], t[matched], sched, rules))


def _plausible(along: FloatArray, t: FloatArray, sched: Schedule, rules: MatchRules) -> np.ndarray:
    """Whether the schedule allows the vehicle at `along` at time t: not far ahead of it, nor far behind."""
    span = max(sched.last_m - sched.first_m, 1.0)
    share = np.clip((along - sched.first_m) / span, 0.0, 1.0)
    duration = max(sched.end_s - sched.start_s, 60.0)
    earliest = sched.start_s - rules.before_start_s + 0.5 * duration * share
    latest = sched.start_s + rules.late_start_s + 1.5 * duration * share + rules.after_end_s * share
    return np.asarray((t >= earliest) & (t <= latest), dtype=bool)


def _progress_bound(
    along: FloatArray, t: FloatArray, ok: np.ndarray, rules: MatchRules
) -> tuple[FloatArray, FloatArray]:
    """Progress before each ping (most along of earlier trusted pings) and seconds since the last of them."""
    n = len(along)
    step = np.zeros(n, dtype=bool)
    if n > 1:
        moved = np.diff(along)
        fast = moved > np.diff(t) * rules.max_speed_mps + 2 * rules.match_radius_m
        step[1:] = ok[1:] & ok[:-1] & (moved >= -_STEP_BACK_M) & ~fast
    trusted = step & np.r_[False, step[:-1]]
    best = np.maximum.accumulate(np.where(trusted, along, 0.0))
    bound = np.r_[0.0, best[:-1]]
    last_t = np.maximum.accumulate(np.where(trusted, t, -np.inf))
    since = t - np.r_[-np.inf, last_t[:-1]]
    return bound, np.where(np.isfinite(since), since, np.inf)


def _intervals(along: FloatArray, t: FloatArray, sched: Schedule, rules: MatchRules) -> FloatArray:
    """Covered stretches: between consecutive matched pings moving forward within the lost-after time.

    Like the simulator's truth, one ping step also counts before the first ping and after the last.
    """
    if len(along) < 2:
        return np.zeros((0, 2))
    lo, hi = along[:-1], along[1:]
    keep = (np.diff(t) <= rules.lost_after_s) & (hi >= lo)
    pairs = np.column_stack((lo[keep], hi[keep]))
    if len(pairs):
        pairs[0, 0] -= pairs[0, 1] - pairs[0, 0]
        pairs[-1, 1] += pairs[-1, 1] - pairs[-1, 0]
    return merge_intervals(np.clip(pairs, sched.first_m, sched.last_m))


def merge_intervals(pairs: FloatArray) -> FloatArray:
    """The union of closed intervals (k × 2) as sorted, disjoint intervals."""
    if len(pairs) == 0:
        return np.zeros((0, 2))
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    reach = np.maximum.accumulate(pairs[:, 1])
    starts = np.r_[True, pairs[1:, 0] > reach[:-1]]
    group = np.cumsum(starts) - 1
    ends = np.maximum.reduceat(pairs[:, 1], np.flatnonzero(starts))
    return np.column_stack((pairs[starts, 0], ends))[: group[-1] + 1]


def covered_m(intervals: FloatArray) -> float:
    """Total length of disjoint intervals (metres)."""
    return float((intervals[:, 1] - intervals[:, 0]).sum()) if len(intervals) else 0.0
