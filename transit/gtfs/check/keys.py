"""Keys: primary keys unique within a file, and foreign keys that name a row of their parent file."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transit.gtfs.check.values import CheckedTable, FeedCheck
from transit.gtfs.model import FindingCode, Severity
from transit.gtfs.schema import CALENDAR_FILES, FILES

C = FindingCode
ERROR = Severity.ERROR

# (child file, column) -> (parent file, column); a parent file that is absent means "none defined" only for
# shapes.txt, because the other parents are required files whose absence is already an error.
_REFERENCES = (
    ("trips", "route_id", "routes", "route_id"),
    ("routes", "agency_id", "agency", "agency_id"),
    ("stop_times", "trip_id", "trips", "trip_id"),
    ("stop_times", "stop_id", "stops", "stop_id"),
    ("trips", "shape_id", "shapes", "shape_id"),
    ("frequencies", "trip_id", "trips", "trip_id"),
    ("stops", "parent_station", "stops", "stop_id"),
)
_ABSENT_MEANS_EMPTY = frozenset({"shapes"})


def check_primary_key(ctx: FeedCheck, table: CheckedTable) -> None:
    """Each row after the first with the same primary key (rows with an empty key part are skipped)."""
    spec = FILES.get(table.name)
    if spec is None or not spec.primary_key or not all(table.has(name) for name in spec.primary_key):
        return
    parts = [table.values(name) for name in spec.primary_key]
    key = parts[0].codes
    for part in parts[1:]:
        width = len(part.raw)
        if int(key.max(initial=0)) + 1 > (2**62) // max(width, 1):
            key = np.asarray(pd.factorize(key)[0], dtype=np.int64)
        key = key * width + part.codes
    _, first_index, inverse = np.unique(key, return_index=True, return_inverse=True)
    first = first_index[inverse.reshape(-1)]
    has_empty = np.logical_or.reduce([part.empty[part.codes] for part in parts])
    rows = np.flatnonzero((first != np.arange(len(key))) & ~has_empty)

    def describe(row: int) -> str:
        value = ", ".join(
            f"{name} {part.text_at(row)!r}" for name, part in zip(spec.primary_key, parts, strict=True)
        )
        return f"{value} is already on line {table.line(int(first[row]))}; it must be unique"

    ctx.report(ERROR, C.DUPLICATE_KEY, table, rows, spec.primary_key[-1], describe)


def _known_ids(ctx: FeedCheck, parents: tuple[str, ...], column: str) -> pd.Series | None:
    """The ids the parent files define, or None when that is not known or its lack is reported elsewhere."""
    known: list[pd.Series] = []
    for name in parents:
        table = ctx.table(name)
        if table is None:
            if ctx.is_unreadable(name):
                return None
            continue
        if not table.has(column):
            return None
        known.append(table.values(column).raw[~table.values(column).empty])
    if not _ABSENT_MEANS_EMPTY.intersection(parents) and sum(len(ids) for ids in known) == 0:
        return None  # the parents are missing or have no rows: MISSING_REQUIRED_FILE or NO_SERVICE says so
    return pd.concat(known, ignore_index=True) if known else pd.Series([], dtype=str)


def _check_reference(
    ctx: FeedCheck, child: str, column: str, parents: tuple[str, ...], parent_column: str
) -> None:
    """Every non-empty value of child.column must be a parent_column of one of the parent files."""
    table = ctx.table(child)
    if table is None or not table.has(column):
        return
    known = _known_ids(ctx, parents, parent_column)
    if known is None:
        return
    values = table.values(column)
    dangling = ~values.raw.isin(known).to_numpy(dtype=bool) & ~values.empty
    where = " or ".join(f"{name}.txt" for name in parents)
    absent = [f"{name}.txt" for name in parents if not ctx.is_present(name)]
    note = f" (the feed has no {' or '.join(absent)})" if absent else ""
    ctx.report(
        ERROR, C.FOREIGN_KEY_VIOLATION, table, values.rows(dangling), column,
        lambda row: f"{values.raw.iloc[int(values.codes[row])]!r} is not a {parent_column} in {where}{note}",
    )  # fmt: skip


def check_references(ctx: FeedCheck) -> None:
    """Foreign keys between the files the service reads."""
    for child, column, parent, parent_column in _REFERENCES:
        _check_reference(ctx, child, column, (parent,), parent_column)


def check_service_references(ctx: FeedCheck) -> None:
    """trips.service_id must be defined in calendar.txt or calendar_dates.txt."""
    present = tuple(name for name in CALENDAR_FILES if ctx.is_present(name))
    if present:
        _check_reference(ctx, "trips", "service_id", present, "service_id")
