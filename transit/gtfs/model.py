"""Values of the GTFS domain: identifiers, validation findings, the raw tables of a feed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

import numpy as np
import pandas as pd

TripId = NewType("TripId", str)
RouteId = NewType("RouteId", str)
AgencyId = NewType("AgencyId", str)
ServiceId = NewType("ServiceId", str)
CarrierId = NewType("CarrierId", str)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class FindingCode(StrEnum):
    """What is wrong with a feed; docs/gtfs_validation.md gives the severity of each in one table."""

    # archive and files
    UNREADABLE_FEED = "unreadable_feed"
    MISSING_REQUIRED_FILE = "missing_required_file"
    MISSING_CALENDAR = "missing_calendar"
    UNKNOWN_FILE = "unknown_file"
    NESTED_FILE = "nested_file"
    EMPTY_FILE = "empty_file"
    # bytes and encoding
    ENCODING_UTF16 = "encoding_utf16"
    INVALID_UTF8 = "invalid_utf8"
    NUL_BYTE = "nul_byte"
    # CSV structure
    MISSING_HEADER = "missing_header"
    EMPTY_COLUMN_NAME = "empty_column_name"
    DUPLICATE_COLUMN = "duplicate_column"
    COLUMN_NAME_WHITESPACE = "column_name_whitespace"
    WRONG_FIELD_COUNT = "wrong_field_count"
    SHORT_ROW = "short_row"
    UNTERMINATED_QUOTE = "unterminated_quote"
    NO_ROWS = "no_rows"
    # columns and values
    MISSING_REQUIRED_COLUMN = "missing_required_column"
    UNKNOWN_COLUMN = "unknown_column"
    MISSING_REQUIRED_VALUE = "missing_required_value"
    INVALID_DATE = "invalid_date"
    INVALID_TIME = "invalid_time"
    INVALID_INTEGER = "invalid_integer"
    INVALID_NUMBER = "invalid_number"
    INVALID_ENUM = "invalid_enum"
    INVALID_TIMEZONE = "invalid_timezone"
    COORDINATE_OUT_OF_RANGE = "coordinate_out_of_range"
    DATE_RANGE_REVERSED = "date_range_reversed"
    # keys and references
    DUPLICATE_KEY = "duplicate_key"
    FOREIGN_KEY_VIOLATION = "foreign_key_violation"
    MISSING_AGENCY_ID = "missing_agency_id"
    MIXED_TIMEZONES = "mixed_timezones"
    # stop times and trips
    MISSING_TRIP_EDGE_TIME = "missing_trip_edge_time"
    TIME_DECREASING = "time_decreasing"
    TRIP_TOO_FEW_STOPS = "trip_too_few_stops"
    TRIP_WITHOUT_STOP_TIMES = "trip_without_stop_times"
    UNUSED_SERVICE = "unused_service"
    NO_SERVICE = "no_service"
    INVALID_FREQUENCY = "invalid_frequency"


@dataclass(frozen=True, slots=True)
class Finding:
    """One defect of a feed; `line` is the physical line in its file (the header is line 1)."""

    severity: Severity
    code: FindingCode
    file: str | None
    line: int | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": str(self.severity),
            "code": str(self.code),
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


@dataclass(slots=True)
class Table:
    """One GTFS file read as text: every value a string ('' when empty), with the physical line of each row.

    `lines[i]` is the line where row `i` of `frame` starts in the file; the header is line 1.
    """

    name: str
    frame: pd.DataFrame
    lines: np.ndarray
    columns_present: frozenset[str] = field(default_factory=frozenset)

    def line_of(self, row_positions: np.ndarray | pd.Index) -> np.ndarray:
        """Physical lines of the rows at these positions."""
        return np.asarray(self.lines)[np.asarray(row_positions, dtype=np.int64)]

    def has(self, column: str) -> bool:
        return column in self.columns_present


@dataclass(slots=True)
class RawFeed:
    """The text tables of a feed, keyed by GTFS table name ('stops' for stops.txt), and the content hash."""

    source: str
    tables: dict[str, Table]
    content_sha256: str
    file_bytes: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str) -> Table | None:
        return self.tables.get(name)


@dataclass(frozen=True, slots=True)
class FeedAgency:
    """An agency of a stored feed version and the carrier id it stands for until contracts say otherwise."""

    carrier_id: str
    agency_id: str | None
    agency_name: str
    agency_timezone: str


@dataclass(frozen=True, slots=True)
class FeedVersion:
    """A feed as stored: identified by its content hash, in force over [valid_from, valid_to]."""

    id: int
    content_sha256: str
    source_name: str
    loaded_at: dt.datetime
    valid_from: dt.date
    valid_to: dt.date
    feed_version: str | None
    trip_count: int
    agencies: tuple[FeedAgency, ...]
