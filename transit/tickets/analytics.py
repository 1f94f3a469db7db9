"""Quarterly analytics of the 109 tickets (pure, pandas): what came in, by sector and by service, how fast it
was closed, which places keep calling, and how the volume moves from quarter to quarter.

A quarter is a calendar quarter in the city's time zone (the catalog's, Asia/Almaty for Petropavl):
`2026Q3` is 1 July 00:00 to 1 October 00:00 local time, as UTC instants [start, end). The report is computed
*as at* `as_of`: a ticket received after it does not exist yet, and a closing after it has not happened.

The measures, per sector and per service, over the tickets received in the quarter:

- received: every request, consultations too (the hotline's whole load).
- consultations: questions answered on the call. They are closed the moment they are recorded and have no
  deadline, so they are counted here and left out of every measure below: with 80% of the calls, they would
  make any hotline look fast and punctual.
- cases: received minus consultations: the complaints and permits somebody has to work on.
- closed: cases closed (done or rejected) by `as_of`.
- open_at_end: cases still open at the quarter's end (closed at or after it, or not at all).
- due: cases whose deadline is settled by `as_of`: closed, or still open past the deadline. A case still
  open before its deadline is pending and not counted, so a report run the day after a quarter ends does
  not count as late what is not late yet.
- within_deadline: due cases closed at or before their deadline (`closed_at <= expected_at`).
- within_deadline_share: within_deadline / due (NaN when nothing is due).
- median_close_hours: the median time from request to closing of the closed cases, in hours.
- received_<quarter> for each of the `previous` quarters before (trend), and change_vs_previous,
  change_vs_year_ago: received / the volume of the quarter before (or of the same quarter a year before)
  minus 1. A quarter is *available* when the frame holds any ticket requested in it; an unavailable
  quarter's volume is NaN, and so is a change against an unavailable or empty quarter. Load the span that
  `report_period` gives.

Repeated places: cases (never consultations, whose place is the caller's, not a problem's) grouped by the
address text normalised (case, punctuation and spacing ignored), else the address id, else lat/lon rounded
to a ~50 m grid; places with at least 2 requests in the quarter, the top 5 per sector.

>>> tickets = pd.DataFrame({
...     "service_code": ["heating", "heating", "heating", "consultation"],
...     "kind": ["complaint", "complaint", "complaint", "consultation"],
...     "sector": ["housing_utilities"] * 3 + ["advice"],
...     "requested_at": pd.to_datetime(["2026-07-01 04:00", "2026-07-02 04:00", "2026-04-02 04:00",
...                                     "2026-07-03 04:00"], utc=True),
...     "expected_at": pd.to_datetime(["2026-07-02 18:59", "2026-07-03 18:59", "2026-04-03 18:59", None],
...                                   utc=True),
...     "closed_at": pd.to_datetime(["2026-07-01 10:00", "2026-07-06 04:00", "2026-04-02 10:00",
...                                  "2026-07-03 04:00"], utc=True),
...     "address": ["ул. Абая, 12", "Ул Абая 12", None, None], "lat": [None] * 4, "lon": [None] * 4})
>>> report = quarterly_report(tickets, "2026Q3", timezone="Asia/Almaty",
...                           as_of=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), previous=1)
>>> heating = report.services.set_index("service_code").loc["heating"]
>>> int(heating["received"]), int(heating["due"]), float(heating["within_deadline_share"])
(2, 2, 0.5)
>>> float(heating["median_close_hours"]), float(heating["change_vs_previous"])
(51.0, 1.0)
>>> report.addresses[["place", "requests"]].to_dict("records")
[{'place': 'ул. Абая, 12', 'requests': 2}]
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from transit.errors import BadParameter

TOTAL = "(all)"  # the sectors frame's last row: every sector together
REQUIRED_COLUMNS = ("service_code", "kind", "sector", "requested_at", "expected_at", "closed_at")
PLACE_COLUMNS = ("address", "address_id", "lat", "lon")  # optional: without them, no repeated places
MEASURES = (
    "received", "consultations", "cases", "closed", "open_at_end", "due", "within_deadline",
    "within_deadline_share", "median_close_hours",
)  # fmt: skip
COUNTS = MEASURES[:7]
PLACE_GRID_M = 50.0
TOP_PLACES = 5
_METRES_PER_DEGREE = 111_195.0
_PUNCTUATION = re.compile(r"[\W_]+")
_QUARTER = re.compile(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*")


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    """A calendar quarter: `number` 1 is January to March."""

    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def index(self) -> int:
        """Quarters since year 0: consecutive quarters have consecutive indexes."""
        return self.year * 4 + self.number - 1

    def shifted(self, quarters: int) -> Quarter:
        """The quarter `quarters` later (earlier when negative).

        >>> Quarter(2026, 1).shifted(-1).label, Quarter(2026, 3).shifted(-4).label
        ('2025Q4', '2025Q3')
        """
        k = self.index + quarters
        return Quarter(k // 4, k % 4 + 1)

    def bounds(self, timezone: str) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the quarter in local time `timezone`, as UTC instants."""
        zone = _zone(timezone)
        after = self.shifted(1)
        start = dt.datetime(self.year, 3 * self.number - 2, 1, tzinfo=zone)
        end = dt.datetime(after.year, 3 * after.number - 2, 1, tzinfo=zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_quarter(text: str, name: str = "--quarter") -> Quarter:
    """A quarter written YYYYQn ("2026Q3"; "2026-Q3" and "2026q3" too); BadParameter naming `name`.

    >>> parse_quarter("2026Q3")
    Quarter(year=2026, number=3)
    >>> parse_quarter("2026Q5")
    Traceback (most recent call last):
    ...
    transit.errors.BadParameter: --quarter: '2026Q5' is not a quarter; expected YYYYQn, such as 2026Q3
    """
    found = _QUARTER.fullmatch(text)
    if found is None or not 1900 <= int(found.group(1)) <= 9998:
        raise BadParameter(f"{name}: {text!r} is not a quarter; expected YYYYQn, such as 2026Q3")
    return Quarter(int(found.group(1)), int(found.group(2)))


def quarter_bounds(text: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the quarter `text` ("2026Q3") in local time `timezone`, as UTC instants.

    >>> start, end = quarter_bounds("2026Q3", "Asia/Almaty")  # UTC+5 since March 2024
    >>> print(start, end, sep="\\n")
    2026-06-30 19:00:00+00:00
    2026-09-30 19:00:00+00:00
    """
    return parse_quarter(text).bounds(timezone)


def report_period(quarter: Quarter, previous: int, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The span of tickets `quarterly_report` needs: from the earliest trend quarter (or the one a year
    before, whichever is earlier) to the quarter's end, as UTC instants."""
    first = quarter.shifted(-max(previous, 4))
    return first.bounds(timezone)[0], quarter.bounds(timezone)[1]


@dataclass(frozen=True, slots=True, eq=False)
class Report:
    """A quarter's analytics (module docstring). `quarters` are the trend's labels, oldest first, ending with
    this quarter; `sectors` ends with the TOTAL row; `addresses`: sector, place, requests, services."""

    quarter: str
    timezone: str
    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    quarters: tuple[str, ...]
    sectors: pd.DataFrame
    services: pd.DataFrame
    addresses: pd.DataFrame


def quarterly_report(
    tickets: pd.DataFrame,
    quarter: str | Quarter,
    *,
    timezone: str,
    as_of: dt.datetime,
    previous: int = 3,
    top_places: int = TOP_PLACES,
) -> Report:
    """The quarter's measures by sector and by service, its trend and its repeated places (module docstring).

    `tickets` has REQUIRED_COLUMNS (instants tz-aware, or naive UTC; NaT where none) and, for the places,
    PLACE_COLUMNS; extra columns are ignored.
    """
    wanted = parse_quarter(quarter) if isinstance(quarter, str) else quarter
    if previous < 0:
        raise ValueError(f"previous must be 0 or more, not {previous}")
    start, end = wanted.bounds(timezone)
    frame = _prepared(tickets, timezone, as_of)
    current = frame[frame["quarter"] == wanted.index]
    current = current.assign(open_at_end=current["case"] & ~(current["closed_at"] < end))
    trend = [wanted.shifted(-k) for k in range(previous, 0, -1)]
    available = set(frame["quarter"].unique().tolist())
    keys = frame[["sector", "service_code"]].drop_duplicates()
    services = _measures(current, ["sector", "service_code"], keys)
    sectors = _measures(current, ["sector"], keys[["sector"]].drop_duplicates())
    volumes = frame.groupby(["sector", "service_code", "quarter"]).size()
    services = _with_trend(services, volumes, ["sector", "service_code"], wanted, trend, available)
    sectors = _with_trend(sectors, volumes.groupby(level=["sector", "quarter"]).sum(), ["sector"], wanted,
                          trend, available)  # fmt: skip
    every = frame.assign(sector=TOTAL).groupby(["sector", "quarter"]).size()
    total = _measures(current.assign(sector=TOTAL), ["sector"], pd.DataFrame({"sector": [TOTAL]}))
    total = _with_trend(total, every, ["sector"], wanted, trend, available)
    sectors = sectors.sort_values(["received", "sector"], ascending=[False, True], kind="stable")
    order = {sector: k for k, sector in enumerate(sectors["sector"])}
    services = services.sort_values(
        ["sector", "received", "service_code"], ascending=[True, False, True], kind="stable",
        key=lambda column: column.map(order) if column.name == "sector" else column,
    )  # fmt: skip
    return Report(
        quarter=wanted.label, timezone=timezone, start=start, end=end, as_of=as_of.astimezone(dt.UTC),
        quarters=(*(q.label for q in trend), wanted.label),
        sectors=pd.concat([sectors, total], ignore_index=True),
        services=services.reset_index(drop=True),
        addresses=repeated_places(current[~current["consultation"]], top_places),
    )  # fmt: skip


def _prepared(tickets: pd.DataFrame, timezone: str, as_of: dt.datetime) -> pd.DataFrame:
    """The tickets received by `as_of`, with their local quarter and the per-ticket facts the measures sum."""
    missing = [c for c in REQUIRED_COLUMNS if c not in tickets.columns]
    if missing:
        raise ValueError(f"the tickets frame lacks {', '.join(missing)}")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware instant")
    cutoff = pd.Timestamp(as_of).tz_convert("UTC")
    frame = pd.DataFrame({c: tickets[c] for c in (*REQUIRED_COLUMNS, *PLACE_COLUMNS) if c in tickets.columns})
    for column in ("requested_at", "expected_at", "closed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame[frame["requested_at"] <= cutoff]
    closed_at = frame["closed_at"].where(frame["closed_at"] <= cutoff)
    local = frame["requested_at"].dt.tz_convert(_zone(timezone))
    consultation = frame["kind"] == "consultation"
    case = ~consultation
    closed = case & closed_at.notna()
    expected = frame["expected_at"]
    due = case & expected.notna() & (closed | (expected < cutoff))
    return frame.assign(
        closed_at=closed_at,
        quarter=local.dt.year * 4 + (local.dt.month - 1) // 3,
        consultation=consultation,
        case=case,
        closed=closed,
        due=due,
        within_deadline=due & closed & (closed_at <= expected),
        close_hours=((closed_at - frame["requested_at"]).dt.total_seconds() / 3600).where(closed),
    )


def _measures(current: pd.DataFrame, by: list[str], keys: pd.DataFrame) -> pd.DataFrame:
    """The measures per group of `by`, one row for each of `keys` (zeros where nothing was received)."""
    grouped = current.groupby(by)
    found = pd.DataFrame(
        {
            "received": grouped.size(),
            "consultations": grouped["consultation"].sum(),
            "cases": grouped["case"].sum(),
            "closed": grouped["closed"].sum(),
            "open_at_end": grouped["open_at_end"].sum(),
            "due": grouped["due"].sum(),
            "within_deadline": grouped["within_deadline"].sum(),
            "median_close_hours": grouped["close_hours"].median(),
        }
    )
    index = pd.MultiIndex.from_frame(keys) if len(by) > 1 else pd.Index(keys[by[0]], name=by[0])
    found = found.reindex(index)
    found[list(COUNTS)] = found[list(COUNTS)].fillna(0).astype("int64")
    found["within_deadline_share"] = found["within_deadline"] / found["due"].where(found["due"] > 0)
    return found[list(MEASURES)].reset_index()


def _with_trend(
    measures: pd.DataFrame,
    volumes: pd.Series,
    by: list[str],
    quarter: Quarter,
    trend: Sequence[Quarter],
    available: set[int],
) -> pd.DataFrame:
    """`measures` with the received volume of each trend quarter and the changes (module docstring)."""
    table = volumes.unstack("quarter")  # noqa: PD010 (a Series has no pivot_table)

    def volume(q: Quarter) -> pd.Series:
        column = table[q.index] if q.index in table.columns else pd.Series(0, index=table.index)
        found = column.reindex(pd.MultiIndex.from_frame(measures[by]) if len(by) > 1 else measures[by[0]])
        values = found.fillna(0).to_numpy(dtype=np.float64)
        return pd.Series(values if q.index in available else np.nan, index=measures.index)

    columns = {f"received_{q.label}": volume(q).round().astype("Int64") for q in trend}
    received = measures["received"].astype(np.float64)
    for name, shift in (("change_vs_previous", -1), ("change_vs_year_ago", -4)):
        base = volume(quarter.shifted(shift))
        columns[name] = received / base.where(base > 0) - 1
    return measures.assign(**columns)


def repeated_places(cases: pd.DataFrame, top: int = TOP_PLACES, minimum: int = 2) -> pd.DataFrame:
    """The places with at least `minimum` requests, the `top` per sector (most requests first, then by name):
    sector, place (the first spelling seen, or "lat, lon" of the ~50 m cell), requests, services (the codes
    by frequency, comma-separated).

    >>> cases = pd.DataFrame({"sector": ["roads"] * 3, "service_code": ["pothole"] * 3,
    ...                       "address": [None, None, None], "lat": [54.87, 54.87001, 54.9],
    ...                       "lon": [69.14, 69.14002, 69.1]})
    >>> repeated_places(cases).to_dict("records")
    [{'sector': 'roads', 'place': '54.86982, 69.13976', 'requests': 2, 'services': 'pothole'}]
    """
    columns = ["sector", "place", "requests", "services"]
    key, label = place_keys(cases)
    placed = pd.DataFrame(
        {"sector": cases["sector"], "service_code": cases["service_code"], "key": key, "label": label}
    ).dropna(subset=["key"])
    if placed.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "requests" else object) for c in columns})
    grouped = placed.groupby(["sector", "key"], sort=False)
    places = pd.DataFrame({"requests": grouped.size(), "place": grouped["label"].first()}).reset_index()
    places = places[places["requests"] >= minimum]
    codes = placed.groupby(["sector", "key", "service_code"]).size().rename("n").reset_index()
    codes = codes.sort_values(["n", "service_code"], ascending=[False, True], kind="stable")
    listed = codes.groupby(["sector", "key"], sort=False)["service_code"].agg(", ".join).rename("services")
    places = places.merge(listed.reset_index(), on=["sector", "key"], how="left")
    places = places.sort_values(["sector", "requests", "place"], ascending=[True, False, True], kind="stable")
    places = places.groupby("sector", sort=False).head(top)
    return places[columns].reset_index(drop=True).astype({"requests": "int64"})


