"""The paths trips run on, in local metres, and where each trip's stops lie along its path.

One path per shape_id, plus one per distinct stop sequence for trips without a (usable) shape: a stop chain,
straight from stop to stop. Trips with the same path and the same stops share a stop pattern, so the stops
are placed once per pattern (see `transit.matching.placement`). A shape that misses any stop of a pattern by
more than `max_stop_offset_m`, or that cannot be followed in stop order, is not used for that pattern: its
trips get a stop chain, as the simulator's buses do (`transit.telemetry.sim_stops`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.gtfs.dayplan import ScheduleTables
from transit.gtfs.geo import haversine_m
from transit.matching.placement import place_stops
from transit.matching.projection import FloatArray, IntArray, ObjectArray, Path, to_local_xy

MAX_STOP_OFFSET_M = 150.0


@dataclass(frozen=True, slots=True)
class PathIndex:
    """All paths (concatenated vertex arrays), stop patterns on them, and each trip's pattern.

    Paths: vertices `first[p]` to `first[p] + count[p] - 1` of x, y (metres east and north of `origin`,
    lat/lon degrees) and cum_m (metres along the path). Patterns: stops `pattern_first[q]` onward of stop_id,
    stop_dist_m (never decreasing) and stop_offset_m (stop to path), in stop_sequence order.
    """

    origin: tuple[float, float]
    shape_id: ObjectArray  # per path; None for a stop chain
    first: IntArray
    count: IntArray
    x: FloatArray
    y: FloatArray
    cum_m: FloatArray
    pattern_path: IntArray
    pattern_first: IntArray
    pattern_count: IntArray
    stop_id: ObjectArray
    stop_dist_m: FloatArray
    stop_offset_m: FloatArray
    trip_id: ObjectArray
    trip_pattern: IntArray

    @property
    def length_m(self) -> FloatArray:
        """Length of every path (metres)."""
        return np.asarray(self.cum_m[self.first + self.count - 1], dtype=np.float64)

    @property
    def trip_path(self) -> IntArray:
        """The path of every trip."""
        return self.pattern_path[self.trip_pattern]

    def path(self, path_id: int) -> Path:
        """One path's vertices (views, no copy)."""
        vertices = slice(int(self.first[path_id]), int(self.first[path_id] + self.count[path_id]))
        return Path(self.x[vertices], self.y[vertices], self.cum_m[vertices])

    def trip_positions(self, trip_ids: ObjectArray) -> IntArray:
        """Row of each given trip_id in `trip_id`, -1 for a trip not in the index."""
        return np.asarray(pd.Index(self.trip_id).get_indexer(pd.Index(trip_ids)), dtype=np.int64)

    def trip_stop_dist_m(self, trip: int) -> FloatArray:
        """Metres along its path of each stop of the trip at row `trip`, in stop_sequence order."""
        pattern = int(self.trip_pattern[trip])
        lo = int(self.pattern_first[pattern])
        return self.stop_dist_m[lo : lo + int(self.pattern_count[pattern])]


@dataclass(frozen=True, slots=True)
class _StopRows:
    """stop_times sorted by trip then stop_sequence: trip code, stop code, and the trip's row range."""

    trip_ids: ObjectArray
    trip: IntArray
    stop: IntArray  # code into stop_ids
    stop_ids: ObjectArray
    trip_first: IntArray
    trip_count: IntArray


@dataclass(frozen=True, slots=True)
class _Vertices:
    """Concatenated polylines: lat/lon, local metres, metres along, and per path first vertex and count."""

    lat: FloatArray
    lon: FloatArray
    x: FloatArray
    y: FloatArray
    cum_m: FloatArray
    first: IntArray
    count: IntArray


