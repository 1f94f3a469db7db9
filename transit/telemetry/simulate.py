"""Simulate a service day: buses drive the day plan's blocks and send pings, with faults and the ground truth.

Pure: no file IO, no clock, no environment; the same feed, date, faults, seed and interval give the same
frames.
`simulate_day` runs the steps, each in the module named after what it decides: `sim_paths` and `sim_stops`
(polylines, stops on them), `sim_trips` (timetables as knots), `sim_vehicles` (blocks and chains, run
times), `sim_faults` (what goes wrong where), `sim_motion` and `sim_deadhead` (segments of movement),
`sim_sample` (true positions), `sim_delivery` (the pings received), `sim_truth` and `sim_truth_table`
(coverage, the verdict the data supports, the truth table). See docs/simulate.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from transit.errors import BadParameter
from transit.gtfs.dayplan import ScheduleTables, build_agency_table, build_day_plan, build_trip_table
from transit.telemetry.model import PING_FIELDS
from transit.telemetry.sim_delivery import Payload, Trackers, deliver
from transit.telemetry.sim_faults import (
    FaultInvalid,
    Faults,
    TimeWindow,
    TripFaults,
    VehicleFaults,
    draw_trip_faults,
    draw_vehicle_faults,
    parse_window,
    stream,
)
from transit.telemetry.sim_motion import Motion, RunEnds, build_motion, connection_times, swap_times
from transit.telemetry.sim_paths import FloatArray, Paths
from transit.telemetry.sim_sample import Detours, build_detours, sample_positions
from transit.telemetry.sim_trips import Templates, build_templates
from transit.telemetry.sim_truth import ExpectedReason, ExpectedVerdict, Happened, judge
from transit.telemetry.sim_truth_table import (
    TRUTH_COLUMNS,
    build_truth_frame,
    build_truth_inputs,
    list_faults,
)
from transit.telemetry.sim_vehicles import Fleet, Runs, build_fleet, run_order, time_runs

__all__ = [
    "TRUTH_COLUMNS", "ExpectedReason", "ExpectedVerdict", "FaultInvalid", "Faults", "Happened", "Simulation",
    "TimeWindow", "parse_window", "simulate_day",
]  # fmt: skip


class HasSchedule(Protocol):
    """A loaded feed (transit.gtfs.load.LoadedFeed): its tables are `.feed`."""

    @property
    def feed(self) -> ScheduleTables:
        """The feed's GTFS tables."""


@dataclass(frozen=True, slots=True, eq=False)
class Simulation:
    """The pings as delivered (columns PING_FIELDS) and one truth row per trip instance (TRUTH_COLUMNS)."""

    pings: pd.DataFrame
    truth: pd.DataFrame


def simulate_day(
    feed: ScheduleTables | HasSchedule,
    service_date: dt.date,
    faults: Faults | None = None,
    seed: int = 1,
    interval_s: float = 10.0,
) -> Simulation:
    """Simulate `service_date` (local) of `feed`; BadParameter for a bad seed, interval or dark carrier."""
    faults = Faults() if faults is None else faults
    tables: ScheduleTables = feed.feed if hasattr(feed, "feed") else feed
    _check(tables, faults, seed, interval_s)
    trips = build_trip_table(tables)
    plan = build_day_plan(trips, service_date, tables.calendar, tables.calendar_dates, tables.frequencies)
    if plan.empty:
        return Simulation(pd.DataFrame(columns=list(PING_FIELDS)), pd.DataFrame(columns=list(TRUTH_COLUMNS)))
    templates, paths = build_templates(tables, plan)
    fleet = build_fleet(plan, templates, paths)
    length_m = templates.end_m()[fleet.template] - templates.start_m()[fleet.template]
    trip_faults = draw_trip_faults(faults, seed, plan["route_id"], length_m, plan.get("carrier_id"))
    vehicle_faults = draw_vehicle_faults(faults, seed, fleet.vehicles)
    ends, run_s = _run_ends(fleet, templates, trip_faults)
    order = run_order(fleet, ~trip_faults.missed)
    connect_s = connection_times(fleet, order, templates, paths, ends)
    runs = time_runs(fleet, order, trip_faults.late_s, run_s, connect_s)
    motion = build_motion(fleet, runs, templates, paths, ends, trip_faults.deadhead)
    trackers = _trackers(fleet, runs, motion, vehicle_faults)
    detours = _detours(paths, templates, fleet, trip_faults)
    phase = stream(seed, "phase").integers(0, max(1, int(interval_s)), fleet.vehicles)
    samples = sample_positions(motion, interval_s, phase, detours)
    delivered = deliver(samples, trackers, _payload(plan, trip_faults), faults, seed, fleet.origin)
    on_trip = delivered.kept[samples.instance[delivered.kept] >= 0]
    arrived = (samples.instance[on_trip], samples.t[on_trip])
    inputs = build_truth_inputs(fleet, runs, ends, trip_faults, trackers, detours, faults, arrived)
    judged = judge(inputs, templates, faults, interval_s)
    applied = list_faults(fleet, runs, trip_faults, detours, motion, trackers, judged)
    truth = build_truth_frame(plan, fleet, runs, judged, trackers, applied, delivered.per_instance)
    return Simulation(delivered.pings, truth)


