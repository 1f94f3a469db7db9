"""The day plan: every trip instance scheduled on a service date, and which carrier owes it.

Built in two vectorised steps. `build_trip_table` summarises every trip of the feed once (first and last
times, stop count, distance, agency); `build_day_plan` then picks a date's trips and expands frequencies,
which is cheap, so a service that asks for many dates pays the heavy part once.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from transit.gtfs.calendar import list_active_service_ids
from transit.gtfs.geo import path_lengths_m
from transit.gtfs.times import format_gtfs_times, parse_gtfs_times, service_day_origin

DAY_PLAN_COLUMNS = (
    "service_date", "trip_id", "start_time", "end_time", "start_at", "end_at", "route_id",
    "route_short_name", "agency_id", "carrier_id", "service_id", "direction_id", "block_id", "shape_id",
    "stop_count", "distance_m",
)  # fmt: skip

_TRIP_COLUMNS = ("trip_id", "route_id", "service_id", "direction_id", "block_id", "shape_id")


class ScheduleTables(Protocol):
    """The GTFS tables a day plan needs (a gtfs_kit.Feed has them); optional ones may be None."""

    agency: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    stops: pd.DataFrame
    shapes: pd.DataFrame | None
    calendar: pd.DataFrame | None
    calendar_dates: pd.DataFrame | None
    frequencies: pd.DataFrame | None


# Russian and Kazakh letters to Latin (the Kazakh 2021 Latin alphabet for Kazakh-only letters);
# "_" marks the hard and soft signs, which have no Latin letter.
_CYRILLIC_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі"
_LATIN_LETTERS = (
    "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya a g q n o u u h i"
)
_CYRILLIC = dict(zip(_CYRILLIC_LETTERS, _LATIN_LETTERS.split(), strict=True))


def slug(text: str) -> str:
    """A lowercase ASCII identifier made from a name; Cyrillic is transliterated.

    >>> slug("Department of Transport - TransLink (qconnect)")
    'department-of-transport-translink-qconnect'
    >>> slug("ТОО «Автопарк №1»")
    'too-avtopark-no1'
    """
    latin = "".join(_CYRILLIC.get(ch, ch).strip("_") for ch in text.lower())
    ascii_text = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "agency"


def natural_key(text: object) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders route names as people do: 2 before 10, 14 before 14A.

    >>> sorted(["10", "2", "14A", "14", None], key=natural_key)
    [None, '2', '10', '14', '14A']
    """
    if not isinstance(text, str):
        return ()
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", text))


def build_trip_table(feed: ScheduleTables) -> pd.DataFrame:
    """One row per trip with stop_times: its template times, stop count, distance, route and carrier.

    Columns: trip_id, route_id, service_id, direction_id, block_id, shape_id, start_seconds, end_seconds,
    stop_count, distance_m, route_short_name, agency_id, carrier_id, timezone. Expects a validated feed.
    """
    edges, stop_order = _trip_edges(feed.stop_times)
    trips = _optional_columns(feed.trips, _TRIP_COLUMNS).merge(edges, on="trip_id", how="inner")
    trips["distance_m"] = _trip_distances(feed, trips, edges, stop_order)
    trips = trips.merge(_route_carriers(feed.routes, feed.agency), on="route_id", how="left")
    return trips.reset_index(drop=True)


def _optional_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The given columns as strings (None where empty), adding absent optional ones as None."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index)
        text = values.astype("string").str.strip()
        out[column] = text.astype(object).where(text.notna() & (text != ""), None)
    return out


@dataclass(frozen=True, slots=True)
class _StopOrder:
    """stop_times rows sorted by trip then stop_sequence, and the trip (row of the edges table) of each."""

    rows: np.ndarray
    trip_of_row: np.ndarray


