"""Ping files for replay and batch detection: CSV (or .csv.gz), JSON lines, GTFS-realtime .pb (ADAPTER).

Every row goes through the parsers of the live path (`transit.telemetry.pings`); a row that fails is kept as a
`RejectedRow` with its row number, never dropped silently. Formats and numbering: docs/pings.md.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

import numpy as np
import pandas as pd
from pandas.api.types import is_string_dtype, union_categoricals

from transit.errors import TransitError
from transit.telemetry.model import PING_FIELDS, Ping, Rejected, RejectReason
from transit.telemetry.pings import (
    EPOCH_MILLISECONDS_ABOVE,
    FIELD_PARSERS,
    REQUIRED_FIELDS,
    FieldError,
    parse_gtfsrt_entities,
    parse_json_ping,
    parse_ping_fields,
)

FLOAT_FIELDS: Final = ("latitude", "longitude", "bearing", "speed")
TEXT_FIELDS: Final = tuple(f for f in PING_FIELDS if f != "timestamp" and f not in FLOAT_FIELDS)
_CSV: Final = (".csv", ".csv.gz")
_JSON_LINES: Final = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_GTFS_RT: Final = (".pb", ".pbf")
_SUFFIXES: Final = _CSV + _JSON_LINES + _GTFS_RT
_BAD: Final = object()  # marks a raw value that its field parser refused
_OFFSET: Final = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
_PARSE_SPLIT_BYTES: Final = 8 << 20  # a CSV body this big is parsed in parts, on threads
_PARSE_PARTS: Final = 4  # smaller parts are faster still: each one's buffers stay small
_PARSE_THREADS: Final = 2


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be used: `row` is the CSV line (header = 1), the JSON line, or the .pb entity index.

    `row` is None when the whole file failed (a .pb that is not a FeedMessage).
    """

    file: Path
    row: int | None
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True, eq=False)
class PingFile:
    """The pings of a file or folder (PING_FIELDS columns, by timestamp, vehicle_id) and its rejected rows."""

    pings: pd.DataFrame
    rejected: list[RejectedRow]

    def count_rejected(self) -> Counter[RejectReason]:
        """Rejected rows by reason."""
        return Counter(row.reason for row in self.rejected)


def read_ping_file(path: Path) -> PingFile:
    """Read a ping file, or every ping file directly in a folder; raises TransitError for an unusable path."""
    path = Path(path)
    frames: list[pd.DataFrame] = []
    rejected: list[RejectedRow] = []
    for file in _ping_files(path):
        frame, bad = _read_one(file)
        frames.append(frame)
        rejected.extend(bad)
    pings = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not _in_order(pings):
        pings = pings.sort_values(["timestamp", "vehicle_id"], kind="stable", ignore_index=True)
    return PingFile(pings, rejected)


def _in_order(pings: pd.DataFrame) -> bool:
    """Whether pings are already by time, then vehicle (most files are written so): no sort needed."""
    t = pd.DatetimeIndex(pings["timestamp"]).asi8  # int64: an aware column's to_numpy() gives objects
    if not bool(np.all(t[1:] >= t[:-1])):
        return False
    tied = np.flatnonzero(t[1:] == t[:-1])
    vehicle = pings["vehicle_id"].to_numpy(dtype=object)
    return bool(np.all(vehicle[tied + 1] >= vehicle[tied]))


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    return next((suffix for suffix in _SUFFIXES if name.endswith(suffix)), None)


def _ping_files(path: Path) -> list[Path]:
    expected = ", ".join(_SUFFIXES)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and _kind(p))
        if not files:
            raise TransitError(f"{path}: no ping files in this folder (expected {expected})")
        return files
    if not path.exists():
        raise TransitError(f"{path}: no such file or folder")
    if _kind(path) is None:
        raise TransitError(f"{path}: unknown kind of ping file (expected {expected}, or a folder of them)")
    return [path]


def _read_one(file: Path) -> tuple[pd.DataFrame, list[RejectedRow]]:
    kind = _kind(file)
    try:
        if kind in _CSV:
            return _read_csv(file)
        if kind in _JSON_LINES:
            return _read_json_lines(file)
        return _read_gtfsrt(file)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:  # unreadable, truncated gzip, binary
        raise TransitError(f"{file}: cannot read it as a {kind} ping file: {error}") from None


# --- the frame ----------------------------------------------------------------------------------------------


