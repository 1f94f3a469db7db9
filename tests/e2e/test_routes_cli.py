"""`transit routes evaluate` on the Mandl benchmark files, as a planner or a researcher runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run_cli


def test_evaluate_prints_exactly_the_literatures_keys(shared_data: Path, tmp_path: Path) -> None:
    mandl = shared_data / "utrp" / "mandl"
    routes = tmp_path / "routes.txt"
    # Mumford (2013), Table III, 4 routes, best for passengers; separators as papers print them.
    routes.write_text(
        "1-2-3-6-8-10-11-13\n9, 15, 6, 4, 12, 11, 13, 14\n14 10 7 15 6 4 2 1\n12-11-10-8-6-4-5-2\n"
    )
    result = run_cli(
        "routes", "evaluate", "--network", str(mandl / "MandlTravelTimes.txt"),
        "--demand", str(mandl / "MandlDemand.txt"), "--routes", str(routes), "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ATT": 10.57,
        "TRT": 149,
        "d0": 90.43,
        "d1": 9.57,
        "d2": 0.0,
        "dun": 0.0,
    }
    slower = run_cli(
        "routes", "evaluate", "--network", str(mandl / "MandlTravelTimes.txt"),
        "--demand", str(mandl / "MandlDemand.txt"), "--routes", str(routes), "--format", "json",
        "--transfer-penalty", "10",
    )  # fmt: skip
    assert json.loads(slower.stdout)["ATT"] > 10.57


def test_bad_route_files_name_the_line_and_the_nodes(shared_data: Path, tmp_path: Path) -> None:
    mandl = shared_data / "utrp" / "mandl"
    base = ("routes", "evaluate", "--network", str(mandl / "MandlTravelTimes.txt"),
            "--demand", str(mandl / "MandlDemand.txt"), "--routes")  # fmt: skip
    cases = {
        "1-2-3\n1-15\n": "line 2: no link between nodes 1 and 15",
        "1-2-99\n": "line 1: '99' is not a node id 1..15",
        "1-x\n": "line 1: 'x' is not a node id 1..15",
        "7\n": "line 1: a route needs at least 2 nodes",
    }
    for text, message in cases.items():
        routes = tmp_path / "r.txt"
        routes.write_text(text)
        result = run_cli(*base, str(routes))
        assert result.returncode == 2 and message in result.stderr, (text, result.stderr)
        assert "Traceback" not in result.stderr
    ragged = tmp_path / "times.txt"
    ragged.write_text("0 1\n1 0 3\n")
    result = run_cli(
        "routes", "evaluate", "--network", str(ragged), "--demand", str(ragged), "--routes", str(routes)
    )
    assert result.returncode == 2 and "row 2 has 3 values" in result.stderr


def test_overlap_names_cairns_variants_as_duplicates_of_their_routes(cairns_feed: Path) -> None:
    result = run_cli("routes", "overlap", str(cairns_feed), "--date", "2014-05-27", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    pairs = {(p["route_a"], p["route_b"]): p for p in document["pairs"]}
    # 131N runs entirely on 131's stops in the same direction (B inside A), not the other way round.
    night = pairs[("131-423", "131N-423")]
    assert night["kind"] == "duplicate" and night["share_b"] == 1.0 and night["share_a"] < 1.0
    assert night["shared_stops"] >= 8
    assert all(p["route_a"] < p["route_b"] for p in document["pairs"])  # each pair once
    clusters = document["clusters"]
    assert len(clusters) >= 2 and any({"131-423", "131N-423"} <= set(group) for group in clusters)
    table = run_cli("routes", "overlap", str(cairns_feed), "--date", "2014-05-27")
    assert "cluster(s) of duplicate or near-duplicate routes" in table.stdout
    bad = run_cli("routes", "overlap", str(cairns_feed), "--date", "2030-01-01")
    assert bad.returncode == 2 and "--date: the feed schedules no trip on 2030-01-01" in bad.stderr
