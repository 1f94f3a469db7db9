"""Hotspots (pure): where the requests of one service cluster, on a plain metric grid, and which clusters come
back year after year. Three years of spring flooding requests in, the zones to send the pumps to out.

The grid: square cells of `cell_m` metres on a local equirectangular plane (`routes_opt.network.local_xy`)
around `origin` (by default the points' mean rounded to 0.01°, so that close sets of points share a grid).
No H3: a metric grid needs no dependency, its cells are the same size everywhere, and a city is small
enough for the plane to be exact to a few metres.

- A cell is *hot* when it holds at least `min_count` requests over the whole period.
- Hot cells that touch, sides or corners (8-neighbourhood), form a *zone*. Zones are numbered 1, 2, ... from
  the one with the most requests.
- A zone *stands out* in a year (local calendar years in `timezone`) when it had at least `min_count`
  requests that year, and more than the requests scattered over the rest of the map would put on as many
  cells by chance (a Poisson test at CHANCE). A zone is *recurring* when it stood out in at least
  `min_years` different years. A single request, or a few stray ones, in another year does not make a
  one-off flood recurring, and a few chance requests together do not make a zone; the test scales with the
  data, where a fixed count would not. Cells take their zone's verdict.

>>> points = pd.DataFrame({
...     "lat": [54.8700, 54.8701, 54.8702, 54.8700, 54.8701, 54.8702, 54.9000],
...     "lon": [69.1400, 69.1401, 69.1402, 69.1400, 69.1401, 69.1402, 69.2000],
...     "requested_at": pd.to_datetime(["2024-04-01"] * 3 + ["2025-04-01"] * 3 + ["2026-04-02"], utc=True)})
>>> cells = hotspots(points, cell_m=250, min_count=3, min_years=2)
>>> cells[["count", "years", "hot", "zone", "recurring"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
[{'count': 6, 'years': (2024, 2025), 'hot': True, 'zone': 1, 'recurring': True},
 {'count': 1, 'years': (2026,), 'hot': False, 'zone': None, 'recurring': False}]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import pdtrc

from transit.errors import BadParameter
from transit.gtfs.geo import EARTH_RADIUS_M
from transit.routes_opt.network import local_xy

CELL_M = 250.0
MIN_COUNT = 3
MIN_YEARS = 2
CHANCE = 0.001  # a zone's year counts when scattered requests would put that many there less often than this
CELL_COLUMNS = (
    "cell", "i", "j", "lat", "lon", "south", "north", "west", "east", "count", "years", "by_year", "hot",
    "zone", "zone_years", "recurring",
)  # fmt: skip
ZONE_COLUMNS = (
    "zone", "recurring", "count", "cells", "years", "by_year", "lat", "lon", "south", "north", "west", "east",
)  # fmt: skip
_NEIGHBOURS = ((1, -1), (1, 0), (1, 1), (0, 1))  # half of the 8-neighbourhood: each pair once


def hotspots(
    points: pd.DataFrame,
    cell_m: float = CELL_M,
    min_count: int = MIN_COUNT,
    min_years: int = MIN_YEARS,
    timezone: str = "UTC",
    origin: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """The grid cells holding any of `points` (lat, lon, requested_at), most requests first (module
    docstring). Rows without a location are left out.

    Columns: cell ("i:j"), i and j (column east, row north of `origin`), lat and lon (the mean of the cell's
    requests), south, north, west, east (its bounds in degrees), count, years (the years it has requests in),
    by_year ((year, count) pairs), hot, zone (nullable), zone_years (the years its zone reached
    `min_count`), recurring.
    """
    if not (math.isfinite(cell_m) and cell_m > 0):
        raise BadParameter(f"cell_m: {cell_m} must be a positive number of metres")
    if min_count < 1 or min_years < 1:
        raise BadParameter(f"min_count ({min_count}) and min_years ({min_years}) must be at least 1")
    lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(dtype=np.float64)
    placed = np.isfinite(lat) & np.isfinite(lon)
    if not placed.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CELL_COLUMNS})
    lat, lon = lat[placed], lon[placed]
    if origin is None:
        origin = (round(float(lat.mean()), 2), round(float(lon.mean()), 2))
    xy = local_xy(lat, lon, origin)
    requested = pd.to_datetime(points["requested_at"], utc=True)[placed]
    located = pd.DataFrame(
        {
            "i": np.floor(xy[:, 0] / cell_m).astype(np.int64),
            "j": np.floor(xy[:, 1] / cell_m).astype(np.int64),
            "year": requested.dt.tz_convert(timezone).dt.year.to_numpy(dtype=np.int64),
            "lat": lat,
            "lon": lon,
        }
    )
    per_year = located.groupby(["i", "j", "year"]).size().rename("n").reset_index()
    grouped = located.groupby(["i", "j"])
    cells = pd.DataFrame(
        {"count": grouped.size(), "lat": grouped["lat"].mean(), "lon": grouped["lon"].mean()}
    ).reset_index()
    counted: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, j, year, n in zip(*(per_year[c].tolist() for c in ("i", "j", "year", "n")), strict=True):
        counted.setdefault((i, j), []).append((year, n))  # years in order: per_year is sorted
    by_year = [tuple(counted[(i, j)]) for i, j in zip(cells["i"].tolist(), cells["j"].tolist(), strict=True)]
    cells["by_year"] = pd.Series(by_year, index=cells.index, dtype=object)
    cells["years"] = pd.Series([tuple(y for y, _ in p) for p in by_year], index=cells.index, dtype=object)
    cells["cell"] = cells["i"].astype(str) + ":" + cells["j"].astype(str)
    cells["hot"] = cells["count"] >= min_count
    cells = _with_bounds(cells, cell_m, origin)
    cells = _with_zones(cells, per_year, min_count, min_years)
    cells = cells.sort_values(["count", "i", "j"], ascending=[False, True, True], kind="stable")
    return cells[list(CELL_COLUMNS)].reset_index(drop=True)


def _with_bounds(cells: pd.DataFrame, cell_m: float, origin: tuple[float, float]) -> pd.DataFrame:
    """Each cell's bounds in degrees (the inverse of `local_xy`)."""
    metres_per_degree = math.radians(1.0) * EARTH_RADIUS_M
    west = origin[1] + cells["i"] * cell_m / (metres_per_degree * math.cos(math.radians(origin[0])))
    south = origin[0] + cells["j"] * cell_m / metres_per_degree
    step_lon = cell_m / (metres_per_degree * math.cos(math.radians(origin[0])))
    return cells.assign(
        south=south, north=south + cell_m / metres_per_degree, west=west, east=west + step_lon
    )


