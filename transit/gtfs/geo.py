"""Distances on the Earth, vectorised."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres between arrays of points given in degrees.

    >>> round(float(haversine_m(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0]))
    111195
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def path_lengths_m(group_codes: np.ndarray, lat: np.ndarray, lon: np.ndarray, groups: int) -> np.ndarray:
    """Length of each group's polyline; points must be sorted by group then by sequence.

    Returns an array of `groups` lengths in metres (0 for a group with fewer than two points).
    """
    if len(group_codes) < 2:
        return np.zeros(groups)
    same = group_codes[1:] == group_codes[:-1]
    steps = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    return np.bincount(group_codes[1:][same], weights=steps[same], minlength=groups)