def _frame(columns: Mapping[str, Sequence[object] | np.ndarray]) -> pd.DataFrame:
    """A ping frame from parsed values: aware UTC timestamps, float64 (NaN for none), str-or-None ids."""
    data: dict[str, object] = {}
    for field in PING_FIELDS:
        values = np.asarray(columns[field], dtype=object)
        if field == "timestamp":
            data[field] = pd.DatetimeIndex(values, tz="UTC").as_unit("us")
        elif field in FLOAT_FIELDS:
            data[field] = np.array(values, dtype=np.float64)  # None becomes NaN
        else:
            data[field] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=list(PING_FIELDS))


def _frame_from_pings(pings: Sequence[Ping]) -> pd.DataFrame:
    return _frame({field: [getattr(ping, field) for ping in pings] for field in PING_FIELDS})


def frame_to_pings(pings: pd.DataFrame) -> list[Ping]:
    """The rows of a ping frame as Ping values (NaN becomes None), e.g. for publishing them."""
    timestamps = list(pings["timestamp"].dt.tz_convert("UTC").dt.to_pydatetime())
    floats = {f: [None if pd.isna(v) else float(v) for v in pings[f]] for f in FLOAT_FIELDS}
    texts = {f: [None if pd.isna(v) else str(v) for v in pings[f]] for f in TEXT_FIELDS}
    return [
        Ping(str(vehicle_id), timestamp, float(lat), float(lon), *rest)
        for vehicle_id, timestamp, lat, lon, *rest in zip(
            texts["vehicle_id"], timestamps, floats["latitude"], floats["longitude"],
            texts["trip_id"], texts["route_id"], texts["start_date"], texts["start_time"],
            floats["bearing"], floats["speed"], texts["carrier_id"],
            strict=True,
        )
    ]  # fmt: skip


# --- formats ------------------------------------------------------------------------------------------------


def _read_gtfsrt(file: Path) -> tuple[pd.DataFrame, list[RejectedRow]]:
    pings: list[Ping] = []
    rejected: list[RejectedRow] = []
    for index, result in parse_gtfsrt_entities(file.read_bytes()):
        if isinstance(result, Ping):
            pings.append(result)
        else:
            rejected.append(RejectedRow(file, index, result.reason, result.detail))
    return _frame_from_pings(pings), rejected


def _read_json_lines(file: Path) -> tuple[pd.DataFrame, list[RejectedRow]]:
    data = gzip.decompress(file.read_bytes()) if file.name.lower().endswith(".gz") else file.read_bytes()
    pings: list[Ping] = []
    rejected: list[RejectedRow] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue  # blank lines, and the end of the last line, are no rows
        result = parse_json_ping(line, None)
        if isinstance(result, Ping):
            pings.append(result)
        else:
            rejected.append(RejectedRow(file, number, result.reason, result.detail))
    return _frame_from_pings(pings), rejected


def _open_text(file: Path) -> TextIO:
    if file.name.lower().endswith(".gz"):
        return gzip.open(file, "rt", encoding="utf-8-sig", newline="")
    return file.open(encoding="utf-8-sig", newline="")


def _read_csv(file: Path) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """The fast columnar reader where the file allows it (no quotes), else the record-by-record one."""
    data = gzip.decompress(file.read_bytes()) if file.name.lower().endswith(".gz") else file.read_bytes()
    if data and not data.isspace() and b'"' not in data:  # isspace stops at the first other byte: no copy
        fast = _read_csv_columns(file, data)
        if fast is not None:
            return fast
    del data
    return _read_csv_records(file)


