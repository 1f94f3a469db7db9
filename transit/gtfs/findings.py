"""Collect validation findings, capping repeats so that a systematic defect in a big file stays readable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from transit.gtfs.model import Finding, FindingCode, Severity

MAX_PER_KIND = 20


class Findings:
    """Findings in the order found; past MAX_PER_KIND of one code in one file, only a count is kept."""

    def __init__(self) -> None:
        self._items: list[Finding] = []
        self._seen: Counter[tuple[str | None, FindingCode]] = Counter()
        self._first: dict[tuple[str | None, FindingCode], Finding] = {}

    def add(
        self,
        severity: Severity,
        code: FindingCode,
        file: str | None,
        line: int | None,
        field: str | None,
        message: str,
    ) -> None:
        key = (file, code)
        self._seen[key] += 1
        finding = Finding(severity, code, file, line, field, message)
        self._first.setdefault(key, finding)
        if self._seen[key] <= MAX_PER_KIND:
            self._items.append(finding)

    def __iter__(self) -> Iterator[Finding]:
        yield from self._items
        for key, count in self._seen.items():
            if count > MAX_PER_KIND:
                first = self._first[key]
                yield Finding(
                    first.severity,
                    first.code,
                    first.file,
                    None,
                    first.field,
                    f"{count - MAX_PER_KIND} more of {first.code} in {first.file} (not listed one by one)",
                )

    def __len__(self) -> int:
        return len(list(iter(self)))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self if f.severity is Severity.ERROR]

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self._items)
