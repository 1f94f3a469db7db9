"""Where each bus is at each ping: a ping every `interval_s` per vehicle while its tracker is on.

Each vehicle pings on its own grid (a whole-second phase drawn per vehicle) from the start of its first
segment to the end of its last; a ping that falls where the vehicle has no segment (the tracker off between
far-apart trips) is not made. Timestamps are whole seconds when the interval is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.gtfs.geo import haversine_m
from transit.telemetry.sim_motion import Motion
from transit.telemetry.sim_paths import FloatArray, IntArray, Paths, bearings_deg, locate, offset_points

MIN_CHORD_M = 100.0
_VEHICLE_SPAN = 1e7  # larger than the seconds of any service day, to key vehicles into one sorted array


@dataclass(frozen=True, slots=True)
class Samples:
    """The true position of every ping made (before GPS noise and delivery faults)."""

    vehicle: IntArray
    t: FloatArray  # seconds from the service day's origin
    instance: IntArray  # the trip instance being run, -1 between trips
    d: FloatArray  # metres along the segment's path
    lat: FloatArray
    lon: FloatArray
    bearing: FloatArray  # degrees; NaN where the bus stands on a zero-length path
    speed: FloatArray  # m/s


@dataclass(frozen=True, slots=True)
class Detours:
    """Per instance: where on its path a detour leaves and rejoins (metres; NaN: none), and how far out.

    The bus moves away from its path square to the chord between those two points (`bearing`), by as many
    metres as it has driven since leaving (and symmetrically back), holding `offset_m` in between; so its
    distance from where it would be on the path is known exactly at every point.
    """

    from_m: FloatArray
    to_m: FloatArray
    offset_m: FloatArray  # to the right of the chord; negative: left
    bearing: FloatArray  # of the chord from leaving to rejoining point


def build_detours(
    paths: Paths,
    path: IntArray,
    start_m: FloatArray,
    at_m: FloatArray,
    span_m: FloatArray,
    offset_m: FloatArray,
) -> Detours:
    """Detours of each instance on `path` (drawn as metres from its start); a chord under 100 m: no detour."""
    from_m, to_m = start_m + at_m, start_m + at_m + span_m
    rows = np.flatnonzero(~np.isnan(from_m))
    a, b = locate(paths, path[rows], from_m[rows]), locate(paths, path[rows], to_m[rows])
    bearing = np.full(len(from_m), np.nan)
    bearing[rows] = bearings_deg(a.lat, a.lon, b.lat, b.lon)
    short = np.zeros(len(from_m), dtype=bool)
    short[rows] = haversine_m(a.lat, a.lon, b.lat, b.lon) < MIN_CHORD_M
    off = short | np.isnan(from_m)
    return Detours(
        np.where(off, np.nan, from_m), np.where(off, np.nan, to_m), np.where(off, 0.0, offset_m), bearing
    )


def sample_positions(motion: Motion, interval_s: float, phase_s: IntArray, detours: Detours) -> Samples:
    """A ping every `interval_s` per vehicle, at its true position along its segments."""
    seg = motion.segments
    vehicle, t = _ping_grid(seg.vehicle, seg.t0, seg.t1, interval_s, phase_s)
    seg_key = seg.vehicle * _VEHICLE_SPAN + seg.t0
    i = np.searchsorted(seg_key, vehicle * _VEHICLE_SPAN + t, side="right") - 1
    inside = (i >= 0) & (seg.vehicle[np.maximum(i, 0)] == vehicle) & (t < seg.t1[np.maximum(i, 0)])
    vehicle, t, i = vehicle[inside], t[inside], i[inside]
    duration = seg.t1[i] - seg.t0[i]
    d = seg.d0[i] + (seg.d1[i] - seg.d0[i]) * (t - seg.t0[i]) / duration
    at = locate(motion.paths, seg.path[i], d)
    speed = np.abs(seg.d1[i] - seg.d0[i]) / duration
    instance = seg.instance[i]
    lat, lon = _detoured(at.lat, at.lon, instance, d, detours)
    return Samples(vehicle, t, instance, d, lat, lon, at.bearing, speed)


def _ping_grid(
    vehicle: IntArray, t0: FloatArray, t1: FloatArray, interval_s: float, phase_s: IntArray
) -> tuple[IntArray, FloatArray]:
    """(vehicle, t) of every ping slot from each vehicle's first segment start to its last segment end."""
    if len(vehicle) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    first = np.flatnonzero(np.r_[True, vehicle[1:] != vehicle[:-1]])
    owners = vehicle[first]
    begin = np.ceil(t0[first]) + phase_s[owners]
    end = np.maximum.reduceat(t1, first)
    count = np.maximum(np.floor((end - begin) / interval_s).astype(np.int64) + 1, 0)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t = np.round(np.repeat(begin, count) + step * interval_s)
    return np.repeat(owners, count), t


def _detoured(
    lat: FloatArray, lon: FloatArray, instance: IntArray, d: FloatArray, detours: Detours
) -> tuple[FloatArray, FloatArray]:
    """Positions of detoured runs moved off the path: out as far as it goes along, hold, and back."""
    run = instance >= 0
    rows = np.flatnonzero(run)
    rows = rows[~np.isnan(detours.from_m[instance[rows]])]
    if len(rows) == 0:
        return lat, lon
    k = instance[rows]
    a, b, h = detours.from_m[k], detours.to_m[k], detours.offset_m[k]
    level = np.clip(np.minimum(d[rows] - a, b - d[rows]) / np.abs(h), 0.0, 1.0)
    lat, lon = lat.copy(), lon.copy()
    lat[rows], lon[rows] = offset_points(lat[rows], lon[rows], detours.bearing[k], h * level)
    return lat, lon


def detour_off_path_m(detours: Detours, tolerance_m: float) -> tuple[FloatArray, FloatArray]:
    """Where each detour is farther than `tolerance_m` from the path: (from, to) metres; NaN: nowhere."""
    return detours.from_m + tolerance_m, detours.to_m - tolerance_m  # out h metres over h metres of path