def _read_csv_columns(file: Path, data: bytes) -> tuple[pd.DataFrame, list[RejectedRow]] | None:
    """Parse a quote-free CSV with pandas' C reader and vectorised checks (None: it needs the slow reader).

    Without quotes, data row i is physical line i + 2, blank lines included (they are no rows). A row that
    the vectorised checks do not pass outright goes through the live path's parsers, which give its reason
    (or accept it, when only the fast check was too strict).
    """
    body_at = _line_after(data, 0)
    if body_at == len(data) and b"\r" in data:  # lines ended by CR alone (old Mac): the record reader's
        return None
    header = data[:body_at].decode("utf-8-sig", errors="replace").rstrip("\r\n").split(",")
    positions = _column_positions(file, header)
    known = {field: positions[field] for field in PING_FIELDS if field in positions}
    if len(set(header)) < len(header):  # pandas would rename repeated names: leave those to the slow reader
        return None
    table = _parse_columns(data, body_at, header, known)
    if table is None:
        return None
    table = table.rename(columns={header[i]: f for f, i in known.items()})
    # A blank line is a row of nothing: look for them only if some row has no latitude.
    maybe_blank = "latitude" not in table.columns or bool(table["latitude"].isna().any())
    blank = _blank_lines(data, len(table)) if maybe_blank else np.zeros(len(table), dtype=bool)
    columns: dict[str, object] = {}
    bad = np.zeros(len(table), dtype=bool)
    for field in PING_FIELDS:
        if field not in table.columns:
            columns[field] = None
            bad |= field in REQUIRED_FIELDS
        elif field == "timestamp":
            columns[field], failed = _timestamps(table[field])
            bad |= failed
        elif field in FLOAT_FIELDS:
            values = table[field].to_numpy(dtype=np.float64)
            columns[field], failed = values, _bad_numbers(field, values)
            bad |= failed
        else:
            columns[field], failed = _texts(field, table[field])
            bad |= failed
    bad &= ~blank
    good = ~bad & ~blank
    frame = _columns_frame(columns, good)
    rejected: list[RejectedRow] = []
    late: list[Ping] = []
    raw = table.iloc[np.flatnonzero(bad)].astype(object)
    for i, row in zip(np.flatnonzero(bad), raw.to_dict("records"), strict=True):
        fields = {f: "" if pd.isna(row.get(f)) else str(row.get(f)) for f in PING_FIELDS}
        result = parse_ping_fields(fields)
        if isinstance(result, Rejected):
            rejected.append(RejectedRow(file, int(i) + 2, result.reason, result.detail))
        else:
            late.append(result)
    if late:
        frame = pd.concat([frame, _frame_from_pings(late)], ignore_index=True)
    return frame, rejected


