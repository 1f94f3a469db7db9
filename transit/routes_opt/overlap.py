"""Which routes duplicate which (pure): stop patterns per route and direction, and the overlap of every pair
of routes measured by the stops and segments they share in the same direction and by the share of each
route's length that runs within a buffer of the other's shapes.

Stops are taken as stop clusters (`network.cluster_stops`: within a walking radius, so that opposite
platforms and the nearby stops of different routes meet). A segment is an ordered pair of consecutive
clusters; "the same direction" is the same order, since direction_id values mean nothing across routes.
For a pair (A, B):

- shared_segments: segments both run in the same order;
- shared_stops: the clusters at either end of a shared segment, i.e. the stops both call at one after the
  other in the same direction (Cal-ITP's collinear rule: 8 or more);
- share_a, share_b: the share of A's (B's) segments that B (A) also runs; A inside B is not B inside A;
- shape_share_a, shape_share_b: the share of A's (B's) length within `buffer_m` of any of B's (A's) lines
  (`corridor.measure_corridors`), whatever the direction of travel;
- shared_km: the corridor's one-way length, the smaller of the two routes' lengths within the other's buffer;
- trips_shared: the trips of A and B whose lines run within the other's buffer (combined frequency).

A pair is reported when it shares a segment or when either route runs `min_corridor_m` within the other's
buffer (a mere crossing runs about 2 x buffer_m). Its `kind` is decided by the best of the four shares
(share_a, share_b, shape_share_a, shape_share_b): `duplicate` from `duplicate_share` (0.8), `near_duplicate`
from `near_share` (0.5); below that, `collinear` with `min_shared_stops` (8) shared stops (Cal-ITP's rule),
else `overlap`. Clusters are the connected groups of routes joined by duplicate or near-duplicate pairs;
`rank_candidates` turns those pairs into merge, drop and cut-back actions.

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

from transit.routes_opt.corridor import BUFFER_M, measure_corridors
from transit.routes_opt.network import WALK_CLUSTER_M, build_pattern_lines, cluster_stops

PAIR_COLUMNS = (
    "route_a", "route_b", "shared_stops", "shared_segments", "share_a", "share_b", "shape_share_a",
    "shape_share_b", "shared_km", "trips_shared", "kind",
)  # fmt: skip
CANDIDATE_COLUMNS = (
    "action", "route_id", "other_route_id", "share", "shared_km", "trips", "duplicated_vehicle_km", "reason",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OverlapRules:
    """Thresholds (module docstring); their sources are in docs/routes.md."""

    min_shared_stops: int = 8
    near_share: float = 0.5
    duplicate_share: float = 0.8
    buffer_m: float = BUFFER_M
    min_corridor_m: float = 250.0
    walk_m: float = WALK_CLUSTER_M  # the stop clusters' radius, for `network.cluster_stops`


@dataclass(frozen=True, slots=True, eq=False)
class OverlapReport:
    """What `transit routes overlap` shows: the pairs, the route clusters, the ranked candidates, and the
    stop clusters they were measured on (stop_id -> cluster)."""

    pairs: pd.DataFrame
    clusters: list[list[str]]
    candidates: pd.DataFrame
    stop_clusters: pd.Series


def build_overlap_report(
    trips: pd.DataFrame,
    stop_times: pd.DataFrame,
    stops: pd.DataFrame,
    shapes: pd.DataFrame | None = None,
    rules: OverlapRules = OverlapRules(),  # noqa: B008
    instances: pd.Series | None = None,
) -> OverlapReport:
    """Patterns, stop clusters, lines, pairs, route clusters and candidates for the given trips."""
    patterns = build_patterns(trips, stop_times, instances)
    stop_clusters = cluster_stops(stops, rules.walk_m)
    lines = build_pattern_lines(patterns, stops, shapes)
    pairs = compute_overlap(patterns, lines, rules, stop_clusters)
    candidates = rank_candidates(pairs, patterns.groupby("route_id")["trips"].sum(), rules)
    return OverlapReport(pairs, cluster_routes(pairs), candidates, stop_clusters)


def build_patterns(
    trips: pd.DataFrame, stop_times: pd.DataFrame, instances: pd.Series | None = None
) -> pd.DataFrame:
    """Per route and direction, each distinct stop sequence (a pattern) with its trip count: route_id,
    direction_id, pattern (tuple of stop_ids), trips, shape_id (that of most of its trips; "" if none).
    `instances` (trip_id -> runs, e.g. a day's runs of frequency-based trips) weights the count."""
    ordered = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    sequences = ordered.groupby("trip_id", sort=False)["stop_id"].agg(tuple).rename("pattern")
    info = trips.drop_duplicates("trip_id").set_index("trip_id").reindex(sequences.index)
    direction = info["direction_id"] if "direction_id" in info else pd.Series(0, index=info.index)
    shape = info["shape_id"] if "shape_id" in info else pd.Series("", index=info.index)
    runs = instances.reindex(sequences.index).fillna(1) if instances is not None else 1
    frame = pd.DataFrame(
        {
            "route_id": info["route_id"].astype("string"),
            "direction_id": pd.to_numeric(direction, errors="coerce").fillna(0),
            "pattern": sequences,
            "shape_id": shape.astype("string").fillna(""),
            "trips": runs,
        }
    ).dropna(subset=["route_id"])
    frame["route_id"] = frame["route_id"].astype(str)
    keys = ["route_id", "direction_id", "pattern"]
    by_shape = frame.groupby([*keys, "shape_id"], sort=True)["trips"].sum().reset_index()
    counted = by_shape.groupby(keys, sort=True)["trips"].sum().astype(int)
    busiest = by_shape.sort_values("trips", ascending=False, kind="stable").drop_duplicates(keys)
    return counted.reset_index().merge(busiest[[*keys, "shape_id"]].astype({"shape_id": str}), on=keys)


def compute_overlap(
    patterns: pd.DataFrame,
    lines: pd.DataFrame | None = None,
    rules: OverlapRules = OverlapRules(),  # noqa: B008
    clusters: pd.Series | None = None,
) -> pd.DataFrame:
    """Every pair of routes that shares a segment or runs along the other (module docstring), PAIR_COLUMNS,
    best first. `lines` (`network.build_pattern_lines`) give the buffer measures (NaN without them);
    `clusters` (stop_id -> cluster, `network.cluster_stops`) group stops (each stop alone without them)."""
    stop_pairs = _stop_pairs(patterns, clusters)
    corridor = _corridor_pairs(lines, rules)
    pairs = stop_pairs.merge(corridor, on=["route_a", "route_b"], how="outer")
    pairs = pairs.fillna({"shared_stops": 0, "shared_segments": 0, "share_a": 0.0, "share_b": 0.0})
    if lines is not None:
        pairs = pairs.fillna(dict.fromkeys(("shape_share_a", "shape_share_b", "near_a_m", "near_b_m"), 0.0))
        pairs = pairs.fillna({"trips_a": 0, "trips_b": 0})
    found = (pairs["shared_segments"] > 0) | (
        pairs[["near_a_m", "near_b_m"]].max(axis=1) >= rules.min_corridor_m
    )
    pairs = pairs[found].copy()
    pairs["shared_km"] = (pairs[["near_a_m", "near_b_m"]].min(axis=1, skipna=False) / 1000).round(3)
    pairs["trips_shared"] = (pairs["trips_a"] + pairs["trips_b"]).astype("Int64")
    pairs = pairs.astype({"shared_segments": int, "shared_stops": int})
    pairs["kind"] = _kinds(pairs, rules)
    best = _best_share(pairs)
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


def rank_candidates(
    pairs: pd.DataFrame,
    route_trips: pd.Series,
    rules: OverlapRules = OverlapRules(),  # noqa: B008
) -> pd.DataFrame:
    """What a planner could do about each duplicate or near-duplicate pair, best first (CANDIDATE_COLUMNS).

    Each side's share is the better of its segment share and its shape share. Both at `duplicate_share` or
    more: *merge* the route with fewer trips into the other. One side only: *drop* that route (it runs
    inside the other). A near-duplicate: *cut back* the route with the larger share to leave the shared
    part to the other. The score, duplicated_vehicle_km, is the acting route's trips (`route_trips`:
    route_id -> trips, per day with a service date) times shared_km: its bus-km on the other's corridor, the
    most the action can take off it. Each route is named once, for its action that scores most.
    """
    linked = pairs[pairs["kind"].isin(["duplicate", "near_duplicate"])]
    side_a = linked[["share_a", "shape_share_a"]].astype(float).fillna(0.0).max(axis=1).tolist()
    side_b = linked[["share_b", "shape_share_b"]].astype(float).fillna(0.0).max(axis=1).tolist()
    rows = []
    for route_a, route_b, share_a, share_b, km in zip(
        linked["route_a"].astype(str), linked["route_b"].astype(str), side_a, side_b,
        linked["shared_km"].astype(float).fillna(0.0).tolist(), strict=True,
    ):  # fmt: skip
        trips_a, trips_b = int(route_trips.get(route_a, 0)), int(route_trips.get(route_b, 0))
        if min(share_a, share_b) >= rules.duplicate_share:  # merge: the route with fewer trips folds
            a_acts = (trips_a, route_a) <= (trips_b, route_b)
        else:  # drop or cut back: the route more of which runs on the other
            a_acts = share_a >= share_b
        route, other, share, trips = (
            (route_a, route_b, share_a, trips_a) if a_acts else (route_b, route_a, share_b, trips_b)
        )
        action, reason = _action(route, other, share, min(share_a, share_b), km, trips, rules)
        rows.append((action, route, other, round(share, 4), km, trips, round(trips * km, 1), reason))
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    ranked = frame.sort_values(
        ["duplicated_vehicle_km", "route_id", "other_route_id"], ascending=[False, True, True], kind="stable"
    )
    return ranked.drop_duplicates("route_id").reset_index(drop=True)


def _action(
    route: str, other: str, share: float, smaller: float, km: float, trips: int, rules: OverlapRules
) -> tuple[str, str]:
    if smaller >= rules.duplicate_share:
        return (
            "merge",
            f"{route} and {other} run the same corridor; fold {route}'s {_trips(trips)} into {other}",
        )
    if share >= rules.duplicate_share:
        return "drop", f"{share:.0%} of {route} runs along {other}; its {_trips(trips)} duplicate {other}'s"
    return "cut_back", f"{share:.0%} of {route} runs along {other} ({km:g} km); cut {route} back to the rest"


def _trips(count: int) -> str:
    return f"{count} trip" if count == 1 else f"{count} trips"


def _stop_pairs(patterns: pd.DataFrame, clusters: pd.Series | None) -> pd.DataFrame:
    """route_a < route_b sharing a segment: shared_stops, shared_segments, share_a, share_b."""
    columns = ["route_a", "route_b", "shared_stops", "shared_segments", "share_a", "share_b"]
    segments = _segments(patterns, clusters)
    both = segments.merge(segments, on="segment", suffixes=("_a", "_b"))
    both = both[both["route_id_a"] < both["route_id_b"]].rename(
        columns={"route_id_a": "route_a", "route_id_b": "route_b"}
    )
    if both.empty:
        return pd.DataFrame(columns=columns)
    pair = ["route_a", "route_b"]
    counted = both.groupby(pair).size().rename("shared_segments").reset_index()
    ends = pd.concat(
        [both[pair].assign(stop=both["from_cluster_a"]), both[pair].assign(stop=both["to_cluster_a"])]
    )
    stops = ends.drop_duplicates().groupby(pair).size().rename("shared_stops").reset_index()
    counted = counted.merge(stops, on=pair)
    per_route = segments.groupby("route_id").size()
    for side in ("a", "b"):
        counted[f"share_{side}"] = (
            counted["shared_segments"] / counted[f"route_{side}"].map(per_route)
        ).round(4)
    return counted[columns]


def _segments(patterns: pd.DataFrame, clusters: pd.Series | None) -> pd.DataFrame:
    """Each route's distinct segments (ordered pairs of consecutive clusters), over all its directions."""
    lookup = {} if clusters is None else clusters.to_dict()
    rows: set[tuple[str, str, str]] = set()
    for route, pattern in set(zip(patterns["route_id"], patterns["pattern"], strict=True)):
        sequence = [lookup.get(s, s) for s in pattern]
        rows.update((route, a, b) for a, b in zip(sequence[:-1], sequence[1:], strict=True) if a != b)
    frame = pd.DataFrame(sorted(rows), columns=["route_id", "from_cluster", "to_cluster"])
    frame["segment"] = frame["from_cluster"] + "\x1f" + frame["to_cluster"]
    return frame


def _corridor_pairs(lines: pd.DataFrame | None, rules: OverlapRules) -> pd.DataFrame:
    """route_a < route_b with shape_share_a/b, near_a_m/near_b_m (one-way length within the other's buffer)
    and trips_a/b (trips of the route's lines that come within the other's buffer); NaN without lines."""
    columns = ["route_a", "route_b", "shape_share_a", "shape_share_b", "near_a_m", "near_b_m", "trips_a",
               "trips_b"]  # fmt: skip
    if lines is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c.startswith("route") else float) for c in columns})
    one_way = measure_corridors(lines, rules.buffer_m)
    forward = one_way[one_way["route_id"] < one_way["other_route_id"]]
    backward = one_way[one_way["route_id"] > one_way["other_route_id"]]
    a_side = forward.rename(columns=_side_names("a", "b"))
    b_side = backward.rename(columns=_side_names("b", "a"))
    return a_side.merge(b_side, on=["route_a", "route_b"], how="outer")[columns]


def _side_names(mine: str, other: str) -> dict[str, str]:
    return {"route_id": f"route_{mine}", "other_route_id": f"route_{other}", "share": f"shape_share_{mine}",
            "near_m": f"near_{mine}_m", "trips": f"trips_{mine}"}  # fmt: skip


def _best_share(pairs: pd.DataFrame) -> pd.Series:
    shares = pairs[["share_a", "share_b", "shape_share_a", "shape_share_b"]].astype(float)
    return shares.max(axis=1, skipna=True)


def _kinds(pairs: pd.DataFrame, rules: OverlapRules) -> pd.Series:
    best = _best_share(pairs)
    kind = pd.Series("overlap", index=pairs.index)
    kind[pairs["shared_stops"] >= rules.min_shared_stops] = "collinear"
    kind[best >= rules.near_share] = "near_duplicate"
    kind[best >= rules.duplicate_share] = "duplicate"
    return kind
