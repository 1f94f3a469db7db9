"""`transit routes evaluate`: a route set's passenger metrics on a benchmark instance (entry point)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transit.console import FormatOption, emit, user_errors
from transit.errors import BadParameter
from transit.render import OutputFormat, render_json, render_records
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
