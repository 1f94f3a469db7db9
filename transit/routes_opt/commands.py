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
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw the clusters on the network to this .png (.svg, .pdf)")
    ] = None,
    buffer_m: Annotated[
        float, typer.Option("--buffer-m", min=1.0, help="Metres around a route's shape that count as on it")
    ] = 50.0,
    min_shared_stops: Annotated[
        int, typer.Option("--min-shared-stops", min=1, help="Shared stops that make routes collinear")
    ] = 8,
    near_share: Annotated[
        float, typer.Option("--near-share", min=0.0, max=1.0, help="Share that makes a near-duplicate")
    ] = 0.5,
    duplicate_share: Annotated[
        float, typer.Option("--duplicate-share", min=0.0, max=1.0, help="Share that makes a duplicate")
    ] = 0.8,
    walk_m: Annotated[
        float, typer.Option("--walk-m", min=0.0, help="Stops this close (metres) count as one stop")
    ] = 60.0,
    min_corridor_m: Annotated[
        float, typer.Option("--min-corridor-m", min=0.0, help="Metres along the other that a pair needs")
    ] = 250.0,
) -> None:
    """Which routes duplicate which: shared stops and segments in the same direction, the share of each
    route within a buffer of the other's shape, the clusters, and what to merge, cut back or drop."""
    from transit.console import parse_date_option  # the service's modules load only for this command
    from transit.gtfs.load import load_feed
    from transit.routes_opt.overlap import CANDIDATE_COLUMNS, PAIR_COLUMNS, OverlapRules
    from transit.routes_opt.planning import overlap_of_feed
    from transit.routes_opt.plot import PLOT_FORMATS, write_overlap_plot

    if near_share > duplicate_share:
        raise BadParameter(
            f"--near-share ({near_share}) must not exceed --duplicate-share ({duplicate_share})"
        )
    if plot is not None and plot.suffix.lower() not in PLOT_FORMATS:
        raise BadParameter(f"--plot: {plot} should end in {', '.join(PLOT_FORMATS)}")
    if plot is not None and not plot.parent.is_dir():
        raise BadParameter(f"--plot: the folder {plot.parent} does not exist")
    rules = OverlapRules(min_shared_stops, near_share, duplicate_share, buffer_m, min_corridor_m, walk_m)
    loaded = load_feed(feed)
    found = overlap_of_feed(loaded, None if date is None else parse_date_option(date), rules)
    report = found.report
    records, candidates = frame_to_records(report.pairs), frame_to_records(report.candidates)
    if plot is not None:
        try:
            write_overlap_plot(found.network(loaded.feed.stops), report.clusters, plot)
        except OSError as exc:
            raise BadParameter(f"--plot: cannot write {plot}: {exc.strerror or exc}") from None
    if fmt is OutputFormat.JSON:
        emit(render_json({"pairs": records, "clusters": report.clusters, "candidates": candidates}) + "\n")
        return
    emit(render_records(records, PAIR_COLUMNS, fmt))
    if fmt is OutputFormat.TABLE:
        emit(f"\n{len(report.clusters)} cluster(s) of duplicate or near-duplicate routes:\n")
        for number, group in enumerate(report.clusters, start=1):
            emit(f"  {number}. {', '.join(group)}\n")
        emit(f"\n{len(candidates)} candidate(s) to merge, drop or cut back, best first:\n")
        emit(render_records(candidates, CANDIDATE_COLUMNS, fmt))


@routes_app.command("scenario")
@user_errors
def scenario_command(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML: named operations (docs/routes.md)")],
    date: Annotated[str, typer.Option("--date", help="Service date the scenario changes (YYYY-MM-DD)")],
    demand: Annotated[
        Path | None,
        typer.Option("--demand", help="OD CSV: origin_stop_id, destination_stop_id, trips_per_day"),
    ] = None,
    population: Annotated[
        Path | None, typer.Option("--population", help="Population grid CSV: cell_id, lat, lon, population")
    ] = None,
    transfer_penalty: Annotated[
        float, typer.Option("--transfer-penalty", min=0.0, help="Minutes per change of vehicle")
    ] = 5.0,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """What a network change does: stops losing service, people and demand left without, vehicle-hours,
    vehicle-km and peak buses, and passengers' travel time and transfers, before and after."""
    from transit.console import parse_date_option  # the service's modules load only for this command
    from transit.gtfs.load import load_feed
    from transit.routes_opt.planning import day_network, figure_rows, run_scenario
    from transit.routes_opt.scenario_files import read_od, read_population, read_scenario_file

    service_date = parse_date_option(date)
    network = day_network(load_feed(feed), service_date)
    name, operations = read_scenario_file(scenario, network.routes, network.stop_ids)
    od = None if demand is None else read_od(demand, network.stop_ids)
    grid = None if population is None else read_population(population, network.places.origin)
    data = run_scenario(network, name, operations, od, grid, transfer_penalty)
    if fmt is OutputFormat.JSON:
        emit(render_json(data) + "\n")
        return
    emit(render_records(figure_rows(data), ("figure", "before", "after", "change"), fmt))
    if fmt is OutputFormat.TABLE:
        lost = data["stops_losing_service"]
        people = data["people_losing_service"]
        emit(f"\nScenario {name!r} on {service_date}: {len(operations)} operation(s) on "
             f"{', '.join(data['routes_changed'])}; demand: {data['demand_source']}\n")  # fmt: skip
        emit(f"Stops losing all service: {len(lost)}{': ' + ', '.join(lost[:20]) if lost else ''}"
             f"{', ...' if len(lost) > 20 else ''}\n")  # fmt: skip
        emit(f"Demand (trips/day) at those stops: {data['demand_losing_service']}\n")
        if people is not None:
            emit(f"People with no served stop within 400 m any more: {people}\n")
