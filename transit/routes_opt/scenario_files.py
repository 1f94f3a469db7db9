"""A scenario's inputs (pure parsing): the operations (TOML file, or the same document as JSON over HTTP), an
origin-destination CSV and a population grid CSV. Errors name the file, the operation or row, and the field.

A scenario document:

    name = "Fold 131N into 131"           # optional
    [[operation]]
    kind = "merge"                         # drop | truncate | extend | merge | headway
    name = "131N riders ride 131"          # optional; default "<kind> <route>"
    route = "131N"                         # a route_id, or a unique route_short_name
    into = "131"

Fields by kind: drop (route); truncate (route, from_stop, to_stop); extend (route, after_stop, stops: a list
of stop_ids); merge (route, into); headway (route, minutes, optional from and to as GTFS times HH:MM:SS).
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit.errors import BadParameter
from transit.gtfs.times import parse_gtfs_time
from transit.routes_opt.network import local_xy
from transit.routes_opt.scenario import Drop, Extend, Headway, Merge, Operation, Truncate

KINDS = ("drop", "truncate", "extend", "merge", "headway")
_FIELDS = {
    "drop": ("route",),
    "truncate": ("route", "from_stop", "to_stop"),
    "extend": ("route", "after_stop", "stops"),
    "merge": ("route", "into"),
    "headway": ("route", "minutes"),
}
_OPTIONAL = {"headway": ("from", "to")}


def read_scenario_file(
    path: Path, routes: pd.DataFrame, stops: Collection[str]
) -> tuple[str, list[Operation]]:
    """The scenario's name and operations from a TOML file (module docstring)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadParameter(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadParameter(f"{path}: not valid TOML ({exc})") from None
    return parse_scenario(document, str(path), routes, stops)


def parse_scenario(
    document: Mapping[str, Any], source: str, routes: pd.DataFrame, stops: Collection[str]
) -> tuple[str, list[Operation]]:
    """The scenario's name and operations from its document; `routes` has route_id and route_short_name,
    `stops` are the feed's stop_ids."""
    unknown = sorted(set(document) - {"name", "operation"})
    if unknown:
        raise BadParameter(f"{source}: unknown key {unknown[0]!r} (a scenario has name and [[operation]])")
    items = document.get("operation")
    if not isinstance(items, list) or not items:
        raise BadParameter(f"{source}: no [[operation]] (at least one is needed)")
    route_of = _route_resolver(routes)
    operations = [_operation(item, f"{source}: operation {k}", route_of, stops)
                  for k, item in enumerate(items, start=1)]  # fmt: skip
    name = document.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise BadParameter(f"{source}: name must be text")
    return name, operations


