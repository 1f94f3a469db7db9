"""A made-up city for demos and benchmarks: streets, bus routes, a year of timetables, population, demand.

Pure: no file IO, no clock, no environment. Everything is drawn from one `numpy.random.default_rng(seed)`
in a fixed order, so the same arguments give the same city, frame for frame. Distances are metres on a
local plane centred on Petropavl; GTFS times are "HH:MM:SS" strings that may pass 24:00:00.

`build_city` runs the steps in that order; each lives in the module named after what it decides:
`streets`, `routes`, `feed` (agencies, route names, feed_info), `patterns` (platforms, stop patterns,
shapes), `service` (fleet, headways, blocks), `timetable` (trips, stop_times, frequencies), `calendar`
and `demand` (population and OD demand).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transit.errors import BadParameter
from transit.synth.calendar import build_calendar, build_calendar_dates, list_holidays
from transit.synth.demand import build_demand, build_population
from transit.synth.feed import build_agency, build_feed_info, build_routes
from transit.synth.patterns import build_patterns, build_shapes, build_stops, index_platforms, place_platforms
from transit.synth.routes import lay_out_lines
from transit.synth.service import allocate_fleet, count_blocks_at_peak, plan_service
from transit.synth.streets import build_streets
from transit.synth.timetable import build_frequencies, build_stop_times, build_trip_ids, build_trips

__all__ = ["GTFS_TABLES", "City", "build_city", "list_holidays"]

GTFS_TABLES = (
    "agency",
    "stops",
    "routes",
    "trips",
    "stop_times",
    "calendar",
    "calendar_dates",
    "shapes",
    "frequencies",
    "feed_info",
)


@dataclass(frozen=True, slots=True, eq=False)
class City:
    """A made-up city: one DataFrame per GTFS file, plus the population grid and the OD demand."""

    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    shapes: pd.DataFrame
    frequencies: pd.DataFrame
    feed_info: pd.DataFrame
    population: pd.DataFrame  # cell_id, lat, lon, population
    demand: pd.DataFrame  # origin_stop_id, destination_stop_id, trips_per_day
    vehicles: int  # the fleet the weekday peak is sized for
    blocks_at_peak: int  # most weekday blocks in service at once, frequency-route buses included

    def gtfs_tables(self) -> dict[str, pd.DataFrame]:
        """The GTFS tables by file name without ".txt"."""
        return {name: getattr(self, name) for name in GTFS_TABLES}


def build_city(routes: int, seed: int, start_date: dt.date, vehicles: int | None = None) -> City:
    """Build a city of `routes` bus routes with a year of service from `start_date`; deterministic."""
    if routes < 1:
        raise BadParameter(f"routes must be at least 1, got {routes}")
    if vehicles is not None and vehicles < 1:
        raise BadParameter(f"vehicles must be at least 1, got {vehicles}")
    rng = np.random.default_rng(seed)
    streets = build_streets(routes, rng)
    lines = lay_out_lines(streets, routes, rng)
    agency, owners = build_agency(len(lines), rng)
    platforms = index_platforms(lines)
    stop_xy = place_platforms(streets.xy, platforms, rng)
    patterns = build_patterns(lines, streets.xy, platforms, rng)
    fleet = allocate_fleet(patterns, vehicles)
    trips, windows = plan_service(lines, patterns, fleet, rng)
    stops = build_stops(streets, platforms, stop_xy)
    trip_ids = build_trip_ids(lines, trips)
    population = build_population(streets.xy, rng)
    return City(
        agency=agency,
        stops=stops,
        routes=build_routes(lines, owners, patterns, stops),
        trips=build_trips(lines, trips, trip_ids, patterns, stops),
        stop_times=build_stop_times(trips, trip_ids, patterns, stops),
        calendar=build_calendar(start_date),
        calendar_dates=build_calendar_dates(start_date),
        shapes=build_shapes(lines, patterns),
        frequencies=build_frequencies(trips, trip_ids, windows),
        feed_info=build_feed_info(seed, start_date, routes),
        population=population,
        demand=build_demand(stops, stop_xy, population, streets.xy, rng),
        vehicles=int(fleet.sum()),
        blocks_at_peak=count_blocks_at_peak(trips, patterns, windows, fleet),
    )
