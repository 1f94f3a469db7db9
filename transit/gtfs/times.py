"""GTFS times: integer seconds from the service day's origin ("noon minus 12 h"), which may pass 24:00:00."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

UTC = dt.UTC


def parse_gtfs_time(text: str) -> int:
    """Seconds of an H:MM:SS or HH:MM:SS GTFS time; raises ValueError on anything else.

    >>> parse_gtfs_time("25:30:00")
    91800
    """
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a GTFS time (H:MM:SS)")
    hours, minutes, seconds = (int(p) for p in parts)
    if minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a GTFS time (minutes and seconds must be below 60)")
    return hours * 3600 + minutes * 60 + seconds


def parse_gtfs_times(values: pd.Series) -> np.ndarray:
    """Seconds of many GTFS time strings at once (vectorised); empty or missing values give -1."""
    text = values.astype("string").fillna("").str.strip()
    parts = text.str.extract(r"^(\d{1,3}):(\d{2}):(\d{2})$")
    hms = parts.apply(pd.to_numeric).fillna(-1).astype(np.int64).to_numpy()
    seconds = hms[:, 0] * 3600 + hms[:, 1] * 60 + hms[:, 2]
    return np.where(hms[:, 0] < 0, -1, seconds)


def format_gtfs_time(seconds: int) -> str:
    """HH:MM:SS for seconds since the service day's origin; hours pass 24 for trips after midnight.

    >>> format_gtfs_time(91800)
    '25:30:00'
    """
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def format_gtfs_times(seconds: np.ndarray) -> np.ndarray:
    """format_gtfs_time over an array."""
    return np.array([format_gtfs_time(s) for s in seconds], dtype=object)


def service_day_origin(service_date: dt.date, timezone: str) -> dt.datetime:
    """The UTC instant from which a service date's GTFS times count: local noon minus 12 hours.

    On a DST change day this is not local midnight, which is what the GTFS reference intends.

    >>> service_day_origin(dt.date(2026, 11, 29), "Asia/Almaty").isoformat()
    '2026-11-28T19:00:00+00:00'
    """
    noon = dt.datetime.combine(service_date, dt.time(12), tzinfo=ZoneInfo(timezone))
    return noon.astimezone(UTC) - dt.timedelta(hours=12)
