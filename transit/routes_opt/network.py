"""The network planners look at (pure): stops grouped into clusters within a walking radius, so that opposite
platforms and nearby stops of different routes meet, in local metres; each pattern's line (its shape, or the
straight lines between its stops); and the graph of clusters joined by the segments trips run
(`build_network`), which the overlap picture draws.

A cluster is a connected group of stops each within `radius_m` of another (single linkage), or sharing a
parent station. Ids are the smallest stop_id of the group, so they stay readable and stable.

>>> stops = pd.DataFrame({"stop_id": ["a", "b", "c"], "stop_lat": [0.0, 0.0003, 0.01],
...                       "stop_lon": [0.0, 0.0, 0.0]})
>>> cluster_stops(stops, radius_m=50.0).to_dict()  # a and b are 33 m apart, c is 1.1 km away
{'a': 'a', 'b': 'a', 'c': 'c'}
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from transit.gtfs.geo import EARTH_RADIUS_M
from transit.gtfs.times import parse_gtfs_times

FloatArray = npt.NDArray[np.float64]
WALK_CLUSTER_M = 60.0  # opposite platforms across a street, and two routes' stops at the same corner


def local_xy(lat: npt.ArrayLike, lon: npt.ArrayLike, origin: tuple[float, float]) -> FloatArray:
    """Metres east and north of `origin` (lat, lon): equirectangular, exact enough across a city."""
    lat0, lon0 = np.radians(origin[0]), np.radians(origin[1])
    x = (np.radians(np.asarray(lon, dtype=np.float64)) - lon0) * np.cos(lat0) * EARTH_RADIUS_M
    y = (np.radians(np.asarray(lat, dtype=np.float64)) - lat0) * EARTH_RADIUS_M
    return np.column_stack((x, y))


def origin_of(stops: pd.DataFrame) -> tuple[float, float]:
    """The centre of the stops' coordinates, the origin of their local metres."""
    return float(stops["stop_lat"].astype(float).mean()), float(stops["stop_lon"].astype(float).mean())


def cluster_stops(stops: pd.DataFrame, radius_m: float = WALK_CLUSTER_M) -> pd.Series:
    """stop_id -> cluster id (module docstring); stops without coordinates stay alone."""
    ids = stops["stop_id"].astype(str).to_numpy()
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype=np.float64)
    placed = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    if placed.size and radius_m > 0:
        xy = local_xy(lat[placed], lon[placed], (float(lat[placed].mean()), float(lon[placed].mean())))
        near = cKDTree(xy).query_pairs(radius_m, output_type="ndarray")
        rows.append(placed[near[:, 0]])
        cols.append(placed[near[:, 1]])
    if "parent_station" in stops:
        parent = stops["parent_station"].astype("string").fillna("").to_numpy(dtype=object)
        index = pd.Series(np.arange(ids.size), index=ids)
        child = np.flatnonzero((parent != "") & pd.Series(parent).isin(index.index).to_numpy())
        rows.append(child.astype(np.int64))
        cols.append(index.loc[parent[child]].to_numpy(dtype=np.int64))
    edges_a = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    edges_b = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(edges_a.size), (edges_a, edges_b)), shape=(ids.size, ids.size))
    _, label = connected_components(graph, directed=False)
    first = pd.Series(ids).groupby(label).transform("min").to_numpy()
    return pd.Series(first, index=pd.Index(ids, name="stop_id"), name="cluster")


