"""Publish a ping file to the broker in timestamp order, as fast as asked (ADAPTER)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from transit.telemetry.files import read_ping_file
from transit.telemetry.model import PING_FIELDS, Ping
from transit.telemetry.pings import ping_to_json, vehicle_topic


class PingSink(Protocol):
    def publish(self, topic: str, payload: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class ReplayReport:
    published: int
    rejected: int
    seconds: float
    first_problem: str | None


def replay_pings(path: Path, sink: PingSink, prefix: str, speed: float) -> ReplayReport:
    """Publish every usable ping of `path`; `speed` 60 plays an hour in a minute, 0 as fast as possible."""
    ping_file = read_ping_file(path)
    started = time.monotonic()
    published = publish_frame(ping_file.pings, sink, prefix, speed)
    first = ping_file.rejected[0] if ping_file.rejected else None
    problem = None if first is None else f"{first.file} row {first.row}: {first.reason} ({first.detail})"
    return ReplayReport(published, len(ping_file.rejected), time.monotonic() - started, problem)


def publish_frame(
    pings: pd.DataFrame, sink: PingSink, prefix: str, speed: float, *, in_given_order: bool = False
) -> int:
    """Publish a frame of pings (PING_FIELDS columns), paced by `speed` (0: at once).

    By timestamp, or `in_given_order` (a simulation's delivery order, late pings included); pacing then
    follows the newest timestamp sent so far.
    """
    ordered = pings if in_given_order else pings.sort_values("timestamp", kind="stable")
    if ordered.empty:
        return 0
    first = newest = ordered["timestamp"].min()
    started = time.monotonic()
    count = 0
    for ping in _rows(ordered):
        if speed > 0:
            newest = max(newest, ping.timestamp)
            delay = started + (newest - first).total_seconds() / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sink.publish(vehicle_topic(ping.vehicle_id, prefix), ping_to_json(ping))
        count += 1
    return count


def _rows(frame: pd.DataFrame) -> Iterator[Ping]:
    columns = [frame[name].tolist() for name in PING_FIELDS]
    for values in zip(*columns, strict=True):
        record = dict(zip(PING_FIELDS, values, strict=True))
        yield Ping(**{k: (None if _missing(v) else v) for k, v in record.items()})  # type: ignore[arg-type]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT or value is pd.NA
