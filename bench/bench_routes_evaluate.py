"""Benchmark: `transit routes evaluate` at the size of the literature's larger instances (issue 7: the
127-node, 60-route size in under 2 s).

The instance is made here (the published large instances are not in ../shared/data): 127 nodes on a jittered
grid, links between grid neighbours with 2..10-minute times, a random demand matrix, and 60 routes of 10 to
30 nodes, each a walk along shortest paths between random terminals. Times the evaluation alone (files
parsed) and the whole CLI call; medians of several runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from transit.routes_opt.passenger import evaluate_routes

GOAL_S = 2.0


def make_instance(nodes: int, routes: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(nodes)))
    times = np.full((nodes, nodes), np.inf)
    np.fill_diagonal(times, 0.0)
    for k in range(nodes):
        row, col = divmod(k, side)
        for other in (k + 1 if col + 1 < side else -1, k + side):
            if 0 <= other < nodes:
                times[k, other] = times[other, k] = float(rng.integers(2, 11))
    demand = rng.integers(0, 60, size=(nodes, nodes)).astype(float)
    np.fill_diagonal(demand, 0.0)
    graph = csr_matrix(np.where(np.isfinite(times) & (times > 0), times, 0.0))
    _, predecessors = shortest_path(graph, directed=False, return_predecessors=True)
    made: list[list[int]] = []
    while len(made) < routes:
        a, b = (int(x) for x in rng.choice(nodes, size=2, replace=False))
        path = [b]
        while path[-1] != a:
            path.append(int(predecessors[a, path[-1]]))
        if 10 <= len(path) <= 30:
            made.append(path[::-1])
    return times, demand, made


def matrix_text(matrix: np.ndarray) -> str:
    """The literature's matrix format: a row per line, Inf where there is no link."""
    return "\n".join(" ".join("Inf" if not np.isfinite(v) else f"{v:g}" for v in row) for row in matrix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=127)
    parser.add_argument("--routes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    times, demand, routes = make_instance(args.nodes, args.routes, args.seed)
    stops = sum(len(r) for r in routes)
    print(f"instance: {args.nodes} nodes, {args.routes} routes, {stops} route stops (seed {args.seed})")
    core = []
    for _ in range(args.runs):
        started = time.perf_counter()
        metrics = evaluate_routes(times, demand, routes, 5.0)
        core.append(time.perf_counter() - started)
    median_ms = statistics.median(core) * 1000
    print(f"evaluate_routes: median {median_ms:.1f} ms of {args.runs} ({metrics.as_published()})")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "t.txt").write_text(matrix_text(times))
        (base / "d.txt").write_text(matrix_text(demand))
        (base / "r.txt").write_text("\n".join("-".join(str(n + 1) for n in r) for r in routes))
        transit = str(Path(sys.executable).with_name("transit"))
        command = [transit, "routes", "evaluate", "--network", str(base / "t.txt"), "--demand",
                   str(base / "d.txt"), "--routes", str(base / "r.txt"), "--format", "json"]  # fmt: skip
        whole = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            whole.append(time.perf_counter() - started)
    median = statistics.median(whole)
    verdict = "met" if median < GOAL_S else "NOT met"
    print(f"transit routes evaluate (the whole CLI call, start-up included): median {median:.2f} s of "
          f"{args.runs}; goal < {GOAL_S:.0f} s: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
