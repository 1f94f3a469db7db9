"""Who lives where and where they travel: a population grid and gravity-model OD demand between stops."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.synth.streets import to_lat_lon

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_POP_PER_KM2 = 3_600.0
_CELL_M = 500.0
_TRIPS_PER_PERSON = 0.5
_MAX_OD_DRAWS = 400_000
_MAX_OD_ROWS = 50_000
_MIN_OD_DISTANCE_M = 500.0


def build_population(xy: FloatArray, rng: np.random.Generator) -> pd.DataFrame:
    """500 m cells over the streets, ~3,600 people per km2 densest in the centre and subcentres."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    cols, rows = np.ceil((high - low) / _CELL_M).astype(np.int64)
    row, col = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    centre = low + (np.column_stack((col, row)) + 0.5) * _CELL_M
    side = float(max(high - low))
    subcentres = 2 + int(side // 5_000)
    peaks = np.vstack(([0.0, 0.0], rng.uniform(0.8 * low, 0.8 * high, size=(subcentres, 2))))
    weight = np.r_[1.0, rng.uniform(0.2, 0.5, size=subcentres)]
    sigma = np.r_[0.2 * side, rng.uniform(1_200.0, 2_500.0, size=subcentres)]
    d2 = ((centre[:, None, :] - peaks[None, :, :]) ** 2).sum(axis=2)
    density = (weight * np.exp(-d2 / (2 * sigma**2))).sum(axis=1) + 0.03
    density *= rng.lognormal(0.0, 0.3, size=density.size)
    total = _POP_PER_KM2 * rows * cols * (_CELL_M / 1000.0) ** 2
    lat, lon = to_lat_lon(centre)
    return pd.DataFrame(
        {
            "cell_id": [f"C{r:03d}-{c:03d}" for r, c in zip(row, col, strict=True)],
            "lat": lat,
            "lon": lon,
            "population": np.floor(density / density.sum() * total + 0.5).astype(np.int64),
        }
    )


def _stop_weights(stop_xy: FloatArray, population: pd.DataFrame, street_xy: FloatArray) -> FloatArray:
    """Each stop's share of the people in its 500 m cell."""
    low, high = street_xy.min(axis=0), street_xy.max(axis=0)
    cols, rows = np.ceil((high - low) / _CELL_M).astype(np.int64)
    cell_xy = np.floor((stop_xy - low) / _CELL_M).astype(np.int64)
    cell = np.clip(cell_xy[:, 1], 0, rows - 1) * cols + np.clip(cell_xy[:, 0], 0, cols - 1)
    stops_in_cell = np.bincount(cell, minlength=rows * cols)
    people = population["population"].to_numpy(dtype=np.float64)
    weights: FloatArray = people[cell] / stops_in_cell[cell] + 1.0
    return weights


def build_demand(
    stops: pd.DataFrame,
    stop_xy: FloatArray,
    population: pd.DataFrame,
    street_xy: FloatArray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A gravity model, T_ij ~ w_i * w_j * exp(-d_ij / d0), sampled and kept to the 50,000 busiest pairs."""
    weights = _stop_weights(stop_xy, population, street_xy)
    total_trips = _TRIPS_PER_PERSON * float(population["population"].sum())
    draws = int(min(total_trips, _MAX_OD_DRAWS))
    side = float(max(street_xy.max(axis=0) - street_xy.min(axis=0)))
    origin, destination = _sample_gravity(stop_xy, weights, draws, 2_500.0 * math.sqrt(side / 7_200.0), rng)
    count = weights.size
    pairs, trips = np.unique(origin * count + destination, return_counts=True)
    keep = np.sort(np.lexsort((pairs, -trips))[:_MAX_OD_ROWS])
    stop_ids = stops["stop_id"].to_numpy()
    return pd.DataFrame(
        {
            "origin_stop_id": stop_ids[pairs[keep] // count],
            "destination_stop_id": stop_ids[pairs[keep] % count],
            "trips_per_day": np.round(trips[keep] * total_trips / max(draws, 1), 1),
        }
    )


def _sample_gravity(
    xy: FloatArray, weights: FloatArray, draws: int, scale_m: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Draw (origin, destination) pairs: both ends by weight, kept with probability exp(-distance / scale)."""
    cdf = np.cumsum(weights)
    found: list[tuple[IntArray, IntArray]] = []
    got = 0
    for _ in range(1_000):
        if got >= draws:
            break
        batch = min(2_000_000, max(100_000, 8 * (draws - got)))
        ends = np.minimum(np.searchsorted(cdf, rng.random((2, batch)) * cdf[-1], side="right"), cdf.size - 1)
        distance = np.hypot(*(xy[ends[0]] - xy[ends[1]]).T)
        kept = (distance >= _MIN_OD_DISTANCE_M) & (rng.random(batch) < np.exp(-distance / scale_m))
        found.append((ends[0][kept].astype(np.int64), ends[1][kept].astype(np.int64)))
        got += int(kept.sum())
    origin = np.concatenate([o for o, _ in found] or [np.zeros(0, dtype=np.int64)])[:draws]
    destination = np.concatenate([d for _, d in found] or [np.zeros(0, dtype=np.int64)])[:draws]
    return origin, destination
