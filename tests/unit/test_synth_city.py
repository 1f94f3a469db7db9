"""The made-up city: a consistent GTFS feed with the features the demo and the benchmarks rely on."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.synth.city import GTFS_TABLES, City, build_city

START = dt.date(2026, 3, 1)  # a Sunday; 2026-03-23 (Nauryz) is a Monday
M_PER_DEG_LAT = 111_195.0


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(20, seed=7, start_date=START)


def seconds(times: pd.Series) -> pd.Series:
    parts = times.str.split(":", expand=True).astype(int)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def metres_apart(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Distances between rows of two frames with stop_lat / stop_lon, on a local plane."""
    dy = (a["stop_lat"].to_numpy() - b["stop_lat"].to_numpy()) * M_PER_DEG_LAT
    dx = (a["stop_lon"].to_numpy() - b["stop_lon"].to_numpy()) * M_PER_DEG_LAT * np.cos(np.radians(54.87))
    return np.hypot(dx, dy)


def stop_sets(city: City) -> dict[str, set[str]]:
    route_of = city.trips.set_index("trip_id")["route_id"]
    routes = city.stop_times["trip_id"].map(route_of)
    return {str(r): set(group) for r, group in city.stop_times["stop_id"].groupby(routes)}


def pattern(city: City, route_id: str, direction: int) -> list[str]:
    trips = city.trips[(city.trips["route_id"] == route_id) & (city.trips["direction_id"] == direction)]
    first = trips["trip_id"].iloc[0]
    return city.stop_times.loc[city.stop_times["trip_id"] == first, "stop_id"].tolist()


def test_same_seed_and_start_date_build_the_same_city(city: City) -> None:
    again = build_city(20, seed=7, start_date=START)
    for name in (*GTFS_TABLES, "population", "demand"):
        pd.testing.assert_frame_equal(getattr(city, name), getattr(again, name), obj=name)


def test_another_seed_builds_another_city(city: City) -> None:
    other = build_city(20, seed=8, start_date=START)
    assert not city.stops.equals(other.stops)
    assert not city.stop_times.equals(other.stop_times)


def test_routes_below_one_are_refused() -> None:
    with pytest.raises(BadParameter, match="routes"):
        build_city(0, seed=1, start_date=START)


def test_every_reference_resolves(city: City) -> None:
    assert set(city.routes["agency_id"]) <= set(city.agency["agency_id"])
    assert set(city.trips["route_id"]) == set(city.routes["route_id"])
    assert set(city.trips["service_id"]) <= set(city.calendar["service_id"])
    assert set(city.calendar_dates["service_id"]) <= set(city.calendar["service_id"])
    assert set(city.trips["shape_id"]) <= set(city.shapes["shape_id"])
    assert set(city.stop_times["stop_id"]) <= set(city.stops["stop_id"])
    assert set(city.stop_times["trip_id"]) == set(city.trips["trip_id"])
    assert set(city.frequencies["trip_id"]) <= set(city.trips["trip_id"])
    stop_ids = set(city.stops["stop_id"])
    assert set(city.demand["origin_stop_id"]) | set(city.demand["destination_stop_id"]) <= stop_ids


def test_ids_are_unique(city: City) -> None:
    for frame, key in (
        (city.agency, ["agency_id"]),
        (city.stops, ["stop_id"]),
        (city.routes, ["route_id"]),
        (city.routes, ["route_short_name"]),
        (city.trips, ["trip_id"]),
        (city.calendar, ["service_id"]),
        (city.calendar_dates, ["service_id", "date"]),
        (city.shapes, ["shape_id", "shape_pt_sequence"]),
        (city.stop_times, ["trip_id", "stop_sequence"]),
        (city.population, ["cell_id"]),
        (city.demand, ["origin_stop_id", "destination_stop_id"]),
    ):
        assert not frame.duplicated(key).any(), key


def test_a_block_belongs_to_one_route_and_one_service(city: City) -> None:
    blocks = city.trips.dropna(subset=["block_id"])
    assert (blocks.groupby("block_id")[["route_id", "service_id"]].nunique() == 1).all().all()


