"""What the app keeps for its lifetime: the session factory, the settings, caches."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from transit.contracts.snapshot import StateSnapshot
from transit.gtfs.load import LoadedFeed, load_feed_archive
from transit.gtfs.store import get_feed_archive
from transit.routes_opt.overlap import OverlapRules
from transit.routes_opt.planning import DayNetwork, FeedOverlap
from transit.settings import Settings
from transit.tickets.catalog import Catalog, load_catalog

if TYPE_CHECKING:
    from api.deps import KeyCache

K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class Memo(Generic[K, V]):
    """The last `size` values built, by key: loaded feeds, a date's network (seconds to build, memory to
    hold)."""

    size: int = 2
    _values: OrderedDict[K, V] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            value = build()
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
            return value


@dataclass(slots=True)
class FeedCache:
    """Loaded feed versions by id."""

    memo: Memo[int, LoadedFeed] = field(default_factory=Memo)

    def get(self, session: Session, feed_version_id: int, name: str) -> LoadedFeed:
        return self.memo.get(
            feed_version_id, lambda: load_feed_archive(get_feed_archive(session, feed_version_id), name)
        )


@dataclass(slots=True)
class ApiState:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyCache
    contracts: StateSnapshot = field(default_factory=StateSnapshot)
    feeds: FeedCache = field(default_factory=FeedCache)
    networks: Memo[tuple[int, dt.date], DayNetwork] = field(default_factory=lambda: Memo(size=4))
    _catalog: list[Catalog] = field(default_factory=list)
    overlaps: Memo[tuple[int, dt.date, OverlapRules], FeedOverlap] = field(
        default_factory=lambda: Memo(size=4)
    )
    # A violation's JSON as the API sends it, by violation_id with the seq it was voided at (if it was).
    encoded: dict[str, tuple[int | None, bytes]] = field(default_factory=dict)

    @property
    def catalog(self) -> Catalog:
        """The ticket catalog of the settings (read once)."""
        if not self._catalog:
            self._catalog.append(load_catalog(self.settings.ticket_catalog))
        return self._catalog[0]
