"""Passenger metrics of route sets: the published Mandl numbers, and the conventions behind them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support import SHARED_DATA
from transit.routes_opt.benchmark_files import read_matrix
from transit.routes_opt.passenger import compute_journeys, evaluate_routes

PUBLISHED = SHARED_DATA / "utrp" / "mandl" / "published.json"


def _sets() -> list[dict[str, object]]:
    if not PUBLISHED.is_file():
        return []
    sets: list[dict[str, object]] = json.loads(PUBLISHED.read_text(encoding="utf-8"))["route_sets"]
    return sets


@pytest.mark.parametrize("route_set", _sets(), ids=lambda s: str(s["id"]))
def test_every_published_mandl_route_set_is_reproduced_to_the_printed_precision(
    route_set: dict[str, object], shared_data: Path
) -> None:
    folder = shared_data / "utrp" / "mandl"
    times = read_matrix(folder / "MandlTravelTimes.txt", "--network", links=True)
    demand = read_matrix(folder / "MandlDemand.txt", "--demand", links=False)
    routes = [[node - 1 for node in route] for route in route_set["routes_1based"]]  # type: ignore[attr-defined]
    assert evaluate_routes(times, demand, routes, 5.0).as_published() == route_set["published"]


def test_the_ten_published_sets_are_all_there(shared_data: Path) -> None:
    assert len(_sets()) == 10


LINE = np.array([[0, 2, np.inf, np.inf], [2, 0, 3, np.inf], [np.inf, 3, 0, 4], [np.inf, np.inf, 4, 0]])


def test_a_change_of_route_costs_the_penalty_and_the_first_boarding_is_free() -> None:
    journeys = compute_journeys(LINE, [[0, 1, 2], [2, 3]], transfer_penalty=5.0)
    assert journeys.time[0, 2] == 5.0 and journeys.transfers[0, 2] == 0
    assert journeys.time[0, 3] == 2 + 3 + 4 + 5.0 and journeys.transfers[0, 3] == 1
    assert journeys.time[3, 0] == journeys.time[0, 3]  # routes run both ways


def test_among_equally_fast_journeys_the_one_with_fewer_transfers_counts() -> None:
    # 0-1-2 on one route, or 0-1 then 1-2 on two: same time without a penalty, fewer transfers wins.
    journeys = compute_journeys(LINE, [[0, 1], [1, 2], [0, 1, 2]], transfer_penalty=0.0)
    assert journeys.time[0, 2] == 5.0 and journeys.transfers[0, 2] == 0


def test_demand_without_any_journey_is_unserved_and_left_out_of_att() -> None:
    demand = np.zeros((4, 4))
    demand[0, 1] = demand[0, 3] = 50
    metrics = evaluate_routes(LINE, demand, [[0, 1]])
    assert (metrics.att, metrics.d0, metrics.dun) == (2.0, 50.0, 50.0)