def test_times_are_gtfs_strings_and_dates_are_yyyymmdd(city: City) -> None:
    time = re.compile(r"^\d\d:[0-5]\d:[0-5]\d$")
    for column in ("arrival_time", "departure_time"):
        assert city.stop_times[column].str.match(time).all()
        assert city.stop_times[column].notna().all()
    assert city.frequencies["start_time"].str.match(time).all()
    for dates in (city.calendar["start_date"], city.calendar["end_date"], city.calendar_dates["date"]):
        assert dates.str.fullmatch(r"20\d{6}").all()


def test_stop_sequence_rises_and_times_never_fall_along_a_trip(city: City) -> None:
    st = city.stop_times
    arrival, departure = seconds(st["arrival_time"]), seconds(st["departure_time"])
    same_trip = st["trip_id"].eq(st["trip_id"].shift())
    assert (st["stop_sequence"].diff()[same_trip] > 0).all()
    assert (departure >= arrival).all()
    assert (arrival - departure.shift())[same_trip].min() > 0
    assert (st["shape_dist_traveled"].diff()[same_trip] > 0).all()


def test_stop_distances_stay_on_their_shape(city: City) -> None:
    shape_length = city.shapes.groupby("shape_id")["shape_dist_traveled"].max()
    last = city.stop_times.groupby("trip_id")["shape_dist_traveled"].max()
    shape_of = city.trips.set_index("trip_id")["shape_id"]
    assert (last <= shape_length[shape_of[last.index]].to_numpy() + 0.1).all()


def test_most_routes_start_their_last_trip_after_midnight(city: City) -> None:
    starts = city.stop_times.groupby("trip_id")["departure_time"].first()
    trips = city.trips.assign(start=seconds(city.trips["trip_id"].map(starts)))
    last = trips[trips["service_id"] == "weekday"].groupby("route_id")["start"].max()
    assert (last >= 24 * 3600).mean() >= 0.5


def test_trips_run_from_half_past_five(city: City) -> None:
    starts = seconds(city.stop_times.groupby("trip_id")["departure_time"].first())
    assert 5.5 * 3600 <= starts.min() <= 6 * 3600


def test_each_direction_has_15_to_40_stops_300_to_500_m_apart(city: City) -> None:
    counts = city.stop_times.groupby("trip_id").size()
    assert counts.between(15, 40).all()
    gaps = city.stop_times.groupby("trip_id")["shape_dist_traveled"].diff().dropna()
    assert gaps.between(250, 550).all()
    assert 300 <= gaps.mean() <= 500


def test_opposite_platforms_are_separate_stops_tens_of_metres_apart(city: City) -> None:
    stops = city.stops.set_index("stop_id")
    there, back = pattern(city, "1", 0), pattern(city, "1", 1)
    assert not set(there) & set(back)
    distance = metres_apart(stops.loc[there].reset_index(), stops.loc[back[::-1]].reset_index())
    assert ((distance > 20) & (distance < 60)).all()


def test_near_duplicates_are_15_to_20_percent_and_share_most_stops_with_their_route(city: City) -> None:
    stops = stop_sets(city)
    duplicates = [r for r in city.routes["route_short_name"] if not r.isdigit()]
    assert 0.15 <= len(duplicates) / len(city.routes) <= 0.2
    for name in duplicates:
        base = name.rstrip("ABCDEFGHIJ")
        shared = len(stops[name] & stops[base]) / len(stops[name] | stops[base])
        assert shared >= 0.5, (name, shared)
        assert stops[name] != stops[base]
        ends = (pattern(city, name, 0)[0], pattern(city, name, 0)[-1])
        assert ends != (pattern(city, base, 0)[0], pattern(city, base, 0)[-1])


def test_one_plain_route_runs_by_frequency_with_exact_and_inexact_windows(city: City) -> None:
    frequencies = city.frequencies
    assert set(frequencies["exact_times"]) == {0, 1}
    templates = city.trips[city.trips["trip_id"].isin(frequencies["trip_id"])]
    assert templates["route_id"].nunique() == 1
    route_id = templates["route_id"].iloc[0]
    assert route_id.isdigit()
    assert set(city.trips.loc[city.trips["route_id"] == route_id, "trip_id"]) == set(templates["trip_id"])
    assert set(templates["trip_id"]) <= set(city.stop_times["trip_id"])
    assert (frequencies["headway_secs"] > 0).all()


