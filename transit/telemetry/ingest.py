"""The ingest worker: MQTT messages → batches → pings and dead letters stored → acknowledged.

A message is acknowledged to the broker only after the transaction holding its ping or its dead letter has
committed, so a crash of the worker, a broker restart or a database outage loses nothing: unacknowledged
messages are redelivered, and storage is idempotent. The worker records its own health (intervals when it
was connected and when it was storing) so that verdicts can tell a service-side gap from a missed trip.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from transit.clock import Clock
from transit.telemetry.intake import Message, StreamClock, Triage, triage
from transit.telemetry.metrics import IngestMetrics
from transit.telemetry.model import Ping, PingRules
from transit.telemetry.mqtt import BrokerAddress, Received, Subscriber
from transit.telemetry.speed import SpeedGuard
from transit.telemetry.store import DeadLetter, add_dead_letters, add_pings, extend_interval

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class IngestOptions:
    worker_id: str
    prefix: str = "transit/v1"
    # Shared subscription group; None subscribes directly. Mosquitto 2.0 does not restore shared
    # subscriptions after a broker restart (docs/ingest.md), so a single worker subscribes directly.
    group: str | None = None
    batch_size: int = 2000
    flush_seconds: float = 0.2
    heartbeat_seconds: float = 5.0
    stream_clock: bool = False
    rules: PingRules = field(default_factory=PingRules)


def ingest_topics(prefix: str, group: str | None) -> list[str]:
    """The JSON and GTFS-realtime topics, through a shared subscription when a group is given."""
    topics = [f"{prefix}/vehicles/+/position", f"{prefix}/gtfsrt/vehicle_positions"]
    return [f"$share/{group}/{t}" for t in topics] if group else topics


@dataclass(slots=True)
class Totals:
    """What a worker did so far (also on its Prometheus port)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    store_failures: int = 0


class IngestWorker:
    """One subscriber and one storing loop; run several (processes or hosts) with the same group."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        address: BrokerAddress,
        options: IngestOptions,
        clock: Clock,
        metrics: IngestMetrics | None = None,
        *,
        persistent: bool = True,
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.clock = clock
        self.metrics = metrics or IngestMetrics(options.worker_id)
        self.totals = Totals()
        self.stop_event = threading.Event()
        self.inbox: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self.guard = SpeedGuard(options.rules)
        self.now_for: Callable[[Sequence[Ping]], dt.datetime] = (
            StreamClock() if options.stream_clock else (lambda _pings: clock.now())
        )
        self._connected_since: dt.datetime | None = None
        self._storing_since: dt.datetime | None = None
        self._last_heartbeat = 0.0
        self.subscriber = Subscriber(
            address,
            client_id=f"transit-ingest-{options.worker_id}",
            topics=ingest_topics(options.prefix, options.group),
            inbox=self.inbox,
            receive_maximum=min(max(options.batch_size * 4, 1000), 65535),  # MQTT's limit
            on_connection_change=self._connection_changed,
            persistent=persistent,
        )

    def run(self) -> Totals:
        """Ingest until `stop()`; returns the totals."""
        self.subscriber.start()
        try:
            while not self.stop_event.is_set():
                batch = self._drain()
                if batch:
                    self._handle(batch)
                if time.monotonic() - self._last_heartbeat >= self.options.heartbeat_seconds:
                    self._heartbeat()
        finally:
            self.subscriber.stop()
        return self.totals

    def stop(self) -> None:
        self.stop_event.set()

    def _connection_changed(self, connected: bool) -> None:
        self._connected_since = self.clock.now() if connected else None

    def _drain(self) -> list[Received]:
        """Up to batch_size messages: wait for the first, then gather for at most flush_seconds."""
        try:
            batch = [self.inbox.get(timeout=min(self.options.flush_seconds, 0.5))]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.options.flush_seconds
        while len(batch) < self.options.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _handle(self, batch: list[Received]) -> None:
        received_at = self.clock.now()
        outcome = triage(
            [Message(m.topic, m.payload) for m in batch],
            self.options.prefix,
            self.options.rules,
            self.now_for,
            self.guard,
        )
        letters = [
            DeadLetter(received_at, batch[i].topic, str(r.reason), r.detail, r.vehicle_id, batch[i].payload)
            for i, r in outcome.rejected
        ]
        stored = self._store_until_done(outcome, letters, received_at)
        if stored is None:
            return  # stopping before the database came back: nothing acknowledged, all redelivered
        self.subscriber.ack(batch)
        self._count(batch, outcome, stored)

    def _store_until_done(
        self, outcome: Triage, letters: list[DeadLetter], received_at: dt.datetime
    ) -> int | None:
        """Store the batch in one transaction, retrying with back-off while the database fails."""
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                with self.sessions.begin() as session:
                    stored = add_pings(session, outcome.pings, received_at, self.options.worker_id)
                    add_dead_letters(session, letters, self.options.worker_id)
                    self._record_health(session)
                return stored
            except (SQLAlchemyError, psycopg.Error) as exc:  # COPY runs on the raw psycopg cursor
                self._storing_since = None
                self.totals.store_failures += 1
                self.metrics.store_failures_total.inc()
                log.warning("storing a batch failed (%s); retrying in %.1f s", type(exc).__name__, backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        return None

    def _record_health(self, session: Session) -> None:
        now = self.clock.now()
        if self._storing_since is None:
            self._storing_since = now
        extend_interval(session, self.options.worker_id, "storing", self._storing_since, now)
        connected_since = self._connected_since
        if connected_since is not None:
            extend_interval(session, self.options.worker_id, "connected", connected_since, now)
        self._last_heartbeat = time.monotonic()

    def _heartbeat(self) -> None:
        try:
            with self.sessions.begin() as session:
                self._record_health(session)
        except (SQLAlchemyError, psycopg.Error) as exc:
            self._storing_since = None
            self._last_heartbeat = time.monotonic()
            log.warning("heartbeat failed: %s", type(exc).__name__)

    def _count(self, batch: list[Received], outcome: Triage, stored: int) -> None:
        t = self.totals
        t.received += len(batch)
        t.stored += stored
        t.duplicates += len(outcome.pings) - stored
        t.rejected += len(outcome.rejected)
        t.batches += 1
        m = self.metrics
        m.received_total.inc(len(batch))
        m.stored_total.inc(stored)
        m.duplicate_total.inc(len(outcome.pings) - stored)
        m.rejected(outcome.count_by_reason())
        m.batch_size.observe(len(batch))
        m.lag_seconds.set(time.monotonic() - min(r.received_monotonic for r in batch))
