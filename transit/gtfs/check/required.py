"""Values required only in some rows or feeds, and values that must agree across rows or columns.

Conditionally required: agency_id when there are several agencies, stop names and positions, a route name,
stop_id. Agreeing: one time zone for all agencies, a calendar range that does not run backwards.
"""

from __future__ import annotations

import numpy as np

from transit.gtfs.check.values import CheckedTable, FeedCheck, empty_rows, say, timezones
from transit.gtfs.model import FindingCode, Severity
from transit.gtfs.schema import FieldType

C = FindingCode
T = FieldType
ERROR = Severity.ERROR
WARNING = Severity.WARNING


def check_agencies(ctx: FeedCheck) -> None:
    """agency_id in agency.txt and routes.txt when there are several agencies, and one time zone for all."""
    agency = ctx.table("agency")
    if agency is None:
        return
    if len(agency) > 1:
        why = f"agency_id is required when agency.txt has more than one agency (it has {len(agency)})"
        for table in (agency, ctx.table("routes")):
            if table is None:
                continue
            if not table.has("agency_id"):
                ctx.add(
                    ERROR,
                    C.MISSING_AGENCY_ID,
                    table.file,
                    "agency_id",
                    f"{table.file}: no agency_id column; {why}",
                )
                continue
            empty = table.values("agency_id").empty
            ctx.report(
                ERROR,
                C.MISSING_AGENCY_ID,
                table,
                table.values("agency_id").rows(empty),
                "agency_id",
                say(f"empty; {why}"),
            )
    _check_timezones(ctx, agency)


def _check_timezones(ctx: FeedCheck, agency: CheckedTable) -> None:
    """All agencies of a feed must share one agency_timezone; rows that differ from the first are reported."""
    if not agency.has("agency_timezone") or len(agency) < 2:
        return
    values = agency.values("agency_timezone")
    valid = values.text.isin(timezones()).to_numpy(dtype=bool)[values.codes]
    if not valid.any():
        return
    first = int(np.argmax(valid))
    reference = values.text_at(first)
    differs = valid & (values.text.to_numpy(dtype=object)[values.codes] != reference)
    ctx.report(
        ERROR, C.MIXED_TIMEZONES, agency, np.flatnonzero(differs), "agency_timezone",
        lambda row: f"{values.text_at(row)!r} differs from {reference!r} (line {agency.line(first)}); "
        "all agencies of a feed must share one time zone",
    )  # fmt: skip


def check_stops(ctx: FeedCheck) -> None:
    """stop_name, stop_lat and stop_lon are required for stops, stations and entrances (location_type 0-2)."""
    stops = ctx.table("stops")
    if stops is None or len(stops) == 0:
        return
    needs = np.ones(len(stops), dtype=bool)  # an absent location_type means 0, a stop
    if stops.has("location_type"):
        location = stops.values("location_type")
        needs = location.text.isin(["", "0", "1", "2"]).to_numpy(dtype=bool)[location.codes]
    why = "required for a stop, station or entrance (location_type 0, 1 or 2)"
    for name in ("stop_name", "stop_lat", "stop_lon"):
        if not stops.has(name):
            if needs.any():
                ctx.add(
                    ERROR,
                    C.MISSING_REQUIRED_VALUE,
                    stops.file,
                    name,
                    f"stops.txt: no {name} column; it is {why}",
                )
            continue
        rows = np.flatnonzero(needs & empty_rows(stops, name))
        ctx.report(ERROR, C.MISSING_REQUIRED_VALUE, stops, rows, name, say(f"empty; it is {why}"))


def check_route_names(ctx: FeedCheck) -> None:
    """A route needs a route_short_name or a route_long_name."""
    routes = ctx.table("routes")
    if routes is None:
        return
    rows = np.flatnonzero(empty_rows(routes, "route_short_name") & empty_rows(routes, "route_long_name"))
    message = "route_short_name and route_long_name are both empty; a route needs at least one"
    ctx.report(ERROR, C.MISSING_REQUIRED_VALUE, routes, rows, "route_short_name", say(message))


def check_stop_ids(ctx: FeedCheck) -> None:
    """stop_times.stop_id is required unless the row names a location_group_id or a location_id."""
    stop_times = ctx.table("stop_times")
    if stop_times is None:
        return
    no_location = empty_rows(stop_times, "location_group_id") & empty_rows(stop_times, "location_id")
    if not stop_times.has("stop_id"):
        if len(stop_times) and no_location.any():
            ctx.add(
                ERROR,
                C.MISSING_REQUIRED_COLUMN,
                stop_times.file,
                "stop_id",
                "stop_times.txt: missing required column stop_id",
            )
        return
    rows = np.flatnonzero(no_location & empty_rows(stop_times, "stop_id"))
    ctx.report(
        ERROR, C.MISSING_REQUIRED_VALUE, stop_times, rows, "stop_id", say("empty; a value is required")
    )


def check_calendar_ranges(ctx: FeedCheck) -> None:
    """A calendar row's start_date must not be after its end_date."""
    calendar = ctx.table("calendar")
    if calendar is None or not (calendar.has("start_date") and calendar.has("end_date")):
        return
    start, end = calendar.values("start_date"), calendar.values("end_date")
    rows = np.flatnonzero(start.parsed_rows(T.DATE) > end.parsed_rows(T.DATE))
    ctx.report(
        ERROR, C.DATE_RANGE_REVERSED, calendar, rows, "start_date",
        lambda row: f"{start.text_at(row)} is after end_date {end.text_at(row)}",
    )  # fmt: skip
