"""GTFS times and the service calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transit.gtfs.calendar import compute_service_range, list_active_service_ids
from transit.gtfs.times import (
    format_gtfs_time,
    parse_gtfs_time,
    parse_gtfs_times,
    service_day_origin,
)


@given(st.integers(min_value=0, max_value=99 * 3600 + 59 * 60 + 59))
def test_gtfs_time_round_trips(seconds: int) -> None:
    assert parse_gtfs_time(format_gtfs_time(seconds)) == seconds


@pytest.mark.parametrize("text", ["25:61:00", "8:00", "08:00:0a", "", "-1:00:00"])
def test_malformed_gtfs_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="GTFS time"):
        parse_gtfs_time(text)


def test_vectorised_times_accept_single_digit_hours_and_mark_empty_values() -> None:
    parsed = parse_gtfs_times(pd.Series(["6:00:00", "24:10:05", "", None]))
    assert list(parsed) == [21600, 87005, -1, -1]
    assert parsed.dtype == np.int64


@pytest.mark.parametrize(
    ("day", "zone", "origin"),
    [
        ("2026-11-29", "Asia/Almaty", "2026-11-28T19:00:00+00:00"),
        ("2026-03-29", "Europe/Berlin", "2026-03-28T22:00:00+00:00"),  # spring forward: not local midnight
        ("2026-10-25", "Europe/Berlin", "2026-10-24T23:00:00+00:00"),  # fall back
    ],
)
def test_service_day_origin_is_noon_minus_12_hours(day: str, zone: str, origin: str) -> None:
    assert service_day_origin(dt.date.fromisoformat(day), zone).isoformat() == origin


def test_only_calendar_dates_is_a_valid_calendar() -> None:
    dates = pd.DataFrame(
        {"service_id": ["A", "B"], "date": ["20260101", "20260102"], "exception_type": [1, 1]}
    )
    assert list_active_service_ids(None, dates, dt.date(2026, 1, 2)) == {"B"}
    assert compute_service_range(None, dates) == (dt.date(2026, 1, 1), dt.date(2026, 1, 2))


def test_calendar_range_is_inclusive_and_removal_wins() -> None:
    calendar = pd.DataFrame(
        {
            "service_id": ["WK"],
            **{d: [1] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")},
            "saturday": [0],
            "sunday": [0],
            "start_date": ["20260105"],
            "end_date": ["20260109"],
        }
    )
    removed = pd.DataFrame({"service_id": ["WK"], "date": ["20260107"], "exception_type": [2]})
    assert list_active_service_ids(calendar, removed, dt.date(2026, 1, 5)) == {"WK"}
    assert list_active_service_ids(calendar, removed, dt.date(2026, 1, 9)) == {"WK"}
    assert list_active_service_ids(calendar, removed, dt.date(2026, 1, 7)) == set()
    assert list_active_service_ids(calendar, removed, dt.date(2026, 1, 10)) == set()
