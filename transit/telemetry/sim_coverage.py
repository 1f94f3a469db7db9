"""Interval arithmetic for the truth: stretches of a run without pings, and union lengths per trip instance.

A run loses the stretches during which its delivered pings were more than 6 minutes apart (DESIGN.md
section 5: a vehicle is lost after 6 minutes of silence); shorter gaps (dropped pings, a brief outage) are
bridged, as a matcher following the bus bridges them. Before its first ping and after its last only one ping
interval is bridged (what a tracker that loses nothing leaves); a run without a delivered ping loses it all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray

LOST_AFTER_S = 6 * 60.0
_ROW_SPAN = 1e8  # larger than any metres or seconds here, to key rows into one sorted array


@dataclass(frozen=True, slots=True)
class Intervals:
    """Intervals [a, b] each belonging to a row (a trip instance); any number per row."""

    row: IntArray
    a: FloatArray
    b: FloatArray

    def clipped(self, lo: FloatArray, hi: FloatArray) -> Intervals:
        """Each interval cut to its row's [lo, hi] (possibly to nothing)."""
        a = np.clip(self.a, lo[self.row], hi[self.row])
        return Intervals(self.row, a, np.maximum(a, np.clip(self.b, lo[self.row], hi[self.row])))

    def __add__(self, other: Intervals) -> Intervals:
        return Intervals(np.r_[self.row, other.row], np.r_[self.a, other.a], np.r_[self.b, other.b])


def per_row(a: FloatArray, b: FloatArray, keep: BoolArray | None = None) -> Intervals:
    """One interval per row (where `keep`)."""
    rows = np.arange(len(a)) if keep is None else np.flatnonzero(keep)
    return Intervals(rows, a[rows], b[rows])


def union_length(intervals: Intervals, rows: int) -> FloatArray:
    """Length of the union of each row's intervals (0 for a row without any)."""
    order = np.lexsort((intervals.a, intervals.row))
    row, a, b = intervals.row[order], intervals.a[order], np.maximum(intervals.a, intervals.b)[order]
    shift = row * _ROW_SPAN
    reach = np.maximum.accumulate(b + shift) - shift  # the farthest end so far within the row
    first = np.r_[True, row[1:] != row[:-1]]
    before = np.where(first, -np.inf, np.r_[-np.inf, reach[:-1]])
    covered = np.bincount(row, weights=np.maximum(0.0, b - np.maximum(a, before)), minlength=rows)
    return np.asarray(covered, dtype=np.float64)


def unseen_stretches(
    ran: BoolArray,
    start_s: FloatArray,
    end_s: FloatArray,
    pings: tuple[IntArray, FloatArray],
    interval_s: float,
) -> Intervals:
    """Times of each run not covered by its delivered pings; all of a run that has no ping."""
    runs = np.flatnonzero(ran)
    ping_row, ping_t = pings
    row = np.r_[ping_row, runs, runs]
    t = np.r_[ping_t, start_s[runs], end_s[runs]]
    is_ping = np.r_[np.ones(len(ping_row), dtype=bool), np.zeros(2 * len(runs), dtype=bool)]
    order = np.lexsort((~is_ping, t, row))  # at equal times the pings come after the start
    row, t, is_ping = row[order], t[order], is_ping[order]
    between_pings = is_ping[1:] & is_ping[:-1]
    allowed = np.where(between_pings, LOST_AFTER_S, interval_s)
    lost = (row[1:] == row[:-1]) & (np.diff(t) > allowed + 1e-6)
    silent = runs[np.bincount(ping_row, minlength=len(ran))[runs] == 0]
    gaps = Intervals(row[:-1][lost], t[:-1][lost], t[1:][lost])
    return gaps + Intervals(silent, start_s[silent], end_s[silent])
