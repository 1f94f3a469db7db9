"""In-memory feeds for check tests: tables from CSV text, a tiny clean feed to break one file at a time."""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from transit.gtfs.model import RawFeed, Table

# A tiny clean feed: 2 routes, a trip past 24:00, a stop without times between two timed stops, a station
# with a platform, a frequency-based trip, a calendar_dates exception of each type. Row i is on line i + 2.
TINY_FEED: dict[str, str] = {
    "agency": """
        agency_id,agency_name,agency_url,agency_timezone
        A1,Metro,https://metro.example,Europe/Paris
    """,
    "stops": """
        stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station
        STA,Central,48.85,2.35,1,
        S1,Central A,48.8501,2.3501,0,STA
        S2,Market,48.86,2.36,,
        S3,Harbour,48.87,2.37,0,
    """,
    "routes": """
        route_id,agency_id,route_short_name,route_long_name,route_type
        R1,A1,1,,3
        R2,A1,,Harbour line,3
    """,
    "trips": """
        route_id,service_id,trip_id,shape_id,direction_id
        R1,WK,T1,SH1,0
        R1,WK,T2,SH1,1
        R2,WE,T3,,0
    """,
    "stop_times": """
        trip_id,arrival_time,departure_time,stop_id,stop_sequence,shape_dist_traveled
        T1,08:00:00,08:00:00,S1,1,0
        T1,,,S2,2,
        T1,08:10:00,08:11:00,S3,3,1500.5
        T2,23:50:00,23:50:00,S1,1,
        T2,24:05:00,24:05:00,S3,2,
        T3,9:00:00,9:00:00,S3,1,
        T3,09:20:00,09:20:00,S2,2,
    """,
    "calendar": """
        service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
        WK,1,1,1,1,1,0,0,20240101,20241231
        WE,0,0,0,0,0,1,1,20240101,20241231
    """,
    "calendar_dates": """
        service_id,date,exception_type
        WK,20241225,2
        WE,20241225,1
    """,
    "shapes": """
        shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence
        SH1,48.85,2.35,1
        SH1,48.87,2.37,2
    """,
    "frequencies": """
        trip_id,start_time,end_time,headway_secs
        T3,09:00:00,12:00:00,600
    """,
}


def make_table(name: str, text: str) -> Table:
    """A table of strings from CSV text (header first, indentation ignored); row i is on line i + 2."""
    rows = list(csv.reader(io.StringIO(textwrap.dedent(text).strip("\n"))))
    header, body = [column.strip() for column in rows[0]], rows[1:]
    body = [row + [""] * (len(header) - len(row)) for row in body]
    frame = pd.DataFrame(body, columns=header, dtype=str) if body else pd.DataFrame(columns=header, dtype=str)
    return Table(name, frame, np.arange(2, len(body) + 2, dtype=np.int64), frozenset(header))


def make_feed(files: Mapping[str, str], *, unreadable: Iterable[str] = ()) -> RawFeed:
    """A feed of these tables (by table name); `unreadable` files are in the archive but were not readable."""
    tables = {name: make_table(name, text) for name, text in files.items()}
    file_bytes = {f"{name}.txt": textwrap.dedent(text).strip().encode() for name, text in files.items()}
    file_bytes.update({f"{name}.txt": b"\xff\xfe" for name in unreadable})
    return RawFeed("memory", tables, "0" * 64, file_bytes)


def tiny_feed(*changes: Mapping[str, str | None], unreadable: Iterable[str] = ()) -> RawFeed:
    """The tiny clean feed with some files replaced (CSV text) or removed (None), by table name."""
    files: dict[str, str | None] = dict(TINY_FEED)
    for change in changes:
        files.update(change)
    return make_feed({name: text for name, text in files.items() if text is not None}, unreadable=unreadable)
