"""Which bus runs which trip, and when: vehicles from blocks (or chains built per route), and run times.

A vehicle works one block_id of the day plan; trips without a block (frequency-based trips, feeds without
blocks) are chained per route: each trip goes to the route's bus that is free soonest, has stood at least
two minutes, and stands within 500 m of the trip's first stop; otherwise a new bus is added. Times are seconds
from the service day's origin (noon minus 12 h, local), as GTFS times are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.gtfs.times import parse_gtfs_times
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray, ObjectArray, Paths, locate
from transit.telemetry.sim_trips import Templates

CHAIN_TURN_S = 120.0
CHAIN_REACH_M = 500.0
_GROUP_SPAN = 1e7  # larger than the seconds of any day, to key many vehicles into one sorted array


@dataclass(frozen=True, slots=True)
class Fleet:
    """The plan's trip instances (plan row order) with their template, start and vehicle."""

    origin: pd.Timestamp  # UTC instant of the service day's origin
    template: IntArray
    scheduled_s: FloatArray  # scheduled first departure
    vehicle: IntArray  # index of the vehicle (a block or a chain), ordered by first departure
    route: ObjectArray  # route_id of each instance
    carrier: ObjectArray  # carrier of each vehicle (that of its first trip)

    @property
    def vehicles(self) -> int:
        """The number of vehicles."""
        return len(self.carrier)


def build_fleet(plan: pd.DataFrame, templates: Templates, paths: Paths) -> Fleet:
    """Instances of `plan` assigned to vehicles: one per block_id, chains per route for trips without one."""
    template = pd.Index(templates.trip_ids).get_indexer(pd.Index(plan["trip_id"].to_numpy(dtype=object)))
    origin = _origin(plan)
    seconds = (plan["start_at"] - origin).dt.total_seconds()
    scheduled = np.asarray(seconds.round(), dtype=np.float64)  # GTFS times are whole seconds
    keys = np.array(plan["block_id"].to_numpy(dtype=object), dtype=object)
    no_block = np.flatnonzero(pd.isna(keys))
    keys[no_block] = _chains(plan, no_block, template, scheduled, templates, paths)
    vehicle = _number_vehicles(keys, scheduled)
    first = pd.Series(np.arange(len(plan))).groupby(vehicle).first().to_numpy()
    carrier = plan["carrier_id"].to_numpy(dtype=object)[first]
    route = plan["route_id"].to_numpy(dtype=object)
    return Fleet(origin, template.astype(np.int64), scheduled, vehicle, route, carrier)


def _origin(plan: pd.DataFrame) -> pd.Timestamp:
    """The origin of the first instance's service day (all instances share it unless timezones differ)."""
    seconds = parse_gtfs_times(plan["start_time"].iloc[:1].reset_index(drop=True))
    return pd.Timestamp(plan["start_at"].iloc[0]) - pd.Timedelta(seconds=int(seconds[0]))


def _number_vehicles(keys: ObjectArray, scheduled: FloatArray) -> IntArray:
    """Vehicle index per instance: vehicles ordered by their first departure, then by key."""
    frame = pd.DataFrame({"key": keys.astype(str), "start": scheduled})
    first = frame.groupby("key")["start"].min().reset_index().sort_values(["start", "key"], kind="stable")
    rank = pd.Series(np.arange(len(first)), index=first["key"].to_numpy())
    return rank.loc[frame["key"].to_numpy()].to_numpy(dtype=np.int64)


def _chains(
    plan: pd.DataFrame,
    rows: IntArray,
    template: IntArray,
    scheduled: FloatArray,
    templates: Templates,
    paths: Paths,
) -> list[str]:
    """A chain key per given instance: greedy assignment to the route's buses in order of departure."""
    path = templates.path[template[rows]]
    start = locate(paths, path, templates.start_m()[template[rows]])
    end = locate(paths, path, templates.end_m()[template[rows]])
    finish = scheduled[rows] + templates.duration_s()[template[rows]]
    routes = plan["route_id"].to_numpy(dtype=object)[rows]
    free: dict[object, list[tuple[float, float, float, str]]] = {}
    keys = [""] * len(rows)
    for k in np.argsort(scheduled[rows], kind="stable"):
        buses = free.setdefault(routes[k], [])
        fits = [
            b
            for b, (at, lat, lon, _key) in enumerate(buses)
            if at + CHAIN_TURN_S <= scheduled[rows[k]]
            and _metres(lat, lon, start.lat[k], start.lon[k]) <= CHAIN_REACH_M
        ]
        key = buses.pop(min(fits, key=lambda b: buses[b][0]))[3] if fits else f"chain:{routes[k]}:{k}"
        keys[k] = key
        buses.append((float(finish[k]), float(end.lat[k]), float(end.lon[k]), key))
    return keys


def _metres(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Approximate distance in metres (equirectangular), enough to tell 500 m apart."""
    x = math.radians(lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    return 6_371_008.8 * math.hypot(x, math.radians(lat1 - lat0))


@dataclass(frozen=True, slots=True)
class Runs:
    """When each instance ran (plan row order): start, end, delay; one not run keeps its schedule."""

    ran: BoolArray
    start_s: FloatArray
    end_s: FloatArray
    delay_s: FloatArray
    order: IntArray  # the instances that ran, sorted by vehicle then start


def run_order(fleet: Fleet, ran: BoolArray) -> IntArray:
    """The instances that run, sorted by vehicle, then scheduled start."""
    rows = np.flatnonzero(ran)
    return rows[np.lexsort((fleet.scheduled_s[rows], fleet.vehicle[rows]))]


def time_runs(
    fleet: Fleet, order: IntArray, late_s: FloatArray, run_s: FloatArray, connect_s: FloatArray
) -> Runs:
    """Actual starts: schedule plus the instance's own late start, and no earlier than the bus can be there.

    `run_s` is how long each run lasts (shorter for a short turn) and `connect_s` how long its bus needs
    afterwards to reach its next run; a late bus departs as soon as it is there.
    """
    ran = np.zeros(len(fleet.template), dtype=bool)
    ran[order] = True
    vehicle = fleet.vehicle[order]
    busy = run_s[order] + connect_s[order]
    before = np.cumsum(busy) - busy
    first = np.r_[True, vehicle[1:] != vehicle[:-1]]
    before -= np.maximum.accumulate(np.where(first, before, 0.0))  # run time of earlier runs of the bus
    wanted = fleet.scheduled_s[order] + late_s[order] - before
    shift = vehicle * _GROUP_SPAN
    start = np.maximum.accumulate(wanted + shift) - shift + before
    start_s = fleet.scheduled_s.copy()
    start_s[order] = start
    delay = np.where(ran, start_s - fleet.scheduled_s, 0.0)
    return Runs(ran, start_s, start_s + np.where(ran, run_s, 0.0), delay, order)
