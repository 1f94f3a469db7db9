"""`transit routes evaluate`: a route set's passenger metrics on a benchmark instance (entry point)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transit.console import FormatOption, emit, user_errors
from transit.errors import BadParameter
from transit.render import OutputFormat, frame_to_records, render_json, render_records
from transit.routes_opt.benchmark_files import read_matrix, read_routes
from transit.routes_opt.passenger import evaluate_routes

routes_app = typer.Typer(help="Route analysis for planners.", no_args_is_help=True)
METRICS = ("ATT", "TRT", "d0", "d1", "d2", "dun")


@routes_app.callback()
def routes() -> None:
    """Route analysis for planners: a route set evaluated for passengers (duplicates, scenarios: to come)."""


@routes_app.command("evaluate")
@user_errors
def evaluate_command(
    network: Annotated[Path, typer.Option("--network", help="Travel-time matrix (minutes; Inf: no link)")],
    demand: Annotated[Path, typer.Option("--demand", help="Demand matrix (trips)")],
    routes: Annotated[Path, typer.Option("--routes", help="One route per line, 1-based node ids")],
    transfer_penalty: Annotated[
        float, typer.Option("--transfer-penalty", min=0.0, help="Minutes per change of route")
    ] = 5.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """ATT, TRT, d0, d1, d2, dun of a route set, as the route network design literature computes them."""
    times = read_matrix(network, "--network", links=True)
    wanted = read_matrix(demand, "--demand", links=False)
    if wanted.shape != times.shape:
        raise BadParameter(f"--demand: {demand} is {wanted.shape[0]} x {wanted.shape[0]}; --network is "
                           f"{times.shape[0]} x {times.shape[0]}")  # fmt: skip
    metrics = evaluate_routes(times, wanted, read_routes(routes, "--routes", times), transfer_penalty)
    published = metrics.as_published()
    if fmt is OutputFormat.JSON:
        emit(render_json(published) + "\n")
    else:
        emit(render_records([published], METRICS, fmt))


@routes_app.command("overlap")
@user_errors
def overlap_command(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    date: Annotated[
        str | None, typer.Option("--date", help="Only the trips of this service date (YYYY-MM-DD)")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Which routes duplicate which: shared stops and segments in the same direction, and the clusters."""
    from transit.console import parse_date_option  # the service's modules load only for this command
    from transit.gtfs.load import load_feed
    from transit.routes_opt.overlap import PAIR_COLUMNS, build_patterns, cluster_routes, compute_overlap

    loaded = load_feed(feed)
    trips = loaded.feed.trips
    if date is not None:
        day = loaded.day_plan(parse_date_option(date))
        if day.empty:
            raise BadParameter(f"--date: the feed schedules no trip on {date}")
        trips = trips[trips["trip_id"].isin(set(day["trip_id"]))]
    stop_times = loaded.feed.stop_times
    pairs = compute_overlap(
        build_patterns(trips, stop_times[stop_times["trip_id"].isin(set(trips["trip_id"]))])
    )
    clusters = cluster_routes(pairs)
    records = frame_to_records(pairs)
    if fmt is OutputFormat.JSON:
        emit(render_json({"pairs": records, "clusters": clusters}) + "\n")
        return
    emit(render_records(records, PAIR_COLUMNS, fmt))
    if fmt is OutputFormat.TABLE:
        emit(f"\n{len(clusters)} cluster(s) of duplicate or near-duplicate routes:\n")
        for number, group in enumerate(clusters, start=1):
            emit(f"  {number}. {', '.join(group)}\n")
