"""Benchmark: the raw paho QoS 1 receive rate against `transit ingest` into PostgreSQL, in one run.

Both sides get the same stream from a publisher in another process (N distinct pings at QoS 1, as fast as
it can), on a Mosquitto of the benchmark's own started from deploy/mosquitto.conf. A rate is N divided by
the time from the publisher's start to the last message received (raw) or stored (ingest). Prints the
ratio and the count lost, which must be 0; then the same with 2 ingest workers (a shared subscription).

    python bench/bench_ingest.py [--messages 100000] [--runs 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.broker import Mosquitto  # noqa: E402
from transit import migrate  # noqa: E402
from transit.telemetry.model import Ping  # noqa: E402
from transit.telemetry.mqtt import Publisher, Received, Subscriber, parse_mqtt_url  # noqa: E402
from transit.telemetry.pings import ping_to_json, vehicle_topic  # noqa: E402
from transit.telemetry.store import PingRow  # noqa: E402

ADMIN_URL = os.environ.get("TRANSIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL_SHARE, GOAL_RATE = 0.60, 5000
T = TypeVar("T")


def stream(count: int) -> list[tuple[str, bytes]]:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    vehicles = 1000
    return [
        (
            vehicle_topic(f"bus-{i % vehicles:04d}"),
            ping_to_json(
                Ping(
                    f"bus-{i % vehicles:04d}",
                    start + dt.timedelta(seconds=i // vehicles),
                    54.8 + (i % vehicles) * 1e-4,
                    69.1 + (i // vehicles) * 1e-5,
                    route_id=str(i % 50),
                    speed=8.0,
                )
            ),
        )
        for i in range(count)
    ]


def publish_process(url: str, count: int, started: multiprocessing.synchronize.Event) -> None:
    messages = stream(count)
    publisher = Publisher(
        parse_mqtt_url(url), client_id=f"bench-pub-{uuid.uuid4().hex[:8]}", max_inflight=2000
    )
    publisher.connect()
    started.set()
    for topic, payload in messages:
        publisher.publish(topic, payload)
    publisher.close()


def start_publisher(url: str, count: int) -> tuple[multiprocessing.process.BaseProcess, float]:
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    process = context.Process(target=publish_process, args=(url, count, started))
    process.start()
    started.wait(60)
    return process, time.monotonic()


def raw_rate(broker: Mosquitto, count: int) -> tuple[float, int]:
    """QoS 1 receive rate of a bare paho subscriber (TCP_NODELAY, auto-ack, no-op handler)."""
    inbox: queue.SimpleQueue[Received] = queue.SimpleQueue()
    subscriber = Subscriber(
        parse_mqtt_url(broker.url),
        f"bench-raw-{uuid.uuid4().hex[:8]}",
        ["transit/v1/#"],
        inbox,
        manual_ack=False,
    )
    received = 0
    last = 0.0

    def on_message(*_args: object) -> None:
        nonlocal received, last
        received += 1
        last = time.monotonic()

    subscriber.client.on_message = on_message
    subscriber.start()
    while not subscriber.connected:
        time.sleep(0.01)
    time.sleep(0.5)
    process, t0 = start_publisher(broker.url, count)
    process.join()
    deadline = time.monotonic() + 60
    while received < count and time.monotonic() < deadline:
        time.sleep(0.01)
    subscriber.stop()
    return count / (last - t0), count - received


def ingest_rate(broker: Mosquitto, count: int, workers: int, folder: Path) -> tuple[float, int, int]:
    """Rate of `transit ingest` into a fresh PostgreSQL database; returns (rate, lost, stored rows)."""
    name = f"transit_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = create_engine(url)
    log = folder / f"ingest-{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")}
    env |= {"TRANSIT_DATABASE_URL": url, "TRANSIT_MQTT_URL": broker.url}
    with log.open("wb") as out:
        ingest = subprocess.Popen(
            [str(Path(sys.executable).with_name("transit")), "ingest", "--workers", str(workers),
             "--metrics-port", "0", "--worker-id", "bench"],
            env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        while log.read_text(errors="replace").count("subscribed to") < workers:
            time.sleep(0.05)
        process, t0 = start_publisher(broker.url, count)
        stored, done_at = 0, time.monotonic()
        deadline = time.monotonic() + 300
        while stored < count and time.monotonic() < deadline:
            time.sleep(0.05)
            with engine.connect() as connection:
                stored = int(connection.scalar(select(func.count()).select_from(PingRow)) or 0)
            done_at = time.monotonic()
        process.join()
        time.sleep(1.0)
        with engine.connect() as connection:
            rows = int(connection.scalar(select(func.count()).select_from(PingRow)) or 0)
        return count / (done_at - t0), count - rows, rows
    finally:
        ingest.terminate()
        ingest.wait(60)
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def with_broker(folder: Path, measure: Callable[[Mosquitto], T]) -> T:
    broker = Mosquitto(folder)
    broker.start()
    try:
        return measure(broker)
    finally:
        broker.stop()


def meets_goal(rate: float, raw: float) -> bool:
    return rate >= GOAL_SHARE * raw and rate >= GOAL_RATE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, "
        f"{dt.date.today()}; {args.messages:,} QoS 1 messages per run, {args.runs} runs each"
    )
    raws: list[tuple[float, int]] = []
    ones: list[tuple[float, int, int]] = []
    twos: list[tuple[float, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(args.runs):
            # A fresh broker per measurement: one's persistent sessions must not collect the next's stream.
            raws.append(with_broker(folder / f"raw-{run}", lambda b: raw_rate(b, args.messages)))
            ones.append(
                with_broker(folder / f"one-{run}", lambda b: ingest_rate(b, args.messages, 1, folder))
            )
            twos.append(
                with_broker(folder / f"two-{run}", lambda b: ingest_rate(b, args.messages, 2, folder))
            )
            print(
                f"run {run + 1}: raw {raws[-1][0]:,.0f}/s (lost {raws[-1][1]}); ingest 1 worker "
                f"{ones[-1][0]:,.0f}/s (lost {ones[-1][1]}); ingest 2 workers {twos[-1][0]:,.0f}/s "
                f"(lost {twos[-1][1]}, rows {twos[-1][2]:,})"
            )
    raw = statistics.median(r[0] for r in raws)
    one = statistics.median(r[0] for r in ones)
    two = statistics.median(r[0] for r in twos)
    lost = sum(r[1] for r in ones) + sum(r[1] for r in twos)
    print(f"median raw paho QoS 1 receive: {raw:,.0f} msg/s")
    print(
        f"median ingest into PostgreSQL, 1 worker: {one:,.0f} pings/s = {one / raw:.0%} of raw "
        f"(goal >= {GOAL_SHARE:.0%} and >= {GOAL_RATE:,}/s: {'met' if meets_goal(one, raw) else 'NOT met'})"
    )
    print(f"median ingest into PostgreSQL, 2 workers: {two:,.0f} pings/s = {two / raw:.0%} of raw")
    print(f"lost over all ingest runs: {lost} (must be 0)")


if __name__ == "__main__":
    main()
