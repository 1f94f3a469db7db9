"""The evidence of each (vehicle, trip instance) pair from its matched pings: coverage, timing, payload ids.

Vectorised over the matched pings of many pairs at once (pair-major, time-sorted within a pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.matching.coverage import Schedules, group_medians
from transit.matching.projection import FloatArray, IntArray

EVIDENCE_COLUMNS = ("coverage", "first_s", "last_s", "lag_s", "id_share", "start_delay_s")


@dataclass(frozen=True, slots=True)
class MatchedPings:
    """Matched pings of many pairs: pair (sorted), metres along, epoch seconds, payload names the trip."""

    pair: IntArray
    along_m: FloatArray
    t_s: FloatArray
    named: FloatArray  # how much each ping names the pair's instance in its payload (0..1)


@dataclass(frozen=True, slots=True)
class CoveredStretches:
    """Covered stretches (k × 2, metres along) of every pair, sorted by pair."""

    pair: IntArray
    intervals: FloatArray

    @classmethod
    def of(cls, parts: list[tuple[IntArray, FloatArray]]) -> CoveredStretches:
        """Stretches gathered path by path (pair ids global), sorted by pair."""
        pair = np.concatenate([p for p, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
        intervals = np.concatenate([i for _, i in parts]) if parts else np.zeros((0, 2))
        order = np.argsort(pair, kind="stable")
        return cls(pair[order], intervals[order])

    def of_pair(self, pair: int) -> FloatArray:
        """The stretches of one pair."""
        lo, hi = np.searchsorted(self.pair, [pair, pair + 1])
        return self.intervals[lo:hi]


def compute_evidence(
    found: MatchedPings, sched: Schedules, covered_m: FloatArray, at_stop_m: float
) -> pd.DataFrame:
    """Per pair (EVIDENCE_COLUMNS): coverage, run span, median lag behind the schedule (s),
    payload id share, start delay (s)."""
    n = len(sched.start_s)
    count = np.bincount(found.pair, minlength=n)
    span = sched.last_m - sched.first_m
    coverage = np.where(span > 0, np.minimum(1.0, covered_m / np.maximum(span, 1e-9)), (count > 0) * 1.0)
    p = found.pair
    share = np.clip((found.along_m - sched.first_m[p]) / np.maximum(span[p], 1.0), 0.0, 1.0)
    lag = found.t_s - sched.start_s[p] - share * (sched.end_s[p] - sched.start_s[p])
    delay = np.full(n, np.nan)
    lagging, medians = group_medians(p, lag)
    delay[lagging] = medians
    first_s, last_s = _run_span(found, sched, at_stop_m, n)
    return pd.DataFrame(
        {
            "coverage": coverage,
            "first_s": first_s,
            "last_s": last_s,
            "lag_s": delay,
            "id_share": np.bincount(p, found.named.astype(float), minlength=n) / np.maximum(count, 1),
            "start_delay_s": _start_delay_s(found, sched, at_stop_m, n),
        }
    )


def _run_span(
    found: MatchedPings, sched: Schedules, at_stop_m: float, n: int
) -> tuple[FloatArray, FloatArray]:
    """When the vehicle left the first stop and reached the last (else its first matched ping and furthest).

    Standing at a terminal before or after is left out, so that a vehicle's consecutive trips do not
    overlap in time.
    """
    p, along, row = found.pair, found.along_m, np.arange(len(found.pair))
    first_s, last_s = np.full(n, np.nan), np.full(n, np.nan)
    if len(p) == 0:
        return first_s, last_s
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    most = np.repeat(np.maximum.reduceat(along, starts), np.diff(np.r_[starts, len(p)]))
    furthest = np.flatnonzero(along == most)  # the first ping at the furthest point of each pair
    heads = furthest[np.r_[True, p[furthest][1:] != p[furthest][:-1]]]
    end = np.full(n, len(p))
    end[p[heads]] = heads
    arrived = along >= sched.last_m[p] - at_stop_m
    np.minimum.at(end, p[arrived], row[arrived])
    begin = np.full(n, len(p))
    np.minimum.at(begin, p, row)
    at_start = (along <= sched.first_m[p] + at_stop_m) & (row <= end[p])
    np.maximum.at(begin, p[at_start], row[at_start])
    seen = np.flatnonzero(np.bincount(p, minlength=n) > 0)
    first_s[seen], last_s[seen] = found.t_s[begin[seen]], found.t_s[end[seen]]
    return first_s, last_s


def _start_delay_s(found: MatchedPings, sched: Schedules, at_stop_m: float, n: int) -> FloatArray:
    """Seconds from the scheduled start to the last matched ping at the first stop before leaving it."""
    p, along, row = found.pair, found.along_m, np.arange(len(found.pair))
    left = np.full(n, len(p))
    moved = along > sched.first_m[p] + at_stop_m
    np.minimum.at(left, p[moved], row[moved])
    last = np.full(n, -1)
    there = (np.abs(along - sched.first_m[p]) <= at_stop_m) & (row < left[p])
    np.maximum.at(last, p[there], row[there])
    out = np.full(n, np.nan)
    known = last >= 0
    out[known] = found.t_s[last[known]] - sched.start_s[known]
    return out
