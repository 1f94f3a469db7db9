"""Matcher v1: forward coverage along a trip's path, and which vehicle ran which trip instance of a day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.test_matching_paths import make_feed, to_lat_lon
from transit.gtfs.load import LoadedFeed, load_feed
from transit.matching.assign import MATCH_COLUMNS, match_day
from transit.matching.coverage import merge_intervals
from transit.matching.paths import PathIndex, build_paths
from transit.synth.city import build_city
from transit.synth.write import write_city
from transit.telemetry.simulate import Faults, Simulation, simulate_day

TUESDAY = dt.date(2026, 3, 3)
START = pd.Timestamp("2026-03-03 08:00:00", tz="UTC")

# --- a hand-made street: A (x=0) to B (x=1000) ------------------------------------------------------------


@pytest.fixture(scope="module")
def street() -> PathIndex:
    stops = {"A": (0, 5), "M": (500, 5), "B": (1000, 5)}
    shapes = {
        "out": [(0, 0), (1000, 0)],
        "back": [(1000, 0), (0, 0)],
        "out_and_back": [(0, 0), (1000, 0), (0, 0)],
    }
    trips = {
        "out": ("out", ["A", "M", "B"]),
        "back": ("back", ["B", "M", "A"]),
        "round": ("out_and_back", ["A", "B", "A"]),
    }
    return build_paths(make_feed(stops, shapes, trips))


def plan_of(*trips: tuple[str, int, int]) -> pd.DataFrame:
    """Day-plan rows for (trip_id, start and end in seconds after START)."""
    return pd.DataFrame(
        {
            "service_date": "2026-03-03",
            "trip_id": [t for t, _, _ in trips],
            "start_time": [f"09:{s // 60:02d}:00" for _, s, _ in trips],
            "start_at": [START + pd.Timedelta(seconds=s) for _, s, _ in trips],
            "end_at": [START + pd.Timedelta(seconds=e) for _, _, e in trips],
        }
    )


def drive(
    xs: np.ndarray, vehicle_id: str = "v1", start_s: int = 0, trip_id: str | None = None
) -> pd.DataFrame:
    """One ping every 10 s at the given x positions along the street (y = 3 m)."""
    lat, lon = np.transpose([to_lat_lon(float(x), 3.0) for x in xs])
    return pd.DataFrame(
        {
            "vehicle_id": vehicle_id,
            "timestamp": START + pd.to_timedelta(start_s + 10 * np.arange(len(xs)), unit="s"),
            "latitude": lat,
            "longitude": lon,
            "trip_id": trip_id,
            "start_time": None,
        }
    )


OUT = np.r_[np.zeros(6), np.linspace(0, 1000, 21), np.full(6, 1000.0)]  # stand, 50 m per ping, stand
BACK = OUT[::-1]


def test_a_vehicle_driving_back_runs_the_back_trip_not_the_way_out(street: PathIndex) -> None:
    result = match_day(street, plan_of(("out", 0, 200), ("back", 0, 200)), drive(BACK))
    assert list(result.columns) == list(MATCH_COLUMNS)
    assert result["trip_id"].tolist() == ["back"]
    row = result.iloc[0]
    assert row["coverage"] >= 0.99
    assert (row["vehicle_ids"], row["stops_reached"], row["stops_total"]) == ("v1", 3, 3)
    assert 60 <= row["start_delay_s"] <= 70  # it left the first stop (x = 1000) after standing a minute


def test_the_way_back_of_an_out_and_back_trip_does_not_count_for_the_way_out(street: PathIndex) -> None:
    plan = plan_of(("round", 0, 400))
    whole = match_day(street, plan, drive(np.r_[OUT, BACK]))
    assert whole["coverage"].iloc[0] >= 0.99
    back_only = match_day(street, plan, drive(BACK))
    assert back_only.empty or back_only["coverage"].iloc[0] <= 0.55
    teleported = match_day(street, plan, drive(np.r_[np.zeros(6), BACK]))
    assert teleported.empty or teleported["coverage"].iloc[0] <= 0.55
    out_only = match_day(street, plan, drive(OUT))
    assert 0.45 <= out_only["coverage"].iloc[0] <= 0.6
    assert out_only["lost_distance_m"].iloc[0] == pytest.approx(2000 * (1 - out_only["coverage"].iloc[0]))


def test_out_of_order_and_duplicate_pings_give_the_same_result(street: PathIndex) -> None:
    plan = plan_of(("out", 0, 200), ("back", 0, 200))
    pings = drive(OUT)
    shuffled = pd.concat([pings, pings.iloc[::3]]).sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(match_day(street, plan, shuffled), match_day(street, plan, pings))


def test_pings_more_than_six_minutes_apart_cover_nothing_between_them(street: PathIndex) -> None:
    pings = drive(np.r_[np.zeros(3), np.linspace(0, 300, 13), np.linspace(700, 1000, 13), np.full(3, 1000.0)])
    pings.loc[16:, "timestamp"] += pd.Timedelta(minutes=7)
    result = match_day(street, plan_of(("out", 0, 900)), pings)
    assert 0.55 <= result["coverage"].iloc[0] <= 0.7  # 0-300 m and 700-1000 m, not the 400 m between


def test_a_trip_id_that_the_geometry_contradicts_is_ignored(street: PathIndex) -> None:
    plan = plan_of(("out", 0, 200), ("back", 0, 200))
    result = match_day(street, plan, drive(BACK, trip_id="out"))
    assert result["trip_id"].tolist() == ["back"]


def test_each_vehicle_runs_one_trip_at_a_time_and_each_trip_has_its_vehicle(street: PathIndex) -> None:
    plan = plan_of(("out", 0, 200), ("back", 60, 260))
    pings = pd.concat([drive(OUT, "v1"), drive(BACK, "v2", start_s=60)])
    result = match_day(street, plan, pings)
    assert result[["trip_id", "vehicle_ids"]].values.tolist() == [["out", "v1"], ["back", "v2"]]


def test_no_pings_or_no_trips_give_an_empty_result_with_all_columns(street: PathIndex) -> None:
    plan = plan_of(("out", 0, 200))
    for result in (
        match_day(street, plan, drive(OUT).iloc[:0]),
        match_day(street, plan.iloc[:0], drive(OUT)),
    ):
        assert result.empty
        assert list(result.columns) == list(MATCH_COLUMNS)


def test_intervals_merge_into_their_union_within_each_pair() -> None:
    group = np.array([1, 0, 0, 1, 0])
    intervals = np.array([[5.0, 7.0], [0.0, 2.0], [1.0, 3.0], [7.0, 8.0], [2.5, 4.0]])
    owner, merged = merge_intervals(group, intervals)
    assert owner.tolist() == [0, 1]
    np.testing.assert_allclose(merged, [[0, 4], [5, 8]])


# --- simulator output of a small synthetic city ------------------------------------------------------------


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedFeed, PathIndex, pd.DataFrame]:
    out = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(4, seed=7, start_date=dt.date(2026, 3, 2)), out)
    feed = load_feed(Path(out))
    return feed, build_paths(feed.feed), feed.day_plan(TUESDAY)


def matched_truth(
    city: tuple[LoadedFeed, PathIndex, pd.DataFrame], faults: Faults, use_trip_ids: bool = True
) -> pd.DataFrame:
    """The truth of a simulated day, with the matcher's vehicle and coverage beside it (0 if unmatched)."""
    feed, paths, plan = city
    sim: Simulation = simulate_day(feed, TUESDAY, faults, seed=5)
    result = match_day(paths, plan, sim.pings, use_trip_ids=use_trip_ids)
    assert not result.duplicated(["trip_id", "start_time"]).any()
    truth = sim.truth.merge(result, on=["trip_id", "start_time"], how="left", suffixes=("", "_matched"))
    truth["matched"] = truth["coverage_matched"].fillna(0.0)
    return truth


