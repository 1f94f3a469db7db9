"""check_feed: each defect is reported with its code, file, physical line and field, and nothing else is."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.gtfs_tables import TINY_FEED, make_feed, tiny_feed
from transit.gtfs.check import check_feed
from transit.gtfs.findings import MAX_PER_KIND
from transit.gtfs.model import Finding, FindingCode, RawFeed, Severity, Table
from transit.gtfs.source import read_raw_feed

C = FindingCode
E = Severity.ERROR
W = Severity.WARNING

Row = tuple[Severity, FindingCode, str | None, int | None, str | None]
CALENDAR_HEADER = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date"
ONE_WEEK = "WK,1,0,0,0,0,0,0,20240101,20240107\nWE,0,0,0,0,0,0,1,20240101,20240107"  # Monday 1 to Sunday 7


def edit(name: str, old: str, new: str) -> dict[str, str | None]:
    """The tiny feed's file `name` with one piece of text replaced."""
    assert old in TINY_FEED[name], f"{old!r} is not in {name}"
    return {name: TINY_FEED[name].replace(old, new)}


def add_rows(name: str, *rows: str) -> dict[str, str | None]:
    """The tiny feed's file `name` with rows appended (they are on the lines after the last one)."""
    return {name: textwrap.dedent(TINY_FEED[name]).strip() + "\n" + "\n".join(rows) + "\n"}


def rows_of(findings: list[Finding]) -> list[Row]:
    return sorted(((f.severity, f.code, f.file, f.line, f.field) for f in findings), key=str)


def test_the_tiny_clean_feed_has_no_findings() -> None:
    assert check_feed(tiny_feed()) == []


