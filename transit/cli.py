"""The `transit` command: one entry point (transit.cli_app has the subcommands).

Some command groups start without the rest of the service's modules: `transit routes ...` (a planner's or a
researcher's evaluation of a route set takes milliseconds, and loading the whole service would take most of
two seconds before it) and `transit tickets ...` (the hotline's commands need neither gtfs-kit nor MQTT).
"""

from __future__ import annotations

import importlib
import sys

LIGHT = {  # group -> (module, Typer app)
    "routes": ("transit.routes_opt.commands", "routes_app"),
    "tickets": ("transit.tickets.commands", "tickets_app"),
}


def main() -> None:
    group = sys.argv[1] if len(sys.argv) > 1 else ""
    if group in LIGHT:
        import typer

        module, name = LIGHT[group]
        command = typer.main.get_command(getattr(importlib.import_module(module), name))
        command(args=sys.argv[2:], prog_name=f"transit {group}")
        return
    from transit.cli_app import app

    app()


if __name__ == "__main__":
    main()
