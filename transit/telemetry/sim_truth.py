"""The ground truth of a simulated day: what happened to each trip instance, what verdict its data supports.

Coverage is measured on the trip's path (first stop to last stop, metres): the share the delivered pings
cover (`sim_coverage`: gaps up to 6 minutes bridged), less where a detour takes the bus beyond the 60 m match
tolerance. Blind parts are those the service could not see (ingest outage; a dark carrier's window): if the
verdict could change had they been seen, the data supports no verdict (`no_data`); otherwise it supports the
verdict of the coverage seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from transit.telemetry.sim_coverage import Intervals, per_row, union_length, unseen_stretches
from transit.telemetry.sim_faults import Faults, TimeWindow
from transit.telemetry.sim_paths import BoolArray, FloatArray, IntArray
from transit.telemetry.sim_trips import Templates

PERFORMED_MIN_COVERAGE = 0.8  # DESIGN.md section 5
PARTIAL_MIN_COVERAGE = 0.2
START_WINDOW_LATE_S = 20 * 60.0  # a run that starts later than this cannot match its trip


class Happened(StrEnum):
    """What the bus did about a trip instance."""

    RAN = "ran"  # a bus ran all of it (late or not), its tracker reporting at least part of the time
    PARTIAL = "partial"  # a bus ran part of it (a short turn)
    NOT_RUN = "not_run"  # no bus ran it
    RAN_DARK = (
        "ran_dark"  # a bus ran all of it, its tracker sending nothing all along (silent or dark carrier)
    )


class ExpectedVerdict(StrEnum):
    """The verdict the delivered data supports (DESIGN.md section 5)."""

    PERFORMED = "performed"
    PARTIAL = "partial"
    MISSED = "missed"
    NO_DATA = "no_data"


class ExpectedReason(StrEnum):
    """Why the data supports that verdict."""

    COVERED = "covered"  # performed: coverage of at least 80%
    SHORT_TURN = "short_turn"  # partial: the bus stopped early
    PARTIAL_COVERAGE = "partial_coverage"  # partial: it ran all, but its pings cover only 20-80%
    NO_VEHICLE_OBSERVED = "no_vehicle_observed"  # missed: not run, or run with a silent tracker
    STARTED_OUTSIDE_WINDOW = "started_outside_window"  # missed: run, but starting over 20 min late
    SERVICE_GAP = "service_gap"  # no_data: the ingest outage hid what could change the verdict
    CARRIER_FLEET_DARK = "carrier_fleet_dark"  # no_data: the carrier's dark window did


@dataclass(frozen=True, slots=True)
class TruthInputs:
    """Per instance (plan row order) what the truth needs from the simulation."""

    template: IntArray
    ran: BoolArray
    start_s: FloatArray  # actual start if run, else scheduled
    scheduled_s: FloatArray
    delay_s: FloatArray
    start_m: FloatArray
    end_m: FloatArray  # where the run ended (a short turn ends early)
    short_turn: BoolArray
    detour_off_from_m: FloatArray  # NaN: no detour
    detour_off_to_m: FloatArray
    silent_from_s: FloatArray  # of the tracker that ran it; NaN: none
    silent_to_s: FloatArray
    dark: BoolArray  # the vehicle's carrier is the dark carrier
    ping_row: IntArray  # the delivered pings (duplicates once) sent while running an instance: which one
    ping_t: FloatArray  # and when


@dataclass(frozen=True, slots=True)
class Judged:
    """Coverage, blind share, what happened and the verdict, per instance."""

    coverage: FloatArray
    blind_share: FloatArray
    happened: list[Happened]
    verdict: list[ExpectedVerdict]
    reason: list[ExpectedReason]
    outage_hit: BoolArray  # the outage overlaps the trip's time
    dark_hit: BoolArray
    silent_hit: BoolArray


def judge(inputs: TruthInputs, templates: Templates, faults: Faults, interval_s: float) -> Judged:
    """Coverage and blind share of every instance, and from them the verdict its data supports."""
    x, n = inputs, len(inputs.ran)
    length = np.maximum(templates.end_m()[x.template] - templates.start_m()[x.template], 1e-9)
    in_window = ~x.ran | (x.delay_s <= START_WINDOW_LATE_S)
    end_s = x.start_s + np.where(x.ran, templates.time_at(x.template, x.end_m), 0.0)
    unseen = unseen_stretches(x.ran, x.start_s, end_s, (x.ping_row, x.ping_t), interval_s)
    run = _Images(templates, x.template, x.start_s)  # where the bus was (the schedule, if not run)
    lo, hi = x.start_m, np.where(x.ran, x.end_m, x.start_m)
    detour = per_row(x.detour_off_from_m, x.detour_off_to_m, ~np.isnan(x.detour_off_from_m))
    lost = (run.of_intervals(unseen) + detour).clipped(lo, hi)
    lost_m = union_length(lost, n)
    coverage = np.clip((hi - lo - lost_m) / length, 0.0, 1.0)
    coverage = np.where(length < 1.0, x.ran.astype(float), coverage)  # all stops at one place: ran is all
    # A run that starts past the start window cannot match: the service looks for it on schedule.
    look = _Images(templates, x.template, np.where(in_window, x.start_s, x.scheduled_s))
    has_outage = np.full(n, faults.outage is not None)
    outage, dark = look.of(faults.outage, has_outage), look.of(faults.dark_window, x.dark)
    blind = per_row(*outage) + per_row(*dark)
    seen_blind = np.where(in_window, union_length(blind.clipped(lo, hi) + lost, n) - lost_m, 0.0)
    blind_m = union_length(blind, n)
    seen = np.where(in_window, coverage, 0.0)
    # Nothing seen of it: a bus may have run it at any start in the window, hidden by what was blind then.
    for shift in np.arange(0.0, START_WINDOW_LATE_S + 1, 150.0):
        maybe = _Images(templates, x.template, x.scheduled_s + shift)
        hidden = per_row(*maybe.of(faults.outage, has_outage)) + per_row(
            *maybe.of(faults.dark_window, x.dark)
        )
        blind_m = np.where(seen > 0, blind_m, np.maximum(blind_m, union_length(hidden, n)))
    verdict, reason = _verdicts(seen, seen + (blind_m - seen_blind) / length, outage, x)
    span = (x.start_s, x.start_s + templates.duration_s()[x.template])
    return Judged(
        coverage, np.clip(blind_m / length, 0.0, 1.0), _happened(x, templates, faults), verdict, reason,
        outage_hit=_overlaps(span, faults.outage, has_outage),
        dark_hit=_overlaps(span, faults.dark_window, x.dark),
        silent_hit=(span[0] < x.silent_to_s) & (x.silent_from_s < span[1]),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Images:
    """Time windows mapped to metres along each instance's path, through its (actual) timetable."""

    templates: Templates
    template: IntArray
    start: FloatArray

    def between(self, t0: FloatArray, t1: FloatArray) -> tuple[FloatArray, FloatArray]:
        """[d(t0), d(t1)] per instance; NaN times give an empty interval."""
        empty = np.isnan(t0) | np.isnan(t1)
        a = self.templates.distance_at(self.template, np.nan_to_num(t0) - self.start)
        b = self.templates.distance_at(self.template, np.nan_to_num(t1) - self.start)
        return np.where(empty, 0.0, a), np.where(empty, 0.0, b)

    def of_intervals(self, times: Intervals) -> Intervals:
        """Time intervals of the rows mapped to metres."""
        template, start = self.template[times.row], self.start[times.row]
        a = self.templates.distance_at(template, times.a - start)
        return Intervals(times.row, a, self.templates.distance_at(template, times.b - start))

    def of(self, window: TimeWindow | None, applies: BoolArray) -> tuple[FloatArray, FloatArray]:
        """The image of a window (None: the whole day) where `applies`, else empty."""
        t0, t1 = (-1e9, 1e9) if window is None else (window.start_s, window.end_s)
        full = np.full(len(self.start), 1.0)
        return self.between(np.where(applies, t0 * full, np.nan), np.where(applies, t1 * full, np.nan))


