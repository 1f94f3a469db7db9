"""Exempted and cancelled trips: from a CSV or a GTFS-realtime TripUpdates feed, applied to a day plan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from google.transit import gtfs_realtime_pb2

from transit.errors import BadParameter
from transit.matching.exemptions import apply_exemptions, read_exemptions

PLAN = pd.DataFrame(
    {
        "service_date": "2026-12-01",
        "trip_id": ["t1", "t1", "t2", "t3"],
        "start_time": ["08:00:00", "09:00:00", "08:30:00", "10:00:00"],
    }
)


def test_csv_exempts_one_instance_or_every_instance_of_a_trip(tmp_path: Path) -> None:
    path = tmp_path / "exempt.csv"
    path.write_text(
        "trip_id,start_time,reason,note\nt1,09:00:00,service_alert,roadworks\nt2,,,\nt3,,exemption,\n",
        encoding="utf-8",
    )
    path_other_day = tmp_path / "other.csv"
    path_other_day.write_text("trip_id,service_date\nt1,2026-12-02\n", encoding="utf-8")
    plan = apply_exemptions(PLAN, read_exemptions([path, path_other_day]))
    assert plan["exempt_reason"].tolist() == [None, "service_alert", "exemption", "exemption"]


def test_canceled_trip_updates_exempt_their_instances(tmp_path: Path) -> None:
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    canceled = message.entity.add(id="a").trip_update
    canceled.trip.trip_id, canceled.trip.start_time, canceled.trip.start_date = "t1", "08:00:00", "20261201"
    canceled.trip.schedule_relationship = gtfs_realtime_pb2.TripDescriptor.CANCELED
    running = message.entity.add(id="b").trip_update
    running.trip.trip_id = "t2"
    path = tmp_path / "updates.pb"
    path.write_bytes(message.SerializeToString())
    plan = apply_exemptions(PLAN, read_exemptions([path]))
    assert plan["exempt_reason"].tolist() == ["canceled_by_agency", None, None, None]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("trip_id,start_time\nt1,9am\n", "row 2, start_time"),
        ("trip_id,reason\nt1,holiday\n", "row 2, reason"),
        ("trip_id,service_date\nt1,01/12/2026\n", "row 2, service_date"),
        ("trip_id\nt1\n\n,\n", "row 4, trip_id"),
        ("route_id\n1\n", "needs a trip_id column"),
    ],
)
def test_bad_exemptions_name_the_row_and_field(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadParameter, match=where):
        read_exemptions([path])


def test_a_file_that_is_not_a_feed_message_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.pb"
    path.write_bytes(b"\xff\x00 not protobuf")
    with pytest.raises(BadParameter, match="not a GTFS-realtime FeedMessage"):
        read_exemptions([path])
