"""The service as scheduled and as run: feeds, the day plan, vehicles, trip instances with their verdicts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import READ_SERVICE, SessionDep, StateDep, allow, own_carrier, visible
from api.errors import NotFound
from api.paging import (
    CSV_RESPONSE,
    Cursor,
    FormatQuery,
    Limit,
    ListFormat,
    Page,
    csv_response,
    cursor_date,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_size,
)  # fmt: skip
from api.schemas import FeedOut, PlannedTripOut, TripHistoryOut, TripVerdictOut, VehicleOut
from transit.access.model import Principal, Role
from transit.errors import BadParameter, FeedNotFound
from transit.gtfs.dayplan import DAY_PLAN_COLUMNS
from transit.gtfs.store import find_feed_in_force, list_feed_versions
from transit.matching.queries import VerdictFilter, list_verdicts, verdict_history
from transit.render import frame_to_records
from transit.telemetry.store import latest_positions

router = APIRouter(prefix="/v1", tags=["service"])
Reader = Annotated[Principal, Depends(allow(*READ_SERVICE))]
VERDICTS = ("performed", "partial", "missed", "no_data", "exempt")
MAX_DAYS = 92  # a trip list spans at most a quarter


@router.get(
    "/feeds",
    response_model=Page[FeedOut],
    responses=CSV_RESPONSE,
    summary="Stored feed versions, newest first",
)
def feeds(principal: Reader, session: SessionDep, fmt: FormatQuery = ListFormat.JSON) -> Any:
    items = [
        FeedOut(
            id=v.id,
            content_sha256=v.content_sha256,
            source_name=v.source_name,
            loaded_at=v.loaded_at,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            feed_version=v.feed_version,
            trip_count=v.trip_count,
            agency_ids=[a.agency_id for a in v.agencies if a.agency_id],
        )
        for v in sorted(list_feed_versions(session), key=lambda v: v.id, reverse=True)
    ]
    if fmt is ListFormat.CSV:
        return csv_response([item.model_dump() for item in items], tuple(FeedOut.model_fields), "feeds")
    return Page(items=items)


@router.get(
    "/plan", response_model=Page[PlannedTripOut], responses=CSV_RESPONSE, summary="The day plan of a date"
)
def plan(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    date: Annotated[dt.date, Query(description="Service date")],
    limit: Limit = 500,
    route_id: Annotated[str | None, Query(max_length=200)] = None,
    carrier_id: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    """Every scheduled trip instance of a service date in the feed in force, in start order."""
    carrier = own_carrier(principal, carrier_id)
    version = find_feed_in_force(session, date)
    if version is None:
        raise FeedNotFound(f"no stored feed version is in force on {date.isoformat()}")
    loaded = state.feeds.get(session, version.id, f"feed version {version.id}")
    day = loaded.day_plan(date).sort_values(["start_at", "trip_id"], kind="stable")
    if route_id is not None:
        day = day[day["route_id"] == route_id]
    if carrier is not None:
        day = day[day["carrier_id"] == carrier]
    start, size = cursor_int(decode_cursor(cursor, 1)[0]) if cursor else 0, page_size(limit, fmt)
    rows = frame_to_records(day[list(DAY_PLAN_COLUMNS)].iloc[start : start + size])
    next_cursor = encode_cursor([start + size]) if start + size < len(day) else None
    if fmt is ListFormat.CSV:
        return csv_response(rows, DAY_PLAN_COLUMNS, f"plan-{date.isoformat()}", next_cursor)
    return Page(items=rows, next_cursor=next_cursor)


@router.get(
    "/vehicles",
    response_model=Page[VehicleOut],
    responses=CSV_RESPONSE,
    summary="Vehicles seen lately: latest position and the trip their tracker reports",
)
def vehicles(
    principal: Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.CARRIER))],
    session: SessionDep,
    state: StateDep,
    seen_within_minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 60,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    """A vehicle belongs to the carrier it is registered to, else the one its pings name."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=seen_within_minutes)
    with state.contracts.read(session) as contracts:
        registered = dict(contracts.vehicles)
    items = []
    for row in latest_positions(session, since):
        carrier = registered.get(row.vehicle_id, row.carrier_id)
        if principal.role is Role.CARRIER and carrier != principal.carrier_id:
            continue
        items.append(
            {
                "vehicle_id": row.vehicle_id,
                "carrier_id": carrier,
                "last_seen_at": row.timestamp,
                "latitude": row.latitude,
                "longitude": row.longitude,
                "bearing": row.bearing,
                "speed": row.speed,
                "trip_id": row.trip_id,
                "route_id": row.route_id,
                "start_time": row.start_time,
            }
        )
    if fmt is ListFormat.CSV:
        return csv_response(items, tuple(VehicleOut.model_fields), "vehicles")
    return Page(items=[VehicleOut(**item) for item in items])


