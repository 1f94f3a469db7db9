"""Planners' tools over HTTP: duplicated routes and a redesign scenario on the feed in force, and a route set
on a benchmark instance; the same functions as `transit routes overlap|scenario|evaluate`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import SessionDep, StateDep, allow
from api.paging import CSV_RESPONSE, FormatQuery, ListFormat, csv_response
from api.schemas import OverlapOut, RouteSetCreate, RouteSetOut, ScenarioCreate, ScenarioOut
from transit.access.model import Principal, Role
from transit.errors import BadParameter, FeedNotFound
from transit.gtfs.model import FeedVersion
from transit.gtfs.store import find_feed_in_force
from transit.routes_opt.benchmark_files import check_routes
from transit.routes_opt.overlap import PAIR_COLUMNS, OverlapRules
from transit.routes_opt.passenger import evaluate_routes
from transit.routes_opt.planning import day_network, overlap_of_feed, run_scenario
from transit.routes_opt.scenario_files import parse_scenario

router = APIRouter(prefix="/v1/planning", tags=["planning"])
Planner = Annotated[Principal, Depends(allow(Role.PLANNER, Role.DEPARTMENT))]


@router.get(
    "/overlap",
    response_model=OverlapOut,
    responses=CSV_RESPONSE,
    summary="Which routes duplicate which on a date: pairs, clusters, candidates (csv: the pairs)",
)
def overlap(
    principal: Planner,
    session: SessionDep,
    state: StateDep,
    date: Annotated[dt.date, Query(description="Service date (the feed in force, that day's trips)")],
    buffer_m: Annotated[float, Query(ge=1, le=1000)] = 50.0,
    min_shared_stops: Annotated[int, Query(ge=1, le=1000)] = 8,
    near_share: Annotated[float, Query(ge=0, le=1)] = 0.5,
    duplicate_share: Annotated[float, Query(ge=0, le=1)] = 0.8,
    walk_m: Annotated[float, Query(ge=0, le=500)] = 60.0,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    if near_share > duplicate_share:
        raise BadParameter(f"near_share ({near_share}) must not exceed duplicate_share ({duplicate_share})")
    version = _version_in_force(session, date)
    rules = OverlapRules(min_shared_stops, near_share, duplicate_share, buffer_m, walk_m=walk_m)
    found = state.overlaps.get(
        (version.id, date, rules),
        lambda: overlap_of_feed(
            state.feeds.get(session, version.id, f"feed version {version.id}"), date, rules, "date"
        ),
    )
    data = found.as_data()
    if fmt is ListFormat.CSV:
        return csv_response(data["pairs"], PAIR_COLUMNS, f"overlap-{date.isoformat()}")
    return {**data, "feed_version_id": version.id, "service_date": date}


def _version_in_force(session: Session, date: dt.date) -> FeedVersion:
    version = find_feed_in_force(session, date)
    if version is None:
        raise FeedNotFound(f"no stored feed version is in force on {date.isoformat()}")
    return version


@router.post(
    "/scenarios",
    response_model=ScenarioOut,
    summary="What a network change would do, before and after (nothing is stored)",
)
def scenario(principal: Planner, session: SessionDep, state: StateDep, body: ScenarioCreate) -> Any:
    version = _version_in_force(session, body.date)
    network = state.networks.get(
        (version.id, body.date),
        lambda: day_network(
            state.feeds.get(session, version.id, f"feed version {version.id}"), body.date, "date"
        ),
    )
    given = [op.model_dump(exclude_none=True, by_alias=True) for op in body.operations]
    name, operations = parse_scenario(
        {"name": body.name, "operation": given}, "body", network.routes, network.stop_ids
    )
    demand = None
    if body.demand is not None:
        demand = _demand(body, network.stop_ids)
    report = run_scenario(network, name, operations, demand, None, body.transfer_penalty_min)
    return {**report, "feed_version_id": version.id}


def _demand(body: ScenarioCreate, stops: frozenset[str]) -> Any:
    import pandas as pd

    rows = body.demand or []
    for k, row in enumerate(rows):
        for key in ("origin_stop_id", "destination_stop_id"):
            if getattr(row, key) not in stops:
                raise BadParameter(
                    f"body, demand[{k}].{key}: {getattr(row, key)!r} is not a stop of the feed"
                )
    return pd.DataFrame(
        [row.model_dump() for row in rows], columns=["origin_stop_id", "destination_stop_id", "trips"]
    )


@router.post(
    "/route-sets/evaluate",
    response_model=RouteSetOut,
    summary="ATT, TRT, d0, d1, d2, dun of a route set on a benchmark instance",
)
def evaluate(principal: Planner, body: RouteSetCreate) -> Any:
    n = len(body.network)
    for name, matrix in (("network", body.network), ("demand", body.demand)):
        if len(matrix) != n or any(len(row) != n for row in matrix):
            raise BadParameter(f"body, {name}: must be {n} rows of {n} values (as many as network's rows)")
    times = np.array([[np.inf if v is None else v for v in row] for row in body.network], dtype=np.float64)
    demand = np.array(body.demand, dtype=np.float64)
    for label, values, finite in (("network", times, False), ("demand", demand, True)):
        bad = np.argwhere(~(values >= 0) | (finite & np.isinf(values)))
        if bad.size:
            i, j = bad[0]
            raise BadParameter(f"body, {label}[{i}][{j}]: must be a number >= 0")
    routes = check_routes([list(r) for r in body.routes], times, lambda k: f"body, routes[{k}]")
    return evaluate_routes(times, demand, routes, body.transfer_penalty).as_published()