def place_keys(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(key, label) of each row's place: the normalised address text, else the address id, else lat/lon on a
    ~50 m grid; None for a row without any. Rows with the same key are the same place.

    >>> keys, labels = place_keys(pd.DataFrame({"address": ["ул. Абая, 12", "УЛ  абая 12"]}))
    >>> keys.tolist(), labels.tolist()
    (['a:ул абая 12', 'a:ул абая 12'], ['ул. Абая, 12', 'УЛ  абая 12'])
    """
    addresses, address_ids = _texts(frame, "address"), _texts(frame, "address_id")
    lats, lons = _numbers(frame, "lat"), _numbers(frame, "lon")
    step_lat = PLACE_GRID_M / _METRES_PER_DEGREE
    keys: list[str | None] = []
    labels: list[str | None] = []
    for address, address_id, lat, lon in zip(addresses, address_ids, lats, lons, strict=True):
        normal = _PUNCTUATION.sub(" ", address.casefold()).strip() if address else ""
        if normal:
            keys.append(f"a:{normal}")
            labels.append(address)
        elif address_id:
            keys.append(f"id:{address_id.strip()}")
            labels.append(address_id.strip())
        elif math.isfinite(lat) and math.isfinite(lon):
            row = round(lat / step_lat)
            step_lon = step_lat / max(math.cos(math.radians(row * step_lat)), 0.01)
            column = round(lon / step_lon)
            keys.append(f"ll:{row}:{column}")
            labels.append(f"{row * step_lat:.5f}, {column * step_lon:.5f}")
        else:
            keys.append(None)
            labels.append(None)
    return pd.Series(keys, index=frame.index, dtype=object), pd.Series(
        labels, index=frame.index, dtype=object
    )


def _texts(frame: pd.DataFrame, name: str) -> list[str | None]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [v if isinstance(v, str) and v.strip() else None for v in frame[name].tolist()]


def _numbers(frame: pd.DataFrame, name: str) -> list[float]:
    if name not in frame.columns:
        return [math.nan] * len(frame)
    return [float(v) for v in pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)]


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadParameter(f"timezone: {timezone!r} is not an IANA time zone") from None


def share_text(value: float) -> str:
    """A share as a percentage for people ("87.3%"); "" for NaN."""
    return "" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def change_text(value: float) -> str:
    """A change as a signed percentage ("+12.0%", "-3.5%"); "" for NaN."""
    return "" if value is None or math.isnan(value) else f"{100 * value:+.1f}%"
