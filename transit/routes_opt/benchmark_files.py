"""The transit route network design literature's instance files (pure parsing): a travel-time matrix, a
demand matrix (n rows of n numbers, blank lines allowed between rows; `Inf` or -1 for no link), and a route
set, one route per line as 1-based node ids separated by '-', ',' or spaces, as the literature prints them.

Errors name the file, line and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
    given: list[list[int | str]] = []
    numbers: list[int] = []
    for number, line in enumerate(_lines(path, option), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            given.append([c for c in _ROUTE_SEPARATORS.split(text) if c])
            numbers.append(number)
    if not given:
        raise BadParameter(f"{option}: {path} holds no route")
    return check_routes(given, times, lambda k: f"{option}: {path} line {numbers[k]}")


def check_routes(
    routes: Sequence[Sequence[int | str]], times: FloatMatrix, where: Callable[[int], str]
) -> list[list[int]]:
    """0-based routes from 1-based node ids; BadParameter at `where(k)` for route k with a node out of range,
    fewer than 2 nodes, or two consecutive nodes without a link."""
    n = times.shape[0]
    checked = []
    for k, route in enumerate(routes):
        for node in route:
            if not str(node).isdigit() or not 1 <= int(node) <= n:
                raise BadParameter(f"{where(k)}: {str(node)!r} is not a node id 1..{n}")
        nodes = [int(node) - 1 for node in route]
        if len(nodes) < 2:
            raise BadParameter(f"{where(k)}: a route needs at least 2 nodes")
        for a, b in zip(nodes[:-1], nodes[1:], strict=True):
            if not np.isfinite(times[a, b]):
                raise BadParameter(f"{where(k)}: no link between nodes {a + 1} and {b + 1}")
        checked.append(nodes)
    return checked


def _lines(path: Path, option: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadParameter(f"{option}: {path}: cannot be read ({exc})") from None
