"""How much of each route runs along each other route (pure): the share of a route's length within a buffer
of the other's lines, found with a spatial index so that the work grows with the length of the network, not
with the square of the number of routes.

Each line (`network.build_pattern_lines`, local metres) is cut into equal pieces of at most `step_m` (25 m),
each standing for its length at its midpoint. One shapely STRtree over the straight segments of every line
(not whole lines, whose boxes would cover the city) tells, for every midpoint, which segments lie within
`buffer_m` (`dwithin`). For an ordered pair (A, B):

- share: A's length within the buffer of any of B's lines, over A's length, whatever the direction of travel;
- near_m: that length one-way, i.e. summed over A's directions and divided by their number;
- trips: the trips of A's lines that come within the buffer of B anywhere.

A route's length counts a street once per direction: a piece within `SAME_PATH_M` of a busier line of the same
route and direction is a variant running the same street, and is left out of both lengths.

>>> square = np.array([[0.0, 0.0], [1000.0, 0.0]])
>>> lines = pd.DataFrame({"route_id": ["long", "short"], "direction_id": [0, 0], "trips": [10, 4],
...                       "xy": [square, np.array([[200.0, 30.0], [500.0, 30.0]])]})
>>> measure_corridors(lines).values.tolist()  # the short one runs 30 m beside the long one
[['long', 'short', 0.4, 400.0, 10], ['short', 'long', 1.0, 300.0, 4]]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BUFFER_M = 50.0  # a street's width and a stop's offset either way: the buffer commonly used for "same street"
STEP_M = 25.0
SAME_PATH_M = 15.0
CORRIDOR_COLUMNS = ("route_id", "other_route_id", "share", "near_m", "trips")


def measure_corridors(
    lines: pd.DataFrame, buffer_m: float = BUFFER_M, step_m: float = STEP_M
) -> pd.DataFrame:
    """Every ordered pair of routes with some of the first within `buffer_m` of the second (module docstring):
    CORRIDOR_COLUMNS, sorted by route_id then other_route_id."""
    order = lines.sort_values(
        ["route_id", "direction_id", "trips"], ascending=[True, True, False], kind="stable"
    )
    order = order.reset_index(drop=True)
    a, b, segment_line = _segments(list(order["xy"]))
    if a.size == 0:
        return pd.DataFrame(columns=list(CORRIDOR_COLUMNS))
    route, routes = pd.factorize(order["route_id"])
    group = pd.factorize(order["route_id"].astype(str) + "\x1f" + order["direction_id"].astype(str))[0]
    rank = order.groupby(["route_id", "direction_id"], sort=False).cumcount().to_numpy()
    midpoints, weight, piece_line = _pieces(a, b, segment_line, len(order), step_m)
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    hit_piece, hit_segment = tree.query(shapely.points(midpoints), predicate="dwithin", distance=buffer_m)
    line_p, line_s = piece_line[hit_piece], segment_line[hit_segment]
    variant = np.flatnonzero((group[line_p] == group[line_s]) & (rank[line_s] < rank[line_p]))
    same_path = _distance(midpoints[hit_piece[variant]], a[hit_segment[variant]], b[hit_segment[variant]])
    kept = np.ones(len(weight), dtype=bool)
    kept[hit_piece[variant[same_path <= SAME_PATH_M]]] = False
    count = len(routes)
    length = np.bincount(route[piece_line][kept], weights=weight[kept], minlength=count)
    directions = order.groupby(route)["direction_id"].nunique().to_numpy()
    cross = route[line_p] != route[line_s]
    key = pd.unique(hit_piece[cross].astype(np.int64) * count + route[line_s[cross]])
    piece, other = np.divmod(key, count)
    near = _sum_by(route[piece_line[piece]] * count + other, np.where(kept[piece], weight[piece], 0.0))
    line_key = pd.unique(piece_line[piece].astype(np.int64) * count + other)
    line, line_other = np.divmod(line_key, count)
    trips = _sum_by(route[line] * count + line_other, order["trips"].to_numpy(dtype=np.float64)[line])
    pair = near.index.to_numpy(dtype=np.int64)
    first, second = np.divmod(pair, count)
    return pd.DataFrame(
        {
            "route_id": routes[first],
            "other_route_id": routes[second],
            "share": np.round(near.to_numpy() / np.maximum(length[first], 1e-9), 4),
            "near_m": np.round(near.to_numpy() / directions[first], 1),
            "trips": trips.reindex(pair).fillna(0).to_numpy(dtype=np.int64),
        }
    ).sort_values(["route_id", "other_route_id"], ignore_index=True)


def _segments(paths: list[FloatArray]) -> tuple[FloatArray, FloatArray, IntArray]:
    """The straight segments of every path (zero-length ones left out): start, end and path number."""
    points = np.concatenate(paths) if paths else np.empty((0, 2))
    points = points.reshape(-1, 2)
    owner = np.repeat(np.arange(len(paths)), [len(p) for p in paths])
    same = (owner[1:] == owner[:-1]) & (points[1:] != points[:-1]).any(axis=1)
    return points[:-1][same], points[1:][same], owner[:-1][same]


def _pieces(
    a: FloatArray, b: FloatArray, segment_line: IntArray, lines: int, step_m: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Each line cut into equal pieces of at most `step_m`: their midpoints, lengths and line numbers."""
    segment_m = np.hypot(*(b - a).T)
    line_m = np.bincount(segment_line, weights=segment_m, minlength=lines)
    count = np.where(line_m > 0, np.maximum(1, np.ceil(line_m / step_m)), 0).astype(np.int64)
    piece_line = np.repeat(np.arange(lines), count)
    size = line_m / np.maximum(count, 1)
    k = np.arange(piece_line.size) - (np.cumsum(count) - count)[piece_line]
    along = (np.cumsum(line_m) - line_m)[piece_line] + (k + 0.5) * size[piece_line]
    segment_start = np.cumsum(segment_m) - segment_m
    lo = np.searchsorted(segment_line, np.arange(lines), side="left")
    hi = np.searchsorted(segment_line, np.arange(lines), side="right") - 1
    at = np.clip(np.searchsorted(segment_start, along, side="right") - 1, lo[piece_line], hi[piece_line])
    t = np.clip((along - segment_start[at]) / segment_m[at], 0.0, 1.0)
    return a[at] + t[:, None] * (b[at] - a[at]), size[piece_line], piece_line


def _distance(p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """Distance from each point to its segment."""
    d = b - a
    t = np.clip(((p - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-12), 0.0, 1.0)
    return np.asarray(np.hypot(*(p - a - t[:, None] * d).T))


def _sum_by(key: IntArray, values: FloatArray) -> pd.Series:
    return pd.Series(values).groupby(key).sum()