CASES: list[tuple[str, dict[str, str | None], list[Row]]] = [
    # files
    (
        "missing stop_times",
        {"stop_times": None},
        [(E, C.MISSING_REQUIRED_FILE, "stop_times.txt", None, None)],
    ),
    ("missing agency", {"agency": None}, [(E, C.MISSING_REQUIRED_FILE, "agency.txt", None, None)]),
    (
        "no calendar at all",
        {"calendar": None, "calendar_dates": None},
        [(E, C.MISSING_CALENDAR, None, None, None)],
    ),
    ("calendar_dates alone is a calendar", {"calendar": None}, []),
    # columns
    (
        "missing required column",
        {"agency": "agency_id,agency_url,agency_timezone\nA1,https://metro.example,Europe/Paris"},
        [(E, C.MISSING_REQUIRED_COLUMN, "agency.txt", 1, "agency_name")],
    ),
    (
        "unknown column",
        edit("stops", "location_type,parent_station", "location_type,parent_station,stop_colour"),
        [(W, C.UNKNOWN_COLUMN, "stops.txt", 1, "stop_colour")],
    ),
    # conditionally required values
    (
        "several agencies without an agency_id column",
        {
            "agency": "agency_name,agency_url,agency_timezone\nMetro,https://m.example,UTC\nBus,https://b.example,UTC"
        },
        [(E, C.MISSING_AGENCY_ID, "agency.txt", 1, "agency_id")],
    ),
    (
        "several agencies and a route without agency_id",
        {**add_rows("agency", "A2,Bus,https://bus.example,Europe/Paris"), **edit("routes", "R2,A1,", "R2,,")},
        [(E, C.MISSING_AGENCY_ID, "routes.txt", 3, "agency_id")],
    ),
    (
        "several agencies and routes without an agency_id column",
        {
            **add_rows("agency", "A2,Bus,https://bus.example,Europe/Paris"),
            "routes": "route_id,route_short_name,route_type\nR1,1,3\nR2,2,3",
        },
        [(E, C.MISSING_AGENCY_ID, "routes.txt", 1, "agency_id")],
    ),
    ("one agency and a route without agency_id", edit("routes", "R2,A1,", "R2,,"), []),
    (
        "agencies in two time zones",
        add_rows("agency", "A2,Bus,https://bus.example,Europe/London"),
        [(E, C.MIXED_TIMEZONES, "agency.txt", 3, "agency_timezone")],
    ),
    (
        "unknown time zone",
        edit("agency", "Europe/Paris", "Europe/Pariss"),
        [(E, C.INVALID_TIMEZONE, "agency.txt", 2, "agency_timezone")],
    ),
    (
        "stop without latitude",
        edit("stops", "S2,Market,48.86", "S2,Market,"),
        [(E, C.MISSING_REQUIRED_VALUE, "stops.txt", 4, "stop_lat")],
    ),
    (
        "stops without a stop_lon column",
        {"stops": "stop_id,stop_name,stop_lat\nS1,A,48.85\nS2,B,48.86\nS3,C,48.87"},
        [(E, C.MISSING_REQUIRED_VALUE, "stops.txt", 1, "stop_lon")],
    ),
    (
        "station without a name",
        edit("stops", "STA,Central,", "STA,,"),
        [(E, C.MISSING_REQUIRED_VALUE, "stops.txt", 2, "stop_name")],
    ),
    ("a generic node needs no name nor position", add_rows("stops", "N1,,,,3,STA"), []),
    (
        "route without a name",
        edit("routes", "R1,A1,1,,3", "R1,A1,,,3"),
        [(E, C.MISSING_REQUIRED_VALUE, "routes.txt", 2, "route_short_name")],
    ),
    (
        "first stop without arrival_time",
        edit("stop_times", "T1,08:00:00,08:00:00", "T1,,08:00:00"),
        [(E, C.MISSING_TRIP_EDGE_TIME, "stop_times.txt", 2, "arrival_time")],
    ),
    (
        "last stop without departure_time",
        edit("stop_times", "T1,08:10:00,08:11:00", "T1,08:10:00,"),
        [(E, C.MISSING_TRIP_EDGE_TIME, "stop_times.txt", 4, "departure_time")],
    ),
    (
        "stop_times without an arrival_time column",
        {
            "stop_times": "trip_id,departure_time,stop_id,stop_sequence\n"
            "T1,08:00:00,S1,1\nT1,08:10:00,S3,2\nT2,23:50:00,S1,1\nT2,24:05:00,S3,2\nT3,9:00:00,S3,1\nT3,9:20:00,S2,2"
        },
        [(E, C.MISSING_TRIP_EDGE_TIME, "stop_times.txt", 1, "arrival_time")],
    ),
    # required values
    (
        "trip without service_id",
        edit("trips", "R1,WK,T1", "R1,,T1"),
        [(E, C.MISSING_REQUIRED_VALUE, "trips.txt", 2, "service_id")],
    ),
    (
        "blank stop_id is empty",
        edit("stop_times", "T1,,,S2,2", "T1,,,  ,2"),
        [(E, C.MISSING_REQUIRED_VALUE, "stop_times.txt", 3, "stop_id")],
    ),
    # types
    (
        "date with dots",
        edit("calendar", "0,0,20240101,20241231\n        WE", "0,0,2024.01.01,20241231\n        WE"),
        [(E, C.INVALID_DATE, "calendar.txt", 2, "start_date")],
    ),
    (
        "30 February",
        edit("calendar", "1,1,20240101,20241231", "1,1,20240101,20240230"),
        [(E, C.INVALID_DATE, "calendar.txt", 3, "end_date")],
    ),
    (
        "29 February of a common year",
        edit("calendar", "1,1,20240101,20241231", "1,1,20230101,20230229"),
        [(E, C.INVALID_DATE, "calendar.txt", 3, "end_date")],
    ),
    ("29 February of a leap year", edit("calendar", "1,1,20240101,20241231", "1,1,20240101,20240229"), []),
    (
        "ISO date in calendar_dates",
        edit("calendar_dates", "WK,20241225", "WK,2024-12-25"),
        [(E, C.INVALID_DATE, "calendar_dates.txt", 2, "date")],
    ),
    (
        "time without seconds",
        edit("stop_times", "T1,08:10:00,", "T1,8:10,"),
        [(E, C.INVALID_TIME, "stop_times.txt", 4, "arrival_time")],
    ),
    (
        "60 minutes",
        edit("stop_times", "T1,08:10:00,", "T1,08:60:00,"),
        [(E, C.INVALID_TIME, "stop_times.txt", 4, "arrival_time")],
    ),
    (
        "three-digit hours",
        edit("stop_times", "T2,24:05:00,24:05:00", "T2,24:05:00,100:05:00"),
        [(E, C.INVALID_TIME, "stop_times.txt", 6, "departure_time")],
    ),
    ("times past 24:00 are fine", edit("stop_times", "T2,24:05:00,24:05:00", "T2,47:59:59,47:59:59"), []),
    (
        "stop_sequence in words",
        edit("stop_times", "T1,,,S2,2", "T1,,,S2,two"),
        [(E, C.INVALID_INTEGER, "stop_times.txt", 3, "stop_sequence")],
    ),
    (
        "negative stop_sequence",
        edit("stop_times", "T1,,,S2,2", "T1,,,S2,-2"),
        [(E, C.INVALID_INTEGER, "stop_times.txt", 3, "stop_sequence")],
    ),
    (
        "route_type in words",
        edit("routes", "R1,A1,1,,3", "R1,A1,1,,bus"),
        [(E, C.INVALID_INTEGER, "routes.txt", 2, "route_type")],
    ),
    (
        "direction_id out of its enumeration",
        edit("trips", "T2,SH1,1", "T2,SH1,2"),
        [(E, C.INVALID_ENUM, "trips.txt", 3, "direction_id")],
    ),
    (
        "distance with a unit",
        edit("stop_times", "1500.5", "1.5km"),
        [(E, C.INVALID_NUMBER, "stop_times.txt", 4, "shape_dist_traveled")],
    ),
    (
        "latitude in words",
        edit("stops", "S3,Harbour,48.87", "S3,Harbour,north"),
        [(E, C.INVALID_NUMBER, "stops.txt", 5, "stop_lat")],
    ),
    (
        "latitude past the pole",
        edit("stops", "S3,Harbour,48.87", "S3,Harbour,91.0"),
        [(E, C.COORDINATE_OUT_OF_RANGE, "stops.txt", 5, "stop_lat")],
    ),
    (
        "longitude past the antimeridian",
        edit("stops", "48.87,2.37", "48.87,-180.5"),
        [(E, C.COORDINATE_OUT_OF_RANGE, "stops.txt", 5, "stop_lon")],
    ),
    (
        "shape point past the pole",
        edit("shapes", "SH1,48.85", "SH1,-95"),
        [(E, C.COORDINATE_OUT_OF_RANGE, "shapes.txt", 2, "shape_pt_lat")],
    ),
    (
        "stop at 0, 0",
        edit("stops", "48.87,2.37", "0,0.0"),
        [(W, C.COORDINATE_OUT_OF_RANGE, "stops.txt", 5, "stop_lat")],
    ),
    ("spaces around values are stripped", edit("stops", "48.87,2.37,0,", " 48.87 , 2.37 , 0 ,"), []),
    (
        "start_date after end_date",
        edit("calendar", "1,1,20240101,20241231", "1,1,20241231,20240101"),
        [(E, C.DATE_RANGE_REVERSED, "calendar.txt", 3, "start_date")],
    ),
    # keys
    (
        "duplicate stop_id",
        add_rows("stops", "S3,Harbour bis,48.88,2.38,0,"),
        [(E, C.DUPLICATE_KEY, "stops.txt", 6, "stop_id")],
    ),
    (
        "duplicate stop_sequence in a trip",
        add_rows("stop_times", "T3,09:30:00,09:30:00,S1,2,"),
        [(E, C.DUPLICATE_KEY, "stop_times.txt", 9, "stop_sequence")],
    ),
    (
        "duplicate agency_id",
        add_rows("agency", "A1,Bus,https://bus.example,Europe/Paris"),
        [(E, C.DUPLICATE_KEY, "agency.txt", 3, "agency_id")],
    ),
    (
        "duplicate calendar date of a service",
        add_rows("calendar_dates", "WK,20241225,1"),
        [(E, C.DUPLICATE_KEY, "calendar_dates.txt", 4, "date")],
    ),
    # references
    (
        "unknown route",
        edit("trips", "R1,WK,T2", "R9,WK,T2"),
        [(E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 3, "route_id")],
    ),
    (
        "unknown agency",
        edit("routes", "R2,A1", "R2,A9"),
        [(E, C.FOREIGN_KEY_VIOLATION, "routes.txt", 3, "agency_id")],
    ),
    (
        "stop times of an unknown trip",
        add_rows("stop_times", "T9,10:00:00,10:00:00,S1,1,", "T9,10:10:00,10:10:00,S2,2,"),
        [
            (E, C.FOREIGN_KEY_VIOLATION, "stop_times.txt", 9, "trip_id"),
            (E, C.FOREIGN_KEY_VIOLATION, "stop_times.txt", 10, "trip_id"),
        ],
    ),
    (
        "unknown stop",
        edit("stop_times", "T1,,,S2,", "T1,,,NADAR,"),
        [(E, C.FOREIGN_KEY_VIOLATION, "stop_times.txt", 3, "stop_id")],
    ),
    (
        "unknown shape",
        edit("trips", "T1,SH1", "T1,SH9"),
        [(E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 2, "shape_id")],
    ),
    (
        "shapes referenced but shapes.txt absent",
        {"shapes": None},
        [
            (E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 2, "shape_id"),
            (E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 3, "shape_id"),
        ],
    ),
    (
        "unknown service",
        edit("trips", "R1,WK,T2", "R1,XX,T2"),
        [(E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 3, "service_id")],
    ),
    (
        "frequency of an unknown trip",
        edit("frequencies", "T3,09:00:00", "T9,09:00:00"),
        [(E, C.FOREIGN_KEY_VIOLATION, "frequencies.txt", 2, "trip_id")],
    ),
    (
        "unknown parent station",
        edit("stops", "0,STA", "0,NOPE"),
        [(E, C.FOREIGN_KEY_VIOLATION, "stops.txt", 3, "parent_station")],
    ),
    (
        "ids with quotes, commas and accents match exactly",
        {
            **edit("stops", "S2,Market", '"S2, é ""x""",Market'),
            "stop_times": TINY_FEED["stop_times"].replace(",S2,", ',"S2, é ""x""",'),
        },
        [],
    ),
    # stop times along a trip
    (
        "departure before arrival",
        edit("stop_times", "T1,08:10:00,08:11:00", "T1,08:10:00,08:09:00"),
        [(E, C.TIME_DECREASING, "stop_times.txt", 4, "departure_time")],
    ),
    (
        "arrival before the previous timed departure",
        edit("stop_times", "T1,08:10:00,08:11:00", "T1,07:59:00,08:11:00"),
        [(E, C.TIME_DECREASING, "stop_times.txt", 4, "arrival_time")],
    ),
    (
        "back past midnight",
        edit("stop_times", "T2,24:05:00,24:05:00", "T2,00:05:00,00:05:00"),
        [(E, C.TIME_DECREASING, "stop_times.txt", 6, "arrival_time")],
    ),
    (
        "rows out of file order are sorted by stop_sequence",
        {
            "stop_times": textwrap.dedent(TINY_FEED["stop_times"]).replace(
                "T1,08:00:00,08:00:00,S1,1,0\nT1,,,S2,2,\nT1,08:10:00,08:11:00,S3,3,1500.5",
                "T1,08:10:00,08:11:00,S3,30,1500.5\nT1,08:00:00,08:00:00,S1,1,0\nT1,,,S2,20,",
            )
        },
        [],
    ),
    (
        "trip with one stop time",
        edit("stop_times", "T3,09:20:00,09:20:00,S2,2,", ""),
        [(E, C.TRIP_TOO_FEW_STOPS, "stop_times.txt", 7, "trip_id")],
    ),
    (
        "trip without stop times",
        add_rows("trips", "R2,WE,T4,,1"),
        [(W, C.TRIP_WITHOUT_STOP_TIMES, "trips.txt", 5, "trip_id")],
    ),
    # frequencies
    (
        "frequency ending before it starts",
        edit("frequencies", "T3,09:00:00,12:00:00", "T3,12:00:00,09:00:00"),
        [(E, C.INVALID_FREQUENCY, "frequencies.txt", 2, "end_time")],
    ),
    (
        "zero headway",
        edit("frequencies", "12:00:00,600", "12:00:00,0"),
        [(E, C.INVALID_FREQUENCY, "frequencies.txt", 2, "headway_secs")],
    ),
    # service
    (
        "service no trip uses",
        add_rows("calendar", "OLD,1,1,1,1,1,1,1,20230101,20231231"),
        [(W, C.UNUSED_SERVICE, "calendar.txt", 4, "service_id")],
    ),
    ("no trips", {"trips": "route_id,service_id,trip_id"}, [(E, C.NO_SERVICE, None, None, None)]),
    (
        "no agencies",
        {"agency": "agency_id,agency_name,agency_url,agency_timezone"},
        [(E, C.NO_SERVICE, None, None, None)],
    ),
    (
        "no calendar rows",
        {
            "calendar": TINY_FEED["calendar"].split("WK")[0],
            "calendar_dates": "service_id,date,exception_type",
        },
        [(W, C.NO_ROWS, "calendar.txt", None, None), (W, C.NO_ROWS, "calendar_dates.txt", None, None)]
        + [(E, C.NO_SERVICE, None, None, None)],
    ),
    (
        "optional file without rows",
        {"shapes": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence"},
        [
            (W, C.NO_ROWS, "shapes.txt", None, None),
            (E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 2, "shape_id"),
            (E, C.FOREIGN_KEY_VIOLATION, "trips.txt", 3, "shape_id"),
        ],
    ),
    (
        "services without a single weekday",
        {
            "calendar": TINY_FEED["calendar"]
            .replace("1,1,1,1,1,0,0,", "0,0,0,0,0,0,0,")
            .replace("1,1,2", "0,0,2"),
            "calendar_dates": "service_id,date,exception_type\nWK,20241225,2",
        },
        [(E, C.NO_SERVICE, None, None, None)],
    ),
    (
        "the only service date removed",
        {
            "calendar": f"{CALENDAR_HEADER}\n{ONE_WEEK}",
            "calendar_dates": "service_id,date,exception_type\nWK,20240101,2\nWE,20240107,2",
        },
        [(E, C.NO_SERVICE, None, None, None)],
    ),
    (
        "a removal on a day the service does not run",
        {
            "calendar": f"{CALENDAR_HEADER}\n{ONE_WEEK}",
            "calendar_dates": "service_id,date,exception_type\nWK,20240102,2\nWE,20240107,2",
        },
        [],
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [(c, e) for _, c, e in CASES], ids=[name for name, _, _ in CASES]
)
def test_each_defect_is_reported_with_its_code_file_line_and_field(
    changes: dict[str, str | None], expected: list[Row]
) -> None:
    assert rows_of(check_feed(tiny_feed(changes))) == sorted(expected, key=str)


@pytest.mark.parametrize("name", ["agency", "calendar", "stop_times"])
def test_a_file_source_could_not_read_is_not_reported_missing_again(name: str) -> None:
    findings = check_feed(tiny_feed({name: None}, unreadable=[name]))
    assert [f for f in findings if f.code in (C.MISSING_REQUIRED_FILE, C.MISSING_CALENDAR)] == []
    assert [f for f in findings if f.severity is E] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stop_times": None}, "missing required file stop_times.txt"),
        (
            edit("calendar", "0,0,20240101,20241231\n        WE", "0,0,2007.01.01,20241231\n        WE"),
            "calendar.txt line 2, start_date: '2007.01.01' is not a date; GTFS dates are YYYYMMDD",
        ),
        (
            edit("calendar", "1,1,20240101,20241231", "1,1,20240101,20240230"),
            "calendar.txt line 3, end_date: '20240230' is not a real calendar date (YYYYMMDD)",
        ),
        (
            edit("stop_times", "T1,,,S2,", "T1,,,NADAR,"),
            "stop_times.txt line 3, stop_id: 'NADAR' is not a stop_id in stops.txt",
        ),
        (
            add_rows("stops", "S3,Harbour bis,48.88,2.38,0,"),
            "stops.txt line 6, stop_id: stop_id 'S3' is already on line 5; it must be unique",
        ),
        (
            edit("stop_times", "T1,08:10:00,08:11:00", "T1,07:59:00,08:11:00"),
            "stop_times.txt line 4, arrival_time: 07:59:00 is before 08:00:00, the time at the previous stop "
            "(line 2) of trip 'T1'; times must not decrease along a trip",
        ),
        (
            {"trips": "route_id,service_id,trip_id"},
            "the feed has no trips (trips.txt has no rows): nothing can ever run",
        ),
    ],
)
def test_messages_say_where_what_and_what_was_expected(changes: dict[str, str | None], message: str) -> None:
    assert [f.message for f in check_feed(tiny_feed(changes))] == [message]


