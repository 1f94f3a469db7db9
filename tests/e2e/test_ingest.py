"""`transit ingest` against a real Mosquitto and the real databases: nothing lost, nothing doubled.

Each test starts its own broker from deploy/mosquitto.conf (tests/broker.py), so it can restart it, and runs
the ingest as a real subprocess, so it can kill it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from tests.broker import Mosquitto, free_port
from tests.support import as_owner, run_cli
from transit.telemetry.model import PING_FIELDS, Ping
from transit.telemetry.mqtt import Publisher, parse_mqtt_url
from transit.telemetry.pings import parse_gtfsrt_message, ping_to_json
from transit.telemetry.store import DeadLetterRow, IngestIntervalRow, PingRow

PREFIX = "transit/v1"
START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)


def make_pings(count: int, vehicles: int = 50, start: dt.datetime = START) -> list[Ping]:
    """`count` distinct pings of `vehicles` buses near Petropavl, 10 s apart per bus."""
    return [
        Ping(
            vehicle_id=f"bus-{i % vehicles:03d}",
            timestamp=start + dt.timedelta(seconds=10 * (i // vehicles)),
            latitude=54.87 + 0.0001 * (i // vehicles),
            longitude=69.14 + 0.001 * (i % vehicles),
            route_id=str(i % 7),
            speed=8.0,
        )
        for i in range(count)
    ]


def publish(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    publisher = Publisher(parse_mqtt_url(broker.url), client_id=f"test-pub-{time.time_ns()}")
    publisher.connect()
    for topic, payload in messages:
        publisher.publish(topic, payload)
    publisher.close()


def as_messages(pings: list[Ping]) -> list[tuple[str, bytes]]:
    return [(f"{PREFIX}/vehicles/{p.vehicle_id}/position", ping_to_json(p)) for p in pings]


class Ingest:
    """`transit ingest` as a subprocess."""

    def __init__(self, database_url: str, broker: Mosquitto, log: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")}
        env |= {"TRANSIT_DATABASE_URL": database_url, "TRANSIT_MQTT_URL": broker.url}
        self.log = log
        transit = str(Path(sys.executable).with_name("transit"))
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [transit, "ingest", "--metrics-port", "0", "--worker-id", "t", *extra],
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    def wait_until_subscribed(self, count: int = 1, timeout: float = 30.0) -> None:
        """Its session queues what comes next only once it has subscribed."""
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count("subscribed to") < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the ingest did not subscribe:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.log.read_text(errors="replace")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def start_ingest(database_url: str, broker: Mosquitto, tmp_path: Path) -> Iterator[Callable[..., Ingest]]:
    started: list[Ingest] = []

    def start(*extra: str) -> Ingest:
        ingest = Ingest(database_url, broker, tmp_path / f"ingest-{len(started)}.log", *extra)
        started.append(ingest)
        ingest.wait_until_subscribed()
        return ingest

    yield start
    for ingest in started:
        if ingest.process.poll() is None:
            ingest.kill()


def count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def wait_for(engine: Engine, table: type, expected: int, timeout: float = 90.0) -> int:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        seen = count(engine, table)
        if seen >= expected:
            time.sleep(0.5)  # anything beyond the expected count would show now
            return count(engine, table)
        time.sleep(0.2)
    return seen


def test_published_pings_are_stored_with_every_field(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    ingest = start_ingest()
    full = Ping(
        "bus-full", START, 54.8721, 69.1432, trip_id="T-7", route_id="7", start_date="20261129",
        start_time="25:10:00", bearing=118.5, speed=7.9, carrier_id="AP1",
    )  # fmt: skip
    publish(broker, as_messages([full, *make_pings(499)]))
    assert wait_for(engine, PingRow, 500) == 500
    with engine.connect() as connection:
        row = connection.execute(select(PingRow).where(PingRow.vehicle_id == "bus-full")).one()
    stored = Ping(**{name: getattr(row, name) for name in PING_FIELDS})
    assert stored == full
    log = ingest.stop()
    assert "stored 500" in log


def test_duplicates_are_stored_once(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    ingest = start_ingest()
    pings = make_pings(300)
    publish(broker, as_messages(pings) + as_messages(pings[:100]))
    assert wait_for(engine, PingRow, 300) == 300
    assert "stored 300, duplicates 100" in ingest.stop()


MALFORMED = [
    ("unparsable", f"{PREFIX}/vehicles/bus-1/position", b"{not json"),
    ("unparsable", f"{PREFIX}/vehicles/bus-1/position", b"\xff\xfe\x00garbage"),
    ("unparsable", f"{PREFIX}/vehicles/bus-1/position", b"[1, 2, 3]"),
    ("missing_field", f"{PREFIX}/vehicles/bus-1/position", b'{"timestamp": "2026-11-29T08:00:00Z"}'),
    (
        "invalid_field",
        f"{PREFIX}/vehicles/bus-1/position",
        b'{"timestamp": "yesterday", "latitude": 54.8, "longitude": 69.1}',
    ),
    ("coordinates_out_of_range", f"{PREFIX}/vehicles/bus-1/position", None),
    ("timestamp_in_future", f"{PREFIX}/vehicles/bus-1/position", None),
    ("timestamp_too_old", f"{PREFIX}/vehicles/bus-1/position", None),
    ("vehicle_mismatch", f"{PREFIX}/vehicles/bus-1/position", None),
    ("unparsable", f"{PREFIX}/gtfsrt/vehicle_positions", b"\x08\x96\x01 not a feed message"),
]


def _payload(reason: str, payload: bytes | None) -> bytes:
    if payload is not None:
        return payload
    now = dt.datetime.now(dt.UTC)
    base = {"vehicle_id": "bus-1", "timestamp": now.isoformat(), "latitude": 54.87, "longitude": 69.14}
    changes: dict[str, dict[str, object]] = {
        "coordinates_out_of_range": {"latitude": 123.0},
        "timestamp_in_future": {"timestamp": (now + dt.timedelta(days=2)).isoformat()},
        "timestamp_too_old": {"timestamp": (now - dt.timedelta(days=30)).isoformat()},
        "vehicle_mismatch": {"vehicle_id": "bus-2"},
    }
    return json.dumps(base | changes[reason]).encode()


def test_every_kind_of_malformed_message_becomes_a_dead_letter_and_the_ingest_goes_on(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    ingest = start_ingest()
    bad = [(topic, _payload(reason, payload)) for reason, topic, payload in MALFORMED]
    publish(broker, bad + as_messages(make_pings(50)))
    assert wait_for(engine, PingRow, 50) == 50
    assert wait_for(engine, DeadLetterRow, len(bad)) == len(bad)
    with engine.connect() as connection:
        reasons = sorted(connection.scalars(select(DeadLetterRow.reason)))
    assert reasons == sorted(reason for reason, _, _ in MALFORMED)
    assert ingest.process.poll() is None  # still running


def test_random_bytes_and_random_json_never_stop_the_ingest(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    rng = random.Random(2026)
    messages = [
        (f"{PREFIX}/vehicles/fuzz-{i}/position", rng.randbytes(rng.randint(0, 200))) for i in range(150)
    ]
    messages += [
        (f"{PREFIX}/gtfsrt/vehicle_positions", rng.randbytes(rng.randint(1, 200))) for _ in range(50)
    ]
    messages += [
        (f"{PREFIX}/vehicles/fuzz-j{i}/position", json.dumps(_random_json(rng)).encode()) for i in range(150)
    ]
    ingest = start_ingest()
    publish(broker, messages + as_messages(make_pings(20)))
    assert wait_for(engine, PingRow, 20) >= 20
    # Every JSON-topic message is a ping or a dead letter; a GTFS-rt one may hold several entities or none.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count(engine, DeadLetterRow) + count(engine, PingRow) < 320:
        time.sleep(0.2)
    assert count(engine, DeadLetterRow) + count(engine, PingRow) >= 320
    assert ingest.process.poll() is None  # alive


def _random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randint(0, 6 if depth < 3 else 3)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.uniform(-1e6, 1e6)
    if kind == 2:
        return "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 12)))
    if kind == 3:
        return rng.randint(-(2**40), 2**40)
    if kind == 4:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["vehicle_id", "timestamp", "latitude", "longitude", "speed", "bearing", "trip_id", "x"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def test_a_broker_restart_mid_stream_loses_nothing(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    start_ingest()
    first, second = make_pings(20000)[:12000], make_pings(20000)[12000:]
    publish(broker, as_messages(first))
    broker.restart()  # a clean restart: queued and in-flight messages survive in its persistence file
    publish(broker, as_messages(second))
    assert wait_for(engine, PingRow, 20000, timeout=120) == 20000


def test_a_kill_9_of_the_ingest_mid_stream_loses_nothing(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    first = start_ingest()
    stream = threading.Thread(target=publish, args=(broker, as_messages(make_pings(40000))))
    stream.start()  # the publisher goes on while the ingest dies and comes back
    deadline = time.monotonic() + 60
    while count(engine, PingRow) < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.kill()
    killed_at = count(engine, PingRow)
    start_ingest()  # same worker id: the same persistent session, with everything not acknowledged
    stream.join()
    assert 0 < killed_at < 40000
    assert wait_for(engine, PingRow, 40000, timeout=120) == 40000


def test_ingest_records_when_it_was_connected_and_storing(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    ingest = start_ingest()
    publish(broker, as_messages(make_pings(100)))
    assert wait_for(engine, PingRow, 100) == 100
    time.sleep(6)  # one heartbeat
    ingest.stop()
    with engine.connect() as connection:
        kinds = {row.kind: row for row in connection.execute(select(IngestIntervalRow))}
    assert set(kinds) == {"connected", "storing"}
    assert kinds["storing"].ended_at > kinds["storing"].started_at


@pytest.mark.postgres
def test_a_database_outage_loses_nothing(
    postgres_database_url: str, broker: Mosquitto, tmp_path: Path
) -> None:
    url = make_url(postgres_database_url)
    engine = create_engine(url)
    admin = create_engine(
        make_url(as_owner(postgres_database_url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    ingest = Ingest(postgres_database_url, broker, tmp_path / "ingest.log")
    try:
        ingest.wait_until_subscribed()
        publish(broker, as_messages(make_pings(1000)))
        assert wait_for(engine, PingRow, 1000) == 1000
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            )
        publish(broker, as_messages(make_pings(3000)[1000:]))
        time.sleep(8)  # the ingest fails, retries and backs off meanwhile
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        assert wait_for(engine, PingRow, 3000, timeout=120) == 3000
        assert "storing a batch failed" in ingest.stop()
    finally:
        if ingest.process.poll() is None:
            ingest.kill()
        engine.dispose()
        admin.dispose()


def test_two_workers_on_a_shared_subscription_store_every_ping_exactly_once(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    ingest = start_ingest("--workers", "2")
    ingest.wait_until_subscribed(count=2)
    publish(broker, as_messages(make_pings(10000)))
    assert wait_for(engine, PingRow, 10000) == 10000
    with engine.connect() as connection:
        per_worker = dict(
            connection.execute(select(PingRow.worker_id, func.count()).group_by(PingRow.worker_id)).all()
        )
    assert set(per_worker) == {"t1", "t2"}  # both took part
    assert sum(per_worker.values()) == 10000


def test_ingest_without_a_broker_url_says_which_setting_is_missing(database_url: str) -> None:
    result = run_cli("ingest", "--metrics-port", "0", database_url=database_url)
    assert result.returncode == 2
    assert "TRANSIT_MQTT_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_recorded_real_day_replays_through_the_live_path_with_the_stream_clock(
    shared_data: Path,
    engine: Engine,
    broker: Mosquitto,
    start_ingest: Callable[..., Ingest],
    database_url: str,
) -> None:
    """45,134 real pings of 2015: the wall clock would reject all as too old; the stream clock does not."""
    day = shared_data / "capmetro_austin_2015-06-07" / "vehicle_positions_2015-06-07.csv"
    ingest = start_ingest("--clock", "stream")
    env = {"TRANSIT_MQTT_URL": broker.url}
    replay = run_cli("replay", str(day), "--speed", "0", database_url=database_url, extra_env=env)
    assert replay.returncode == 0, replay.stderr
    published = int(re.search(r"published ([\d,]+) pings", replay.stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    deadline = time.monotonic() + 180
    while count(engine, PingRow) + count(engine, DeadLetterRow) < published and time.monotonic() < deadline:
        time.sleep(0.5)
    stored, dead = count(engine, PingRow), count(engine, DeadLetterRow)
    assert stored + dead == published
    assert stored > 0.99 * published  # what is not stored is a dead letter with its reason
    with engine.connect() as connection:
        reasons = set(connection.scalars(select(DeadLetterRow.reason)))
    assert reasons <= {"impossible_speed", "timestamp_too_old"}
    ingest.stop()


def test_metrics_are_served_with_the_documented_names(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    port = free_port()
    ingest = start_ingest("--metrics-port", str(port))
    publish(broker, as_messages(make_pings(40)) + [(f"{PREFIX}/vehicles/bus-1/position", b"{oops")])
    assert wait_for(engine, PingRow, 40) == 40
    time.sleep(0.5)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text_ = response.read().decode()
    ingest.stop()
    assert 'transit_pings_received_total{worker="t"} 41.0' in text_
    assert 'transit_pings_stored_total{worker="t"} 40.0' in text_
    assert 'transit_pings_rejected_total{reason="unparsable",worker="t"} 1.0' in text_
    assert "transit_ingest_lag_seconds" in text_ and "transit_ingest_batch_size_bucket" in text_


def test_simulated_buses_published_live_are_ingested(
    engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest], database_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "city.zip"
    assert run_cli("synth", "city", "--routes", "2", "--seed", "4", "--out", str(feed)).returncode == 0
    start_ingest("--clock", "stream")
    day = dt.date.today().isoformat()
    out = tmp_path / "pings.csv"
    result = run_cli(
        "simulate", "--feed", str(feed), "--date", day, "--out", str(out), "--publish", "--speed", "0",
        "--duplicate-rate", "0.01", "--out-of-order-rate", "0.05",
        database_url=database_url, extra_env={"TRANSIT_MQTT_URL": broker.url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    published = int(re.search(r"published ([\d,]+) pings", result.stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert not out.exists() and (tmp_path / "pings.truth.csv").is_file()  # published instead of written
    wait_for(engine, PingRow, int(published * 0.98), timeout=120)
    time.sleep(2)
    stored = count(engine, PingRow)
    assert count(engine, DeadLetterRow) == 0
    assert 0.98 * published <= stored < published  # duplicates are stored once


@pytest.mark.slow
def test_real_gtfs_realtime_feed_messages_are_ingested_entity_by_entity(
    shared_data: Path, engine: Engine, broker: Mosquitto, start_ingest: Callable[..., Ingest]
) -> None:
    files = sorted((shared_data / "metrotransit_route2_2019-06-19" / "vehicle_positions").glob("*.pb"))
    payloads = [f.read_bytes() for f in files]
    expected = {
        (p.vehicle_id, p.timestamp)
        for payload in payloads
        for p in parse_gtfsrt_message(payload)
        if isinstance(p, Ping)
    }
    start_ingest("--clock", "stream")
    publish(broker, [(f"{PREFIX}/gtfsrt/vehicle_positions", payload) for payload in payloads])
    assert len(expected) > 0
    assert wait_for(engine, PingRow, len(expected)) == len(expected)
    with engine.connect() as connection:
        stored = {
            (r.vehicle_id, r.timestamp)
            for r in connection.execute(select(PingRow.vehicle_id, PingRow.timestamp))
        }
    assert stored == expected
