"""The truth table of a simulated day: one row per trip instance, with its faults and expected verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transit.telemetry.sim_delivery import Trackers
from transit.telemetry.sim_faults import MATCH_TOLERANCE_M, Faults, TripFaults
from transit.telemetry.sim_motion import Motion, RunEnds
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray
from transit.telemetry.sim_sample import Detours, detour_off_path_m
from transit.telemetry.sim_truth import Judged, TruthInputs
from transit.telemetry.sim_vehicles import Fleet, Runs

TRUTH_COLUMNS = (
    "service_date", "trip_id", "start_time", "carrier_id", "route_id", "block_id", "vehicle_id", "happened",
    "expected_verdict", "expected_reason", "faults", "coverage", "blind_share", "start_delay_s",
    "actual_start_at", "actual_end_at", "pings",
)  # fmt: skip
FAULT_NAMES = (
    "miss", "late_start", "delayed", "short_turn", "detour", "wrong_trip_id", "deadhead", "swap", "no_ids",
    "silent", "dark_carrier", "outage",
)  # fmt: skip


def run_labels(fleet: Fleet, runs: Runs, trackers: Trackers) -> IntArray:
    """The tracker label that ran each instance: the spare's if it started after its vehicle's swap."""
    swap = trackers.swap_s[fleet.vehicle]
    on_spare = runs.ran & ~np.isnan(swap) & (runs.start_s >= np.nan_to_num(swap, nan=np.inf))
    return np.where(on_spare, trackers.spare[fleet.vehicle], fleet.vehicle)


def build_truth_inputs(
    fleet: Fleet,
    runs: Runs,
    ends: RunEnds,
    trip_faults: TripFaults,
    trackers: Trackers,
    detours: Detours,
    faults: Faults,
    delivered: tuple[IntArray, FloatArray],
) -> TruthInputs:
    """What `sim_truth.judge` needs, per instance."""
    label = run_labels(fleet, runs, trackers)
    own = label == fleet.vehicle
    off_from, off_to = detour_off_path_m(detours, MATCH_TOLERANCE_M)
    dark = np.zeros(len(label), dtype=bool)
    if faults.dark_carrier is not None:
        dark = trackers.carrier[fleet.vehicle] == faults.dark_carrier
    return TruthInputs(
        template=fleet.template,
        ran=runs.ran,
        start_s=runs.start_s,
        scheduled_s=fleet.scheduled_s,
        delay_s=runs.delay_s,
        start_m=ends.start_m,
        end_m=ends.end_m,
        short_turn=runs.ran & (trip_faults.cut_share < 1.0),
        detour_off_from_m=off_from,
        detour_off_to_m=off_to,
        silent_from_s=np.where(own, trackers.silent_from_s[fleet.vehicle], np.nan),
        silent_to_s=np.where(own, trackers.silent_to_s[fleet.vehicle], np.nan),
        dark=dark,
        ping_row=delivered[0],
        ping_t=delivered[1],
    )


def list_faults(
    fleet: Fleet,
    runs: Runs,
    trip_faults: TripFaults,
    detours: Detours,
    motion: Motion,
    trackers: Trackers,
    judged: Judged,
) -> list[str]:
    """The faults that touched each instance, ";"-joined in FAULT_NAMES order ("" for none)."""
    label = run_labels(fleet, runs, trackers)
    ran = runs.ran
    no_ids = ran & trackers.no_ids[label]
    flags: dict[str, BoolArray] = {
        "miss": trip_faults.missed,
        "late_start": ran & (trip_faults.late_s > 0),
        "delayed": ran & (runs.delay_s > trip_faults.late_s + 0.5),
        "short_turn": ran & (trip_faults.cut_share < 1.0),
        "detour": ran & ~np.isnan(detours.from_m),
        "wrong_trip_id": ran & (trip_faults.wrong >= 0) & ~no_ids,
        "deadhead": motion.deadheaded,
        "swap": ran & (label >= fleet.vehicles),
        "no_ids": no_ids,
        "silent": ran & judged.silent_hit & (label == fleet.vehicle),
        "dark_carrier": judged.dark_hit,
        "outage": judged.outage_hit,
    }
    table = np.column_stack([flags[name] for name in FAULT_NAMES])
    names = np.array(FAULT_NAMES, dtype=object)
    return [";".join(names[row]) for row in table]


def build_truth_frame(
    plan: pd.DataFrame,
    fleet: Fleet,
    runs: Runs,
    judged: Judged,
    trackers: Trackers,
    faults_applied: list[str],
    pings: IntArray,
) -> pd.DataFrame:
    """The truth table in plan order (start_at, route_id, trip_id); columns TRUTH_COLUMNS."""
    label = run_labels(fleet, runs, trackers)
    ran = runs.ran
    start_at = _instants(fleet.origin, runs.start_s, ran)
    end_at = _instants(fleet.origin, runs.end_s, ran)
    frame = pd.DataFrame(
        {
            **{c: plan[c].to_numpy(dtype=object) for c in ("service_date", "trip_id", "start_time")},
            **{c: plan[c].to_numpy(dtype=object) for c in ("carrier_id", "route_id", "block_id")},
            "vehicle_id": pd.Series(trackers.vehicle_ids[label]).where(ran, None),
            "happened": [h.value for h in judged.happened],
            "expected_verdict": [v.value for v in judged.verdict],
            "expected_reason": [r.value for r in judged.reason],
            "faults": faults_applied,
            "coverage": np.round(judged.coverage, 4),
            "blind_share": np.round(judged.blind_share, 4),
            "start_delay_s": np.round(runs.delay_s).astype(np.int64),
            "actual_start_at": start_at,
            "actual_end_at": end_at,
            "pings": pings,
        },
        columns=list(TRUTH_COLUMNS),
    )
    return frame


def _instants(origin: pd.Timestamp, seconds: np.ndarray, valid: BoolArray) -> pd.Series:
    micros = np.int64(origin.value // 1000) + np.round(seconds).astype(np.int64) * 1_000_000  # whole seconds
    at = pd.Series(pd.DatetimeIndex(micros.astype("datetime64[us]")).tz_localize("UTC"))
    return at.where(valid)