def test_a_repeated_defect_is_listed_up_to_the_cap_then_counted() -> None:
    rows = [f"X{i},Stop {i},north,2.35,0," for i in range(MAX_PER_KIND + 5)]
    findings = [f for f in check_feed(tiny_feed(add_rows("stops", *rows))) if f.code is C.INVALID_NUMBER]
    assert [f.line for f in findings] == [*range(6, 6 + MAX_PER_KIND), None]
    assert findings[-1].message.startswith("5 more of invalid_number in stops.txt")


def _header_only(text: str) -> str:
    return textwrap.dedent(text).strip().splitlines()[0]


def _table_with_unknown_lines() -> RawFeed:
    feed = tiny_feed(edit("stops", "S3,Harbour,48.87", "S3,Harbour,north"))
    stops = feed.tables["stops"]
    feed.tables["stops"] = Table("stops", stops.frame, np.empty(0, dtype=np.int64), stops.columns_present)
    return feed


def _frame_with_missing_values() -> RawFeed:
    feed = tiny_feed()
    trips = feed.tables["trips"]
    frame = trips.frame.astype(object)
    frame.loc[0, "shape_id"] = None
    frame.loc[1, "direction_id"] = np.nan
    feed.tables["trips"] = Table("trips", frame, trips.lines, trips.columns_present)
    return feed


