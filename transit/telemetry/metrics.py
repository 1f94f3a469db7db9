"""Prometheus metrics of one ingest worker (ADAPTER), served on its own port."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from transit.telemetry.model import RejectReason


class IngestMetrics:
    """The counters of DESIGN.md section 4, plus duplicates, lag and batch sizes."""

    def __init__(self, worker_id: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"worker": worker_id}
        self.received_total = Counter(
            "transit_pings_received_total",
            "Messages received from the broker",
            ["worker"],
            registry=self.registry,
        ).labels(**labels)
        self.stored_total = Counter(
            "transit_pings_stored_total", "Pings stored (new rows)", ["worker"], registry=self.registry
        ).labels(**labels)
        self.duplicate_total = Counter(
            "transit_pings_duplicate_total", "Pings already stored (redelivered or sent twice)", ["worker"],
            registry=self.registry,
        ).labels(**labels)  # fmt: skip
        self._rejected = Counter(
            "transit_pings_rejected_total", "Messages or pings dead-lettered", ["worker", "reason"],
            registry=self.registry,
        )  # fmt: skip
        self.lag_seconds = Gauge(
            "transit_ingest_lag_seconds", "Receipt to acknowledgement, last batch", ["worker"],
            registry=self.registry,
        ).labels(**labels)  # fmt: skip
        self.batch_size = Histogram(
            "transit_ingest_batch_size", "Messages per stored batch", ["worker"], registry=self.registry,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
        ).labels(**labels)  # fmt: skip
        self.store_failures_total = Counter(
            "transit_ingest_store_failures_total", "Failed attempts to store a batch (retried)", ["worker"],
            registry=self.registry,
        ).labels(**labels)  # fmt: skip
        self._worker = worker_id
        for reason in RejectReason:
            self._rejected.labels(worker=worker_id, reason=str(reason))

    def rejected(self, counts: Mapping[RejectReason, int]) -> None:
        for reason, count in counts.items():
            self._rejected.labels(worker=self._worker, reason=str(reason)).inc(count)

    def serve(self, port: int) -> None:
        """Expose /metrics on `port` (0: do not serve)."""
        if port:
            start_http_server(port, addr="127.0.0.1", registry=self.registry)
