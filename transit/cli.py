"""The `transit` command: one entry point (transit.cli_app assembles every subcommand).

Starting Python with the whole service loaded (pandas, gtfs-kit, SciPy, Alembic, FastAPI, ...) takes most of
two seconds, and a planner's `transit routes evaluate` or an operator's `transit keys create` needs a small
part of it. So `transit NAME ...` loads only the module that defines NAME (the tables below); anything else
(`transit`, `transit --help`, `transit demo`, a typo) loads `transit.cli_app`, which builds the whole command
from the same tables, in their order.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import typer

GROUPS = {  # group -> (module, Typer app)
    "db": ("transit.db_commands", "db_app"),
    "gtfs": ("transit.gtfs.commands", "gtfs_app"),
    "synth": ("transit.synth.cli", "synth_app"),
    "ledger": ("transit.ledger.commands", "ledger_app"),
    "contracts": ("transit.contracts.commands", "contracts_app"),
    "disputes": ("transit.contracts.commands", "disputes_app"),
    "carriers": ("transit.contracts.commands", "carriers_app"),
    "notices": ("transit.contracts.commands", "notices_app"),
    "vehicles": ("transit.contracts.commands", "vehicles_app"),
    "exemptions": ("transit.contracts.commands", "exemptions_app"),
    "keys": ("transit.access.commands", "keys_app"),
    "tickets": ("transit.tickets.commands", "tickets_app"),
    "routes": ("transit.routes_opt.commands", "routes_app"),
}
COMMANDS = {  # command -> (module, function); each runs inside console.user_errors
    "enforce": ("transit.contracts.commands", "enforce_command"),
    "ingest": ("transit.telemetry.commands", "ingest_command"),
    "replay": ("transit.telemetry.commands", "replay_command"),
    "simulate": ("transit.telemetry.sim_cli", "simulate_command"),
    "detect": ("transit.matching.commands", "detect_command"),
    "match": ("transit.matching.commands", "match_command"),
    "serve": ("transit.serve", "serve_command"),
}


def load_group(name: str) -> typer.Typer:
    """The Typer app of a command group, importing only its module."""
    module, attribute = GROUPS[name]
    app: typer.Typer = getattr(importlib.import_module(module), attribute)
    return app


def load_command(name: str) -> Callable[..., Any]:
    """A top-level command's function, importing only its module, wrapped to turn user errors into exit 2."""
    from transit.console import user_errors

    module, attribute = COMMANDS[name]
    command: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return user_errors(command)


def app_of(name: str) -> typer.Typer:
    """`transit` holding only the group or command NAME, imported from its own module alone."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.callback()(_transit)  # a group even around a single command, as in the full command
    if name in GROUPS:
        app.add_typer(load_group(name), name=name)
    else:
        app.command(name)(load_command(name))
    return app


def _transit() -> None:
    """The `transit` command, started for one subcommand."""


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in GROUPS or name in COMMANDS:
        app = app_of(name)
    else:
        from transit.cli_app import app
    app()


if __name__ == "__main__":
    main()
