"""Passenger metrics of a route set (pure): the journeys passengers would make over the routes, and what they
cost them. One implementation serves the scenario engine and the benchmark evaluator.

Conventions (those of the transit route network design literature, which reproduce the published Mandl
numbers): every route runs both ways along its node sequence; riding costs the link times; changing routes at
a node costs `transfer_penalty` minutes; there is no initial wait. A passenger takes the fastest journey, and
among equally fast ones the one with fewest transfers. Then, over origin-destination pairs with demand:

- ATT: demand-weighted mean journey time (transfer penalties included) over the demand that can travel;
- d0, d1, d2: share of all demand (%) travelling with 0, 1, 2 transfers; dun: 3 or more, or no journey;
- TRT: the sum of the routes' one-way times.

The journeys are shortest paths in the route graph: a hub per node, a copy of each node per route through
it; boarding (hub to copy) costs the penalty, alighting costs one "tick", so that one number per path orders
journeys by time, then by transfers (every boarding has its alighting). The first boarding is free.

>>> times = np.array([[0, 2, np.inf], [2, 0, 3], [np.inf, 3, 0]])
>>> demand = np.array([[0, 10, 10], [10, 0, 0], [10, 0, 0]])
>>> m = evaluate_routes(times, demand, [[0, 1], [1, 2]])
>>> (m.att, m.trt, m.d0, m.d1, m.d2, m.dun)  # 0-1: 2 min direct; 0-2: 2 + 3 + a 5-minute change
(6.0, 5.0, 50.0, 50.0, 0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from transit.errors import BadParameter

FloatMatrix = npt.NDArray[np.float64]
_TICKS = 1 << 16  # journey cost = time * _TICKS + boardings: exact while times are whole (scaled) numbers


@dataclass(frozen=True, slots=True)
class PassengerMetrics:
    """The literature's metrics of a route set (module docstring); shares in percent, times in minutes."""

    att: float
    trt: float
    d0: float
    d1: float
    d2: float
    dun: float

    def as_published(self) -> dict[str, float | int]:
        """The keys ATT, TRT, d0, d1, d2, dun, rounded as the literature prints them."""
        trt: float | int = int(self.trt) if float(self.trt).is_integer() else round(self.trt, 2)
        return {
            "ATT": round(self.att, 2),
            "TRT": trt,
            "d0": round(self.d0, 2),
            "d1": round(self.d1, 2),
            "d2": round(self.d2, 2),
            "dun": round(self.dun, 2),
        }


@dataclass(frozen=True, slots=True)
class Journeys:
    """Per origin-destination pair: the fastest journey's time (inf: none) and its transfers (-1: none)."""

    time: FloatMatrix
    transfers: npt.NDArray[np.int64]


def route_time(times: FloatMatrix, route: Sequence[int]) -> float:
    """One-way time of a route along its nodes."""
    return float(sum(times[a, b] for a, b in zip(route[:-1], route[1:], strict=True)))


@dataclass(frozen=True, slots=True)
class Line:
    """A line passengers can ride: its nodes in order, the ride time of each leg, the wait to board it, and
    whether it also runs back along the same nodes (the literature's routes do; a GTFS pattern does not)."""

    nodes: Sequence[int]
    rides: Sequence[float]
    wait: float = 0.0
    both_ways: bool = True


def compute_journeys(
    times: FloatMatrix, routes: Sequence[Sequence[int]], transfer_penalty: float
) -> Journeys:
    """The fastest journey between every pair of nodes over `routes` (module docstring)."""
    lines = [
        Line(route, [times[a, b] for a, b in zip(route[:-1], route[1:], strict=True)]) for route in routes
    ]
    return journeys_over(times.shape[0], lines, transfer_penalty)


