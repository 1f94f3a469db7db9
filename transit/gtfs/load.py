"""Read, validate and load a GTFS feed: the only module that uses gtfs-kit.

Order matters: bytes and CSV structure first (source.py), then values and keys on the raw text (check.py),
and only a feed without errors becomes a `gtfs_kit.Feed` with typed columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import pandas_dtype

from transit.errors import FeedInvalid
from transit.gtfs.calendar import compute_service_range, parse_gtfs_date
from transit.gtfs.check import check_feed
from transit.gtfs.dayplan import build_day_plan, build_trip_table
from transit.gtfs.findings import Findings
from transit.gtfs.model import Finding, RawFeed, Severity
from transit.gtfs.source import read_raw_feed, read_raw_feed_archive

if TYPE_CHECKING:
    import gtfs_kit

# gtfs-kit reads headway_secs as Int16, which overflows past 9 h; validation already proved these integers.
_WIDER = {"Int16": "Int64", "Int8": "Int64"}


@dataclass(frozen=True, slots=True)
class LoadedFeed:
    """A validated feed: the gtfs-kit Feed, its content hash, findings (warnings only) and validity range."""

    source: str
    feed: gtfs_kit.Feed
    content_sha256: str
    findings: list[Finding]
    valid_from: dt.date
    valid_to: dt.date
    file_bytes: dict[str, bytes]

    def trip_table(self) -> pd.DataFrame:
        """Every trip's summary (dayplan.build_trip_table), computed anew at each call: keep it to reuse."""
        return build_trip_table(self.feed)

    def day_plan(self, service_date: dt.date, trip_table: pd.DataFrame | None = None) -> pd.DataFrame:
        """The trip instances of one service date."""
        table = self.trip_table() if trip_table is None else trip_table
        return build_day_plan(
            table, service_date, self.feed.calendar, self.feed.calendar_dates, self.feed.frequencies
        )


def validate_feed(path: Path) -> tuple[RawFeed | None, list[Finding]]:
    """Every finding about the feed at `path`, errors and warnings; reads the feed, writes nothing."""
    raw, findings = read_raw_feed(path)
    return _checked(raw, findings)


def load_feed(path: Path) -> LoadedFeed:
    """Validate and load the feed at `path` (zip or folder); raises FeedInvalid listing every error."""
    return _loaded(str(path), *validate_feed(path))


def load_feed_archive(archive: bytes, source: str) -> LoadedFeed:
    """Load a stored feed version's archive: validated when it was stored, so only its structure is read.

    Checking it again would cost seconds on every use and, with a stricter validator, could turn a feed
    that was in force into one that can no longer be read.
    """
    raw, findings = read_raw_feed_archive(archive, source)
    return _loaded(source, raw, _ordered(list(findings)))


def _checked(raw: RawFeed | None, findings: Findings) -> tuple[RawFeed | None, list[Finding]]:
    # Both lists are capped already (see findings.py); joining them keeps each one's "N more" counts.
    items = list(findings) + (check_feed(raw) if raw is not None else [])
    return raw, _ordered(items)


def _loaded(source: str, raw: RawFeed | None, findings: list[Finding]) -> LoadedFeed:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if raw is None or errors:
        raise FeedInvalid(source, list(errors or findings))
    feed = to_gtfs_kit_feed(raw)
    valid_from, valid_to = _validity(feed)
    return LoadedFeed(source, feed, raw.content_sha256, findings, valid_from, valid_to, raw.file_bytes)


def to_gtfs_kit_feed(raw: RawFeed) -> gtfs_kit.Feed:
    """A gtfs-kit Feed from validated text tables: empty strings become NA, columns get gtfs-kit's types."""
    import gtfs_kit  # over half a second to import (folium, geopandas): paid only where a feed is loaded
    from gtfs_kit import constants as gk_constants

    tables: dict[str, pd.DataFrame | None] = {}
    for name in gk_constants.DTYPES:
        table = raw.get(name)
        if table is None or table.frame.empty:
            tables[name] = None
            continue
        frame = table.frame.apply(lambda column: column.str.strip()).replace("", pd.NA)
        for column, dtype in gk_constants.DTYPES[name].items():
            if column in frame.columns:
                frame[column] = _cast(frame[column], _WIDER.get(dtype, dtype))
        tables[name] = frame
    return gtfs_kit.Feed(dist_units="m", **tables)


def _cast(column: pd.Series, dtype: str) -> pd.Series:
    target = pandas_dtype(dtype)
    if dtype.startswith(("Int", "float")):
        return pd.to_numeric(column).astype(target)
    return column.astype(target)


def _validity(feed: gtfs_kit.Feed) -> tuple[dt.date, dt.date]:
    """The feed's validity: feed_info's dates where given, else the range its calendars cover."""
    service = compute_service_range(feed.calendar, feed.calendar_dates)
    start, end = service if service is not None else (dt.date.min, dt.date.max)
    info = feed.feed_info
    if info is not None and not info.empty:
        if "feed_start_date" in info and pd.notna(info["feed_start_date"].iloc[0]):
            start = parse_gtfs_date(str(info["feed_start_date"].iloc[0]))
        if "feed_end_date" in info and pd.notna(info["feed_end_date"].iloc[0]):
            end = parse_gtfs_date(str(info["feed_end_date"].iloc[0]))
    return start, end


def _ordered(items: list[Finding]) -> list[Finding]:
    """Errors first, then warnings; within each, the order found (file by file)."""
    return [f for f in items if f.severity is Severity.ERROR] + [
        f for f in items if f.severity is Severity.WARNING
    ]
