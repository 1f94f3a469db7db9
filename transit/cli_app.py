"""The whole `transit` command, for `transit --help` and `transit demo` (transit.cli starts it, and starts
any other subcommand from its own module alone). Bad input exits 2 with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transit.cli import COMMANDS, GROUPS, load_command, load_group
from transit.console import emit, user_errors
from transit.demo import run_demo
from transit.gtfs.commands import render_summary
from transit.render import OutputFormat

app = typer.Typer(
    help="Transit compliance service: GTFS day plans, trip verdicts, carrier contracts, 109 tickets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in GROUPS:
    app.add_typer(load_group(group), name=group)
for command in COMMANDS:
    app.command(command)(load_command(command))


@app.command("demo")
@user_errors
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its feed and database")
    ] = Path("demo"),
    routes: Annotated[int, typer.Option("--routes", min=1, help="Routes of the synthetic city")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic city")] = 7,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the API running at the end, until Ctrl-C")
    ] = False,
) -> None:
    """The service working on a synthetic city: feed, day plan, simulated buses, ingest, verdicts,
    contracts, the ledger and the HTTP API."""
    run_demo(
        directory, routes, seed, emit, lambda carriers: render_summary(carriers, OutputFormat.TABLE), serve
    )
