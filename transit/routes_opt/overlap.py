"""Which routes duplicate which (pure): stop patterns per route and direction, and the overlap of every pair
of routes measured by the stops and stop-to-stop segments they share in the same direction.

Pairs are found by hashing: each (stop pair, direction) names the routes that run it, so the work grows with
the number of segments, not with the square of the number of routes. For a pair (A, B):

- shared_stops: stops both call at in the same direction (Cal-ITP's collinear rule: 8 or more);
- shared_segments: consecutive stop pairs both run in the same direction;
- share_a, share_b: the share of A's (B's) segments that B (A) also runs, both ways apart, since A inside B
  is not B inside A;
- trips_shared: the trips of A and B together on their shared segments (the corridor's combined frequency).

A pair *duplicates* when either share reaches `duplicate_share` (default 0.8) and is *near-duplicate* from
`near_share` (0.5) or with `min_shared_stops` (8) shared stops; clusters are the connected groups of routes
joined by such pairs.

>>> st = pd.DataFrame({"trip_id": ["a"] * 3 + ["b"] * 3, "stop_sequence": [1, 2, 3] * 2,
...                    "stop_id": ["s1", "s2", "s3", "s1", "s2", "s4"]})
>>> trips = pd.DataFrame({"trip_id": ["a", "b"], "route_id": ["A", "B"], "direction_id": [0, 0]})
>>> pairs = compute_overlap(build_patterns(trips, st))
>>> pairs[["route_a", "route_b", "shared_stops", "shared_segments", "share_a"]].values.tolist()
[['A', 'B', 2, 1, 0.5]]
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import pandas as pd

PAIR_COLUMNS = (
    "route_a", "route_b", "shared_stops", "shared_segments", "share_a", "share_b", "trips_shared", "kind",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OverlapRules:
    """Thresholds (module docstring); their sources are in docs/routes.md."""

    min_shared_stops: int = 8
    near_share: float = 0.5
    duplicate_share: float = 0.8


def build_patterns(trips: pd.DataFrame, stop_times: pd.DataFrame) -> pd.DataFrame:
    """Per route and direction, each distinct stop sequence (a pattern) with its trip count: route_id,
    direction_id, pattern (tuple of stop_ids), trips."""
    ordered = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    sequences = ordered.groupby("trip_id", sort=False)["stop_id"].agg(tuple).rename("pattern")
    info = trips.drop_duplicates("trip_id").set_index("trip_id")
    direction = info["direction_id"] if "direction_id" in info else pd.Series(0, index=info.index)
    frame = pd.DataFrame(
        {
            "route_id": info["route_id"].reindex(sequences.index).astype(str),
            "direction_id": pd.to_numeric(direction.reindex(sequences.index), errors="coerce").fillna(0),
            "pattern": sequences,
        }
    ).dropna(subset=["route_id"])
    counted = frame.groupby(["route_id", "direction_id", "pattern"], sort=True).size().rename("trips")
    return counted.reset_index()


def compute_overlap(patterns: pd.DataFrame, rules: OverlapRules = OverlapRules()) -> pd.DataFrame:  # noqa: B008
    """Every pair of routes that shares at least one stop in the same direction (PAIR_COLUMNS), best first."""
    segments = _segments(patterns)
    stops = _stops(patterns)
    shared_segments = _shared(segments, "segment")
    shared_stops = _shared(stops, "stop_id").rename(columns={"count": "shared_stops"}).drop(columns="trips")
    if shared_stops.empty:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    per_route = segments.groupby("route_id")["segment"].nunique()
    pairs = shared_stops.merge(shared_segments, on=["route_a", "route_b"], how="left").fillna(
        {"count": 0, "trips": 0}
    )
    pairs = pairs.rename(columns={"count": "shared_segments", "trips": "trips_shared"})
    pairs["share_a"] = (pairs["shared_segments"] / pairs["route_a"].map(per_route).clip(lower=1)).round(4)
    pairs["share_b"] = (pairs["shared_segments"] / pairs["route_b"].map(per_route).clip(lower=1)).round(4)
    pairs["kind"] = _kinds(pairs, rules)
    pairs = pairs.astype({"shared_segments": int, "trips_shared": int, "shared_stops": int})
    best = pairs[["share_a", "share_b"]].max(axis=1)
    order = pairs.assign(_best=best).sort_values(["_best", "shared_stops", "route_a", "route_b"],
                                                 ascending=[False, False, True, True])  # fmt: skip
    return order[list(PAIR_COLUMNS)].reset_index(drop=True)


def cluster_routes(pairs: pd.DataFrame) -> list[list[str]]:
    """Groups of routes joined by duplicate or near-duplicate pairs, biggest first."""
    G = nx.Graph()
    linked = pairs[pairs["kind"].isin(["duplicate", "near_duplicate"])]
    G.add_edges_from(zip(linked["route_a"], linked["route_b"], strict=True))
    groups = [sorted(component) for component in nx.connected_components(G)]
    return sorted(groups, key=lambda g: (-len(g), g))


def _segments(patterns: pd.DataFrame) -> pd.DataFrame:
    rows = [
        (route, direction, (a, b), trips)
        for route, direction, pattern, trips in patterns[
            ["route_id", "direction_id", "pattern", "trips"]
        ].itertuples(index=False)
        for a, b in zip(pattern[:-1], pattern[1:], strict=True)
    ]
    frame = pd.DataFrame(rows, columns=["route_id", "direction_id", "segment", "trips"])
    summed: pd.DataFrame = frame.groupby(["route_id", "direction_id", "segment"])["trips"].sum().reset_index()
    return summed


def _stops(patterns: pd.DataFrame) -> pd.DataFrame:
    exploded = patterns[["route_id", "direction_id", "pattern"]].explode("pattern")
    frame = exploded.rename(columns={"pattern": "stop_id"}).assign(trips=0)
    return frame.drop_duplicates(["route_id", "direction_id", "stop_id"])


def _shared(items: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per pair of routes, how many `key`s (in the same direction) both have, and their trips together."""
    routes = items.drop_duplicates(["route_id", "direction_id", key])
    both = routes.merge(routes, on=["direction_id", key], suffixes=("_a", "_b"))
    both = both[both["route_id_a"] < both["route_id_b"]]
    grouped = both.assign(trips=both["trips_a"] + both["trips_b"]).groupby(["route_id_a", "route_id_b"])
    result = grouped.agg(count=(key, "size"), trips=("trips", "sum")).reset_index()
    return result.rename(columns={"route_id_a": "route_a", "route_id_b": "route_b"})


def _kinds(pairs: pd.DataFrame, rules: OverlapRules) -> pd.Series:
    best = pairs[["share_a", "share_b"]].max(axis=1)
    kind = pd.Series("overlap", index=pairs.index)
    near = (best >= rules.near_share) | (pairs["shared_stops"] >= rules.min_shared_stops)
    kind[near] = "near_duplicate"
    kind[best >= rules.duplicate_share] = "duplicate"
    return kind
