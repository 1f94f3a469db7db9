"""Where a stop pattern's stops lie along its shape: in stop order, even on loops and doubled streets.

Each stop's candidates are the passes of the shape near it (local minima of the distance from the stop over
the shape's segments, up to `_MAX_PASSES` within reach). A dynamic programme then picks one candidate per
stop, never going back along the shape, with the least total distance from stops to shape. It runs over all
patterns at once, one step per stop position, so its Python loop is as long as the longest pattern.
"""

from __future__ import annotations

import numpy as np

from transit.matching.projection import FloatArray, IntArray

Polylines = tuple[FloatArray, FloatArray, FloatArray, IntArray, IntArray]  # x, y, cum_m, first, count

_MAX_PASSES = 8  # candidate placements per stop (a shape passing one street more often is not plausible)
_CHUNK_PAIRS = 1 << 22  # stop × segment pairs evaluated at once
_BACKWARDS = 1e9  # cost of placing a stop before the previous one: only when nothing else is possible
# A tie-breaker of 1 m per kilometre of shape left unused before the first stop or after the last, so that
# a stop at the meeting point of a loop goes to the start (first stop) or the end (last stop).
_UNUSED_COST = 1e-3


def place_stops(
    shapes: Polylines,
    pattern_shape: IntArray,
    pattern_count: IntArray,
    x: FloatArray,
    y: FloatArray,
    max_offset_m: float,
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Metres along its shape and metres off it of every pattern stop, and which patterns the shape fits.

    x, y: the stops of pattern 0, then pattern 1, ... (pattern_count each). A pattern fits when it has a shape
    of two or more vertices that passes within max_offset_m of every stop in order; the others get NaN.
    """
    first = np.r_[0, np.cumsum(pattern_count)[:-1]].astype(np.int64)
    vertices = np.r_[shapes[4], 0]  # a pattern without a shape (-1) reads the 0 at the end
    usable = vertices[pattern_shape] >= 2
    along, offset = _candidates(shapes, pattern_shape, first, pattern_count, usable, (x, y, max_offset_m))
    patterns = np.flatnonzero(usable)
    patterns = patterns[np.argsort(-pattern_count[patterns], kind="stable")]
    length = shapes[2][shapes[3] + shapes[4] - 1][pattern_shape[patterns]]
    choice, fits = _choose(along, offset, first[patterns], pattern_count[patterns], length)
    dist_m = np.full(len(x), np.nan)
    offset_m = np.full(len(x), np.nan)
    for k, chosen in enumerate(choice):
        rows = first[patterns[: len(chosen)]] + k
        dist_m[rows], offset_m[rows] = along[rows, chosen], offset[rows, chosen]
    on_shape = np.zeros(len(pattern_count), dtype=bool)
    on_shape[patterns] = fits
    return dist_m, offset_m, on_shape


def _candidates(
    shapes: Polylines,
    pattern_shape: IntArray,
    first: IntArray,
    count: IntArray,
    usable: np.ndarray,
    stops: tuple[FloatArray, FloatArray, float],
) -> tuple[FloatArray, FloatArray]:
    """Along and offset of up to _MAX_PASSES passes near each stop (stops × passes; inf offset: none)."""
    x, y, reach_m = stops
    rows = np.flatnonzero(np.repeat(usable, count))
    shape = np.repeat(pattern_shape, count)[rows]
    segments = shapes[4][shape] - 1
    starts = np.searchsorted(np.cumsum(segments), np.arange(0, segments.sum(), _CHUNK_PAIRS), side="right")
    edges = np.r_[starts, len(rows)]
    found = [
        _passes(shapes, rows[lo:hi], shape[lo:hi], segments[lo:hi], (x, y, reach_m))
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    stop = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
    a_m = np.concatenate([f[1] for f in found]) if found else np.zeros(0)
    off = np.concatenate([f[2] for f in found]) if found else np.zeros(0)
    order = np.lexsort((off, stop))
    stop, a_m, off = stop[order], a_m[order], off[order]
    rank = np.arange(len(stop)) - np.searchsorted(stop, stop, side="left")
    keep = rank < _MAX_PASSES
    along = np.full((len(x), _MAX_PASSES), np.nan)
    offset = np.full((len(x), _MAX_PASSES), np.inf)
    along[stop[keep], rank[keep]] = a_m[keep]
    offset[stop[keep], rank[keep]] = off[keep]
    return along, offset


def _passes(
    shapes: Polylines,
    stop: IntArray,
    shape: IntArray,
    segments: IntArray,
    stops: tuple[FloatArray, FloatArray, float],
) -> tuple[IntArray, FloatArray, FloatArray]:
    """(stop, along, offset) of each local minimum of stop-to-segment distance within reach."""
    vx, vy, cum, first, _ = shapes
    x, y, reach_m = stops
    block = np.r_[0, np.cumsum(segments)[:-1]].astype(np.int64)
    owner = np.repeat(np.arange(len(stop)), segments)
    a = np.repeat(first[shape] - block, segments) + np.arange(segments.sum())
    px, py = x[stop][owner], y[stop][owner]
    dx, dy = vx[a + 1] - vx[a], vy[a + 1] - vy[a]
    seg2 = dx * dx + dy * dy
    t = np.divide((px - vx[a]) * dx + (py - vy[a]) * dy, seg2, out=np.zeros_like(seg2), where=seg2 > 0)
    t = np.clip(t, 0.0, 1.0)
    off = np.hypot(px - vx[a] - t * dx, py - vy[a] - t * dy)
    starts = np.zeros(len(off), dtype=bool)
    starts[block] = True
    ends = np.r_[starts[1:], True]
    left = np.where(starts, np.inf, np.r_[np.inf, off[:-1]])
    right = np.where(ends, np.inf, np.r_[off[1:], np.inf])
    keep = (off <= left) & (off < right) & (off <= reach_m)
    along = cum[a] + t * (cum[a + 1] - cum[a])
    return stop[owner[keep]], along[keep], off[keep]


def _choose(
    along: FloatArray, offset: FloatArray, first: IntArray, count: IntArray, length: FloatArray
) -> tuple[list[IntArray], np.ndarray]:
    """Chosen candidate per stop position (patterns sorted by count, longest first) and which fit.

    Returns one array per stop position k, covering the patterns that have a k-th stop.
    """
    steps = int(count.max(initial=0))
    back: list[IntArray] = []
    best = np.zeros(len(count), dtype=np.int64)
    total = np.full(len(count), np.inf)
    cost = np.zeros((len(count), _MAX_PASSES))
    for k in range(steps):
        active = int(np.count_nonzero(count > k))
        here = first[:active] + k
        a_k, off_k = along[here], offset[here]
        if k == 0:
            cost = off_k + _UNUSED_COST * np.nan_to_num(a_k)
            back.append(np.zeros((active, _MAX_PASSES), dtype=np.int64))
        else:
            before = along[first[:active] + k - 1]
            step = cost[:active, None, :] + _BACKWARDS * (a_k[:, :, None] < before[:, None, :] - 1e-6)
            back.append(np.argmin(step, axis=2))
            cost = np.min(step, axis=2) + off_k
        ending = np.flatnonzero(count[:active] == k + 1)
        final = cost[ending] + _UNUSED_COST * np.nan_to_num(length[ending, None] - a_k[ending])
        best[ending], total[ending] = np.argmin(final, axis=1), np.min(final, axis=1)
    return _backtrack(back, best, count), total < _BACKWARDS / 2


def _backtrack(back: list[IntArray], best: IntArray, count: IntArray) -> list[IntArray]:
    """The chosen candidate at each stop position, following the back pointers from each pattern's end."""
    chosen: list[IntArray] = [np.zeros(0, dtype=np.int64)] * len(back)
    current = best.copy()
    for k in range(len(back) - 1, -1, -1):
        active = len(back[k])
        ending = count[:active] == k + 1
        current[:active][ending] = best[:active][ending]
        chosen[k] = current[:active].copy()
        current[:active] = back[k][np.arange(active), current[:active]]
    return chosen