ODD_FEEDS = {
    "every file header only": lambda: make_feed(
        {name: _header_only(text) for name, text in TINY_FEED.items()}
    ),
    "every column unknown": lambda: tiny_feed(
        {"stop_times": "foo,bar\n1,2", "stops": "x\n1", "calendar": "a,b\n,"}
    ),
    "no tables at all": lambda: make_feed({}),
    "only unreadable files": lambda: make_feed({}, unreadable=["agency", "stops", "calendar"]),
    "lines unknown": _table_with_unknown_lines,
    "missing values in a hand-made frame": _frame_with_missing_values,
    "odd values": lambda: tiny_feed(
        edit("stop_times", "T1,,,S2,2,", "T1,  ,\t,\u00e9\u00e8\u2603,99999999999999999999,1e999"),
        edit("calendar", "WE,0,0,0,0,0,1,1,20240101,20241231", "WE,x,,2,-1, ,1,1,00000101,99991231"),
        edit("stops", "STA,Central,48.85,2.35,1,", "STA,Central,nan,inf,1.0,STA"),
    ),
}


@pytest.mark.parametrize("build", list(ODD_FEEDS.values()), ids=list(ODD_FEEDS))
def test_check_feed_never_raises(build: object) -> None:
    assert callable(build)
    findings = check_feed(build())
    assert all(isinstance(f, Finding) for f in findings)


