"""Benchmark: the vectorised day plan against gtfs-kit's per-trip compute_trip_stats, side by side.

Feed: the synthetic city at 300 routes and 1,000 vehicles (about 1.4 million stop_times), built once into
bench/out/. Prints medians of several runs, the ratio, and whether both agree on every trip's start, end
and stop count. The issue's limit: the day plan of such a feed in under 2 s.

    python bench/bench_dayplan.py [--routes 300] [--vehicles 1000] [--runs 5] [--peer-runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from transit.gtfs.check import check_feed
from transit.gtfs.dayplan import build_day_plan, build_trip_table
from transit.gtfs.load import LoadedFeed, load_feed
from transit.gtfs.source import read_raw_feed
from transit.synth.city import build_city
from transit.synth.write import write_city

OUT = Path(__file__).resolve().parent / "out"
START = dt.date(2026, 11, 30)  # a Monday: weekday service
LIMIT_SECONDS = 2.0


def timed(function: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def city_feed(routes: int, vehicles: int, seed: int) -> Path:
    path = OUT / f"city-r{routes}-v{vehicles}-s{seed}-{START:%Y%m%d}.zip"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_city(build_city(routes=routes, seed=seed, start_date=START, vehicles=vehicles), path)
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def day_plan(loaded: LoadedFeed) -> pd.DataFrame:
    return build_day_plan(
        build_trip_table(loaded.feed),
        START,
        loaded.feed.calendar,
        loaded.feed.calendar_dates,
        loaded.feed.frequencies,
    )


def agreement(loaded: LoadedFeed, stats: pd.DataFrame) -> str:
    """Compare our per-trip table with gtfs-kit's trip stats on start, end and stop count."""
    ours = build_trip_table(loaded.feed).set_index("trip_id")
    theirs = stats.set_index("trip_id")
    common = ours.index.intersection(theirs.index)
    start = (ours.loc[common, "start_seconds"] == theirs.loc[common, "start_time"].map(_seconds)).mean()
    end = (ours.loc[common, "end_seconds"] == theirs.loc[common, "end_time"].map(_seconds)).mean()
    stops = (ours.loc[common, "stop_count"] == theirs.loc[common, "num_stops"]).mean()
    return f"{len(common)} trips compared: start {start:.2%}, end {end:.2%}, stop count {stops:.2%} equal"


def _seconds(text: str) -> int:
    h, m, s = (int(x) for x in str(text).split(":"))
    return h * 3600 + m * 60 + s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routes", type=int, default=300)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer-runs", type=int, default=3)
    args = parser.parse_args()

    path = city_feed(args.routes, args.vehicles, args.seed)
    read_times, (raw, _findings) = timed(lambda: read_raw_feed(path), 1)
    check_times, _ = timed(lambda: check_feed(raw), 3)
    load_times, loaded = timed(lambda: load_feed(path), 1)
    feed = loaded.feed
    print(
        f"machine: {platform.node()} {platform.machine()}, "
        f"Python {platform.python_version()}, {dt.date.today()}"
    )
    print(
        f"feed: {path.name}: {len(feed.routes)} routes, {len(feed.trips)} trips, "
        f"{len(feed.stop_times)} stop_times"
    )
    print(
        f"validation: bytes and CSV structure {read_times[0]:.2f} s, values and keys (check_feed) median "
        f"{statistics.median(check_times):.2f} s; the whole load_feed (read, check, cast) "
        f"{load_times[0]:.2f} s"
    )
    ours, plan = timed(lambda: day_plan(loaded), args.runs)
    print(
        f"day plan ({len(plan)} instances on {START}): median {statistics.median(ours):.3f} s "
        f"over {args.runs} runs {[round(t, 3) for t in ours]}"
    )
    peer, stats = timed(lambda: feed.compute_trip_stats(), args.peer_runs)
    print(
        f"gtfs-kit compute_trip_stats: median {statistics.median(peer):.2f} s "
        f"over {args.peer_runs} runs {[round(t, 2) for t in peer]}"
    )
    ratio = statistics.median(peer) / statistics.median(ours)
    verdict = "within" if statistics.median(ours) < LIMIT_SECONDS else "OVER"
    print(f"ratio gtfs-kit / ours: {ratio:.0f}x; day plan {verdict} the {LIMIT_SECONDS:.0f} s limit")
    print(agreement(loaded, stats))


if __name__ == "__main__":
    main()
