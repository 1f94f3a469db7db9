"""What the data can support: service gaps inferred from a ping file, fleet reporting, the service date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.matching.health import (
    blind_shares,
    down_intervals,
    fleet_dark_timeline,
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


def dark_shares(
    day: pd.DataFrame, pings: pd.DataFrame, carriers: pd.Series, share: float = 0.5
) -> np.ndarray:
    """The fleet blind share of each trip of `day`, as scheduled."""
    timeline = fleet_dark_timeline(day, pings, carriers, min_share=share)
    return blind_shares(day, pings["timestamp"], timeline, np.zeros(len(day)))[1]


def test_a_carrier_is_dark_while_too_few_of_the_other_vehicles_its_trips_need_report() -> None:
    day = plan(*[("A", 0, 60)] * 5, ("B", 0, 60))
    minutes = np.arange(0, 60)
    early = [("a1", m) for m in minutes] + [(v, m) for v in ("a2", "a3") for m in minutes if m < 30]
    rows = early + [("b1", m) for m in minutes]
    pings = pd.DataFrame(
        {
            "vehicle_id": [v for v, _ in rows],
            "timestamp": [T0 + pd.Timedelta(minutes=int(m)) for _, m in rows],
        }
    )
    carriers = pd.Series({f"a{k}": "A" for k in range(1, 6)} | {"b1": "B"})
    shares = dark_shares(day, pings, carriers)
    # A needs 5 vehicles; the one judged may be the missing one, so half of the 4 others must report.
    # 3 report until minute 30 (not dark), then 1 (dark). a2 and a3 count as reporting for 2 minutes after
    # their last pings, and the dark spell is widened back by as much: dark from minute 30.
    assert shares[0] == pytest.approx(30 / 60, abs=1 / 60)
    assert shares[5] == 0.0  # B's one vehicle reports all along


def test_one_missing_vehicle_of_two_is_not_a_dark_fleet() -> None:
    day = plan(("A", 0, 60), ("A", 0, 60))
    rows = [("a1", m) for m in range(60)]
    pings = pd.DataFrame(
        {
            "vehicle_id": [v for v, _ in rows],
            "timestamp": [T0 + pd.Timedelta(minutes=int(m)) for _, m in rows],
        }
    )
    assert dark_shares(day, pings, pd.Series({"a1": "A", "a2": "A"}), share=2 / 3).max() == 0.0


def test_a_dark_carrier_has_no_reporting_vehicle() -> None:
    day = plan(("A", 0, 60))
    pings = pd.DataFrame({"vehicle_id": ["b1"], "timestamp": [T0 + pd.Timedelta(minutes=30)]})
    assert dark_shares(day, pings, pd.Series({"b1": "B"}))[0] == 1.0


def test_a_late_start_is_judged_over_its_shifted_span() -> None:
    day = plan(("A", 0, 20))
    pings = pd.DataFrame(
        {
            "vehicle_id": "a1",
            "timestamp": [T0 + pd.Timedelta(minutes=int(m)) for m in range(-30, 60) if m < 10],
        }
    )
    timeline = fleet_dark_timeline(day, pings, pd.Series({"a1": "A"}), min_share=0.5)
    on_time = blind_shares(day, pings["timestamp"], timeline, np.zeros(1))[1][0]
    late = blind_shares(day, pings["timestamp"], timeline, np.full(1, 600.0))[1][0]
    assert on_time == pytest.approx(0.5, abs=0.06)  # silent from minute 10 on
    assert late == pytest.approx(1.0, abs=0.06)  # 10 minutes late, its whole span runs in the silence


def test_pings_after_midnight_serve_the_previous_service_date() -> None:
    local = pd.Series(pd.to_datetime(["2026-12-01T23:50:00+05:00", "2026-12-02T00:30:00+05:00"] * 3))
    pings = pd.DataFrame({"timestamp": local.dt.tz_convert("UTC")})
    assert infer_service_date(pings, "Asia/Almaty") == dt.date(2026, 12, 1)


def test_an_empty_ping_file_cannot_give_a_date() -> None:
    with pytest.raises(BadParameter, match="--date"):
        infer_service_date(pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[ns, UTC]")}), "UTC")


def test_no_pings_at_all_is_all_down() -> None:
    assert np.array_equal(service_up_share(plan(("A", 0, 10)), stamps()), [0.0])
