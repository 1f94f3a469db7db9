"""`transit synth`: write a made-up city for demos and benchmarks; bad input exits 2 with one line."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from transit.synth.city import City, build_city
from transit.synth.write import side_files, write_city

synth_app = typer.Typer(
    help="Synthetic data: a made-up city near Petropavl as a GTFS feed, with population and demand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@synth_app.callback()
def synth() -> None:
    """Synthetic data for demos and benchmarks."""


@synth_app.command("city")
def city(
    routes: Annotated[int, typer.Option("--routes", "-n", help="Number of bus routes, at least 1.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed and start date, same bytes.")],
    out: Annotated[Path, typer.Option("--out", help="The feed zip to write; side files go beside it.")],
    vehicles: Annotated[
        int | None,
        typer.Option(
            "--vehicles", help="Fleet at the weekday peak (default: what 10-minute peak headways need)."
        ),
    ] = None,
    start_date: Annotated[
        str | None,
        typer.Option("--start-date", metavar="YYYY-MM-DD", help="First service day (default: today)."),
    ] = None,
) -> None:
    """Write FEED.zip (GTFS, one year of service), FEED.population.csv and FEED.od.csv."""
    if routes < 1:
        _fail(f"--routes must be at least 1, got {routes}")
    if vehicles is not None and vehicles < 1:
        _fail(f"--vehicles must be at least 1, got {vehicles}")
    first_day = _parse_start_date(start_date)
    _check_writable(out)
    built = build_city(routes, seed, first_day, vehicles)
    try:
        write_city(built, out)
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc.strerror or exc}")
    typer.echo(_summary(built, out))


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _parse_start_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()  # the CLI edge owns the clock; the city itself never reads it
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"--start-date must be a date YYYY-MM-DD, got {value!r}")


def _check_writable(out: Path) -> None:
    """Fail before the build, not after it, when `out` cannot be written."""
    if out.is_dir():
        _fail(f"--out: {out} is a folder; give the path of the zip to write")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        _fail(f"--out: {blocker} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"--out: cannot create the folder {out.parent}: {exc.strerror or exc}")
    if not os.access(out.parent, os.W_OK):
        _fail(f"--out: the folder {out.parent} is not writable")


def _summary(built: City, out: Path) -> str:
    population_path, demand_path = side_files(out)
    people = int(built.population["population"].sum())
    return "\n".join(
        (
            f"wrote {out}",
            f"  agencies {len(built.agency)}, routes {len(built.routes)}, stops {len(built.stops)}, "
            f"trips {len(built.trips)}, stop_times {len(built.stop_times)}",
            f"  fleet: {built.blocks_at_peak} blocks at peak / {built.vehicles} vehicles",
            f"  population: {population_path} ({len(built.population)} cells, {people} people)",
            f"  demand: {demand_path} ({len(built.demand)} origin-destination pairs)",
        )
    )
