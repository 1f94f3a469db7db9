"""The analytics' edges (ADAPTER): tickets from the database into a frame, generated tickets into the
database, and the pictures (matplotlib, imported inside the writers so that the command line starts
without it).

Generated tickets (`transit.tickets.generate`) are inserted in bulk with channel "generated" and bypass the
ledger, the notes and the reporters: they are test data for the analytics, and the ledger records what
happened to real requests, which these are not. `count_tickets` lets the command refuse to mix them with
real ones.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import String, Table, func, select, type_coerce
from sqlalchemy.orm import Session

from transit.tickets.analytics import TOTAL, Report, share_text
from transit.tickets.generate import TICKET_COLUMNS
from transit.tickets.hotspots import compute_zones, zone_outlines
from transit.tickets.store import TicketRow

REPORT_COLUMNS = (
    "id", "service_code", "kind", "sector", "state", "requested_at", "expected_at", "closed_at", "lat", "lon",
    "address", "address_id",
)  # fmt: skip
POINT_COLUMNS = ("id", "service_code", "requested_at", "lat", "lon", "address")
INSTANTS = frozenset({"requested_at", "updated_at", "expected_at", "closed_at"})
NUMBERS = frozenset({"id", "lat", "lon", "escalations", "duplicate_of"})
CHUNK = 20_000
_TICKET = cast(Table, TicketRow.__table__)


def load_tickets(
    session: Session,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    service_codes: Sequence[str] = (),
    columns: Sequence[str] = REPORT_COLUMNS,
) -> pd.DataFrame:
    """The tickets requested in [start, end) (UTC instants; None: unbounded), of `service_codes` (all when
    empty), as a frame of `columns`: instants as datetime64 UTC, lat/lon floats (NaN where none).

    Only the named columns are selected, and instants are parsed by pandas in one go rather than row by row
    (SQLite hands them over as text), which keeps a few hundred thousand tickets to a second or two.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    selected = [
        type_coerce(_TICKET.c[name], String()).label(name) if sqlite and name in INSTANTS else _TICKET.c[name]
        for name in columns
    ]
    statement = select(*selected)
    if start is not None:
        statement = statement.where(_TICKET.c.requested_at >= start)
    if end is not None:
        statement = statement.where(_TICKET.c.requested_at < end)
    if service_codes:
        statement = statement.where(_TICKET.c.service_code.in_(list(service_codes)))
    rows = session.execute(statement.order_by(_TICKET.c.requested_at, _TICKET.c.id)).tuples().all()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    frame = pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in zip(columns, values, strict=True)})
    for name in columns:
        if name in INSTANTS:
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
        elif name in NUMBERS:
            frame[name] = pd.to_numeric(frame[name]).astype(np.float64 if name in ("lat", "lon") else "Int64")
        else:
            frame[name] = frame[name].astype(object)
    return frame


def count_tickets(session: Session) -> int:
    """How many tickets the database holds, generated or not."""
    return int(session.scalar(select(func.count()).select_from(_TICKET)) or 0)


def insert_generated(session: Session, frame: pd.DataFrame) -> int:
    """Insert generated tickets (TICKET_COLUMNS, channel "generated") in bulk; the caller commits. COPY on
    PostgreSQL, the driver's executemany on SQLite. No ledger events, notes or reporters (module docstring).

    The rows go to the driver as plain values, instants as UTC text in the form SQLAlchemy stores them on
    SQLite ("YYYY-MM-DD HH:MM:SS.ffffff"; PostgreSQL parses it with "+00:00"): going through the ORM types
    row by row would take ten times as long for a few hundred thousand rows.
    """
    names = list(TICKET_COLUMNS)
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    values = [_driver_values(frame[name], name in INSTANTS, "+00:00" if postgresql else "") for name in names]
    rows = list(zip(*values, strict=True))
    if postgresql:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY ticket ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO ticket ({', '.join(names)}) VALUES ({marks})"
    for first in range(0, len(rows), CHUNK):
        connection.exec_driver_sql(statement, rows[first : first + CHUNK])
    return len(rows)


def _driver_values(column: pd.Series, instant: bool, offset: str) -> list[Any]:
    """A column as values for the driver: instants as UTC text, ints, floats, str, and None for missing."""
    missing = column.isna().to_numpy()
    if instant:
        utc = pd.to_datetime(column, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        values = np.char.add(np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " "), offset)
        values = values.astype(object)
    else:
        values = column.to_numpy(dtype=object, copy=True)
    values[missing] = None
    return list(values.tolist())


# --- pictures -----------------------------------------------------------------------------------------------


