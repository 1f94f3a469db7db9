"""Parse and judge pings: the JSON payload and GTFS-realtime messages of DESIGN.md section 4 (pure core).

Nothing here raises for bad input: a message that cannot be used becomes a `Rejected` value (docs/pings.md).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
from google.transit import gtfs_realtime_pb2

from transit.errors import BadParameter
from transit.telemetry.model import PING_FIELDS, Ping, PingRules, Rejected, RejectReason

DEFAULT_PREFIX: Final = "transit/v1"
REQUIRED_FIELDS: Final = ("vehicle_id", "timestamp", "latitude", "longitude")
EPOCH_MILLISECONDS_ABOVE: Final = 1e11  # as seconds this is the year 5138; as milliseconds, 1973
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_START_DATE = re.compile(r"\d{8}", re.ASCII)
_START_TIME = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d)", re.ASCII)
_SHOWN_CHARS = 40
_T = TypeVar("_T")


class FieldError(ValueError):
    """One field of a ping is absent or malformed; `parse_ping_fields` turns it into a `Rejected`."""

    def __init__(self, reason: RejectReason, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.reason = reason
        self.field = field


# --- fields: each parser takes a raw value (a JSON value or a CSV string) and the field name ----------------


def _show(raw: object) -> str:
    """A short, safe rendering of a raw value for a rejection's detail."""
    if isinstance(raw, str):
        return repr(raw[:_SHOWN_CHARS]) + ("..." if len(raw) > _SHOWN_CHARS else "")
    if isinstance(raw, bool | float) or (isinstance(raw, int) and raw.bit_length() < 128):
        return repr(raw)
    if isinstance(raw, dict | list):
        return "an object" if isinstance(raw, dict) else "an array"
    return f"a {type(raw).__name__}"


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


MAX_ID_LENGTH = 100  # the storage's column width for ids (vehicle_id is 100, the others wider)


def parse_text(raw: object, field: str) -> str | None:
    """An identifier: a string (stripped) or an integer; blank or null gives None.

    At most MAX_ID_LENGTH characters and no control characters: what no tracker sends is refused here,
    rather than by the database, where it would fail a whole batch.
    """
    if _is_blank(raw):
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > MAX_ID_LENGTH or any(ord(ch) < 32 for ch in text):
            problem = "control characters" if len(text) <= MAX_ID_LENGTH else "too long"
            raise FieldError(RejectReason.INVALID_FIELD, field, f"{_show(raw)} is not an id ({problem})")
        return text
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() < 128:
        return str(raw)
    raise FieldError(RejectReason.INVALID_FIELD, field, f"expected a string, got {_show(raw)}")


def parse_number(raw: object, field: str) -> float | None:
    """A JSON number or a decimal string ("54.87", "-1e3"); blank or null gives None; NaN passes."""
    if _is_blank(raw):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:
            raise FieldError(RejectReason.INVALID_FIELD, field, "number too large") from None
    if isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
        return float(raw.strip())
    raise FieldError(RejectReason.INVALID_FIELD, field, f"expected a number, got {_show(raw)}")


def parse_timestamp(raw: object, field: str = "timestamp") -> dt.datetime | None:
    """ISO 8601 with a UTC offset, or epoch seconds (a number or digits; above 1e11: milliseconds) -> UTC."""
    if isinstance(raw, str) and not _is_blank(raw) and not _NUMBER.fullmatch(raw.strip()):
        return _from_iso(raw.strip(), field)
    seconds = parse_number(raw, field)
    if seconds is None:
        return None
    try:
        if seconds > EPOCH_MILLISECONDS_ABOVE:
            return _EPOCH + dt.timedelta(microseconds=round(seconds * 1e3))
        return _EPOCH + dt.timedelta(microseconds=round(seconds * 1e6))
    except (OverflowError, ValueError):  # beyond datetime's years 1..9999, or not finite
        raise FieldError(RejectReason.INVALID_FIELD, field, f"epoch {_show(raw)} out of range") from None


