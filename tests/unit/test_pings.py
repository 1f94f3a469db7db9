"""Parsing and judging pings: the JSON payload, GTFS-realtime, topics, checks and the speed guard."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from google.transit import gtfs_realtime_pb2
from hypothesis import given
from hypothesis import strategies as st

from transit.errors import BadParameter
from transit.telemetry.model import PING_FIELDS, Ping, PingRules, Rejected, RejectReason, ServiceArea
from transit.telemetry.pings import (
    Topic,
    check_ping,
    gtfsrt_topic,
    parse_gtfsrt_entities,
    parse_gtfsrt_message,
    parse_json_ping,
    parse_pings,
    parse_topic,
    ping_to_json,
    vehicle_topic,
)
from transit.telemetry.speed import SpeedGuard

UTC = dt.UTC
AT = dt.datetime(2026, 11, 29, 3, 15, 2, tzinfo=UTC)
VALID = {
    "vehicle_id": "bus-017",
    "timestamp": "2026-11-29T08:15:02+05:00",
    "latitude": 54.8721,
    "longitude": 69.1432,
}


def payload(**changes: object) -> bytes:
    """A JSON payload: the valid one with fields changed; a value of ... removes the field."""
    document = {**VALID, **changes}
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


def ping(**changes: object) -> Ping:
    values: dict[str, object] = {
        "vehicle_id": "bus-017",
        "timestamp": AT,
        "latitude": 54.8721,
        "longitude": 69.1432,
    }
    return Ping(**{**values, **changes})  # type: ignore[arg-type]


# --- malformed payloads -------------------------------------------------------------------------------------

MALFORMED = [
    pytest.param(b"\xff\xfe{}", RejectReason.UNPARSABLE, None, id="not-utf8"),
    pytest.param(b"", RejectReason.UNPARSABLE, None, id="empty"),
    pytest.param(b"{vehicle_id: 1}", RejectReason.UNPARSABLE, None, id="not-json"),
    pytest.param(b"[1, 2]", RejectReason.UNPARSABLE, None, id="array"),
    pytest.param(b'"a string"', RejectReason.UNPARSABLE, None, id="string"),
    pytest.param(b"null", RejectReason.UNPARSABLE, None, id="null"),
    pytest.param(b"[" * 100_000, RejectReason.UNPARSABLE, None, id="deeply-nested"),
    pytest.param(payload(vehicle_id=...), RejectReason.MISSING_FIELD, "vehicle_id", id="no-vehicle"),
    pytest.param(payload(vehicle_id=""), RejectReason.MISSING_FIELD, "vehicle_id", id="empty-vehicle"),
    pytest.param(payload(vehicle_id="  "), RejectReason.MISSING_FIELD, "vehicle_id", id="blank-vehicle"),
    pytest.param(payload(vehicle_id=None), RejectReason.MISSING_FIELD, "vehicle_id", id="null-vehicle"),
    pytest.param(payload(timestamp=...), RejectReason.MISSING_FIELD, "timestamp", id="no-timestamp"),
    pytest.param(payload(timestamp=None), RejectReason.MISSING_FIELD, "timestamp", id="null-timestamp"),
    pytest.param(payload(latitude=...), RejectReason.MISSING_FIELD, "latitude", id="no-latitude"),
    pytest.param(payload(longitude=""), RejectReason.MISSING_FIELD, "longitude", id="empty-longitude"),
    pytest.param(payload(vehicle_id=1.5), RejectReason.INVALID_FIELD, "vehicle_id", id="float-vehicle"),
    pytest.param(payload(vehicle_id=True), RejectReason.INVALID_FIELD, "vehicle_id", id="bool-vehicle"),
    pytest.param(payload(vehicle_id=["a"]), RejectReason.INVALID_FIELD, "vehicle_id", id="list-vehicle"),
    pytest.param(
        payload(timestamp="2026-11-29T08:15:02"), RejectReason.INVALID_FIELD, "timestamp", id="naive"
    ),
    pytest.param(payload(timestamp="2026-11-29"), RejectReason.INVALID_FIELD, "timestamp", id="date-only"),
    pytest.param(payload(timestamp="yesterday"), RejectReason.INVALID_FIELD, "timestamp", id="words"),
    pytest.param(
        payload(timestamp="2026-13-01T00:00:00Z"), RejectReason.INVALID_FIELD, "timestamp", id="month-13"
    ),
    pytest.param(payload(timestamp=True), RejectReason.INVALID_FIELD, "timestamp", id="bool-timestamp"),
    pytest.param(payload(timestamp=1e300), RejectReason.INVALID_FIELD, "timestamp", id="epoch-overflow"),
    pytest.param(payload(timestamp={"s": 1}), RejectReason.INVALID_FIELD, "timestamp", id="object-timestamp"),
    pytest.param(
        payload(timestamp="0001-01-01T00:00:00+05:00"),
        RejectReason.INVALID_FIELD,
        "timestamp",
        id="before-year-1",
    ),
    pytest.param(
        b'{"vehicle_id":"a","timestamp":NaN}', RejectReason.INVALID_FIELD, "timestamp", id="nan-epoch"
    ),
    pytest.param(payload(latitude="north"), RejectReason.INVALID_FIELD, "latitude", id="word-latitude"),
    pytest.param(payload(latitude="nan"), RejectReason.INVALID_FIELD, "latitude", id="nan-string-latitude"),
    pytest.param(payload(latitude="1_000"), RejectReason.INVALID_FIELD, "latitude", id="underscore-latitude"),
    pytest.param(payload(latitude=False), RejectReason.INVALID_FIELD, "latitude", id="bool-latitude"),
    pytest.param(payload(longitude=[69.1]), RejectReason.INVALID_FIELD, "longitude", id="list-longitude"),
    pytest.param(
        payload()[:-1] + b', "x": ' + b"9" * 5000 + b"}", RejectReason.UNPARSABLE, None, id="huge-int"
    ),
    pytest.param(payload(longitude=10**400), RejectReason.INVALID_FIELD, "longitude", id="int-beyond-float"),
    pytest.param(payload(bearing=360.5), RejectReason.INVALID_FIELD, "bearing", id="bearing-over-360"),
    pytest.param(payload(bearing=-1), RejectReason.INVALID_FIELD, "bearing", id="negative-bearing"),
    pytest.param(payload(bearing="east"), RejectReason.INVALID_FIELD, "bearing", id="word-bearing"),
    pytest.param(payload(speed=-0.1), RejectReason.INVALID_FIELD, "speed", id="negative-speed"),
    pytest.param(payload(speed=float("inf")), RejectReason.INVALID_FIELD, "speed", id="infinite-speed"),
    pytest.param(
        payload(start_date="2019-06-19"), RejectReason.INVALID_FIELD, "start_date", id="dashed-date"
    ),
    pytest.param(payload(start_date="20190231"), RejectReason.INVALID_FIELD, "start_date", id="february-31"),
    pytest.param(payload(start_time="8:00"), RejectReason.INVALID_FIELD, "start_time", id="no-seconds"),
    pytest.param(payload(start_time="08:60:00"), RejectReason.INVALID_FIELD, "start_time", id="minute-60"),
    pytest.param(payload(trip_id={"id": 1}), RejectReason.INVALID_FIELD, "trip_id", id="object-trip"),
    pytest.param(payload(route_id=7.5), RejectReason.INVALID_FIELD, "route_id", id="float-route"),
    pytest.param(payload(carrier_id=[]), RejectReason.INVALID_FIELD, "carrier_id", id="list-carrier"),
]


@pytest.mark.parametrize(("raw", "reason", "field"), MALFORMED)
def test_malformed_payload_is_rejected_with_its_reason_and_field(
    raw: bytes, reason: RejectReason, field: str | None
) -> None:
    result = parse_json_ping(raw, None)
    assert isinstance(result, Rejected)
    assert result.reason is reason
    if field is not None:
        assert result.detail.startswith(f"{field}:")


def test_the_first_bad_field_in_field_order_is_reported() -> None:
    result = parse_json_ping(payload(latitude="x", bearing=999, timestamp=...), None)
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.MISSING_FIELD
    assert result.detail.startswith("timestamp:")


def test_payload_and_topic_naming_different_vehicles_is_a_mismatch() -> None:
    result = parse_json_ping(payload(vehicle_id="bus-018"), "bus-017")
    assert result == Rejected(
        RejectReason.VEHICLE_MISMATCH,
        "vehicle_id: the topic names 'bus-017', the payload 'bus-018'",
        "bus-017",
    )


def test_rejection_names_the_vehicle_when_it_is_known() -> None:
    result = parse_json_ping(payload(latitude="x"), None)
    assert isinstance(result, Rejected)
    assert result.vehicle_id == "bus-017"


def test_detail_of_a_huge_value_stays_short() -> None:
    result = parse_json_ping(payload(latitude="9" * 10_000 + "x"), None)
    assert isinstance(result, Rejected)
    assert len(result.detail) < 120


# --- valid payloads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-29T08:15:02+05:00", AT),
        ("2026-11-29T03:15:02Z", AT),
        ("2026-11-28T22:15:02-05:00", AT),
        ("2026-11-29T03:15:02.250+00:00", AT + dt.timedelta(milliseconds=250)),
        (1795922102, AT),
        (1795922102.5, AT + dt.timedelta(milliseconds=500)),
        ("1795922102", AT),
        (" 1795922102 ", AT),
        (1795922102123, AT + dt.timedelta(milliseconds=123)),
        ("1795922102123", AT + dt.timedelta(milliseconds=123)),
        (1e11, dt.datetime(5138, 11, 16, 9, 46, 40, tzinfo=UTC)),
        (1e11 + 1, dt.datetime(1973, 3, 3, 9, 46, 40, 1000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms_give_the_same_utc_instant(timestamp: object, expected: dt.datetime) -> None:
    result = parse_json_ping(payload(timestamp=timestamp), None)
    assert isinstance(result, Ping)
    assert result.timestamp == expected
    assert result.timestamp.utcoffset() == dt.timedelta(0)


def test_design_example_payload_parses_with_every_field() -> None:
    raw = (
        b'{"vehicle_id": "bus-017", "timestamp": "2026-11-29T08:15:02+05:00", "latitude": 54.8721, '
        b'"longitude": 69.1432, "trip_id": null, "route_id": "7", "start_date": null, "start_time": null, '
        b'"bearing": 118.0, "speed": 7.9, "carrier_id": null}'
    )
    assert parse_json_ping(raw, "bus-017") == ping(route_id="7", bearing=118.0, speed=7.9)


def test_numeric_strings_empty_strings_and_unknown_keys_are_accepted() -> None:
    raw = payload(
        latitude=" 54.8721", longitude="69.1432", bearing="118", speed="7.9e0", trip_id="", route_id=None,
        start_date="20261129", start_time="8:05:00", carrier_id="", odometer=123456, extra={"a": [1]},
    )  # fmt: skip
    expected = ping(bearing=118.0, speed=7.9, start_date="20261129", start_time="08:05:00")
    assert parse_json_ping(raw, None) == expected


def test_vehicle_comes_from_the_topic_and_integer_ids_are_text() -> None:
    assert parse_json_ping(payload(vehicle_id=...), "bus-017") == ping()
    assert parse_json_ping(payload(vehicle_id=17), "17") == ping(vehicle_id="17")
    assert parse_json_ping(payload(vehicle_id=" bus-017 ", trip_id=42), None) == ping(trip_id="42")


def test_gtfs_times_past_midnight_and_edge_values_are_kept() -> None:
    raw = payload(start_time="25:10:00", start_date=20261128, bearing=360, speed=0)
    assert parse_json_ping(raw, None) == ping(
        start_time="25:10:00", start_date="20261128", bearing=360.0, speed=0.0
    )


def test_utf8_byte_order_mark_is_tolerated() -> None:
    assert parse_json_ping(b"\xef\xbb\xbf" + payload(), None) == ping()


def test_nan_coordinates_parse_and_are_left_to_check_ping() -> None:
    result = parse_json_ping(b'{"vehicle_id":"a","timestamp":0,"latitude":NaN,"longitude":1}', None)
    assert isinstance(result, Ping)
    assert math.isnan(result.latitude)


# --- round trip and fuzzing ---------------------------------------------------------------------------------

ids = (
    st.text(st.characters(min_codepoint=32, exclude_categories=("Cs",)), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
finite = st.floats(allow_nan=False, allow_infinity=False)
pings = st.builds(
    Ping,
    vehicle_id=ids,
    timestamp=st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    latitude=finite,
    longitude=finite,
    trip_id=st.none() | ids,
    route_id=st.none() | ids,
    start_date=st.none() | st.dates().map(lambda d: d.strftime("%Y%m%d")).filter(lambda s: len(s) == 8),
    start_time=st.none()
    | st.tuples(st.integers(0, 47), st.integers(0, 59), st.integers(0, 59)).map(
        lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"
    ),
    bearing=st.none() | st.floats(0, 360),
    speed=st.none() | st.floats(0, 1e6),
    carrier_id=st.none() | ids,
)


@given(pings)
def test_ping_to_json_round_trips(value: Ping) -> None:
    assert parse_json_ping(ping_to_json(value), value.vehicle_id) == value


def test_ping_to_json_writes_utc_iso_timestamps() -> None:
    document = json.loads(ping_to_json(ping(timestamp=AT.astimezone(dt.timezone(dt.timedelta(hours=5))))))
    assert document["timestamp"] == "2026-11-29T03:15:02+00:00"
    assert list(document) == list(PING_FIELDS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
loose_values = (
    json_values | st.from_regex(r"\A[ +\-0-9.eE:TZ]{0,30}\Z") | st.sampled_from(["", " ", "nan", "inf"])
)
ping_like = st.fixed_dictionaries({}, optional=dict.fromkeys(PING_FIELDS, loose_values))


def assert_parsed(result: object) -> None:
    assert isinstance(result, Ping | Rejected)


@given(st.binary())
def test_parse_json_ping_never_raises_on_random_bytes(raw: bytes) -> None:
    assert_parsed(parse_json_ping(raw, None))


@given(json_values, st.none() | ids)
def test_parse_json_ping_never_raises_on_random_json(value: object, topic_vehicle: str | None) -> None:
    assert_parsed(parse_json_ping(json.dumps(value).encode(), topic_vehicle))


@given(ping_like, st.none() | ids)
def test_parse_json_ping_never_raises_on_ping_shaped_objects(
    document: dict[str, object], topic: str | None
) -> None:
    assert_parsed(parse_json_ping(json.dumps(document).encode(), topic))


@given(st.binary())
def test_parse_gtfsrt_message_never_raises_on_random_bytes(raw: bytes) -> None:
    results = parse_gtfsrt_message(raw)
    assert all(isinstance(r, Ping | Rejected) for r in results)


@given(st.text(), st.text(max_size=12))
def test_parse_topic_never_raises(topic: str, prefix: str) -> None:
    assert isinstance(parse_topic(topic, prefix), Topic | Rejected)


# --- GTFS-realtime ------------------------------------------------------------------------------------------


def feed(*entities: gtfs_realtime_pb2.FeedEntity, header_timestamp: int | None = 1505314375) -> bytes:
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    if header_timestamp is not None:
        message.header.timestamp = header_timestamp
    message.entity.extend(entities)
    return message.SerializeToString()


def vehicle_entity(entity_id: str = "e1", **fields: object) -> gtfs_realtime_pb2.FeedEntity:
    entity = gtfs_realtime_pb2.FeedEntity(id=entity_id)
    entity.vehicle.position.latitude = fields.get("lat", 28.0662212)  # type: ignore[assignment]
    entity.vehicle.position.longitude = fields.get("lon", -82.4176941)  # type: ignore[assignment]
    for name in ("id", "label"):
        if name in fields:
            setattr(entity.vehicle.vehicle, name, fields[name])
    if "timestamp" in fields:
        entity.vehicle.timestamp = fields["timestamp"]  # type: ignore[assignment]
    return entity


def test_gtfsrt_vehicle_position_gives_a_ping_with_trip_and_motion() -> None:
    entity = vehicle_entity(id="2074", label="1796", timestamp=1560958853)
    entity.vehicle.trip.trip_id = "14941988"
    entity.vehicle.trip.route_id = "2"
    entity.vehicle.trip.start_date = "20190619"
    entity.vehicle.trip.start_time = "10:30:00"
    entity.vehicle.position.bearing = 225
    entity.vehicle.position.speed = 2.2352
    [result] = parse_gtfsrt_message(feed(entity))
    assert result == Ping(
        "2074", dt.datetime(2019, 6, 19, 15, 40, 53, tzinfo=UTC), 28.066221, -82.417694,
        trip_id="14941988", route_id="2", start_date="20190619", start_time="10:30:00",
        bearing=225.0, speed=2.2352,
    )  # fmt: skip


def test_gtfsrt_vehicle_id_falls_back_to_label_then_entity_id() -> None:
    results = parse_gtfsrt_message(
        feed(
            vehicle_entity("e1", id="v1", label="L1"), vehicle_entity("e2", label="L2"), vehicle_entity("e3")
        )
    )
    assert [r.vehicle_id for r in results] == ["v1", "L2", "e3"]


def test_gtfsrt_timestamp_falls_back_to_the_header_and_is_required() -> None:
    [from_header] = parse_gtfsrt_message(feed(vehicle_entity(id="1536")))
    assert isinstance(from_header, Ping)
    assert from_header.timestamp == dt.datetime.fromtimestamp(1505314375, UTC)
    [missing] = parse_gtfsrt_message(feed(vehicle_entity(id="1536"), header_timestamp=None))
    assert isinstance(missing, Rejected)
    assert (missing.reason, missing.vehicle_id) == (RejectReason.MISSING_FIELD, "1536")


def test_gtfsrt_entities_without_a_vehicle_position_are_skipped_but_keep_their_index() -> None:
    update = gtfs_realtime_pb2.FeedEntity(id="t1")
    update.trip_update.trip.trip_id = "x"
    no_position = gtfs_realtime_pb2.FeedEntity(id="e9")
    no_position.vehicle.vehicle.id = "v9"
    results = parse_gtfsrt_entities(feed(update, vehicle_entity(id="v1"), no_position))
    assert [index for index, _ in results] == [1, 2]
    assert isinstance(results[1][1], Rejected)
    assert results[1][1].reason is RejectReason.MISSING_FIELD


@pytest.mark.parametrize("raw", [b"hello world", b"\x00", b"", b"\x12\x02\x0a\x00"])
def test_a_payload_that_is_not_a_feed_message_is_unparsable(raw: bytes) -> None:
    [result] = parse_gtfsrt_message(raw)
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.UNPARSABLE


def test_a_feed_message_without_vehicles_is_one_rejection() -> None:
    assert [r.reason for r in parse_gtfsrt_message(feed())] == [RejectReason.NO_VEHICLE_POSITIONS]


@pytest.mark.parametrize("vehicle_id", ["bus\x001", "bus\n1", "b" * 101])
def test_an_id_a_database_column_cannot_hold_is_an_invalid_field(vehicle_id: str) -> None:
    payload = json.dumps(
        {"vehicle_id": vehicle_id, "timestamp": 1795922102, "latitude": 54.8, "longitude": 69.1}
    )
    result = parse_json_ping(payload.encode(), None)
    assert isinstance(result, Rejected) and result.reason is RejectReason.INVALID_FIELD
    assert result.detail.startswith("vehicle_id")


# --- topics -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "prefix", "expected"),
    [
        ("transit/v1/vehicles/bus-017/position", "transit/v1", Topic(vehicle_id="bus-017")),
        ("transit/v1/vehicles/bus-017/position", "transit/v1/", Topic(vehicle_id="bus-017")),
        ("transit/v1/gtfsrt/vehicle_positions", "transit/v1", Topic(is_gtfsrt=True)),
        ("city/vehicles/gtfsrt/position", "city", Topic(vehicle_id="gtfsrt")),
        ("vehicles/7/position", "", Topic(vehicle_id="7")),
    ],
)
def test_known_topics_are_recognised(topic: str, prefix: str, expected: Topic) -> None:
    assert parse_topic(topic, prefix) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "transit/v1/vehicles//position",
        "transit/v1/vehicles/a/b/position",
        "transit/v1/vehicles/a/speed",
        "transit/v2/vehicles/a/position",
        "transit/v1x/vehicles/a/position",
        "transit/v1/gtfsrt/trip_updates",
        "transit/v1/gtfsrt/vehicle_positions/extra",
        "transit/v1",
        "",
    ],
)
def test_other_topics_are_unknown(topic: str) -> None:
    result = parse_topic(topic, "transit/v1")
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.UNKNOWN_TOPIC


def test_topics_are_built_for_publishing_and_parse_back() -> None:
    assert parse_topic(vehicle_topic("bus-017"), "transit/v1") == Topic(vehicle_id="bus-017")
    assert parse_topic(gtfsrt_topic(), "transit/v1") == Topic(is_gtfsrt=True)
    with pytest.raises(BadParameter):
        vehicle_topic("a/b")


def test_parse_pings_dispatches_on_the_topic() -> None:
    assert parse_pings("transit/v1/vehicles/bus-017/position", payload(vehicle_id=...)) == [ping()]
    assert (
        len(parse_pings("transit/v1/gtfsrt/vehicle_positions", feed(vehicle_entity(), vehicle_entity()))) == 2
    )
    [unknown] = parse_pings("elsewhere", payload())
    assert isinstance(unknown, Rejected)
    assert unknown.reason is RejectReason.UNKNOWN_TOPIC


# --- check_ping ---------------------------------------------------------------------------------------------

RULES = PingRules(
    service_area=ServiceArea(54.0, 68.0, 56.0, 70.0), max_future_seconds=300, max_age_seconds=86400
)
NO_AREA = PingRules(max_future_seconds=300, max_age_seconds=86400)


@pytest.mark.parametrize(
    ("lat", "lon", "rules", "reason"),
    [
        (math.nan, 69.0, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (54.0, math.inf, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (90.0001, 0.5, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (-91.0, 0.5, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (10.0, 180.5, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (0.0, 0.0, NO_AREA, RejectReason.COORDINATES_OUT_OF_RANGE),
        (90.0, 180.0, NO_AREA, None),
        (-90.0, -180.0, NO_AREA, None),
        (0.0, 0.001, NO_AREA, None),
        (54.0, 68.0, RULES, None),
        (56.0, 70.0, RULES, None),
        (53.999, 69.0, RULES, RejectReason.OUTSIDE_SERVICE_AREA),
        (55.0, 70.001, RULES, RejectReason.OUTSIDE_SERVICE_AREA),
    ],
)
def test_coordinates_and_service_area(
    lat: float, lon: float, rules: PingRules, reason: RejectReason | None
) -> None:
    result = check_ping(ping(latitude=lat, longitude=lon), rules, AT)
    assert (result.reason if isinstance(result, Rejected) else None) is reason


@pytest.mark.parametrize(
    ("offset_seconds", "reason"),
    [
        (300, None),
        (300.001, RejectReason.TIMESTAMP_IN_FUTURE),
        (-86400, None),
        (-86400.001, RejectReason.TIMESTAMP_TOO_OLD),
        (0, None),
    ],
)
def test_time_limits_are_inclusive(offset_seconds: float, reason: RejectReason | None) -> None:
    result = check_ping(ping(timestamp=AT + dt.timedelta(seconds=offset_seconds)), RULES, AT)
    assert (result.reason if isinstance(result, Rejected) else None) is reason
    if isinstance(result, Rejected):
        assert result.vehicle_id == "bus-017"


def test_a_valid_ping_passes_unchanged() -> None:
    value = ping(latitude=55.0, longitude=69.0)
    assert check_ping(value, RULES, AT) is value


# --- speed guard --------------------------------------------------------------------------------------------

KM_NORTH = 1 / 111.195  # degrees of latitude per kilometre


def at(seconds: float, km_north: float, vehicle: str = "bus-017") -> Ping:
    return ping(
        vehicle_id=vehicle, timestamp=AT + dt.timedelta(seconds=seconds), latitude=54.0 + km_north * KM_NORTH
    )


def test_plausible_pings_pass_and_a_jump_is_impossible_speed() -> None:
    guard = SpeedGuard(PingRules())
    assert isinstance(guard.check(at(0, 0)), Ping)
    assert isinstance(guard.check(at(60, 1)), Ping)  # 17 m/s
    result = guard.check(at(120, 20))  # 19 km in 60 s
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.IMPOSSIBLE_SPEED
    assert result.vehicle_id == "bus-017"
    assert isinstance(guard.check(at(120, 2)), Ping)  # the outlier was not remembered


def test_out_of_order_ping_is_judged_against_its_nearest_neighbour_in_time() -> None:
    guard = SpeedGuard(PingRules())
    guard.check(at(0, 0))
    guard.check(at(600, 10))
    assert isinstance(guard.check(at(590, 9.8)), Ping)  # late, near its successor
    assert isinstance(guard.check(at(10, 30)), Rejected)  # late, 30 km from the ping 10 s before it
    assert isinstance(guard.check(at(300, 5)), Ping)
    assert isinstance(guard.check(at(-60, -2)), Ping)  # before everything, plausible against the first


def test_a_fast_but_short_jump_is_gps_noise_not_a_violation() -> None:
    guard = SpeedGuard(PingRules())
    guard.check(at(0, 0))
    assert isinstance(guard.check(at(1, 0.4)), Ping)  # 400 m in 1 s, below min_jump_m


def test_duplicates_are_not_speed_violations() -> None:
    guard = SpeedGuard(PingRules())
    guard.check(at(0, 0))
    assert isinstance(guard.check(at(0, 0)), Ping)
    assert isinstance(guard.check(at(0, 50)), Ping)  # same vehicle and timestamp: storage keeps one


def test_vehicles_are_judged_apart() -> None:
    guard = SpeedGuard(PingRules())
    guard.check(at(0, 0, "a"))
    assert isinstance(guard.check(at(10, 50, "b")), Ping)


def test_an_accepted_outlier_stops_blocking_once_the_jump_becomes_possible() -> None:
    guard = SpeedGuard(PingRules(max_speed_mps=45.0))
    guard.check(at(0, 20))  # a bad first fix, 20 km off
    assert isinstance(guard.check(at(60, 0)), Rejected)
    assert isinstance(guard.check(at(450, 0)), Ping)  # 20 km in 450 s is 44 m/s


def test_only_the_latest_pings_per_vehicle_are_kept() -> None:
    guard = SpeedGuard(PingRules(), history=16)
    for minute in range(20):
        guard.check(at(minute * 60, minute * 0.5))
    # Minute 0 was dropped: its time is no duplicate any more, and 30 km from minute 4's fix is a jump.
    assert isinstance(guard.check(at(0, 30)), Rejected)
    assert isinstance(guard.check(at(19 * 60, 30)), Ping)  # minute 19 is remembered: a duplicate


def test_vehicles_unseen_for_an_hour_of_ping_time_are_forgotten() -> None:
    guard = SpeedGuard(PingRules(), forget_after_seconds=3600)
    guard.check(at(0, 0, "a"))
    guard.check(at(0, 0, "b"))
    assert len(guard) == 2
    guard.check(at(3000, 0, "b"))
    guard.check(at(4000, 0, "b"))
    assert len(guard) == 1
    assert isinstance(guard.check(at(4000, 100, "a")), Ping)  # a starts afresh