def _with_zones(cells: pd.DataFrame, per_year: pd.DataFrame, min_count: int, min_years: int) -> pd.DataFrame:
    """Zone ids for the hot cells (connected 8-neighbourhoods), the years each zone stood out, recurring."""
    hot = cells.loc[cells["hot"], ["i", "j", "count"]].reset_index(names="row")
    hot["k"] = np.arange(len(hot))
    pairs = [
        hot.merge(hot.assign(i=hot["i"] - di, j=hot["j"] - dj), on=["i", "j"], suffixes=("", "_other"))
        for di, dj in _NEIGHBOURS
    ]
    edges = pd.concat(pairs, ignore_index=True)
    ends = (edges["k"].to_numpy(), edges["k_other"].to_numpy())
    graph = coo_matrix((np.ones(len(edges)), ends), shape=(len(hot), len(hot)))
    _, label = connected_components(graph, directed=False)
    hot["label"] = label
    size = hot.groupby("label").agg(total=("count", "sum"), first_i=("i", "min"), first_j=("j", "min"))
    size = size.sort_values(["total", "first_i", "first_j"], ascending=[False, True, True], kind="stable")
    hot["zone"] = hot["label"].map(pd.Series(np.arange(1, len(size) + 1), index=size.index))
    reached = _standing_out(per_year, hot, min_count)
    zone = pd.Series(pd.NA, index=cells.index, dtype="Int64")
    zone.loc[hot["row"].to_numpy()] = hot["zone"].to_numpy()
    zone_years = [() if z is pd.NA else reached.get(int(z), ()) for z in zone.tolist()]
    return cells.assign(
        zone=zone,
        zone_years=pd.Series(zone_years, index=cells.index, dtype=object),
        recurring=[len(years) >= min_years for years in zone_years],
    )


def _standing_out(per_year: pd.DataFrame, hot: pd.DataFrame, min_count: int) -> dict[int, tuple[int, ...]]:
    """zone -> the years in which it had `min_count` requests or more, more than the scattered
    requests would put on as many cells by chance (Poisson at that year's rate per cell outside the hot
    cells, counted over the cells that have any: an overestimate, so a cautious test)."""
    marked = per_year.merge(hot[["i", "j", "zone"]], on=["i", "j"], how="left")
    cold = marked[marked["zone"].isna()]
    cold_cells = max(len(cold[["i", "j"]].drop_duplicates()), 1)
    rate = cold.groupby("year")["n"].sum() / cold_cells
    yearly = marked.dropna(subset=["zone"]).groupby(["zone", "year"])["n"].sum().reset_index()
    cells_of = hot.groupby("zone").size()
    expected = yearly["year"].map(rate).fillna(0.0) * yearly["zone"].map(cells_of)
    chance = pdtrc(yearly["n"].to_numpy() - 1, expected.to_numpy(dtype=np.float64))
    counted = yearly[(yearly["n"] >= min_count).to_numpy() & (chance < CHANCE)]
    years: dict[int, tuple[int, ...]] = {}
    for zone, year in zip(counted["zone"].tolist(), counted["year"].tolist(), strict=True):
        years[int(zone)] = (*years.get(int(zone), ()), int(year))
    return years