def build_paths(feed: ScheduleTables, max_stop_offset_m: float = MAX_STOP_OFFSET_M) -> PathIndex:
    """Paths, stop patterns and every trip's pattern, for all trips with stop_times; expects a valid feed."""
    rows = _stop_rows(feed.stop_times)
    stop_lat, stop_lon = _stop_coordinates(feed.stops, rows.stop_ids)
    origin = _centre(stop_lat, stop_lon)
    shape_ids, shapes = _shape_vertices(feed.shapes, origin)
    trip_shape = trip_shapes(feed.trips, rows.trip_ids, shape_ids)
    stops_key = _sequence_keys(rows)
    trip_pattern, pattern_trip = _group(np.column_stack((trip_shape, stops_key)))
    pattern_rows = _pattern_rows(rows, pattern_trip)
    lat, lon = stop_lat[rows.stop[pattern_rows]], stop_lon[rows.stop[pattern_rows]]
    pattern_count = rows.trip_count[pattern_trip]
    pattern_shape = trip_shape[pattern_trip]
    px, py = to_local_xy(lat, lon, origin)
    polylines = (shapes.x, shapes.y, shapes.cum_m, shapes.first, shapes.count)
    dist_m, offset_m, on_shape = place_stops(
        polylines, pattern_shape, pattern_count, px, py, max_stop_offset_m
    )
    chain_pattern = np.flatnonzero(~on_shape)
    chains, chain_of, stop_block = _stop_chains(
        stops_key[pattern_trip[chain_pattern]], chain_pattern, pattern_count, (lat, lon), origin
    )
    dist_m[stop_block] = chains.cum_m[_pattern_block(chains.first[chain_of], chains.count[chain_of])]
    offset_m[stop_block] = 0.0
    pattern_path = np.where(on_shape, pattern_shape, -1).astype(np.int64)
    pattern_path[chain_pattern] = len(shape_ids) + chain_of
    every = _concat(shapes, chains)
    return PathIndex(
        origin=origin,
        shape_id=np.r_[np.asarray(shape_ids, dtype=object), np.full(len(chains.first), None, dtype=object)],
        first=every.first,
        count=every.count,
        x=every.x,
        y=every.y,
        cum_m=every.cum_m,
        pattern_path=pattern_path,
        pattern_first=_starts(pattern_count),
        pattern_count=pattern_count,
        stop_id=rows.stop_ids[rows.stop[pattern_rows]],
        stop_dist_m=dist_m,
        stop_offset_m=offset_m,
        trip_id=rows.trip_ids,
        trip_pattern=trip_pattern,
    )


def _stop_chains(
    stops_key: IntArray,
    patterns: IntArray,
    pattern_count: IntArray,
    stop_lat_lon: tuple[FloatArray, FloatArray],
    origin: tuple[float, float],
) -> tuple[_Vertices, IntArray, IntArray]:
    """One straight stop-to-stop polyline per distinct stop sequence among the given patterns.

    Returns the polylines, the chain of each given pattern, and the pattern-stop rows of those patterns.
    """
    lat, lon = stop_lat_lon
    chain_of, chain_first = _group(stops_key[:, None])
    stop_first = _starts(pattern_count)
    sample = patterns[chain_first]
    points = _pattern_block(stop_first[sample], pattern_count[sample])
    group = np.repeat(np.arange(len(sample), dtype=np.int64), pattern_count[sample])
    chains = _vertices(group, lat[points], lon[points], origin)
    return chains, chain_of, _pattern_block(stop_first[patterns], pattern_count[patterns])


