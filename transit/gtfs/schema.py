"""The part of the GTFS schedule reference the service relies on: files, columns, types, keys.

Types are checked on the raw text, before anything is cast, so that a bad value is reported with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"
    ID = "id"
    DATE = "date"  # YYYYMMDD
    TIME = "time"  # H:MM:SS or HH:MM:SS, may pass 24:00:00
    INTEGER = "integer"
    NON_NEGATIVE_INTEGER = "non_negative_integer"
    NUMBER = "number"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    TIMEZONE = "timezone"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    # allowed values of an enumerated integer field; None when any value of the type is allowed
    allowed: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class FileSpec:
    name: str  # table name: file name without ".txt"
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.name}.txt"

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _enum(*values: int) -> frozenset[str]:
    return frozenset(str(v) for v in values)


_BIT = _enum(0, 1)
T = FieldType

FILES: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "agency",
            (
                Column("agency_id", T.ID),
                Column("agency_name", required=True),
                Column("agency_url", required=True),
                Column("agency_timezone", T.TIMEZONE, required=True),
                Column("agency_lang"),
                Column("agency_phone"),
                Column("agency_fare_url"),
                Column("agency_email"),
                Column("cemv_support", T.INTEGER, allowed=_enum(0, 1, 2)),
            ),
            ("agency_id",),
        ),
        FileSpec(
            "stops",
            (
                Column("stop_id", T.ID, required=True),
                Column("stop_code"),
                Column("stop_name"),
                Column("tts_stop_name"),
                Column("stop_desc"),
                Column("stop_lat", T.LATITUDE),
                Column("stop_lon", T.LONGITUDE),
                Column("zone_id", T.ID),
                Column("stop_url"),
                Column("location_type", T.INTEGER, allowed=_enum(0, 1, 2, 3, 4)),
                Column("parent_station", T.ID),
                Column("stop_timezone", T.TIMEZONE),
                Column("wheelchair_boarding", T.INTEGER, allowed=_enum(0, 1, 2)),
                Column("level_id", T.ID),
                Column("platform_code"),
                Column("stop_access", T.INTEGER, allowed=_enum(0, 1)),
            ),
            ("stop_id",),
        ),
        FileSpec(
            "routes",
            (
                Column("route_id", T.ID, required=True),
                Column("agency_id", T.ID),
                Column("route_short_name"),
                Column("route_long_name"),
                Column("route_desc"),
                Column("route_type", T.INTEGER, required=True),
                Column("route_url"),
                Column("route_color"),
                Column("route_text_color"),
                Column("route_sort_order", T.NON_NEGATIVE_INTEGER),
                Column("continuous_pickup", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("continuous_drop_off", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("network_id", T.ID),
                Column("cemv_support", T.INTEGER, allowed=_enum(0, 1, 2)),
            ),
            ("route_id",),
        ),
        FileSpec(
            "trips",
            (
                Column("route_id", T.ID, required=True),
                Column("service_id", T.ID, required=True),
                Column("trip_id", T.ID, required=True),
                Column("trip_headsign"),
                Column("trip_short_name"),
                Column("direction_id", T.INTEGER, allowed=_BIT),
                Column("block_id", T.ID),
                Column("shape_id", T.ID),
                Column("wheelchair_accessible", T.INTEGER, allowed=_enum(0, 1, 2)),
                Column("bikes_allowed", T.INTEGER, allowed=_enum(0, 1, 2)),
                Column("cars_allowed", T.INTEGER, allowed=_enum(0, 1, 2)),
            ),
            ("trip_id",),
        ),
        FileSpec(
            "stop_times",
            (
                Column("trip_id", T.ID, required=True),
                Column("arrival_time", T.TIME),
                Column("departure_time", T.TIME),
                Column("stop_id", T.ID),
                Column("location_group_id", T.ID),
                Column("location_id", T.ID),
                Column("stop_sequence", T.NON_NEGATIVE_INTEGER, required=True),
                Column("stop_headsign"),
                Column("start_pickup_drop_off_window", T.TIME),
                Column("end_pickup_drop_off_window", T.TIME),
                Column("pickup_type", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("drop_off_type", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("continuous_pickup", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("continuous_drop_off", T.INTEGER, allowed=_enum(0, 1, 2, 3)),
                Column("shape_dist_traveled", T.NUMBER),
                Column("timepoint", T.INTEGER, allowed=_BIT),
                Column("pickup_booking_rule_id", T.ID),
                Column("drop_off_booking_rule_id", T.ID),
            ),
            ("trip_id", "stop_sequence"),
        ),
        FileSpec(
            "calendar",
            (
                Column("service_id", T.ID, required=True),
                *(
                    Column(day, T.INTEGER, required=True, allowed=_BIT)
                    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
                ),
                Column("start_date", T.DATE, required=True),
                Column("end_date", T.DATE, required=True),
            ),
            ("service_id",),
        ),
        FileSpec(
            "calendar_dates",
            (
                Column("service_id", T.ID, required=True),
                Column("date", T.DATE, required=True),
                Column("exception_type", T.INTEGER, required=True, allowed=_enum(1, 2)),
            ),
            ("service_id", "date"),
        ),
        FileSpec(
            "shapes",
            (
                Column("shape_id", T.ID, required=True),
                Column("shape_pt_lat", T.LATITUDE, required=True),
                Column("shape_pt_lon", T.LONGITUDE, required=True),
                Column("shape_pt_sequence", T.NON_NEGATIVE_INTEGER, required=True),
                Column("shape_dist_traveled", T.NUMBER),
            ),
            ("shape_id", "shape_pt_sequence"),
        ),
        FileSpec(
            "frequencies",
            (
                Column("trip_id", T.ID, required=True),
                Column("start_time", T.TIME, required=True),
                Column("end_time", T.TIME, required=True),
                Column("headway_secs", T.NON_NEGATIVE_INTEGER, required=True),
                Column("exact_times", T.INTEGER, allowed=_BIT),
            ),
            ("trip_id", "start_time"),
        ),
        FileSpec(
            "feed_info",
            (
                Column("feed_publisher_name", required=True),
                Column("feed_publisher_url", required=True),
                Column("feed_lang", required=True),
                Column("default_lang"),
                Column("feed_start_date", T.DATE),
                Column("feed_end_date", T.DATE),
                Column("feed_version"),
                Column("feed_contact_email"),
                Column("feed_contact_url"),
            ),
        ),
    )
}

# Files the service reads.
REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")
CALENDAR_FILES = ("calendar", "calendar_dates")

# Files of the GTFS schedule reference that the service does not read; they are known, so no warning.
OTHER_GTFS_FILES = frozenset(
    {
        "fare_attributes", "fare_rules", "timeframes", "rider_categories", "fare_media", "fare_products",
        "fare_leg_rules", "fare_leg_join_rules", "fare_transfer_rules", "areas", "stop_areas", "networks",
        "route_networks", "transfers", "pathways", "levels", "location_groups", "location_group_stops",
        "booking_rules", "translations", "attributions",
    }
)  # fmt: skip

KNOWN_FILES = frozenset(FILES) | OTHER_GTFS_FILES
