"""Values of telemetry: a ping, why a message was rejected, and the rules a ping must meet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

# The fields of a ping, in the order of DESIGN.md section 4 (CSV files use them as their header).
PING_FIELDS = (
    "vehicle_id", "timestamp", "latitude", "longitude", "trip_id", "route_id", "start_date", "start_time",
    "bearing", "speed", "carrier_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ping:
    """One position report. `timestamp` is an aware UTC instant; speed in m/s, bearing in degrees."""

    vehicle_id: str
    timestamp: dt.datetime
    latitude: float
    longitude: float
    trip_id: str | None = None
    route_id: str | None = None
    start_date: str | None = None  # YYYYMMDD, as in GTFS-realtime
    start_time: str | None = None  # HH:MM:SS, may pass 24:00:00
    bearing: float | None = None
    speed: float | None = None
    carrier_id: str | None = None


class RejectReason(StrEnum):
    """Why a message or a ping inside it cannot be used; each goes to the dead-letter store."""

    UNPARSABLE = "unparsable"  # not JSON / not a FeedMessage / not UTF-8
    MISSING_FIELD = "missing_field"  # vehicle_id, timestamp, latitude or longitude absent
    INVALID_FIELD = "invalid_field"  # present but of the wrong type or format
    COORDINATES_OUT_OF_RANGE = "coordinates_out_of_range"  # |lat| > 90, |lon| > 180, NaN, or 0,0
    OUTSIDE_SERVICE_AREA = "outside_service_area"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    IMPOSSIBLE_SPEED = "impossible_speed"  # against another ping of the same vehicle
    VEHICLE_MISMATCH = "vehicle_mismatch"  # topic and payload name different vehicles
    UNKNOWN_TOPIC = "unknown_topic"
    NO_VEHICLE_POSITIONS = "no_vehicle_positions"  # a GTFS-realtime FeedMessage with none


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message (or one ping of a GTFS-realtime message) that cannot be used, and why."""

    reason: RejectReason
    detail: str
    vehicle_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """A bounding box in degrees; pings outside it are rejected."""

    min_latitude: float
    min_longitude: float
    max_latitude: float
    max_longitude: float


@dataclass(frozen=True, slots=True)
class PingRules:
    """What a ping must meet to be stored. Defaults: DESIGN.md sections 4 and 5, docs/decisions.md."""

    service_area: ServiceArea | None = None
    max_future_seconds: float = 300.0
    max_age_seconds: float = 3 * 86400.0  # trackers buffer; late data may revise verdicts up to a day later
    max_speed_mps: float = 45.0  # 162 km/h: no bus; GPS jumps of a few hundred metres are caught
    min_jump_m: float = 500.0  # below this distance a high "speed" is GPS noise between close pings
