"""Where the stops are and how a trip runs along a route: platforms, stop patterns, run times, shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.synth.routes import Line
from transit.synth.streets import Streets, to_lat_lon

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_PLATFORM_OFFSET_M = (15.0, 25.0)
_SPEED_KMH = (18.0, 22.0)
_SEGMENT_VARIATION = (0.9, 1.1)
_DWELL_S = 20
_MIN_MOVING_S = 20.0


@dataclass(frozen=True, slots=True)
class Pattern:
    """One direction of a line: its stops, their times after departure, and its shape."""

    stops: IntArray  # stop index per stop_sequence
    dist_m: FloatArray  # shape_dist_traveled of each stop
    arrival_s: IntArray  # seconds after the trip's first departure
    departure_s: IntArray
    shape_xy: FloatArray  # (points, 2)
    shape_dist_m: FloatArray


def index_platforms(lines: Sequence[Line]) -> dict[tuple[int, int], int]:
    """One platform per directed street segment that a route uses; routes on the same segment share it."""
    index: dict[tuple[int, int], int] = {}
    for line in lines:
        for nodes in (line.nodes, line.nodes[::-1]):
            for edge in zip(nodes[:-1], nodes[1:], strict=True):
                index.setdefault(edge, len(index))
    return index


def place_platforms(
    xy: FloatArray, platforms: dict[tuple[int, int], int], rng: np.random.Generator
) -> FloatArray:
    """Platforms at the middle of their segment, 15-25 m to the right of the street (traffic keeps right)."""
    edges = np.array(list(platforms), dtype=np.int64).reshape(-1, 2)
    a, b = xy[edges[:, 0]], xy[edges[:, 1]]
    along = b - a
    right = np.column_stack((along[:, 1], -along[:, 0])) / np.hypot(*along.T)[:, None]
    offset = rng.uniform(*_PLATFORM_OFFSET_M, size=len(edges))
    placed: FloatArray = (a + b) / 2 + right * offset[:, None]
    return placed


def build_patterns(
    lines: Sequence[Line], xy: FloatArray, platforms: dict[tuple[int, int], int], rng: np.random.Generator
) -> list[Pattern]:
    """Two patterns per line, direction 0 then 1, at a speed drawn per line."""
    patterns: list[Pattern] = []
    for line in lines:
        speed_ms = float(rng.uniform(*_SPEED_KMH)) / 3.6
        for nodes in (line.nodes, line.nodes[::-1]):
            patterns.append(_build_pattern(nodes, xy, platforms, speed_ms, rng))
    return patterns


def _build_pattern(
    nodes: Sequence[int],
    xy: FloatArray,
    platforms: dict[tuple[int, int], int],
    speed_ms: float,
    rng: np.random.Generator,
) -> Pattern:
    stops = np.array([platforms[e] for e in zip(nodes[:-1], nodes[1:], strict=True)], dtype=np.int64)
    points = xy[list(nodes)]
    edge_m = np.hypot(*np.diff(points, axis=0).T)
    middles = (points[:-1] + points[1:]) / 2
    shape_xy = np.vstack((middles[:1], points[1:-1], middles[-1:]))
    shape_dist = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(shape_xy, axis=0).T))))
    dist = np.cumsum(edge_m) - edge_m / 2 - edge_m[0] / 2
    gaps = np.diff(dist)
    variation = rng.uniform(*_SEGMENT_VARIATION, size=gaps.size)
    moving = np.maximum(gaps / speed_ms * variation - _DWELL_S, _MIN_MOVING_S)
    dwell = np.full(stops.size, _DWELL_S, dtype=np.float64)
    dwell[[0, -1]] = 0.0
    arrival = np.concatenate(([0.0], np.cumsum(moving + dwell[:-1])))
    return Pattern(
        stops=stops,
        dist_m=dist,
        arrival_s=np.rint(arrival).astype(np.int64),
        departure_s=np.rint(arrival + dwell).astype(np.int64),
        shape_xy=shape_xy,
        shape_dist_m=shape_dist,
    )


def _stop_name(streets: Streets, u: int, v: int) -> str:
    (row_u, col_u), (row_v, col_v) = divmod(u, streets.size), divmod(v, streets.size)
    if row_u == row_v:
        return f"{streets.row_names[row_u]} / {streets.col_names[min(col_u, col_v)]}"
    return f"{streets.col_names[col_u]} / {streets.row_names[min(row_u, row_v)]}"


def build_stops(streets: Streets, platforms: dict[tuple[int, int], int], stop_xy: FloatArray) -> pd.DataFrame:
    """stops.txt: one row per platform, named after its street and the cross street."""
    lat, lon = to_lat_lon(stop_xy)
    width = len(str(len(platforms)))
    return pd.DataFrame(
        {
            "stop_id": [f"S{k + 1:0{width}d}" for k in range(len(platforms))],
            "stop_name": [_stop_name(streets, u, v) for u, v in platforms],
            "stop_lat": lat,
            "stop_lon": lon,
            "location_type": 0,
        }
    )


def build_shapes(lines: Sequence[Line], patterns: Sequence[Pattern]) -> pd.DataFrame:
    """shapes.txt: one shape per line and direction."""
    ids = [f"{line.route_id}-{d}" for line in lines for d in (0, 1)]
    counts = [p.shape_dist_m.size for p in patterns]
    lat, lon = to_lat_lon(np.vstack([p.shape_xy for p in patterns]))
    return pd.DataFrame(
        {
            "shape_id": np.repeat(np.array(ids, dtype=object), counts),
            "shape_pt_lat": lat,
            "shape_pt_lon": lon,
            "shape_pt_sequence": np.concatenate([np.arange(1, n + 1) for n in counts]),
            "shape_dist_traveled": np.round(np.concatenate([p.shape_dist_m for p in patterns]), 1),
        }
    )
