"""Benchmark: the matcher on a real day, against what the real trackers reported.

Data: ../shared/data/capmetro_austin_2015-06-07 (Capital Metro, Austin, Sunday 2015-06-07; 45,134 pings about
2 minutes apart; a feed rebuilt from the schedule extracts: no shapes, no blocks). `detect_day` runs with
the trip ids ignored (as `transit detect --ignore-trip-ids`); then:

- agreement: of the (vehicle, trip) pairs that the trackers reported with at least 5 pings and whose trip is
  in the day's plan, the share the matcher assigned to that vehicle (goal: at least 97%);
- unreported: of the matcher's own (vehicle, trip) assignments, the share that no tracker reported at all
  (goal: at most 5%);
- reported trips outside the plan (other feed versions) are counted apart, and the verdicts are tallied
  by hour, so that the thin morning shows as no_data rather than missed.

    python bench/bench_capmetro.py [--data DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from pathlib import Path

import pandas as pd

from transit.gtfs.load import load_feed
from transit.matching.detect import detect_day
from transit.telemetry.files import read_ping_file

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "capmetro_austin_2015-06-07"
DAY = dt.date(2015, 6, 7)
MIN_PINGS = 5


def reported_pairs(pings: pd.DataFrame) -> pd.DataFrame:
    """(vehicle_id, trip_id) with their ping counts, as the trackers reported them."""
    named = pings.dropna(subset=["trip_id"])
    counts = named.groupby(["vehicle_id", "trip_id"], observed=True).size().rename("pings").reset_index()
    return counts.astype({"vehicle_id": str, "trip_id": str})


def assigned_pairs(trips: pd.DataFrame) -> pd.DataFrame:
    """(vehicle_id, trip_id) the matcher assigned."""
    ran = trips.dropna(subset=["vehicle_ids"])[["trip_id", "vehicle_ids"]]
    ran = ran.assign(vehicle_id=ran["vehicle_ids"].astype(str).str.split(",")).explode("vehicle_id")
    return ran[["vehicle_id", "trip_id"]].astype(str).drop_duplicates()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(f"{dt.date.today()} on {platform.node()} ({platform.processor() or platform.machine()})")
    loaded = load_feed(args.data / "capmetro_reconstructed_gtfs.zip")
    ping_file = read_ping_file(args.data / "vehicle_positions_2015-06-07.csv")
    plan = loaded.day_plan(DAY)
    started = time.perf_counter()
    detection = detect_day(loaded.feed, plan, ping_file.pings, use_trip_ids=False)
    seconds = time.perf_counter() - started
    reported = reported_pairs(ping_file.pings)
    in_plan = reported["trip_id"].isin(set(plan["trip_id"].astype(str)))
    judged = reported[in_plan & (reported["pings"] >= MIN_PINGS)]
    assigned = assigned_pairs(detection.trips)
    agree = judged.merge(assigned, on=["vehicle_id", "trip_id"], how="left", indicator=True)
    agreement = float((agree["_merge"] == "both").mean()) if len(agree) else 1.0
    unseen = assigned.merge(reported, on=["vehicle_id", "trip_id"], how="left", indicator=True)
    unreported = float((unseen["_merge"] == "left_only").mean()) if len(unseen) else 0.0
    print(f"{len(ping_file.pings):,} pings, {len(plan):,} trips planned on {DAY}, detect {seconds:.1f} s")
    print(
        f"reported (vehicle, trip) pairs: {len(reported):,}; outside the plan {int((~in_plan).sum()):,};"
        f" in the plan with >= {MIN_PINGS} pings {len(judged):,}"
    )
    print(f"agreement with the trackers: {agreement:.4f} (goal >= 0.97)")
    print(f"assignments no tracker reported: {unreported:.4f} of {len(assigned):,} (goal <= 0.05)")
    trips = detection.trips
    hours = pd.to_datetime(trips["start_at"], utc=True).dt.tz_convert("America/Chicago").dt.hour
    table = pd.crosstab(hours.rename("hour"), trips["verdict"])
    print(table.to_string())
    print(trips.groupby(["verdict", "reason"]).size().to_string())


if __name__ == "__main__":
    main()