@router.get(
    "/trips",
    response_model=Page[TripVerdictOut],
    responses=CSV_RESPONSE,
    summary="Trip instances with their current verdicts and evidence",
)
def trips(
    principal: Reader,
    session: SessionDep,
    date: Annotated[dt.date | None, Query(description="One service date (or use from/to)")] = None,
    from_date: Annotated[dt.date | None, Query(alias="from")] = None,
    to_date: Annotated[dt.date | None, Query(alias="to")] = None,
    route_id: Annotated[str | None, Query(max_length=200)] = None,
    carrier_id: Annotated[str | None, Query(max_length=200)] = None,
    verdict: Annotated[str | None, Query(description=", ".join(VERDICTS))] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    first, last = _days(date, from_date, to_date)
    if verdict is not None and verdict not in VERDICTS:
        raise BadParameter(f"verdict: {verdict!r} is not one of {', '.join(VERDICTS)}")
    where = VerdictFilter(first, last, route_id, own_carrier(principal, carrier_id), verdict)
    after = None
    if cursor:
        day, trip, start, row_id = decode_cursor(cursor, 4)
        after = (cursor_date(day), str(trip), str(start), cursor_int(row_id))
    size = page_size(limit, fmt)
    found = list_verdicts(session, where, after, size + 1)
    page = found[:size]
    next_cursor = encode_cursor(page[-1]["_key"]) if len(found) > size else None
    if fmt is ListFormat.CSV:
        return csv_response(page, tuple(TripVerdictOut.model_fields), "trips", next_cursor)
    return Page(items=[TripVerdictOut(**r) for r in page], next_cursor=next_cursor)


@router.get(
    "/trips/{service_date}/{start_time}/{trip_id:path}",
    response_model=TripHistoryOut,
    summary="One trip instance: its current verdict and every revision",
)
def trip(
    principal: Reader, session: SessionDep, service_date: dt.date, start_time: str, trip_id: str
) -> TripHistoryOut:
    history = verdict_history(session, service_date, trip_id, start_time)
    what = f"verdict is stored for trip {trip_id} at {start_time} on {service_date}"
    if not history:
        raise NotFound(f"no {what}")
    visible(principal, history[-1].get("carrier_id"), what)  # the same answer: another's trip does not show
    revisions = [TripVerdictOut(**r) for r in history]
    return TripHistoryOut(current=revisions[-1], revisions=revisions)


def _days(
    date: dt.date | None, from_date: dt.date | None, to_date: dt.date | None
) -> tuple[dt.date, dt.date]:
    if date is not None:
        if from_date or to_date:
            raise BadParameter("date: give either date, or from and to, not both")
        return date, date
    if from_date is None or to_date is None:
        raise BadParameter("date: give a service date, or from and to")
    if to_date < from_date:
        raise BadParameter(f"to: {to_date} is before from {from_date}")
    if (to_date - from_date).days >= MAX_DAYS:
        raise BadParameter(f"to: a list spans at most {MAX_DAYS} days")
    return from_date, to_date