def journeys_over(
    nodes: int, lines: Sequence[Line], transfer_penalty: float, origins: npt.ArrayLike | None = None
) -> Journeys:
    """The fastest journey from each of `origins` (default: every node) to every node over `lines`.

    Boarding a line costs its wait plus the penalty; the penalty of the first boarding is taken off again.
    Rows of nodes that are not origins are left unreachable.
    """
    scale = _whole_scale([*(r for line in lines for r in line.rides), *(line.wait for line in lines)],
                         transfer_penalty)  # fmt: skip
    boarding = round(transfer_penalty * scale) * _TICKS
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    copy = nodes
    for line in lines:
        board = boarding + round(line.wait * scale) * _TICKS
        for position, node in enumerate(line.nodes):
            rows += [node, copy]  # board (wait and penalty), alight (a tick)
            cols += [copy, node]
            weights += [board, 1]
            if position:
                ride = round(line.rides[position - 1] * scale) * _TICKS
                rows.append(copy - 1)
                cols.append(copy)
                weights.append(ride)
                if line.both_ways:
                    rows.append(copy)
                    cols.append(copy - 1)
                    weights.append(ride)
            copy += 1
    graph = csr_matrix((np.asarray(weights, dtype=np.float64), (rows, cols)), shape=(copy, copy))
    sources = np.arange(nodes) if origins is None else np.unique(np.asarray(origins, dtype=np.int64))
    cost = np.full((nodes, nodes), np.inf)
    if sources.size:
        cost[sources] = dijkstra(graph, directed=True, indices=sources)[:, :nodes]
    reachable = np.isfinite(cost)
    ticks = np.mod(np.where(reachable, cost, 0.0), _TICKS).astype(np.int64)  # boardings
    time_ticks = np.where(reachable, cost - ticks - boarding, np.inf)  # the first penalty is not a transfer
    time = time_ticks / _TICKS / scale
    transfers = np.where(reachable, ticks - 1, -1)
    np.fill_diagonal(time, 0.0)
    np.fill_diagonal(transfers, 0)
    return Journeys(time, transfers)


def journey_shares(journeys: Journeys, demand: FloatMatrix) -> tuple[float, float, float, float, float]:
    """ATT over the demand that can travel, and the shares (%) of all demand with 0, 1, 2 transfers and with
    3 or more or no journey (the module docstring's d0, d1, d2, dun)."""
    wanted = demand.astype(np.float64).copy()
    np.fill_diagonal(wanted, 0.0)
    total = float(wanted.sum())
    t = journeys.transfers
    served = wanted * (t >= 0)
    served_total = float(served.sum())
    riding = float((served * np.where(t >= 0, journeys.time, 0.0)).sum())
    att = riding / served_total if served_total else float("nan")

    def share(mask: npt.NDArray[np.bool_]) -> float:
        return 100.0 * float(wanted[mask].sum()) / total if total else 0.0

    return att, share(t == 0), share(t == 1), share(t == 2), share((t >= 3) | (t < 0))


def evaluate_routes(
    times: FloatMatrix,
    demand: FloatMatrix,
    routes: Sequence[Sequence[int]],
    transfer_penalty: float = 5.0,
) -> PassengerMetrics:
    """ATT, TRT, d0, d1, d2 and dun of `routes` (0-based node sequences) on a network of link `times`
    (minutes, inf where there is no link) with an origin-destination `demand` matrix."""
    att, d0, d1, d2, dun = journey_shares(compute_journeys(times, routes, transfer_penalty), demand)
    return PassengerMetrics(
        att=att, trt=sum(route_time(times, r) for r in routes), d0=d0, d1=d1, d2=d2, dun=dun
    )


def _whole_scale(values: Sequence[float], transfer_penalty: float) -> int:
    """The power of ten (up to 1000) that makes every ride and wait time, and the penalty, whole."""
    scaled = np.asarray([*values, transfer_penalty], dtype=np.float64)
    for scale in (1, 10, 100, 1000):
        if np.allclose(scaled * scale, np.round(scaled * scale), rtol=0.0, atol=1e-9):
            return scale
    raise BadParameter(
        "ride times, waits and the transfer penalty need at most 3 decimals for exact journeys"
    )