def _parse_columns(
    data: bytes, body_at: int, header: list[str], known: dict[str, int]
) -> pd.DataFrame | None:
    """The known columns of a quote-free CSV body (from `body_at`), one row per line, blank ones included:
    numbers as float64, the rest as text, in categories (timestamps too: a fleet shares them). None if
    pandas cannot parse it (a non-number in a number column, a line with too many fields, ...).

    A big body is cut at line ends into _PARSE_PARTS parts parsed on threads (pandas' tokenizer runs
    outside the GIL): about twice as fast on two cores; the parts' categories are then united. pandas reads
    categories that all look like numbers as numbers ("007" as 7): such a column is read again as text.
    """
    numeric = [header[known[f]] for f in FLOAT_FIELDS if f in known]
    dtypes: dict[str, str] = {header[i]: "category" for i in known.values()}
    dtypes |= dict.fromkeys(numeric, "float64")
    size = len(data) - body_at
    parts = _PARSE_PARTS if size >= _PARSE_SPLIT_BYTES else 1
    cuts = [body_at]
    for k in range(1, parts):
        cuts.append(max(cuts[-1], _line_after(data, body_at + size * k // parts)))
    cuts.append(len(data))
    view = memoryview(data)
    pieces = [view[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    if not pieces:  # a header alone
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})

    def parse(names: list[str]) -> list[pd.DataFrame]:
        def one(piece: memoryview) -> pd.DataFrame:
            return pd.read_csv(
                io.BytesIO(piece), encoding="utf-8", header=None, names=header, usecols=names,
                dtype={name: dtypes[name] for name in names}, keep_default_na=False,
                na_values={name: [""] for name in numeric if name in names}, skip_blank_lines=False,
                engine="c", low_memory=True,
            )  # fmt: skip

        with ThreadPoolExecutor(max_workers=min(len(pieces), _PARSE_THREADS)) as pool:
            return list(pool.map(one, pieces))

    try:
        tables = parse([header[i] for i in known.values()])
        altered = [
            name
            for name in tables[0].columns
            if dtypes[name] == "category" and not all(is_string_dtype(t[name].cat.categories) for t in tables)
        ]
        if altered:
            dtypes |= dict.fromkeys(altered, "object")
            for table, text in zip(tables, parse(altered), strict=True):
                table[altered] = text[altered]
    except (ValueError, pd.errors.ParserError):
        return None
    if len(tables) == 1:
        return tables[0]
    columns: dict[str, object] = {}
    for name in tables[0].columns:
        if dtypes[name] != "category":
            columns[name] = np.concatenate([t[name].to_numpy(dtype=dtypes[name]) for t in tables])
            continue
        try:
            columns[name] = pd.Series(union_categoricals([t[name] for t in tables]))
        except TypeError:  # categories of different kinds in two parts: the record reader decides
            return None
    return pd.DataFrame(columns)


def _line_after(data: bytes, at: int) -> int:
    """Where the line after position `at` begins (len(data) if none does)."""
    end = data.find(b"\n", at)
    return len(data) if end < 0 else end + 1


def _blank_lines(data: bytes, rows: int) -> np.ndarray:
    """Whether each data row (line i + 2) is an empty line."""
    if b"\n\n" not in data and b"\n\r\n" not in data:  # most files: no line to find
        return np.zeros(rows, dtype=bool)
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    starts = np.r_[0, ends + 1]
    ends = np.r_[ends, len(data)]
    length = ends - starts
    carriage = np.zeros(len(starts), dtype=bool)
    inside = length > 0
    carriage[inside] = np.frombuffer(data, dtype=np.uint8)[ends[inside] - 1] == ord("\r")
    empty = (length - carriage) == 0
    out = np.zeros(rows, dtype=bool)
    take = min(rows, len(empty) - 1)
    out[:take] = empty[1 : 1 + take]
    return out


def _timestamps(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 with Z or an offset, or epoch seconds/milliseconds -> UTC ns; and where that failed.

    Each distinct text is parsed once: a fleet reporting every few seconds shares its timestamps.
    """
    categorical = text.astype("category")
    stamps, _ = _distinct_timestamps(pd.Series(categorical.cat.categories.astype(str)))
    stamps = np.r_[stamps, np.datetime64("NaT", "ns")][categorical.cat.codes.to_numpy()]  # -1: missing
    return stamps, np.isnat(stamps)


def _distinct_timestamps(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = text.fillna("").astype(str)
    suffix = values.str[-6:]
    distinct = pd.unique(suffix)
    offset_ok = {s: bool(_OFFSET.search(s)) for s in distinct}
    with_offset = suffix.map(offset_ok).to_numpy(dtype=bool)
    parsed = pd.to_datetime(values.where(with_offset), format="ISO8601", utc=True, errors="coerce")
    stamps = parsed.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").copy()
    missing = np.isnat(stamps)
    if missing.any():
        number = pd.to_numeric(values[missing], errors="coerce").to_numpy(dtype=np.float64)
        finite = np.isfinite(number) & (np.abs(number) < 1e15)
        scale = np.where(number > EPOCH_MILLISECONDS_ABOVE, 1e6, 1e9)
        epoch = np.where(finite, np.round(number * scale), 0).astype(np.int64).astype("datetime64[ns]")
        stamps[np.flatnonzero(missing)[finite]] = epoch[finite]
    return stamps, np.isnat(stamps)


def _bad_numbers(field: str, values: np.ndarray) -> np.ndarray:
    """Where a number column fails its field: missing where required, not finite, out of range."""
    if field in REQUIRED_FIELDS:
        return np.asarray(~np.isfinite(values), dtype=bool)
    present = ~np.isnan(values)
    low, high = {"bearing": (0.0, 360.0), "speed": (0.0, np.inf)}.get(field, (-np.inf, np.inf))
    with np.errstate(invalid="ignore"):
        inside = (values >= low) & (values <= high) & np.isfinite(values)
    return np.asarray(present & ~inside, dtype=bool)


def _texts(field: str, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A text column parsed once per distinct value by its field parser; and where it failed."""
    categorical = column.astype("category")
    parse = FIELD_PARSERS[field]
    mapped: list[object] = []
    for value in categorical.cat.categories:
        try:
            mapped.append(parse(str(value), field))
        except FieldError:
            mapped.append(_BAD)
    codes = categorical.cat.codes.to_numpy()  # -1 (missing) takes the last entries below
    refused = np.array([m is _BAD for m in mapped] + [False], dtype=bool)
    blank = np.array([m is None for m in mapped] + [True], dtype=bool)
    failed = refused[codes] | (blank[codes] & (field in REQUIRED_FIELDS))
    labels = np.array([None if m is _BAD or m is None else str(m) for m in mapped] + [None], dtype=object)
    return labels[codes], np.asarray(failed, dtype=bool)


def _columns_frame(columns: Mapping[str, object], good: np.ndarray) -> pd.DataFrame:
    """The frame of the rows kept: UTC timestamps (us), floats, texts (str or None), as `_frame` makes."""
    data: dict[str, object] = {}
    n = int(good.sum())
    rows = slice(None) if n == len(good) else good  # all good (most files): no copy
    for field in PING_FIELDS:
        value = columns[field]
        if value is None:
            data[field] = np.full(n, np.nan) if field in FLOAT_FIELDS else pd.Series([None] * n, dtype=object)
        elif field == "timestamp":
            data[field] = pd.DatetimeIndex(np.asarray(value)[rows], tz="UTC").as_unit("us")
        elif field in FLOAT_FIELDS:
            data[field] = np.asarray(value)[rows]
        else:
            data[field] = pd.Series(np.asarray(value, dtype=object)[rows], dtype=object, copy=False)
    # Columns kept as they are, not stacked into blocks: that would copy millions of rows once more.
    return pd.DataFrame(data, columns=list(PING_FIELDS), copy=False)


def _read_csv_records(file: Path) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Parse column by column, each distinct value once; a failing row is re-parsed whole for its reason."""
    positions, lines, rows, rejected = _csv_records(file)
    columns = list(zip(*rows, strict=True)) if rows else []
    raw = {f: columns[positions[f]] if f in positions and rows else ("",) * len(rows) for f in PING_FIELDS}
    parsed = {field: _parse_column(field, raw[field]) for field in PING_FIELDS}
    bad = np.zeros(len(rows), dtype=bool)
    for values, any_bad in parsed.values():
        if any_bad:
            bad |= np.fromiter((value is _BAD for value in values), dtype=bool, count=len(rows))
    late: list[Ping] = []
    for i in np.flatnonzero(bad):
        result = parse_ping_fields({field: raw[field][i] for field in PING_FIELDS})
        if isinstance(result, Rejected):
            rejected.append(RejectedRow(file, lines[i], result.reason, result.detail))
        else:  # the same parsers refused one of these values, so this does not happen; keep it all the same
            late.append(result)
    good = ~bad
    frame = _frame({field: np.asarray(values, dtype=object)[good] for field, (values, _) in parsed.items()})
    return (pd.concat([frame, _frame_from_pings(late)], ignore_index=True) if late else frame), rejected


def _csv_records(file: Path) -> tuple[dict[str, int], list[int], list[list[str]], list[RejectedRow]]:
    """Column positions, then the first physical line and fields of each record; long records are rejected."""
    lines: list[int] = []
    rows: list[list[str]] = []
    rejected: list[RejectedRow] = []
    with _open_text(file) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise TransitError(f"{file}: empty file; expected a header row of {', '.join(PING_FIELDS)}")
        positions = _column_positions(file, header)
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if len(record) > len(header):
                detail = f"{len(record)} fields where the header has {len(header)}"
                rejected.append(RejectedRow(file, start, RejectReason.UNPARSABLE, detail))
            elif record:  # a blank line is no record; a short one has its trailing fields empty, as in GTFS
                lines.append(start)
                rows.append(record + [""] * (len(header) - len(record)))
    return positions, lines, rows, rejected


def _column_positions(file: Path, header: list[str]) -> dict[str, int]:
    """Where each known column is; unknown columns are ignored, a missing required one is an error."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name.strip() in PING_FIELDS:
            positions.setdefault(name.strip(), index)
    missing = [field for field in REQUIRED_FIELDS if field not in positions]
    if missing:
        raise TransitError(
            f"{file}: the header has no {', '.join(missing)} column; a ping file needs "
            f"{', '.join(REQUIRED_FIELDS)} (and may have {', '.join(PING_FIELDS[4:])})"
        )
    return positions


def _parse_column(field: str, raw: Sequence[str]) -> tuple[list[object], bool]:
    """Each value parsed by the live path's field parser, once per distinct value; _BAD where it fails."""
    parse = FIELD_PARSERS[field]
    required = field in REQUIRED_FIELDS
    parsed: dict[str, object] = {}
    for value in set(raw):
        try:
            result = parse(value, field)
        except FieldError:
            result = _BAD
        parsed[value] = _BAD if required and result is None else result
    return [parsed[value] for value in raw], any(value is _BAD for value in parsed.values())


def write_ping_csv(pings: pd.DataFrame, path: Path) -> None:
    """Write a ping frame as CSV: PING_FIELDS header, ISO 8601 UTC times ending in Z; gzip if named *.gz."""
    path = Path(path)
    missing = [field for field in PING_FIELDS if field not in pings.columns]
    if missing:
        raise TransitError(f"{path}: cannot write pings without the column(s) {', '.join(missing)}")
    if not isinstance(pings["timestamp"].dtype, pd.DatetimeTZDtype):
        raise TransitError(f"{path}: ping timestamps must be timezone-aware, not {pings['timestamp'].dtype}")
    frame = pings.loc[:, list(PING_FIELDS)].copy()
    utc = pings["timestamp"].dt.tz_convert("UTC")
    frame["timestamp"] = utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    fraction = (utc.dt.microsecond != 0).to_numpy()
    if fraction.any():
        frame.loc[fraction, "timestamp"] = utc[fraction].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    gzipped = path.name.lower().endswith(".gz")
    try:
        frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0} if gzipped else None)
    except OSError as error:
        raise TransitError(f"{path}: cannot write the ping file: {error}") from None