def _operation(
    item: object, where: str, route_of: Callable[[str, str], str], stops: Collection[str]
) -> Operation:
    if not isinstance(item, Mapping):
        raise BadParameter(f"{where}: must be a table of fields")
    kind = item.get("kind")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise BadParameter(f"{where}, name: {name!r} must be text")
    where = where if name is None else f"{where} ({name})"
    if kind not in KINDS:
        raise BadParameter(f"{where}, kind: {kind!r} is not one of {', '.join(KINDS)}")
    if name is None:
        name = f"{kind} {item.get('route', '')}".strip()
        where = f"{where} ({name})"
    allowed = {"kind", "name", *_FIELDS[kind], *_OPTIONAL.get(kind, ())}
    extra = sorted(set(item) - allowed)
    if extra:
        raise BadParameter(f"{where}, {extra[0]}: not a field of {kind} (fields: {', '.join(_FIELDS[kind])})")
    for required in _FIELDS[kind]:
        if required not in item:
            raise BadParameter(f"{where}, {required}: missing")
    route = route_of(_text(item, "route", where), where + ", route")
    if kind == "drop":
        return Drop(name, route)
    if kind == "truncate":
        return Truncate(
            name, route, _stop(item, "from_stop", where, stops), _stop(item, "to_stop", where, stops)
        )
    if kind == "extend":
        added = item["stops"]
        if not isinstance(added, list) or not added:
            raise BadParameter(f"{where}, stops: a non-empty list of stop_ids")
        for k, stop in enumerate(added):
            if str(stop) not in stops:
                raise BadParameter(f"{where}, stops[{k}]: {stop!r} is not a stop of the feed")
        return Extend(name, route, _stop(item, "after_stop", where, stops), tuple(str(s) for s in added))
    if kind == "merge":
        into = route_of(_text(item, "into", where), where + ", into")
        if into == route:
            raise BadParameter(f"{where}, into: a route cannot merge into itself")
        return Merge(name, route, into)
    minutes = item["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 1 <= minutes <= 240:
        raise BadParameter(f"{where}, minutes: {minutes!r} must be a number of minutes from 1 to 240")
    start, end = (_time(item, key, where) for key in ("from", "to"))
    if start is not None and end is not None and end <= start:
        raise BadParameter(f"{where}, to: must be after from")
    return Headway(name, route, float(minutes), start, end)


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item[key]
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise BadParameter(f"{where}, {key}: {value!r} must be an id")
    return str(value).strip()


def _stop(item: Mapping[str, Any], key: str, where: str, stops: Collection[str]) -> str:
    stop = _text(item, key, where)
    if stop not in stops:
        raise BadParameter(f"{where}, {key}: {stop!r} is not a stop of the feed")
    return stop


def _time(item: Mapping[str, Any], key: str, where: str) -> int | None:
    if key not in item:
        return None
    try:
        return parse_gtfs_time(str(item[key]))
    except ValueError as exc:
        raise BadParameter(f"{where}, {key}: {exc}") from None


def _route_resolver(routes: pd.DataFrame) -> Callable[[str, str], str]:
    ids = set(routes["route_id"].astype(str))
    names = routes.get("route_short_name", pd.Series("", index=routes.index)).astype("string").fillna("")
    by_name: dict[str, list[str]] = {}
    for route_id, short in zip(routes["route_id"].astype(str), names, strict=True):
        if short:
            by_name.setdefault(str(short), []).append(route_id)

    def resolve(key: str, where: str) -> str:
        if key in ids:
            return key
        found = by_name.get(key, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise BadParameter(f"{where}: short name {key!r} is shared by routes {', '.join(sorted(found))}; "
                               "give the route_id")  # fmt: skip
        raise BadParameter(f"{where}: {key!r} is neither a route_id nor a route_short_name of the feed")

    return resolve


def read_od(path: Path, stops: Collection[str]) -> pd.DataFrame:
    """origin_stop_id, destination_stop_id, trips from an OD CSV whose third column is trips_per_day (or
    trips); rows naming stops the feed does not have are an error, naming the row."""
    rows = _csv_rows(path, "--demand", ("origin_stop_id", "destination_stop_id"), ("trips_per_day", "trips"))
    out: dict[str, list[Any]] = {"origin_stop_id": [], "destination_stop_id": [], "trips": []}
    for number, values, trips_field in rows:
        for key in ("origin_stop_id", "destination_stop_id"):
            if values[key] not in stops:
                raise BadParameter(
                    f"--demand: {path} row {number}, {key}: {values[key]!r} is not a stop of the feed"
                )
            out[key].append(values[key])
        out["trips"].append(_number(values[trips_field], f"--demand: {path} row {number}, {trips_field}"))
    return pd.DataFrame(out)


def read_population(path: Path, origin: tuple[float, float]) -> pd.DataFrame:
    """x, y (local metres around `origin`) and population of a grid CSV: cell_id, lat, lon, population."""
    rows = _csv_rows(path, "--population", ("lat", "lon"), ("population",))
    lat, lon, people = [], [], []
    for number, values, _ in rows:
        where = f"--population: {path} row {number}"
        lat.append(_number(values["lat"], f"{where}, lat", low=-90.0, high=90.0))
        lon.append(_number(values["lon"], f"{where}, lon", low=-180.0, high=180.0))
        people.append(_number(values["population"], f"{where}, population"))
    xy = local_xy(np.asarray(lat), np.asarray(lon), origin) if lat else np.empty((0, 2))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "population": np.asarray(people, dtype=np.float64)})


def _csv_rows(
    path: Path, option: str, required: tuple[str, ...], amount: tuple[str, ...]
) -> list[tuple[int, dict[str, str], str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in required if name not in header]
            counted = next((name for name in amount if name in header), None)
            if missing or counted is None:
                need = [*missing, *([] if counted else [" or ".join(amount)])]
                raise BadParameter(f"{option}: {path}: the header needs {', '.join(need)}")
            rows = []
            for number, raw in enumerate(reader, start=2):
                if None in raw:  # an unquoted "1,000" or a stray comma: do not guess which value is meant
                    raise BadParameter(
                        f"{option}: {path} row {number}: more values than the header has columns"
                    )
                values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
                rows.append((number, values, counted))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadParameter(f"{option}: {path}: cannot be read ({exc})") from None
    if not rows:
        raise BadParameter(f"{option}: {path} has no rows")
    return rows


def _number(text: str, where: str, low: float = 0.0, high: float = float("inf")) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadParameter(f"{where}: {text!r} is not a number") from None
    if not low <= value <= high:
        raise BadParameter(f"{where}: {text!r} is out of range")
    return value
