"""Read a feed's files from a zip or a folder and check their bytes and CSV structure.

This runs before anything is parsed with pandas or gtfs-kit, which fail or invent column names on UTF-16,
NUL bytes or missing headers. Each file becomes a `Table` of strings with the physical line of every row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
import pandas as pd

from transit.gtfs.findings import Findings
from transit.gtfs.model import FindingCode, RawFeed, Severity, Table
from transit.gtfs.schema import FILES, KNOWN_FILES, REQUIRED_FILES

C = FindingCode
_IGNORED_PREFIXES = ("__MACOSX/", ".")


def read_raw_feed(path: Path) -> tuple[RawFeed | None, Findings]:
    """Read every file of the feed at `path` (zip or folder); structural defects become findings."""
    findings = Findings()
    members = _read_members(path, findings)
    if members is None:
        return None, findings
    return _parse_members(str(path), members, findings), findings


def read_raw_feed_archive(archive: bytes, source: str) -> tuple[RawFeed | None, Findings]:
    """Like read_raw_feed, for a zip archive held in memory (a stored feed version)."""
    findings = Findings()
    members = _select_members(dict(_zip_entries(io.BytesIO(archive))), findings)
    return _parse_members(source, members, findings), findings


def pack_members(members: dict[str, bytes]) -> bytes:
    """A zip archive of the members with deterministic bytes: sorted names, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), members[name])
    return buffer.getvalue()


def _parse_members(source: str, members: dict[str, bytes], findings: Findings) -> RawFeed:
    tables: dict[str, Table] = {}
    for file_name in sorted(members):
        table_name = file_name.removesuffix(".txt")
        text = _decode(file_name, members[file_name], findings, required=table_name in REQUIRED_FILES)
        if text is None:
            continue
        table = _parse_csv(table_name, file_name, text, findings)
        if table is not None:
            tables[table_name] = table
    return RawFeed(source, tables, content_sha256(members), members)


def content_sha256(members: dict[str, bytes]) -> str:
    """Hash of the feed's content: file names and bytes, independent of zip metadata and member order."""
    digest = hashlib.sha256()
    for name in sorted(members):
        digest.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
    return digest.hexdigest()


