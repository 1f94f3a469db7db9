"""Exemptions from GTFS-realtime (pure: bytes in, exemption payloads out).

- A TripUpdate whose trip is CANCELED exempts that trip, on its start_date (and start_time where given).
- An Alert whose effect is NO_SERVICE or DETOUR exempts what it informs about (routes, trips; an entity with
  only an agency or a stop is not specific enough and is reported as skipped) during its active periods, as
  local service dates, and within one day as a start-time range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from google.transit import gtfs_realtime_pb2

EXEMPTING_EFFECTS = {
    gtfs_realtime_pb2.Alert.NO_SERVICE: "no_service",
    gtfs_realtime_pb2.Alert.DETOUR: "detour",
}


@dataclass(frozen=True, slots=True)
class Imported:
    exemptions: list[dict[str, Any]]  # payloads of exemption_granted (without exemption_id)
    skipped: list[str]  # why some entities gave no exemption


def read_realtime_exemptions(data: bytes, source: str, timezone: str, today: dt.date) -> Imported:
    """The exemptions a GTFS-realtime FeedMessage holds; ValueError naming the file if it is not one."""
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError (no type stubs here): any failure means the same
        raise ValueError(f"{source}: not a GTFS-realtime FeedMessage ({exc})") from exc
    zone = ZoneInfo(timezone)
    found, skipped = [], []
    for entity in message.entity:
        if entity.HasField("trip_update"):
            trip = entity.trip_update.trip
            if trip.schedule_relationship == gtfs_realtime_pb2.TripDescriptor.CANCELED and trip.trip_id:
                day = _date(trip.start_date, today)
                start = trip.start_time.zfill(8) if trip.start_time else None
                found.append(
                    _payload(f"canceled in {source} ({entity.id})", day, day, trips=[[trip.trip_id, start]])
                )
        if entity.HasField("alert"):
            alert = entity.alert
            effect = EXEMPTING_EFFECTS.get(alert.effect)
            if effect is None:
                continue
            routes = sorted({e.route_id for e in alert.informed_entity if e.route_id and not e.trip.trip_id})
            trips = [
                [e.trip.trip_id, e.trip.start_time.zfill(8) if e.trip.start_time else None]
                for e in alert.informed_entity
                if e.trip.trip_id
            ]
            if not routes and not trips:
                skipped.append(f"alert {entity.id}: names no route or trip (an agency or a stop only)")
                continue
            reason = f"{effect} alert {entity.id} in {source}"
            for first, last, window in _periods(alert, zone, today):
                found.append(_payload(reason, first, last, trips=trips, routes=routes, window=window))
    return Imported(found, skipped)


def _date(text: str, default: dt.date) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date() if text else default


def _periods(
    alert: Any, zone: ZoneInfo, today: dt.date
) -> list[tuple[dt.date, dt.date, tuple[str, str] | None]]:
    """(first date, last date, start-time range within one day or None) per active period (local time)."""
    if not alert.active_period:
        return [(today, today, None)]
    out = []
    for period in alert.active_period:
        start = dt.datetime.fromtimestamp(period.start, zone) if period.start else None
        end = dt.datetime.fromtimestamp(period.end, zone) if period.end else None
        first = start.date() if start else today
        last = end.date() if end else first
        window = None
        if start and end and first == last:
            window = (start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S"))
        out.append((first, last, window))
    return out


def _payload(
    reason: str,
    first: dt.date,
    last: dt.date,
    *,
    trips: list[list[str | None]] | None = None,
    routes: list[str] | None = None,
    window: tuple[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "reason": reason,
        "first_date": first.isoformat(),
        "last_date": last.isoformat(),
        "trips": trips or [],
        "routes": routes or [],
        "from_time": window[0] if window else None,
        "to_time": window[1] if window else None,
    }
