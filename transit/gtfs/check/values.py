"""Columns as distinct values, and the feed under check that every check reads and reports into.

A column is factorized once (`Values`): its distinct values are parsed and judged, and the verdicts are mapped
back to rows with numpy.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.gtfs.findings import MAX_PER_KIND, Findings
from transit.gtfs.model import FindingCode, RawFeed, Severity, Table
from transit.gtfs.schema import FieldType

T = FieldType

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Describe = Callable[[int], str]

_INTEGER = r"[+-]?\d{1,15}"  # 15 digits stay exact in a float64
_NON_NEGATIVE_INTEGER = r"\d{1,15}"
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TIME = r"(\d{1,2}):([0-5]\d):([0-5]\d)"  # hours up to 99: service days may run past 24:00:00
_DATE = r"(\d{4})(\d{2})(\d{2})"


@dataclass(slots=True)
class Values:
    """One column factorized: row i holds distinct value `codes[i]`, as written (`raw`) and stripped."""

    codes: Ints
    raw: pd.Series
    text: pd.Series
    _parsed: dict[FieldType, Floats] = field(default_factory=dict)

    @classmethod
    def of(cls, column: pd.Series) -> Values:
        codes, uniques = pd.factorize(column)
        raw = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str)
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) and codes.min() < 0:  # only a hand-made frame has missing values; read them as empty
            codes = np.where(codes < 0, len(raw), codes)
            raw = pd.concat([raw, pd.Series([""], dtype=str)], ignore_index=True)
        return cls(codes, raw, raw.str.strip())

    @property
    def empty(self) -> Bools:
        return (self.text == "").to_numpy(dtype=bool)

    def rows(self, flagged: Bools) -> Ints:
        """Positions of the rows whose distinct value is flagged."""
        if not flagged.any():
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(flagged[self.codes])

    def text_at(self, position: int) -> str:
        return str(self.text.iloc[int(self.codes[position])])

    def parsed(self, kind: FieldType) -> Floats:
        """Each distinct value as a number (times in seconds, dates in days since 1970); NaN if invalid."""
        if kind not in self._parsed:
            self._parsed[kind] = _PARSERS[kind](self.text)
        return self._parsed[kind]

    def parsed_rows(self, kind: FieldType) -> Floats:
        return self.parsed(kind)[self.codes]


def _parse_pattern(text: pd.Series, pattern: str) -> Floats:
    matched = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(text), np.nan)
    values[matched] = pd.to_numeric(text[matched], errors="coerce").to_numpy(dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _parse_time(text: pd.Series) -> Floats:
    parts = text.str.extract(f"^{_TIME}$").astype(float).to_numpy(dtype=np.float64)
    if parts.size == 0:
        return np.full(len(text), np.nan)
    return np.asarray(parts[:, 0] * 3600 + parts[:, 1] * 60 + parts[:, 2], dtype=np.float64)


def _parse_date(text: pd.Series) -> Floats:
    """YYYYMMDD as days since 1970-01-01; NaN for anything that is not a real calendar date."""
    parts = text.str.extract(f"^{_DATE}$").astype(float).to_numpy(dtype=np.float64)
    if parts.size == 0:
        return np.full(len(text), np.nan)
    year, month, day = parts[:, 0], parts[:, 1], parts[:, 2]
    ok = ~np.isnan(year) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype(np.int64)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    following = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    ok &= day <= following - first
    return np.where(ok, first + day - 1, np.nan)


def _parse_integer(text: pd.Series) -> Floats:
    return _parse_pattern(text, _INTEGER)


def _parse_non_negative_integer(text: pd.Series) -> Floats:
    return _parse_pattern(text, _NON_NEGATIVE_INTEGER)


def _parse_number(text: pd.Series) -> Floats:
    return _parse_pattern(text, _NUMBER)


_PARSERS: dict[FieldType, Callable[[pd.Series], Floats]] = {
    T.TIME: _parse_time,
    T.DATE: _parse_date,
    T.INTEGER: _parse_integer,
    T.NON_NEGATIVE_INTEGER: _parse_non_negative_integer,
    T.NUMBER: _parse_number,
    T.LATITUDE: _parse_number,
    T.LONGITUDE: _parse_number,
}


@functools.cache
def timezones() -> frozenset[str]:
    """The IANA time zone names this Python knows."""
    return frozenset(zoneinfo.available_timezones())


@dataclass(slots=True)
class CheckedTable:
    """One table under check, with its columns factorized on first use."""

    name: str
    frame: pd.DataFrame
    lines: Ints
    columns: frozenset[str]
    _values: dict[str, Values] = field(default_factory=dict)

    @classmethod
    def of(cls, table: Table) -> CheckedTable:
        lines = np.asarray(table.lines, dtype=np.int64)
        if len(lines) != len(table.frame):
            lines = np.zeros(len(table.frame), dtype=np.int64)  # unknown lines are reported as None
        return cls(table.name, table.frame, lines, frozenset(table.columns_present))

    @property
    def file(self) -> str:
        return f"{self.name}.txt"

    def __len__(self) -> int:
        return len(self.frame)

    def has(self, column: str) -> bool:
        return column in self.columns and column in self.frame.columns

    def values(self, column: str) -> Values:
        if column not in self._values:
            self._values[column] = Values.of(self.frame[column])
        return self._values[column]

    def line(self, position: int) -> int | None:
        return int(self.lines[position]) or None


@dataclass(slots=True)
class FeedCheck:
    """The feed under check and the findings so far."""

    raw: RawFeed
    findings: Findings
    tables: dict[str, CheckedTable]

    def table(self, name: str) -> CheckedTable | None:
        return self.tables.get(name)

    def is_present(self, name: str) -> bool:
        """The file is in the feed, whether or not source.py could read it."""
        return f"{name}.txt" in self.raw.file_bytes or name in self.raw.tables

    def is_unreadable(self, name: str) -> bool:
        return self.is_present(name) and name not in self.tables

    def add(
        self, severity: Severity, code: FindingCode, file: str | None, field: str | None, message: str
    ) -> None:
        """One finding about a whole file (line 1, the header, when it names a field)."""
        self.findings.add(severity, code, file, 1 if field else None, field, message)

    def report(
        self,
        severity: Severity,
        code: FindingCode,
        table: CheckedTable,
        positions: Ints,
        field: str,
        describe: Describe,
    ) -> None:
        """One finding per row, in file order; past the cap only the count is kept, so no message is built."""
        positions = np.sort(positions)
        lines = table.lines[positions].tolist()
        for k, (position, line) in enumerate(zip(positions.tolist(), lines, strict=True)):
            message = ""
            if k < MAX_PER_KIND:
                where = f"{table.file} line {line}" if line else table.file
                message = f"{where}, {field}: {describe(position)}"
            self.findings.add(severity, code, table.file, line or None, field, message)


def say(message: str) -> Describe:
    """The same message for every row."""
    return lambda _row: message


def empty_rows(table: CheckedTable, column: str) -> Bools:
    """Per row: the column is empty or absent."""
    if not table.has(column):
        return np.ones(len(table), dtype=bool)
    values = table.values(column)
    return values.empty[values.codes]
