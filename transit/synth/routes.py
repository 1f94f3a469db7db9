"""Bus routes over the streets: distant terminals joined by preferred streets, and near-duplicate branches."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from transit.synth.streets import ARTERIAL_FACTOR, Streets

_ROUTE_NOISE = (0.85, 1.2)  # per-route street preference, so that routes do not all take the same streets
_STOPS_PER_DIRECTION = (15, 40)
_TERMINAL_HOPS = (16, 36)
_NEAR_DUPLICATE_SHARE = 0.17
_NEAR_DUPLICATE_SHARED = 0.6  # the Jaccard index of street segments a near-duplicate keeps, at least


@dataclass(frozen=True, slots=True)
class Line:
    """A route's path over the streets, as intersections in direction 0."""

    route_id: str
    nodes: tuple[int, ...]
    frequency_based: bool = False


def lay_out_lines(streets: Streets, routes: int, rng: np.random.Generator) -> list[Line]:
    """`routes` lines: base routes kept apart, near-duplicates of some, one base run by frequency if 2+."""
    duplicates = round(routes * _NEAR_DUPLICATE_SHARE) if routes >= 3 else 0
    bases = routes - duplicates
    paths = _route_paths(streets, bases, rng)
    frequency = int(rng.integers(bases)) if bases >= 2 else -1
    candidates = np.array([k for k in range(bases) if k != frequency], dtype=np.int64)
    parents = rng.choice(candidates, size=duplicates, replace=False)  # 0.17 N < 0.83 N - 1 for N >= 3
    lines: list[Line] = []
    for k, path in enumerate(paths):
        lines.append(Line(str(k + 1), tuple(path), frequency_based=k == frequency))
        for letter in "ABCDEFGHIJ"[: int((parents == k).sum())]:
            lines.append(Line(f"{k + 1}{letter}", tuple(_near_duplicate(streets, path, rng))))
    return lines


def _route_paths(streets: Streets, count: int, rng: np.random.Generator) -> list[list[int]]:
    """Paths between distant intersections; none shares more than half its streets with an earlier one."""
    routes_on: dict[tuple[int, int], list[int]] = {}
    paths: list[list[int]] = []
    for k in range(count):
        path = _route_path(streets, rng, lambda p: _overlaps(p, paths, routes_on))
        paths.append(path)
        for edge in _street_segments(path):
            routes_on.setdefault(edge, []).append(k)
    return paths


def _street_segments(path: Sequence[int]) -> list[tuple[int, int]]:
    return [(min(a, b), max(a, b)) for a, b in zip(path[:-1], path[1:], strict=True)]


def _overlaps(
    path: list[int], paths: Sequence[list[int]], routes_on: dict[tuple[int, int], list[int]]
) -> bool:
    shared: dict[int, int] = {}
    for edge in _street_segments(path):
        for other in routes_on.get(edge, []):
            shared[other] = shared.get(other, 0) + 1
    return any(n > 0.5 * min(len(path), len(paths[other])) for other, n in shared.items())


def _route_path(
    streets: Streets, rng: np.random.Generator, too_close: Callable[[list[int]], bool]
) -> list[int]:
    lo, hi = _STOPS_PER_DIRECTION
    path: list[int] = []
    for attempt in range(1000):
        origin, target = _pick_terminals(streets, rng)
        noise = rng.uniform(*_ROUTE_NOISE, size=streets.edge_ids).tolist()
        path = _street_path(streets, origin, target, noise)
        # in a crowded small city, give up on keeping routes apart rather than loop for ever
        if lo <= len(path) - 1 <= hi and (attempt >= 200 or not too_close(path)):
            return path
    raise RuntimeError("could not lay out a route: the street grid is too small")


def _pick_terminals(streets: Streets, rng: np.random.Generator) -> tuple[int, int]:
    size = streets.size
    for _ in range(100_000):
        origin = int(rng.integers(size * size))
        hops = int(rng.integers(*_TERMINAL_HOPS))
        d_row = round(hops * float(rng.random()))
        sign_row, sign_col = rng.choice((-1, 1), size=2)
        row = origin // size + int(sign_row) * d_row
        col = origin % size + int(sign_col) * (hops - d_row)
        target = row * size + col
        if 0 <= row < size and 0 <= col < size and origin in streets.G and target in streets.G:
            return origin, target
    raise RuntimeError("could not find two distant intersections")


def _street_path(streets: Streets, origin: int, target: int, noise: list[float]) -> list[int]:
    x, y = streets.xy[:, 0].tolist(), streets.xy[:, 1].tolist()
    tx, ty = x[target], y[target]
    lower_bound = ARTERIAL_FACTOR * _ROUTE_NOISE[0]

    def heuristic(a: int, _b: int) -> float:
        return lower_bound * math.hypot(x[a] - tx, y[a] - ty)

    def weight(_a: int, _b: int, data: dict[str, Any]) -> float:
        return float(data["length"] * data["factor"] * noise[data["eid"]])

    path: list[int] = nx.astar_path(streets.G, origin, target, heuristic=heuristic, weight=weight)
    return path


def _near_duplicate(streets: Streets, base: list[int], rng: np.random.Generator) -> list[int]:
    """A path sharing most of `base` but ending (or starting, or both) elsewhere."""
    lo, hi = _STOPS_PER_DIRECTION
    for _ in range(1000):
        ends = int(rng.integers(3))  # 0: a new end, 1: a new start, 2: both
        path = list(base) if ends == 1 else _rebranch(streets, base, rng)
        if path is not None and ends >= 1:
            new_start = _rebranch(streets, path[::-1], rng)
            path = None if new_start is None else new_start[::-1]
        if (
            path is not None
            and lo <= len(path) - 1 <= hi
            and _shared_share(path, base) >= _NEAR_DUPLICATE_SHARED
        ):
            return path
    raise RuntimeError("could not branch a near-duplicate route")


def _shared_share(path: Sequence[int], base: Sequence[int]) -> float:
    """Street segments the two paths share, as a share of the segments either uses (Jaccard)."""
    mine, theirs = set(_street_segments(path)), set(_street_segments(base))
    return len(mine & theirs) / len(mine | theirs)


def _rebranch(streets: Streets, path: Sequence[int], rng: np.random.Generator) -> list[int] | None:
    """Cut a few edges off the end of `path` and grow a new end away from it."""
    edges = len(path) - 1
    cut = int(rng.integers(2, max(3, edges // 6 + 1)))
    steps = int(rng.integers(max(2, cut - 1), cut + 3))
    avoid = set(path)
    walk = list(path[: len(path) - cut])
    for _ in range(steps):
        options = sorted(n for n in streets.G.neighbors(walk[-1]) if n not in avoid)
        if not options:
            return None
        walk.append(int(options[int(rng.integers(len(options)))]))
        avoid.add(walk[-1])
    return walk
