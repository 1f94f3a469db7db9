"""The service calendar: which service_ids run on a service date, from calendar.txt and calendar_dates.txt."""

from __future__ import annotations

import datetime as dt

import pandas as pd

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def to_gtfs_date(service_date: dt.date) -> str:
    """YYYYMMDD, the GTFS spelling of a date."""
    return service_date.strftime("%Y%m%d")


def parse_gtfs_date(text: str) -> dt.date:
    """A YYYYMMDD date; raises ValueError otherwise."""
    return dt.datetime.strptime(text.strip(), "%Y%m%d").date()


def list_active_service_ids(
    calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None, service_date: dt.date
) -> set[str]:
    """The service_ids running on `service_date`: calendar.txt's weekdays, then calendar_dates' exceptions.

    Either file may be absent or empty (feeds with only calendar_dates.txt are common).
    """
    day = to_gtfs_date(service_date)
    active: set[str] = set()
    if calendar is not None and not calendar.empty:
        weekday = WEEKDAYS[service_date.weekday()]
        runs = (
            (calendar["start_date"].astype(str) <= day)
            & (calendar["end_date"].astype(str) >= day)
            & (pd.to_numeric(calendar[weekday]) == 1)
        )
        active.update(calendar.loc[runs, "service_id"].astype(str))
    if calendar_dates is not None and not calendar_dates.empty:
        today = calendar_dates[calendar_dates["date"].astype(str) == day]
        kind = pd.to_numeric(today["exception_type"])
        active.update(today.loc[kind == 1, "service_id"].astype(str))
        active.difference_update(today.loc[kind == 2, "service_id"].astype(str))
    return active


def compute_service_range(
    calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None
) -> tuple[dt.date, dt.date] | None:
    """First and last dates that calendar.txt or added calendar_dates can cover; None without any."""
    dates: list[str] = []
    if calendar is not None and not calendar.empty:
        dates += [calendar["start_date"].astype(str).min(), calendar["end_date"].astype(str).max()]
    if calendar_dates is not None and not calendar_dates.empty:
        added = calendar_dates.loc[pd.to_numeric(calendar_dates["exception_type"]) == 1, "date"].astype(str)
        if not added.empty:
            dates += [added.min(), added.max()]
    if not dates:
        return None
    return parse_gtfs_date(min(dates)), parse_gtfs_date(max(dates))
