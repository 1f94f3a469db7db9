"""Where and when a trip runs: each trip's path and its (time, distance) knots, from stop_times and shapes.

A trip's knots are its departure from the first stop, arrival and departure at every other stop, and arrival
at the last, as seconds from its first departure and metres along its path (stops placed by `sim_stops`).
Stops without times, and stops a minute-rounded timetable reaches in no time, get times interpolated by
distance, as the GTFS reference intends for the former.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.gtfs.dayplan import ScheduleTables
from transit.matching.paths import trip_shapes
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray, ObjectArray, Paths, build_paths
from transit.telemetry.sim_stops import (
    StopRows,
    place_by_projection,
    place_by_shape_dist,
    read_stop_rows,
)

_KEY_SPAN = 1e7  # larger than any trip's seconds or metres, to key many trips into one sorted array


@dataclass(frozen=True, slots=True)
class Templates:
    """The trips of the day (frequency templates once): path and knots, knots concatenated per trip."""

    trip_ids: ObjectArray
    path: IntArray
    first: IntArray  # first knot of each trip
    count: IntArray
    knot_t: FloatArray  # seconds from the trip's first departure
    knot_d: FloatArray  # metres along the trip's path

    def start_m(self) -> FloatArray:
        """Where on its path each trip starts (metres)."""
        return self.knot_d[self.first]

    def end_m(self) -> FloatArray:
        """Where on its path each trip ends (metres)."""
        return np.asarray(self.knot_d[self.first + self.count - 1], dtype=np.float64)

    def duration_s(self) -> FloatArray:
        """Seconds from first departure to last arrival."""
        return np.asarray(self.knot_t[self.first + self.count - 1], dtype=np.float64)

    def distance_at(self, template: IntArray, seconds: FloatArray) -> FloatArray:
        """Metres along the path of each given trip `seconds` after its first departure (clipped)."""
        key = np.repeat(np.arange(len(self.first)) * _KEY_SPAN, self.count) + self.knot_t
        rel = np.clip(seconds, 0.0, self.duration_s()[template])
        return np.interp(template * _KEY_SPAN + rel, key, self.knot_d)

    def time_at(self, template: IntArray, dist_m: FloatArray) -> FloatArray:
        """Seconds after its first departure when each given trip first reaches `dist_m` on its path."""
        trip = np.repeat(np.arange(len(self.first)), self.count)
        key = trip * _KEY_SPAN + self.knot_d
        target = template * _KEY_SPAN + np.clip(dist_m, self.start_m()[template], self.end_m()[template])
        after = np.clip(np.searchsorted(key, target, side="left"), self.first[template] + 1, None)
        before = after - 1
        span = self.knot_d[after] - self.knot_d[before]
        frac = np.divide(target - key[before], span, out=np.zeros_like(span), where=span > 0)
        return self.knot_t[before] + np.clip(frac, 0.0, 1.0) * (self.knot_t[after] - self.knot_t[before])


def build_templates(feed: ScheduleTables, plan: pd.DataFrame) -> tuple[Templates, Paths]:
    """Knots of every trip of `plan` and the paths they run on (shapes first, then stop chains)."""
    trip_ids = pd.unique(plan["trip_id"].to_numpy(dtype=object))
    rows = read_stop_rows(feed, trip_ids)
    shapes, shape_ids, shape_dist = _shape_paths(feed.shapes)
    trip_shape = trip_shapes(feed.trips, trip_ids, shape_ids)
    dist = np.full(len(rows.trip), np.nan)
    path = np.full(len(trip_ids), -1, dtype=np.int64)
    place_by_shape_dist(rows, trip_shape, shapes, shape_dist, dist, path)
    paths = place_by_projection(rows, trip_shape, shapes, dist, path)
    base = rows.trip * (4 * _KEY_SPAN)
    dist = np.maximum.accumulate(base + dist) - base  # a bus never goes back along its path
    times = _fill_times(rows, dist)
    return _knots(trip_ids, rows.trip, times, dist, path), paths


def _shape_paths(shapes: pd.DataFrame | None) -> tuple[Paths, pd.Index, FloatArray]:
    """One path per shape_id, the shape ids (path order), and shape_dist_traveled per vertex (NaN: none)."""
    if shapes is None or shapes.empty:
        empty = np.zeros(0)
        return build_paths(np.zeros(0, dtype=np.int64), empty, empty, 0), pd.Index([]), empty
    codes, ids = pd.factorize(shapes["shape_id"].astype("string"))
    sequence = pd.to_numeric(shapes["shape_pt_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, codes))
    lat = pd.to_numeric(shapes["shape_pt_lat"]).to_numpy(dtype=float)[order]
    lon = pd.to_numeric(shapes["shape_pt_lon"]).to_numpy(dtype=float)[order]
    dist = (
        pd.to_numeric(shapes["shape_dist_traveled"]).to_numpy(dtype=float, na_value=np.nan)[order]
        if "shape_dist_traveled" in shapes.columns
        else np.full(len(order), np.nan)
    )
    paths = build_paths(codes[order].astype(np.int64), lat, lon, len(ids))
    return paths, pd.Index(np.asarray(ids, dtype=object)), dist


def _fill_times(rows: StopRows, dist: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Arrival and departure at every stop: missing ones, and stops reached in no time, interpolated.

    Timetables rounded to the minute give consecutive stops the same time; only the first of such a run
    keeps its time (the last stop of a trip keeps its own), the others are spread by distance.
    """
    arrival, departure = rows.arrival.copy(), rows.departure.copy()
    unknown = _reached_in_no_time(rows.trip, arrival, departure, dist) | np.isnan(arrival)
    arrival[unknown] = departure[unknown] = np.nan
    known = ~unknown
    key = rows.trip * _KEY_SPAN + dist
    if unknown.any() and known.any():
        arrival[unknown] = np.interp(key[unknown], key[known], arrival[known])
        departure[unknown] = np.interp(key[unknown], key[known], departure[known])
    base = rows.trip * (4 * _KEY_SPAN)  # times never go back within a trip
    arrival = np.maximum.accumulate(base + arrival) - base
    departure = np.maximum(np.maximum.accumulate(base + departure) - base, arrival)
    return arrival, departure


