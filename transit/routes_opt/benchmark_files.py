"""The transit route network design literature's instance files (pure parsing): a travel-time matrix, a
demand matrix (n rows of n numbers, blank lines allowed between rows; `Inf` or -1 for no link), and a route
set, one route per line as 1-based node ids separated by '-', ',' or spaces, as the literature prints them.

Errors name the file, line and value.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from transit.errors import BadParameter
from transit.routes_opt.passenger import FloatMatrix

_NO_LINK = {"inf", "-1", "infinity"}
_ROUTE_SEPARATORS = re.compile(r"[-,\s]+")


def read_matrix(path: Path, option: str, *, links: bool) -> FloatMatrix:
    """A square matrix; with `links`, `Inf`/-1 become inf (no link). BadParameter naming line and value."""
    rows: list[list[float]] = []
    for number, line in enumerate(_lines(path, option), start=1):
        cells = line.split()
        if not cells:
            continue
        row = []
        for cell in cells:
            if links and cell.lower() in _NO_LINK:
                row.append(np.inf)
                continue
            try:
                value = float(cell)
            except ValueError:
                raise BadParameter(f"{option}: {path} line {number}: {cell!r} is not a number") from None
            if value < 0 or not np.isfinite(value):
                raise BadParameter(f"{option}: {path} line {number}: {cell!r} must be a finite number >= 0")
            row.append(value)
        rows.append(row)
    n = len(rows)
    if n == 0:
        raise BadParameter(f"{option}: {path} holds no matrix")
    for k, row in enumerate(rows, start=1):
        if len(row) != n:
            raise BadParameter(
                f"{option}: {path}: row {k} has {len(row)} values; a {n}-node matrix needs {n}"
            )
    return np.asarray(rows, dtype=np.float64)


def read_routes(path: Path, option: str, times: FloatMatrix) -> list[list[int]]:
    """0-based routes from 1-based lines; each consecutive pair must be a link of `times`."""
    n = times.shape[0]
    routes = []
    for number, line in enumerate(_lines(path, option), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        route = []
        for cell in _ROUTE_SEPARATORS.split(text):
            if not cell:
                continue
            if not cell.isdigit() or not 1 <= int(cell) <= n:
                raise BadParameter(f"{option}: {path} line {number}: {cell!r} is not a node id 1..{n}")
            route.append(int(cell) - 1)
        if len(route) < 2:
            raise BadParameter(f"{option}: {path} line {number}: a route needs at least 2 nodes")
        for a, b in zip(route[:-1], route[1:], strict=True):
            if not np.isfinite(times[a, b]):
                raise BadParameter(
                    f"{option}: {path} line {number}: no link between nodes {a + 1} and {b + 1}"
                )
        routes.append(route)
    if not routes:
        raise BadParameter(f"{option}: {path} holds no route")
    return routes


def _lines(path: Path, option: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadParameter(f"{option}: {path}: cannot be read ({exc})") from None
