"""Which days each service runs: a year from the start date, weekdays and weekends, holidays as Sundays."""

from __future__ import annotations

import datetime as dt

import pandas as pd

# Kazakhstan public holidays (month, day) that the timetable treats as Sundays.
HOLIDAYS = (
    (1, 1),
    (1, 2),
    (3, 8),
    (3, 21),
    (3, 22),
    (3, 23),
    (5, 1),
    (5, 7),
    (5, 9),
    (7, 6),
    (8, 30),
    (10, 25),
    (12, 16),
)
WEEKDAY, WEEKEND = 0, 1
SERVICE_IDS = ("weekday", "weekend")


def to_gtfs_date(day: dt.date) -> str:
    """A GTFS date, YYYYMMDD."""
    return f"{day:%Y%m%d}"


def last_service_date(start_date: dt.date) -> dt.date:
    """The last day of the year of service that starts on `start_date`."""
    return start_date + dt.timedelta(days=364)


def build_calendar(start_date: dt.date) -> pd.DataFrame:
    """calendar.txt: weekday service Monday to Friday, weekend service on Saturday and Sunday."""
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    frame = pd.DataFrame({"service_id": list(SERVICE_IDS)})
    for k, day in enumerate(days):
        frame[day] = [int(k < 5), int(k >= 5)]
    frame["start_date"] = to_gtfs_date(start_date)
    frame["end_date"] = to_gtfs_date(last_service_date(start_date))
    return frame


def list_holidays(start_date: dt.date) -> list[dt.date]:
    """Kazakhstan public holidays from `start_date` to 364 days later, in date order."""
    end = last_service_date(start_date)
    days = (dt.date(y, m, d) for y in (start_date.year, end.year) for m, d in HOLIDAYS)
    return sorted({day for day in days if start_date <= day <= end})


def build_calendar_dates(start_date: dt.date) -> pd.DataFrame:
    """On a weekday holiday the weekday service stops (2) and the weekend service runs (1)."""
    rows = [
        (service_id, to_gtfs_date(day), exception)
        for day in list_holidays(start_date)
        if day.weekday() < 5
        for service_id, exception in zip(SERVICE_IDS, (2, 1), strict=True)
    ]
    return pd.DataFrame(rows, columns=["service_id", "date", "exception_type"])