def _reached_in_no_time(
    trip: IntArray, arrival: FloatArray, departure: FloatArray, dist: FloatArray
) -> BoolArray:
    """Stops whose time should be interpolated: reached at the previous stop's departure time, farther on."""
    same = np.r_[False, (trip[1:] == trip[:-1]) & (arrival[1:] <= departure[:-1]) & (dist[1:] > dist[:-1])]
    last = np.r_[trip[1:] != trip[:-1], True]
    runs = np.flatnonzero(~same)  # the first stop of each run of equal times
    run_first = runs[np.cumsum(~same) - 1]
    out = same.copy()
    ends = np.flatnonzero(last & same)  # a trip that ends in such a run keeps its last time instead
    out[ends] = False
    heads = run_first[ends]
    opens_trip = np.r_[True, trip[1:] != trip[:-1]]
    out[heads[~opens_trip[heads]]] = True  # a trip whose stops all share one time keeps both ends
    return np.asarray(out, dtype=bool)


def _knots(
    trip_ids: ObjectArray,
    trip: IntArray,
    times: tuple[FloatArray, FloatArray],
    dist: FloatArray,
    path: IntArray,
) -> Templates:
    """Two knots per stop (arrival, departure) without the first arrival and the last departure."""
    arrival, departure = times
    n = len(trip)
    knot_t = np.column_stack((arrival, departure)).ravel()
    knot_d = np.repeat(dist, 2)
    count = np.bincount(trip, minlength=len(trip_ids)).astype(np.int64) * 2
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    keep = np.ones(2 * n, dtype=bool)
    trim = count >= 4  # a trip of one stop keeps its arrival and departure
    keep[first[trim]] = False
    keep[(first + count - 1)[trim]] = False
    knot_t, knot_d = knot_t[keep], knot_d[keep]
    count = np.where(trim, count - 2, count)
    first = np.r_[0, np.cumsum(count)[:-1]].astype(np.int64)
    knot_t = knot_t - np.repeat(knot_t[first], count)
    return Templates(trip_ids, path, first, count, knot_t, knot_d)
