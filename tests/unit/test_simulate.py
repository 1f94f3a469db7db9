"""The day simulator: cadence and geometry, each fault's effect on the pings and the truth, determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transit.gtfs.load import LoadedFeed, load_feed
from transit.synth.city import build_city
from transit.synth.write import write_city
from transit.telemetry.model import PING_FIELDS
from transit.telemetry.simulate import (
    TRUTH_COLUMNS,
    ExpectedReason,
    ExpectedVerdict,
    FaultInvalid,
    Faults,
    Happened,
    Simulation,
    TimeWindow,
    parse_window,
    simulate_day,
)

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "gtfs" / "tiny"
TUESDAY = dt.date(2026, 3, 3)  # a weekday of the synthetic city (service from 2026-03-02)
M_PER_DEG = 111_195.0


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> LoadedFeed:
    out = tmp_path_factory.mktemp("city") / "city.zip"
    write_city(build_city(6, seed=7, start_date=dt.date(2026, 3, 2)), out)
    return load_feed(out)


@pytest.fixture(scope="module")
def tiny() -> LoadedFeed:
    return load_feed(TINY)


_RUNS: dict[tuple[int, Faults, int, float], Simulation] = {}


def run(feed: LoadedFeed, seed: int = 3, interval_s: float = 10.0, **faults: object) -> Simulation:
    """simulate_day on the feed's Tuesday, cached: most tests only read the result."""
    key = (id(feed), Faults(**faults), seed, interval_s)  # type: ignore[arg-type]
    if key not in _RUNS:
        day = TUESDAY if feed.valid_from.year == 2026 and feed.valid_from.month == 3 else dt.date(2026, 1, 6)
        _RUNS[key] = simulate_day(feed, day, key[1], seed, interval_s)
    return _RUNS[key]


def trip_pings(sim: Simulation, row: pd.Series) -> pd.DataFrame:
    """The pings whose payload names the truth row's trip instance."""
    p = sim.pings
    return p[(p["trip_id"] == row["trip_id"]) & (p["start_time"] == row["start_time"])]


