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
    assert set(document) == {"pairs", "clusters", "candidates"}
    pairs = {(p["route_a"], p["route_b"]): p for p in document["pairs"]}
    # 131N runs entirely on 131, by its stops in the same direction and by its shape within 50 m of 131's.
    night = pairs[("131-423", "131N-423")]
    assert night["kind"] == "duplicate" and night["share_b"] == 1.0 and night["share_a"] < 1.0
    assert night["shape_share_b"] >= 0.95 and night["shared_stops"] >= 8 and night["shared_km"] > 5
    assert pairs[("141-423", "143W-423")]["shape_share_a"] >= 0.95  # 141 inside 143W, not the other way
    assert pairs[("141-423", "143W-423")]["shape_share_b"] < 0.8
    assert all(p["route_a"] < p["route_b"] for p in document["pairs"])  # each pair once
    clusters = document["clusters"]
    assert any({"131-423", "131N-423"} <= set(group) for group in clusters)  # the northern trunk
    assert any({"140-423", "150E-423"} <= set(group) for group in clusters)  # the southern trunk
    candidates = document["candidates"]
    assert {c["action"] for c in candidates} <= {"merge", "drop", "cut_back"} and len(candidates) >= 5
    saved = [c["duplicated_vehicle_km"] for c in candidates]
    assert saved == sorted(saved, reverse=True) and saved[0] > 0
    assert any(c["route_id"] == "131N-423" and c["other_route_id"] == "131-423" for c in candidates)
    table = run_cli("routes", "overlap", str(cairns_feed), "--date", "2014-05-27")
    assert "cluster(s) of duplicate or near-duplicate routes" in table.stdout
    assert (
        "candidate(s) to merge, drop or cut back" in table.stdout and "duplicated_vehicle_km" in table.stdout
    )
    csv = run_cli("routes", "overlap", str(cairns_feed), "--date", "2014-05-27", "--format", "csv")
    assert csv.stdout.splitlines()[0].endswith("shape_share_a,shape_share_b,shared_km,trips_shared,kind")
    bad = run_cli("routes", "overlap", str(cairns_feed), "--date", "2030-01-01")
    assert bad.returncode == 2 and "--date: the feed schedules no trip on 2030-01-01" in bad.stderr


def test_overlap_plot_draws_the_clusters_and_names_a_bad_path(cairns_feed: Path, tmp_path: Path) -> None:
    picture = tmp_path / "overlap.png"
    result = run_cli("routes", "overlap", str(cairns_feed), "--date", "2014-05-27", "--plot", str(picture))
    assert result.returncode == 0, result.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000
    for bad_path, message in (
        (tmp_path / "missing" / "o.png", f"--plot: the folder {tmp_path / 'missing'} does not exist"),
        (tmp_path / "o.gif", "--plot: "),
    ):
        bad = run_cli("routes", "overlap", str(cairns_feed), "--plot", str(bad_path))
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr and not bad_path.exists()
    shares = run_cli("routes", "overlap", str(cairns_feed), "--near-share", "0.9", "--duplicate-share", "0.8")
    assert shares.returncode == 2 and "--near-share (0.9) must not exceed --duplicate-share" in shares.stderr


def test_overlap_finds_the_near_duplicates_of_a_synthetic_city(tmp_path: Path) -> None:
    feed = tmp_path / "city.zip"
    made = run_cli("synth", "city", "--routes", "30", "--seed", "3", "--start-date", "2026-11-30",
                   "--out", str(feed))  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = run_cli("routes", "overlap", str(feed), "--date", "2026-11-30", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    linked = {
        (p["route_a"], p["route_b"])
        for p in document["pairs"]
        if p["kind"] in ("duplicate", "near_duplicate")
    }
    routes = {r for pair in (p for p in document["pairs"]) for r in (pair["route_a"], pair["route_b"])}
    branches = sorted(r for r in routes if r[-1].isalpha())  # the city names a near-duplicate of 12 "12A"
    assert len(branches) >= 4
    for branch in branches:  # each is found next to the route it branches from
        assert tuple(sorted((branch[:-1], branch))) in linked, branch
        assert any({branch, branch[:-1]} <= set(group) for group in document["clusters"])
    narrower = run_cli("routes", "overlap", str(feed), "--date", "2026-11-30", "--format", "json",
                       "--near-share", "0.99", "--duplicate-share", "0.99", "--buffer-m", "5")  # fmt: skip
    assert len(json.loads(narrower.stdout)["clusters"]) < len(document["clusters"])