def test_without_faults_every_trip_that_ran_is_covered_by_its_bus(
    city: tuple[LoadedFeed, PathIndex, pd.DataFrame],
) -> None:
    truth = matched_truth(city, Faults())
    ran = truth[truth["happened"] == "ran"]
    assert len(ran) == len(truth)
    assert (ran["matched"] >= 0.8).all()
    assert (ran["vehicle_ids"] == ran["vehicle_id"].astype(str)).mean() >= 0.99
    assert (ran["matched"] - ran["coverage"]).abs().max() <= 0.05


def test_with_faults_and_no_trip_ids_ran_trips_stay_covered_and_missed_ones_do_not(
    city: tuple[LoadedFeed, PathIndex, pd.DataFrame],
) -> None:
    faults = Faults(miss_rate=0.1, drop_rate=0.2, gps_noise_m=30, no_ids_rate=1.0)
    truth = matched_truth(city, faults, use_trip_ids=False)
    ran = truth[truth["happened"] == "ran"]
    not_run = truth[truth["happened"] == "not_run"]
    assert len(not_run) > 20
    assert (ran["matched"] >= 0.8).mean() >= 0.99
    assert (not_run["matched"] < 0.2).all()


def test_wrong_trip_ids_do_not_move_coverage_to_the_wrong_trip(
    city: tuple[LoadedFeed, PathIndex, pd.DataFrame],
) -> None:
    truth = matched_truth(city, Faults(wrong_trip_id_rate=0.2))
    wrong = truth[truth["faults"].str.contains("wrong_trip_id")]
    assert len(wrong) > 50
    assert (wrong["matched"] >= 0.8).all()
    assert (wrong["vehicle_ids"] == wrong["vehicle_id"].astype(str)).mean() >= 0.99
    assert (truth["matched"] >= 0.8).mean() >= 0.99


