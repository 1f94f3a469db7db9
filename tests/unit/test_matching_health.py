"""What the data can support: service gaps inferred from a ping file, fleet reporting, the service date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.matching.health import (
    down_intervals,
    fleet_reporting_share,
    infer_service_date,
    service_up_share,
)

T0 = pd.Timestamp("2026-12-01T02:00:00Z")  # 07:00 in Asia/Almaty


def stamps(*minutes: float) -> pd.Series:
    return pd.Series([T0 + pd.Timedelta(minutes=m) for m in minutes])


def plan(*trips: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier_id": [t[0] for t in trips],
            "start_at": [T0 + pd.Timedelta(minutes=t[1]) for t in trips],
            "end_at": [T0 + pd.Timedelta(minutes=t[2]) for t in trips],
        }
    )


def test_a_silence_longer_than_ten_minutes_is_a_service_gap() -> None:
    lows, highs = down_intervals(stamps(0, 5, 9, 30, 31))
    assert list(zip(lows, highs, strict=True)) == [
        ((T0 + pd.Timedelta(minutes=9)).value, (T0 + pd.Timedelta(minutes=30)).value)
    ]


def test_service_up_share_counts_the_gap_and_the_time_outside_the_file() -> None:
    day = plan(("A", 0, 10), ("A", 10, 30), ("A", 40, 60))
    shares = service_up_share(day, stamps(0, 5, 9, 30, 31, 40, 45, 50))
    assert shares[0] == pytest.approx(0.9)  # silent from the ping at 9 to the next at 30
    assert shares[1] == pytest.approx(0.0)
    assert shares[2] == pytest.approx(10 / 20)  # the file ends at 50: 50-60 was not received


def test_fleet_share_is_reporting_vehicles_over_running_trips_of_that_carrier() -> None:
    day = plan(("A", 0, 60), ("A", 0, 60), ("B", 0, 60))
    pings = pd.DataFrame({"vehicle_id": ["a1", "b1"], "timestamp": [T0 + pd.Timedelta(minutes=30)] * 2})
    carriers = pd.Series({"a1": "A", "a2": "A", "b1": "B"})
    shares = fleet_reporting_share(day, pings, carriers, samples=1)  # one sample: the trip's start
    assert list(shares[:, 0]) == [0.0, 0.0, 0.0]  # nobody reported within 10 min of 0
    middle = fleet_reporting_share(day, pings, carriers, samples=3)[:, 1]  # at 30 min
    assert list(middle) == [0.5, 0.5, 1.0]


def test_a_dark_carrier_has_no_reporting_vehicle() -> None:
    day = plan(("A", 0, 60))
    pings = pd.DataFrame({"vehicle_id": ["b1"], "timestamp": [T0 + pd.Timedelta(minutes=30)]})
    assert fleet_reporting_share(day, pings, pd.Series({"b1": "B"})).max() == 0.0


def test_pings_after_midnight_serve_the_previous_service_date() -> None:
    local = pd.Series(pd.to_datetime(["2026-12-01T23:50:00+05:00", "2026-12-02T00:30:00+05:00"] * 3))
    pings = pd.DataFrame({"timestamp": local.dt.tz_convert("UTC")})
    assert infer_service_date(pings, "Asia/Almaty") == dt.date(2026, 12, 1)


def test_an_empty_ping_file_cannot_give_a_date() -> None:
    with pytest.raises(BadParameter, match="--date"):
        infer_service_date(pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[ns, UTC]")}), "UTC")


def test_no_pings_at_all_is_all_down() -> None:
    assert np.array_equal(service_up_share(plan(("A", 0, 10)), stamps()), [0.0])