def _trip_edges(stop_times: pd.DataFrame) -> tuple[pd.DataFrame, _StopOrder]:
    """First departure, last arrival and stop count of every trip, and the sort order of its stops."""
    codes, trip_ids = pd.factorize(stop_times["trip_id"].astype("string"))
    sequence = pd.to_numeric(stop_times["stop_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:] - 1, len(order) - 1]
    first, last = order[starts], order[ends]
    departure = stop_times["departure_time"] if "departure_time" in stop_times else stop_times["arrival_time"]
    arrival = stop_times["arrival_time"] if "arrival_time" in stop_times else stop_times["departure_time"]
    start = parse_gtfs_times(departure.iloc[first].reset_index(drop=True))
    start_fallback = parse_gtfs_times(arrival.iloc[first].reset_index(drop=True))
    end = parse_gtfs_times(arrival.iloc[last].reset_index(drop=True))
    end_fallback = parse_gtfs_times(departure.iloc[last].reset_index(drop=True))
    edges = pd.DataFrame(
        {
            "trip_id": np.asarray(trip_ids, dtype=object)[sorted_codes[starts]],
            "start_seconds": np.where(start >= 0, start, start_fallback),
            "end_seconds": np.where(end >= 0, end, end_fallback),
            "stop_count": ends - starts + 1,
        }
    )
    trip_of_row = np.repeat(np.arange(len(starts)), ends - starts + 1)
    return edges, _StopOrder(order, trip_of_row)


def _trip_distances(
    feed: ScheduleTables, trips: pd.DataFrame, edges: pd.DataFrame, stop_order: _StopOrder
) -> np.ndarray:
    """Metres per trip: the length of its shape, or stop to stop where it has no (known) shape."""
    shape_length = _shape_lengths_m(feed.shapes)
    distance = np.array(trips["shape_id"].map(shape_length).to_numpy(dtype=float, na_value=np.nan))
    missing = np.isnan(distance)
    if missing.any():
        by_stops = _stop_to_stop_lengths_m(feed, edges, stop_order)
        distance[missing] = trips.loc[missing, "trip_id"].map(by_stops).to_numpy(dtype=float)
    return np.round(distance, 1)


def _shape_lengths_m(shapes: pd.DataFrame | None) -> pd.Series:
    if shapes is None or shapes.empty:
        return pd.Series(dtype=float)
    codes, shape_ids = pd.factorize(shapes["shape_id"].astype("string"))
    sequence = pd.to_numeric(shapes["shape_pt_sequence"]).to_numpy(dtype=np.int64)
    order = np.lexsort((sequence, codes))
    lat = pd.to_numeric(shapes["shape_pt_lat"]).to_numpy(dtype=float)[order]
    lon = pd.to_numeric(shapes["shape_pt_lon"]).to_numpy(dtype=float)[order]
    lengths = path_lengths_m(codes[order], lat, lon, len(shape_ids))
    return pd.Series(lengths, index=np.asarray(shape_ids, dtype=object))


def _stop_to_stop_lengths_m(feed: ScheduleTables, edges: pd.DataFrame, stop_order: _StopOrder) -> pd.Series:
    stops = feed.stops.drop_duplicates("stop_id")
    stop_ids = feed.stop_times["stop_id"].astype("string").to_numpy()[stop_order.rows]
    position = pd.Index(stops["stop_id"].astype("string")).get_indexer(stop_ids)
    lat = pd.to_numeric(stops["stop_lat"]).to_numpy(dtype=float)[position]
    lon = pd.to_numeric(stops["stop_lon"]).to_numpy(dtype=float)[position]
    lengths = path_lengths_m(stop_order.trip_of_row, lat, lon, len(edges))
    return pd.Series(lengths, index=edges["trip_id"].to_numpy())


def build_agency_table(agency: pd.DataFrame) -> pd.DataFrame:
    """agency_id, agency_name, agency_timezone and carrier_id of each agency.

    The carrier is the agency (carrier_id = agency_id); a one-agency feed may leave agency_id out, and then
    the carrier id is that agency's name, slugged.
    """
    agencies = _optional_columns(agency, ("agency_id", "agency_name", "agency_timezone"))
    agencies["carrier_id"] = [
        agency_id or slug(name or "")
        for agency_id, name in zip(agencies["agency_id"], agencies["agency_name"], strict=True)
    ]
    return agencies.reset_index(drop=True)


def _route_carriers(routes: pd.DataFrame, agency: pd.DataFrame) -> pd.DataFrame:
    """route_id → route_short_name, agency_id, carrier_id, timezone (routes may omit a sole agency)."""
    agencies = build_agency_table(agency)
    out = _optional_columns(routes, ("route_id", "route_short_name", "agency_id"))
    if len(agencies) == 1:
        only = agencies.iloc[0]
        out["agency_id"] = out["agency_id"].where(out["agency_id"].notna(), only["agency_id"])
        out["carrier_id"] = out["agency_id"].where(out["agency_id"].notna(), only["carrier_id"])
        out["timezone"] = only["agency_timezone"]
        return out
    by_id = agencies.set_index("agency_id")
    out["carrier_id"] = out["agency_id"].map(by_id["carrier_id"])
    out["timezone"] = out["agency_id"].map(by_id["agency_timezone"])
    return out


def build_day_plan(
    trip_table: pd.DataFrame,
    service_date: dt.date,
    calendar: pd.DataFrame | None,
    calendar_dates: pd.DataFrame | None,
    frequencies: pd.DataFrame | None,
) -> pd.DataFrame:
    """Every trip instance scheduled on `service_date` (a local service date), sorted by start.

    Trips of frequencies.txt become one instance per headway from start_time while before end_time
    (exact_times 0 and 1 alike: the plan needs the expected number of departures either way).
    """
    active = list_active_service_ids(calendar, calendar_dates, service_date)
    day = trip_table[trip_table["service_id"].isin(active)]
    day = _expand_frequencies(day, frequencies)
    start_at, end_at = _instants(day, service_date)
    plan = pd.DataFrame(
        {
            "service_date": service_date.isoformat(),
            "trip_id": day["trip_id"].to_numpy(),
            "start_time": format_gtfs_times(day["start_seconds"].to_numpy()),
            "end_time": format_gtfs_times(day["end_seconds"].to_numpy()),
            "start_at": start_at,
            "end_at": end_at,
            **{column: day[column].to_numpy() for column in DAY_PLAN_COLUMNS[6:14]},
            "direction_id": pd.to_numeric(day["direction_id"]).astype("Int64").array,
            "stop_count": day["stop_count"].to_numpy(dtype=np.int64),
            "distance_m": day["distance_m"].to_numpy(dtype=float),
        },
        columns=list(DAY_PLAN_COLUMNS),
    )
    return plan.sort_values(["start_at", "route_id", "trip_id"], kind="stable").reset_index(drop=True)


def _expand_frequencies(day: pd.DataFrame, frequencies: pd.DataFrame | None) -> pd.DataFrame:
    """Replace each frequency-based trip by its instances: one per headway in each of its windows."""
    if frequencies is None or frequencies.empty:
        return day
    windows = frequencies[frequencies["trip_id"].astype("string").isin(day["trip_id"])]
    if windows.empty:
        return day
    window_start = parse_gtfs_times(windows["start_time"].reset_index(drop=True))
    window_end = parse_gtfs_times(windows["end_time"].reset_index(drop=True))
    headway = pd.to_numeric(windows["headway_secs"]).to_numpy(dtype=np.int64)
    counts = np.maximum(0, -(-(window_end - window_start) // np.maximum(headway, 1)))
    row = np.repeat(np.arange(len(windows)), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    template_ids = pd.Index(windows["trip_id"].astype("string").to_numpy()[row])
    instances = day.set_index("trip_id").loc[template_ids].reset_index()
    duration = (instances["end_seconds"] - instances["start_seconds"]).to_numpy()
    instances["start_seconds"] = window_start[row] + step * headway[row]
    instances["end_seconds"] = instances["start_seconds"].to_numpy() + duration
    scheduled = day[~day["trip_id"].isin(windows["trip_id"].astype("string"))]
    return pd.concat([scheduled, instances], ignore_index=True)


def _instants(day: pd.DataFrame, service_date: dt.date) -> tuple[pd.Series, pd.Series]:
    """UTC start_at and end_at of each instance, from its agency's timezone (DST handled the GTFS way)."""
    start_at = pd.Series(pd.NaT, index=day.index, dtype="datetime64[us, UTC]")
    end_at = start_at.copy()
    for timezone, rows in day.groupby("timezone", dropna=False).groups.items():
        if not isinstance(timezone, str):
            continue
        origin = pd.Timestamp(service_day_origin(service_date, timezone))
        start_at[rows] = origin + pd.to_timedelta(day.loc[rows, "start_seconds"], unit="s")
        end_at[rows] = origin + pd.to_timedelta(day.loc[rows, "end_seconds"], unit="s")
    return start_at.reset_index(drop=True), end_at.reset_index(drop=True)


def summarise_day_plan(plan: pd.DataFrame) -> list[dict[str, object]]:
    """Trip instances per carrier and, within it, per route: one dict per carrier, sorted by carrier_id."""
    carriers: list[dict[str, object]] = []
    for carrier_id, rows in plan.groupby("carrier_id", sort=True, dropna=False):
        per_route = (
            rows.groupby(["route_id", "route_short_name"], dropna=False, sort=True)
            .agg(trips=("trip_id", "size"), distance_m=("distance_m", "sum"))
            .reset_index()
        )
        per_route = per_route.iloc[
            sorted(range(len(per_route)), key=lambda i: natural_key(per_route["route_short_name"].iloc[i]))
        ]
        carriers.append(
            {
                "carrier_id": None if pd.isna(carrier_id) else str(carrier_id),
                "agency_id": rows["agency_id"].iloc[0],
                "trips": len(rows),
                "routes": [
                    {
                        "route_id": r["route_id"],
                        "route_short_name": None if pd.isna(r["route_short_name"]) else r["route_short_name"],
                        "trips": int(r["trips"]),
                        "distance_km": round(float(r["distance_m"]) / 1000, 1),
                    }
                    for r in per_route.to_dict("records")
                ],
                "distance_km": round(float(rows["distance_m"].sum()) / 1000, 1),
                "first_start_at": rows["start_at"].min(),
                "last_end_at": rows["end_at"].max(),
            }
        )
    return carriers