def _read_members(path: Path, findings: Findings) -> dict[str, bytes] | None:
    """The .txt members of the feed by file name; None when the feed cannot be opened at all."""
    if not path.exists():
        findings.add(Severity.ERROR, C.UNREADABLE_FEED, None, None, None, f"{path}: no such file or folder")
        return None
    try:
        entries = dict(_zip_entries(path)) if path.is_file() else dict(_folder_entries(path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        kind = "a readable zip archive" if path.is_file() else "a readable folder"
        findings.add(Severity.ERROR, C.UNREADABLE_FEED, None, None, None, f"{path} is not {kind}: {exc}")
        return None
    return _select_members(entries, findings)


def _select_members(entries: dict[str, bytes], findings: Findings) -> dict[str, bytes]:
    """The GTFS files at the root of the feed; anything else is reported and left out."""
    members: dict[str, bytes] = {}
    for name, data in entries.items():
        pure = PurePosixPath(name)
        if len(pure.parts) > 1:
            if pure.suffix == ".txt" and pure.stem in KNOWN_FILES:
                findings.add(
                    Severity.ERROR,
                    C.NESTED_FILE,
                    name,
                    None,
                    None,
                    f"{name} is inside a folder of the archive; GTFS files must be at its root",
                )
            continue
        if pure.suffix != ".txt" or pure.stem not in KNOWN_FILES:
            findings.add(
                Severity.WARNING,
                C.UNKNOWN_FILE,
                name,
                None,
                None,
                f"{name} is not a GTFS file; it is ignored",
            )
            continue
        members[name] = data
    return members


def _zip_entries(file: Path | IO[bytes]) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.filename.startswith(_IGNORED_PREFIXES):
                continue
            yield info.filename, archive.read(info)


def _folder_entries(path: Path) -> Iterator[tuple[str, bytes]]:
    for child in sorted(path.iterdir()):
        if child.is_file() and not child.name.startswith("."):
            yield child.name, child.read_bytes()


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(file_name: str, data: bytes, findings: Findings, *, required: bool) -> str | None:
    """The file's text, or None (with findings) when its bytes are not usable UTF-8 CSV."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_like_utf16(data):
        findings.add(
            Severity.ERROR,
            C.ENCODING_UTF16,
            file_name,
            None,
            None,
            f"{file_name} is encoded as UTF-16; GTFS files must be UTF-8 (re-save it as UTF-8)",
        )
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        severity = Severity.ERROR if required else Severity.WARNING
        findings.add(
            severity,
            C.EMPTY_FILE,
            file_name,
            None,
            None,
            f"{file_name} is empty: it has no header line and no rows",
        )
        return None
    nul = data.find(b"\0")
    if nul >= 0:
        lines = sorted({_line_at(data, i) for i in _offsets(data, b"\0", limit=50)})
        for line in lines:
            findings.add(
                Severity.ERROR,
                C.NUL_BYTE,
                file_name,
                line,
                None,
                f"{file_name} line {line} contains a NUL byte (0x00); the file is binary or corrupt",
            )
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        bad = data[exc.start : exc.start + 4]
        findings.add(
            Severity.ERROR,
            C.INVALID_UTF8,
            file_name,
            line,
            None,
            f"{file_name} line {line} is not valid UTF-8 (bytes {bad.hex(' ')}); "
            "GTFS files must be UTF-8, this looks like a legacy code page",
        )
        return None


def _offsets(data: bytes, needle: bytes, limit: int) -> Iterator[int]:
    start = data.find(needle)
    while start >= 0 and limit > 0:
        yield start
        limit -= 1
        start = data.find(needle, start + 1)


def _looks_like_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text then has a NUL in every other byte."""
    sample = data[:512]
    return len(sample) >= 4 and sample.count(b"\0") * 3 >= len(sample)


def _parse_csv(table_name: str, file_name: str, text: str, findings: Findings) -> Table | None:
    """Check the CSV structure of one file and return its rows as a table of strings."""
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (StopIteration, csv.Error) as exc:
        findings.add(
            Severity.ERROR, C.MISSING_HEADER, file_name, 1, None, f"{file_name}: no header line ({exc})"
        )
        return None
    columns = _check_header(table_name, file_name, header, findings)
    if columns is None:
        return None
    try:
        lines, widths = _row_structure(text)
    except _Malformed as exc:
        findings.add(
            Severity.ERROR, C.UNTERMINATED_QUOTE, file_name, exc.line, None,
            f"{file_name} line {exc.line}: malformed CSV ({exc.reason}); a quote is probably not closed",
        )  # fmt: skip
        return None
    long_rows = widths > len(columns)
    _report_widths(file_name, lines, widths, len(columns), findings)
    good_lines = lines[~long_rows]
    frame = _frame(text, columns, _good_rows(text, len(columns)) if long_rows.any() else None)
    if len(frame) != len(good_lines):
        # The two parsers disagree about row boundaries only on exotic quoting; keep the rows, lose the lines.
        good_lines = np.zeros(len(frame), dtype=np.int64)
    return Table(table_name, frame, good_lines, frozenset(columns))


class _Malformed(Exception):
    def __init__(self, line: int, reason: str) -> None:
        self.line, self.reason = line, reason


def _row_structure(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Physical start line and field count of every non-blank row after the header."""
    if '"' not in text and text.count("\r") == text.count("\r\n") and not text.startswith(("\n", "\r")):
        return _plain_structure(text)
    return _quoted_structure(text)


def _plain_structure(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Without quotes a row is a line, and its fields are its commas plus one: counted with numpy."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    newline = np.flatnonzero(data == ord("\n"))
    commas = np.flatnonzero(data == ord(","))  # sorted positions; fields = commas in the line + 1
    starts = np.r_[0, newline + 1]
    ends = np.r_[newline, len(data)]
    if starts[-1] == len(data):  # the final newline does not open another line
        starts, ends = starts[:-1], ends[:-1]
    carriage = np.zeros(len(ends), dtype=bool)
    nonempty = ends > starts
    carriage[nonempty] = data[ends[nonempty] - 1] == ord("\r")
    blank = (ends - starts - carriage) <= 0
    # A line of spaces is blank too (pandas skips it); only comma-free lines can be.
    for line in np.flatnonzero(~blank & (np.searchsorted(commas, ends) == np.searchsorted(commas, starts))):
        blank[line] = not _line_text(data, starts[line], ends[line]).strip()
    rows = np.flatnonzero(~blank)
    rows = rows[rows > 0]  # line 1 is the header
    fields = np.searchsorted(commas, ends[rows]) - np.searchsorted(commas, starts[rows]) + 1
    return rows + 1, fields


def _line_text(data: np.ndarray, start: int, end: int) -> str:
    return bytes(data[start:end]).decode("utf-8")


def _quoted_structure(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The csv module's reading, for files with quoted fields (which may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines: list[int] = []
    widths: list[int] = []
    previous_end = 0
    try:
        for number, row in enumerate(reader):
            start, previous_end = previous_end + 1, reader.line_num
            if number > 0 and not _blank(row):  # the header, and blank lines, which pandas skips too
                lines.append(start)
                widths.append(len(row))
    except csv.Error as exc:
        raise _Malformed(previous_end + 1, str(exc)) from None
    return np.asarray(lines, dtype=np.int64), np.asarray(widths, dtype=np.int64)


def _blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _report_widths(
    file_name: str, lines: np.ndarray, widths: np.ndarray, width: int, findings: Findings
) -> None:
    """Rows longer than the header lose data (error); shorter ones are read with empty trailing fields."""
    for line, count in zip(lines[widths > width].tolist(), widths[widths > width].tolist(), strict=True):
        findings.add(
            Severity.ERROR, C.WRONG_FIELD_COUNT, file_name, line, None,
            f"{file_name} line {line} has {count} fields; the header has {width}",
        )  # fmt: skip
    for line, count in zip(lines[widths < width].tolist(), widths[widths < width].tolist(), strict=True):
        # Real feeds often drop trailing empty fields; the row is read with those fields empty.
        findings.add(
            Severity.WARNING, C.SHORT_ROW, file_name, line, None,
            f"{file_name} line {line} has {count} fields; the header has {width} "
            "(the missing trailing fields are read as empty)",
        )  # fmt: skip


def _check_header(table_name: str, file_name: str, header: list[str], findings: Findings) -> list[str] | None:
    stripped = [name.strip() for name in header]
    if any(name != raw for name, raw in zip(stripped, header, strict=True)):
        findings.add(
            Severity.WARNING,
            C.COLUMN_NAME_WHITESPACE,
            file_name,
            1,
            None,
            f"{file_name}: column names have leading or trailing spaces; they are stripped",
        )
    spec = FILES.get(table_name)
    if spec is not None and stripped and not spec.column_names.intersection(stripped):
        findings.add(
            Severity.ERROR,
            C.MISSING_HEADER,
            file_name,
            1,
            None,
            f"{file_name}: line 1 is not a header (none of {', '.join(stripped[:4])}… is a column of "
            f"{file_name}; expected e.g. {', '.join(_expected_columns(table_name))})",
        )
        return None
    ok = True
    for position, name in enumerate(stripped, start=1):
        if not name:
            findings.add(
                Severity.ERROR,
                C.EMPTY_COLUMN_NAME,
                file_name,
                1,
                None,
                f"{file_name}: column {position} of the header has no name",
            )
            ok = False
    for name in sorted({n for n in stripped if n and stripped.count(n) > 1}):
        findings.add(
            Severity.ERROR,
            C.DUPLICATE_COLUMN,
            file_name,
            1,
            name,
            f"{file_name}: column {name} appears {stripped.count(name)} times in the header",
        )
        ok = False
    return stripped if ok else None


def _expected_columns(table_name: str) -> list[str]:
    spec = FILES[table_name]
    return list(spec.required_columns) or sorted(spec.column_names)[:3]


def _good_rows(text: str, width: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    return [row + [""] * (width - len(row)) for row in reader if 0 < len(row) <= width]


def _frame(text: str, columns: list[str], rows: list[list[str]] | None) -> pd.DataFrame:
    if rows is not None:
        return pd.DataFrame(rows, columns=columns, dtype=str)
    return pd.read_csv(
        io.StringIO(text),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        header=0,
        names=columns,
        engine="c",
    )
