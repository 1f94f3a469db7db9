"""How each route is run: vehicles per route, headways by time of day, trips chained into blocks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from transit.synth.calendar import WEEKDAY
from transit.synth.patterns import Pattern
from transit.synth.routes import Line

IntArray = npt.NDArray[np.int64]

_MIN_LAYOVER_S = 180
_MAX_LAYOVER_S = 600
_DEPOT_TRANSFER_S = 1800  # a parked bus can start from the other terminal after this long
_DEFAULT_PEAK_HEADWAY_S = 600
_MIN_HEADWAY_S = 120
_FIRST_DEPARTURE_SPREAD_MIN = 10


def _h(hours: float) -> int:
    return round(hours * 3600)


# (start, end, share of the peak fleet in service); shares set the headways: peak ~10 min on the default
# fleet, midday ~13-15, evening ~20, late ~30; the weekend has no peaks.
WEEKDAY_BANDS = (
    (_h(5.5), _h(7), 0.7),
    (_h(7), _h(10), 1.0),
    (_h(10), _h(16), 0.75),
    (_h(16), _h(19.5), 1.0),
    (_h(19.5), _h(22), 0.5),
    (_h(22), _h(24 + 2 / 3), 0.35),
)
WEEKEND_BANDS = (
    (_h(6), _h(9), 0.55),
    (_h(9), _h(20), 0.7),
    (_h(20), _h(22.5), 0.5),
    (_h(22.5), _h(24 + 2 / 3), 0.35),
)
Band = tuple[int, int, float]


@dataclass(frozen=True, slots=True)
class Trips:
    """Planned trips, one array element per trip, sorted by line, service, direction and start."""

    line: IntArray
    service: IntArray
    direction: IntArray
    start_s: IntArray
    block: IntArray  # vehicle number within (line, service); -1 for frequency templates


@dataclass(frozen=True, slots=True)
class Window:
    """A frequency-based period of one line, service and direction."""

    line: int
    service: int
    direction: int
    start_s: int
    end_s: int
    headway_s: int


def _cycle_s(patterns: Sequence[Pattern], line: int) -> tuple[int, int, int]:
    """Run times of both directions and the shortest cycle: both runs and two minimum layovers."""
    run_0 = int(patterns[2 * line].arrival_s[-1])
    run_1 = int(patterns[2 * line + 1].arrival_s[-1])
    return run_0, run_1, run_0 + run_1 + 2 * _MIN_LAYOVER_S


def allocate_fleet(patterns: Sequence[Pattern], vehicles: int | None) -> IntArray:
    """Vehicles per line at the weekday peak: V spread by cycle time, or what a 10-minute peak needs."""
    cycles = np.array([_cycle_s(patterns, k)[2] for k in range(len(patterns) // 2)], dtype=np.float64)
    if vehicles is None:
        return np.maximum(2, np.rint(cycles / _DEFAULT_PEAK_HEADWAY_S)).astype(np.int64)
    share = vehicles * cycles / cycles.sum()
    fleet = np.floor(share).astype(np.int64)
    rest = vehicles - int(fleet.sum())
    fleet[np.argsort(-(share - fleet), kind="stable")[:rest]] += 1
    at_least_one: IntArray = np.maximum(fleet, 1)  # so a fleet below the route count is exceeded
    return at_least_one


def _headway_s(cycle_s: int, vehicles: int) -> int:
    """The headway `vehicles` buses give on a cycle: whole minutes unless the layover would pass 10 min."""
    step = 60 if vehicles <= 7 else max(1, 420 // vehicles)
    return max(_MIN_HEADWAY_S, -(-cycle_s // (vehicles * step)) * step)


def _band_headways(bands: Sequence[Band], fleet: int, cycle_s: int) -> list[int]:
    return [_headway_s(cycle_s, max(1, math.floor(fleet * share + 0.5))) for _, _, share in bands]


def plan_service(
    lines: Sequence[Line], patterns: Sequence[Pattern], fleet: IntArray, rng: np.random.Generator
) -> tuple[Trips, list[Window]]:
    """Timetabled trips with blocks for every line and service; frequency windows for the frequency line."""
    parts: list[IntArray] = []
    windows: list[Window] = []
    for k, line in enumerate(lines):
        run_0, run_1, _ = _cycle_s(patterns, k)
        # the far end's departures follow the near end's by `lead`: a run plus a layover, in whole minutes
        lead = -(-(run_0 + int(rng.integers(_MIN_LAYOVER_S, 2 * _MIN_LAYOVER_S))) // 60) * 60
        cycle = lead + run_1 + _MIN_LAYOVER_S
        for service, bands in enumerate((WEEKDAY_BANDS, WEEKEND_BANDS)):
            headways = _band_headways(bands, int(fleet[k]), cycle)
            if line.frequency_based:
                windows += _frequency_windows(k, service, bands, headways, lead)
                continue
            first = bands[0][0] + 60 * int(rng.integers(_FIRST_DEPARTURE_SPREAD_MIN))
            dep_0, dep_1 = _departures(bands, headways, first, lead)
            starts, directions, blocks = _assign_blocks(dep_0, dep_1, (run_0, run_1))
            n = len(starts)
            parts.append(np.array([[k] * n, [service] * n, directions, starts, blocks], dtype=np.int64))
    templates = [[w.line, w.service, w.direction, w.start_s, -1] for w in windows]
    parts.append(np.array(templates, dtype=np.int64).reshape(-1, 5).T)
    line_, service_, direction_, start_, block_ = np.concatenate(parts, axis=1)
    order = np.lexsort((start_, direction_, service_, line_))
    line_, service_, direction_, start_, block_ = (
        a[order] for a in (line_, service_, direction_, start_, block_)
    )
    return Trips(line_, service_, direction_, start_, block_), windows


def _departures(
    bands: Sequence[Band], headways: Sequence[int], first_s: int, lead_s: int
) -> tuple[list[int], list[int]]:
    """Departures from both terminals; each bus leaving the far end left the near end `lead_s` earlier."""
    day_start, day_end = bands[0][0], bands[-1][1]
    near: list[int] = []
    t = first_s
    while t < day_end:
        near.append(t)
        t += headways[_band_of(bands, t)]
    early = [first_s - j * headways[0] for j in range(1, (first_s + lead_s - day_start) // headways[0] + 1)]
    far = sorted(t + lead_s for t in early + near if day_start <= t + lead_s < day_end)
    return near, far


def _band_of(bands: Sequence[Band], t: int) -> int:
    return max([0] + [i for i, (start, _, _) in enumerate(bands) if start <= t])


def _assign_blocks(
    dep_0: Sequence[int], dep_1: Sequence[int], run_s: tuple[int, int]
) -> tuple[list[int], list[int], list[int]]:
    """Chain departures into vehicles: a bus takes the next departure from where it arrived."""
    events = sorted([(t, 0) for t in dep_0] + [(t, 1) for t in dep_1])
    at: list[int] = []  # terminal where each bus is: 0 is where direction 0 starts
    ready: list[int] = []  # when it arrived there
    blocks: list[int] = []
    for t, direction in events:
        bus = _pick_bus(at, ready, t, direction)
        if bus < 0:
            bus = len(at)
            at.append(direction)
            ready.append(t)
        at[bus], ready[bus] = 1 - direction, t + run_s[direction]
        blocks.append(bus)
    return [t for t, _ in events], [d for _, d in events], blocks


def _pick_bus(at: Sequence[int], ready: Sequence[int], t: int, terminal: int) -> int:
    """The bus on layover at `terminal` that arrived first; else a parked bus; else -1 (a new one)."""
    on_layover, parked = -1, -1
    for bus, (where, since) in enumerate(zip(at, ready, strict=True)):
        wait = t - since
        if where == terminal and _MIN_LAYOVER_S <= wait <= _MAX_LAYOVER_S:
            if on_layover < 0 or since < ready[on_layover]:
                on_layover = bus
        elif _is_parked(where == terminal, wait) and (parked < 0 or since < ready[parked]):
            parked = bus
    return on_layover if on_layover >= 0 else parked


def _is_parked(same_terminal: bool, wait_s: int) -> bool:
    """Past its layover, a bus is parked; it can start from the other terminal after a depot transfer."""
    return wait_s > _MAX_LAYOVER_S if same_terminal else wait_s >= _DEPOT_TRANSFER_S


def _frequency_windows(
    line: int, service: int, bands: Sequence[Band], headways: Sequence[int], lead_s: int
) -> list[Window]:
    return [
        Window(line, service, direction, start + direction * (lead_s % headway), end, headway)
        for (start, end, _), headway in zip(bands, headways, strict=True)
        for direction in (0, 1)
    ]


def count_blocks_at_peak(
    trips: Trips, patterns: Sequence[Pattern], windows: Sequence[Window], fleet: IntArray
) -> int:
    """Most weekday blocks in service at once (on a trip or a layover), plus the frequency line's buses."""
    mask = (trips.service == WEEKDAY) & (trips.block >= 0)
    line, block, start = trips.line[mask], trips.block[mask], trips.start_s[mask]
    run = np.array([int(p.arrival_s[-1]) for p in patterns], dtype=np.int64)
    end = start + run[2 * line + trips.direction[mask]]
    order = np.lexsort((start, block, line))
    line, block, start, end = line[order], block[order], start[order], end[order]
    same_bus = (line[1:] == line[:-1]) & (block[1:] == block[:-1]) & (start[1:] - end[:-1] <= _MAX_LAYOVER_S)
    end[:-1] = np.where(same_bus, start[1:], end[:-1])
    times = np.concatenate((start, end))
    steps = np.concatenate((np.ones_like(start), -np.ones_like(end)))
    in_service = np.cumsum(steps[np.lexsort((steps, times))])
    frequency_lines = {w.line for w in windows}
    return int(in_service.max(initial=0)) + int(sum(fleet[k] for k in frequency_lines))
