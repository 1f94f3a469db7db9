"""Route overlap on small made-up networks: stop clusters, segments in the same direction, the buffer share
one way and the other, the network graph, and the ranking of what to merge, drop or cut back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from transit.gtfs.geo import EARTH_RADIUS_M
from transit.routes_opt.corridor import measure_corridors
from transit.routes_opt.network import build_network, build_pattern_lines, cluster_stops
from transit.routes_opt.overlap import (
    OverlapRules,
    build_overlap_report,
    build_patterns,
    cluster_routes,
    compute_overlap,
    rank_candidates,
)

DEG_M = EARTH_RADIUS_M * math.pi / 180  # metres per degree on the equator, where these towns are


def _stops(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Stops at (x, y) metres east and north of 0, 0."""
    return pd.DataFrame(
        {
            "stop_id": list(points),
            "stop_lat": [y / DEG_M for _, y in points.values()],
            "stop_lon": [x / DEG_M for x, _ in points.values()],
        }
    )


def _street(
    prefix: str, x_from: float, x_to: float, y: float = 0.0, every: float = 300.0
) -> dict[str, tuple[float, float]]:
    """Stops every `every` metres along an east-west street, named prefix0, prefix1, ..."""
    xs = np.arange(x_from, x_to + 1, every) if x_to >= x_from else np.arange(x_from, x_to - 1, -every)
    return {f"{prefix}{k}": (float(x), y) for k, x in enumerate(xs)}


