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
_MIN_MOVE_M = 20.0  # a ping has a heading when the vehicle moved this far since its previous ping


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
    cell_m: float = CELL_M,
) -> pd.DataFrame:
    """Candidate pairs (columns vehicle, instance) from pings (vehicle code, x, y, epoch s) and instances.

    Pings are sorted by vehicle then time. `instance` holds each trip instance's path (-1: none) and window
    start and end (epoch seconds).
    """
    vehicle, x, y, t = ping
    key = cell_keys(x, y, cell_m)
    minute = np.floor(t / 60).astype(np.int64)
    sector = _ping_sectors(vehicle, x, y)
    moving = sector >= 0
    seen = pd.DataFrame(
        {"cell": key[moving], "vehicle": vehicle[moving], "minute": minute[moving], "ping": sector[moving]}
    ).drop_duplicates()
    parts = []
    for first in range(0, len(seen), _CHUNK_ROWS):  # the merge multiplies rows: bound it
        part = seen.iloc[first : first + _CHUNK_ROWS].merge(cells, on="cell")
        turn = (part["ping"].to_numpy() - part["sector"].to_numpy()) % _SECTORS
        parts.append(
            part[np.minimum(turn, _SECTORS - turn) <= 2][["path", "minute", "vehicle"]].drop_duplicates()
        )
    near = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["path", "minute", "vehicle"])
    )
    near = near.drop_duplicates().sort_values(["path", "minute"], kind="stable")
    base = int(minute.min()) if len(minute) else 0
    near_key = near["path"].to_numpy() * _KEY + (near["minute"].to_numpy() - base)
    path, start_s, end_s = instance
    lo_min = np.floor(start_s / 60).astype(np.int64) - base
    hi_min = np.floor(end_s / 60).astype(np.int64) - base
    lo = np.searchsorted(near_key, path * _KEY + lo_min, side="left")
    hi = np.searchsorted(near_key, path * _KEY + hi_min, side="right")
    hi = np.where(path >= 0, hi, lo)
    count = hi - lo
    row = np.repeat(lo - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    pairs = pd.DataFrame(
        {"vehicle": near["vehicle"].to_numpy()[row], "instance": np.repeat(np.arange(len(path)), count)}
    )
    minutes = pairs.groupby(["vehicle", "instance"], sort=True).size()
    return minutes[minutes >= _MIN_MINUTES].reset_index()[["vehicle", "instance"]]


def cell_keys(x: FloatArray, y: FloatArray, cell_m: float = CELL_M) -> IntArray:
    """The grid cell of each point (as `path_cells` keys them)."""
    return np.asarray(
        np.floor(x / cell_m).astype(np.int64) * _KEY + np.floor(y / cell_m).astype(np.int64), dtype=np.int64
    )


class PathFilter:
    """Which pings may lie on one path going its way: in its cells, heading within 90 degrees of it there
    (or standing, with no heading). Pings elsewhere, or driving the other way, cannot match it."""

    def __init__(self, cells: pd.DataFrame, path: int) -> None:
        mine = cells[cells["path"].to_numpy() == path]
        cell, sector = mine["cell"].to_numpy(dtype=np.int64), mine["sector"].to_numpy(dtype=np.int64)
        turns = np.arange(-2, 3)
        self._headed = np.unique((cell[:, None] * _SECTORS + (sector[:, None] + turns) % _SECTORS).ravel())
        self._cells = np.unique(cell)

    def admits(self, cell: IntArray, sector: IntArray) -> np.ndarray:
        """Whether each ping (its cell key and heading sector, -1 if standing) may match the path."""
        standing = sector < 0
        keys = cell * _SECTORS + np.maximum(sector, 0)
        return np.where(standing, _member(cell, self._cells), _member(keys, self._headed))


def _member(values: IntArray, sorted_set: IntArray) -> np.ndarray:
    """np.isin for a small sorted set and many values, without sorting the values."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return np.asarray(sorted_set[at] == values, dtype=bool)


def move_sectors(dx: FloatArray, dy: FloatArray, min_move_m: float) -> IntArray:
    """Heading sector of each move; -1 for moves under min_move_m (standing, or within the GPS noise)."""
    return np.where(np.hypot(dx, dy) >= min_move_m, _sector(dx, dy), -1)


def _sector(dx: FloatArray, dy: FloatArray) -> IntArray:
    """Heading sector (0.._SECTORS - 1) of each direction; -1 where there is no movement."""
    sector = np.floor((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * _SECTORS).astype(np.int64) % _SECTORS
    return np.where(np.hypot(dx, dy) > 0, sector, -1)


def _ping_sectors(vehicle: IntArray, x: FloatArray, y: FloatArray) -> IntArray:
    """Heading sector of each ping from the vehicle's previous ping; -1 if it moved under _MIN_MOVE_M."""
    if len(vehicle) == 0:
        return np.zeros(0, dtype=np.int64)
    dx, dy = np.r_[0.0, np.diff(x)], np.r_[0.0, np.diff(y)]
    same = np.r_[False, vehicle[1:] == vehicle[:-1]]
    return np.where(same, move_sectors(dx, dy, _MIN_MOVE_M), -1)