def metres_to_polyline(
    lat: np.ndarray, lon: np.ndarray, line_lat: np.ndarray, line_lon: np.ndarray
) -> np.ndarray:
    """Distance of each point to a polyline, on a local plane (metres)."""
    k = np.cos(np.radians(np.mean(line_lat)))
    px, py = lon * k * M_PER_DEG, lat * M_PER_DEG
    ax, ay = line_lon[:-1] * k * M_PER_DEG, line_lat[:-1] * M_PER_DEG
    dx, dy = np.diff(line_lon) * k * M_PER_DEG, np.diff(line_lat) * M_PER_DEG
    seg2 = np.maximum(dx * dx + dy * dy, 1e-9)
    t = np.clip(((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / seg2, 0, 1)
    return np.min(np.hypot(px[:, None] - ax - t * dx, py[:, None] - ay - t * dy), axis=1)


def shape_of(feed: LoadedFeed, trip_id: str) -> tuple[np.ndarray, np.ndarray]:
    shape_id = feed.feed.trips.set_index("trip_id").loc[trip_id, "shape_id"]
    shape = feed.feed.shapes[feed.feed.shapes["shape_id"] == shape_id].sort_values("shape_pt_sequence")
    return shape["shape_pt_lat"].to_numpy(float), shape["shape_pt_lon"].to_numpy(float)


def rows_with(truth: pd.DataFrame, fault: str) -> pd.DataFrame:
    return truth[truth["faults"].str.split(";").apply(lambda names: fault in names)]


# --- the shape of the output --------------------------------------------------------------------------------


def test_pings_have_exactly_the_ping_fields_with_aware_utc_timestamps(city: LoadedFeed) -> None:
    pings = run(city).pings
    assert tuple(pings.columns) == PING_FIELDS
    assert str(pings["timestamp"].dtype) == "datetime64[us, UTC]"
    assert pings["vehicle_id"].astype(str).str.fullmatch(r"bus-\d{3}").all()
    assert (pings["start_date"].dropna() == "20260303").all()


def test_truth_has_one_row_per_trip_instance_of_the_day_plan(city: LoadedFeed) -> None:
    truth = run(city).truth
    plan = city.day_plan(TUESDAY)
    assert tuple(truth.columns) == TRUTH_COLUMNS
    assert len(truth) == len(plan)
    assert list(zip(truth["trip_id"], truth["start_time"], strict=True)) == list(
        zip(plan["trip_id"], plan["start_time"], strict=True)
    )
    assert not truth.duplicated(["service_date", "trip_id", "start_time"]).any()


def test_without_faults_every_trip_ran_and_is_performed_covered(city: LoadedFeed) -> None:
    truth = run(city).truth
    assert set(truth["happened"]) == {"ran"}
    assert set(truth["expected_verdict"]) == {"performed"}
    assert set(truth["expected_reason"]) == {"covered"}
    assert (truth["coverage"] == 1.0).all()
    assert (truth["pings"] > 0).all()
    assert (truth["faults"] == "").all()


def test_truth_uses_only_the_documented_enumerations(city: LoadedFeed) -> None:
    truth = run(
        city, miss_rate=0.1, silent_rate=0.2, short_turn_rate=0.1, outage=parse_window("12:00-13:00")
    ).truth
    assert set(truth["happened"]) <= {h.value for h in Happened}
    assert set(truth["expected_verdict"]) <= {v.value for v in ExpectedVerdict}
    assert set(truth["expected_reason"]) <= {r.value for r in ExpectedReason}


def test_same_seed_gives_identical_pings_and_truth_and_another_seed_does_not(city: LoadedFeed) -> None:
    faults = Faults(miss_rate=0.1, drop_rate=0.1, swap_rate=0.2, duplicate_rate=0.05, out_of_order_rate=0.05)
    a, b = simulate_day(city, TUESDAY, faults, seed=11), simulate_day(city, TUESDAY, faults, seed=11)
    pd.testing.assert_frame_equal(a.pings, b.pings)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.pings.equals(simulate_day(city, TUESDAY, faults, seed=12).pings)


def test_switching_one_fault_on_does_not_move_what_another_fault_hits(city: LoadedFeed) -> None:
    alone = run(city, miss_rate=0.1).truth
    with_drops = run(city, miss_rate=0.1, drop_rate=0.3, detour_rate=0.2).truth
    assert list(alone["happened"] == "not_run") == list(with_drops["happened"] == "not_run")


# --- cadence and geometry --------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [10.0, 30.0])
def test_each_vehicle_pings_every_interval_while_its_tracker_is_on(city: LoadedFeed, interval: float) -> None:
    pings = run(city, interval_s=interval).pings.sort_values(["vehicle_id", "timestamp"])
    steps = pings.groupby("vehicle_id", observed=True)["timestamp"].diff().dt.total_seconds().dropna()
    assert (steps % interval == 0).all()
    assert (steps == interval).mean() > 0.99  # the rest: tracker off between far-apart trips


def test_delivery_order_is_time_order_without_delivery_faults(city: LoadedFeed) -> None:
    assert run(city).pings["timestamp"].is_monotonic_increasing


def test_trip_pings_lie_on_their_shape_within_gps_noise(city: LoadedFeed) -> None:
    sim = run(city, gps_noise_m=5.0)
    for _, row in sim.truth.sample(20, random_state=1).iterrows():
        pings = trip_pings(sim, row)
        line = shape_of(city, row["trip_id"])
        off = metres_to_polyline(pings["latitude"].to_numpy(), pings["longitude"].to_numpy(), *line)
        assert off.max() < 30.0  # 5 m per axis: 30 m is six sigma
    exact = run(city, gps_noise_m=0.0)
    row = exact.truth.iloc[100]
    pings = trip_pings(exact, row)
    line = shape_of(city, row["trip_id"])
    assert metres_to_polyline(pings["latitude"].to_numpy(), pings["longitude"].to_numpy(), *line).max() < 0.5


def test_speeds_and_jumps_between_pings_stay_plausible_with_every_fault(city: LoadedFeed) -> None:
    sim = run(
        city, gps_noise_m=0.0, miss_rate=0.1, late_start_rate=0.1, detour_rate=0.2, short_turn_rate=0.1,
        deadhead_rate=0.3, swap_rate=0.2,
    )  # fmt: skip
    p = sim.pings.sort_values(["vehicle_id", "timestamp"])
    same = p["vehicle_id"].to_numpy()[1:] == p["vehicle_id"].to_numpy()[:-1]
    k = np.cos(np.radians(54.87))
    metres = np.hypot(np.diff(p["latitude"].to_numpy()), np.diff(p["longitude"].to_numpy()) * k) * M_PER_DEG
    seconds = np.diff(p["timestamp"].to_numpy()).astype("timedelta64[s]").astype(float)
    assert (metres[same] / seconds[same]).max() < 25.0
    assert p["speed"].max() < 15.0


def test_trips_without_a_shape_run_straight_between_their_stops(tiny: LoadedFeed) -> None:
    sim = run(tiny, gps_noise_m=0.0)
    freq = sim.pings[sim.pings["trip_id"] == "R2-WK-FREQ"]
    assert len(freq) > 0
    assert np.allclose(freq["longitude"], 13.4, atol=1e-6)  # S1 (52.52, 13.40) to S4 (52.53, 13.40)
    assert freq["latitude"].between(52.52 - 1e-6, 52.53 + 1e-6).all()


def test_the_tiny_feed_chains_frequency_trips_and_runs_the_trip_past_midnight(tiny: LoadedFeed) -> None:
    sim = run(tiny)
    truth = sim.truth.set_index(["trip_id", "start_time"])
    assert len(truth) == 7 and set(truth["expected_verdict"]) == {"performed"}
    late = truth.loc[("R1-WK-2530", "25:30:00")]
    assert late["actual_start_at"] == pd.Timestamp("2026-01-07T00:30:00Z")
    assert late["vehicle_id"] == truth.loc[("R1-WK-0800", "08:00:00"), "vehicle_id"]  # block B1
    pings = sim.pings[sim.pings["trip_id"] == "R1-WK-2530"]
    assert pings["timestamp"].min() >= pd.Timestamp("2026-01-07T00:30:00Z")


def test_a_day_without_service_gives_empty_frames_with_the_columns(tiny: LoadedFeed) -> None:
    sim = simulate_day(tiny, dt.date(2027, 1, 5))
    assert tuple(sim.pings.columns) == PING_FIELDS and sim.pings.empty
    assert tuple(sim.truth.columns) == TRUTH_COLUMNS and sim.truth.empty


def test_a_gtfs_kit_feed_works_as_well_as_a_loaded_feed(tiny: LoadedFeed) -> None:
    pd.testing.assert_frame_equal(simulate_day(tiny.feed, dt.date(2026, 1, 6)).truth, run(tiny).truth)


# --- faults: trips ---------------------------------------------------------------------------------------


def test_missed_trips_send_no_pings_and_are_missed_no_vehicle_observed(city: LoadedFeed) -> None:
    sim = run(city, miss_rate=0.1)
    missed = sim.truth[sim.truth["faults"] == "miss"]
    assert 0.05 < len(missed) / len(sim.truth) < 0.15
    assert set(missed["happened"]) == {"not_run"}
    assert set(missed["expected_verdict"]) == {"missed"}
    assert set(missed["expected_reason"]) == {"no_vehicle_observed"}
    assert missed["vehicle_id"].isna().all() and (missed["pings"] == 0).all()
    for _, row in missed.iterrows():
        assert trip_pings(sim, row).empty


def test_short_turn_is_partial_with_its_covered_share_and_its_pings_stop_early(city: LoadedFeed) -> None:
    sim = run(city, short_turn_rate=0.1, gps_noise_m=0.0)
    turned = rows_with(sim.truth, "short_turn")
    assert len(turned) > 10
    assert set(turned["happened"]) == {"partial"}
    assert set(turned["expected_verdict"]) == {"partial"}
    assert set(turned["expected_reason"]) == {"short_turn"}
    assert turned["coverage"].between(0.3, 0.7).all()
    full = run(city).truth.set_index(["trip_id", "start_time"])["pings"]
    share = (
        turned["pings"].to_numpy() / full.loc[list(zip(turned["trip_id"], turned["start_time"], strict=True))]
    )
    assert np.allclose(share, turned["coverage"], atol=0.1)  # stops are short, so pings follow distance


def test_late_start_delays_the_trip_and_beyond_20_minutes_it_is_missed(city: LoadedFeed) -> None:
    sim = run(city, late_start_rate=0.1, late_start_max_min=40)
    late = rows_with(sim.truth, "late_start")
    assert len(late) > 10
    assert (late["start_delay_s"] >= 60).all()
    on_time = late[late["start_delay_s"] <= 20 * 60]
    assert set(on_time["expected_verdict"]) == {"performed"}
    too_late = late[late["start_delay_s"] > 20 * 60]
    assert len(too_late) > 0
    assert set(too_late["expected_verdict"]) == {"missed"}
    assert set(too_late["expected_reason"]) == {"started_outside_window"}
    row = late.iloc[0]
    first = trip_pings(sim, row)["timestamp"].min()
    assert row["actual_start_at"] <= first < row["actual_start_at"] + pd.Timedelta(seconds=10)
    scheduled = run(city).truth.set_index(["trip_id", "start_time"]).loc[(row["trip_id"], row["start_time"])]
    assert row["actual_start_at"] - scheduled["actual_start_at"] == pd.Timedelta(
        seconds=int(row["start_delay_s"])
    )


def test_detour_takes_pings_hundreds_of_metres_off_the_shape_and_the_trip_stays_performed(
    city: LoadedFeed,
) -> None:
    sim = run(city, detour_rate=0.2, gps_noise_m=0.0)
    detoured = rows_with(sim.truth, "detour")
    assert len(detoured) > 10
    assert set(detoured["expected_verdict"]) == {"performed"}
    assert detoured["coverage"].between(0.9, 0.99).all()
    row = detoured.iloc[0]
    pings = trip_pings(sim, row)
    off = metres_to_polyline(
        pings["latitude"].to_numpy(), pings["longitude"].to_numpy(), *shape_of(city, row["trip_id"])
    )
    assert 150 < off.max() < 450


def test_wrong_trip_id_pings_name_another_trip_of_the_route(city: LoadedFeed) -> None:
    sim = run(city, wrong_trip_id_rate=0.05)
    wrong = rows_with(sim.truth, "wrong_trip_id")
    assert len(wrong) > 5
    assert set(wrong["expected_verdict"]) == {"performed"}  # judged by position, not by the id
    row = wrong.iloc[0]
    plain = run(city)
    honest = plain.pings[
        (plain.pings["trip_id"] == row["trip_id"]) & (plain.pings["start_time"] == row["start_time"])
    ]
    during = sim.pings[
        (sim.pings["vehicle_id"] == row["vehicle_id"]) & sim.pings["timestamp"].isin(honest["timestamp"])
    ]
    assert len(during) == len(honest)
    named = set(zip(during["trip_id"], during["start_time"], strict=True))
    assert len(named) == 1 and named != {(row["trip_id"], row["start_time"])}
    assert set(during["route_id"]) == {row["route_id"]}


# --- faults: vehicles ------------------------------------------------------------------------------------


def test_silent_tracker_sends_nothing_and_its_dark_trips_are_missed_no_vehicle_observed(
    city: LoadedFeed,
) -> None:
    sim = run(city, silent_rate=0.3)
    dark = sim.truth[sim.truth["happened"] == "ran_dark"]
    assert len(dark) > 5
    assert set(dark["expected_verdict"]) == {"missed"}
    assert set(dark["expected_reason"]) == {"no_vehicle_observed"}
    assert (dark["pings"] == 0).all() and dark["vehicle_id"].notna().all()
    assert dark["faults"].str.contains("silent").all()
    for _, row in dark.head(5).iterrows():
        assert trip_pings(sim, row).empty


def test_swap_continues_the_block_with_another_vehicle(city: LoadedFeed) -> None:
    sim = run(city, swap_rate=0.5)
    swapped = rows_with(sim.truth, "swap")
    assert len(swapped) > 10
    assert set(swapped["expected_verdict"]) == {"performed"}
    block = swapped["block_id"].dropna().iloc[0]
    runs = sim.truth[sim.truth["block_id"] == block].sort_values("actual_start_at")
    ids = runs["vehicle_id"].tolist()
    first_spare = ids.index(swapped[swapped["block_id"] == block]["vehicle_id"].iloc[0])
    assert first_spare > 0 and len(set(ids[:first_spare])) == 1 and len(set(ids[first_spare:])) == 1
    old, new = ids[0], ids[-1]
    last_old = sim.pings[sim.pings["vehicle_id"] == old]["timestamp"].max()
    assert sim.pings[sim.pings["vehicle_id"] == new]["timestamp"].min() >= last_old


def test_vehicles_without_ids_send_no_trip_or_route_ids(city: LoadedFeed) -> None:
    sim = run(city, no_ids_rate=0.3)
    quiet = rows_with(sim.truth, "no_ids")
    assert len(quiet) > 10
    assert set(quiet["expected_verdict"]) == {"performed"}
    mine = sim.pings[sim.pings["vehicle_id"].isin(set(quiet["vehicle_id"]))]
    assert mine[["trip_id", "route_id", "start_date", "start_time"]].isna().all().all()
    assert mine["carrier_id"].notna().all()


def test_deadheads_run_without_trip_id_along_another_route(city: LoadedFeed) -> None:
    sim = run(city, deadhead_rate=1.0, gps_noise_m=0.0)
    after = rows_with(sim.truth, "deadhead")
    assert len(after) > 10
    assert set(sim.truth["expected_verdict"]) == {"performed"}
    plain = run(city, gps_noise_m=0.0)
    moving_empty = sim.pings[sim.pings["trip_id"].isna() & (sim.pings["speed"] > 7)]
    assert (
        len(moving_empty) > len(plain.pings[plain.pings["trip_id"].isna() & (plain.pings["speed"] > 7)]) + 100
    )


# --- faults: delivery ------------------------------------------------------------------------------------


def test_drop_rate_loses_that_share_of_pings_at_random(city: LoadedFeed) -> None:
    full, dropped = len(run(city).pings), len(run(city, drop_rate=0.2).pings)
    assert 0.78 < dropped / full < 0.82
    assert set(run(city, drop_rate=0.2).truth["expected_verdict"]) == {"performed"}


def test_duplicates_repeat_pings_exactly(city: LoadedFeed) -> None:
    pings = run(city, duplicate_rate=0.05).pings
    copies = pings.duplicated(keep=False)
    assert 0.08 < copies.mean() < 0.11
    assert len(pings.drop_duplicates()) == len(run(city).pings)


def test_out_of_order_pings_arrive_after_later_pings_of_their_vehicle(city: LoadedFeed) -> None:
    pings = run(city, out_of_order_rate=0.1).pings
    later = pings.groupby("vehicle_id", observed=True)["timestamp"].diff().dt.total_seconds() < 0
    assert 0.05 < later.mean() < 0.15
    assert len(pings) == len(run(city).pings)


def test_outage_silences_everyone_and_trips_it_hides_are_no_data_service_gap(city: LoadedFeed) -> None:
    sim = run(city, outage=parse_window("12:00-13:00"))
    local = sim.pings["timestamp"].dt.tz_convert("Asia/Almaty")
    assert not ((local.dt.hour == 12) & (local.dt.date == TUESDAY)).any()
    hit = rows_with(sim.truth, "outage")
    inside = hit[(hit["start_time"] >= "12:00:00") & (hit["start_time"] < "12:30:00")]
    assert len(inside) > 5
    assert set(inside["expected_verdict"]) == {"no_data"}
    assert set(inside["expected_reason"]) == {"service_gap"}
    assert set(inside["happened"]) == {"ran"}
    assert set(sim.truth.loc[~sim.truth.index.isin(hit.index), "expected_verdict"]) == {"performed"}


def test_dark_carrier_sends_nothing_in_its_window_and_its_trips_are_carrier_fleet_dark(
    city: LoadedFeed,
) -> None:
    carrier = str(city.day_plan(TUESDAY)["carrier_id"].iloc[0])
    sim = run(city, dark_carrier=carrier, dark_window=parse_window("08:00-09:00"))
    local = sim.pings["timestamp"].dt.tz_convert("Asia/Almaty")
    assert not ((sim.pings["carrier_id"] == carrier) & (local.dt.hour == 8)).any()
    assert ((sim.pings["carrier_id"] != carrier) & (local.dt.hour == 8)).any()
    hit = rows_with(sim.truth, "dark_carrier")
    inside = hit[(hit["start_time"] >= "08:00:00") & (hit["start_time"] < "08:30:00")]
    assert len(inside) > 3 and set(inside["carrier_id"]) == {carrier}
    assert set(inside["expected_verdict"]) == {"no_data"}
    assert set(inside["expected_reason"]) == {"carrier_fleet_dark"}
    assert set(inside["happened"]) == {"ran_dark"}


@pytest.mark.parametrize("outage", ["12:00-12:40", "12:00-12:04"])
def test_truth_coverage_matches_the_coverage_of_the_delivered_pings(city: LoadedFeed, outage: str) -> None:
    """Path between consecutive pings up to 6 minutes apart counts (a short outage is bridged)."""
    sim = run(
        city,
        gps_noise_m=0.0,
        silent_rate=0.3,
        short_turn_rate=0.2,
        drop_rate=0.3,
        outage=parse_window(outage),
    )
    hit = rows_with(sim.truth, "outage")
    for _, row in pd.concat([sim.truth.sample(30, random_state=4), hit.head(10)]).iterrows():
        pings = trip_pings(sim, row).sort_values("timestamp")
        lat, lon = shape_of(city, row["trip_id"])
        metres = np.r_[
            0, np.cumsum(np.hypot(np.diff(lat), np.diff(lon) * np.cos(np.radians(54.87))) * M_PER_DEG)
        ]
        along = _along(pings, lat, lon, metres)
        steps = np.diff(along)
        gaps = np.diff(pings["timestamp"].to_numpy()).astype("timedelta64[s]").astype(float)
        covered = steps[(gaps <= 360) & (steps >= 0)].sum() / metres[-1]
        assert covered == pytest.approx(row["coverage"], abs=0.05)


def _along(pings: pd.DataFrame, lat: np.ndarray, lon: np.ndarray, metres: np.ndarray) -> np.ndarray:
    """Metres along the polyline of each ping's nearest vertex-interpolated point (fine for on-path pings)."""
    dense = np.linspace(0, metres[-1], int(metres[-1]))
    d_lat, d_lon = np.interp(dense, metres, lat), np.interp(dense, metres, lon)
    k = np.cos(np.radians(54.87))
    plat, plon = pings["latitude"].to_numpy(), pings["longitude"].to_numpy()
    nearest = np.argmin(np.hypot(plat[:, None] - d_lat, (plon[:, None] - d_lon) * k), axis=1)
    return dense[nearest]


@pytest.mark.slow
def test_a_real_feed_runs_on_its_shapes_at_timetable_speeds(cairns_feed: Path) -> None:
    """Cairns: shapes that pass a street twice and times rounded to the minute (stops reached in no time)."""
    feed = load_feed(cairns_feed)
    sim = simulate_day(feed, dt.date(2014, 5, 27), Faults(gps_noise_m=0.0), seed=1)
    assert len(sim.truth) == len(feed.day_plan(dt.date(2014, 5, 27)))
    assert set(sim.truth["expected_verdict"]) == {"performed"}
    p = sim.pings.sort_values(["vehicle_id", "timestamp"])
    same = p["vehicle_id"].to_numpy()[1:] == p["vehicle_id"].to_numpy()[:-1]
    k = np.cos(np.radians(-16.9))
    metres = np.hypot(np.diff(p["latitude"].to_numpy()), np.diff(p["longitude"].to_numpy()) * k) * M_PER_DEG
    assert np.percentile(metres[same], 99.9) < 300  # 10 s apart: no jumps of a stretch reached in no time
    for _, row in sim.truth.sample(15, random_state=2).iterrows():
        pings = trip_pings(sim, row)
        line = shape_of(feed, row["trip_id"])
        assert (
            metres_to_polyline(pings["latitude"].to_numpy(), pings["longitude"].to_numpy(), *line).max() < 1
        )


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("miss_rate", 1.5), ("drop_rate", -0.1), ("swap_rate", float("nan")), ("gps_noise_m", -1.0)],
)
def test_faults_out_of_range_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(FaultInvalid) as error:
        Faults(**{field: value})  # type: ignore[arg-type]
    assert error.value.field == field


def test_windows_parse_local_times_past_midnight_and_refuse_nonsense() -> None:
    assert parse_window("07:00-10:00") == TimeWindow(7 * 3600, 10 * 3600)
    assert parse_window("23:30-25:15:30") == TimeWindow(23 * 3600 + 1800, 25 * 3600 + 930)
    for text in ("10:00-09:00", "7-10", "07:00", "07:61-08:00"):
        with pytest.raises(FaultInvalid):
            parse_window(text, "outage")


def test_a_dark_carrier_that_the_feed_does_not_have_is_refused(city: LoadedFeed) -> None:
    with pytest.raises(FaultInvalid) as error:
        simulate_day(city, TUESDAY, Faults(dark_carrier="NOPE"))
    assert error.value.field == "dark_carrier"


def test_a_dark_window_without_a_dark_carrier_is_refused() -> None:
    with pytest.raises(FaultInvalid):
        Faults(dark_window=parse_window("07:00-08:00"))
