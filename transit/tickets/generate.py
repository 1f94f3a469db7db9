"""A synthetic history of the 109 hotline (pure + numpy): years of tickets for the catalog, to run the
analytics on and to demonstrate them. Deterministic: one `numpy.random.default_rng(seed)` drawn in a fixed
order, so the same arguments give the same frame, row for row.

What it imitates (Petropavl's 109 took over 93,000 contacts a year, 80% of them questions):

- `per_year` contacts a year, CONSULTATION_SHARE of them consultations (done at once, no place, no deadline),
  the rest complaints spread over the catalog's complaint services by COMPLAINT_WEIGHTS (housing and
  utilities the largest), each with its season (heating and snow in winter, potholes in spring), fewer at
  weekends and at night. Permits are not generated: they are filed by the construction department, not
  called in.
- Flooding every spring (late March to April, peak moving by a week from year to year) in the recurring
  low-lying zones of FLOOD_ZONES, one zone that floods in one year only (the middle one), and flooding
  requests scattered over the whole city all year round (burst pipes, rain).
- Places: points in a ~9 x 8 km city around Petropavl's centre (the area `transit.synth` uses), with an
  address derived from the point (a street every 200 m north-south, a house every 25 m along it), so that
  the same building gets the same address; a quarter of the complaints come with a pin only. A pool of
  chronic places (a building whose heating fails every winter) gets CHRONIC_SHARE of its services'
  complaints, so that repeated addresses are there to find.
- Work: the deadline from the catalog's working-day calendar; most cases closed within it, a tail late
  (an escalation per ladder step passed), ~1% never closed, and those the period's end catches still open.
  States and statuses agree: done or rejected with `closed_at`, routed or in_progress without.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.synth.streets import CENTRE_LAT, CENTRE_LON
from transit.tickets.catalog import Catalog
from transit.tickets.model import Datatype, Kind, Service, State

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CHANNEL = "generated"
PER_YEAR = 93_000
CONSULTATION_SHARE = 0.8
CHRONIC_SHARE = 0.06
HALF_WIDTH_M, HALF_HEIGHT_M = 4_500.0, 4_000.0  # the city: metres east-west and north-south of the centre
COMPLAINT_WEIGHTS = {  # each service's share of a year's complaints (others in the catalog: DEFAULT_WEIGHT)
    "heating": 0.15, "water_supply": 0.13, "housing_other": 0.12, "elevator": 0.06, "flooding": 0.035,
    "garbage": 0.10, "pothole": 0.09, "snow": 0.09, "street_light": 0.06, "bus_no_show": 0.05,
    "bus_conduct": 0.025, "bus_stop": 0.02,
}  # fmt: skip
DEFAULT_WEIGHT = 0.02
_SEASONS = {  # January .. December
    "heating": (3, 2.5, 1.5, 0.6, 0.1, 0.05, 0.05, 0.05, 0.3, 1.5, 2.5, 3),
    "snow": (3, 3, 2, 0.3, 0.02, 0.02, 0.02, 0.02, 0.02, 0.3, 2, 3),
    "pothole": (0.3, 0.3, 1, 2.5, 2.5, 1.5, 1, 1, 1, 0.8, 0.4, 0.3),
    "street_light": (1.5, 1.3, 1, 0.8, 0.6, 0.5, 0.5, 0.6, 0.9, 1.3, 1.5, 1.6),
    "water_supply": (1, 1, 1, 1, 1.1, 1.5, 1.5, 1.3, 1, 1, 1, 1),  # summer hot-water shutdowns
    "garbage": (0.8, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.3, 1.1, 1, 0.9, 0.8),
}
_HOURS = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 3.2, 3.2, 3.0,
                   2.8, 2.8, 3.0, 3.0, 2.8, 2.5, 2.0, 1.5, 1.1, 0.8, 0.5, 0.3])  # fmt: skip
_LATE = {"heating": 0.08, "water_supply": 0.12, "flooding": 0.2, "pothole": 0.25, "snow": 0.15}
_DEFAULT_LATE, _STUCK, _REJECTED, _PIN_ONLY, _RESPELLED = 0.1, 0.01, 0.06, 0.25, 0.15
_CHRONIC = ("heating", "water_supply", "elevator", "housing_other", "garbage")
_CHRONIC_PER_SERVICE = 8
_STREETS = ("Абая", "Жамбыла", "Букетова", "Конституции", "Интернациональная", "Пушкина", "Мира", "Парковая",
            "Жумабаева", "Ауэзова", "Сатпаева", "Победы", "Мусрепова", "Уалиханова", "Чкалова",
            "Маяковского", "Ломоносова", "Гагарина", "Горького", "Кошукова")  # fmt: skip
_STREET_KINDS = ("ул.", "пр.", "пер.")
_STREET_EVERY_M, _HOUSE_EVERY_M = 200.0, 25.0
_METRES_PER_DEGREE = 111_195.0
_DAY = np.timedelta64(1, "D")
_EPOCH = dt.date(1970, 1, 1)
TICKET_COLUMNS = (
    "service_code", "kind", "sector", "department", "state", "status", "requested_at", "updated_at",
    "expected_at", "closed_at", "lat", "lon", "address", "address_id", "zipcode", "description", "media_url",
    "attributes", "duplicate_of", "channel", "escalations",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlantedZone:
    """A flood zone the generator plants: centre, spread (the standard deviation of its requests, metres),
    its share of a spring's flooding, and the years it floods."""

    name: str
    lat: float
    lon: float
    sigma_m: float
    share: float
    years: tuple[int, ...]

    @property
    def recurring(self) -> bool:
        return len(self.years) > 1


