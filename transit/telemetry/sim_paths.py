"""Polylines the simulated buses drive along: shapes, stop-to-stop chains, connectors; vectorised lookups.

Every path is a polyline of vertices in degrees with the metres from its first vertex (haversine, as
`transit.gtfs.geo` measures). All paths live in one set of concatenated arrays so that a million positions
on thousands of paths are found with one `searchsorted`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from transit.gtfs.geo import EARTH_RADIUS_M, haversine_m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

_MAX_OPTIONS = 40  # candidate placements per stop when a shape passes a street more than once
_GAP_M = 1.0  # between paths in the global distance key, so that no two paths share a key


@dataclass(frozen=True, slots=True)
class Paths:
    """Concatenated polylines: vertex arrays, and per path its first vertex, vertex count and length."""

    lat: FloatArray
    lon: FloatArray
    cum_m: FloatArray  # metres from the path's first vertex
    first: IntArray
    count: IntArray
    length_m: FloatArray

    @property
    def size(self) -> int:
        """The number of paths."""
        return len(self.first)

    def base_m(self) -> FloatArray:
        """The global distance key of each path's first vertex (lengths laid end to end)."""
        return np.asarray(np.r_[0.0, np.cumsum(self.length_m + _GAP_M)[:-1]], dtype=np.float64)


def build_paths(group: IntArray, lat: FloatArray, lon: FloatArray, groups: int) -> Paths:
    """Paths from points sorted by group then sequence; `groups` paths, each needs at least one point."""
    count = np.bincount(group, minlength=groups).astype(np.int64)
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    if len(group) == 0:
        return Paths(lat, lon, np.zeros(0), first[:groups], count, np.zeros(groups))
    steps = np.zeros(len(group))
    if len(group) > 1:
        same = group[1:] == group[:-1]
        steps[1:] = np.where(same, haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]), 0.0)
    total = np.cumsum(steps)
    cum = total - np.repeat(total[first], count)
    length = cum[first + count - 1]
    return Paths(lat, lon, cum, first, count, length)


def concat_paths(a: Paths, b: Paths) -> Paths:
    """The paths of `a` followed by those of `b` (b's path k becomes a.size + k)."""
    return Paths(
        np.r_[a.lat, b.lat],
        np.r_[a.lon, b.lon],
        np.r_[a.cum_m, b.cum_m],
        np.r_[a.first, b.first + len(a.lat)],
        np.r_[a.count, b.count],
        np.r_[a.length_m, b.length_m],
    )


def straight_paths(lat0: FloatArray, lon0: FloatArray, lat1: FloatArray, lon1: FloatArray) -> Paths:
    """One two-point path per row, from (lat0, lon0) to (lat1, lon1)."""
    n = len(lat0)
    lat = np.column_stack((lat0, lat1)).ravel()
    lon = np.column_stack((lon0, lon1)).ravel()
    return build_paths(np.repeat(np.arange(n, dtype=np.int64), 2), lat, lon, n)


@dataclass(frozen=True, slots=True)
class Located:
    """Positions found on paths: degrees, and the bearing of the path there (NaN on a zero-length path)."""

    lat: FloatArray
    lon: FloatArray
    bearing: FloatArray


def locate(paths: Paths, path: IntArray, dist_m: FloatArray) -> Located:
    """The point `dist_m` metres along each given path (clipped to the path), interpolated in degrees."""
    vertex_key = np.repeat(paths.base_m(), paths.count) + paths.cum_m
    dist = np.clip(dist_m, 0.0, paths.length_m[path])
    key = paths.base_m()[path] + dist
    last_start = paths.first[path] + np.maximum(paths.count[path] - 2, 0)
    i = np.clip(np.searchsorted(vertex_key, key, side="right") - 1, paths.first[path], last_start)
    j = np.minimum(i + 1, paths.first[path] + paths.count[path] - 1)
    span = paths.cum_m[j] - paths.cum_m[i]
    frac = np.divide(dist - paths.cum_m[i], span, out=np.zeros_like(dist), where=span > 0)
    lat = paths.lat[i] + frac * (paths.lat[j] - paths.lat[i])
    lon = paths.lon[i] + frac * (paths.lon[j] - paths.lon[i])
    bearing = bearings_deg(paths.lat[i], paths.lon[i], paths.lat[j], paths.lon[j])
    return Located(lat, lon, np.where(span > 0, bearing, np.nan))


def bearings_deg(lat0: FloatArray, lon0: FloatArray, lat1: FloatArray, lon1: FloatArray) -> FloatArray:
    """Bearing from the first point to the second, degrees clockwise from north in [0, 360)."""
    east = (lon1 - lon0) * np.cos(np.radians((lat0 + lat1) / 2))
    north = lat1 - lat0
    return np.asarray(np.degrees(np.arctan2(east, north)) % 360.0)


