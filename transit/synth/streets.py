"""The street network of a made-up city: a jittered grid with arterials, a few closed streets, and names.

Distances are metres on a local plane centred on Petropavl; `to_lat_lon` maps that plane to WGS84.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CENTRE_LAT = 54.87
CENTRE_LON = 69.14
_M_PER_DEG_LAT = 6_371_000.0 * math.pi / 180.0  # spherical Earth, as in haversine distances
_M_PER_DEG_LON = _M_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT))
_STREET_SPACING_M = 360.0
_NODE_JITTER_M = 50.0
_KM2_PER_ROUTE = 2.5  # a 20-route city covers ~50 km2, a 1000-route city ~2500 km2
_MIN_CITY_ROUTES = 20
_ARTERIAL_EVERY = 4
ARTERIAL_FACTOR = 0.7  # arterials are quicker, so routes gather on them, as in real networks
_CLOSED_STREET_SHARE = 0.05
_STREET_NAMES = (
    "Абая",
    "Жамбыла",
    "Букетова",
    "Конституции Казахстана",
    "Интернациональная",
    "Пушкина",
    "Мира",
    "Парковая",
    "Жумабаева",
    "Ауэзова",
    "Сатпаева",
    "Победы",
    "Мусрепова",
    "Уалиханова",
    "Чкалова",
    "Маяковского",
    "Ломоносова",
    "Гагарина",
    "Горького",
    "Кошукова",
    "Ярославская",
    "Хименко",
    "Университетская",
    "Юбилейная",
    "Строительная",
    "Батыр Баяна",
    "Шухова",
    "Евнея Букетова",
    "Астана",
    "Казахстанской правды",
    "Ново-Ишимская",
    "Амангельды",
    "Тауфика Мухамед-Рахимова",
    "Айтхожина",
)


@dataclass(frozen=True, slots=True)
class Streets:
    """The street graph and where its intersections are."""

    G: Any  # networkx.Graph; node = row * size + col; edge data: length (m), factor, eid
    xy: FloatArray  # (size * size, 2): metres east and north of the centre
    size: int  # intersections per side
    edge_ids: int  # edge "eid" values are below this
    row_names: tuple[str, ...]
    col_names: tuple[str, ...]


def build_streets(routes: int, rng: np.random.Generator) -> Streets:
    """A street grid sized for `routes` routes, its largest connected part kept."""
    side_m = math.sqrt(_KM2_PER_ROUTE * max(routes, _MIN_CITY_ROUTES)) * 1000.0
    size = round(side_m / _STREET_SPACING_M) + 1
    row, col = np.divmod(np.arange(size * size, dtype=np.int64), size)
    grid = np.column_stack((col, row)).astype(np.float64) - (size - 1) / 2
    xy = grid * _STREET_SPACING_M + rng.uniform(-_NODE_JITTER_M, _NODE_JITTER_M, size=(size * size, 2))
    u, v = _grid_edges(size)
    length = np.hypot(*(xy[u] - xy[v]).T)
    same_row = row[u] == row[v]
    arterial = np.where(same_row, row[u], col[u]) % _ARTERIAL_EVERY == _ARTERIAL_EVERY // 2
    open_ = arterial | (rng.random(u.size) >= _CLOSED_STREET_SHARE)
    factor = np.where(arterial, ARTERIAL_FACTOR, 1.0)
    G = nx.Graph()
    G.add_edges_from(
        (int(a), int(b), {"length": float(d), "factor": float(f), "eid": k})
        for k, (a, b, d, f) in enumerate(zip(u[open_], v[open_], length[open_], factor[open_], strict=True))
    )
    G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
    names = _street_names(2 * size, rng)
    return Streets(G, xy, size, int(open_.sum()), tuple(names[0::2]), tuple(names[1::2]))


def _grid_edges(size: int) -> tuple[IntArray, IntArray]:
    node = np.arange(size * size, dtype=np.int64).reshape(size, size)
    u = np.concatenate((node[:, :-1].ravel(), node[:-1, :].ravel()))
    v = np.concatenate((node[:, 1:].ravel(), node[1:, :].ravel()))
    return u, v


def _street_names(count: int, rng: np.random.Generator) -> list[str]:
    named = [f"ул. {name}" for name in rng.permutation(np.array(_STREET_NAMES, dtype=object))]
    numbered = [f"{k}-я линия" for k in range(1, max(0, count - len(named)) + 1)]
    return (named + numbered)[:count]


def to_lat_lon(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS84 latitude and longitude, to 6 decimals, of points on the local plane."""
    lat = np.round(CENTRE_LAT + xy[:, 1] / _M_PER_DEG_LAT, 6)
    lon = np.round(CENTRE_LON + xy[:, 0] / _M_PER_DEG_LON, 6)
    return lat, lon
