"""Exemptions from GTFS-realtime: CANCELED trips, NO_SERVICE and DETOUR alerts; and which trips they cover."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from google.transit import gtfs_realtime_pb2

from transit.contracts.realtime import read_realtime_exemptions
from transit.contracts.service import exempt_keys
from transit.contracts.state import EXEMPTION_GRANTED, ContractState

ALMATY = "Asia/Almaty"  # UTC+5
TODAY = dt.date(2026, 12, 1)


def feed() -> bytes:
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    canceled = message.entity.add(id="c1")
    canceled.trip_update.trip.trip_id = "T9"
    canceled.trip_update.trip.start_date = "20261202"
    canceled.trip_update.trip.schedule_relationship = gtfs_realtime_pb2.TripDescriptor.CANCELED
    running = message.entity.add(id="c2")
    running.trip_update.trip.trip_id = "T8"  # scheduled: not an exemption
    road_works = message.entity.add(id="a1")
    road_works.alert.effect = gtfs_realtime_pb2.Alert.NO_SERVICE
    road_works.alert.informed_entity.add(route_id="12")
    period = road_works.alert.active_period.add()
    period.start = int(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))).timestamp())
    period.end = int(dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))).timestamp())
    stop_only = message.entity.add(id="a2")
    stop_only.alert.effect = gtfs_realtime_pb2.Alert.DETOUR
    stop_only.alert.informed_entity.add(stop_id="S1")
    other = message.entity.add(id="a3")
    other.alert.effect = gtfs_realtime_pb2.Alert.REDUCED_SERVICE  # not an exemption
    other.alert.informed_entity.add(route_id="40")
    return message.SerializeToString()


def test_canceled_trips_and_no_service_alerts_become_exemptions_and_the_rest_is_said() -> None:
    imported = read_realtime_exemptions(feed(), "alerts.pb", ALMATY, TODAY)
    assert len(imported.exemptions) == 2
    canceled, road_works = imported.exemptions
    assert canceled["trips"] == [["T9", None]] and canceled["first_date"] == "2026-12-02"
    assert (
        road_works["routes"] == ["12"] and road_works["first_date"] == road_works["last_date"] == "2026-12-01"
    )
    assert (road_works["from_time"], road_works["to_time"]) == ("09:00:00", "11:00:00")  # local times
    assert imported.skipped == ["alert a2: names no route or trip (an agency or a stop only)"]


def test_an_exempting_alert_covers_its_route_s_trips_starting_in_its_window_only() -> None:
    state = ContractState()
    for k, payload in enumerate(read_realtime_exemptions(feed(), "alerts.pb", ALMATY, TODAY).exemptions):
        state.apply(EXEMPTION_GRANTED, payload | {"exemption_id": f"E{k}"})
    trips = pd.DataFrame(
        {
            "trip_id": ["A", "B", "C", "T9"],
            "start_time": ["08:59:00", "09:30:00", "09:30:00", "10:00:00"],
            "route_id": ["12", "12", "40", "7"],
        }
    )
    assert exempt_keys(state, TODAY, trips) == {("B", "09:30:00")}
    assert exempt_keys(state, dt.date(2026, 12, 2), trips) == {("T9", "10:00:00")}


def test_a_file_that_is_not_gtfs_realtime_is_named() -> None:
    with pytest.raises(ValueError, match="bad.pb: not a GTFS-realtime FeedMessage"):
        read_realtime_exemptions(b"\xff\xff garbage", "bad.pb", ALMATY, TODAY)