def build_pattern_lines(
    patterns: pd.DataFrame, stops: pd.DataFrame, shapes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One polyline per route, direction and path, in local metres around `origin_of(stops)`.

    Columns: route_id, direction_id, trips, xy (an (n, 2) array). The path is the pattern's shape (its
    `shape_id` in shapes.txt) or, when the feed has none, the straight lines between its stops. Patterns of a
    route and direction that run the same path share one line, with their trips together.
    """
    origin = origin_of(stops)
    stop_xy = _stop_xy(stops, origin)
    shape_xy = _shape_xy(shapes, set(patterns.get("shape_id", pd.Series(dtype=object))), origin)
    lines: dict[tuple[str, float, object], int] = {}
    paths: dict[object, FloatArray] = {}
    shape_ids = patterns["shape_id"] if "shape_id" in patterns else pd.Series("", index=patterns.index)
    for route, direction, pattern, trips, shape_id in zip(
        patterns["route_id"],
        patterns["direction_id"],
        patterns["pattern"],
        patterns["trips"],
        shape_ids,
        strict=True,
    ):
        key: object = shape_id if shape_id in shape_xy else pattern
        if key not in paths:
            paths[key] = shape_xy[key] if key in shape_xy else _stop_path(pattern, stop_xy)
        lines[(route, direction, key)] = lines.get((route, direction, key), 0) + int(trips)
    rows = [(r, d, n, paths[k]) for (r, d, k), n in lines.items() if _length_m(paths[k]) > 0]
    return pd.DataFrame(rows, columns=["route_id", "direction_id", "trips", "xy"])


def build_network(
    stops: pd.DataFrame,
    stop_times: pd.DataFrame,
    clusters: pd.Series,
    trips: pd.DataFrame | None = None,
    instances: pd.Series | None = None,
) -> nx.DiGraph:
    """The network as planners draw it: stop clusters as nodes (lat, lon: the mean of their stops; xy: the
    same in local metres; stops: how many), and every pair of clusters that a trip serves one after the
    other as an edge with distance_m (straight, between the clusters' centres), time_seconds (the median
    scheduled time between the two departures; None when the times are missing), trips (the trips that run
    it, each counted `instances` times: a frequency-based trip's runs on the day) and route_ids (sorted;
    empty without `trips`).

    >>> stops = pd.DataFrame({"stop_id": ["a", "a2", "b"], "stop_lat": [0.0, 0.0003, 0.01],
    ...                       "stop_lon": [0.0, 0.0, 0.0]})
    >>> st = pd.DataFrame({"trip_id": ["t"] * 3, "stop_sequence": [1, 2, 3], "stop_id": ["a", "a2", "b"],
    ...                    "departure_time": ["08:00:00", "08:00:30", "08:03:00"]})
    >>> G = build_network(stops, st, cluster_stops(stops))  # a and a2 (33 m apart) are one cluster
    >>> [(u, v, round(d["distance_m"]), d["time_seconds"], d["trips"]) for u, v, d in G.edges(data=True)]
    [('a', 'b', 1095, 180.0, 1)]
    """
    G = nx.DiGraph()
    _add_cluster_nodes(G, stops, clusters)
    runs = _cluster_runs(stop_times, clusters)
    if runs.empty:
        return G
    weight = runs["trip_id"].map(instances).fillna(1) if instances is not None else 1
    route_of = (
        pd.Series(dtype="string")
        if trips is None
        else trips.drop_duplicates("trip_id").set_index("trip_id")["route_id"]
    )
    edges = runs.assign(weight=weight, route_id=runs["trip_id"].map(route_of).astype("string").fillna(""))
    grouped = edges.groupby(["from_cluster", "to_cluster"], sort=True)
    summary = grouped.agg(time_seconds=("seconds", "median"), trips=("weight", "sum"))
    served = edges.loc[edges["route_id"] != "", ["from_cluster", "to_cluster", "route_id"]].drop_duplicates()
    on = served.sort_values("route_id").groupby(["from_cluster", "to_cluster"])["route_id"].agg(list)
    on = on.reindex(summary.index)
    xy = nx.get_node_attributes(G, "xy")
    for (a, b), time_s, n, route_ids in zip(
        summary.index, summary["time_seconds"], summary["trips"], on, strict=True
    ):
        distance = float(np.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1])) if a in xy and b in xy else None
        G.add_edge(
            a,
            b,
            distance_m=distance,
            time_seconds=None if pd.isna(time_s) else float(time_s),
            trips=int(n),
            route_ids=route_ids if isinstance(route_ids, list) else [],
        )
    return G


def _add_cluster_nodes(G: nx.DiGraph, stops: pd.DataFrame, clusters: pd.Series) -> None:
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce")
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce")
    placed = pd.DataFrame(
        {"cluster": stops["stop_id"].astype(str).map(clusters).to_numpy(), "lat": lat.to_numpy(),
         "lon": lon.to_numpy()}
    ).dropna()  # fmt: skip
    centres = placed.groupby("cluster").agg(lat=("lat", "mean"), lon=("lon", "mean"), stops=("lat", "size"))
    xy = local_xy(centres["lat"], centres["lon"], origin_of(stops))
    for cluster, lat_, lon_, count, (x, y) in zip(
        centres.index, centres["lat"], centres["lon"], centres["stops"], xy.tolist(), strict=True
    ):
        G.add_node(cluster, lat=float(lat_), lon=float(lon_), stops=int(count), xy=(x, y))


def _cluster_runs(stop_times: pd.DataFrame, clusters: pd.Series) -> pd.DataFrame:
    """Consecutive clusters of each trip (a stop followed by one in the same cluster counts once, at its
    first departure) with the seconds between the two departures."""
    ordered = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    cluster = ordered["stop_id"].astype(str).map(clusters).fillna(ordered["stop_id"].astype(str))
    seconds = np.full(len(ordered), np.nan)
    for column in ("departure_time", "arrival_time"):
        if column in ordered:
            seconds = np.where(np.isnan(seconds), _seconds(ordered[column]), seconds)
    trip = ordered["trip_id"].astype(str).to_numpy()
    cluster_values = cluster.to_numpy(dtype=object)
    first = np.ones(trip.size, dtype=bool)
    first[1:] = (trip[1:] != trip[:-1]) | (cluster_values[1:] != cluster_values[:-1])
    trip, cluster_values, seconds = trip[first], cluster_values[first], seconds[first]
    same = trip[1:] == trip[:-1]
    gap = seconds[1:] - seconds[:-1]
    return pd.DataFrame(
        {
            "trip_id": trip[:-1][same],
            "from_cluster": cluster_values[:-1][same],
            "to_cluster": cluster_values[1:][same],
            "seconds": gap[same],
        }
    )


def _seconds(times: pd.Series) -> FloatArray:
    """GTFS times as seconds (NaN where missing), each distinct value parsed once."""
    codes, distinct = pd.factorize(times.astype("string"))
    parsed = parse_gtfs_times(pd.Series(distinct, dtype="string")).astype(np.float64)
    parsed[parsed < 0] = np.nan
    return np.where(codes >= 0, parsed[np.maximum(codes, 0)] if parsed.size else np.nan, np.nan)


def _stop_xy(stops: pd.DataFrame, origin: tuple[float, float]) -> dict[str, FloatArray]:
    xy = local_xy(pd.to_numeric(stops["stop_lat"], errors="coerce"),
                  pd.to_numeric(stops["stop_lon"], errors="coerce"), origin)  # fmt: skip
    return {s: p for s, p in zip(stops["stop_id"].astype(str), xy, strict=True) if np.isfinite(p).all()}


def _shape_xy(
    shapes: pd.DataFrame | None, wanted: set[object], origin: tuple[float, float]
) -> dict[object, FloatArray]:
    if shapes is None or shapes.empty or not wanted:
        return {}
    used = shapes[shapes["shape_id"].astype(str).isin({str(w) for w in wanted})]
    used = used.sort_values(["shape_id", "shape_pt_sequence"], kind="stable")
    xy = local_xy(used["shape_pt_lat"], used["shape_pt_lon"], origin)
    ids = used["shape_id"].astype(str).to_numpy(dtype=object)
    if ids.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return dict(zip(ids[starts], np.split(xy, starts[1:]), strict=True))


def _stop_path(pattern: tuple[str, ...], stop_xy: dict[str, FloatArray]) -> FloatArray:
    points = [stop_xy[s] for s in pattern if s in stop_xy]
    return np.array(points, dtype=np.float64).reshape(-1, 2)


def _length_m(xy: FloatArray) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) >= 2 else 0.0
