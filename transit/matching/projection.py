"""Points onto a polyline: nearest point, its distance along the path and its perpendicular distance.

Everything is in a local plane in metres (`to_local_xy`). Work is vectorised over points × a window of
segments, in chunks that bound memory; no Python loop runs over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from transit.gtfs.geo import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

BACK_TOLERANCE_M = 50.0  # GPS noise: a forward match may fall this far behind the progress so far
_CHUNK_CELLS = 1 << 21  # points × segments evaluated at once (a few tens of MB of temporaries)


@dataclass(frozen=True, slots=True)
class Path:
    """One polyline: vertices in local metres and the distance along the path at each vertex.

    `cum_m` starts at 0 and never decreases; it is the haversine distance (as `transit.gtfs.geo` measures),
    so path lengths agree with the day plan's distance_m. A path may have a single vertex (length 0).
    """

    x: FloatArray
    y: FloatArray
    cum_m: FloatArray

    @property
    def length_m(self) -> float:
        """Metres from the first vertex to the last."""
        return float(self.cum_m[-1]) if len(self.cum_m) else 0.0


def to_local_xy(
    lat: FloatArray, lon: FloatArray, origin: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """Metres east and north of `origin` (lat, lon in degrees) on an equirectangular plane.

    East-west distances are scaled by cos(origin latitude), so a point `d` degrees of latitude away from the
    origin has its east-west distances off by about tan(lat0)·d (radians): under 0.1 % within 5 km north or
    south of the origin at 45°, about 1 % at 55 km. North-south distances are exact.

    >>> x, y = to_local_xy(np.array([0.0]), np.array([0.001]), (0.0, 0.0))
    >>> round(float(x[0]), 1), float(y[0])
    (111.2, 0.0)
    """
    lat0, lon0 = origin
    x = np.radians(np.asarray(lon, dtype=np.float64) - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(np.asarray(lat, dtype=np.float64) - lat0) * EARTH_RADIUS_M
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def project_onto_path(x: FloatArray, y: FloatArray, path: Path) -> tuple[FloatArray, FloatArray]:
    """Distance along `path` of the nearest point to each (x, y), and the distance to it (metres).

    Ties (a point equally near two parts of the path) go to the earlier part.
    """
    n = len(x)
    return _nearest(x, y, path, np.full(n, -np.inf), np.full(n, np.inf), 0.0)


def project_forward(
    x: FloatArray,
    y: FloatArray,
    path: Path,
    min_along_m: FloatArray,
    *,
    max_ahead_m: FloatArray | float = np.inf,
    back_tolerance_m: float = BACK_TOLERANCE_M,
    tie_m: float = 10.0,
) -> tuple[FloatArray, FloatArray]:
    """Like `project_onto_path`, but only at or beyond each point's progress so far (`min_along_m`).

    Candidates lie between min_along_m - back_tolerance_m (GPS noise) and min_along_m + max_ahead_m. Among
    them the earliest one within `tie_m` of the nearest wins, so that on a loop or an out-and-back shape a
    vehicle keeps to the pass it is on rather than jumping to a later pass of the same street.
    """
    lower = np.asarray(min_along_m, dtype=np.float64)
    upper = lower + np.broadcast_to(np.asarray(max_ahead_m, dtype=np.float64), lower.shape)
    return _nearest(x, y, path, lower - back_tolerance_m, upper, tie_m)


def _nearest(
    x: FloatArray, y: FloatArray, path: Path, lo_m: FloatArray, hi_m: FloatArray, tie_m: float
) -> tuple[FloatArray, FloatArray]:
    """The projection with along in [lo_m, hi_m] per point: earliest within tie_m of the nearest."""
    vx, vy, cum = _two_vertices_at_least(path)
    first, last = _segment_windows(cum, lo_m, hi_m)
    along = np.zeros(len(x))
    offset = np.zeros(len(x))
    if len(x) == 0:
        return along, offset
    width = int((last - first).max()) + 1
    step = max(1, _CHUNK_CELLS // width)
    for lo in range(0, len(x), step):
        part = slice(lo, lo + step)
        seg = first[part, None] + np.arange(width)[None, :]
        valid = seg <= last[part, None]
        seg = np.minimum(seg, len(cum) - 2)
        a_m, off = _segment_projections(x[part], y[part], (vx, vy, cum), seg, (lo_m[part], hi_m[part]))
        off = np.where(valid, off, np.inf)
        best = off.min(axis=1, keepdims=True)
        pick = np.argmax(off <= best + tie_m, axis=1)
        rows = np.arange(len(pick))
        along[part], offset[part] = a_m[rows, pick], off[rows, pick]
    return along, offset


def _two_vertices_at_least(path: Path) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The path's vertex arrays, a lone vertex doubled into one zero-length segment."""
    if len(path.x) == 0:
        raise ValueError("a path needs at least one vertex")
    if len(path.x) == 1:
        return np.repeat(path.x, 2), np.repeat(path.y, 2), np.repeat(path.cum_m, 2)
    return path.x, path.y, path.cum_m


