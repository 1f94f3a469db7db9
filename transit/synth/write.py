"""ADAPTER: write a made-up city to disk, a GTFS zip with the population and demand CSVs beside it.

The bytes depend only on the city: members in sorted order, a fixed timestamp, no index column.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from transit.synth.city import City

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP64_ROWS = 10_000_000  # members this long may pass 2 GiB uncompressed


def side_files(out: Path) -> tuple[Path, Path]:
    """The population grid and OD demand paths beside FEED.zip: `<stem>.population.csv`, `<stem>.od.csv`."""
    return out.with_name(f"{out.stem}.population.csv"), out.with_name(f"{out.stem}.od.csv")


def write_city(city: City, out: Path) -> None:
    """Write `city` as the GTFS zip `out` plus its two side files, creating the folder if missing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in sorted(city.gtfs_tables().items()):
            _write_member(archive, f"{name}.txt", frame)
    population_path, demand_path = side_files(out)
    with population_path.open("w", encoding="utf-8", newline="") as sink:
        _write_csv(city.population, sink)
    with demand_path.open("w", encoding="utf-8", newline="") as sink:
        _write_csv(city.demand, sink)


def _write_member(archive: zipfile.ZipFile, name: str, frame: pd.DataFrame) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with (
        archive.open(info, "w", force_zip64=len(frame) > _ZIP64_ROWS) as member,
        io.TextIOWrapper(member, encoding="utf-8", newline="") as sink,
    ):
        _write_csv(frame, sink)


def _write_csv(frame: pd.DataFrame, sink: io.TextIOBase | io.TextIOWrapper) -> None:
    frame.to_csv(sink, index=False, lineterminator="\n")
