"""Benchmark: a whole service day decided in batch (`transit detect`), against reading its ping file alone.

City: the synthetic city of bench_dayplan (300 routes, 1,000 vehicles at the peak), its Tuesday simulated
with 5 m noise and a ping every 6 seconds (the issue's 8.6 million pings a day for 1,000 vehicles: the
simulator's buses report only while in service, about 5.3 million pings at the usual 10 seconds), written
once to bench/out/ as CSV. Each run reads the file
(`read_ping_file`) and decides the day (`detect_day`), in a fresh process so that peak memory is its own.
Prints the medians, the ratio to the read alone, the peak memory, and the issue's limits (60 s, 4 GB).

    python bench/bench_detect.py [--routes 300] [--vehicles 1000] [--interval 6] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_dayplan import START, city_feed

DAY = START + dt.timedelta(days=1)
LIMIT_S, LIMIT_GB = 60.0, 4.0


def ping_file(feed: Path, interval_s: float) -> Path:
    out = feed.with_suffix(f".{DAY:%Y%m%d}.every{interval_s:g}s.pings.csv")
    if not out.exists():
        from transit.gtfs.load import load_feed
        from transit.telemetry.files import write_ping_csv
        from transit.telemetry.simulate import simulate_day

        started = time.perf_counter()
        write_ping_csv(simulate_day(load_feed(feed), DAY, seed=1, interval_s=interval_s).pings, out)
        print(f"simulated {out.name} in {time.perf_counter() - started:.0f} s")
    return out


def child(feed: Path, pings: Path, decide: bool) -> None:
    """One measured run (in its own process): read, and decide if asked; prints one JSON line."""
    from transit.gtfs.load import load_feed
    from transit.matching.detect import detect_day
    from transit.telemetry.files import read_ping_file

    loaded = load_feed(feed)
    plan = loaded.day_plan(DAY)
    started = time.perf_counter()
    frame = read_ping_file(pings).pings
    read_s = time.perf_counter() - started
    trips = 0
    if decide:
        trips = len(detect_day(loaded.feed, plan, frame).trips)
    total_s = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        json.dumps(
            {"read_s": read_s, "total_s": total_s, "peak_gb": peak_gb, "pings": len(frame), "trips": trips}
        )
    )


def measure(feed: Path, pings: Path, decide: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.bench_detect", "--child", str(feed), str(pings)]
    result = subprocess.run(
        [*command, *(["--decide"] if decide else [])], capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=300)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=6.0, help="seconds between a bus's pings")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, type=Path)
    parser.add_argument("--decide", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.decide)
        return
    print(f"{dt.date.today()} on {platform.node()} ({platform.processor() or platform.machine()})")
    feed = city_feed(args.routes, args.vehicles, seed=7)
    pings = ping_file(feed, args.interval)
    reads = [measure(feed, pings, decide=False) for _ in range(args.runs)]
    runs = [measure(feed, pings, decide=True) for _ in range(args.runs)]
    read_s = statistics.median(r["read_s"] for r in reads)
    total_s = statistics.median(r["total_s"] for r in runs)
    peak_gb = max(r["peak_gb"] for r in runs)
    print(f"{runs[0]['pings']:,.0f} pings, {runs[0]['trips']:,.0f} trip instances, {args.runs} runs each")
    print(f"read the ping file alone: median {read_s:.1f} s")
    ratio = total_s / read_s
    print(f"read and decide the day:  median {total_s:.1f} s ({ratio:.1f}x the read), peak {peak_gb:.2f} GB")
    verdicts = ["met" if ok else "NOT met" for ok in (total_s < LIMIT_S, peak_gb < LIMIT_GB)]
    print(f"limits: {LIMIT_S:.0f} s {verdicts[0]}; {LIMIT_GB:.0f} GB {verdicts[1]}")


if __name__ == "__main__":
    main()
