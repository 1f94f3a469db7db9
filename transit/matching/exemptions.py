"""Trips the city itself exempted or cancelled: they get the verdict `exempt`, never a violation (ADAPTER).

Two sources, given to `transit detect --exempt FILE` (repeatable):

- a CSV with `trip_id` and optionally `start_time` (empty: every instance of the trip that day),
  `service_date` (empty: any day) and `reason` (`exemption`, the default, `canceled_by_agency` or
  `service_alert`); unknown columns are ignored;
- a GTFS-realtime FeedMessage (.pb): every TripUpdate whose trip is CANCELED exempts that trip
  (`canceled_by_agency`), on its start_date and start_time where given.

Bad input raises BadParameter naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
from google.transit import gtfs_realtime_pb2

from transit.errors import BadParameter
from transit.matching.verdicts import EXEMPT_REASONS, Reason

COLUMNS = ("trip_id", "start_time", "service_date", "reason")


def read_exemptions(paths: list[Path]) -> pd.DataFrame:
    """All exemptions of the given files (COLUMNS; start_time and service_date None where any)."""
    frames = [_read_pb(path) if path.suffix.lower() in (".pb", ".pbf") else _read_csv(path) for path in paths]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)


def apply_exemptions(plan: pd.DataFrame, exemptions: pd.DataFrame) -> pd.DataFrame:
    """The plan with `exempt_reason` set on the instances that an exemption names (the first one wins)."""
    out = plan.copy()
    out["exempt_reason"] = None
    if exemptions.empty:
        return out
    day = str(plan["service_date"].iloc[0]) if len(plan) else ""
    rules = exemptions[exemptions["service_date"].isna() | (exemptions["service_date"] == day)]
    for exact in (True, False):  # instance-specific exemptions first, then whole trips
        part = rules[rules["start_time"].notna() == exact]
        on = ["trip_id", "start_time"] if exact else ["trip_id"]
        reasons = part.drop_duplicates(on).set_index(on)["reason"]
        index = pd.MultiIndex.from_frame(out[on]) if exact else pd.Index(out["trip_id"])
        found = pd.Series(reasons.reindex(index).to_numpy(), index=out.index)
        out["exempt_reason"] = out["exempt_reason"].where(out["exempt_reason"].notna(), found)
    reason = out["exempt_reason"].astype(object)
    out["exempt_reason"] = reason.where(reason.notna(), None)
    return out[[*plan.columns, "exempt_reason"]]


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BadParameter(f"--exempt: {path}: no such file")
    rows: list[dict[str, str | None]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "trip_id" not in [n.strip() for n in reader.fieldnames]:
            raise BadParameter(f"--exempt: {path}: the header needs a trip_id column")
        for record in reader:
            line = reader.line_num
            values = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
            rows.append(_checked(path, line, values))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _checked(path: Path, line: int, values: dict[str, str]) -> dict[str, str | None]:
    where = f"--exempt: {path} row {line}"
    trip_id = values.get("trip_id", "")
    if not trip_id:
        raise BadParameter(f"{where}, trip_id: empty")
    start_time = values.get("start_time") or None
    if start_time is not None and not _is_gtfs_time(start_time):
        raise BadParameter(f"{where}, start_time: {start_time!r} is not HH:MM:SS")
    service_date = values.get("service_date") or None
    if service_date is not None:
        try:
            service_date = dt.date.fromisoformat(service_date).isoformat()
        except ValueError:
            raise BadParameter(f"{where}, service_date: {service_date!r} is not YYYY-MM-DD") from None
    reason = values.get("reason") or str(Reason.EXEMPTION)
    if reason not in {str(r) for r in EXEMPT_REASONS}:
        allowed = ", ".join(sorted(str(r) for r in EXEMPT_REASONS))
        raise BadParameter(f"{where}, reason: {reason!r} is not one of {allowed}")
    return {"trip_id": trip_id, "start_time": start_time, "service_date": service_date, "reason": reason}


def _is_gtfs_time(text: str) -> bool:
    parts = text.split(":")
    return (
        len(parts) == 3
        and all(p.isdigit() for p in parts)
        and len(parts[1]) == len(parts[2]) == 2
        and int(parts[1]) < 60
        and int(parts[2]) < 60
    )


def _read_pb(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BadParameter(f"--exempt: {path}: no such file")
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(path.read_bytes())
    except Exception as error:  # protobuf's DecodeError: any failure to decode means the same here
        raise BadParameter(f"--exempt: {path}: not a GTFS-realtime FeedMessage: {error}") from None
    canceled = gtfs_realtime_pb2.TripDescriptor.CANCELED
    rows = []
    for index, entity in enumerate(message.entity):
        if not entity.HasField("trip_update"):
            continue
        trip = entity.trip_update.trip
        if trip.schedule_relationship != canceled:
            continue
        if not trip.trip_id:
            raise BadParameter(f"--exempt: {path} entity {index}, trip_id: a CANCELED trip without trip_id")
        date = None
        if trip.start_date:
            try:
                date = dt.datetime.strptime(trip.start_date, "%Y%m%d").date().isoformat()
            except ValueError:
                raise BadParameter(
                    f"--exempt: {path} entity {index}, start_date: {trip.start_date!r}"
                ) from None
        rows.append(
            {
                "trip_id": trip.trip_id,
                "start_time": trip.start_time or None,
                "service_date": date,
                "reason": str(Reason.CANCELED_BY_AGENCY),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
