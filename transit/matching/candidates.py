"""Which (vehicle, trip instance) pairs are worth matching: the vehicle was near the path in its window.

A grid of cells marks where each path runs (with a margin of one cell, wider than the match radius); a pair
is a candidate when the vehicle, moving the path's way there (heading within 90 degrees), reported from the
path's cells in at least three distinct minutes of the instance's window (start - before_start_s to end +
after_end_s). The heading test keeps a bus on the reverse street (the other direction) from being a candidate
for every trip of that street all day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transit.matching.paths import PathIndex
from transit.matching.projection import FloatArray, IntArray

CELL_M = 100.0  # a path marks its cells and their 8 neighbours: every point within 100 m of it is inside
CHAIN_CELLS = 3  # a stop chain marks 3 cells around: every point within 300 m of it is inside
_KEY = np.int64(1 << 31)
_MIN_MINUTES = 3
_CHUNK_ROWS = 250_000  # distinct (cell, vehicle, minute, heading) rows merged at once
_SECTORS = 8  # heading sectors of 45 degrees
MIN_MOVE_M = 20.0  # a ping has a heading when the vehicle moved this far since its previous ping


def path_cells(paths: PathIndex, cell_m: float = CELL_M) -> pd.DataFrame:
    """Unique (cell, path, sector) rows: cells near every path, and its heading sector there.

    A path marks the cells within one cell of it; a stop chain (no shape: straight from stop to stop,
    while the bus follows the streets) those within CHAIN_CELLS.
    """
    path_of = np.repeat(np.arange(len(paths.first)), paths.count)
    same = np.r_[path_of[1:] == path_of[:-1], False]
    seg = np.flatnonzero(same)
    length = np.hypot(paths.x[seg + 1] - paths.x[seg], paths.y[seg + 1] - paths.y[seg])
    parts = np.maximum(1, np.ceil(length / (cell_m / 2))).astype(np.int64)
    owner = np.repeat(seg, parts)
    frac = (np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts)) / np.repeat(parts, parts)
    # Points every cell_m / 2 at most along each segment (its start included; the end is within reach).
    dx, dy = paths.x[owner + 1] - paths.x[owner], paths.y[owner + 1] - paths.y[owner]
    x, y = paths.x[owner] + frac * dx, paths.y[owner] + frac * dy
    path, sector = path_of[owner], _sector(dx, dy)
    cx, cy = np.floor(x / cell_m).astype(np.int64), np.floor(y / cell_m).astype(np.int64)
    chain = pd.isna(paths.shape_id)[path]
    frames = []
    for reach, rows in ((1, ~chain), (CHAIN_CELLS, chain)):
        steps = range(-reach, reach + 1)
        shifts = np.array([(sx, sy) for sx in steps for sy in steps])
        keys = (cx[rows, None] + shifts[:, 0]) * _KEY + (cy[rows, None] + shifts[:, 1])
        frames.append(
            pd.DataFrame(
                {
                    "cell": keys.ravel(),
                    "path": np.repeat(path[rows], len(shifts)),
                    "sector": np.repeat(sector[rows], len(shifts)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)


def find_candidates(
    cells: pd.DataFrame,
    ping: tuple[IntArray, FloatArray, FloatArray, FloatArray],
    instance: tuple[IntArray, FloatArray, FloatArray],
    cells_of_pings: tuple[IntArray, IntArray, IntArray] | None = None,
    cell_m: float = CELL_M,
) -> pd.DataFrame:
    """Candidate pairs (columns vehicle, instance) from pings (vehicle code, x, y, epoch s) and instances.

    Pings are sorted by vehicle then time. `instance` holds each trip instance's path (-1: none) and window
    start and end (epoch seconds). `cells_of_pings`, if the caller has them: the sorted distinct cell keys
    of the pings (`cell_keys`), each ping's position in them, and its heading (`_ping_sectors`). Numpy
    throughout, on packed integer keys: a day has millions of pings.
    """
    vehicle, x, y, t = ping
    minute = np.floor(t / 60).astype(np.int64)
    base = int(minute.min()) if len(minute) else 0
    if cells_of_pings is None:
        places, place = np.unique(cell_keys(x, y, cell_m), return_inverse=True)
        sector = _ping_sectors(vehicle, x, y)
    else:
        places, place, sector = cells_of_pings
    moving = sector >= 0
    # Distinct (cell, vehicle, minute, heading) of moving pings.
    place = place[moving]
    sizes = (
        len(places),
        int(vehicle.max()) + 1 if len(vehicle) else 1,
        int(minute.max()) - base + 1 if len(minute) else 1,
    )
    seen = _Packed(sizes + (_SECTORS,))
    seen_rows = seen.decode(
        _distinct(seen.encode(place, vehicle[moving], minute[moving] - base, sector[moving]))
    )
    # Path cells by place (cells no ping lies in cannot make a candidate).
    cell = cells["cell"].to_numpy(dtype=np.int64)
    at = np.searchsorted(places, cell)
    known = at < len(places)
    known[known] = places[at[known]] == cell[known]
    order = np.argsort(at[known], kind="stable")
    by_place = at[known][order]
    path_of = cells["path"].to_numpy(dtype=np.int64)[known][order]
    sector_of = cells["sector"].to_numpy(dtype=np.int64)[known][order]
    lo = np.searchsorted(by_place, seen_rows[0])
    count = np.searchsorted(by_place, seen_rows[0], side="right") - lo
    # Per path, the (vehicle, minute) it saw a vehicle going its way; in chunks (each row meets many paths).
    near_paths = _Packed((int(path_of.max()) + 1 if len(path_of) else 1, sizes[1], sizes[2]))
    found: list[IntArray] = []
    ends = np.cumsum(count)
    start = 0
    while start < len(count):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - count[start] + _CHUNK_ROWS * 8)))
        part = np.arange(start, min(stop, len(count)))
        n = count[part]
        row = np.repeat(part, n)
        at_cell = np.repeat(lo[part] - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(n.sum())
        turn = (seen_rows[3][row] - sector_of[at_cell]) % _SECTORS
        same_way = np.minimum(turn, _SECTORS - turn) <= 2
        row, at_cell = row[same_way], at_cell[same_way]
        found.append(pd.unique(near_paths.encode(path_of[at_cell], seen_rows[1][row], seen_rows[2][row])))
        start = int(part[-1]) + 1
    # Sorted by path, vehicle, minute: key = group * minutes + minute, a group being one (path, vehicle).
    near = _distinct(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    return _enough_minutes(near, near_paths, instance, base)


def _enough_minutes(
    near: IntArray, near_paths: _Packed, instance: tuple[IntArray, FloatArray, FloatArray], base: int
) -> pd.DataFrame:
    """The (vehicle, instance) pairs whose vehicle went the instance's path's way in at least _MIN_MINUTES
    distinct minutes of its window. `near`: sorted keys of (path, vehicle, minute - base) in `near_paths`.

    Each instance meets each vehicle seen on its path once: two binary searches count its minutes in the
    window (not one row per minute and instance).
    """
    _, vehicles, minutes = near_paths.sizes
    group = near // minutes  # path * vehicles + vehicle
    heads = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, np.int64)
    groups = group[heads]
    group_path = groups // vehicles
    path, start_s, end_s = instance
    # Per instance, the groups of its path: groups[first[i]:last[i]].
    first = np.searchsorted(group_path, path, side="left")
    last = np.where(path >= 0, np.searchsorted(group_path, path, side="right"), first)
    count = last - first
    owner = np.repeat(np.arange(len(path)), count)
    at = np.repeat(first - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    # Windows clipped to the minutes of the pings, so that a search never reaches into the next group.
    lo_min = np.clip(np.floor(start_s / 60).astype(np.int64) - base, 0, minutes)
    hi_min = np.clip(np.floor(end_s / 60).astype(np.int64) - base, -1, minutes - 1)
    key = groups[at] * minutes
    inside = np.searchsorted(near, key + hi_min[owner], side="right") - np.searchsorted(
        near, key + lo_min[owner], side="left"
    )
    kept = inside >= _MIN_MINUTES
    vehicle, instance_of = groups[at][kept] % vehicles, owner[kept]
    order = np.lexsort((instance_of, vehicle))
    kept_vehicle, kept_instance = vehicle[order], instance_of[order]
    return pd.DataFrame({"vehicle": kept_vehicle, "instance": kept_instance})


def _distinct(keys: IntArray) -> IntArray:
    """The distinct keys, sorted: hashed first (most keys repeat), then only those sorted."""
    return np.sort(pd.unique(keys))


class _Packed:
    """Several non-negative integer columns packed into one int64 (mixed radix), so that numpy can sort,
    deduplicate and count rows of them as plain integers."""

    def __init__(self, sizes: tuple[int, ...]) -> None:
        if float(np.prod([float(max(1, s)) for s in sizes])) >= 2.0**62:
            raise ValueError(f"too many distinct values to pack in 64 bits: {sizes}")
        self.sizes = tuple(max(1, s) for s in sizes)

    def encode(self, *columns: IntArray) -> IntArray:
        key = np.zeros(len(columns[0]), dtype=np.int64)
        for column, size in zip(columns, self.sizes, strict=True):
            key = key * size + column.astype(np.int64)
        return key

    def decode(self, key: IntArray) -> list[IntArray]:
        out = []
        for size in reversed(self.sizes):
            out.append(key % size)
            key = key // size
        return out[::-1]


def cell_keys(x: FloatArray, y: FloatArray, cell_m: float = CELL_M) -> IntArray:
    """The grid cell of each point (as `path_cells` keys them)."""
    return np.asarray(
        np.floor(x / cell_m).astype(np.int64) * _KEY + np.floor(y / cell_m).astype(np.int64), dtype=np.int64
    )


class PathFilter:
    """Which pings may lie on one path going its way: in its cells, heading within 90 degrees of it there
    (or standing, with no heading). Pings elsewhere, or driving the other way, cannot match it.

    Pings are given by their *place*: the position of their cell key in `places`, the sorted distinct cells
    of the day's pings; the filter is then one table look-up per ping (a path is tested against millions).
    """

    def __init__(self, cells: pd.DataFrame, path: int, places: IntArray) -> None:
        mine = cells[cells["path"].to_numpy() == path]
        cell, sector = mine["cell"].to_numpy(dtype=np.int64), mine["sector"].to_numpy(dtype=np.int64)
        at = np.searchsorted(places, cell)
        seen = at < len(places)
        seen[seen] = places[at[seen]] == cell[seen]  # a cell no ping lies in has no place
        at, sector = at[seen], sector[seen]
        self._table = np.zeros((len(places), _SECTORS + 1), dtype=bool)  # column 0: standing
        self._table[at, 0] = True
        for turn in range(-2, 3):
            self._table[at, 1 + (sector + turn) % _SECTORS] = True

    def admits(self, place: IntArray, sector: IntArray) -> np.ndarray:
        """Whether each ping (its place, and heading sector, -1 if standing) may match the path."""
        return np.asarray(self._table[place, sector + 1], dtype=bool)


def move_sectors(dx: FloatArray, dy: FloatArray, min_move_m: float) -> IntArray:
    """Heading sector of each move; -1 for moves under min_move_m (standing, or within the GPS noise)."""
    return np.where(np.hypot(dx, dy) >= min_move_m, _sector(dx, dy), -1)


def _sector(dx: FloatArray, dy: FloatArray) -> IntArray:
    """Heading sector (0.._SECTORS - 1) of each direction; -1 where there is no movement."""
    sector = np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * _SECTORS).astype(np.int64) % _SECTORS
    return np.where(np.hypot(dx, dy) > 0, sector, -1)


def _ping_sectors(vehicle: IntArray, x: FloatArray, y: FloatArray) -> IntArray:
    """Heading sector of each ping from the vehicle's previous ping; -1 if it moved under MIN_MOVE_M."""
    if len(vehicle) == 0:
        return np.zeros(0, dtype=np.int64)
    dx, dy = np.r_[0.0, np.diff(x)], np.r_[0.0, np.diff(y)]
    same = np.r_[False, vehicle[1:] == vehicle[:-1]]
    return np.where(same, move_sectors(dx, dy, MIN_MOVE_M), -1)
