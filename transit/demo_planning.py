"""The demo's planning step: the synthetic city's duplicated routes, and the best candidate tried as a
scenario with the city's OD demand and population grid (what `transit routes overlap|scenario` print)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from transit.gtfs.load import LoadedFeed
from transit.render import OutputFormat, render_records
from transit.routes_opt.overlap import OverlapRules
from transit.routes_opt.planning import day_network, figure_rows, overlap_of_feed, run_scenario
from transit.routes_opt.plot import write_overlap_plot
from transit.routes_opt.scenario import Drop, Merge, Operation
from transit.routes_opt.scenario_files import read_od, read_population
from transit.synth.write import side_files


def show_planning(
    feed: Path, loaded: LoadedFeed, today: dt.date, directory: Path, emit: Callable[[str], None]
) -> None:
    """Print the duplicate clusters and the top candidates, draw them, and try the best drop (else merge)."""
    found = overlap_of_feed(loaded, today, OverlapRules())
    report = found.report
    picture = directory / "overlap.png"
    write_overlap_plot(found.network(loaded.feed.stops), report.clusters, picture)
    emit(
        f"\n11. Planning: {len(report.pairs)} pairs of routes overlap on {today}; {len(report.clusters)} "
        f"cluster(s) of duplicate or near-duplicate routes (drawn in {picture}):\n"
    )
    for number, group in enumerate(report.clusters, start=1):
        emit(f"   {number}. {', '.join(group)}\n")
    candidates = report.candidates
    for row in candidates.head(3).itertuples(index=False):
        emit(f"   candidate: {row.action} {row.route_id} ({row.reason}; {row.duplicated_vehicle_km:,.0f} "
             "vehicle-km a day on the other's corridor)\n")  # fmt: skip
    emit(f"   All pairs: transit routes overlap {feed} --date {today} --plot {picture}\n")
    tried = candidates[candidates["action"] == "drop"].head(1)
    if tried.empty:
        tried = candidates[candidates["action"] == "merge"].head(1)
    if tried.empty:
        emit("   No route to drop or merge: every overlap is partial.\n")
        return
    action, route, other = (str(tried.iloc[0][k]) for k in ("action", "route_id", "other_route_id"))
    operation: Operation = (
        Drop(f"drop {route}", route)
        if action == "drop"
        else Merge(f"merge {route} into {other}", route, other)
    )
    _scenario(feed, loaded, today, directory, operation, emit)


def _scenario(
    feed: Path,
    loaded: LoadedFeed,
    today: dt.date,
    directory: Path,
    operation: Operation,
    emit: Callable[[str], None],
) -> None:
    network = day_network(loaded, today)
    population_path, demand_path = side_files(feed)
    demand = read_od(demand_path, network.stop_ids)
    population = read_population(population_path, network.places.origin)
    data = run_scenario(network, operation.name, [operation], demand, population)
    scenario = directory / "scenario.toml"
    fields = {"kind": type(operation).__name__.lower(), "route": operation.route}
    if isinstance(operation, Merge):
        fields["into"] = operation.into
    scenario.write_text(
        f'name = "{operation.name}"\n[[operation]]\n' + "".join(f'{k} = "{v}"\n' for k, v in fields.items()),
        encoding="utf-8",
    )
    emit(f"\n   Scenario '{operation.name}' with the city's OD demand ({len(demand):,} stop pairs) and "
         "population grid:\n\n")  # fmt: skip
    table = render_records(figure_rows(data), ("figure", "before", "after", "change"), OutputFormat.TABLE)
    emit("".join(f"   {line}\n" for line in table.splitlines()))
    served = data["att_served_both"]
    emit(
        f"\n   Stops losing all service: {len(data['stops_losing_service'])}; demand there: "
        f"{data['demand_losing_service']:,.0f} trips a day; people with no stop within 400 m any more: "
        f"{data['people_losing_service']:,}; riders who keep a journey: {served['before']} -> "
        f"{served['after']} min\n"
        f"   Try it yourself: transit routes scenario {feed} {scenario} --date {today} "
        f"--demand {demand_path} --population {population_path}\n"
    )
