"""The day plan of a tiny hand-made feed: calendars, exceptions, frequencies, times past 24:00, DST."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from transit.gtfs.dayplan import DAY_PLAN_COLUMNS, slug, summarise_day_plan
from transit.gtfs.load import LoadedFeed, load_feed

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "gtfs" / "tiny"


@pytest.fixture(scope="module")
def tiny() -> LoadedFeed:
    return load_feed(TINY)


def plan_of(feed: LoadedFeed, day: str) -> pd.DataFrame:
    return feed.day_plan(dt.date.fromisoformat(day))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-06", 7),  # Tuesday: 2 timed weekday trips + 5 frequency instances
        ("2026-01-10", 1),  # Saturday: the weekend trip
        ("2026-05-01", 1),  # Friday holiday: weekday service removed, weekend service added
        ("2026-12-24", 8),  # a service only in calendar_dates, added to a weekday
        ("2027-01-05", 0),  # after the calendar ends
    ],
)
def test_service_date_counts_follow_calendar_and_exceptions(
    tiny: LoadedFeed, day: str, expected: int
) -> None:
    assert len(plan_of(tiny, day)) == expected


def test_day_plan_has_exactly_the_documented_columns(tiny: LoadedFeed) -> None:
    assert tuple(plan_of(tiny, "2026-01-06").columns) == DAY_PLAN_COLUMNS


def test_frequency_trips_expand_per_headway_until_before_end_time(tiny: LoadedFeed) -> None:
    plan = plan_of(tiny, "2026-01-06")
    freq = plan[plan["trip_id"] == "R2-WK-FREQ"]
    assert list(freq["start_time"]) == ["06:00:00", "06:20:00", "06:40:00", "07:00:00", "07:30:00"]
    assert list(freq["end_time"]) == ["06:10:00", "06:30:00", "06:50:00", "07:10:00", "07:40:00"]


def test_trip_past_midnight_keeps_its_gtfs_time_and_lands_on_the_next_calendar_day(tiny: LoadedFeed) -> None:
    plan = plan_of(tiny, "2026-01-06")
    late = plan[plan["trip_id"] == "R1-WK-2530"].iloc[0]
    assert late["start_time"] == "25:30:00"
    assert late["end_time"] == "25:42:00"
    # Berlin is UTC+1 in January: 25:30 on the 6th is 01:30 local on the 7th, 00:30 UTC.
    assert late["start_at"] == pd.Timestamp("2026-01-07T00:30:00Z")
    assert late["service_date"] == "2026-01-06"


def test_start_at_counts_from_noon_minus_12h_on_a_dst_day(tiny: LoadedFeed) -> None:
    # 2026-03-29 is the spring-forward Sunday in Berlin: 09:00 GTFS time is 09:00 CEST, 07:00 UTC.
    trip = plan_of(tiny, "2026-03-29").iloc[0]
    assert trip["start_at"] == pd.Timestamp("2026-03-29T07:00:00Z")
    winter = plan_of(tiny, "2026-03-28").iloc[0]
    assert winter["start_at"] == pd.Timestamp("2026-03-28T08:00:00Z")


def test_intermediate_stop_without_times_does_not_break_start_and_end(tiny: LoadedFeed) -> None:
    trip = plan_of(tiny, "2026-01-06").set_index("trip_id").loc["R1-WK-0800"]
    assert (trip["start_time"], trip["end_time"], trip["stop_count"]) == ("08:00:00", "08:12:00", 3)


def test_distance_follows_the_shape_or_else_the_stops(tiny: LoadedFeed) -> None:
    plan = plan_of(tiny, "2026-12-24").set_index("trip_id")
    assert plan.loc["R1-WK-0800", "distance_m"] == pytest.approx(1354, abs=3)
    assert plan.loc["R2-XMAS-1000", "distance_m"] == pytest.approx(1112, abs=2)


def test_carrier_is_the_route_agency(tiny: LoadedFeed) -> None:
    plan = plan_of(tiny, "2026-12-24")
    carriers = dict(zip(plan["trip_id"], plan["carrier_id"], strict=True))
    assert carriers["R1-WK-0800"] == "AP1"
    assert carriers["R2-XMAS-1000"] == "AP2"
    assert (plan["agency_id"] == plan["carrier_id"]).all()


def test_plan_is_sorted_by_start(tiny: LoadedFeed) -> None:
    plan = plan_of(tiny, "2026-12-24")
    assert plan["start_at"].is_monotonic_increasing


def test_summary_counts_per_carrier_and_route(tiny: LoadedFeed) -> None:
    summary = summarise_day_plan(plan_of(tiny, "2026-12-24"))
    by_carrier = {c["carrier_id"]: c for c in summary}
    assert by_carrier["AP1"]["trips"] == 2
    assert by_carrier["AP2"]["trips"] == 6
    assert [r["trips"] for r in by_carrier["AP2"]["routes"]] == [6]  # type: ignore[index, union-attr]


def test_slug_makes_a_carrier_id_from_an_agency_name() -> None:
    assert (
        slug("Department of Transport - TransLink (qconnect)") == "department-of-transport-translink-qconnect"
    )
    assert slug("Автопарк №1") == "avtopark-no1"
    assert slug("Қалалық автобус") == "qalalyq-avtobus"
    assert slug("***") == "agency"
