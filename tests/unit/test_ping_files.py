"""Reading and writing ping files: CSV (and .csv.gz), JSON lines, GTFS-realtime .pb, folders of them."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from google.transit import gtfs_realtime_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.errors import TransitError
from transit.telemetry.files import RejectedRow, frame_to_pings, read_ping_file, write_ping_csv
from transit.telemetry.model import PING_FIELDS, Ping, Rejected, RejectReason
from transit.telemetry.pings import parse_ping_fields, ping_to_json

HEADER = ",".join(PING_FIELDS)
ROW = "bus-1,2026-11-29T08:15:02+05:00,54.8721,69.1432,T1,7,20261129,8:05:00,118,7.9,"
EXPECTED_DTYPES = {
    "vehicle_id": "object", "timestamp": "datetime64[us, UTC]", "latitude": "float64", "longitude": "float64",
    "trip_id": "object", "route_id": "object", "start_date": "object", "start_time": "object",
    "bearing": "float64", "speed": "float64", "carrier_id": "object",
}  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_ping_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(PING_FIELDS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES
    ordered = frame.sort_values(["timestamp", "vehicle_id"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(frame, ordered)


# --- real files (slow) --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_capmetro_day_reads_fast_with_every_ping_in_utc(shared_data: Path) -> None:
    path = shared_data / "capmetro_austin_2015-06-07" / "vehicle_positions_2015-06-07.csv"
    started = time.perf_counter()
    result = read_ping_file(path)
    seconds = time.perf_counter() - started
    assert seconds < 2.0, f"reading took {seconds:.2f} s"
    pings = result.pings
    assert_ping_frame(pings)
    assert (len(pings), pings["vehicle_id"].nunique(), result.rejected) == (45_134, 146, [])
    assert pings["timestamp"].iloc[0] == pd.Timestamp("2015-06-07T05:01:03Z")  # 00:01:03-05:00
    assert pings["timestamp"].iloc[-1] == pd.Timestamp("2015-06-08T04:59:03Z")
    assert pings["trip_id"].nunique() == 1_380
    assert pings["carrier_id"].isna().all() and pings["bearing"].isna().all()


@pytest.mark.slow
def test_capmetro_day_survives_json_lines_and_csv_round_trips(shared_data: Path, tmp_path: Path) -> None:
    original = read_ping_file(shared_data / "capmetro_austin_2015-06-07" / "vehicle_positions_2015-06-07.csv")
    lines = tmp_path / "day.jsonl"
    lines.write_bytes(b"\n".join(ping_to_json(p) for p in frame_to_pings(original.pings)))
    pd.testing.assert_frame_equal(read_ping_file(lines).pings, original.pings)
    write_ping_csv(original.pings, tmp_path / "day.csv.gz")
    pd.testing.assert_frame_equal(read_ping_file(tmp_path / "day.csv.gz").pings, original.pings)


@pytest.mark.slow
def test_metrotransit_folder_of_feed_messages(shared_data: Path) -> None:
    result = read_ping_file(shared_data / "metrotransit_route2_2019-06-19" / "vehicle_positions")
    pings = result.pings
    assert_ping_frame(pings)
    assert (len(pings), pings["vehicle_id"].nunique(), pings["trip_id"].nunique(), result.rejected) == (
        32,
        11,
        11,
        [],
    )
    assert set(pings["start_date"]) == {"20190619"} and set(pings["route_id"]) == {"2"}
    assert pings["timestamp"].min() >= pd.Timestamp("2019-06-19T15:40:00Z")
    assert pings["timestamp"].max() <= pd.Timestamp("2019-06-19T15:41:58Z")


@pytest.mark.slow
def test_bullrunner_pings_take_the_header_timestamp(shared_data: Path) -> None:
    result = read_ping_file(shared_data / "usf_bullrunner_2017-09-13" / "bullrunner-vehicle-positions.pb")
    pings = result.pings
    assert_ping_frame(pings)
    assert (len(pings), result.rejected) == (10, [])
    assert set(pings["timestamp"]) == {pd.Timestamp(1505314375, unit="s", tz="UTC")}
    assert pings["trip_id"].isna().all()
    assert set(pings["route_id"]) <= set("ABCDEF")


@pytest.mark.slow
def test_king_county_snapshots(shared_data: Path) -> None:
    result = read_ping_file(shared_data / "kingcounty_metro_vehicle_positions_2021-09-02")
    assert_ping_frame(result.pings)
    assert (len(result.pings), result.rejected) == (627 + 570, [])
    assert set(result.pings["start_date"]) == {"20210902"}
    assert result.pings["trip_id"].notna().all()


# --- CSV ----------------------------------------------------------------------------------------------------


def test_csv_gz_with_unknown_columns_and_missing_optional_ones(tmp_path: Path) -> None:
    path = tmp_path / "pings.csv.gz"
    text = (
        "odometer,latitude,longitude,vehicle_id,timestamp\n1,54.1,69.2,b,1795922102\n2,54,69.1,a,1795922102\n"
    )
    path.write_bytes(gzip.compress(text.encode()))
    result = read_ping_file(path)
    assert_ping_frame(result.pings)
    assert list(result.pings["vehicle_id"]) == ["a", "b"]
    assert result.pings["route_id"].tolist() == [None, None]
    assert np.isnan(result.pings["speed"]).all()


def test_csv_values_are_parsed_as_on_the_live_path(tmp_path: Path) -> None:
    result = read_ping_file(write(tmp_path / "p.csv", f"\ufeff{HEADER}\n{ROW}\n"))
    [ping] = frame_to_pings(result.pings)
    assert ping == Ping(
        "bus-1", dt.datetime(2026, 11, 29, 3, 15, 2, tzinfo=dt.UTC), 54.8721, 69.1432,
        "T1", "7", "20261129", "08:05:00", 118.0, 7.9, None,
    )  # fmt: skip


def test_bad_csv_rows_are_reported_with_their_physical_lines(tmp_path: Path) -> None:
    text = "\n".join(
        [
            HEADER,  # line 1
            ROW,  # 2
            "",  # 3: blank, no row
            ROW.replace("54.8721", "north"),  # 4
            '"bus\n2",2026-11-29T08:15:02Z,54,69,,,,,,,',  # 5-6: a quoted newline, in an id: invalid
            ROW.replace("+05:00", ""),  # 7
            ROW + ",extra",  # 8
            ",2026-11-29T08:15:02Z,54,69,,,,,,,",  # 9
            ROW.replace("118", "400"),  # 10
            "bus-3,2026-11-29T08:15:02Z,54,69",  # 11: short, trailing optional fields empty
            "bus-4,2026-11-29T08:15:02Z,54",  # 12: short of a required field
        ]
    )
    result = read_ping_file(write(tmp_path / "p.csv", text))
    assert sorted(result.pings["vehicle_id"]) == ["bus-1", "bus-3"]
    assert [
        (r.row, r.reason, r.detail.split(":")[0]) for r in sorted(result.rejected, key=lambda r: r.row or 0)
    ] == [
        (4, RejectReason.INVALID_FIELD, "latitude"),
        (5, RejectReason.INVALID_FIELD, "vehicle_id"),
        (7, RejectReason.INVALID_FIELD, "timestamp"),
        (8, RejectReason.UNPARSABLE, "12 fields where the header has 11"),
        (9, RejectReason.MISSING_FIELD, "vehicle_id"),
        (10, RejectReason.INVALID_FIELD, "bearing"),
        (12, RejectReason.MISSING_FIELD, "longitude"),
    ]
    assert all(r.file == tmp_path / "p.csv" for r in result.rejected)
    assert result.count_rejected()[RejectReason.INVALID_FIELD] == 4


def test_missing_required_column_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "vehicle_id,timestamp,lat,longitude\nb,1795922102,54,69\n")
    with pytest.raises(TransitError, match=r"p\.csv: the header has no latitude column"):
        read_ping_file(path)


def test_empty_csv_is_an_error_and_a_header_alone_is_no_pings(tmp_path: Path) -> None:
    with pytest.raises(TransitError, match="empty file"):
        read_ping_file(write(tmp_path / "empty.csv", ""))
    result = read_ping_file(write(tmp_path / "header.csv", HEADER + "\n"))
    assert_ping_frame(result.pings)
    assert (len(result.pings), result.rejected) == (0, [])


csv_cells = st.one_of(
    st.sampled_from(
        ["", " ", "1795922102", "2026-11-29T08:15:02Z", "2026-11-29T08:15:02", "54.5", "x", "nan"]
    ),
    st.sampled_from(["-1", "400", "20261129", "8:05:00", "1e3", "1_0", " 7 "]),
    st.text(alphabet="0123456789.-+:TZe ", max_size=12),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(csv_cells, min_size=len(PING_FIELDS), max_size=len(PING_FIELDS)), max_size=8))
def test_csv_reading_agrees_with_parsing_each_row_alone(rows: list[list[str]]) -> None:
    expected = [parse_ping_fields(dict(zip(PING_FIELDS, row, strict=True))) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([list(PING_FIELDS), *rows])
        result = read_ping_file(path)
    assert sorted((r.row, r.reason, r.detail) for r in result.rejected) == [
        (line, r.reason, r.detail) for line, r in enumerate(expected, start=2) if isinstance(r, Rejected)
    ]
    accepted = [p for p in expected if isinstance(p, Ping)]
    assert sorted(frame_to_pings(result.pings), key=repr) == sorted(accepted, key=repr)


# --- JSON lines, .pb, folders -------------------------------------------------------------------------------


def test_json_lines_report_bad_lines_by_number(tmp_path: Path) -> None:
    good = json.dumps({"vehicle_id": "a", "timestamp": 1795922102, "latitude": 54.0, "longitude": 69.0})
    lines = [good, "not json", "", json.dumps({"vehicle_id": "b"}), "[1]", good.replace('"a"', '"c"') + "\r"]
    path = tmp_path / "p.ndjson"
    path.write_text("\n".join(lines) + "\n")
    result = read_ping_file(path)
    assert list(result.pings["vehicle_id"]) == ["a", "c"]
    assert [(r.row, r.reason) for r in result.rejected] == [
        (2, RejectReason.UNPARSABLE),
        (4, RejectReason.MISSING_FIELD),
        (5, RejectReason.UNPARSABLE),
    ]


def test_a_pb_file_that_is_not_a_feed_message_is_one_rejected_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.pb"
    path.write_bytes(b"hello world")
    result = read_ping_file(path)
    assert len(result.pings) == 0
    assert [(r.row, r.reason) for r in result.rejected] == [(None, RejectReason.UNPARSABLE)]


def test_pb_rejections_carry_the_entity_index(tmp_path: Path) -> None:
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = 1795922102
    for index in range(3):
        entity = message.entity.add(id=f"e{index}")
        entity.vehicle.position.latitude = 54.0
        entity.vehicle.position.longitude = 69.0 if index != 1 else 69.1
        entity.vehicle.position.bearing = 10.0 if index != 2 else 500.0
    path = tmp_path / "feed.pbf"
    path.write_bytes(message.SerializeToString())
    result = read_ping_file(path)
    assert list(result.pings["vehicle_id"]) == ["e0", "e1"]
    assert [(r.row, r.reason) for r in result.rejected] == [(2, RejectReason.INVALID_FIELD)]


def test_a_folder_reads_every_ping_file_in_it_and_ignores_others(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", f"{HEADER}\n{ROW}\n")
    write(
        tmp_path / "b.jsonl", json.dumps({"vehicle_id": "j", "timestamp": 0, "latitude": 1, "longitude": 2})
    )
    write(tmp_path / "c.csv", f"{HEADER}\n")
    write(tmp_path / "README.md", "not pings")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "d.csv", f"{HEADER}\n{ROW}\n")
    result = read_ping_file(tmp_path)
    assert_ping_frame(result.pings)
    assert list(result.pings["vehicle_id"]) == ["j", "bus-1"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("absent.csv", "no such file or folder"),
        ("pings.txt", "unknown kind of ping file"),
        ("folder", "no ping files in this folder"),
        ("broken.csv.gz", "cannot read it"),
        ("binary.csv", "cannot read it"),
    ],
)
def test_unusable_paths_are_clear_errors(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "pings.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.md").write_text("x")
    (tmp_path / "broken.csv.gz").write_bytes(gzip.compress(f"{HEADER}\n{ROW}\n".encode())[:-6])
    (tmp_path / "binary.csv").write_bytes(b"vehicle_id,timestamp,latitude,longitude\n\xff\xfe\x00")
    with pytest.raises(TransitError, match=message) as raised:
        read_ping_file(tmp_path / name)
    assert name in str(raised.value)


# --- writing ------------------------------------------------------------------------------------------------


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    pings = [
        Ping("b", dt.datetime(2026, 11, 29, 3, 15, 2, tzinfo=dt.UTC), 54.87210000001, -0.1, "T,1", None, None,
             None, None, 0.0, "carrier \"x\""),
        Ping("a", dt.datetime(2026, 11, 29, 3, 15, 2, 500, tzinfo=dt.UTC), 1e-7, 180.0, None, "7", "20261129",
             "25:00:00", 359.9, None, None),
    ]  # fmt: skip
    frame = read_ping_file(
        write(tmp_path / "in.jsonl", "\n".join(ping_to_json(p).decode() for p in pings))
    ).pings
    for name in ("out.csv", "out.csv.gz"):
        write_ping_csv(frame, tmp_path / name)
        back = read_ping_file(tmp_path / name)
        assert back.rejected == []
        pd.testing.assert_frame_equal(back.pings, frame)
    text = (tmp_path / "out.csv").read_text().splitlines()
    assert text[0] == ",".join(PING_FIELDS)
    assert text[1].startswith("b,2026-11-29T03:15:02Z,")
    assert text[2].startswith("a,2026-11-29T03:15:02.000500Z,")


def test_writing_needs_every_column_and_aware_timestamps(tmp_path: Path) -> None:
    with pytest.raises(TransitError, match="speed"):
        write_ping_csv(pd.DataFrame(columns=[f for f in PING_FIELDS if f != "speed"]), tmp_path / "x.csv")
    naive = pd.DataFrame({f: [None] for f in PING_FIELDS})
    naive["timestamp"] = pd.to_datetime(["2026-11-29T03:15:02"])
    with pytest.raises(TransitError, match="timezone-aware"):
        write_ping_csv(naive, tmp_path / "x.csv")


def test_rejected_row_is_a_plain_value() -> None:
    row = RejectedRow(Path("p.csv"), 3, RejectReason.MISSING_FIELD, "vehicle_id: required")
    assert row == RejectedRow(Path("p.csv"), 3, RejectReason.MISSING_FIELD, "vehicle_id: required")


@pytest.mark.parametrize("split", [False, True], ids=["whole", "in-parts"])
def test_the_fast_and_the_record_reader_agree_row_for_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """Quote-free files take pandas' C reader; the result must be what the record-by-record reader gives,
    also when a big file is parsed in parts on threads (forced here on a small one): rows keep their lines,
    a blank line or a bad row may fall in any part."""
    from transit.telemetry import files
    from transit.telemetry.files import _read_csv_columns, _read_csv_records

    if split:
        monkeypatch.setattr(files, "_PARSE_SPLIT_BYTES", 1)

    rows = [
        "vehicle_id,timestamp,latitude,longitude,bearing,speed,trip_id,extra",
        "bus-1,2026-12-01T05:00:00Z,54.87,69.15,90,5.5,t1,x",
        "",
        "bus-1,2026-12-01T05:00:10+05:00,54.871,69.151,,,t1,",
        "bus-2,1796101200,54.9,69.2,400,1,,",  # epoch seconds; bearing out of range
        ",2026-12-01T05:00:00Z,54.9,69.2,,,,",  # no vehicle
        "bus-3,2026-12-01T05:00:00,54.9,69.2,,,,",  # no offset
        "bus-3,yesterday,54.9,69.2,,,,",
        "bus-4,1796101200000,54.9,,,,,",  # epoch milliseconds; no longitude
        "bus-5,2026-12-01T05:00:00Z,54.9,69.2,,-1,,",  # negative speed
        "bus-6,2026-12-01T05:00:00.5Z,54.9,69.2,,,t\x01,",  # a control character in an id
        "bus-7,1796101200000,54.9,69.3",  # a short record
    ]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    fast = _read_csv_columns(path, path.read_bytes())
    assert fast is not None
    slow = _read_csv_records(path)
    assert [(r.row, r.reason) for r in fast[1]] == [(r.row, r.reason) for r in slow[1]]
    assert [r.row for r in fast[1]] == [5, 6, 7, 8, 9, 10, 11]
    key = ["vehicle_id", "timestamp"]
    left = fast[0].sort_values(key, ignore_index=True)
    right = slow[0].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(left, right)


@pytest.mark.parametrize("split", [False, True], ids=["whole", "in-parts"])
def test_ids_that_look_like_numbers_stay_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: bool
) -> None:
    """pandas reads a category column of numbers as numbers ("007" as 7), and may decide so in one part
    of a file and not in another: such ids must come back as written, in every part."""
    from transit.telemetry import files

    if split:
        monkeypatch.setattr(files, "_PARSE_SPLIT_BYTES", 1)
    rows = [
        "vehicle_id,timestamp,latitude,longitude,trip_id,route_id",
        "007,2026-12-01T05:00:00Z,54.87,69.15,,R1",
        "bus-2,2026-12-01T05:00:10Z,54.87,69.15,,R1",
        "0100,2026-12-01T05:00:20Z,54.87,69.15,1e3,020",
        "0100,2026-12-01T05:00:30Z,54.87,69.15,1e3,020",
    ]
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pings = read_ping_file(path).pings.sort_values("timestamp")
    assert pings["vehicle_id"].tolist() == ["007", "bus-2", "0100", "0100"]
    assert pings["trip_id"].tolist() == [None, None, "1e3", "1e3"]
    assert pings["route_id"].tolist() == ["R1", "R1", "020", "020"]


def test_a_csv_with_lines_ended_by_carriage_returns_alone_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(
        b"vehicle_id,timestamp,latitude,longitude\rbus-1,2026-12-01T05:00:00Z,54.1,69.1\r"
        b"bus-2,2026-12-01T05:00:00Z,54.2,69.2\r"
    )
    result = read_ping_file(path)
    assert sorted(result.pings["vehicle_id"]) == ["bus-1", "bus-2"]
    assert result.rejected == []
