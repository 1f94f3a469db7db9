"""The 109 analytics on small hand-made frames: quarters in Asia/Almaty, volumes, deadlines kept, medians,
repeated places, trend; hotspot cells, zones and GeoJSON on made-up points; the generator's determinism,
proportions and consistency."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from transit.errors import BadParameter
from transit.tickets.analytics import TOTAL, parse_quarter, place_keys, quarter_bounds, quarterly_report
from transit.tickets.catalog import default_catalog
from transit.tickets.generate import CHANNEL, TICKET_COLUMNS, generate_tickets
from transit.tickets.hotspots import compute_zones, hotspots, to_geojson, zone_outlines
from transit.tickets.model import check_attributes

ALMATY = "Asia/Almaty"
UTC = dt.UTC
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
METRES_PER_DEGREE = 111_195.0


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def ticket(requested: str, *, service: str = "heating", sector: str = "housing_utilities",
           kind: str = "complaint", due: str | None = None, closed: str | None = None,
           address: str | None = None, lat: float | None = None,
           lon: float | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "service_code": service, "sector": sector, "kind": kind, "requested_at": at(requested),
        "expected_at": at(due) if due else pd.NaT, "closed_at": at(closed) if closed else pd.NaT,
        "address": address, "lat": lat, "lon": lon,
    }  # fmt: skip


def consultation(requested: str) -> dict[str, Any]:
    return ticket(requested, service="consultation", sector="advice", kind="consultation", closed=requested)


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def row_of(table: pd.DataFrame, **keys: str) -> dict[str, Any]:
    chosen = table
    for name, value in keys.items():
        chosen = chosen[chosen[name] == value]
    assert len(chosen) == 1, chosen
    return {str(k): v for k, v in chosen.iloc[0].to_dict().items()}


# --- quarters -----------------------------------------------------------------------------------------------


def test_a_quarter_is_local_almaty_time_as_utc_instants() -> None:
    assert quarter_bounds("2026Q3", ALMATY) == (
        dt.datetime(2026, 6, 30, 19, tzinfo=UTC),
        dt.datetime(2026, 9, 30, 19, tzinfo=UTC),
    )
    assert quarter_bounds("2026Q4", ALMATY)[1] == dt.datetime(2026, 12, 31, 19, tzinfo=UTC)


def test_the_first_quarter_of_2024_spans_almatys_move_from_utc_plus_6_to_plus_5() -> None:
    start, end = quarter_bounds("2024Q1", ALMATY)
    assert start == dt.datetime(2023, 12, 31, 18, tzinfo=UTC)  # +06:00 then
    assert end == dt.datetime(2024, 3, 31, 19, tzinfo=UTC)  # +05:00 since 1 March 2024


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "2026", "Q3 2026", "", "2026Q3x", "26Q3"])
def test_a_bad_quarter_names_the_option(text: str) -> None:
    with pytest.raises(BadParameter, match="--quarter: .* is not a quarter; expected YYYYQn"):
        parse_quarter(text)


def test_quarters_are_written_loosely() -> None:
    assert parse_quarter("2026q3") == parse_quarter(" 2026-Q3 ") == parse_quarter("2026Q3")
    assert parse_quarter("2026Q1").shifted(-1).label == "2025Q4"


# --- measures -----------------------------------------------------------------------------------------------


def test_consultations_count_in_the_volume_but_not_in_the_deadline_share_or_the_median() -> None:
    tickets = frame(
        consultation("2026-07-01 05:00"),
        consultation("2026-07-02 05:00"),
        ticket("2026-07-01 05:00", due="2026-07-03 18:59", closed="2026-07-01 15:00"),
    )
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF)
    total = row_of(report.sectors, sector=TOTAL)
    assert (total["received"], total["consultations"], total["cases"]) == (3, 2, 1)
    assert (total["due"], total["within_deadline"], total["within_deadline_share"]) == (1, 1, 1.0)
    assert total["median_close_hours"] == 10.0
    advice = row_of(report.sectors, sector="advice")
    assert advice["received"] == 2 and advice["due"] == 0
    assert math.isnan(advice["within_deadline_share"]) and math.isnan(advice["median_close_hours"])


def test_within_deadline_counts_closings_at_or_before_the_deadline_among_the_cases_due() -> None:
    due = "2026-07-10 18:59:59"
    tickets = frame(
        ticket("2026-07-01 05:00", due=due, closed="2026-07-02 05:00"),  # early
        ticket("2026-07-01 05:00", due=due, closed=due),  # at the deadline: kept
        ticket("2026-07-01 05:00", due=due, closed="2026-07-12 05:00"),  # late
        ticket("2026-07-01 05:00", due=due),  # open past its deadline: due, not kept
        ticket("2026-09-20 05:00", due="2026-12-01 18:59"),  # open, deadline not reached: pending
    )
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF)
    heating = row_of(report.services, service_code="heating")
    assert (heating["received"], heating["closed"], heating["due"], heating["within_deadline"]) == (
        5,
        3,
        4,
        2,
    )
    assert heating["within_deadline_share"] == 0.5
    assert heating["median_close_hours"] == pytest.approx(24 * 9 + 13 + 59 / 60 + 59 / 3600)


def test_open_at_end_counts_cases_closed_after_the_quarter_or_not_at_all() -> None:
    tickets = frame(
        ticket("2026-09-29 05:00", closed="2026-09-30 18:00"),  # before the end (19:00 UTC)
        ticket("2026-09-29 05:00", closed="2026-09-30 19:00"),  # at the end: open then
        ticket("2026-09-29 05:00"),
        consultation("2026-09-30 18:59"),
    )
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF)
    assert row_of(report.sectors, sector=TOTAL)["open_at_end"] == 2


def test_the_report_is_as_at_its_as_of_instant() -> None:
    tickets = frame(
        ticket("2026-07-01 05:00", due="2026-07-03 18:59", closed="2026-07-02 05:00"),
        ticket("2026-07-05 05:00", due="2026-07-07 18:59", closed="2026-07-06 05:00"),  # after as_of
    )
    as_of = dt.datetime(2026, 7, 1, 12, tzinfo=UTC)
    heating = row_of(quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=as_of).services,
                     service_code="heating")  # fmt: skip
    assert (heating["received"], heating["closed"], heating["due"]) == (1, 0, 0)  # not closed yet, not due


def test_a_ticket_belongs_to_the_quarter_of_its_local_day() -> None:
    # 30 September 20:00 UTC is 1 October 01:00 in Almaty: the fourth quarter
    tickets = frame(ticket("2026-09-30 20:00"), ticket("2026-09-30 18:00"))
    q3 = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF)
    q4 = quarterly_report(tickets, "2026Q4", timezone=ALMATY, as_of=AS_OF)
    assert row_of(q3.sectors, sector=TOTAL)["received"] == 1
    assert row_of(q4.sectors, sector=TOTAL)["received"] == 1


def test_sectors_come_busiest_first_with_the_total_last_and_services_within_their_sector() -> None:
    tickets = frame(
        ticket("2026-07-01 05:00", service="pothole", sector="roads"),
        ticket("2026-07-01 05:00", service="heating"),
        ticket("2026-07-01 05:00", service="elevator"),
        ticket("2026-07-01 05:00", service="elevator"),
    )
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF)
    assert report.sectors["sector"].tolist() == ["housing_utilities", "roads", TOTAL]
    assert report.services["service_code"].tolist() == ["elevator", "heating", "pothole"]


# --- trend --------------------------------------------------------------------------------------------------


def test_the_trend_gives_previous_volumes_and_changes_against_last_quarter_and_last_year() -> None:
    tickets = frame(
        *[ticket("2025-07-10 05:00")] * 2,  # 2025Q3: a year before
        *[ticket("2026-01-10 05:00")] * 1,  # 2026Q1
        *[ticket("2026-04-10 05:00")] * 4,  # 2026Q2: the previous quarter
        *[ticket("2026-07-10 05:00")] * 5,  # 2026Q3
        ticket("2026-07-10 05:00", service="pothole", sector="roads"),  # a service new this quarter
    )
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF, previous=4)
    assert report.quarters == ("2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3")
    heating = row_of(report.services, service_code="heating")
    volumes = [heating[f"received_{q}"] for q in report.quarters[:-1]]
    assert [None if pd.isna(v) else v for v in volumes] == [2, None, 1, 4]  # 2025Q4: no data
    assert heating["change_vs_previous"] == pytest.approx(0.25)
    assert heating["change_vs_year_ago"] == pytest.approx(1.5)
    pothole = row_of(report.services, service_code="pothole")
    assert pothole["received_2026Q2"] == 0 and math.isnan(pothole["change_vs_previous"])


def test_a_quarter_the_data_does_not_reach_has_no_volume_and_no_change() -> None:
    tickets = frame(ticket("2026-07-10 05:00"))
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF, previous=1)
    heating = row_of(report.services, service_code="heating")
    assert pd.isna(heating["received_2026Q2"])
    assert math.isnan(heating["change_vs_previous"]) and math.isnan(heating["change_vs_year_ago"])


def test_services_seen_only_in_earlier_quarters_are_listed_with_zero_this_quarter() -> None:
    tickets = frame(ticket("2026-04-10 05:00", service="snow", sector="roads"), ticket("2026-07-10 05:00"))
    report = quarterly_report(tickets, "2026Q3", timezone=ALMATY, as_of=AS_OF, previous=1)
    snow = row_of(report.services, service_code="snow")
    assert (snow["received"], snow["received_2026Q2"], snow["change_vs_previous"]) == (0, 1, -1.0)


# --- repeated places ----------------------------------------------------------------------------------------


def test_addresses_are_normalised_and_points_rounded_to_about_50_metres() -> None:
    step = 50 / METRES_PER_DEGREE
    lat = round(54.87 / step) * step  # the middle of a ~50 m row
    keys, _ = place_keys(pd.DataFrame({
        "address": ["ул. Абая, 12", "УЛ  абая 12", "Abaya 12", None, None, None],
        "lat": [None, None, None, lat, lat + 20 / METRES_PER_DEGREE, lat + 200 / METRES_PER_DEGREE],
        "lon": [None, None, None, 69.14, 69.14, 69.14],
    }))  # fmt: skip
    assert keys[0] == keys[1] != keys[2]
    assert keys[3] == keys[4] != keys[5]


def test_the_top_five_repeated_places_per_sector_leave_out_single_requests_and_consultations() -> None:
    rows = []
    for k, count in enumerate([7, 6, 5, 4, 3, 2, 1]):
        rows += [ticket("2026-07-10 05:00", address=f"ул. Мира, {k + 1}")] * count
    rows += [ticket("2026-07-10 05:00", service="pothole", sector="roads", lat=54.87, lon=69.14)] * 2
    rows += [{**consultation("2026-07-10 05:00"), "address": "ул. Мира, 99"}] * 9
    report = quarterly_report(frame(*rows), "2026Q3", timezone=ALMATY, as_of=AS_OF)
    housing = report.addresses[report.addresses["sector"] == "housing_utilities"]
    assert housing["place"].tolist() == [f"ул. Мира, {k}" for k in range(1, 6)]
    assert housing["requests"].tolist() == [7, 6, 5, 4, 3]
    roads = row_of(report.addresses, sector="roads")
    assert roads["requests"] == 2 and roads["services"] == "pothole"
    assert "advice" not in set(report.addresses["sector"])


# --- hotspots -----------------------------------------------------------------------------------------------


def points_near(lat: float, lon: float, when: list[str], spread_m: float = 30.0) -> pd.DataFrame:
    """Requests around (lat, lon), one per date, spread over a few tens of metres."""
    k = np.arange(len(when))
    return pd.DataFrame({
        "lat": lat + (k % 3 - 1) * spread_m / METRES_PER_DEGREE,
        "lon": lon + (k % 2) * spread_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))),
        "requested_at": pd.to_datetime(when, utc=True),
    })  # fmt: skip


ORIGIN = (54.87, 69.14)
CELL_DEG_LAT = 250 / METRES_PER_DEGREE
CELL_DEG_LON = CELL_DEG_LAT / math.cos(math.radians(ORIGIN[0]))


def centre(i: int, j: int) -> tuple[float, float]:
    """(lat, lon) of the middle of 250 m cell i:j around ORIGIN."""
    return ORIGIN[0] + (j + 0.5) * CELL_DEG_LAT, ORIGIN[1] + (i + 0.5) * CELL_DEG_LON


def test_a_zone_with_requests_every_spring_recurs_and_a_one_year_flood_does_not() -> None:
    every_year = points_near(*centre(1, 1), ["2024-04-05"] * 4 + ["2025-04-08"] * 4 + ["2026-04-02"] * 4)
    one_year = points_near(*centre(8, 8), ["2025-04-10"] * 8)
    stray = points_near(*centre(8, 8), ["2024-07-01"], spread_m=0.0)  # one request in another year
    cells = hotspots(pd.concat([every_year, one_year, stray]), cell_m=250, min_count=3, origin=ORIGIN)
    zones = compute_zones(cells)
    assert len(zones) == 2
    recurring = zones[zones["recurring"]].iloc[0]
    assert recurring["years"] == (2024, 2025, 2026) and recurring["count"] == 12
    assert abs(recurring["lat"] - centre(1, 1)[0]) * METRES_PER_DEGREE < 50
    once = zones[~zones["recurring"]].iloc[0]
    assert once["years"] == (2025,) and once["by_year"] == ((2024, 1), (2025, 8))


def test_hot_cells_touching_at_a_corner_form_one_zone_and_cold_cells_none() -> None:
    three = ["2024-04-05"] * 3
    points = pd.concat([
        points_near(*centre(0, 0), three, 10.0),
        points_near(*centre(1, 1), three, 10.0),  # diagonal
        points_near(*centre(0, 5), three, 10.0),  # apart
        points_near(*centre(3, 3), ["2024-04-05"] * 2, 10.0),  # cold
    ])  # fmt: skip
    cells = hotspots(points, cell_m=250, min_count=3, origin=ORIGIN)
    zone = dict(zip(cells["cell"], cells["zone"].tolist(), strict=True))
    assert zone["0:0"] == zone["1:1"] != zone["0:5"]
    assert zone["3:3"] is pd.NA and not cells.loc[cells["cell"] == "3:3", "hot"].item()
    assert len(zone_outlines(cells)[zone["0:0"]]) == 8


def test_the_cell_size_decides_which_requests_share_a_cell() -> None:
    lat0, lon0 = ORIGIN
    points = pd.DataFrame({
        "lat": [lat0 + 10 / METRES_PER_DEGREE, lat0 + 310 / METRES_PER_DEGREE],
        "lon": [lon0 + 0.0001, lon0 + 0.0001],
        "requested_at": pd.to_datetime(["2024-04-05"] * 2, utc=True),
    })  # fmt: skip
    assert len(hotspots(points, cell_m=250, min_count=1, origin=ORIGIN)) == 2
    assert len(hotspots(points, cell_m=500, min_count=1, origin=ORIGIN)) == 1


def test_requests_without_a_place_are_left_out() -> None:
    points = pd.DataFrame({"lat": [None, 54.87], "lon": [None, 69.14],
                           "requested_at": pd.to_datetime(["2024-04-05"] * 2, utc=True)})  # fmt: skip
    assert hotspots(points, min_count=1)["count"].tolist() == [1]
    empty = hotspots(points.iloc[:1], min_count=1)
    assert empty.empty and to_geojson(empty) == {"type": "FeatureCollection", "features": []}


@pytest.mark.parametrize("cell_m", [0.0, -5.0, math.nan, math.inf])
def test_a_bad_cell_size_is_refused(cell_m: float) -> None:
    points = points_near(54.87, 69.14, ["2024-04-05"])
    with pytest.raises(BadParameter, match="cell_m"):
        hotspots(points, cell_m=cell_m)


def test_the_geojson_is_a_feature_collection_of_closed_lon_lat_squares() -> None:
    points = points_near(*centre(2, 3), ["2024-04-05"] * 3 + ["2025-04-05"] * 3)
    collection = json.loads(json.dumps(to_geojson(hotspots(points, cell_m=250, min_count=3, origin=ORIGIN))))
    assert collection["type"] == "FeatureCollection"
    feature = collection["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    ring = feature["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    lons, lats = zip(*ring, strict=True)
    assert all(69 < x < 70 for x in lons) and all(54 < y < 55 for y in lats)  # lon first (RFC 7946)
    width_m = (max(lons) - min(lons)) * METRES_PER_DEGREE * math.cos(math.radians(54.87))
    assert width_m == pytest.approx(250, rel=0.01)
    assert (max(lats) - min(lats)) * METRES_PER_DEGREE == pytest.approx(250, rel=0.01)
    assert sum((b[0] - a[0]) * (b[1] + a[1]) for a, b in zip(ring, ring[1:], strict=False)) < 0  # ccw
    assert feature["properties"] == {"cell": feature["properties"]["cell"], "count": 6, "years": [2024, 2025],
                                     "by_year": {"2024": 3, "2025": 3}, "hot": True, "zone": 1,
                                     "recurring": True}  # fmt: skip


# --- the generator ------------------------------------------------------------------------------------------

CATALOG = default_catalog()


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    return generate_tickets(CATALOG, years=2, end_year=2026, per_year=4_000, seed=7).tickets


def test_the_generator_is_deterministic(generated: pd.DataFrame) -> None:
    again = generate_tickets(CATALOG, years=2, end_year=2026, per_year=4_000, seed=7).tickets
    pd.testing.assert_frame_equal(generated, again)
    other = generate_tickets(CATALOG, years=2, end_year=2026, per_year=4_000, seed=8).tickets
    assert not generated["requested_at"].equals(other["requested_at"])


def test_the_generator_gives_the_hotlines_proportions(generated: pd.DataFrame) -> None:
    assert len(generated) == 8_000
    assert (generated["kind"] == "consultation").mean() == pytest.approx(0.8)
    complaints = generated[generated["kind"] == "complaint"]
    sectors = complaints["sector"].value_counts()
    assert sectors.index[0] == "housing_utilities" and sectors.iloc[0] > 0.4 * len(complaints)
    flooding = complaints[complaints["service_code"] == "flooding"]
    spring = flooding["requested_at"].dt.tz_convert(ALMATY).dt.month.isin([3, 4, 5])
    assert spring.mean() > 0.75
    heating = complaints[complaints["service_code"] == "heating"]["requested_at"].dt.month
    assert heating.isin([10, 11, 12, 1, 2, 3]).mean() > 0.8
    local = generated["requested_at"].dt.tz_convert(ALMATY)
    assert local.min() >= pd.Timestamp("2025-01-01", tz=ALMATY)
    assert local.max() < pd.Timestamp("2027-01-01", tz=ALMATY)


def test_generated_tickets_are_consistent(generated: pd.DataFrame) -> None:
    assert list(generated.columns) == list(TICKET_COLUMNS)
    assert (generated["channel"] == CHANNEL).all()
    closed = generated["closed_at"].notna()
    assert ((generated["status"] == "closed") == closed).all()
    assert generated.loc[closed, "state"].isin(["done", "rejected"]).all()
    assert generated.loc[~closed, "state"].isin(["routed", "in_progress"]).all()
    advice = generated[generated["kind"] == "consultation"]
    assert (advice["closed_at"] == advice["requested_at"]).all() and advice["expected_at"].isna().all()
    assert (advice["state"] == "done").all() and advice["lat"].isna().all()
    cases = generated[generated["kind"] != "consultation"]
    assert cases["expected_at"].notna().all() and (cases["expected_at"] > cases["requested_at"]).all()
    assert (cases["closed_at"].dropna() > cases.loc[closed, "requested_at"]).all()
    kept = (cases["closed_at"] <= cases["expected_at"]).sum() / closed[cases.index].sum()
    assert 0.75 < kept < 0.95  # most within the deadline, a tail late
    assert 0 < (~closed).sum() < 0.05 * len(cases)
    assert generated["requested_at"].is_monotonic_increasing
    assert cases["address"].value_counts().iloc[0] >= 3  # chronic places repeat


def test_generated_attributes_pass_the_catalogs_checks(generated: pd.DataFrame) -> None:
    for code, group in generated.groupby("service_code"):
        service = CATALOG.services[str(code)]
        for text in group["attributes"].head(20):
            check_attributes(service, json.loads(text))
