"""Service: calendar services no trip uses, and whether anything in the feed can ever run."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.gtfs.check.values import Bools, CheckedTable, FeedCheck, Floats, Ints
from transit.gtfs.model import FindingCode, Severity
from transit.gtfs.schema import CALENDAR_FILES, FieldType

C = FindingCode
T = FieldType
ERROR = Severity.ERROR
WARNING = Severity.WARNING

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_REQUIRED_ROWS = (
    ("agency", "agencies"), ("stops", "stops"), ("routes", "routes"), ("trips", "trips"),
    ("stop_times", "stop times"),
)  # fmt: skip


def check_service(ctx: FeedCheck) -> None:
    """Calendar services no trip uses, and a feed on which nothing can ever run."""
    _check_unused_services(ctx)
    reasons = [
        f"no {what} ({name}.txt has no rows)"
        for name, what in _REQUIRED_ROWS
        if (table := ctx.table(name)) is not None and len(table) == 0
    ]
    calendars = [ctx.table(name) for name in CALENDAR_FILES if ctx.is_present(name)]
    if calendars and all(table is not None and len(table) == 0 for table in calendars):
        reasons.append("no service dates (calendar.txt and calendar_dates.txt have no rows)")
    elif not reasons and _runs_on_some_date(ctx) is False:
        reasons.append(
            "no trip that runs on any date (no service_id of trips.txt has a date in calendar.txt "
            "or calendar_dates.txt)"
        )
    if reasons:
        ctx.add(ERROR, C.NO_SERVICE, None, None, f"the feed has {', '.join(reasons)}: nothing can ever run")


def _check_unused_services(ctx: FeedCheck) -> None:
    """A service of calendar.txt that no trip uses is dead weight, often a sign of a partial export."""
    calendar, trips = ctx.table("calendar"), ctx.table("trips")
    if calendar is None or trips is None or len(trips) == 0:
        return
    if not (calendar.has("service_id") and trips.has("service_id")):
        return
    values = calendar.values("service_id")
    unused = ~values.raw.isin(trips.values("service_id").raw).to_numpy(dtype=bool) & ~values.empty
    ctx.report(
        WARNING, C.UNUSED_SERVICE, calendar, values.rows(unused), "service_id",
        lambda row: f"service {values.text_at(row)!r} is used by no trip in trips.txt",
    )  # fmt: skip


def _runs_on_some_date(ctx: FeedCheck) -> bool | None:
    """Whether some trip's service has at least one date; None when the calendar cannot be read cleanly."""
    trips = ctx.table("trips")
    if trips is None or not trips.has("service_id") or not any(ctx.is_present(n) for n in CALENDAR_FILES):
        return None
    if any(ctx.is_unreadable(name) for name in CALENDAR_FILES):
        return None
    dates = _calendar_dates(ctx.table("calendar_dates"))
    active = _calendar_services(ctx.table("calendar"), dates)
    if dates is None or active is None:
        return None
    added = dates.loc[dates["exception_type"] == 1, "service_id"]
    running = pd.concat([active, added], ignore_index=True)
    return bool(trips.values("service_id").raw.isin(running).any())


def _calendar_dates(table: CheckedTable | None) -> pd.DataFrame | None:
    """calendar_dates.txt as (service_id, day, exception_type); None when a row is incomplete or invalid."""
    columns = ("service_id", "date", "exception_type")
    if table is None:
        return pd.DataFrame({"service_id": pd.Series([], dtype=str), "day": [], "exception_type": []})
    if not all(table.has(name) for name in columns):
        return None
    day = table.values("date").parsed_rows(T.DATE)
    exception_type = table.values("exception_type").parsed_rows(T.INTEGER)
    if np.isnan(day).any() or not np.isin(exception_type, (1, 2)).all():
        return None
    service = table.values("service_id")
    return pd.DataFrame(
        {"service_id": service.raw.to_numpy()[service.codes], "day": day, "exception_type": exception_type}
    )


def _calendar_services(table: CheckedTable | None, dates: pd.DataFrame | None) -> pd.Series | None:
    """Services of calendar.txt with a weekday in their range that calendar_dates.txt does not remove."""
    columns = ("service_id", "start_date", "end_date", *WEEKDAYS)
    if table is None or dates is None:
        return pd.Series([], dtype=str)
    if not all(table.has(name) for name in columns):
        return None
    start = table.values("start_date").parsed_rows(T.DATE)
    end = table.values("end_date").parsed_rows(T.DATE)
    flags = np.column_stack(
        [table.values(day).text.to_numpy(dtype=object)[table.values(day).codes] for day in WEEKDAYS]
    )
    if np.isnan(start).any() or np.isnan(end).any() or not np.isin(flags, ("0", "1")).all():
        return None
    flags = flags == "1"
    service = table.values("service_id")
    service_ids = service.raw.to_numpy()[service.codes]
    removed = _removed_days(service_ids, start, end, flags, dates)
    active = _count_weekdays(start, end, flags) > removed
    return pd.Series(service_ids[active], dtype=str)


def _count_weekdays(start: Floats, end: Floats, flags: Bools) -> Ints:
    """Per calendar row, the number of days in [start, end] whose weekday is flagged (Monday first)."""
    first = start.astype(np.int64)
    days = np.maximum(end.astype(np.int64) - first + 1, 0)
    monday_offset = (first + 3) % 7  # 1970-01-01, day 0, was a Thursday
    weekday = np.arange(7)
    in_remainder = (weekday[None, :] - monday_offset[:, None]) % 7 < (days % 7)[:, None]
    per_weekday = (days // 7)[:, None] + in_remainder
    return np.asarray((per_weekday * flags).sum(axis=1), dtype=np.int64)


def _removed_days(
    service_ids: npt.NDArray[np.object_], start: Floats, end: Floats, flags: Bools, dates: pd.DataFrame
) -> Ints:
    """Per calendar row, the distinct flagged days of its range that calendar_dates.txt removes."""
    removals = dates.loc[dates["exception_type"] == 2, ["service_id", "day"]].drop_duplicates()
    rows = pd.DataFrame({"service_id": service_ids, "row": np.arange(len(service_ids))})
    pairs = rows.merge(removals, on="service_id")
    row = pairs["row"].to_numpy(dtype=np.int64)
    day = pairs["day"].to_numpy(dtype=np.int64)
    inside = (day >= start[row]) & (day <= end[row]) & flags[row, (day + 3) % 7]
    return np.bincount(row[inside], minlength=len(service_ids)).astype(np.int64)