def _feed(routes: dict[str, list[str]], trips_per_route: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trips and stop_times: each route runs its stops `trips_per_route` times, a minute between stops."""
    trips, stop_times = [], []
    for route, stops in routes.items():
        for n in range(trips_per_route):
            trip = f"{route}-{n}"
            trips.append({"trip_id": trip, "route_id": route, "direction_id": 0})
            stop_times += [
                {"trip_id": trip, "stop_sequence": k + 1, "stop_id": s,
                 "departure_time": f"{8 + n:02d}:{k:02d}:00"}
                for k, s in enumerate(stops)
            ]  # fmt: skip
    return pd.DataFrame(trips), pd.DataFrame(stop_times)


def _overlap(
    routes: dict[str, list[str]], stops: pd.DataFrame, rules: OverlapRules | None = None
) -> pd.DataFrame:
    rules = rules or OverlapRules()
    trips, stop_times = _feed(routes)
    patterns = build_patterns(trips, stop_times)
    lines = build_pattern_lines(patterns, stops)
    return compute_overlap(patterns, lines, rules, cluster_stops(stops, rules.walk_m))


def _pair(pairs: pd.DataFrame, a: str, b: str) -> dict[str, object]:
    row = pairs[(pairs["route_a"] == a) & (pairs["route_b"] == b)]
    assert len(row) == 1, pairs
    record: dict[str, object] = row.iloc[0].to_dict()
    return record


def test_a_short_route_inside_a_long_one_is_inside_one_way_only() -> None:
    street = _street("s", 0, 3000)  # s0 .. s10
    stops = _stops(street)
    names = list(street)
    pairs = _overlap({"Long": names, "Short": names[3:7]}, stops)
    pair = _pair(pairs, "Long", "Short")
    assert pair["share_b"] == 1.0 and pair["shape_share_b"] == 1.0  # Short lies wholly on Long
    assert pair["share_a"] == 0.3  # 3 of Long's 10 segments
    assert float(pair["shape_share_a"]) < 0.5  # 900 m of 3,000 m, plus the buffer at both ends
    assert pair["shape_share_a"] == pytest.approx((900 + 2 * 50) / 3000, abs=0.02)
    assert pair["shared_stops"] == 4 and pair["shared_segments"] == 3
    assert pair["shared_km"] == pytest.approx(0.9, abs=0.03)
    assert pair["kind"] == "duplicate"


def test_routes_on_the_same_street_with_different_stops_are_found_by_the_buffer() -> None:
    # A's stops on the north kerb, B's on the south kerb 20 m away and 150 m further along: no stop of one
    # is within the 60 m walking radius of a stop of the other, so they share no stop, yet run one street.
    north = _street("n", 0, 3000, y=20.0)
    south = _street("s", 150, 3150, y=0.0)
    stops = _stops(north | south)
    assert cluster_stops(stops)["n1"] != cluster_stops(stops)["s0"]
    pair = _pair(_overlap({"A": list(north), "B": list(south)}, stops), "A", "B")
    assert pair["shared_stops"] == 0 and pair["shared_segments"] == 0
    assert float(pair["shape_share_a"]) > 0.9 and float(pair["shape_share_b"]) > 0.9
    assert pair["kind"] == "duplicate"


def test_stop_clusters_join_opposite_platforms_so_routes_share_their_stops() -> None:
    # Eastbound A stops on the north side, eastbound B on the south side, 25 m across the street.
    north = _street("n", 0, 2400, y=25.0)
    south = _street("s", 0, 2400, y=0.0)
    stops = _stops(north | south | {"far": (0.0, 900.0)})
    clusters = cluster_stops(stops)
    assert clusters["n0"] == clusters["s0"] and clusters["n8"] == clusters["s8"]
    assert clusters["far"] == "far"
    routes = {"A": list(north), "B": list(south)}
    pair = _pair(_overlap(routes, stops), "A", "B")
    assert pair["shared_stops"] == 9 and pair["shared_segments"] == 8 and pair["share_a"] == 1.0
    alone = _pair(_overlap(routes, stops, OverlapRules(walk_m=0.0)), "A", "B")  # platforms apart
    assert alone["shared_stops"] == 0 and alone["share_a"] == 0.0


def test_the_same_direction_is_the_order_of_the_stops_but_the_buffer_ignores_direction() -> None:
    street = _street("s", 0, 3000)
    stops = _stops(street)
    pair = _pair(_overlap({"East": list(street), "West": list(street)[::-1]}, stops), "East", "West")
    assert pair["shared_segments"] == 0 and pair["shared_stops"] == 0
    assert pair["shape_share_a"] == 1.0 and pair["shape_share_b"] == 1.0


def test_a_crossing_is_not_a_pair_and_eight_shared_stops_are_collinear() -> None:
    east = _street("e", -1500, 1500)
    north = {f"n{k}": (0.0, float(y)) for k, y in enumerate(range(-1500, 1501, 300)) if y != 0}
    stops = _stops(east | north)
    crossing = _overlap({"EW": list(east), "NS": list(north)}, stops)
    assert crossing.empty  # 100 m in each other's buffer, under min_corridor_m
    trunk = _street("t", 0, 2700)  # 10 stops
    branch_a = {f"a{k}": (2700.0 + 300 * (k + 1), 0.0) for k in range(20)}
    branch_b = {f"b{k}": (2700.0, 300.0 * (k + 1)) for k in range(20)}
    stops = _stops(trunk | branch_a | branch_b)
    pairs = _overlap({"A": [*trunk, *branch_a], "B": [*trunk, *branch_b]}, stops)
    pair = _pair(pairs, "A", "B")
    assert pair["shared_stops"] == 10 and float(pair["shape_share_a"]) < 0.5
    assert pair["kind"] == "collinear"  # Cal-ITP's 8 shared stops, but most of each route is its own
    assert cluster_routes(pairs) == []
    near = _overlap({"A": [*trunk, *branch_a], "B": [*trunk, *branch_b]}, stops, OverlapRules(near_share=0.3))
    assert _pair(near, "A", "B")["kind"] == "near_duplicate" and cluster_routes(near) == [["A", "B"]]


def test_a_variant_on_the_same_street_does_not_lengthen_its_route() -> None:
    east = np.array([[0.0, 0.0], [3000.0, 0.0]])
    lines = pd.DataFrame(
        {
            "route_id": ["A", "A", "B"],
            "direction_id": [0, 0, 0],
            "trips": [10, 5, 7],
            "xy": [east, np.array([[0.0, 5.0], [1500.0, 5.0]]), np.array([[0.0, 30.0], [1500.0, 30.0]])],
        }
    )
    corridors = measure_corridors(lines).set_index(["route_id", "other_route_id"])
    a_on_b = corridors.loc[("A", "B")]
    assert a_on_b["near_m"] == pytest.approx(1550, abs=25)  # counted once, not once per pattern
    assert a_on_b["share"] == pytest.approx(1550 / 3000, abs=0.01)
    assert a_on_b["trips"] == 15  # both of A's lines come near B
    assert corridors.loc[("B", "A"), "share"] == 1.0


def test_shapes_are_followed_where_the_feed_has_them() -> None:
    stops = _stops({"p": (0.0, 0.0), "q": (1000.0, 0.0)})
    trips, stop_times = _feed({"R": ["p", "q"]})
    trips["shape_id"] = "detour"
    shape_xy = [(0.0, 0.0), (0.0, 400.0), (1000.0, 400.0), (1000.0, 0.0)]
    shapes = pd.DataFrame(
        {
            "shape_id": "detour",
            "shape_pt_lat": [y / DEG_M for _, y in shape_xy],
            "shape_pt_lon": [x / DEG_M for x, _ in shape_xy],
            "shape_pt_sequence": [1, 2, 3, 4],
        }
    )
    patterns = build_patterns(trips, stop_times)
    assert patterns["shape_id"].tolist() == ["detour"]
    with_shape = build_pattern_lines(patterns, stops, shapes)["xy"].iloc[0]
    without = build_pattern_lines(patterns, stops, None)["xy"].iloc[0]
    assert np.hypot(*np.diff(with_shape, axis=0).T).sum() == pytest.approx(1800, abs=1)
    assert np.hypot(*np.diff(without, axis=0).T).sum() == pytest.approx(1000, abs=1)


def test_frequency_based_trips_count_once_per_run() -> None:
    trips, stop_times = _feed({"F": ["x", "y"]}, trips_per_route=2)
    patterns = build_patterns(trips, stop_times, instances=pd.Series({"F-0": 12, "F-1": 3}))
    assert patterns["trips"].tolist() == [15]


def test_the_network_has_clusters_as_nodes_and_segments_with_distance_time_and_trips() -> None:
    stops = _stops({"a": (0.0, 0.0), "a'": (0.0, 30.0), "b": (600.0, 0.0), "c": (1200.0, 0.0)})
    trips, stop_times = _feed({"R1": ["a", "b", "c"], "R2": ["a'", "b"]}, trips_per_route=3)
    G = build_network(stops, stop_times, cluster_stops(stops), trips, pd.Series({"R1-0": 4}))
    assert set(G.nodes) == {"a", "b", "c"} and G.nodes["a"]["stops"] == 2
    assert G.nodes["a"]["lat"] == pytest.approx(15 / DEG_M)
    edge = G.edges["a", "b"]
    assert edge["route_ids"] == ["R1", "R2"] and edge["trips"] == 4 + 2 + 3  # R1-0 runs 4 times
    assert edge["time_seconds"] == 60.0
    assert edge["distance_m"] == pytest.approx(math.hypot(600, 15), abs=0.5)
    assert not G.has_edge("b", "a")


def test_candidates_merge_drop_and_cut_back_ranked_by_the_vehicle_km_they_save() -> None:
    pairs = pd.DataFrame(
        [
            ("A", "B", 20, 19, 0.95, 0.9, 0.97, 0.92, 10.0, 80, "duplicate"),
            ("C", "D", 12, 11, 1.0, 0.3, 1.0, 0.35, 4.0, 50, "duplicate"),
            ("E", "F", 9, 8, 0.4, 0.6, 0.55, 0.7, 6.0, 40, "near_duplicate"),
            ("G", "H", 9, 8, 0.2, 0.2, 0.2, 0.2, 2.0, 40, "collinear"),
        ],
        columns=["route_a", "route_b", "shared_stops", "shared_segments", "share_a", "share_b",
                 "shape_share_a", "shape_share_b", "shared_km", "trips_shared", "kind"],
    )  # fmt: skip
    trips = pd.Series({"A": 50, "B": 30, "C": 20, "D": 60, "E": 10, "F": 25, "G": 5, "H": 5})
    ranked = rank_candidates(pairs, trips)
    got = ranked[["action", "route_id", "other_route_id", "duplicated_vehicle_km"]].values.tolist()
    assert got == [
        ["merge", "B", "A", 300.0],  # both above 0.8: the route with fewer trips folds, 30 trips x 10 km
        ["cut_back", "F", "E", 150.0],  # near-duplicate: F has the larger share (0.7), 25 x 6 km
        ["drop", "C", "D", 80.0],  # C runs wholly inside D: 20 x 4 km
    ]  # the collinear pair G-H asks for nothing
    assert "fold B's 30 trips into A" in ranked.loc[0, "reason"]


def test_the_report_names_pairs_clusters_and_candidates_together() -> None:
    street = _street("s", 0, 3000)
    stops = _stops(street | _street("o", 0, 3000, y=2000.0))
    trips, stop_times = _feed(
        {"Long": list(street), "Short": list(street)[2:8], "Other": list(_street("o", 0, 3000, y=2000.0))}
    )
    report = build_overlap_report(trips, stop_times, stops)
    assert report.pairs[["route_a", "route_b"]].values.tolist() == [["Long", "Short"]]
    assert report.clusters == [["Long", "Short"]]
    assert report.candidates[["action", "route_id"]].values.tolist() == [["drop", "Short"]]
    assert report.stop_clusters["s0"] == "s0"
