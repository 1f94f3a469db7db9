"""From true positions to the pings the service receives: ids, losses, GPS noise, duplicates and order.

Random draws are made for every ping slot before anything is filtered, so that one fault's switch does not
move another fault's draws. Pings are returned in the order of delivery: by arrival time (the timestamp, plus
a delay for out-of-order pings and for the second copy of a duplicate), then vehicle, then timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.telemetry.model import PING_FIELDS
from transit.telemetry.sim_faults import Faults, TimeWindow, stream
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray, ObjectArray, shift_points
from transit.telemetry.sim_sample import Samples

OUT_OF_ORDER_MAX_S = 60.0
DUPLICATE_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class Trackers:
    """Who reports: vehicle labels (originals, then spares), windows of silence, swap times, ids."""

    vehicle_ids: ObjectArray  # per label: originals in fleet order, then one spare per swapped vehicle
    carrier: ObjectArray  # per label (a spare has its vehicle's carrier)
    silent_from_s: FloatArray  # per original vehicle; NaN: never silent
    silent_to_s: FloatArray
    swap_s: FloatArray  # per original vehicle; NaN: not swapped
    spare: IntArray  # per original vehicle: label of its spare; -1: none
    no_ids: BoolArray  # per label


@dataclass(frozen=True, slots=True)
class Payload:
    """What the pings of each trip instance say about their trip (plan row order)."""

    trip_id: ObjectArray
    route_id: ObjectArray
    start_time: ObjectArray
    start_date: str  # YYYYMMDD
    named: IntArray  # the instance whose ids the pings carry (itself, or another for wrong_trip_id)


@dataclass(frozen=True, slots=True)
class Delivered:
    """The pings frame (PING_FIELDS, delivery order); the samples that arrived (copies once), per instance."""

    pings: pd.DataFrame
    per_instance: IntArray
    kept: IntArray  # indices into the samples


def label_pings(samples: Samples, trackers: Trackers) -> IntArray:
    """The label (vehicle id index) of each ping: the spare's after its vehicle's swap, else the vehicle's."""
    swap = trackers.swap_s[samples.vehicle]
    swapped = ~np.isnan(swap) & (samples.t >= np.nan_to_num(swap, nan=np.inf))
    return np.where(swapped, trackers.spare[samples.vehicle], samples.vehicle)


def deliver(
    samples: Samples, trackers: Trackers, payload: Payload, faults: Faults, seed: int, origin: pd.Timestamp
) -> Delivered:
    """Apply the losses, noise, duplicates and delays; build the pings frame."""
    n = len(samples.t)
    label = label_pings(samples, trackers)
    lost = _lost(samples, label, trackers, faults) | (stream(seed, "drop").random(n) < faults.drop_rate)
    noise = stream(seed, "gps_noise").normal(0.0, faults.gps_noise_m, (n, 2))
    lat, lon = shift_points(samples.lat, samples.lon, noise[:, 0], noise[:, 1])
    rng = stream(seed, "duplicate")
    twice, again_s = rng.random(n) < faults.duplicate_rate, rng.uniform(1.0, DUPLICATE_MAX_S, n)
    rng = stream(seed, "out_of_order")
    late = rng.random(n) < faults.out_of_order_rate
    arrival = samples.t + np.where(late, rng.uniform(1.0, OUT_OF_ORDER_MAX_S, n), 0.0)
    again = arrival + again_s
    keep = np.flatnonzero(~lost)
    copies = keep[twice[keep]]
    rows = np.r_[keep, copies]
    when = np.r_[arrival[keep], again[copies]]
    order = rows[np.lexsort((samples.t[rows], label[rows], when))]
    columns = _columns(samples, label, trackers, payload, order, origin)
    columns["latitude"] = np.round(lat[order], 6)
    columns["longitude"] = np.round(lon[order], 6)
    pings = pd.DataFrame(columns, columns=list(PING_FIELDS))
    run = samples.instance[keep]
    per_instance = np.bincount(run[run >= 0], minlength=len(payload.trip_id)).astype(np.int64)
    return Delivered(pings, per_instance, keep)


def _lost(samples: Samples, label: IntArray, trackers: Trackers, faults: Faults) -> BoolArray:
    """Pings that never arrive: a silent tracker, a dark carrier, the ingest outage."""
    t, vehicle = samples.t, samples.vehicle
    own = label == vehicle
    silent = own & (t >= trackers.silent_from_s[vehicle]) & (t < trackers.silent_to_s[vehicle])
    dark = np.zeros(len(t), dtype=bool)
    if faults.dark_carrier is not None:
        dark = (trackers.carrier[vehicle] == faults.dark_carrier) & _inside(t, faults.dark_window)
    outage = _inside(t, faults.outage) if faults.outage is not None else np.zeros(len(t), dtype=bool)
    return np.asarray(silent | dark | outage)


def _inside(t: FloatArray, window: TimeWindow | None) -> BoolArray:
    """Whether each time is in the window; no window: the whole day."""
    if window is None:
        return np.ones(len(t), dtype=bool)
    return np.asarray((t >= window.start_s) & (t < window.end_s))


def _columns(
    samples: Samples,
    label: IntArray,
    trackers: Trackers,
    payload: Payload,
    order: IntArray,
    origin: pd.Timestamp,
) -> dict[str, object]:
    """Every column but the coordinates, for the pings in `order`; strings as categoricals."""
    lab = label[order]
    instance = samples.instance[order]
    ids = (instance >= 0) & ~trackers.no_ids[lab]
    named = np.where(ids, payload.named[np.maximum(instance, 0)], -1)
    micros = np.int64(origin.value // 1000) + (samples.t[order] * 1_000_000).astype(np.int64)
    return {
        "vehicle_id": pd.Categorical.from_codes(lab, categories=pd.Index(trackers.vehicle_ids)),
        "timestamp": pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize("UTC"),
        "trip_id": _pick(payload.trip_id, named),
        "route_id": _pick(payload.route_id, named),
        "start_date": pd.Categorical.from_codes(
            np.where(named >= 0, 0, -1).astype(np.int64), categories=pd.Index([payload.start_date])
        ),
        "start_time": _pick(payload.start_time, named),
        "bearing": np.round(samples.bearing[order], 1),
        "speed": np.round(samples.speed[order], 1),
        "carrier_id": _pick(trackers.carrier, lab),
    }


def _pick(values: ObjectArray, rows: IntArray) -> pd.Categorical:
    """values[rows] as a categorical; rows of -1 are missing."""
    codes, uniques = pd.factorize(values)
    picked = np.where(rows >= 0, codes[np.maximum(rows, 0)], -1).astype(np.int64)
    return pd.Categorical.from_codes(picked, categories=pd.Index(uniques))
