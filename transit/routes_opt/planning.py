"""A scenario run on a stored or given feed (the CLI and the HTTP API share it): one service date's services,
the operations, and the report as plain data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import pandas as pd

from transit.errors import BadParameter
from transit.gtfs.load import LoadedFeed
from transit.render import frame_to_records
from transit.routes_opt.overlap import OverlapReport, OverlapRules, build_overlap_report
from transit.routes_opt.scenario import (
    Figures,
    Operation,
    Places,
    ScenarioReport,
    Service,
    evaluate_scenario,
    places_of,
)

FIGURES = tuple(f.name for f in dataclasses.fields(Figures))


@dataclasses.dataclass(frozen=True, slots=True)
class DayNetwork:
    """One service date of a feed as the scenario engine sees it."""

    service_date: dt.date
    services: list[Service]
    places: Places
    routes: pd.DataFrame
    stop_ids: frozenset[str]


def day_network(loaded: LoadedFeed, service_date: dt.date, date_name: str = "--date") -> DayNetwork:
    """The services of `service_date`; BadParameter naming `date_name` when the feed runs nothing that day."""
    from transit.routes_opt.scenario import build_services

    plan = loaded.day_plan(service_date)
    if plan.empty:
        raise BadParameter(f"{date_name}: the feed schedules no trip on {service_date}")
    feed = loaded.feed
    return DayNetwork(
        service_date,
        build_services(plan, feed.stop_times),
        places_of(feed.stops),
        feed.routes,
        frozenset(feed.stops["stop_id"].astype(str)),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class FeedOverlap:
    """`transit routes overlap` of a feed (on one service date, or over all its trips), with what a plot
    needs."""

    report: OverlapReport
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    instances: pd.Series | None

    def network(self, stops: pd.DataFrame) -> nx.DiGraph:
        """The network graph the clusters are drawn on."""
        from transit.routes_opt.network import build_network

        return build_network(stops, self.stop_times, self.report.stop_clusters, self.trips, self.instances)

    def as_data(self) -> dict[str, Any]:
        return {
            "pairs": frame_to_records(self.report.pairs),
            "clusters": self.report.clusters,
            "candidates": frame_to_records(self.report.candidates),
        }


def overlap_of_feed(
    loaded: LoadedFeed, service_date: dt.date | None, rules: OverlapRules, date_name: str = "--date"
) -> FeedOverlap:
    """Which routes duplicate which in `loaded` (on `service_date`: its trips, frequency runs counted);
    BadParameter naming `date_name` when the feed runs nothing that day."""
    trips, instances = loaded.feed.trips, None
    if service_date is not None:
        day = loaded.day_plan(service_date)
        if day.empty:
            raise BadParameter(f"{date_name}: the feed schedules no trip on {service_date}")
        instances = day["trip_id"].value_counts()
        trips = trips[trips["trip_id"].isin(instances.index)]
    stop_times = loaded.feed.stop_times[loaded.feed.stop_times["trip_id"].isin(set(trips["trip_id"]))]
    report = build_overlap_report(trips, stop_times, loaded.feed.stops, loaded.feed.shapes, rules, instances)
    return FeedOverlap(report, trips, stop_times, instances)


def run_scenario(
    network: DayNetwork,
    name: str,
    operations: Sequence[Operation],
    demand: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
    transfer_penalty_min: float = 5.0,
) -> dict[str, Any]:
    """The scenario's report as plain data: before, after and change of every figure, the stops losing all
    service, the people and demand they leave without, and the operations applied."""
    report = evaluate_scenario(
        network.services, operations, network.places, demand, population, transfer_penalty_min
    )
    return report_data(report, name, network.service_date, operations, transfer_penalty_min)


def report_data(
    report: ScenarioReport,
    name: str,
    service_date: dt.date,
    operations: Sequence[Operation],
    transfer_penalty_min: float,
) -> dict[str, Any]:
    """ScenarioReport as plain data (run_scenario)."""
    before, after = _plain(dataclasses.asdict(report.before)), _plain(dataclasses.asdict(report.after))
    return {
        "scenario": name,
        "service_date": service_date.isoformat(),
        "operations": [{"kind": type(op).__name__.lower(), **dataclasses.asdict(op)} for op in operations],
        "routes_changed": report.routes_changed,
        "transfer_penalty_min": transfer_penalty_min,
        "demand_source": report.demand_source,
        "before": before,
        "after": after,
        "change": {key: _difference(after[key], before[key]) for key in FIGURES},
        "att_served_both": {"before": report.att_served_both[0], "after": report.att_served_both[1]},
        "stops_losing_service": report.lost_stops,
        "people_losing_service": report.people_losing,
        "demand_losing_service": report.demand_losing,
    }


def figure_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: figure, before, after, change (the table and CSV view of a report)."""
    return [
        {
            "figure": key,
            "before": data["before"][key],
            "after": data["after"][key],
            "change": data["change"][key],
        }
        for key in FIGURES
    ]


def _plain(figures: dict[str, Any]) -> dict[str, Any]:
    """NaN (no demand can travel) as None, which JSON can carry."""
    return {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in figures.items()
    }


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 2)
