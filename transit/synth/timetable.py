"""The planned trips as GTFS tables: trips, stop_times and frequencies."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.synth.calendar import SERVICE_IDS
from transit.synth.patterns import Pattern
from transit.synth.routes import Line
from transit.synth.service import Trips, Window

IntArray = npt.NDArray[np.int64]

_EXACT_TIMES_BEFORE_S = 10 * 3600


def build_trip_ids(lines: Sequence[Line], trips: Trips) -> npt.NDArray[np.object_]:
    """Ids like "12A-weekday-0-007": route, service, direction and the trip's rank among those."""
    group = (trips.line * 2 + trips.service) * 2 + trips.direction
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    rank = np.arange(group.size) - np.repeat(first, np.diff(np.r_[first, group.size]))
    return np.array(
        [
            f"{lines[k].route_id}-{SERVICE_IDS[s]}-{d}-{r:03d}"
            for k, s, d, r in zip(trips.line, trips.service, trips.direction, rank, strict=True)
        ],
        dtype=object,
    )


def build_trips(
    lines: Sequence[Line],
    trips: Trips,
    trip_ids: npt.NDArray[np.object_],
    patterns: Sequence[Pattern],
    stops: pd.DataFrame,
) -> pd.DataFrame:
    """trips.txt: headsign, block and shape of each planned trip."""
    route_ids = np.array([line.route_id for line in lines], dtype=object)
    names = stops["stop_name"].to_numpy()
    headsigns = np.array([names[p.stops[-1]] for p in patterns], dtype=object)
    blocks = [
        f"{route_ids[k]}-{SERVICE_IDS[s]}-{b + 1:02d}" if b >= 0 else None
        for k, s, b in zip(trips.line, trips.service, trips.block, strict=True)
    ]
    return pd.DataFrame(
        {
            "route_id": route_ids[trips.line],
            "service_id": np.array(SERVICE_IDS, dtype=object)[trips.service],
            "trip_id": trip_ids,
            "trip_headsign": headsigns[trips.line * 2 + trips.direction],
            "direction_id": trips.direction,
            "block_id": pd.Series(blocks, dtype="str"),
            "shape_id": np.array([f"{r}-{d}" for r in route_ids for d in (0, 1)], dtype=object)[
                trips.line * 2 + trips.direction
            ],
        }
    )


def build_stop_times(
    trips: Trips, trip_ids: npt.NDArray[np.object_], patterns: Sequence[Pattern], stops: pd.DataFrame
) -> pd.DataFrame:
    """Every trip's pattern shifted by its start time, by array indexing rather than per-trip loops."""
    lengths = np.array([p.stops.size for p in patterns], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    stop_of = np.concatenate([p.stops for p in patterns])
    arrival_of = np.concatenate([p.arrival_s for p in patterns])
    departure_of = np.concatenate([p.departure_s for p in patterns])
    dist_of = np.concatenate([p.dist_m for p in patterns])
    pattern = trips.line * 2 + trips.direction
    per_trip = lengths[pattern]
    trip_of_row = np.repeat(np.arange(pattern.size), per_trip)
    sequence = np.arange(per_trip.sum()) - np.repeat(np.cumsum(per_trip) - per_trip, per_trip)
    source = offsets[pattern][trip_of_row] + sequence
    start = trips.start_s[trip_of_row]
    return pd.DataFrame(
        {
            "trip_id": trip_ids[trip_of_row],
            "arrival_time": _gtfs_times(start + arrival_of[source]),
            "departure_time": _gtfs_times(start + departure_of[source]),
            "stop_id": stops["stop_id"].to_numpy()[stop_of[source]],
            "stop_sequence": sequence + 1,
            "shape_dist_traveled": np.round(dist_of[source], 1),
        }
    )


def build_frequencies(
    trips: Trips, trip_ids: npt.NDArray[np.object_], windows: Sequence[Window]
) -> pd.DataFrame:
    """One row per template trip: its window; exact_times=1 for windows that start before 10:00."""
    by_start = {(w.line, w.service, w.direction, w.start_s): w for w in windows}
    templates = np.flatnonzero(trips.block < 0)
    ordered = [
        by_start[int(trips.line[k]), int(trips.service[k]), int(trips.direction[k]), int(trips.start_s[k])]
        for k in templates
    ]
    starts = np.array([w.start_s for w in ordered], dtype=np.int64)
    ends = np.array([w.end_s for w in ordered], dtype=np.int64)
    return pd.DataFrame(
        {
            "trip_id": pd.Series(trip_ids[templates], dtype="str"),
            "start_time": pd.Series(_gtfs_times(starts), dtype="str"),
            "end_time": pd.Series(_gtfs_times(ends), dtype="str"),
            "headway_secs": pd.Series([w.headway_s for w in ordered], dtype="int64"),
            "exact_times": pd.Series((starts < _EXACT_TIMES_BEFORE_S).astype(np.int64), dtype="int64"),
        }
    )


def _gtfs_times(seconds: IntArray) -> npt.NDArray[np.object_]:
    """GTFS "HH:MM:SS" strings, through a table so that millions of times cost one lookup each."""
    return _time_table(int(seconds.max(initial=0)) // 3600 + 1)[seconds]


@functools.cache
def _time_table(hours: int) -> npt.NDArray[np.object_]:
    return np.array(
        [f"{h:02d}:{m:02d}:{s:02d}" for h in range(hours) for m in range(60) for s in range(60)], dtype=object
    )