def test_a_feed_without_blocks_has_its_routes_trips_chained_first_in_first_out() -> None:
    from transit.matching.assign import _chains, _prepare_plan, _terminals

    # Two buses shuttle A -> B -> A; each trip is followed by the earliest one not yet taken that leaves
    # where it ended, at least 2 minutes after: o1 -> b1 -> o3 -> b3 (an hour's wait at B), o2 -> b2 -> o4.
    # o5 leaves A 1 minute after b3 arrives there: too soon for that bus, so o5 starts a chain of its own.
    stops = {"A": (0, 5), "B": (1000, 5)}
    shapes = {"out": [(0, 0), (1000, 0)], "back": [(1000, 0), (0, 0)]}
    trips = {name: ("out", ["A", "B"]) for name in ("o1", "o2", "o3", "o4", "o5")}
    trips |= {name: ("back", ["B", "A"]) for name in ("b1", "b2", "b3")}
    paths = build_paths(make_feed(stops, shapes, trips))
    plan = plan_of(
        ("o1", 0, 600), ("o2", 300, 900), ("b1", 760, 1360), ("b2", 1030, 1630), ("o3", 1500, 2100),
        ("o4", 5700, 6300), ("b3", 7000, 7600), ("o5", 7660, 8200),
    ).assign(route_id="1")  # fmt: skip
    day = _prepare_plan(paths, plan)
    chain = _chains(plan, day, _terminals(paths, day))
    assert chain[0] == chain[2] == chain[4] == chain[6]
    assert chain[1] == chain[3] == chain[5]
    assert len({chain[0], chain[1], chain[7]}) == 3
    with_blocks = plan.assign(block_id=["k1", "k2", "k1", "k2", "k1", "k2", "k3", "k4"])
    assert (_chains(with_blocks, day, _terminals(paths, day)) == -1).all()  # the feed's own blocks serve
