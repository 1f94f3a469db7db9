"""The `transit` launcher (transit.cli): each subcommand starts from its own module, as in the whole."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import typer

from transit import cli
from transit.cli_app import app


def _params(command: Any) -> list[tuple[str | None, list[str], bool]]:
    return [(p.name, sorted(p.opts), p.required) for p in command.params]


def test_the_launcher_tables_name_every_subcommand_of_the_full_command() -> None:
    full: Any = typer.main.get_command(app)  # a group (Typer's own click)
    assert list(full.commands) == [*cli.COMMANDS, "demo", *cli.GROUPS]  # the order `transit --help` lists


def test_a_subcommand_started_alone_has_the_options_it_has_in_the_full_command() -> None:
    full: Any = typer.main.get_command(app)
    for name in [*cli.GROUPS, *cli.COMMANDS]:
        alone: Any = typer.main.get_command(cli.app_of(name))
        assert list(alone.commands) == [name]
        assert _params(alone.commands[name]) == _params(full.commands[name]), name
        for sub, command in getattr(full.commands[name], "commands", {}).items():
            assert _params(alone.commands[name].commands[sub]) == _params(command), (name, sub)


def test_the_command_modules_load_neither_gtfs_kit_nor_alembic_nor_the_api() -> None:
    # What each `transit NAME` imports before it runs: gtfs-kit (with folium and geopandas) is for the
    # commands that load a feed and Alembic for `transit db upgrade`, each only when it runs; FastAPI runs
    # in `transit serve`'s uvicorn.
    modules = sorted({module for module, _ in [*cli.GROUPS.values(), *cli.COMMANDS.values()]})
    script = f"import json, sys\nfor m in {modules!r}: __import__(m)\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    heavy = ("gtfs_kit", "folium", "alembic", "api", "fastapi")
    assert not {name for name in json.loads(run.stdout) if name.split(".")[0] in heavy}
