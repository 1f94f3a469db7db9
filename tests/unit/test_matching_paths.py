"""Paths in local metres, projection onto them (free and forward-only), and stop placement along them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path as FilePath

import numpy as np
import pandas as pd
import pytest

from transit.gtfs.geo import EARTH_RADIUS_M, haversine_m, path_lengths_m
from transit.matching.paths import PathIndex, build_paths
from transit.matching.projection import Path, fold_m, project_forward, project_onto_path, to_local_xy

ORIGIN = (45.0, 10.0)


def polyline(*points: tuple[float, float]) -> Path:
    """A path in plane metres whose distance along is the planar one."""
    xy = np.array(points, dtype=float)
    steps = np.hypot(*np.diff(xy, axis=0).T)
    return Path(xy[:, 0], xy[:, 1], np.r_[0.0, np.cumsum(steps)])


def project(path: Path, *points: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array(points, dtype=float)
    return project_onto_path(xy[:, 0], xy[:, 1], path)


def forward(path: Path, min_along_m: float, *points: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array(points, dtype=float)
    return project_forward(xy[:, 0], xy[:, 1], path, np.full(len(xy), min_along_m))


def to_lat_lon(x_m: float, y_m: float) -> tuple[float, float]:
    """The point x_m east and y_m north of ORIGIN (inverse of to_local_xy)."""
    lat = ORIGIN[0] + np.degrees(y_m / EARTH_RADIUS_M)
    lon = ORIGIN[1] + np.degrees(x_m / (EARTH_RADIUS_M * np.cos(np.radians(ORIGIN[0]))))
    return float(lat), float(lon)


# --- projection --------------------------------------------------------------------------------------------


def test_points_project_onto_a_straight_line_and_clip_at_its_ends() -> None:
    along, offset = project(polyline((0, 0), (1000, 0)), (250, 10), (600, -7), (-50, 0), (1100, 0))
    np.testing.assert_allclose(along, [250, 600, 0, 1000])
    np.testing.assert_allclose(offset, [10, 7, 50, 100])


def test_points_project_onto_the_nearest_leg_of_an_l_shape() -> None:
    path = polyline((0, 0), (100, 0), (100, 100))
    along, offset = project(path, (110, 50), (90, -10), (110, -10), (50, 5))
    np.testing.assert_allclose(along, [150, 90, 100, 50])
    np.testing.assert_allclose(offset, [10, 10, np.hypot(10, 10), 5])


def test_the_meeting_point_of_a_loop_is_its_start_unless_the_vehicle_is_near_the_end() -> None:
    loop = polyline((0, 0), (100, 0), (100, 100), (0, 100), (0, 0))
    along, offset = project(loop, (1, -2), (-5, 50))
    np.testing.assert_allclose(along, [1, 350])
    np.testing.assert_allclose(offset, [2, 5])
    along, offset = forward(loop, 380.0, (1, -2))
    np.testing.assert_allclose(along, [400])
    np.testing.assert_allclose(offset, [np.hypot(1, 2)])


def test_a_point_on_an_out_and_back_street_goes_to_the_way_out_without_progress() -> None:
    street = polyline((0, 0), (1000, 0), (0, 0))
    along, offset = project(street, (300, 3), (1000, 0))
    np.testing.assert_allclose(along, [300, 1000])
    np.testing.assert_allclose(offset, [3, 0])


def test_the_fold_of_a_path_is_short_when_it_never_comes_back_and_its_length_when_it_does() -> None:
    straight = polyline((0, 0), (2000, 0))
    l_shape = polyline((0, 0), (1000, 0), (1000, 1000))
    out_and_back = polyline((0, 0), (1000, 0), (0, 0))
    hairpin = polyline((0, 0), (1000, 0), (1000, 80), (0, 80))
    assert 120 <= fold_m(straight, 120.0) <= 240  # the distance itself, plus the sampling step
    assert 120 * np.sqrt(2) <= fold_m(l_shape, 120.0) <= (120 + 60) * np.sqrt(2) + 60  # across the corner
    assert fold_m(out_and_back, 120.0) >= 2000
    assert fold_m(hairpin, 120.0) >= 2080  # the two legs run 80 m apart


def test_a_point_on_the_way_back_is_not_matched_to_the_way_out() -> None:
    street = polyline((0, 0), (1000, 0), (0, 0))
    along, _ = forward(street, 1100.0, (300, 3), (900, -3))
    np.testing.assert_allclose(along, [1700, 1100])


def test_forward_matching_tolerates_50_m_of_noise_backwards_but_not_more() -> None:
    street = polyline((0, 0), (1000, 0))
    along, offset = forward(street, 540.0, (500, 0), (520, 0))
    np.testing.assert_allclose(along, [500, 520])
    np.testing.assert_allclose(offset, [0, 0])
    along, offset = forward(street, 600.0, (500, 0))
    np.testing.assert_allclose(along, [550])
    np.testing.assert_allclose(offset, [50])


def test_forward_matching_keeps_to_the_pass_it_is_on_when_the_next_pass_is_barely_nearer() -> None:
    street = polyline((0, 0), (1000, 0), (1000, 8), (0, 8))  # back along the other side of the street
    along, offset = project(street, (300, 5))
    np.testing.assert_allclose([along[0], offset[0]], [1708, 3])
    along, offset = forward(street, 250.0, (300, 5))
    np.testing.assert_allclose([along[0], offset[0]], [300, 5])


def test_forward_matching_looks_no_further_ahead_than_asked() -> None:
    street = polyline((0, 0), (1000, 0), (0, 0))
    xy = np.array([[300.0, 0.0]])
    along, offset = project_forward(xy[:, 0], xy[:, 1], street, np.array([0.0]), max_ahead_m=200.0)
    np.testing.assert_allclose([along[0], offset[0]], [200, 100])


def test_a_path_of_one_vertex_projects_onto_that_vertex() -> None:
    along, offset = project(polyline((5, 5)), (8, 9))
    np.testing.assert_allclose([along[0], offset[0]], [0, 5])


def test_many_points_on_a_long_path_are_projected_in_chunks() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(0, 10_000, 1001)
    path = polyline(*zip(x, np.where(np.arange(1001) % 2, 10.0, 0.0), strict=True))
    px = rng.uniform(0, 10_000, 2500)
    along, offset = project_onto_path(px, np.full(2500, 5.0), path)
    assert np.abs(along - np.interp(px, path.x, path.cum_m)).max() < 15
    assert offset.max() <= 5.0


# --- building paths from a feed ----------------------------------------------------------------------------


@dataclass
class Tables:
    """The tables build_paths reads; the others are there for ScheduleTables."""

    trips: pd.DataFrame
    stop_times: pd.DataFrame
    stops: pd.DataFrame
    shapes: pd.DataFrame | None
    agency: pd.DataFrame | None = None
    routes: pd.DataFrame | None = None
    calendar: pd.DataFrame | None = None
    calendar_dates: pd.DataFrame | None = None
    frequencies: pd.DataFrame | None = None


def make_feed(
    stops_xy: dict[str, tuple[float, float]],
    shapes_xy: dict[str, list[tuple[float, float]]],
    trips: dict[str, tuple[str | None, list[str]]],
) -> Tables:
    """A feed from plane metres around ORIGIN: stops, shapes, and trips as (shape_id, stop_ids)."""
    stops = pd.DataFrame(
        [(stop_id, *to_lat_lon(*xy)) for stop_id, xy in stops_xy.items()],
        columns=["stop_id", "stop_lat", "stop_lon"],
    )
    shapes = pd.DataFrame(
        [
            (shape_id, *to_lat_lon(*xy), sequence)
            for shape_id, points in shapes_xy.items()
            for sequence, xy in enumerate(points, start=1)
        ],
        columns=["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"],
    )
    trip_rows = pd.DataFrame(
        [(trip_id, shape_id) for trip_id, (shape_id, _) in trips.items()], columns=["trip_id", "shape_id"]
    )
    stop_times = pd.DataFrame(
        [
            (trip_id, stop_id, 10 * (k + 1))
            for trip_id, (_, stop_ids) in trips.items()
            for k, stop_id in enumerate(stop_ids)
        ],
        columns=["trip_id", "stop_id", "stop_sequence"],
    )
    return Tables(trip_rows, stop_times.iloc[::-1], stops, shapes if len(shapes) else None)


def stop_distances(index: PathIndex, trip_id: str) -> np.ndarray:
    return index.trip_stop_dist_m(int(index.trip_positions(np.array([trip_id], dtype=object))[0]))


def path_of(index: PathIndex, trip_id: str) -> int:
    return int(index.trip_path[index.trip_positions(np.array([trip_id], dtype=object))[0]])


def test_stops_on_a_loop_are_placed_in_order_and_the_last_stop_at_the_end() -> None:
    square = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)]
    stops = {"A": (0, 20), "B": (500, -15), "C": (1015, 500), "D": (500, 1010), "E": (-20, 500)}
    feed = make_feed(stops, {"L": square}, {"t1": ("L", ["A", "B", "C", "D", "E", "A"])})
    index = build_paths(feed)
    np.testing.assert_allclose(stop_distances(index, "t1"), [0, 500, 1500, 2500, 3500, 4000], atol=25)
    assert index.shape_id[path_of(index, "t1")] == "L"


def test_stops_on_an_out_and_back_street_are_placed_on_the_way_out_then_back() -> None:
    street = [(0, 0), (500, 0), (1000, 0), (500, 0), (0, 0)]
    stops = {"A": (0, 10), "B": (500, 10), "C": (1000, 10)}
    feed = make_feed(stops, {"S": street}, {"t1": ("S", ["A", "B", "C", "B", "A"])})
    np.testing.assert_allclose(stop_distances(build_paths(feed), "t1"), [0, 500, 1000, 1500, 2000], atol=2)


def test_trips_without_a_usable_shape_share_a_stop_chain_per_stop_sequence() -> None:
    stops = {"A": (0, 0), "B": (300, 400), "C": (300, 900), "Z": (5000, 5000)}
    feed = make_feed(
        stops,
        {"far": [(2000, 0), (3000, 0)]},
        {
            "none": (None, ["A", "B", "C"]),
            "unknown": ("nope", ["A", "B", "C"]),
            "far": ("far", ["A", "B", "C"]),
            "other": (None, ["C", "B", "A", "Z"]),
        },
    )
    index = build_paths(feed)
    chain = path_of(index, "none")
    assert index.shape_id[chain] is None
    assert path_of(index, "unknown") == chain == path_of(index, "far")
    assert path_of(index, "other") != chain
    np.testing.assert_allclose(stop_distances(index, "none"), [0, 500, 1000], rtol=2e-3)
    np.testing.assert_allclose(index.length_m[chain], 1000, rtol=2e-3)


def test_a_trip_of_one_stop_gets_a_path_of_length_zero() -> None:
    index = build_paths(make_feed({"A": (0, 0)}, {}, {"t1": (None, ["A"])}))
    assert index.length_m[path_of(index, "t1")] == 0
    along, offset = project_onto_path(np.array([30.0]), np.array([40.0]), index.path(path_of(index, "t1")))
    np.testing.assert_allclose([along[0], offset[0]], [0, 50], atol=0.1)


def test_path_lengths_and_projections_agree_with_haversine_on_a_10_km_path() -> None:
    rng = np.random.default_rng(7)
    xy = np.column_stack((np.linspace(-5000, 5000, 41), rng.uniform(-100, 100, 41)))
    xy = xy + [0, 4000]  # ~10.5 km long, 4 km north of the centre of the stops
    stops = {"A": tuple(xy[0]), "B": tuple(xy[-1]), "C": (0, -4000)}
    trips = {"t": ("S", ["A", "B"]), "u": (None, ["A", "C"])}
    index = build_paths(make_feed(stops, {"S": [tuple(p) for p in xy]}, trips))
    lat, lon = np.transpose([to_lat_lon(*p) for p in xy])
    haversine = np.r_[0.0, np.cumsum(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))]
    assert 9_000 < haversine[-1] < 15_000
    np.testing.assert_allclose(path_lengths_m(np.zeros(41, dtype=np.int64), lat, lon, 1), haversine[-1])
    path = index.path(path_of(index, "t"))
    np.testing.assert_allclose(path.length_m, haversine[-1], rtol=1e-9)
    planar = np.hypot(np.diff(path.x), np.diff(path.y)).sum()
    assert abs(planar / haversine[-1] - 1) < 0.005
    px, py = to_local_xy(lat, lon, index.origin)
    along, offset = project_onto_path(px, py, path)
    np.testing.assert_allclose(along, haversine, rtol=0.005, atol=1)
    assert offset.max() < 0.5


def test_every_trip_has_a_path_and_its_pattern_stops_in_order() -> None:
    square = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)]
    stops = {"A": (0, 0), "B": (1000, 0), "C": (1000, 1000)}
    trips = {f"t{k}": ("L", ["A", "B", "C"]) for k in range(5)} | {"u": ("L", ["A", "C"])}
    index = build_paths(make_feed(stops, {"L": square}, trips))
    assert len(index.trip_id) == 6
    assert len(index.pattern_path) == 2
    assert len(index.stop_id) == 5
    t3, unknown = index.trip_positions(np.array(["t3", "x"], dtype=object))
    assert index.trip_id[t3] == "t3"
    assert unknown == -1
    assert index.pattern_count[index.trip_pattern[t3]] == 3


@pytest.mark.slow
def test_paths_of_the_cairns_feed(shared_data: FilePath) -> None:
    from transit.gtfs.load import load_feed

    loaded = load_feed(shared_data / "cairns_gtfs_2014" / "cairns_gtfs.zip")
    started = time.perf_counter()
    index = build_paths(loaded.feed)
    assert time.perf_counter() - started < 5
    trips = loaded.trip_table()
    assert set(index.trip_id) == set(trips["trip_id"])
    position = index.trip_positions(trips["trip_id"].to_numpy(dtype=object))
    path = index.trip_path[position]
    on_shape = index.shape_id[path] != None  # noqa: E711 (elementwise)
    assert on_shape.mean() > 0.9
    np.testing.assert_allclose(index.length_m[path][on_shape], trips["distance_m"][on_shape], atol=0.1)
    pattern_of_stop = np.repeat(np.arange(len(index.pattern_count)), index.pattern_count)
    same = pattern_of_stop[1:] == pattern_of_stop[:-1]
    assert (np.diff(index.stop_dist_m)[same] >= -1e-6).all()
    assert np.nanmax(index.stop_offset_m) <= 150
    ends = index.pattern_first + index.pattern_count - 1
    assert (index.stop_dist_m[ends] <= index.length_m[index.pattern_path] + 1e-6).all()
