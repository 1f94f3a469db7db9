"""`transit ingest` and `transit replay` (entry points: they own the sessions, the clock and the broker)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from transit import migrate
from transit.clock import SystemClock
from transit.console import emit, sessions_for
from transit.errors import BadParameter, TransitError
from transit.settings import Settings
from transit.telemetry.ingest import IngestOptions, IngestWorker, Totals
from transit.telemetry.metrics import IngestMetrics
from transit.telemetry.model import PingRules, ServiceArea
from transit.telemetry.mqtt import Publisher, parse_mqtt_url
from transit.telemetry.replay import replay_pings

DEFAULT_GROUP = "transit-ingest"
TOTAL_FIELDS = ("received", "stored", "duplicates", "rejected", "batches", "store_failures")


def parse_service_area(text: str | None) -> ServiceArea | None:
    """min_lat,min_lon,max_lat,max_lon; raises BadParameter naming --service-area."""
    if not text:
        return None
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise BadParameter(f"--service-area: {text!r} is not min_lat,min_lon,max_lat,max_lon")
    return ServiceArea(*values)


def ingest_command(
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (shared subscription)")
    ] = 1,
    group: Annotated[
        str | None, typer.Option("--group", help="Shared subscription group (default with --workers > 1)")
    ] = None,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id", help="Name of this worker, its MQTT session (default: the host name)"),
    ] = None,
    clock: Annotated[str, typer.Option("--clock", help="wall, or stream to replay history")] = "wall",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=16000)] = 2000,
    metrics_port: Annotated[int, typer.Option("--metrics-port", help="Prometheus port (0: off)")] = 9108,
    service_area: Annotated[
        str | None,
        typer.Option("--service-area", help="min_lat,min_lon,max_lat,max_lon; pings outside rejected"),
    ] = None,
    max_age_hours: Annotated[float, typer.Option("--max-age-hours", min=0)] = 72.0,
    duration: Annotated[
        float, typer.Option("--duration", help="Stop after this many seconds (0: run)")
    ] = 0.0,
    idle_exit: Annotated[
        float, typer.Option("--idle-exit", help="Stop after this many idle seconds (0: never)")
    ] = 0.0,
) -> None:
    """Take pings from the MQTT broker (TRANSIT_MQTT_URL) into the database, losing none."""
    if clock not in ("wall", "stream"):
        raise BadParameter(f"--clock: {clock!r} is not 'wall' or 'stream'")
    settings = Settings()
    parse_mqtt_url(settings.broker_url())  # fail early on a bad URL
    migrate.require_head(settings.database_url)
    rules = PingRules(service_area=parse_service_area(service_area), max_age_seconds=max_age_hours * 3600)
    base = IngestOptions(
        worker_id=worker_id or socket.gethostname(), prefix=settings.mqtt_topic_prefix, batch_size=batch_size,
        group=group or (DEFAULT_GROUP if workers > 1 else None),
        stream_clock=clock == "stream", rules=rules,
    )  # fmt: skip
    slots: SynchronizedArray[int] = multiprocessing.get_context("spawn").Array(
        "q", workers * len(TOTAL_FIELDS)
    )
    processes = [
        multiprocessing.get_context("spawn").Process(
            target=_run_worker,
            args=(settings, _for_worker(base, i, workers), metrics_port + i if metrics_port else 0, slots, i),
            name=f"ingest-{i}",
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    _supervise(processes, slots, duration, idle_exit)
    failed = [p.name for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        raise TransitError(f"ingest worker(s) {', '.join(failed)} failed; see the log above")


def _for_worker(options: IngestOptions, index: int, workers: int) -> IngestOptions:
    return replace(
        options, worker_id=options.worker_id if workers == 1 else f"{options.worker_id}{index + 1}"
    )


def _run_worker(
    settings: Settings, options: IngestOptions, metrics_port: int, slots: SynchronizedArray[int], index: int
) -> None:
    """One worker process: its own database engine, broker connection and metrics port."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {options.worker_id} %(levelname)s %(message)s"
    )
    metrics = IngestMetrics(options.worker_id)
    metrics.serve(metrics_port)
    worker = IngestWorker(
        sessions_for(settings), parse_mqtt_url(settings.broker_url()), options, SystemClock(), metrics
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _publish_totals(worker, slots, index)
    worker.run()
    _write_totals(worker.totals, slots, index)


def _publish_totals(worker: IngestWorker, slots: SynchronizedArray[int], index: int) -> None:
    def loop() -> None:
        while not worker.stop_event.wait(0.5):
            _write_totals(worker.totals, slots, index)

    threading.Thread(target=loop, daemon=True).start()


def _write_totals(totals: Totals, slots: SynchronizedArray[int], index: int) -> None:
    base = index * len(TOTAL_FIELDS)
    for offset, name in enumerate(TOTAL_FIELDS):
        slots[base + offset] = getattr(totals, name)


def _sum_totals(slots: SynchronizedArray[int], workers: int) -> dict[str, int]:
    return {
        name: sum(slots[i * len(TOTAL_FIELDS) + k] for i in range(workers))
        for k, name in enumerate(TOTAL_FIELDS)
    }


def _supervise(
    processes: Sequence[multiprocessing.process.BaseProcess],
    slots: SynchronizedArray[int],
    duration: float,
    idle: float,
) -> None:
    """Wait for the workers, show progress, and stop them on a signal, after `duration` or when idle."""
    stopping = False

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    console = Console()
    started = last_change = time.monotonic()
    last_received = -1
    with Live(Text("starting…"), console=console, refresh_per_second=2, transient=True) as live:
        while any(p.is_alive() for p in processes):
            time.sleep(0.2)
            totals = _sum_totals(slots, len(processes))
            now = time.monotonic()
            if totals["received"] != last_received:
                last_received, last_change = totals["received"], now
            rate = totals["received"] / max(now - started, 1e-9)
            live.update(Text(f"{_progress(totals)} | {rate:,.0f} msg/s | {len(processes)} worker(s)"))
            if stopping or (duration and now - started >= duration) or (idle and now - last_change >= idle):
                _stop_all(processes)
                break
    emit("ingest stopped: " + _progress(_sum_totals(slots, len(processes))) + "\n")


def _stop_all(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM (a worker finishes its batch and disconnects), then SIGKILL for any still alive after 30 s."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def _progress(totals: dict[str, int]) -> str:
    return (
        f"received {totals['received']:,}, stored {totals['stored']:,}, duplicates {totals['duplicates']:,}, "
        f"rejected {totals['rejected']:,}, store failures {totals['store_failures']:,}"
    )


def replay_command(
    pings: Annotated[Path, typer.Argument(help="Ping file or folder: CSV, CSV.gz, JSON lines, GTFS-rt .pb")],
    speed: Annotated[
        float, typer.Option("--speed", min=0, help="Times faster than real time; 0: at once")
    ] = 60.0,
) -> None:
    """Publish a ping file to the broker (TRANSIT_MQTT_URL) in timestamp order, accelerated."""
    settings = Settings()
    publisher = Publisher(parse_mqtt_url(settings.broker_url()), client_id=f"transit-replay-{time.time_ns()}")
    publisher.connect()
    try:
        report = replay_pings(pings, publisher, settings.mqtt_topic_prefix, speed)
    finally:
        publisher.close()
    emit(
        f"published {report.published:,} pings from {pings} in {report.seconds:.1f} s "
        f"({report.rejected:,} unusable rows skipped{_first(report.first_problem)})\n"
    )


def _first(problem: str | None) -> str:
    return f"; the first: {problem}" if problem else ""
