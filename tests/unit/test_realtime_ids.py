"""Realtime trip and route ids read in the static feed's terms (matching.realtime_ids)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.matching.realtime_ids import map_realtime_ids, read_id_map, resolve_ids


def test_ids_as_in_the_feed_stay_and_count_as_same() -> None:
    resolution = resolve_ids(["a", "b", "a"], ["a", "b", "c"])
    assert (resolution.same, resolution.mapped, resolution.unknown) == (2, {}, [])


@pytest.mark.parametrize(
    ("given", "static", "expected"),
    [
        ("14941904", "14941904-JUN19-MVS-BUS-Weekday-01", "14941904-JUN19-MVS-BUS-Weekday-01"),  # cut suffix
        ("1_100479", "100479", "100479"),  # OneBusAway: agency prefix on the realtime side
        ("100479", "KCM:100479", "KCM:100479"),  # ... or on the static side
    ],
)
def test_a_unique_shared_core_maps_the_id(given: str, static: str, expected: str) -> None:
    assert resolve_ids([given], [static, "other-1", "2_other"]).mapped == {given: expected}


def test_a_core_shared_by_several_static_ids_maps_nothing() -> None:
    # "7" is the prefix of two static trips: guessing one would be a wrong id, worse than none.
    resolution = resolve_ids(["7", "9"], ["7-A", "7-B"])
    assert resolution.mapped == {} and resolution.unknown == ["7", "9"]


def test_short_names_map_routes_and_the_explicit_table_wins() -> None:
    names, explicit = {"2": "2-111"}, {"X": "10-1"}
    resolution = resolve_ids(["2", "10", "X"], ["2-111", "10-1"], names=names, explicit=explicit)
    assert resolution.mapped == {"2": "2-111", "10": "10-1", "X": "10-1"}


def test_pings_are_rewritten_only_where_resolved() -> None:
    feed = SimpleNamespace(
        routes=pd.DataFrame({"route_id": ["2-111", "3-1"], "route_short_name": ["2", "3"]}),
        trips=pd.DataFrame({"trip_id": ["100-JUN", "200-JUN"]}),
    )
    pings = pd.DataFrame(
        {
            "trip_id": ["100", None, "999", "200-JUN"],
            "route_id": ["2", "2", None, "3-1"],
            "vehicle_id": [*"wxyz"],
        }
    )
    mapped, report = map_realtime_ids(pings, feed)  # type: ignore[arg-type]
    assert mapped["trip_id"].tolist() == ["100-JUN", None, "999", "200-JUN"]
    assert mapped["route_id"].tolist() == ["2-111", "2-111", None, "3-1"]
    assert report["trip_id"].unknown == ["999"] and report["route_id"].same == 1
    assert pings["trip_id"].fillna("-").tolist() == ["100", "-", "999", "200-JUN"]  # the caller's, untouched


def test_id_map_errors_name_the_row_and_field(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("\ufeffkind,realtime_id,static_id\nroute_id,2,2-111\ntrip_id,7,7-A\n", encoding="utf-8")
    assert read_id_map(good) == {"route_id": {"2": "2-111"}, "trip_id": {"7": "7-A"}}
    bad_kind = tmp_path / "kind.csv"
    bad_kind.write_text("kind,realtime_id,static_id\nroute_id,2,2-111\nstop_id,1,2\n")
    with pytest.raises(BadParameter, match="row 3, kind"):
        read_id_map(bad_kind)
    empty = tmp_path / "empty.csv"
    empty.write_text("kind,realtime_id,static_id\ntrip_id,7,\n")
    with pytest.raises(BadParameter, match="row 2, static_id: empty"):
        read_id_map(empty)
    header = tmp_path / "header.csv"
    header.write_text("kind,from,to\n")
    with pytest.raises(BadParameter, match="needs realtime_id, static_id"):
        read_id_map(header)
    with pytest.raises(BadParameter, match="nope.csv"):
        read_id_map(tmp_path / "nope.csv")