def write_charts(report: Report, folder: Path) -> list[Path]:
    """One PNG per sector in `folder` (made if missing), named <quarter>-<sector>.png: the volumes of its
    services in this and the previous quarters, and the share of each closed within its deadline."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sector in report.sectors.loc[report.sectors["sector"] != TOTAL, "sector"].tolist():
        services = report.services[report.services["sector"] == sector].reset_index(drop=True)
        overall = report.sectors[report.sectors["sector"] == sector].iloc[0]
        figure = Figure(figsize=(max(8.0, 1.3 * len(services) + 4), 8), dpi=110)
        FigureCanvasAgg(figure)
        volumes, shares = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        x = np.arange(len(services))
        width = 0.8 / len(report.quarters)
        for k, label in enumerate(report.quarters):
            current = label == report.quarter
            column = "received" if current else f"received_{label}"
            heights = services[column].astype(np.float64).fillna(0.0).to_numpy()
            tone = "#c0392b" if current else str(0.75 - 0.45 * k / max(len(report.quarters) - 1, 1))
            volumes.bar(x + (k - (len(report.quarters) - 1) / 2) * width, heights, width, label=label,
                        color=tone)  # fmt: skip
        volumes.set_ylabel("requests received")
        volumes.legend(title="quarter", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        within = services["within_deadline_share"].astype(np.float64).to_numpy() * 100
        shares.bar(x, np.nan_to_num(within), 0.5, color="#2e86c1")
        for blank in np.flatnonzero(np.isnan(within)):
            shares.text(x[blank], 2, "no deadline\nor none due", ha="center", va="bottom", fontsize="x-small")
        sector_share = float(overall["within_deadline_share"])
        if not math.isnan(sector_share):
            shares.axhline(100 * sector_share, color="black", linestyle="--", linewidth=1,
                           label=f"sector: {share_text(sector_share)}")  # fmt: skip
            shares.legend(fontsize="small", loc="lower right")
        shares.set_ylim(0, 105)
        shares.set_ylabel("% closed within deadline")
        shares.set_xticks(x, services["service_code"].tolist(), rotation=30, ha="right")
        figure.suptitle(
            f"{sector}, {report.quarter} ({report.timezone}): {int(overall['received']):,} received, "
            f"{int(overall['cases']):,} cases, {share_text(sector_share) or 'n/a'} within deadline"
        )
        path = folder / f"{report.quarter}-{_slug(sector)}.png"
        figure.savefig(path, format="png", bbox_inches="tight")
        written.append(path)
    return written


def write_hotspot_map(cells: pd.DataFrame, path: Path, title: str = "Hotspots") -> None:
    """Draw `hotspots` cells coloured by their count (log scale), recurring zones outlined solid and
    numbered, other hot zones dashed; lon/lat axes with the aspect of a local equirectangular projection
    (distances look right), no tiles. The format follows the suffix (.png, .svg, .pdf)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(10, 9), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if len(cells):
        boxes = cells[["west", "south", "east", "north"]].to_numpy(dtype=np.float64)
        polygons = [[(w, s), (e, s), (e, n), (w, n)] for w, s, e, n in boxes.tolist()]
        counts = cells["count"].to_numpy(dtype=np.float64)
        painted = PolyCollection(polygons, array=counts, cmap="YlOrRd", edgecolors="none",
                                 norm=LogNorm(vmin=1, vmax=max(float(counts.max()), 2.0)))  # fmt: skip
        axes.add_collection(painted)
        figure.colorbar(painted, ax=axes, label="requests per cell", shrink=0.8)
        outlines = zone_outlines(cells)
        for zone in compute_zones(cells).to_dict("records"):
            recurring = bool(zone["recurring"])
            axes.add_collection(
                LineCollection(outlines[int(zone["zone"])], colors="#1b2631" if recurring else "#7f8c8d",
                               linewidths=2.0 if recurring else 1.0,
                               linestyles="solid" if recurring else "dashed")
            )  # fmt: skip
            if recurring:
                axes.annotate(str(zone["zone"]), (float(zone["east"]), float(zone["north"])),
                              fontsize="small", fontweight="bold", color="#1b2631")  # fmt: skip
        margin = 0.005
        axes.set_xlim(float(boxes[:, 0].min()) - margin, float(boxes[:, 2].max()) + margin)
        axes.set_ylim(float(boxes[:, 1].min()) - margin, float(boxes[:, 3].max()) + margin)
        axes.set_aspect(1 / math.cos(math.radians(float(cells["lat"].mean()))))
    legend = [
        Line2D([], [], color="#1b2631", linewidth=2.0, label="recurring zone"),
        Line2D([], [], color="#7f8c8d", linewidth=1.0, linestyle="dashed", label="hot zone, not recurring"),
    ]
    axes.legend(handles=legend, loc="upper left", fontsize="small")
    axes.set_xlabel("longitude")
    axes.set_ylabel("latitude")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=45)
    figure.savefig(path, format=path.suffix.lstrip(".").lower() or "png", bbox_inches="tight")


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "sector"
