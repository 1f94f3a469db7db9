"""Where a trip's stops lie on its path: by shape_dist_traveled, by projection in order, or a stop chain.

Stops are placed by shape_dist_traveled where stop_times.txt and shapes.txt both give it (in any unit: it is
mapped onto the shape's metres); else projected onto the shape in order; else, when the shape misses a stop by
more than 150 m or cannot be followed in stop order, the trip gets a straight stop-to-stop path (one per
pattern of shape and stops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.gtfs.dayplan import ScheduleTables
from transit.gtfs.times import parse_gtfs_times
from transit.telemetry.sim_paths import (
    FloatArray,
    IntArray,
    ObjectArray,
    Paths,
    build_paths,
    concat_paths,
    project_stops,
)

_MAX_STOP_MISS_M = 150.0  # a stop farther than this from its shape: the shape is not used for that trip


@dataclass(frozen=True, slots=True)
class StopRows:
    """The day's stop_times in (trip, stop_sequence) order, with times and stop positions."""

    trip: IntArray  # template code
    stop_id: ObjectArray
    arrival: FloatArray  # seconds from the service day's origin; NaN where missing
    departure: FloatArray
    lat: FloatArray
    lon: FloatArray
    shape_dist: FloatArray  # NaN where missing


def read_stop_rows(feed: ScheduleTables, trip_ids: ObjectArray) -> StopRows:
    st = feed.stop_times
    st = st[st["trip_id"].astype("string").isin(trip_ids)]
    code = pd.Index(trip_ids).get_indexer(pd.Index(st["trip_id"].astype("string").to_numpy(dtype=object)))
    sequence = pd.to_numeric(st["stop_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, code))
    st = st.iloc[order]
    arrival = _seconds(st, "arrival_time")
    departure = _seconds(st, "departure_time")
    stops = feed.stops.drop_duplicates("stop_id")
    stop_id = st["stop_id"].astype("string").to_numpy(dtype=object)
    where = pd.Index(stops["stop_id"].astype("string").to_numpy(dtype=object)).get_indexer(stop_id)
    shape_dist = (
        pd.to_numeric(st["shape_dist_traveled"]).to_numpy(dtype=float, na_value=np.nan)
        if "shape_dist_traveled" in st.columns
        else np.full(len(st), np.nan)
    )
    return StopRows(
        trip=code[order].astype(np.int64),
        stop_id=stop_id,
        arrival=np.where(np.isnan(arrival), departure, arrival),
        departure=np.where(np.isnan(departure), arrival, departure),
        lat=pd.to_numeric(stops["stop_lat"]).to_numpy(dtype=float)[where],
        lon=pd.to_numeric(stops["stop_lon"]).to_numpy(dtype=float)[where],
        shape_dist=shape_dist,
    )


def _seconds(st: pd.DataFrame, column: str) -> FloatArray:
    if column not in st.columns:
        return np.full(len(st), np.nan)
    codes, uniques = pd.factorize(st[column], use_na_sentinel=True)  # few distinct times: parse each once
    parsed = parse_gtfs_times(pd.Series(np.asarray(uniques, dtype=object))).astype(float)
    seconds = np.r_[parsed, -1.0][codes]
    return np.where(seconds < 0, np.nan, seconds)


def place_by_shape_dist(
    rows: StopRows,
    trip_shape: IntArray,
    shapes: Paths,
    shape_dist: FloatArray,
    dist: FloatArray,
    path: IntArray,
) -> None:
    """Stops of trips whose stop_times and shape both give shape_dist_traveled: metres by interpolation."""
    vertex_shape = np.repeat(np.arange(shapes.size), shapes.count)
    shape_ok = np.ones(shapes.size, dtype=bool)
    np.logical_and.at(shape_ok, vertex_shape, ~np.isnan(shape_dist))
    shape_ok &= shapes.count >= 2
    trip_ok = np.zeros(len(trip_shape), dtype=bool)
    trip_ok[trip_shape >= 0] = shape_ok[trip_shape[trip_shape >= 0]]
    np.logical_and.at(trip_ok, rows.trip, ~np.isnan(rows.shape_dist))
    use = trip_ok[rows.trip]
    if not use.any():
        return
    low = np.full(shapes.size, np.inf)
    high = np.full(shapes.size, -np.inf)
    finite = ~np.isnan(shape_dist)
    np.minimum.at(low, vertex_shape[finite], shape_dist[finite])
    np.maximum.at(high, vertex_shape[finite], shape_dist[finite])
    span = np.where(np.isfinite(high - low), high - low, 0.0) + 1.0
    base = np.r_[0.0, np.cumsum(span)[:-1]]
    vertex_key = base[vertex_shape] + np.nan_to_num(shape_dist - low[vertex_shape])
    shape = trip_shape[rows.trip[use]]
    stop_key = base[shape] + np.clip(rows.shape_dist[use], low[shape], high[shape]) - low[shape]
    dist[use] = np.interp(stop_key, vertex_key, shapes.cum_m)
    path[trip_ok] = trip_shape[trip_ok]


def place_by_projection(
    rows: StopRows, trip_shape: IntArray, shapes: Paths, dist: FloatArray, path: IntArray
) -> Paths:
    """The other trips: stops projected onto their shape, else a straight stop-to-stop chain per pattern."""
    bounds = np.r_[0, np.cumsum(np.bincount(rows.trip, minlength=len(path)))].astype(np.int64)
    placed: dict[tuple[int, tuple[object, ...]], tuple[int, FloatArray] | None] = {}
    chains: dict[tuple[int, tuple[object, ...]], int] = {}  # pattern -> a trip that has it
    trips = np.flatnonzero(path < 0)
    keys = []
    for trip in trips:
        lo, hi = int(bounds[trip]), int(bounds[trip + 1])
        key = (int(trip_shape[trip]), tuple(rows.stop_id[lo:hi]))
        keys.append(key)
        if key not in placed:
            placed[key] = _projected(rows, lo, hi, key[0], shapes)
            if placed[key] is None:
                chains[key] = int(trip)
    chain = _chain_paths(rows, bounds, np.fromiter(chains.values(), dtype=np.int64, count=len(chains)))
    for k, key in enumerate(chains):
        lo = int(chain.first[k])
        placed[key] = (shapes.size + k, chain.cum_m[lo : lo + int(chain.count[k])])
    for trip, key in zip(trips, keys, strict=True):
        found = placed[key]
        if found is not None:
            path[trip], dist[bounds[trip] : bounds[trip + 1]] = found
    return concat_paths(shapes, chain)


def _projected(rows: StopRows, lo: int, hi: int, shape: int, shapes: Paths) -> tuple[int, FloatArray] | None:
    """The stops of rows lo:hi placed on `shape` in order, or None when the shape misses a stop."""
    if shape < 0:
        return None
    along, worst = project_stops(shapes, shape, rows.lat[lo:hi], rows.lon[lo:hi])
    return (shape, along) if worst <= _MAX_STOP_MISS_M else None


def _chain_paths(rows: StopRows, bounds: IntArray, trips: IntArray) -> Paths:
    """One straight stop-to-stop path per given trip's stops."""
    sizes = bounds[trips + 1] - bounds[trips]
    take = (
        np.repeat(bounds[trips], sizes) + np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    )
    group = np.repeat(np.arange(len(trips), dtype=np.int64), sizes)
    return build_paths(group, rows.lat[take], rows.lon[take], len(trips))