def test_weekday_holiday_swaps_the_weekday_service_for_the_weekend_one(city: City) -> None:
    nauryz = city.calendar_dates[city.calendar_dates["date"] == "20260323"]
    assert dict(zip(nauryz["service_id"], nauryz["exception_type"], strict=True)) == {
        "weekday": 2,
        "weekend": 1,
    }
    dates = pd.to_datetime(city.calendar_dates["date"], format="%Y%m%d")
    assert dates.between(pd.Timestamp(START), pd.Timestamp(START + dt.timedelta(days=364))).all()
    assert (dates.dt.day_of_week < 5).all()


def test_calendar_runs_one_year_on_weekdays_and_weekends(city: City) -> None:
    calendar = city.calendar.set_index("service_id")
    assert calendar.loc["weekday", ["monday", "friday", "saturday"]].tolist() == [1, 1, 0]
    assert calendar.loc["weekend", ["monday", "saturday", "sunday"]].tolist() == [0, 1, 1]
    assert set(calendar["start_date"]) == {"20260301"}
    assert set(calendar["end_date"]) == {"20270228"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_two_to_four_carriers_in_asia_almaty_each_running_routes(seed: int) -> None:
    small = build_city(8, seed=seed, start_date=START, vehicles=8)
    assert 2 <= len(small.agency) <= 4
    assert set(small.agency["agency_timezone"]) == {"Asia/Almaty"}
    assert set(small.agency["agency_lang"]) == {"ru"}
    assert set(small.routes["agency_id"]) == set(small.agency["agency_id"])
    assert small.agency["agency_id"].str.fullmatch(r"AP\d").all()


def test_feed_info_names_seed_start_date_and_route_count(city: City) -> None:
    info = city.feed_info.iloc[0]
    assert info["feed_version"] == "synth-7-20260301-r20"
    assert info["feed_lang"] == "ru"
    assert (info["feed_start_date"], info["feed_end_date"]) == ("20260301", "20270228")


def test_blocks_alternate_directions_with_3_to_10_minute_layovers(city: City) -> None:
    starts = seconds(city.stop_times.groupby("trip_id")["departure_time"].first())
    ends = seconds(city.stop_times.groupby("trip_id")["arrival_time"].last())
    trips = city.trips.dropna(subset=["block_id"]).copy()
    trips["start"], trips["end"] = trips["trip_id"].map(starts), trips["trip_id"].map(ends)
    trips = trips.sort_values(["block_id", "start"])
    following = trips.groupby("block_id")[["start", "direction_id"]].shift(-1)
    gap = (following["start"] - trips["end"]).dropna()
    layover = gap <= 600
    assert (gap >= 180).all()
    assert layover.mean() >= 0.9
    turned = following["direction_id"].dropna() != trips["direction_id"][following["direction_id"].notna()]
    assert turned[layover[layover].index].all()


def test_a_given_fleet_is_what_the_weekday_peak_uses() -> None:
    sized = build_city(20, seed=7, start_date=START, vehicles=60)
    assert sized.vehicles == 60
    assert 54 <= sized.blocks_at_peak <= 66


def test_default_fleet_is_about_five_per_route(city: City) -> None:
    assert 4 * 20 <= city.vehicles <= 8 * 20
    assert abs(city.blocks_at_peak - city.vehicles) <= 0.1 * city.vehicles


def test_population_is_about_200_thousand_and_densest_in_the_centre(city: City) -> None:
    people = city.population
    assert 150_000 <= people["population"].sum() <= 250_000
    away = np.hypot(people["lat"] - 54.87, (people["lon"] - 69.14) * np.cos(np.radians(54.87)))
    assert people.loc[away < away.quantile(0.1), "population"].mean() > people["population"].mean()


def test_demand_is_at_most_50_thousand_pairs_of_distinct_stops(city: City) -> None:
    demand = city.demand
    assert 0 < len(demand) <= 50_000
    assert (demand["origin_stop_id"] != demand["destination_stop_id"]).all()
    assert (demand["trips_per_day"] > 0).all()


def test_a_bigger_city_covers_a_bigger_area(city: City) -> None:
    bigger = build_city(80, seed=7, start_date=START, vehicles=80)

    def area(stops: pd.DataFrame) -> float:
        return float(np.ptp(stops["stop_lat"]) * np.ptp(stops["stop_lon"]))

    assert area(bigger.stops) > 2 * area(city.stops)