def offset_points(
    lat: FloatArray, lon: FloatArray, bearing: FloatArray, right_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points moved `right_m` metres to the right of the bearing (left when negative); NaN bearing: none."""
    angle = np.radians(np.nan_to_num(bearing) + 90.0)
    shift = np.where(np.isnan(bearing), 0.0, right_m)
    return shift_points(lat, lon, shift * np.sin(angle), shift * np.cos(angle))


def shift_points(
    lat: FloatArray, lon: FloatArray, east_m: FloatArray, north_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points moved by metres east and north (a local plane; fine for the few hundred metres used here)."""
    dlat = np.degrees(north_m / EARTH_RADIUS_M)
    dlon = np.degrees(east_m / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return lat + dlat, lon + dlon


def to_plane_m(lat: FloatArray, lon: FloatArray, lat0: float) -> tuple[FloatArray, FloatArray]:
    """Metres east and north on a plane tangent at latitude `lat0` (equirectangular)."""
    x = np.radians(lon) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(lat) * EARTH_RADIUS_M
    return x, y


def project_on_path(
    paths: Paths, path: int, lat: FloatArray, lon: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Distance along `path` of the nearest point to each given point, and the distance to it (metres)."""
    lo, n = int(paths.first[path]), int(paths.count[path])
    if n < 2:
        return np.zeros(len(lat)), np.zeros(len(lat))
    lat0 = float(np.mean(paths.lat[lo : lo + n]))
    vx, vy = to_plane_m(paths.lat[lo : lo + n], paths.lon[lo : lo + n], lat0)
    px, py = to_plane_m(lat, lon, lat0)
    ax, ay, dx, dy = vx[:-1], vy[:-1], np.diff(vx), np.diff(vy)
    seg2 = dx * dx + dy * dy
    rel_x, rel_y = px[:, None] - ax[None, :], py[:, None] - ay[None, :]
    t = np.clip(np.divide(rel_x * dx + rel_y * dy, seg2, out=np.zeros_like(rel_x), where=seg2 > 0), 0, 1)
    gap = np.hypot(rel_x - t * dx, rel_y - t * dy)
    along = paths.cum_m[lo : lo + n - 1][None, :] + t * np.diff(paths.cum_m[lo : lo + n])[None, :]
    return along, gap  # both (points, segments): the caller picks the segment


def project_stops(
    paths: Paths, path: int, lat: FloatArray, lon: FloatArray, reach_m: float = 150.0
) -> tuple[FloatArray, float]:
    """Distances of stops along `path`, each at or after the previous, and the worst miss (metres).

    The nearest points are used when they come in order; otherwise (a shape that passes a street twice) the
    in-order placement with the least total miss among the points within `reach_m` of each stop. The worst
    miss is infinite when no in-order placement exists within reach.
    """
    along, gap = project_on_path(paths, path, lat, lon)
    if along.shape[1] == 0 or len(lat) == 0:
        return np.zeros(len(lat)), 0.0
    nearest = np.argmin(gap, axis=1)
    free = along[np.arange(len(lat)), nearest]
    if np.all(np.diff(free) >= 0):
        return free, float(gap[np.arange(len(lat)), nearest].max())
    return _in_order(along, gap, reach_m)


def _in_order(along: FloatArray, gap: FloatArray, reach_m: float) -> tuple[FloatArray, float]:
    """Least total miss placement with non-decreasing distances (dynamic programming over candidates)."""
    stops = len(along)
    options = [np.argsort(gap[k])[:_MAX_OPTIONS] for k in range(stops)]
    options = [o[gap[k, o] <= reach_m] for k, o in enumerate(options)]
    if any(len(o) == 0 for o in options):
        return np.zeros(stops), np.inf
    cost, back = gap[0, options[0]], []
    for k in range(1, stops):
        here, before = along[k, options[k]], along[k - 1, options[k - 1]]
        total = np.where(before[None, :] <= here[:, None], cost[None, :], np.inf)
        back.append(np.argmin(total, axis=1))
        cost = total[np.arange(len(here)), back[-1]] + gap[k, options[k]]
    if not np.isfinite(cost.min()):
        return np.zeros(stops), np.inf
    pick = [int(np.argmin(cost))]
    for step in reversed(back):
        pick.append(int(step[pick[-1]]))
    chosen = [int(options[k][j]) for k, j in enumerate(reversed(pick))]
    rows = np.arange(stops)
    return along[rows, chosen], float(gap[rows, chosen].max())