def _from_iso(text: str, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(RejectReason.INVALID_FIELD, field, f"not ISO 8601: {_show(text)}") from None
    if value.utcoffset() is None:
        raise FieldError(RejectReason.INVALID_FIELD, field, f"no UTC offset in {_show(text)}")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before the year 1 in UTC
        raise FieldError(RejectReason.INVALID_FIELD, field, f"out of range: {_show(text)}") from None


def parse_bearing(raw: object, field: str = "bearing") -> float | None:
    """Degrees clockwise from north, 0 to 360 inclusive."""
    value = parse_number(raw, field)
    if value is not None and not 0.0 <= value <= 360.0:
        raise FieldError(RejectReason.INVALID_FIELD, field, f"{value} is not within 0..360 degrees")
    return value


def parse_speed(raw: object, field: str = "speed") -> float | None:
    """Metres per second, finite and not negative."""
    value = parse_number(raw, field)
    if value is not None and not 0.0 <= value < math.inf:
        raise FieldError(RejectReason.INVALID_FIELD, field, f"{value} is not a speed in m/s (>= 0)")
    return value


def parse_start_date(raw: object, field: str = "start_date") -> str | None:
    """A GTFS-realtime start date, YYYYMMDD, that is a real calendar date."""
    text = parse_text(raw, field)
    if text is None:
        return None
    try:
        if _START_DATE.fullmatch(text):
            dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            return text
    except ValueError:
        pass
    raise FieldError(RejectReason.INVALID_FIELD, field, f"expected YYYYMMDD, got {_show(raw)}")


def parse_start_time(raw: object, field: str = "start_time") -> str | None:
    """A GTFS time H:MM:SS or HH:MM:SS (may pass 24:00:00), returned zero-padded as HH:MM:SS."""
    text = parse_text(raw, field)
    if text is None:
        return None
    match = _START_TIME.fullmatch(text)
    if match is None:
        raise FieldError(RejectReason.INVALID_FIELD, field, f"expected HH:MM:SS, got {_show(raw)}")
    return f"{int(match[1]):02d}:{match[2]}:{match[3]}"


FIELD_PARSERS: Final[Mapping[str, Callable[[object, str], object]]] = {
    "vehicle_id": parse_text,
    "timestamp": parse_timestamp,
    "latitude": parse_number,
    "longitude": parse_number,
    "trip_id": parse_text,
    "route_id": parse_text,
    "start_date": parse_start_date,
    "start_time": parse_start_time,
    "bearing": parse_bearing,
    "speed": parse_speed,
    "carrier_id": parse_text,
}


def _required(value: _T | None, field: str) -> _T:
    if value is None:
        raise FieldError(RejectReason.MISSING_FIELD, field, "required")
    return value


def _resolve_vehicle_id(raw: object, topic_vehicle_id: str | None) -> str:
    """The payload's vehicle_id, else the topic's; both present and different is a mismatch."""
    payload_id = parse_text(raw, "vehicle_id")
    if payload_id is None:
        return _required(topic_vehicle_id, "vehicle_id")
    if topic_vehicle_id is not None and payload_id != topic_vehicle_id:
        problem = f"the topic names {_show(topic_vehicle_id)}, the payload {_show(payload_id)}"
        raise FieldError(RejectReason.VEHICLE_MISMATCH, "vehicle_id", problem)
    return payload_id


def parse_ping_fields(fields: Mapping[str, object], topic_vehicle_id: str | None = None) -> Ping | Rejected:
    """A ping from raw values (JSON values or CSV strings); the first bad field in PING_FIELDS order wins."""
    try:
        vehicle_id = _resolve_vehicle_id(fields.get("vehicle_id"), topic_vehicle_id)
    except FieldError as error:
        return Rejected(error.reason, str(error), topic_vehicle_id)
    try:
        return Ping(
            vehicle_id=vehicle_id,
            timestamp=_required(parse_timestamp(fields.get("timestamp")), "timestamp"),
            latitude=_required(parse_number(fields.get("latitude"), "latitude"), "latitude"),
            longitude=_required(parse_number(fields.get("longitude"), "longitude"), "longitude"),
            trip_id=parse_text(fields.get("trip_id"), "trip_id"),
            route_id=parse_text(fields.get("route_id"), "route_id"),
            start_date=parse_start_date(fields.get("start_date")),
            start_time=parse_start_time(fields.get("start_time")),
            bearing=parse_bearing(fields.get("bearing")),
            speed=parse_speed(fields.get("speed")),
            carrier_id=parse_text(fields.get("carrier_id"), "carrier_id"),
        )
    except FieldError as error:
        return Rejected(error.reason, str(error), vehicle_id)


def parse_json_ping(payload: bytes, topic_vehicle_id: str | None) -> Ping | Rejected:
    """One DESIGN.md section 4 JSON object -> a ping; unknown keys are ignored; never raises."""
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        detail = f"not UTF-8 text: {error.reason} at byte {error.start}"
        return Rejected(RejectReason.UNPARSABLE, detail, topic_vehicle_id)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        return Rejected(RejectReason.UNPARSABLE, f"not JSON: {str(error)[:80]}", topic_vehicle_id)
    if not isinstance(document, dict):
        return Rejected(RejectReason.UNPARSABLE, f"not a JSON object: {_show(document)}", topic_vehicle_id)
    return parse_ping_fields(document, topic_vehicle_id)


def ping_to_json(ping: Ping) -> bytes:
    """The DESIGN.md section 4 payload of a ping, with the timestamp in ISO 8601 UTC (+00:00)."""
    document: dict[str, object] = {field: getattr(ping, field) for field in PING_FIELDS}
    document["timestamp"] = ping.timestamp.astimezone(dt.UTC).isoformat()
    return json.dumps(document, separators=(",", ":")).encode()


# --- GTFS-realtime ------------------------------------------------------------------------------------------


def _float32(message: Any, name: str) -> float | None:
    """A float32 protobuf field as the shortest decimal that names it (28.066221, not 28.066221237182617)."""
    if message is None or not message.HasField(name):
        return None
    return float(str(np.float32(getattr(message, name))))


def _text_field(message: Any, name: str) -> str | None:
    if message is None or not message.HasField(name):
        return None
    return str(getattr(message, name))


def _entity_ping(entity: gtfs_realtime_pb2.FeedEntity, header_timestamp: int) -> Ping | Rejected:
    """One VehiclePosition; a timestamp of 0 means "not given" in practice, so the header's is used."""
    vehicle = entity.vehicle
    trip = vehicle.trip if vehicle.HasField("trip") else None
    position = vehicle.position if vehicle.HasField("position") else None
    fields = {
        "vehicle_id": vehicle.vehicle.id or vehicle.vehicle.label or entity.id,
        "timestamp": vehicle.timestamp or header_timestamp or None,
        "latitude": _float32(position, "latitude"),
        "longitude": _float32(position, "longitude"),
        "trip_id": _text_field(trip, "trip_id"),
        "route_id": _text_field(trip, "route_id"),
        "start_date": _text_field(trip, "start_date"),
        "start_time": _text_field(trip, "start_time"),
        "bearing": _float32(position, "bearing"),
        "speed": _float32(position, "speed"),
    }
    return parse_ping_fields(fields)


def parse_gtfsrt_entities(payload: bytes) -> list[tuple[int | None, Ping | Rejected]]:
    """(entity index, result) per entity with a VehiclePosition; index None when the whole message fails."""
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(payload)
    # protobuf's DecodeError lives in a module without type stubs here; any failure to decode means the same
    except Exception as error:
        return [(None, Rejected(RejectReason.UNPARSABLE, f"not a GTFS-realtime FeedMessage: {error}"))]
    if not message.HasField("header"):
        return [(None, Rejected(RejectReason.UNPARSABLE, "not a GTFS-realtime FeedMessage: no header"))]
    header_timestamp = int(message.header.timestamp)
    return [
        (index, _entity_ping(entity, header_timestamp))
        for index, entity in enumerate(message.entity)
        if entity.HasField("vehicle")
    ]


def parse_gtfsrt_message(payload: bytes) -> list[Ping | Rejected]:
    """One result per VehiclePosition of a binary FeedMessage; never raises, whatever the bytes.

    A FeedMessage without any VehiclePosition (TripUpdates or Alerts on the wrong topic, an empty feed) is one
    rejection, so that every message ends up stored or dead-lettered.
    """
    results = [result for _, result in parse_gtfsrt_entities(payload)]
    if not results:
        return [Rejected(RejectReason.NO_VEHICLE_POSITIONS, "the FeedMessage has no VehiclePosition entity")]
    return results


# --- topics -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """A recognised topic: one vehicle's JSON pings (`vehicle_id`) or GTFS-realtime feeds (`is_gtfsrt`)."""

    vehicle_id: str | None = None
    is_gtfsrt: bool = False


def _topic_head(prefix: str) -> str:
    base = prefix.strip("/")
    return f"{base}/" if base else ""


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> Topic | Rejected:
    """`{prefix}/vehicles/{vehicle_id}/position` or `{prefix}/gtfsrt/vehicle_positions`; else UNKNOWN_TOPIC"""
    head = _topic_head(prefix)
    levels = topic[len(head) :].split("/") if topic.startswith(head) else []
    if levels == ["gtfsrt", "vehicle_positions"]:
        return Topic(is_gtfsrt=True)
    if len(levels) == 3 and levels[0] == "vehicles" and levels[1] and levels[2] == "position":
        return Topic(vehicle_id=levels[1])
    return Rejected(RejectReason.UNKNOWN_TOPIC, f"unknown topic {_show(topic)} (prefix {prefix!r})")


def vehicle_topic(vehicle_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic a vehicle publishes its JSON pings on; raises BadParameter for an id MQTT cannot carry."""
    if not vehicle_id or any(char in vehicle_id for char in "/+#\0"):
        raise BadParameter(f"vehicle_id {vehicle_id!r} cannot be an MQTT topic level")
    return f"{_topic_head(prefix)}vehicles/{vehicle_id}/position"


def gtfsrt_topic(prefix: str = DEFAULT_PREFIX) -> str:
    """The topic of binary GTFS-realtime VehiclePositions feeds."""
    return f"{_topic_head(prefix)}gtfsrt/vehicle_positions"


def parse_pings(topic: str, payload: bytes, prefix: str = DEFAULT_PREFIX) -> list[Ping | Rejected]:
    """Every ping (or rejection) in one MQTT message, by its topic; never raises."""
    parsed = parse_topic(topic, prefix)
    if isinstance(parsed, Rejected):
        return [parsed]
    if parsed.is_gtfsrt:
        return parse_gtfsrt_message(payload)
    return [parse_json_ping(payload, parsed.vehicle_id)]


# --- checks -------------------------------------------------------------------------------------------------


def check_ping(ping: Ping, rules: PingRules, now: dt.datetime) -> Ping | Rejected:
    """Coordinates, service area, then time against `now` (aware); limits themselves are accepted."""
    lat, lon = ping.latitude, ping.longitude
    where = f"latitude {lat}, longitude {lon}"
    finite = math.isfinite(lat) and math.isfinite(lon)
    if not finite or abs(lat) > 90.0 or abs(lon) > 180.0 or (lat == 0.0 and lon == 0.0):
        return Rejected(RejectReason.COORDINATES_OUT_OF_RANGE, where, ping.vehicle_id)
    area = rules.service_area
    if area is not None and not (
        area.min_latitude <= lat <= area.max_latitude and area.min_longitude <= lon <= area.max_longitude
    ):
        return Rejected(RejectReason.OUTSIDE_SERVICE_AREA, where, ping.vehicle_id)
    ahead_seconds = (ping.timestamp - now).total_seconds()
    if ahead_seconds > rules.max_future_seconds:
        detail = f"{ping.timestamp.isoformat()} is {ahead_seconds:.0f} s after {now.isoformat()}"
        return Rejected(RejectReason.TIMESTAMP_IN_FUTURE, detail, ping.vehicle_id)
    if -ahead_seconds > rules.max_age_seconds:
        detail = f"{ping.timestamp.isoformat()} is {-ahead_seconds:.0f} s before {now.isoformat()}"
        return Rejected(RejectReason.TIMESTAMP_TOO_OLD, detail, ping.vehicle_id)
    return ping
