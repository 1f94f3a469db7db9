"""Files and columns: required files and columns, unknown columns, each value against its column's type."""

from __future__ import annotations

import numpy as np

from transit.gtfs.check.values import Bools, CheckedTable, Describe, FeedCheck, Values, say, timezones
from transit.gtfs.model import FindingCode, Severity
from transit.gtfs.schema import CALENDAR_FILES, FILES, REQUIRED_FILES, Column, FieldType, FileSpec

C = FindingCode
T = FieldType
ERROR = Severity.ERROR
WARNING = Severity.WARNING

_LIMITS = {T.LATITUDE: 90.0, T.LONGITUDE: 180.0}


def check_files(ctx: FeedCheck) -> None:
    """Required files and a calendar; a file source.py could not read was reported there, not as missing."""
    for name in REQUIRED_FILES:
        if not ctx.is_present(name):
            ctx.add(ERROR, C.MISSING_REQUIRED_FILE, f"{name}.txt", None, f"missing required file {name}.txt")
    if not any(ctx.is_present(name) for name in CALENDAR_FILES):
        ctx.add(
            ERROR, C.MISSING_CALENDAR, None, None,
            "missing calendar.txt and calendar_dates.txt: at least one is required to know when trips run",
        )  # fmt: skip


def check_table(ctx: FeedCheck, table: CheckedTable) -> None:
    """Rows, required and unknown columns, then the values of every known column."""
    if len(table) == 0 and table.name not in REQUIRED_FILES:
        ctx.add(WARNING, C.NO_ROWS, table.file, None, f"{table.file} has a header but no rows")
    spec = FILES.get(table.name)
    if spec is None:
        return
    for name in spec.required_columns:
        if not table.has(name):
            ctx.add(
                ERROR,
                C.MISSING_REQUIRED_COLUMN,
                table.file,
                name,
                f"{table.file}: missing required column {name}",
            )
    for name in sorted(table.columns - spec.column_names):
        ctx.add(
            WARNING, C.UNKNOWN_COLUMN, table.file, name,
            f"{table.file}: column {name} is not a column of {table.file} in GTFS; it is ignored",
        )  # fmt: skip
    for column in spec.columns:
        if table.has(column.name):
            _check_column(ctx, table, column)
    _check_null_island(ctx, table, spec)


def _check_column(ctx: FeedCheck, table: CheckedTable, column: Column) -> None:
    """Required values present, and non-empty values of the column's type, enumeration and range."""
    values = table.values(column.name)
    empty = values.empty
    if column.required:
        ctx.report(
            ERROR,
            C.MISSING_REQUIRED_VALUE,
            table,
            values.rows(empty),
            column.name,
            say("empty; a value is required"),
        )
    verdict = _invalid(values, column)
    if verdict is not None:
        invalid, code, expected = verdict
        describe = _bad_value(values, expected, column.type)
        ctx.report(ERROR, code, table, values.rows(invalid & ~empty), column.name, describe)
    limit = _LIMITS.get(column.type)
    if limit is not None:
        coordinate = values.parsed(column.type)
        outside = np.abs(np.nan_to_num(coordinate)) > limit
        ctx.report(
            ERROR, C.COORDINATE_OUT_OF_RANGE, table, values.rows(outside), column.name,
            lambda row: f"{values.text_at(row)} is outside [-{limit:g}, {limit:g}] degrees",
        )  # fmt: skip


def _invalid(values: Values, column: Column) -> tuple[Bools, FindingCode, str] | None:
    """Which distinct values break the column's type or enumeration, the code to report, what was expected."""
    if column.allowed is not None:
        allowed = sorted(column.allowed, key=lambda v: (len(v), v))
        bad = ~values.text.isin(column.allowed).to_numpy(dtype=bool)
        return bad, C.INVALID_ENUM, f"is not one of {', '.join(allowed)}"
    if column.type is T.TIMEZONE:
        bad = ~values.text.isin(timezones()).to_numpy(dtype=bool)
        return bad, C.INVALID_TIMEZONE, "is not an IANA time zone name such as America/Los_Angeles"
    rule = _TYPE_RULES.get(column.type)
    if rule is None:
        return None  # text and ids: any value goes
    return np.isnan(values.parsed(column.type)), rule[0], rule[1]


_TYPE_RULES: dict[FieldType, tuple[FindingCode, str]] = {
    T.DATE: (C.INVALID_DATE, "is not a date; GTFS dates are YYYYMMDD"),
    T.TIME: (C.INVALID_TIME, "is not a time; GTFS times are H:MM:SS or HH:MM:SS (hours may pass 24)"),
    T.INTEGER: (C.INVALID_INTEGER, "is not an integer"),
    T.NON_NEGATIVE_INTEGER: (C.INVALID_INTEGER, "is not a non-negative integer"),
    T.NUMBER: (C.INVALID_NUMBER, "is not a number"),
    T.LATITUDE: (C.INVALID_NUMBER, "is not a number; a latitude is in decimal degrees"),
    T.LONGITUDE: (C.INVALID_NUMBER, "is not a number; a longitude is in decimal degrees"),
}


def _bad_value(values: Values, expected: str, kind: FieldType) -> Describe:
    def describe(row: int) -> str:
        text = values.text_at(row)
        if kind is T.DATE and len(text) == 8 and text.isdigit():
            return f"{text!r} is not a real calendar date (YYYYMMDD)"
        if kind in (T.INTEGER, T.NON_NEGATIVE_INTEGER) and len(text) > 15 and text.lstrip("+-").isdigit():
            return f"{text!r} has more than 15 digits; no GTFS integer is that large"
        return f"{text!r} {expected}"

    return describe


def _check_null_island(ctx: FeedCheck, table: CheckedTable, spec: FileSpec) -> None:
    """A position of exactly 0, 0 is almost always a missing position written as zeros."""
    lat = next((c.name for c in spec.columns if c.type is T.LATITUDE), None)
    lon = next((c.name for c in spec.columns if c.type is T.LONGITUDE), None)
    if lat is None or lon is None or not (table.has(lat) and table.has(lon)):
        return
    zero = (table.values(lat).parsed_rows(T.LATITUDE) == 0) & (
        table.values(lon).parsed_rows(T.LONGITUDE) == 0
    )
    ctx.report(
        WARNING, C.COORDINATE_OUT_OF_RANGE, table, np.flatnonzero(zero), lat,
        say(f"{lat}, {lon} are 0, 0 (in the Gulf of Guinea); the position is probably missing"),
    )  # fmt: skip
