"""Print records as an aligned table, JSON or CSV: the three output formats of every command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def to_json_value(value: Any) -> Any:
    """A value JSON can hold: UTC instants as ISO 8601 with Z, NA as null, numpy scalars as Python ones;
    dicts and lists converted throughout."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, pd.Timestamp | dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def frame_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as JSON-ready dicts, keeping column order."""
    columns = list(frame.columns)
    return [
        {column: to_json_value(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def render_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def render_csv(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else record.get(c) for c in columns])
    return buffer.getvalue()


def render_table(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Columns padded to their widest value; an empty list prints the header and '(none)'."""
    cells = [[_cell(record.get(c)) for c in columns] for record in records]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if not cells:
        lines.append("(none)")
    return "\n".join(lines) + "\n"


def render_records(records: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: OutputFormat) -> str:
    if fmt is OutputFormat.JSON:
        return render_json([{c: r.get(c) for c in columns} for r in records]) + "\n"
    if fmt is OutputFormat.CSV:
        return render_csv(records, columns)
    return render_table(records, columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
