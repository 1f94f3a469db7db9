"""`transit serve`: the API with the live parts beside it, as an operator starts it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from tests.broker import Mosquitto, free_port
from tests.support import run_cli
from transit.telemetry.mqtt import Publisher, parse_mqtt_url
from transit.telemetry.store import PingRow


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s")


def test_serve_runs_the_api_with_ingest_and_matcher_and_stops_them_all(
    sqlite_database_url: str, broker: Mosquitto, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")} | {
        "TRANSIT_DATABASE_URL": sqlite_database_url,
        "TRANSIT_MQTT_URL": broker.url,
        "TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "ledger.key"),
    }
    transit = str(Path(sys.executable).with_name("transit"))
    server = subprocess.Popen(
        [transit, "serve", "--port", str(port), "--match-interval", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get(f"{base}/healthz")[0] == 200)
        status, ready = get(f"{base}/readyz")
        assert status == 200 and ready["checks"] == {"database": "ok", "broker": "ok"}
        # The ingest beside the API stores what the buses publish (from when it has subscribed: publish
        # until one is stored).
        publisher = Publisher(parse_mqtt_url(broker.url), client_id="test-serve")
        publisher.connect()
        engine = create_engine(sqlite_database_url)
        sent = [0]

        def stored() -> bool:
            sent[0] += 1
            at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=sent[0])
            ping = {"vehicle_id": "bus-1", "timestamp": at.isoformat(), "latitude": 54.87, "longitude": 69.14}
            publisher.publish("transit/v1/vehicles/bus-1/position", json.dumps(ping).encode())
            return _count_pings(engine) > 0

        try:
            wait_for(stored)
        finally:
            publisher.close()
            engine.dispose()
        # The broker going away makes the service not ready (while the API keeps answering).
        broker.stop()
        status, ready = get(f"{base}/readyz")
        assert status == 503 and str(ready["checks"]["broker"]).startswith("unavailable")  # type: ignore[index]
        assert get(f"{base}/healthz")[0] == 200
    except AssertionError:
        server.send_signal(signal.SIGINT)
        print(server.communicate(timeout=30)[0].decode(errors="replace"))  # noqa: T201
        raise
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    # Stopping it stops the ingest and the matcher too: no live process of its session is left (a zombie
    # waits for its reaper, PID 1, which in a container may never come).
    assert "Application startup complete" in output, output
    time.sleep(0.5)
    listing = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-s", str(server.pid)], capture_output=True, text=True
    )
    alive = [line for line in listing.stdout.splitlines() if line.split()[1][0] != "Z"]
    assert alive == [], output + listing.stdout


def test_serve_without_a_broker_needs_api_only(sqlite_database_url: str) -> None:
    result = run_cli("serve", database_url=sqlite_database_url)
    assert result.returncode == 2 and "TRANSIT_MQTT_URL is not set" in result.stderr
    assert "--api-only" in result.stderr and "Traceback" not in result.stderr


def _count_pings(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(PingRow)).scalar_one())
