"""Granting an exemption (a use case shared by `transit exemptions add` and the HTTP API).

An exemption is granted in advance, or for yesterday's service at the latest; a later one is refused and
the attempt recorded against its actor (DESIGN 7). The caller commits in both cases: a refusal is an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from transit.contracts.rules import exemption_in_time
from transit.contracts.state import EXEMPTION_GRANTED
from transit.errors import BadParameter
from transit.ledger.chain import Draft, Event
from transit.ledger.service import refuse
from transit.ledger.store import append_events

TOO_LATE = (
    "trips are exempted in advance, or for yesterday at the latest; after that only a dispute changes"
    " an outcome"
)
# The stops inside an area and the trips calling at them, in the feed in force on a date.
AreaLookup = Callable[[dt.date, Sequence[float]], tuple[list[str], list[str]]]


def gtfs_time(value: str | None) -> str | None:
    """HH:MM:SS of an HH:MM or HH:MM:SS time (as GTFS writes start times), zero-padded; None stays None."""
    if value is None:
        return None
    return (value if value.count(":") == 2 else f"{value}:00").zfill(8)


@dataclass(frozen=True, slots=True)
class ExemptionRequest:
    """What to exempt: trips (trip_id, start_time or None for all of the day), routes, trips starting in
    [from_time, to_time) (HH:MM:SS), or trips calling in an area [min_lat, min_lon, max_lat, max_lon]."""

    first: dt.date
    last: dt.date
    reason: str
    trips: list[tuple[str, str | None]] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    from_time: str | None = None
    to_time: str | None = None
    area: list[float] | None = None

    def check(self) -> None:
        """BadParameter naming the field of an unusable request."""
        if self.last < self.first:
            raise BadParameter(f"until: {self.last} is before date {self.first}")
        if (self.from_time is None) != (self.to_time is None):
            raise BadParameter("from/to: the two go together")
        if not (self.trips or self.routes or self.from_time or self.area):
            raise BadParameter("trip/route/from/area: name what is exempt")
        if not self.reason.strip():
            raise BadParameter("reason: say why")
        box = self.area
        if box is not None and not (
            len(box) == 4 and -90 <= box[0] < box[2] <= 90 and -180 <= box[1] < box[3] <= 180
        ):
            raise BadParameter(
                f"area: {box!r} is not MIN_LAT,MIN_LON,MAX_LAT,MAX_LON (south-west corner first)"
            )


@dataclass(frozen=True, slots=True)
class Granted:
    exemption_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class Refused:
    why: str
    event: Event  # the protocol event recording the attempt


def grant_exemption(
    session: Session,
    request: ExemptionRequest,
    today: dt.date,
    actor: str,
    now: dt.datetime,
    area_lookup: AreaLookup | None = None,
) -> Granted | Refused:
    """Grant the exemption, or refuse it (too late) and record the attempt; the caller commits either way."""
    request.check()
    if not exemption_in_time(request.first, today):
        attempted = f"exempt trips of {request.first} after the cut-off ({request.reason.strip()})"
        return Refused(
            TOO_LATE, refuse(session, actor, attempted, f"exemption:{request.first}", now, why=TOO_LATE)
        )
    trips = [[trip_id, start] for trip_id, start in request.trips]
    stop_ids: list[str] = []
    if request.area is not None:
        if area_lookup is None:
            raise BadParameter("area: exemptions by area need the feed in force, which is not available here")
        stop_ids, through = area_lookup(request.first, request.area)
        if not stop_ids:
            raise BadParameter(
                f"area: no stop of the feed in force on {request.first} lies inside {request.area}"
            )
        trips += [[trip_id, None] for trip_id in through]
    exemption_id = f"E-{now:%Y%m%dT%H%M%S%f}"
    payload = {
        "exemption_id": exemption_id,
        "reason": request.reason.strip(),
        "first_date": request.first.isoformat(),
        "last_date": request.last.isoformat(),
        "trips": trips,
        "routes": list(request.routes),
        "area": request.area,
        "stop_ids": stop_ids,
        "from_time": request.from_time,
        "to_time": request.to_time,
    }
    draft = Draft(actor, EXEMPTION_GRANTED, f"exemption:{exemption_id}", payload)
    return Granted(exemption_id, append_events(session, [draft], now)[0])
