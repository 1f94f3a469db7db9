"""Trips as a whole: stop times in stop_sequence order, times at a trip's ends, trip sizes, frequencies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transit.gtfs.check.values import (
    Bools,
    CheckedTable,
    Describe,
    FeedCheck,
    Floats,
    Ints,
    Values,
    empty_rows,
    say,
)
from transit.gtfs.model import FindingCode, Severity
from transit.gtfs.schema import FieldType

C = FindingCode
T = FieldType
ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True, slots=True)
class _TripOrder:
    """The usable stop_times rows in (trip, stop_sequence) order: `rows` are positions in the file."""

    rows: Ints
    trip: Ints
    first: Bools
    last: Bools


def check_stop_times(ctx: FeedCheck) -> None:
    """Trips of one stop, trips without stops, edge times and times that go back along a trip."""
    stop_times = ctx.table("stop_times")
    if stop_times is None or not stop_times.has("trip_id"):
        return
    trip = stop_times.values("trip_id")
    _check_trip_sizes(ctx, stop_times, trip)
    _check_trips_served(ctx, trip)
    if not stop_times.has("stop_sequence"):
        return
    order = _trip_order(trip, stop_times.values("stop_sequence"))
    if len(order.rows) == 0:
        return
    _check_edge_times(ctx, stop_times, order, trip)
    _check_time_order(ctx, stop_times, order, trip)


def _trip_order(trip: Values, sequence: Values) -> _TripOrder:
    """Sort the rows with a trip_id and an integer stop_sequence by trip, then by stop_sequence."""
    stop_sequence = sequence.parsed_rows(T.NON_NEGATIVE_INTEGER)
    usable = np.flatnonzero(~trip.empty[trip.codes] & ~np.isnan(stop_sequence))
    rows = usable[np.lexsort((stop_sequence[usable], trip.codes[usable]))]
    trip_codes = trip.codes[rows]
    change = trip_codes[1:] != trip_codes[:-1]
    first = np.concatenate(([True], change))
    last = np.concatenate((change, [True]))
    return _TripOrder(rows, trip_codes, first, last)


def _check_trip_sizes(ctx: FeedCheck, stop_times: CheckedTable, trip: Values) -> None:
    """A trip needs at least two stop times: one to leave from and one to arrive at."""
    named = ~trip.empty
    counts = np.bincount(trip.codes, minlength=len(named))
    ctx.report(
        ERROR, C.TRIP_TOO_FEW_STOPS, stop_times, trip.rows((counts == 1) & named), "trip_id",
        lambda row: f"trip {trip.text_at(row)!r} has only this stop time; a trip needs at least 2",
    )  # fmt: skip


def _check_trips_served(ctx: FeedCheck, stop_trip: Values) -> None:
    """Trips of trips.txt that have no stop times are never served."""
    trips = ctx.table("trips")
    if trips is None or not trips.has("trip_id") or len(stop_trip.codes) == 0:
        return
    values = trips.values("trip_id")
    unserved = ~values.raw.isin(stop_trip.raw).to_numpy(dtype=bool) & ~values.empty
    ctx.report(
        WARNING, C.TRIP_WITHOUT_STOP_TIMES, trips, values.rows(unserved), "trip_id",
        lambda row: f"trip {values.text_at(row)!r} has no stop times in stop_times.txt; it is never served",
    )  # fmt: skip


def _check_edge_times(ctx: FeedCheck, stop_times: CheckedTable, order: _TripOrder, trip: Values) -> None:
    """The first and the last stop of a trip need an arrival_time and a departure_time."""
    for name in ("arrival_time", "departure_time"):
        if not stop_times.has(name):
            ctx.add(
                ERROR, C.MISSING_TRIP_EDGE_TIME, stop_times.file, name,
                f"stop_times.txt: no {name} column; the first and last stop of every trip need one",
            )  # fmt: skip
            continue
        empty = empty_rows(stop_times, name)[order.rows]
        for edge, which in ((order.first, "first"), (order.last & ~order.first, "last")):
            ctx.report(
                ERROR, C.MISSING_TRIP_EDGE_TIME, stop_times, order.rows[edge & empty], name,
                _edge_message(trip, which),
            )  # fmt: skip


def _edge_message(trip: Values, which: str) -> Describe:
    return lambda row: (
        f"empty at the {which} stop of trip {trip.text_at(row)!r}; a trip's first and last stops need times"
    )


def _time_rows(stop_times: CheckedTable, name: str, rows: Ints) -> Floats:
    """Seconds of the time column at these rows; NaN when empty, invalid or absent."""
    if not stop_times.has(name):
        return np.full(len(rows), np.nan)
    return stop_times.values(name).parsed(T.TIME)[stop_times.values(name).codes[rows]]


def _check_time_order(ctx: FeedCheck, stop_times: CheckedTable, order: _TripOrder, trip: Values) -> None:
    """Along stop_sequence, no departure before its arrival and no arrival before the previous departure."""
    arrival = _time_rows(stop_times, "arrival_time", order.rows)
    departure = _time_rows(stop_times, "departure_time", order.rows)
    dwell = np.flatnonzero(departure < arrival)
    ctx.report(
        ERROR, C.TIME_DECREASING, stop_times, order.rows[dwell], "departure_time",
        _dwell_message(trip, stop_times, order.rows, dwell, arrival),
    )  # fmt: skip
    reach = np.where(np.isnan(arrival), departure, arrival)  # when the vehicle reaches the stop
    leave = np.where(np.isnan(departure), arrival, departure)  # when it leaves
    index = np.arange(len(order.rows))
    previous = np.maximum.accumulate(np.where(np.isnan(leave), -1, index))  # last timed stop so far
    previous = np.concatenate(([-1], previous[:-1]))
    trip_start = np.maximum.accumulate(np.where(order.first, index, 0))
    compared = (previous >= trip_start) & ~np.isnan(reach)
    back = np.flatnonzero(compared & (reach < leave[np.maximum(previous, 0)]))
    for name, mask in (
        ("arrival_time", ~np.isnan(arrival[back])),
        ("departure_time", np.isnan(arrival[back])),
    ):
        ctx.report(
            ERROR, C.TIME_DECREASING, stop_times, order.rows[back[mask]], name,
            _back_message(trip, stop_times, order.rows, back[mask], previous, reach, leave),
        )  # fmt: skip


def _dwell_message(
    trip: Values, stop_times: CheckedTable, rows: Ints, dwell: Ints, arrival: Floats
) -> Describe:
    at = dict(zip(rows[dwell].tolist(), dwell.tolist(), strict=True))

    def describe(row: int) -> str:
        return (
            f"{stop_times.values('departure_time').text_at(row)} is before the arrival_time "
            f"{_format_time(float(arrival[at[row]]))} of the same stop of trip {trip.text_at(row)!r}"
        )

    return describe


def _back_message(
    trip: Values,
    stop_times: CheckedTable,
    rows: Ints,
    back: Ints,
    previous: Ints,
    reach: Floats,
    leave: Floats,
) -> Describe:
    at = dict(zip(rows[back].tolist(), back.tolist(), strict=True))

    def describe(row: int) -> str:
        k = at[row]
        before = previous[k]
        return (
            f"{_format_time(float(reach[k]))} is before {_format_time(float(leave[before]))}, the time at "
            f"the previous stop (line {stop_times.line(int(rows[before]))}) of trip {trip.text_at(row)!r}; "
            "times must not decrease along a trip"
        )

    return describe


def _format_time(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def check_frequencies(ctx: FeedCheck) -> None:
    """A frequency period must end after it starts and have a positive headway."""
    frequencies = ctx.table("frequencies")
    if frequencies is None:
        return
    if frequencies.has("start_time") and frequencies.has("end_time"):
        start, end = frequencies.values("start_time"), frequencies.values("end_time")
        rows = np.flatnonzero(start.parsed_rows(T.TIME) >= end.parsed_rows(T.TIME))
        ctx.report(
            ERROR, C.INVALID_FREQUENCY, frequencies, rows, "end_time",
            lambda row: f"{end.text_at(row)} is not after start_time {start.text_at(row)}",
        )  # fmt: skip
    if frequencies.has("headway_secs"):
        headway = frequencies.values("headway_secs")
        rows = headway.rows(headway.parsed(T.NON_NEGATIVE_INTEGER) == 0)
        ctx.report(
            ERROR,
            C.INVALID_FREQUENCY,
            frequencies,
            rows,
            "headway_secs",
            say("0; the headway must be positive"),
        )