def _segment_windows(cum: FloatArray, lo_m: FloatArray, hi_m: FloatArray) -> tuple[IntArray, IntArray]:
    """First and last segment (inclusive) whose span of distance meets [lo_m, hi_m], per point."""
    segments = len(cum) - 1
    first = np.clip(np.searchsorted(cum[1:], lo_m, side="left"), 0, segments - 1)
    last = np.clip(np.searchsorted(cum[:-1], hi_m, side="right") - 1, 0, segments - 1)
    return first.astype(np.int64), np.maximum(last, first).astype(np.int64)


def _segment_projections(
    x: FloatArray,
    y: FloatArray,
    vertices: tuple[FloatArray, FloatArray, FloatArray],
    seg: IntArray,
    window: tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Along and offset of each point's projection onto each of its segments (points × window)."""
    vx, vy, cum = vertices
    ax, ay = vx[seg], vy[seg]
    dx, dy = vx[seg + 1] - ax, vy[seg + 1] - ay
    rel_x, rel_y = x[:, None] - ax, y[:, None] - ay
    seg2 = dx * dx + dy * dy
    t = np.divide(rel_x * dx + rel_y * dy, seg2, out=np.zeros_like(seg2), where=seg2 > 0)
    start_m, span_m = cum[seg], cum[seg + 1] - cum[seg]
    lo_m, hi_m = window
    t_lo = np.divide(lo_m[:, None] - start_m, span_m, out=np.zeros_like(span_m), where=span_m > 0)
    t_hi = np.divide(hi_m[:, None] - start_m, span_m, out=np.ones_like(span_m), where=span_m > 0)
    t_lo, t_hi = np.clip(t_lo, 0.0, 1.0), np.clip(t_hi, 0.0, 1.0)
    t = np.clip(t, t_lo, np.maximum(t_lo, t_hi))
    offset = np.hypot(rel_x - t * dx, rel_y - t * dy)
    return start_m + t * span_m, offset


def fold_m(path: Path, near_m: float, samples: int = 1000) -> float:
    """At most how far apart along `path` two of its points within `near_m` of each other can be.

    About near_m on a path that never comes back near itself; up to its length on an out-and-back or a loop
    (a hairpin, a street driven both ways). Measured on points sampled along the path (at most `samples`),
    and widened by the sampling step, so the figure is an upper bound.
    """
    if path.length_m == 0:
        return 0.0
    along = np.linspace(0.0, path.length_m, min(samples, int(np.ceil(path.length_m / (near_m / 2)))) + 1)
    step = float(along[1])
    x, y = np.interp(along, path.cum_m, path.x), np.interp(along, path.cum_m, path.y)
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= near_m + step
    apart = np.abs(along[:, None] - along[None, :])
    return float(np.where(near, apart, 0.0).max()) + step


_CELL_KEY = np.int64(1 << 31)


@dataclass(frozen=True, slots=True)
class NearbySegments:
    """A grid over one path: for every cell of `cell_m` metres, the segments that pass within reach of it.

    Segments are sampled every cell_m / 2 and mark their cells and the 8 neighbours, so every point within
    `reach_m` (= 3/4 of a cell) of a segment finds it in its own cell. Cells are keys (sorted), each with its
    segment ids seg[start[k]:start[k + 1]] in increasing order.
    """

    path: Path
    cell_m: float
    keys: IntArray
    start: IntArray
    seg: IntArray
    terms: tuple[FloatArray, ...]  # per segment, computed once (`_segment_terms`)

    @property
    def reach_m(self) -> float:
        """Points this near the path are projected exactly; farther ones may find no segment."""
        return 0.75 * self.cell_m

    @classmethod
    def of(cls, path: Path, cell_m: float = 100.0) -> NearbySegments:
        """The grid of `path`."""
        vx, vy, _ = _two_vertices_at_least(path)
        dx, dy = np.diff(vx), np.diff(vy)
        parts = np.maximum(1, np.ceil(np.hypot(dx, dy) / (cell_m / 2))).astype(np.int64) + 1
        owner = np.repeat(np.arange(len(dx)), parts)
        frac = (np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts)) / np.repeat(
            parts - 1, parts
        )
        cx = np.floor((vx[owner] + frac * dx[owner]) / cell_m).astype(np.int64)
        cy = np.floor((vy[owner] + frac * dy[owner]) / cell_m).astype(np.int64)
        shifts = np.array([(sx, sy) for sx in (-1, 0, 1) for sy in (-1, 0, 1)], dtype=np.int64)
        keys = ((cx[:, None] + shifts[:, 0]) * _CELL_KEY + (cy[:, None] + shifts[:, 1])).ravel()
        seg = np.repeat(owner, len(shifts))
        order = np.lexsort((seg, keys))
        keys, seg = keys[order], seg[order]
        fresh = np.r_[True, (keys[1:] != keys[:-1]) | (seg[1:] != seg[:-1])]
        keys, seg = keys[fresh], seg[fresh]
        heads = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        return cls(
            path, cell_m, keys[heads], np.r_[heads, len(keys)].astype(np.int64), seg, _segment_terms(path)
        )

    def project(
        self,
        x: FloatArray,
        y: FloatArray,
        lo_m: FloatArray | float = -np.inf,
        hi_m: FloatArray | float = np.inf,
        tie_m: float = 0.0,
    ) -> tuple[FloatArray, FloatArray]:
        """Along and offset of each point's projection with along in [lo_m, hi_m], among nearby segments.

        Exact (as `project_forward` with the same window and tie) for points within `reach_m` of the
        window's part of the path; a point with no segment near gets along 0 and offset inf.
        """
        n = len(x)
        lo = np.broadcast_to(np.asarray(lo_m, dtype=np.float64), (n,))
        hi = np.broadcast_to(np.asarray(hi_m, dtype=np.float64), (n,))
        along, offset = np.zeros(n), np.full(n, np.inf)
        if n == 0 or len(self.keys) == 0:
            return along, offset
        key = np.floor(x / self.cell_m).astype(np.int64) * _CELL_KEY + np.floor(y / self.cell_m).astype(
            np.int64
        )
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = self.keys[at] == key
        count = np.where(hit, self.start[at + 1] - self.start[at], 0)
        ends = np.cumsum(count)
        step = max(1, _CHUNK_CELLS // max(1, int(count.max())))
        for first in range(0, n, step):
            part = np.arange(first, min(n, first + step))
            along[part], offset[part] = self._project_rows(
                x, y, part, (lo, hi), (self.start[at[part]], count[part], ends[part]), tie_m
            )
        return along, offset

    def _project_rows(
        self,
        x: FloatArray,
        y: FloatArray,
        part: IntArray,
        window: tuple[FloatArray, FloatArray],
        ragged: tuple[IntArray, IntArray, IntArray],
        tie_m: float,
    ) -> tuple[FloatArray, FloatArray]:
        first, count, _ = ragged
        along, offset = np.zeros(len(part)), np.full(len(part), np.inf)
        total = int(count.sum())
        if total == 0:
            return along, offset
        point = np.repeat(np.arange(len(part)), count)
        seg = self.seg[np.repeat(first - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(total)]
        sx, sy, dx, dy, inv_len2, start_m, span_m = self.terms
        windowed = bool(np.isfinite(window[0][part]).any() or np.isfinite(window[1][part]).any())
        if windowed:
            lo_m, hi_m = window[0][part][point], window[1][part][point]
            inside = (start_m[seg] + span_m[seg] >= lo_m) & (start_m[seg] <= hi_m)
            point, seg, lo_m, hi_m = point[inside], seg[inside], lo_m[inside], hi_m[inside]
            if len(point) == 0:
                return along, offset
        # One row per (point, nearby segment); rows sorted by point, then segment.
        rows = part[point]
        rel_x, rel_y = x[rows] - sx[seg], y[rows] - sy[seg]
        seg_dx, seg_dy = dx[seg], dy[seg]
        share = np.clip((rel_x * seg_dx + rel_y * seg_dy) * inv_len2[seg], 0.0, 1.0)
        seg_start, seg_span = start_m[seg], span_m[seg]
        if windowed:  # the share of the segment within [lo_m, hi_m] of distance along
            safe = np.where(seg_span > 0, seg_span, 1.0)
            share_lo = np.where(seg_span > 0, np.clip((lo_m - seg_start) / safe, 0.0, 1.0), 0.0)
            share_hi = np.where(seg_span > 0, np.clip((hi_m - seg_start) / safe, 0.0, 1.0), 1.0)
            share = np.clip(share, share_lo, np.maximum(share_lo, share_hi))
        # Squared offsets: a square root only for the best of each point (most rows are not).
        off_x, off_y = rel_x - share * seg_dx, rel_y - share * seg_dy
        off2 = off_x * off_x + off_y * off_y
        heads = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
        best2 = np.minimum.reduceat(off2, heads)
        # A micrometre at least: exact ties (an out-and-back street) go to the earlier pass, not to rounding.
        reach = np.sqrt(best2) + max(tie_m, 1e-6)
        within2 = np.maximum(best2, reach * reach)  # the best itself always (the root squared may round down)
        near = np.flatnonzero(off2 <= np.repeat(within2, np.diff(np.r_[heads, len(point)])))
        chosen = near[np.r_[True, point[near][1:] != point[near][:-1]]]  # the earliest segment near enough
        along[point[chosen]] = seg_start[chosen] + share[chosen] * seg_span[chosen]
        offset[point[chosen]] = np.sqrt(off2[chosen])
        return along, offset


def _segment_terms(path: Path) -> tuple[FloatArray, ...]:
    """Per segment: start x, y; direction dx, dy; 1 / squared length (0 if none); start and span (m)."""
    vx, vy, cum = _two_vertices_at_least(path)
    dx, dy = np.diff(vx), np.diff(vy)
    length2 = dx * dx + dy * dy
    inv_len2 = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
    return vx[:-1], vy[:-1], dx, dy, inv_len2, cum[:-1], np.diff(cum)