# (name, metres east, metres north of the centre, sigma, share of a spring's flooding; None: one year only)
FLOOD_ZONES = (
    ("riverside north-west", -2_600.0, 1_900.0, 200.0, 0.25),
    ("west lowland", -3_000.0, -600.0, 180.0, 0.17),
    ("south ravine", 800.0, -2_800.0, 160.0, 0.14),
    ("east depression", 2_600.0, 600.0, 190.0, 0.14),
    ("new estate north-east", 1_500.0, 2_800.0, 170.0, None),
)
_ONE_YEAR_SHARE = 0.12  # the one-year zone's share of its year's flooding; the rest is scattered


@dataclass(frozen=True, slots=True, eq=False)
class Generated:
    """Tickets with the TicketRow columns (no id), received in [start, end) (UTC), and the flood zones."""

    tickets: pd.DataFrame
    zones: tuple[PlantedZone, ...]
    start: dt.datetime
    end: dt.datetime


def plant_flood_zones(years: Sequence[int]) -> tuple[PlantedZone, ...]:
    """FLOOD_ZONES in `years`: the recurring ones every year, the one-year zone in the middle year.

    >>> [(z.name, z.years) for z in plant_flood_zones([2024, 2025, 2026])][-2:]
    [('east depression', (2024, 2025, 2026)), ('new estate north-east', (2025,))]
    """
    chosen = tuple(sorted(years))
    planted = []
    for name, east, north, sigma, share in FLOOD_ZONES:
        lat, lon = _to_lat_lon(np.array([east]), np.array([north]))
        when = chosen if share is not None else (chosen[len(chosen) // 2],)
        planted.append(PlantedZone(name, round(float(lat[0]), 6), round(float(lon[0]), 6), sigma,
                                   _ONE_YEAR_SHARE if share is None else share, when))  # fmt: skip
    return tuple(planted)


def generate_tickets(
    catalog: Catalog, *, years: int = 3, end_year: int = 2026, per_year: int = PER_YEAR, seed: int = 1
) -> Generated:
    """`years` calendar years of tickets ending with `end_year` (local time in the catalog's zone), about
    `per_year` a year (module docstring)."""
    if years < 1 or per_year < 100:
        raise ValueError(f"years ({years}) must be 1 or more and per_year ({per_year}) 100 or more")
    consultation = next((s for s in catalog.services.values() if s.kind is Kind.CONSULTATION), None)
    if consultation is None:
        raise ValueError("the catalog has no consultation service")
    complaints = [s for s in catalog.services.values() if s.kind is Kind.COMPLAINT]
    weights = np.array([COMPLAINT_WEIGHTS.get(s.code, DEFAULT_WEIGHT) for s in complaints])
    zone = ZoneInfo(catalog.timezone)
    calendar_years = list(range(end_year - years + 1, end_year + 1))
    zones = plant_flood_zones(calendar_years)
    rng = np.random.default_rng(seed)
    chronic = _chronic_places(rng)
    parts = []
    for year in calendar_years:
        days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"), _DAY)
        n_consultations = round(per_year * CONSULTATION_SHARE)
        parts.append(_consultations(rng, consultation, days, n_consultations))
        counts = rng.multinomial(per_year - n_consultations, weights / weights.sum())
        for service, n in zip(complaints, counts.tolist(), strict=True):
            if service.code == "flooding":
                parts.append(_flooding(rng, service, year, days, n, zones))
            elif n:
                parts.append(_complaints(rng, service, days, n, chronic, zone))
    start = dt.datetime(calendar_years[0], 1, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(end_year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    tickets = pd.concat(parts, ignore_index=True)
    tickets = _worked(rng, catalog, tickets, zone, end)
    tickets = tickets.sort_values("requested_at", kind="stable").reset_index(drop=True)
    return Generated(tickets=tickets, zones=zones, start=start, end=end)


def _consultations(rng: np.random.Generator, service: Service, days: npt.NDArray[np.datetime64], n: int
                   ) -> pd.DataFrame:  # fmt: skip
    topics = _attribute_values(rng, service, n)
    local = _local_times(rng, days, _day_weights(days, None), n)
    return _part(service, local, np.full(n, np.nan), np.full(n, np.nan), topics)


def _complaints(
    rng: np.random.Generator,
    service: Service,
    days: npt.NDArray[np.datetime64],
    n: int,
    chronic: pd.DataFrame,
    zone: ZoneInfo,
) -> pd.DataFrame:
    local = _local_times(rng, days, _day_weights(days, service.code), n)
    x, y = _city_points(rng, n)
    places = chronic[chronic["service_code"] == service.code]
    from_pool = rng.random(n) < (CHRONIC_SHARE if len(places) else 0.0)
    picked = rng.integers(0, max(len(places), 1), size=n)
    if len(places):
        x = np.where(from_pool, places["x"].to_numpy()[picked], x)
        y = np.where(from_pool, places["y"].to_numpy()[picked], y)
    part = _part(service, local, x, y, _attribute_values(rng, service, n, _to_utc(local, zone)))
    pin_only = (rng.random(n) < _PIN_ONLY) & ~from_pool
    part.loc[pin_only, "address"] = None
    return _respelled(rng, part)


def _flooding(
    rng: np.random.Generator,
    service: Service,
    year: int,
    days: npt.NDArray[np.datetime64],
    n: int,
    zones: Sequence[PlantedZone],
) -> pd.DataFrame:
    """A year's flooding: the zones flooding this year get their shares in spring, the rest is scattered."""
    flooding = [z for z in zones if year in z.years]
    sizes = [round(n * z.share) for z in flooding]
    scattered = max(n - sum(sizes), 0)
    peak = np.datetime64(f"{year}-04-05") + rng.integers(-7, 8) * _DAY
    xs, ys, when = [], [], []
    for planted, size in zip(flooding, sizes, strict=True):
        east, north = _to_xy(planted.lat, planted.lon)
        xs.append(rng.normal(east, planted.sigma_m, size))
        ys.append(rng.normal(north, planted.sigma_m, size))
        offset = np.clip(np.round(rng.normal(0.0, 9.0, size)), -20, 25).astype(np.int64)
        when.append(peak + offset * _DAY)
    x, y = _uniform_points(rng, scattered)
    xs.append(x)
    ys.append(y)
    when.append(rng.choice(days, size=scattered))
    spring = np.concatenate(when)
    hours = rng.choice(24, size=spring.size, p=_HOURS / _HOURS.sum())
    seconds = rng.integers(0, 3600, size=spring.size)
    local = spring.astype("datetime64[s]") + (hours * 3600 + seconds).astype("timedelta64[s]")
    attributes = _attribute_values(rng, service, local.size)
    part = _part(service, local, np.concatenate(xs), np.concatenate(ys), attributes)
    part.loc[rng.random(local.size) < _PIN_ONLY, "address"] = None
    return _respelled(rng, part)


def _respelled(rng: np.random.Generator, part: pd.DataFrame) -> pd.DataFrame:
    """Some callers spell the address their own way ("ул абая 12" for "ул. Абая, 12"): the same place."""
    chosen = (rng.random(len(part)) < _RESPELLED) & part["address"].notna().to_numpy()
    part.loc[chosen, "address"] = part.loc[chosen, "address"].str.replace(r"[.,]", "", regex=True).str.lower()
    return part


def _part(
    service: Service,
    local: npt.NDArray[np.datetime64],
    x: FloatArray,
    y: FloatArray,
    attributes: list[str],
) -> pd.DataFrame:
    """Tickets of one service at `local` times (naive, the city's clock) and points (metres; NaN: none)."""
    lat, lon = _to_lat_lon(x, y)
    placed = np.isfinite(x)
    address = np.full(x.size, None, dtype=object)
    address[placed] = _addresses(x[placed], y[placed])
    return pd.DataFrame(
        {
            "service_code": service.code, "kind": service.kind.value, "sector": service.group,
            "department": service.department, "local": local, "lat": np.round(lat, 6),
            "lon": np.round(lon, 6), "address": address, "attributes": attributes,
        }
    )  # fmt: skip


def _day_weights(days: npt.NDArray[np.datetime64], code: str | None) -> FloatArray:
    months = days.astype("datetime64[M]").astype(np.int64) % 12
    season = np.asarray(_SEASONS.get(code or "", (1.0,) * 12), dtype=np.float64)[months]
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
    weights = season * np.where(weekday >= 5, 0.55, 1.0)
    normalised: FloatArray = weights / weights.sum()
    return normalised


def _local_times(
    rng: np.random.Generator, days: npt.NDArray[np.datetime64], weights: FloatArray, n: int
) -> npt.NDArray[np.datetime64]:
    day = rng.choice(days, size=n, p=weights)
    hours = rng.choice(24, size=n, p=_HOURS / _HOURS.sum())
    seconds = rng.integers(0, 3600, size=n)
    local: npt.NDArray[np.datetime64] = day.astype("datetime64[s]") + (hours * 3600 + seconds).astype(
        "timedelta64[s]"
    )
    return local


def _city_points(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """Denser towards the centre: two thirds around it (sd 1.8 km), a third anywhere in the city."""
    central = rng.random(n) < 2 / 3
    x = np.clip(rng.normal(0.0, 1_800.0, n), -HALF_WIDTH_M, HALF_WIDTH_M)
    y = np.clip(rng.normal(0.0, 1_800.0, n), -HALF_HEIGHT_M, HALF_HEIGHT_M)
    ux, uy = _uniform_points(rng, n)
    return np.where(central, x, ux), np.where(central, y, uy)


def _uniform_points(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    return rng.uniform(-HALF_WIDTH_M, HALF_WIDTH_M, n), rng.uniform(-HALF_HEIGHT_M, HALF_HEIGHT_M, n)


def _chronic_places(rng: np.random.Generator) -> pd.DataFrame:
    """Buildings that call again and again about one service."""
    n = _CHRONIC_PER_SERVICE * len(_CHRONIC)
    x, y = _city_points(rng, n)
    return pd.DataFrame({"service_code": np.repeat(_CHRONIC, _CHRONIC_PER_SERVICE), "x": x, "y": y})


def _addresses(x: FloatArray, y: FloatArray) -> list[str]:
    """The address of each point: the street of its 200 m band, the house of its 25 m along it."""
    row = np.floor((y + HALF_HEIGHT_M) / _STREET_EVERY_M).astype(np.int64)
    house = 1 + np.floor((x + HALF_WIDTH_M) / _HOUSE_EVERY_M).astype(np.int64)
    kinds = np.array(_STREET_KINDS)[(row // len(_STREETS)) % len(_STREET_KINDS)]
    names = np.array(_STREETS)[row % len(_STREETS)]
    return [f"{k} {s}, {h}" for k, s, h in zip(kinds.tolist(), names.tolist(), house.tolist(), strict=True)]


def _attribute_values(
    rng: np.random.Generator, service: Service, n: int, utc: npt.NDArray[np.datetime64] | None = None
) -> list[str]:
    """JSON attributes: every required one, and the optional single-choice ones (a consultation's topic)."""
    columns: dict[str, list[str]] = {}
    for attribute in service.attributes:
        if not attribute.required and attribute.datatype is not Datatype.SINGLE:
            continue
        if attribute.datatype in (Datatype.SINGLE, Datatype.MULTI):
            keys = np.array([k for k, _ in attribute.values])
            columns[attribute.code] = keys[rng.integers(0, keys.size, n)].tolist()
        elif attribute.datatype is Datatype.DATETIME and utc is not None:
            columns[attribute.code] = [f"{t}Z" for t in utc.astype("datetime64[s]").astype(str)]
        else:
            columns[attribute.code] = rng.integers(1, 60, n).astype(str).tolist()
    if not columns:
        return ["{}"] * n
    codes = sorted(columns)
    return [
        json.dumps(dict(zip(codes, values, strict=True)), ensure_ascii=False)
        for values in zip(*(columns[c] for c in codes), strict=True)
    ]


def _worked(
    rng: np.random.Generator, catalog: Catalog, tickets: pd.DataFrame, zone: ZoneInfo, end: dt.datetime
) -> pd.DataFrame:
    """The tickets as the departments left them by `end`: deadlines, closings, states, escalations."""
    local = tickets.pop("local").to_numpy(dtype="datetime64[s]")
    requested = _to_utc(local, zone)
    n = len(tickets)
    services = [catalog.services[c] for c in tickets["service_code"]]
    consultation = (tickets["kind"] == Kind.CONSULTATION.value).to_numpy()
    expected = _deadlines(catalog, local, np.array([s.deadline_days for s in services]), zone)
    expected = np.where(consultation, np.datetime64("NaT"), expected)
    span = np.nan_to_num((expected - requested) / np.timedelta64(1, "s"))
    late_share = np.array([_LATE.get(s.code, _DEFAULT_LATE) for s in services])
    late = rng.random(n) < late_share
    early = requested + (span * rng.beta(1.3, 2.5, n)).astype("timedelta64[s]")
    overdue = rng.exponential(np.maximum(86_400.0, 0.3 * span), n) + 600
    closed = np.where(late, expected + overdue.astype("timedelta64[s]"), early)
    end_at = np.datetime64(end.replace(tzinfo=None), "s")
    still_open = ~consultation & ((rng.random(n) < _STUCK) | (closed >= end_at))
    closed = np.where(consultation, requested, np.where(still_open, np.datetime64("NaT"), closed))
    rejected = rng.random(n) < _REJECTED
    state = np.where(still_open, np.where(rng.random(n) < 0.6, State.IN_PROGRESS.value, State.ROUTED.value),
                     np.where(rejected & ~consultation, State.REJECTED.value, State.DONE.value))  # fmt: skip
    moved = requested + rng.integers(3_600, 172_800, n).astype("timedelta64[s]")
    updated = np.where(still_open, np.minimum(moved, end_at), closed)
    lateness = (np.where(still_open, end_at, closed) - expected) / np.timedelta64(1, "D")
    ladders = [tuple(step.after_days for step in s.ladder) for s in services]
    escalations = [
        0 if not days_late >= 0 else sum(after <= days_late for after in steps)
        for days_late, steps in zip(lateness.tolist(), ladders, strict=True)
    ]
    columns: dict[str, Any] = {
        "state": state, "status": np.where(still_open, "open", "closed"),
        "requested_at": _utc(requested), "updated_at": _utc(updated), "expected_at": _utc(expected),
        "closed_at": _utc(closed), "address_id": None, "zipcode": None, "description": None,
        "media_url": None,
        "duplicate_of": pd.array([pd.NA] * n, dtype="Int64"), "channel": CHANNEL,
        "escalations": np.asarray(escalations, dtype=np.int64),
    }  # fmt: skip
    worked = tickets.assign(**columns)
    return worked[list(TICKET_COLUMNS)]


def _deadlines(
    catalog: Catalog, local: npt.NDArray[np.datetime64], deadline_days: IntArray, zone: ZoneInfo
) -> npt.NDArray[np.datetime64]:
    """UTC deadlines (naive datetime64) from the local receipt day and the service's working days: computed
    once per distinct (day, days)."""
    code = local.astype("datetime64[D]").astype(np.int64) * 1_000 + deadline_days  # days are 0..366
    distinct, inverse = np.unique(code, return_inverse=True)
    due = []
    for key in distinct.tolist():
        start = dt.datetime.combine(_EPOCH + dt.timedelta(days=key // 1_000), dt.time(12), tzinfo=zone)
        deadline = catalog.calendar.add_working_days(start, key % 1_000).astimezone(dt.UTC)
        due.append(np.datetime64(deadline.replace(tzinfo=None), "s"))
    return np.array(due, dtype="datetime64[s]")[inverse]


def _to_utc(local: npt.NDArray[np.datetime64], zone: ZoneInfo) -> npt.NDArray[np.datetime64]:
    """Naive local times to naive UTC, with each day's offset at noon (Kazakhstan keeps no summer time; the
    hour the clocks went back on 1 March 2024 is an hour off here, which test data can bear)."""
    day = local.astype("datetime64[D]")
    distinct = np.unique(day)
    offsets = [
        dt.datetime.combine(d, dt.time(12), tzinfo=zone).utcoffset() or dt.timedelta(0)
        for d in distinct.tolist()
    ]
    seconds = np.array([o.total_seconds() for o in offsets], dtype=np.int64)
    utc: npt.NDArray[np.datetime64] = local - seconds[np.searchsorted(distinct, day)].astype("timedelta64[s]")
    return utc


def _utc(values: npt.NDArray[np.datetime64]) -> pd.Series:
    return pd.Series(pd.to_datetime(values.astype("datetime64[us]"), utc=True))


def _to_lat_lon(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    lat = CENTRE_LAT + y / _METRES_PER_DEGREE
    lon = CENTRE_LON + x / (_METRES_PER_DEGREE * math.cos(math.radians(CENTRE_LAT)))
    return lat, lon


def _to_xy(lat: float, lon: float) -> tuple[float, float]:
    x = (lon - CENTRE_LON) * _METRES_PER_DEGREE * math.cos(math.radians(CENTRE_LAT))
    return x, (lat - CENTRE_LAT) * _METRES_PER_DEGREE