def test_a_row_whose_line_is_unknown_is_reported_without_a_line() -> None:
    findings = check_feed(_table_with_unknown_lines())
    assert [(f.code, f.file, f.line, f.field) for f in findings] == [
        (C.INVALID_NUMBER, "stops.txt", None, "stop_lat")
    ]
    assert (
        findings[0].message
        == "stops.txt, stop_lat: 'north' is not a number; a latitude is in decimal degrees"
    )


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 40),
    length=st.integers(-3, 30),
    weekdays=st.lists(st.booleans(), min_size=7, max_size=7),
    removed=st.sets(st.integers(0, 75), max_size=12),
    added=st.booleans(),
)
def test_no_service_matches_counting_the_days_one_by_one(
    start: int, length: int, weekdays: list[bool], removed: set[int], added: bool
) -> None:
    origin = dt.date(2024, 1, 1)
    first, last = origin + dt.timedelta(start), origin + dt.timedelta(start + length)
    days = {first + dt.timedelta(k) for k in range(length + 1)}
    running = {day for day in days if weekdays[day.weekday()]} - {origin + dt.timedelta(k) for k in removed}
    flags = ",".join("1" if on else "0" for on in weekdays)
    exceptions = [f"WK,{(origin + dt.timedelta(k)):%Y%m%d},2" for k in sorted(removed)]
    calendar_dates = ["service_id,date,exception_type", *exceptions, *(["WK,20300101,1"] if added else [])]
    feed = tiny_feed(
        {
            "calendar": f"{CALENDAR_HEADER}\nWK,{flags},{first:%Y%m%d},{last:%Y%m%d}",
            "calendar_dates": "\n".join(calendar_dates),
        },
        edit("trips", "R2,WE,T3", "R2,WK,T3"),
    )
    codes = {f.code for f in check_feed(feed)}
    assert (C.NO_SERVICE in codes) == (not running and not added)


