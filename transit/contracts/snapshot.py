"""The contract state of a long-running process (ADAPTER): folded from the ledger once, then caught up with
the events appended since, so that a request costs one indexed look at the ledger's newest sequence number,
not a fold of a year of events. Several processes each keep their own and each catches up from the database.

It also indexes violations by carrier and service date, so that a page of a carrier's record for a month is
a bisection, not a scan.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from bisect import bisect_left, insort
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy.orm import Session

from transit.contracts.state import KINDS, VIOLATION_RECORDED, ContractState, Violation
from transit.ledger.store import count_events, iter_events

ViolationKey = tuple[dt.date, int]  # (service_date, seq): the record's order, and its paging cursor


@dataclass(slots=True)
class _Index:
    """Violations per carrier in (service_date, seq) order; the objects are the state's own, so voiding
    one in the state shows here too."""

    keys: dict[str, list[ViolationKey]] = field(default_factory=dict)
    rows: dict[ViolationKey, Violation] = field(default_factory=dict)

    def add(self, carrier_id: str, violation: Violation) -> None:
        key = (violation.service_date, violation.seq)
        insort(self.keys.setdefault(carrier_id, []), key)
        self.rows[key] = violation


class StateSnapshot:
    """The folded contract state, shared by the threads of one process: read it inside `read`, which
    keeps a catch-up from changing it under a reader."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state = ContractState()
        self._seq = 0  # the newest ledger event folded in (of any kind)
        self._index = _Index()
        self._checked_at = -math.inf  # monotonic time of the last look at the ledger's head

    @contextmanager
    def read(self, session: Session) -> Iterator[ContractState]:
        """The state as of the ledger's newest event (caught up first if events were appended since);
        do not change it, and do not keep it past the block."""
        self.refresh(session)
        with self._lock:
            yield self._state

    def refresh(self, session: Session) -> None:
        """Catch up with the events appended since the last look (one indexed query when there are none)."""
        looked_at = time.monotonic()
        newest = count_events(session)  # outside the lock
        with self._lock:
            if newest > self._seq:
                self._catch_up(session, newest)
            self._checked_at = max(self._checked_at, looked_at)

    def is_fresh(self, max_age_s: float) -> bool:
        """Whether the last look at the ledger is at most `max_age_s` old."""
        return time.monotonic() - self._checked_at <= max_age_s

    @contextmanager
    def held(self) -> Iterator[ContractState]:
        """The state as of the last look, without looking again (callers check `is_fresh` first)."""
        with self._lock:
            yield self._state

    def violations_of(
        self, carrier_id: str, first: dt.date, last: dt.date, after: ViolationKey | None, limit: int
    ) -> list[Violation]:
        """Up to `limit` violations of a carrier about days first..last, after the cursor `after`; call it
        inside `read`."""
        keys = self._index.keys.get(carrier_id, [])
        start = bisect_left(keys, after if after is not None else (first, -1))
        if after is not None and start < len(keys) and keys[start] == after:
            start += 1
        start = max(start, bisect_left(keys, (first, -1)))
        page: list[Violation] = []
        for key in islice(keys, start, start + limit):  # not keys[start:]: a copy of the rest of the list
            if key[0] > last:
                break
            page.append(self._index.rows[key])
        return page

    def _catch_up(self, session: Session, newest: int) -> None:
        for event in iter_events(session, kinds=KINDS, after_seq=self._seq):
            if event.seq > newest:
                break
            self._state.apply(event.kind, event.data(), event.seq, event.at)
            if event.kind == VIOLATION_RECORDED:
                violation = self._state.violations[event.data()["violation_id"]]
                contract = self._state.contracts.get(violation.contract_id)
                if contract is not None:
                    self._index.add(contract.carrier_id, violation)
        self._seq = newest
