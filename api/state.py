"""What the app keeps for its lifetime: the session factory, the settings, caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from transit.contracts.snapshot import StateSnapshot
from transit.gtfs.load import LoadedFeed, load_feed_archive
from transit.gtfs.store import get_feed_archive
from transit.settings import Settings

if TYPE_CHECKING:
    from api.deps import KeyCache


@dataclass(slots=True)
class FeedCache:
    """Loaded feed versions by id (a couple at most: loading one takes seconds, holding one takes memory)."""

    size: int = 2
    _feeds: OrderedDict[int, LoadedFeed] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, session: Session, feed_version_id: int, name: str) -> LoadedFeed:
        with self._lock:
            if feed_version_id in self._feeds:
                self._feeds.move_to_end(feed_version_id)
                return self._feeds[feed_version_id]
            loaded = load_feed_archive(get_feed_archive(session, feed_version_id), name)
            self._feeds[feed_version_id] = loaded
            while len(self._feeds) > self.size:
                self._feeds.popitem(last=False)
            return loaded


@dataclass(slots=True)
class ApiState:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyCache
    contracts: StateSnapshot = field(default_factory=StateSnapshot)
    feeds: FeedCache = field(default_factory=FeedCache)
    # A violation's JSON as the API sends it, by violation_id with the seq it was voided at (if it was).
    encoded: dict[str, tuple[int | None, bytes]] = field(default_factory=dict)