def _stop_rows(stop_times: pd.DataFrame) -> _StopRows:
    """stop_times in (trip, stop_sequence) order, trips and stops coded in order of first appearance."""
    codes, trip_ids = pd.factorize(stop_times["trip_id"].astype("string"))
    stop_codes, stop_ids = pd.factorize(stop_times["stop_id"].astype("string"))
    sequence = pd.to_numeric(stop_times["stop_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, codes))
    trip = codes[order].astype(np.int64)
    count = np.bincount(trip, minlength=len(trip_ids)).astype(np.int64)
    return _StopRows(
        trip_ids=np.asarray(trip_ids, dtype=object),
        trip=trip,
        stop=stop_codes[order].astype(np.int64),
        stop_ids=np.asarray(stop_ids, dtype=object),
        trip_first=_starts(count),
        trip_count=count,
    )


def _stop_coordinates(stops: pd.DataFrame, stop_ids: ObjectArray) -> tuple[FloatArray, FloatArray]:
    """lat, lon of each given stop_id (NaN for one missing from stops.txt)."""
    table = stops.drop_duplicates("stop_id")
    where = pd.Index(table["stop_id"].astype("string").to_numpy(dtype=object)).get_indexer(stop_ids)
    lat = np.r_[pd.to_numeric(table["stop_lat"]).to_numpy(dtype=float), np.nan][where]
    lon = np.r_[pd.to_numeric(table["stop_lon"]).to_numpy(dtype=float), np.nan][where]
    return lat, lon


def _centre(lat: FloatArray, lon: FloatArray) -> tuple[float, float]:
    """The middle of the stops' bounding box (0, 0 for a feed without stops)."""
    if len(lat) == 0:
        return 0.0, 0.0
    return float((np.nanmin(lat) + np.nanmax(lat)) / 2), float((np.nanmin(lon) + np.nanmax(lon)) / 2)


def _shape_vertices(shapes: pd.DataFrame | None, origin: tuple[float, float]) -> tuple[pd.Index, _Vertices]:
    """One polyline per shape_id, in shape_pt_sequence order, and the shape ids (path order)."""
    if shapes is None or shapes.empty:
        empty = np.zeros(0)
        return pd.Index([], dtype=object), _vertices(np.zeros(0, dtype=np.int64), empty, empty, origin)
    codes, ids = pd.factorize(shapes["shape_id"].astype("string"))
    sequence = pd.to_numeric(shapes["shape_pt_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, codes))
    lat = pd.to_numeric(shapes["shape_pt_lat"]).to_numpy(dtype=float)[order]
    lon = pd.to_numeric(shapes["shape_pt_lon"]).to_numpy(dtype=float)[order]
    return pd.Index(np.asarray(ids, dtype=object)), _vertices(codes[order].astype(np.int64), lat, lon, origin)


def _vertices(group: IntArray, lat: FloatArray, lon: FloatArray, origin: tuple[float, float]) -> _Vertices:
    """Polylines from points sorted by group (0..n-1, none empty) then sequence."""
    groups = int(group.max()) + 1 if len(group) else 0
    count = np.bincount(group, minlength=groups).astype(np.int64)
    first = _starts(count)
    steps = np.zeros(len(group))
    if len(group) > 1:
        same = group[1:] == group[:-1]
        steps[1:] = np.where(same, haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]), 0.0)
    total = np.cumsum(steps)
    cum = total - np.repeat(total[first], count) if len(group) else total
    x, y = to_local_xy(lat, lon, origin)
    return _Vertices(lat, lon, x, y, np.asarray(cum, dtype=np.float64), first, count)


def _concat(a: _Vertices, b: _Vertices) -> _Vertices:
    return _Vertices(
        lat=np.r_[a.lat, b.lat],
        lon=np.r_[a.lon, b.lon],
        x=np.r_[a.x, b.x],
        y=np.r_[a.y, b.y],
        cum_m=np.r_[a.cum_m, b.cum_m],
        first=np.r_[a.first, b.first + len(a.x)].astype(np.int64),
        count=np.r_[a.count, b.count].astype(np.int64),
    )


def trip_shapes(trips: pd.DataFrame, trip_ids: ObjectArray, shape_ids: pd.Index) -> IntArray:
    """The shape path of each trip, -1 where it has none or names an unknown shape."""
    if "shape_id" not in trips.columns or len(shape_ids) == 0:
        return np.full(len(trip_ids), -1, dtype=np.int64)
    unique = trips.drop_duplicates("trip_id")
    names = unique["shape_id"].astype("string")
    by_trip = pd.Series(
        names.astype(object).where(names.notna(), None).to_numpy(),
        index=unique["trip_id"].astype("string").to_numpy(dtype=object),
    )
    return shape_ids.get_indexer(pd.Index(by_trip.reindex(trip_ids).to_numpy())).astype(np.int64)


def _sequence_keys(rows: _StopRows) -> IntArray:
    """A code per trip that is equal for trips with the same stops in the same order.

    Two independent 64-bit polynomial hashes of the stop codes, with the stop count: a collision among even
    a million distinct sequences has a chance far below 1e-20.
    """
    position = np.arange(len(rows.trip)) - np.repeat(rows.trip_first, rows.trip_count)
    stop = rows.stop.astype(np.uint64) + np.uint64(1)
    keys = [rows.trip_count.astype(np.uint64)]
    for base in (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)):
        powers = np.cumprod(np.full(max(int(rows.trip_count.max(initial=0)), 1), base, dtype=np.uint64))
        terms = stop * powers[position]
        keys.append(np.add.reduceat(terms, rows.trip_first) if len(terms) else np.zeros(0, np.uint64))
    return _group(np.column_stack(keys).view(np.int64))[0]


def _group(keys: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """Code of each row's key (0..k-1 by first appearance) and the first row holding each code."""
    frame = pd.DataFrame(keys)
    codes = np.asarray(frame.groupby(list(frame.columns), sort=False).ngroup(), dtype=np.int64)
    _, first = np.unique(codes, return_index=True)
    return codes, first.astype(np.int64)


def _pattern_rows(rows: _StopRows, trips: IntArray) -> IntArray:
    """stop_times rows (sorted order) of the given trips, one after another."""
    return _pattern_block(rows.trip_first[trips], rows.trip_count[trips])


def _pattern_block(first: IntArray, count: IntArray) -> IntArray:
    """Indices first[i] .. first[i] + count[i] - 1 for every i, concatenated."""
    return np.asarray(np.repeat(first - _starts(count), count) + np.arange(count.sum()), dtype=np.int64)


def _starts(count: IntArray) -> IntArray:
    return np.asarray(np.r_[0, np.cumsum(count)[:-1]] if len(count) else count, dtype=np.int64)
