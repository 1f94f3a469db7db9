"""The `transit` command: one entry point (transit.cli_app has the subcommands).

`transit routes ...` starts without the service's modules (pandas, gtfs-kit, the database, MQTT): a
planner's or a researcher's evaluation of a route set takes milliseconds, and loading the whole service
would take most of two seconds before it.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["routes"]:
        import typer

        from transit.routes_opt.commands import routes_app

        command = typer.main.get_command(routes_app)
        command(args=sys.argv[2:], prog_name="transit routes")
        return
    from transit.cli_app import app

    app()


if __name__ == "__main__":
    main()