# --- real feeds (slow); `shared_data` (tests/conftest.py) skips without ../shared/data but fails in CI ---


def _errors_of_check(
    path: Path,
) -> tuple[set[tuple[FindingCode, str | None, int | None, str | None]], list[Finding]]:
    raw, source_findings = read_raw_feed(path)
    findings = check_feed(raw) if raw is not None else []
    errors = {(f.code, f.file, f.line, f.field) for f in findings if f.severity is E}
    return errors, [*source_findings, *findings]


MRF = C.MISSING_REQUIRED_FILE
BAD_FEEDS: list[tuple[str, set[tuple[FindingCode, str | None, int | None, str | None]]]] = [
    ("transitfeed_good_feed", set()),
    ("transitfeed_missing_stop_times", {(MRF, "stop_times.txt", None, None)}),
    ("transitfeed_missing_agency", {(MRF, "agency.txt", None, None)}),
    ("transitfeed_empty_file", set()),  # source.py reports the empty agency.txt; it is not "missing"
    ("transitfeed_missing_column", {(C.MISSING_REQUIRED_COLUMN, "agency.txt", 1, "agency_name")}),
    (
        "transitfeed_bad_date_format",
        {
            (C.INVALID_DATE, "calendar.txt", 2, "start_date"),
            (C.INVALID_DATE, "calendar_dates.txt", 2, "date"),
        },
    ),
    ("transitfeed_undefined_stop", {(C.FOREIGN_KEY_VIOLATION, "stop_times.txt", 11, "stop_id")}),
    ("transitfeed_utf16", set()),  # source.py reports the encoding of every file; none is "missing"
    (
        "cutr_badgtfs.zip",
        {(MRF, f"{name}.txt", None, None) for name in ("agency", "stops", "routes", "trips", "stop_times")}
        | {(C.MISSING_CALENDAR, None, None, None)},
    ),
    ("partridge_empty", {(C.NO_SERVICE, None, None, None)}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "expected"), BAD_FEEDS, ids=[case for case, _ in BAD_FEEDS])
def test_bad_feeds_get_the_errors_their_source_md_expects(
    shared_data: Path, case: str, expected: set[tuple[FindingCode, str | None, int | None, str | None]]
) -> None:
    errors, findings = _errors_of_check(shared_data / "bad_gtfs" / case)
    assert errors == expected
    has_errors = any(f.severity is E for f in findings)
    assert has_errors == (case != "transitfeed_good_feed")


@pytest.mark.slow
def test_the_undefined_stop_is_named_in_the_message(shared_data: Path) -> None:
    _, findings = _errors_of_check(shared_data / "bad_gtfs" / "transitfeed_undefined_stop")
    assert [f.message for f in findings if f.code is C.FOREIGN_KEY_VIOLATION] == [
        "stop_times.txt line 11, stop_id: 'NADAR' is not a stop_id in stops.txt"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("feed", ["seattle_area_gtfs_2017/gtfs", "cairns_gtfs_2014/cairns_gtfs.zip"])
def test_real_feeds_have_no_errors(shared_data: Path, feed: str) -> None:
    _, findings = _errors_of_check(shared_data / feed)
    assert [f for f in findings if f.severity is E] == []
