"""An MQTT broker inside the process (amqtt, pure Python) for the demo when TRANSIT_MQTT_URL is unset.

It speaks MQTT 3.1.1 only and keeps nothing on disk: fine to show the service working, not for production,
where Mosquitto runs with deploy/mosquitto.conf (docs/ingest.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

from amqtt.broker import Broker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """amqtt on 127.0.0.1 in a daemon thread; `url` is what TRANSIT_MQTT_URL would say."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker", daemon=True)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}?protocol=3.1.1"

    def start(self, timeout_s: float = 15.0) -> None:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the embedded MQTT broker did not start")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the embedded MQTT broker does not listen on {self.port}")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "sys_interval": 0,
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await broker.start()
        self._ready.set()
        while not self._stop.is_set():
            await asyncio.sleep(0.2)
        await broker.shutdown()
