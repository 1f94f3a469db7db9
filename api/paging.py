"""Cursor paging, page sizes and CSV export, shared by every list."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

from transit.errors import BadParameter
from transit.render import to_json_value

MAX_LIMIT = 1000
CSV_ROWS = 100_000  # a CSV export holds this many rows from the cursor on; X-Next-Cursor names the rest
BAD_CURSOR = "cursor: not a cursor this API gave out; use the next_cursor of a page"
T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page (omit for the first)")
]


class ListFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


FormatQuery = Annotated[ListFormat, Query(alias="format", description="json (paged) or csv")]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def page_size(limit: int, fmt: ListFormat) -> int:
    """Rows per answer: the page's limit, or CSV_ROWS for a CSV export."""
    return CSV_ROWS if fmt is ListFormat.CSV else limit


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor: the order key of the last row of a page."""
    text = json.dumps([to_json_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The values of a cursor this API gave out; BadParameter naming `cursor` otherwise."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise BadParameter(BAD_CURSOR)
    return values


def cursor_int(value: Any) -> int:
    """A row or sequence number of a decoded cursor; BadParameter naming `cursor` for anything else (a
    tampered cursor must not reach int() or the database as it is)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadParameter(BAD_CURSOR)
    return value


def cursor_date(value: Any) -> dt.date:
    """A service date of a decoded cursor; BadParameter naming `cursor` for anything else."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BadParameter(BAD_CURSOR) from None


def csv_response(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str], name: str, next_cursor: str | None = None
) -> Response:
    """The records as a CSV download (nested values as JSON); `next_cursor`, where more rows follow, goes
    in the X-Next-Cursor header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if next_cursor is not None:
        headers["X-Next-Cursor"] = next_cursor
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(value: Any) -> str:
    value = to_json_value(value)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A page, or CSV"}
}
