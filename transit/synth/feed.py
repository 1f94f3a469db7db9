"""Who runs the routes and who publishes the feed: agency, routes and feed_info."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from transit.synth.calendar import last_service_date, to_gtfs_date
from transit.synth.patterns import Pattern
from transit.synth.routes import Line

IntArray = npt.NDArray[np.int64]

AGENCY_TIMEZONE = "Asia/Almaty"
FEED_LANG = "ru"
_CARRIER_BRANDS = (
    "Kyzylzhar Avtotrans LLP",
    "Sever-Trans LLP",
    "Esil Bus JSC",
    "Petropavl Passenger Transport JSC",
    "Soltustik Avto LLP",
)


def build_agency(routes: int, rng: np.random.Generator) -> tuple[pd.DataFrame, IntArray]:
    """agency.txt with up to 4 carriers, and the carrier (row index) that runs each route."""
    count = min(4, 2 + int(rng.integers(2)) + int(routes >= 100), routes)
    names = [
        f"Avtopark No. {k} LLP" if rng.random() < 0.5 else _CARRIER_BRANDS[k - 1] for k in range(1, count + 1)
    ]
    phones = rng.integers(200_000, 600_000, size=count)
    agency = pd.DataFrame(
        {
            "agency_id": [f"AP{k}" for k in range(1, count + 1)],
            "agency_name": names,
            "agency_url": [f"https://ap{k}.example.kz/" for k in range(1, count + 1)],
            "agency_timezone": AGENCY_TIMEZONE,
            "agency_lang": FEED_LANG,
            "agency_phone": [f"+7 7152 {p // 10_000:02d}-{p // 100 % 100:02d}-{p % 100:02d}" for p in phones],
        }
    )
    owners = rng.integers(count, size=routes)
    owners[rng.permutation(routes)[:count]] = np.arange(count)  # every carrier runs at least one route
    return agency, owners.astype(np.int64)


def build_routes(
    lines: Sequence[Line], owners: IntArray, patterns: Sequence[Pattern], stops: pd.DataFrame
) -> pd.DataFrame:
    """routes.txt: each route named after the terminals of its direction 0."""
    names = stops["stop_name"].to_numpy()
    ends = [(names[patterns[2 * k].stops[0]], names[patterns[2 * k].stops[-1]]) for k in range(len(lines))]
    return pd.DataFrame(
        {
            "route_id": [line.route_id for line in lines],
            "agency_id": [f"AP{k + 1}" for k in owners],
            "route_short_name": [line.route_id for line in lines],
            "route_long_name": [f"{a} — {b}" for a, b in ends],
            "route_type": 3,
        }
    )


def build_feed_info(seed: int, start_date: dt.date, routes: int) -> pd.DataFrame:
    """feed_info.txt: publisher, language, validity and a version from the arguments."""
    return pd.DataFrame(
        {
            "feed_publisher_name": ["Petropavl city transport department (synthetic)"],
            "feed_publisher_url": ["https://transit.example.kz/"],
            "feed_lang": [FEED_LANG],
            "feed_start_date": [to_gtfs_date(start_date)],
            "feed_end_date": [to_gtfs_date(last_service_date(start_date))],
            "feed_version": [f"synth-{seed}-{start_date:%Y%m%d}-r{routes}"],
        }
    )