def _check(tables: ScheduleTables, faults: Faults, seed: int, interval_s: float) -> None:
    if seed < 0:
        raise BadParameter(f"seed must be 0 or more, got {seed}")
    if not 1.0 <= interval_s <= 3600.0:
        raise BadParameter(f"interval must be 1 to 3600 seconds, got {interval_s}")
    carriers = set(build_agency_table(tables.agency)["carrier_id"])
    if faults.dark_carrier is not None and faults.dark_carrier not in carriers:
        known = ", ".join(sorted(carriers))
        raise FaultInvalid("dark_carrier", f"{faults.dark_carrier!r} is not a carrier of the feed ({known})")


def _run_ends(fleet: Fleet, templates: Templates, faults: TripFaults) -> tuple[RunEnds, FloatArray]:
    """Where each run starts and ends on its path, and how long it lasts (a short turn ends early)."""
    start_m, end_m = templates.start_m()[fleet.template], templates.end_m()[fleet.template]
    cut = faults.cut_share < 1.0
    stop_m = np.where(cut, start_m + faults.cut_share * (end_m - start_m), end_m)
    run_s = np.where(cut, templates.time_at(fleet.template, stop_m), templates.duration_s()[fleet.template])
    return RunEnds(start_m, stop_m), run_s


def _detours(paths: Paths, templates: Templates, fleet: Fleet, faults: TripFaults) -> Detours:
    """Where each drawn detour leaves and rejoins its trip's path."""
    start_m, path = templates.start_m()[fleet.template], templates.path[fleet.template]
    return build_detours(
        paths, path, start_m, faults.detour_at_m, faults.detour_span_m, faults.detour_offset_m
    )


def _trackers(fleet: Fleet, runs: Runs, motion: Motion, faults: VehicleFaults) -> Trackers:
    """Vehicle ids ("bus-001"; spares numbered after), silences over each vehicle's day, payload ids."""
    swap_s = swap_times(fleet, runs, faults.swap_at)
    swapped = np.flatnonzero(~np.isnan(swap_s))
    total = fleet.vehicles + len(swapped)
    width = max(3, len(str(total)))
    spare = np.full(fleet.vehicles, -1, dtype=np.int64)
    spare[swapped] = fleet.vehicles + np.arange(len(swapped))
    seg = motion.segments
    day_from = pd.Series(seg.t0).groupby(seg.vehicle).min().reindex(range(fleet.vehicles)).to_numpy()
    day_to = pd.Series(seg.t1).groupby(seg.vehicle).max().reindex(range(fleet.vehicles)).to_numpy()
    silent_from = day_from + faults.silent_at * (day_to - day_from)
    return Trackers(
        vehicle_ids=np.array([f"bus-{k + 1:0{width}d}" for k in range(total)], dtype=object),
        carrier=np.r_[fleet.carrier, fleet.carrier[swapped]],
        silent_from_s=silent_from,
        silent_to_s=silent_from + faults.silent_share * (day_to - day_from),
        swap_s=swap_s,
        spare=spare,
        no_ids=np.r_[faults.no_ids, faults.spare_no_ids[swapped]],
    )


def _payload(plan: pd.DataFrame, faults: TripFaults) -> Payload:
    named = np.where(faults.wrong >= 0, faults.wrong, np.arange(len(plan)))
    return Payload(
        trip_id=plan["trip_id"].to_numpy(dtype=object),
        route_id=plan["route_id"].to_numpy(dtype=object),
        start_time=plan["start_time"].to_numpy(dtype=object),
        start_date=str(plan["service_date"].iloc[0]).replace("-", ""),
        named=named,
    )
