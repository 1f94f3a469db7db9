"""Benchmark: all route pairs' overlap of a synthetic city at 100, 300 and 1,000 routes (issue 7: the
1,000-route city in under 10 s, cost close to linear in the number of routes).

The feeds are the synthetic city (`transit synth city`), built once into bench/out/ and loaded (not timed).
Timed, for one weekday's trips as `transit routes overlap --date` computes them: stop patterns, stop clusters,
the pattern lines, every pair's shared stops and segments and its shares within the 50 m buffer (STRtree),
the route clusters and the ranked candidates. Timed apart: the network graph that `--plot` draws. Medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.bench_dayplan import START, city_feed
from transit.gtfs.load import load_feed
from transit.routes_opt.network import build_network
from transit.routes_opt.overlap import build_overlap_report

GOAL_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    previous: tuple[int, float] | None = None
    for routes in args.routes:
        loaded = load_feed(city_feed(routes, args.vehicles, seed=1))
        day = loaded.day_plan(START)
        instances = day["trip_id"].value_counts()
        trips = loaded.feed.trips[loaded.feed.trips["trip_id"].isin(instances.index)]
        stop_times = loaded.feed.stop_times[loaded.feed.stop_times["trip_id"].isin(instances.index)]
        stops, shapes = loaded.feed.stops, loaded.feed.shapes
        times, network_times = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            report = build_overlap_report(trips, stop_times, stops, shapes, instances=instances)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            build_network(stops, stop_times, report.stop_clusters, trips, instances)
            network_times.append(time.perf_counter() - started)
        median = statistics.median(times)
        growth = ""
        if previous is not None:
            growth = f"; x{median / previous[1]:.1f} time for x{routes / previous[0]:.1f} routes"
        kinds = report.pairs["kind"].value_counts()
        print(
            f"{routes:>5} routes, {len(stop_times):,} stop_times of {START}: {len(report.pairs):,} pairs "
            f"({kinds.get('duplicate', 0)} duplicate, {kinds.get('near_duplicate', 0)} near), "
            f"{len(report.clusters)} clusters, {len(report.candidates)} candidates, "
            f"median {median:.2f} s of {args.runs}{growth}; network for --plot "
            f"{statistics.median(network_times):.2f} s"
        )
        previous = (routes, median)
    verdict = "met" if previous is not None and previous[1] < GOAL_S else "NOT met"
    print(f"goal: all pairs of the largest city in under {GOAL_S:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
