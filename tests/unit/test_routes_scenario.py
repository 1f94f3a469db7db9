"""Network redesign scenarios: each operation's exact effect on hand-built services, the operator and
passenger figures before and after, and the scenario inputs' error messages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.routes_opt.scenario import (
    Drop,
    Extend,
    Headway,
    Merge,
    Operation,
    Places,
    Service,
    Truncate,
    apply_operations,
    build_services,
    demand_proxy,
    evaluate_scenario,
    operator_figures,
    places_of,
)
from transit.routes_opt.scenario_files import parse_scenario, read_od, read_population, read_scenario_file

H = 3600  # seconds in an hour, to write start times as 7 * H + 30 * M
M = 60


def on_a_plane(**xy: tuple[float, float]) -> Places:
    """Places where every stop is its own walking cluster, at the given local metres."""
    return Places({stop: stop for stop in xy}, dict(xy))


# A street running east with a stop every kilometre, plus a few stops off it.
STREET = on_a_plane(
    A=(0.0, 0.0), B=(1000.0, 0.0), C=(2000.0, 0.0), D=(3000.0, 0.0), E=(4000.0, 0.0),
    F=(2500.0, 500.0), G=(9000.0, 9000.0), A2=(0.0, 100.0), E2=(4000.0, 100.0),
)  # fmt: skip


# --- operations --------------------------------------------------------------------------------------------

OTHER = Service("O", 0, ("A", "E"), (0, 900), (8 * H,))


def test_drop_removes_every_service_of_the_route_and_nothing_else() -> None:
    services = [
        Service("R", 0, ("A", "B"), (0, 100), (H,)),
        Service("R", 1, ("B", "A"), (0, 100), (H,)),
        OTHER,
    ]
    assert apply_operations(services, [Drop("d", "R")], STREET) == [OTHER]


def test_truncate_keeps_each_patterns_longest_run_between_the_stops_in_both_directions() -> None:
    main = Service("R", 0, ("A", "B", "C", "D", "E"), (0, 100, 200, 300, 400), (H, 2 * H))
    back = Service("R", 1, ("E", "D", "C", "B", "A"), (0, 110, 220, 330, 440), (5000,))
    detour = Service("R", 0, ("B", "C", "F", "D"), (0, 100, 250, 400), (3 * H,))  # leaves the kept stretch
    short_turn = Service("R", 0, ("D", "E"), (0, 100), (4 * H,))  # one kept stop: no ride left
    after = apply_operations([main, back, detour, short_turn, OTHER], [Truncate("t", "R", "D", "B")], STREET)
    assert OTHER in after
    assert sorted((s for s in after if s.route_id == "R"), key=lambda s: (s.direction_id, s.starts)) == [
        # the cut offset moves the start time: the bus now starts at B, 100 s into the old trip
        Service("R", 0, ("B", "C", "D"), (0, 100, 200), (H + 100, 2 * H + 100)),
        Service("R", 0, ("B", "C"), (0, 100), (3 * H,)),
        Service("R", 1, ("D", "C", "B"), (0, 110, 220), (5110,)),
    ]


def test_extend_appends_where_the_route_ends_and_prepends_reversed_where_it_starts() -> None:
    # Outbound: 2000 m in 400 s once; inbound: 2000 m in 800 s three times and 1000 m in 400 s once. The
    # mean speed over the day's trips is 9000 m / 3200 s, so the 1000 m to D takes 356 s and the 1500 m on to
    # X 533 s (the mean of the patterns' speeds, 3.75 m/s, would give 267 s and 400 s).
    places = on_a_plane(A=(0.0, 0.0), B=(1000.0, 0.0), C=(2000.0, 0.0), D=(3000.0, 0.0), X=(3000.0, 1500.0))
    out = Service("R", 0, ("A", "B", "C"), (0, 200, 400), (H,))
    back = Service("R", 1, ("C", "B", "A"), (0, 400, 800), (H, 2 * H, 3 * H))
    middle = Service("R", 1, ("B", "A"), (0, 400), (4 * H,))  # neither starts nor ends at C: unchanged
    after = apply_operations([out, back, middle], [Extend("e", "R", "C", ("D", "X"))], places)
    assert [s for s in after if s.direction_id == 0] == [
        Service("R", 0, ("A", "B", "C", "D", "X"), (0, 200, 400, 756, 1289), (H,))
    ]
    assert [s for s in after if s.direction_id == 1] == [
        # 889 s of new road before C: the buses leave 889 s earlier, so C keeps its departure times
        Service(
            "R", 1, ("X", "D", "C", "B", "A"), (0, 533, 889, 1289, 1689), (H - 889, 2 * H - 889, 3 * H - 889)
        ),
        middle,
    ]


def test_merge_moves_the_departures_onto_the_kept_routes_busiest_pattern_in_the_nearest_direction() -> None:
    kept_out = Service("K", 0, ("A", "B", "C", "D", "E"), (0, 100, 200, 300, 400), (H, 2 * H))
    kept_short = Service("K", 0, ("A", "B"), (0, 100), (3 * H,))
    kept_back = Service("K", 1, ("E", "D", "C", "B", "A"), (0, 100, 200, 300, 400), (4000,))
    # The merged route numbers its directions the other way round: its direction 0 starts by E.
    gone_west = Service("M", 0, ("E2", "C"), (0, 300), (5000, 6000))
    gone_east = Service("M", 1, ("A2", "C"), (0, 300), (7000,))
    after = apply_operations(
        [kept_out, kept_short, kept_back, gone_west, gone_east, OTHER], [Merge("m", "M", "K")], STREET
    )
    assert not any(s.route_id == "M" for s in after)
    assert OTHER in after and kept_short in after
    assert Service("K", 0, kept_out.stops, kept_out.offsets, (H, 7000, 2 * H)) in after
    assert Service("K", 1, kept_back.stops, kept_back.offsets, (4000, 5000, 6000)) in after
    assert len(after) == 4


def test_headway_replaces_the_windows_departures_and_keeps_those_outside() -> None:
    main = Service("H", 0, ("A", "B", "C"), (0, 100, 200), tuple(6 * H + k * 30 * M for k in range(8)))
    short = Service("H", 0, ("A", "B"), (0, 100), (7 * H + 15 * M, 10 * H))
    only_inside = Service("H", 0, ("B", "C"), (0, 100), (8 * H + 45 * M,))
    back = Service("H", 1, ("C", "B", "A"), (0, 100, 200), (6 * H + 15 * M, 12 * H))  # none in the window
    after = apply_operations([main, short, only_inside, back], [Headway("h", "H", 10, 7 * H, 9 * H)], STREET)
    every_ten = tuple(range(7 * H, 9 * H, 10 * M))
    assert len(every_ten) == 12
    assert sorted(after, key=lambda s: (s.direction_id, -len(s.stops))) == [
        Service("H", 0, main.stops, main.offsets, (6 * H, 6 * H + 30 * M, *every_ten, 9 * H, 9 * H + 30 * M)),
        Service("H", 0, short.stops, short.offsets, (10 * H,)),
        back,
    ]


def test_operations_apply_in_order_and_one_on_a_dropped_route_is_an_error() -> None:
    services = [Service("R", 0, ("A", "B", "C"), (0, 100, 200), (H,)), OTHER]
    with pytest.raises(BadParameter, match=r"operation 'cut': route R has no service left"):
        apply_operations(services, [Drop("gone", "R"), Truncate("cut", "R", "A", "B")], STREET)
    with pytest.raises(BadParameter, match=r"operation 'fold': route R \(into\) has no service to merge"):
        apply_operations(services, [Drop("gone", "R"), Merge("fold", "O", "R")], STREET)


def test_truncate_between_stops_the_route_does_not_pass_is_an_error() -> None:
    services = [Service("R", 0, ("A", "B", "C"), (0, 100, 200), (H,))]
    with pytest.raises(BadParameter, match=r"operation 't': no pattern of route R passes both A and G"):
        apply_operations(services, [Truncate("t", "R", "A", "G")], STREET)


def test_extend_after_a_stop_where_no_pattern_starts_or_ends_is_an_error() -> None:
    services = [Service("R", 0, ("A", "B", "C"), (0, 100, 200), (H,))]
    with pytest.raises(BadParameter, match=r"operation 'e': no pattern of route R starts or ends at B"):
        apply_operations(services, [Extend("e", "R", "B", ("D",))], STREET)


# --- operator figures --------------------------------------------------------------------------------------


def test_operator_figures_count_trips_hours_km_stops_and_back_to_back_trips_as_one_bus() -> None:
    # 3600-4200 and 4200-4800 follow each other: one bus can run both.
    shuttle = Service("S", 0, ("A", "B", "C"), (0, 300, 600), (H, H + 600, 2 * H))
    assert operator_figures([shuttle], STREET) == (3, 0.5, 6.0, 1, 3)
    overlapping = Service("X", 0, ("C", "D"), (0, 1800), (H + 100,))
    idle = Service("Y", 0, ("F", "G"), (0, 60), ())  # no departures: serves no stop
    assert operator_figures([shuttle, overlapping, idle], STREET) == (4, 1.0, 7.0, 2, 4)
    assert operator_figures([], STREET) == (0, 0.0, 0.0, 0, 0)


# --- passenger figures -------------------------------------------------------------------------------------

TWENTY_MIN = tuple(6 * H + k * 20 * M for k in range(7))  # 06:00 to 08:00: waits are 10 minutes
THIRTY_MIN = tuple(6 * H + k * 30 * M for k in range(5))  # waits are 15 minutes
# C and D are 600 m apart here, so that one can stand within 400 m of both.
CORRIDOR = on_a_plane(A=(0.0, 0.0), B=(1000.0, 0.0), C=(2000.0, 0.0), D=(2600.0, 0.0))
MAIN = Service("R1", 0, ("A", "B", "C"), (0, 300, 600), TWENTY_MIN)
TWIN = Service("R2", 0, ("A", "B", "C"), (0, 300, 600), TWENTY_MIN)
SPUR = Service("R3", 0, ("C", "D"), (0, 300), THIRTY_MIN)
DEMAND = pd.DataFrame(
    {"origin_stop_id": ["A", "C", "A"], "destination_stop_id": ["C", "D", "D"], "trips": [10.0, 5.0, 5.0]}
)


def test_dropping_an_exact_duplicate_changes_nothing_for_passengers() -> None:
    report = evaluate_scenario([MAIN, TWIN, SPUR], [Drop("twin", "R2")], CORRIDOR, DEMAND)
    before, after = report.before, report.after
    # A-C: 10 min wait + 10 min ride; C-D: 15 + 5; A-D: 10 + 10 + a 5-minute change + 15 + 5.
    assert before.att == after.att == pytest.approx((10 * 20 + 5 * 20 + 5 * 45) / 20)
    assert (before.d0, before.d1, before.d2, before.dun) == (after.d0, after.d1, after.d2, after.dun)
    assert (after.d0, after.d1, after.dun) == (75.0, 25.0, 0.0)
    assert after.trips == before.trips - len(TWENTY_MIN)
    assert report.lost_stops == [] and report.demand_losing == 0.0 and report.people_losing is None
    assert report.routes_changed == ["R2"] and report.demand_source == "origin-destination file"


def test_dropping_the_only_route_to_a_stop_leaves_its_demand_unserved() -> None:
    report = evaluate_scenario([MAIN, TWIN, SPUR], [Drop("spur", "R3")], CORRIDOR, DEMAND)
    assert report.lost_stops == ["D"]
    assert report.demand_losing == 10.0  # C-D and A-D
    assert (report.before.dun, report.after.dun, report.after.d0) == (0.0, 50.0, 50.0)
    assert report.after.att == 20.0  # only A-C can still travel
    assert report.att_served_both == (20.0, 20.0)
    assert report.after.stops_served == report.before.stops_served - 1


def test_people_losing_service_counts_only_cells_with_no_served_stop_within_400_m() -> None:
    population = pd.DataFrame(
        [
            (2900.0, 0.0, 100.0),  # 300 m from D, 900 m from C: loses service
            (2600.0, 390.0, 7.0),  # 390 m from D: loses service
            (2600.0, 410.0, 1000.0),  # 410 m from D: had no stop in reach before
            (2300.0, 0.0, 2000.0),  # 300 m from D but also from C, which is still served
            (9000.0, 0.0, 4000.0),  # far from everything
        ],
        columns=["x", "y", "population"],
    )
    report = evaluate_scenario([MAIN, SPUR], [Drop("spur", "R3")], CORRIDOR, DEMAND, population)
    assert report.people_losing == 107
    unchanged = evaluate_scenario([MAIN, TWIN, SPUR], [Drop("twin", "R2")], CORRIDOR, DEMAND, population)
    assert unchanged.people_losing == 0


def test_more_departures_lower_the_wait_and_so_the_travel_time() -> None:
    demand = DEMAND.iloc[:1]  # A to C: a wait and a 10-minute ride
    report = evaluate_scenario([MAIN], [Headway("more", "R1", 10)], CORRIDOR, demand)
    assert (report.before.att, report.after.att) == (20.0, 15.0)
    assert (report.before.trips, report.after.trips) == (7, 13)


@pytest.mark.parametrize("starts", [(6 * H, 10 * H), (6 * H,)], ids=["four-hour headway", "one departure"])
def test_the_wait_is_at_most_thirty_minutes(starts: tuple[int, ...]) -> None:
    rare = Service("R1", 0, MAIN.stops, MAIN.offsets, starts)
    report = evaluate_scenario([rare], [Headway("h", "R1", 240)], CORRIDOR, DEMAND.iloc[:1])
    assert report.before.att == 40.0  # 30-minute wait + 10-minute ride


def test_without_demand_the_proxy_weighs_stops_by_their_departures() -> None:
    services = [
        Service("R", 0, ("A", "B"), (0, 60), (H, 2 * H, 3 * H)),
        Service("S", 0, ("B", "C"), (0, 60), (H,)),
    ]
    od = demand_proxy(services, STREET)
    trips = {(o, d): t for o, d, t in od.itertuples(index=False)}
    # departures: A 3, B 4, C 1; trips = product / total departures (8)
    assert trips == pytest.approx({("A", "B"): 1.5, ("B", "A"): 1.5, ("A", "C"): 0.375, ("C", "A"): 0.375,
                                   ("B", "C"): 0.5, ("C", "B"): 0.5})  # fmt: skip
    report = evaluate_scenario(services, [Drop("d", "S")], STREET)
    assert report.demand_source.startswith("proxy") and report.lost_stops == ["C"]
    assert report.demand_losing == pytest.approx(1.8, abs=0.05)  # 0.375 * 2 + 0.5 * 2, rounded to 0.1


# --- building services and places --------------------------------------------------------------------------


def test_build_services_groups_trips_by_pattern_with_median_offsets_and_sorted_starts() -> None:
    plan = pd.DataFrame(
        {
            "trip_id": ["t1", "t2", "t3", "t1"],
            "route_id": ["R", "R", "R", "R"],
            "direction_id": ["0", "0", "1", "0"],
            "start_time": ["08:00:00", "07:00:00", "25:10:00", "09:00:00"],  # t1 runs twice (frequencies)
        }
    )
    stop_times = pd.DataFrame(
        {
            "trip_id": ["t1", "t1", "t1", "t2", "t2", "t2", "t3", "t3", "t3"],
            "stop_sequence": [1, 2, 3, 1, 2, 3, 1, 2, 3],
            "stop_id": ["A", "B", "C", "A", "B", "C", "C", "B", "A"],
            "arrival_time": ["08:00:00", "08:02:00", "08:06:00", "07:00:00", "07:04:00", "07:08:00",
                             "25:10:00", "", "25:20:00"],
            "departure_time": ["08:00:00", "08:02:00", "08:06:00", "07:00:00", "07:04:00", "07:08:00",
                               "25:10:00", "", "25:20:00"],
        }
    )  # fmt: skip
    services = build_services(plan, stop_times)
    assert services == [
        # medians over the three trip instances (t1 counts twice): B 2, 2, 4 min; C 6, 6, 8 min
        Service("R", 0, ("A", "B", "C"), (0, 120, 360), (7 * H, 8 * H, 9 * H)),
        Service("R", 1, ("C", "B", "A"), (0, 300, 600), (25 * H + 10 * M,)),  # B's missing time interpolated
    ]


def test_places_cluster_stops_within_a_walk_and_skip_stops_without_coordinates() -> None:
    stops = pd.DataFrame(
        {
            "stop_id": ["a", "b", "c", "d"],
            "stop_lat": [0.0, 0.0003, 0.01, None],
            "stop_lon": [0.0, 0.0, 0.0, 0.0],
        }
    )
    places = places_of(stops)
    assert dict(places.cluster) == {"a": "a", "b": "a", "c": "c"}
    assert set(places.xy) == {"a", "b", "c"}
    assert places.distance_m("a", "b") == pytest.approx(33.4, abs=0.1)
    assert places.origin == pytest.approx((0.0103 / 3, 0.0))


# --- scenario files ----------------------------------------------------------------------------------------

ROUTES = pd.DataFrame(
    {"route_id": ["131-423", "131N-423", "X1", "X2"], "route_short_name": ["131", "131N", "dup", "dup"]}
)
STOPS = frozenset({"s1", "s2", "s3"})


def parse(*operations: Mapping[str, Any]) -> list[Operation]:
    return parse_scenario({"operation": list(operations)}, "plan.toml", ROUTES, STOPS)[1]


def test_a_scenario_document_gives_every_kind_of_operation_with_routes_resolved() -> None:
    name, operations = parse_scenario(
        {
            "name": "Night changes",
            "operation": [
                {"kind": "drop", "route": "131N"},
                {"kind": "truncate", "route": "131-423", "from_stop": "s1", "to_stop": "s2", "name": "cut"},
                {"kind": "extend", "route": "X1", "after_stop": "s2", "stops": ["s3", "s1"]},
                {"kind": "merge", "route": "131N", "into": "131"},
                {"kind": "headway", "route": "131", "minutes": 7.5, "from": "07:00:00", "to": "25:00:00"},
            ],
        },
        "plan.toml",
        ROUTES,
        STOPS,
    )
    assert name == "Night changes"
    assert operations == [
        Drop("drop 131N", "131N-423"),
        Truncate("cut", "131-423", "s1", "s2"),
        Extend("extend X1", "X1", "s2", ("s3", "s1")),
        Merge("merge 131N", "131N-423", "131-423"),
        Headway("headway 131", "131-423", 7.5, 7 * H, 25 * H),
    ]


def test_a_feed_without_short_names_resolves_routes_by_route_id() -> None:
    # route_short_name is optional in GTFS when route_long_name is given
    routes = pd.DataFrame({"route_id": ["10", "11"], "route_long_name": ["Harbour", "Hills"]})
    document = {"operation": [{"kind": "drop", "route": 11}]}
    assert parse_scenario(document, "plan.toml", routes, STOPS)[1] == [Drop("drop 11", "11")]
    with pytest.raises(BadParameter, match=r"route: 'Hills' is neither a route_id nor a route_short_name"):
        parse_scenario({"operation": [{"kind": "drop", "route": "Hills"}]}, "plan.toml", routes, STOPS)


def op(kind: str, **fields: Any) -> dict[str, Any]:
    """An operation on route 131 (fields may override the route)."""
    return {"kind": kind, "route": "131", **fields}


BAD_OPERATIONS = [
    (op("teleport"), "plan.toml: operation 2, kind: 'teleport' is not one of drop, truncate"),
    ({"route": "131"}, "plan.toml: operation 2, kind: None is not one of"),
    (op("truncate", from_stop="s1"), "plan.toml: operation 2 (truncate 131), to_stop: missing"),
    (op("drop", colour="red"), "plan.toml: operation 2 (drop 131), colour: not a field of drop"),
    (op("headway", minutes=5, until="09:00:00"), "operation 2 (headway 131), until: not a field of headway"),
    (op("drop", route="999", name="no such"), "operation 2 (no such), route: '999' is neither a route_id"),
    (op("merge", into="dup"), "operation 2 (merge 131), into: short name 'dup' is shared by routes X1, X2"),
    (op("drop", route=""), "plan.toml: operation 2 (drop), route: '' must be an id"),
    (op("truncate", from_stop="s1", to_stop="s9"), "(truncate 131), to_stop: 's9' is not a stop of the feed"),
    (op("extend", after_stop="s1", stops=["s2", "nope"]), "(extend 131), stops[1]: 'nope' is not a stop"),
    (op("extend", after_stop="s1", stops=[]), "operation 2 (extend 131), stops: a non-empty list"),
    (op("merge", into="131"), "operation 2 (merge 131), into: a route cannot merge into itself"),
    (op("drop", name=5), "plan.toml: operation 2, name: 5 must be text"),
    (op("headway", minutes=0.5), "(headway 131), minutes: 0.5 must be a number of minutes from 1 to 240"),
    (op("headway", minutes=241), "operation 2 (headway 131), minutes: 241 must be"),
    (op("headway", minutes=True), "operation 2 (headway 131), minutes: True must be"),
    (op("headway", minutes="10"), "operation 2 (headway 131), minutes: '10' must be"),
    (op("headway", minutes=10, **{"from": "7am"}), "(headway 131), from: '7am' is not a GTFS time"),
    (op("headway", minutes=10, to="07:75:00"), "(headway 131), to: '07:75:00' is not a GTFS time"),
    (
        op("headway", minutes=10, to="09:00:00", **{"from": "09:00:00"}),
        "(headway 131), to: must be after from",
    ),
]


@pytest.mark.parametrize(("item", "message"), BAD_OPERATIONS, ids=lambda v: str(v)[:40])
def test_a_bad_operation_names_the_source_the_operation_and_the_field(
    item: Mapping[str, Any], message: str
) -> None:
    with pytest.raises(BadParameter) as caught:
        parse(op("drop"), item)
    assert message in str(caught.value)
    assert str(caught.value).startswith("plan.toml: operation 2")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"name": "x"}, "plan.toml: no [[operation]]"),
        ({"operation": []}, "plan.toml: no [[operation]]"),
        ({"operation": [op("drop")], "operations": []}, "plan.toml: unknown key 'operations'"),
        ({"operation": ["drop 131"]}, "plan.toml: operation 1: must be a table of fields"),
        ({"operation": [op("drop")], "name": 3}, "plan.toml: name must be text"),
    ],
)
def test_a_bad_scenario_document_names_the_source(document: dict[str, Any], message: str) -> None:
    with pytest.raises(BadParameter) as caught:
        parse_scenario(document, "plan.toml", ROUTES, STOPS)
    assert message in str(caught.value)


def test_a_scenario_file_is_read_as_toml_and_bad_toml_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "fold.toml"
    good.write_text('[[operation]]\nkind = "merge"\nroute = "131N"\ninto = 131\n', encoding="utf-8")
    assert read_scenario_file(good, ROUTES, STOPS) == ("fold", [Merge("merge 131N", "131N-423", "131-423")])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[operation]]\nkind = "drop\n', encoding="utf-8")
    with pytest.raises(BadParameter, match=rf"^{bad}: not valid TOML \(.*line 2"):
        read_scenario_file(bad, ROUTES, STOPS)
    with pytest.raises(BadParameter, match=r"missing.toml: cannot be read"):
        read_scenario_file(tmp_path / "missing.toml", ROUTES, STOPS)


OD = "origin_stop_id,destination_stop_id"
GRID = "cell_id,lat,lon,population"


def test_read_od_accepts_trips_per_day_or_trips(tmp_path: Path) -> None:
    path = tmp_path / "od.csv"
    path.write_text("\ufefforigin_stop_id, destination_stop_id ,trips_per_day\ns1,s2,2.5\ns2, s3 ,1\n")
    od = read_od(path, STOPS)
    assert od.to_dict("list") == {"origin_stop_id": ["s1", "s2"], "destination_stop_id": ["s2", "s3"],
                                  "trips": [2.5, 1.0]}  # fmt: skip
    path.write_text("destination_stop_id,origin_stop_id,trips\ns1,s2,4\n")
    assert read_od(path, STOPS).to_dict("list")["origin_stop_id"] == ["s2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("origin_stop_id,trips_per_day\ns1,1\n", "--demand: {path}: the header needs destination_stop_id"),
        (f"{OD},count\ns1,s2,1\n", "--demand: {path}: the header needs trips_per_day or trips"),
        (f"{OD},trips\n", "--demand: {path} has no rows"),
        (
            f"{OD},trips\ns1,s2,1\ns1,zz,1\n",
            "{path} row 3, destination_stop_id: 'zz' is not a stop of the feed",
        ),
        (
            f"{OD},trips_per_day\ns1,s2,lots\n",
            "--demand: {path} row 2, trips_per_day: 'lots' is not a number",
        ),
        (f"{OD},trips\ns1,s2,-1\n", "--demand: {path} row 2, trips: '-1' is out of range"),
        (f"{OD},trips\ns1,s2,1\ns1,s2,1,000\n", "--demand: {path} row 3: more values than the header"),
    ],
)
def test_bad_od_files_name_the_file_the_row_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "od.csv"
    path.write_text(text)
    with pytest.raises(BadParameter) as caught:
        read_od(path, STOPS)
    assert message.format(path=path) in str(caught.value)


def test_read_population_puts_cells_in_local_metres_around_the_origin(tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text("cell_id,lat,lon,population\nc1,10.0,20.0,100\nc2,10.001,20.0,5.5\n")
    grid = read_population(path, (10.0, 20.0))
    assert grid["population"].tolist() == [100.0, 5.5]
    assert np.allclose(grid[["x", "y"]].to_numpy(), [[0.0, 0.0], [0.0, 111.2]], atol=0.1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cell_id,lat,lon,people\nc1,1,2,3\n", "--population: {path}: the header needs population"),
        (f"{GRID}\nc1,1,2,3\nc2,north,2,3\n", "--population: {path} row 3, lat: 'north' is not a number"),
        (f"{GRID}\nc1,91,2,3\n", "--population: {path} row 2, lat: '91' is out of range"),
        (f"{GRID}\nc1,1,2,\n", "--population: {path} row 2, population: '' is not a number"),
    ],
)
def test_bad_population_files_name_the_file_the_row_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(text)
    with pytest.raises(BadParameter) as caught:
        read_population(path, (0.0, 0.0))
    assert message.format(path=path) in str(caught.value)