def compute_zones(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per zone of `hotspots` cells: zone, recurring, count, cells, years (those reaching the count),
    by_year, lat and lon (the mean of its requests), its bounds; zone order.

    >>> points = pd.DataFrame({"lat": [54.87] * 4, "lon": [69.14] * 4,
    ...                        "requested_at": pd.to_datetime(["2024-04"] * 2 + ["2025-04"] * 2, utc=True)})
    >>> zones = compute_zones(hotspots(points, min_count=2))
    >>> zones[["zone", "recurring", "count", "years"]].to_dict("records")
    [{'zone': 1, 'recurring': True, 'count': 4, 'years': (2024, 2025)}]
    """
    zoned = cells[cells["zone"].notna()].copy()
    if zoned.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ZONE_COLUMNS})
    zoned["zone"] = zoned["zone"].astype("int64")
    zoned["lat_sum"] = zoned["lat"] * zoned["count"]
    zoned["lon_sum"] = zoned["lon"] * zoned["count"]
    grouped = zoned.groupby("zone")
    zones = grouped.agg(
        recurring=("recurring", "first"), count=("count", "sum"), cells=("cell", "size"),
        years=("zone_years", "first"), lat_sum=("lat_sum", "sum"), lon_sum=("lon_sum", "sum"),
        south=("south", "min"), north=("north", "max"), west=("west", "min"), east=("east", "max"),
    )  # fmt: skip
    zones["lat"] = zones["lat_sum"] / zones["count"]
    zones["lon"] = zones["lon_sum"] / zones["count"]
    zones["by_year"] = grouped["by_year"].agg(_summed_years)
    return zones.reset_index()[list(ZONE_COLUMNS)]


def _summed_years(values: pd.Series) -> tuple[tuple[int, int], ...]:
    total: dict[int, int] = {}
    for pairs in values:
        for year, n in pairs:
            total[year] = total.get(year, 0) + n
    return tuple(sorted(total.items()))


def to_geojson(cells: pd.DataFrame) -> dict[str, Any]:
    """The cells as a GeoJSON FeatureCollection (RFC 7946: lon/lat, counter-clockwise rings): one Polygon
    per cell with properties cell, count, years, by_year, hot, zone (null when not hot), recurring.

    >>> points = pd.DataFrame({"lat": [54.87], "lon": [69.14], "requested_at": pd.to_datetime(["2024-04"])})
    >>> feature = to_geojson(hotspots(points, min_count=1))["features"][0]
    >>> feature["properties"]  # doctest: +NORMALIZE_WHITESPACE
    {'cell': '0:0', 'count': 1, 'years': [2024], 'by_year': {'2024': 1}, 'hot': True, 'zone': 1,
     'recurring': False}
    >>> len(feature["geometry"]["coordinates"][0])
    5
    """
    features = []
    for row in cells.to_dict("records"):
        west, south, east, north = (round(float(row[k]), 7) for k in ("west", "south", "east", "north"))
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        properties = {
            "cell": str(row["cell"]), "count": int(row["count"]), "years": [int(y) for y in row["years"]],
            "by_year": {str(y): int(n) for y, n in row["by_year"]}, "hot": bool(row["hot"]),
            "zone": None if pd.isna(row["zone"]) else int(row["zone"]), "recurring": bool(row["recurring"]),
        }  # fmt: skip
        geometry = {"type": "Polygon", "coordinates": [ring]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def zone_outlines(cells: pd.DataFrame) -> dict[int, list[tuple[tuple[float, float], tuple[float, float]]]]:
    """Each zone's outline as (lon, lat) segments: the sides of its cells that no other cell of the zone
    shares (what a map draws around a zone).

    >>> points = pd.DataFrame({"lat": [54.87, 54.8725], "lon": [69.14] * 2,
    ...                        "requested_at": pd.to_datetime(["2024-04-01"] * 2)})
    >>> len(zone_outlines(hotspots(points, min_count=1))[1])  # two cells one above the other: 6 sides
    6
    """
    outlines: dict[int, list[tuple[tuple[float, float], tuple[float, float]]]] = {}
    zoned = cells[cells["zone"].notna()]
    members = {
        (int(i), int(j)): int(z) for i, j, z in zip(zoned["i"], zoned["j"], zoned["zone"], strict=True)
    }
    for row in zoned.to_dict("records"):
        i, j, zone = int(row["i"]), int(row["j"]), int(row["zone"])
        w, e, s, n = (float(row[k]) for k in ("west", "east", "south", "north"))
        sides = (((-1, 0), (w, s), (w, n)), ((1, 0), (e, s), (e, n)),
                 ((0, -1), (w, s), (e, s)), ((0, 1), (w, n), (e, n)))  # fmt: skip
        for (di, dj), a, b in sides:
            if members.get((i + di, j + dj)) != zone:
                outlines.setdefault(zone, []).append((a, b))
    return outlines