def _overlaps(
    span: tuple[FloatArray, FloatArray], window: TimeWindow | None, applies: BoolArray
) -> BoolArray:
    if window is None:
        return applies.copy()
    return applies & (span[0] < window.end_s) & (window.start_s < span[1])


def _category(share: FloatArray) -> IntArray:
    return (share >= PARTIAL_MIN_COVERAGE).astype(np.int64) + (share >= PERFORMED_MIN_COVERAGE)


def _verdicts(
    seen: FloatArray,
    could_be_seen: FloatArray,
    outage: tuple[FloatArray, FloatArray],
    x: TruthInputs,
) -> tuple[list[ExpectedVerdict], list[ExpectedReason]]:
    """The verdict of the coverage seen, unless what could not be seen might change it (then no_data)."""
    seen_as, could_be = _category(seen), _category(np.minimum(could_be_seen, 1.0))
    hidden_by_outage = outage[1] - outage[0] > 0
    verdicts, reasons = [], []
    for k in range(len(seen)):
        if seen_as[k] != could_be[k]:
            v = ExpectedVerdict.NO_DATA
            r = ExpectedReason.SERVICE_GAP if hidden_by_outage[k] else ExpectedReason.CARRIER_FLEET_DARK
        elif seen_as[k] == 2:
            v, r = ExpectedVerdict.PERFORMED, ExpectedReason.COVERED
        elif seen_as[k] == 1:
            v = ExpectedVerdict.PARTIAL
            r = ExpectedReason.SHORT_TURN if x.short_turn[k] else ExpectedReason.PARTIAL_COVERAGE
        else:
            v = ExpectedVerdict.MISSED
            late = x.ran[k] and x.delay_s[k] > START_WINDOW_LATE_S
            r = ExpectedReason.STARTED_OUTSIDE_WINDOW if late else ExpectedReason.NO_VEHICLE_OBSERVED
        verdicts.append(v)
        reasons.append(r)
    return verdicts, reasons


def _happened(x: TruthInputs, templates: Templates, faults: Faults) -> list[Happened]:
    """not_run, partial (short turn), ran_dark (the tracker silent or dark all along the run), ran."""
    run = (x.start_s, x.start_s + templates.duration_s()[x.template])
    dark = _window_times(faults.dark_window, x.dark)
    silent = (np.nan_to_num(x.silent_from_s), np.nan_to_num(x.silent_to_s))
    quiet_s = union_length((per_row(*silent) + per_row(*dark)).clipped(*run), len(x.ran))
    quiet = quiet_s >= run[1] - run[0] - 1e-3  # union lengths carry a rounding error of microseconds
    out = np.where(
        ~x.ran,
        Happened.NOT_RUN,
        np.where(x.short_turn, Happened.PARTIAL, np.where(quiet, Happened.RAN_DARK, Happened.RAN)),
    )
    return [Happened(h) for h in out]


def _window_times(window: TimeWindow | None, applies: BoolArray) -> tuple[FloatArray, FloatArray]:
    t0, t1 = (-1e9, 1e9) if window is None else (float(window.start_s), float(window.end_s))
    return np.where(applies, t0, 0.0), np.where(applies, t1, 0.0)
