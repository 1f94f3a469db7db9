"""MQTT adapter (paho-mqtt 2.x): a QoS 1 subscriber that acknowledges only what the caller says is stored.

The message callback only enqueues; the ingest loop stores a batch and then calls `ack`. A message received
on an earlier connection is never acknowledged on a later one (paho's message ids restart per connection, so
that ack could confirm a different, unstored message); the broker redelivers it and storage is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from transit.errors import BadParameter, TransitError

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 14 * 86400


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    mqtt5: bool = True  # MQTT 5; `?protocol=3.1.1` in the URL for brokers without it (the embedded one)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """mqtt://[user[:password]@]host[:port][?protocol=3.1.1] or mqtts://… (TLS); BadParameter otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BadParameter(f"TRANSIT_MQTT_URL: {url!r} is not mqtt://host[:port] or mqtts://host[:port]")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise BadParameter(f"TRANSIT_MQTT_URL: {url!r} has an invalid port") from None
    protocol = parse_qs(parts.query).get("protocol", ["5"])[-1]
    if protocol not in ("5", "3.1.1"):
        raise BadParameter(f"TRANSIT_MQTT_URL: protocol={protocol!r} is not 5 or 3.1.1")
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        mqtt5=protocol == "5",
    )


@dataclass(frozen=True, slots=True)
class Received:
    """A message as it came off the wire, tagged with the connection it came on."""

    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_monotonic: float


def make_client(address: BrokerAddress, client_id: str, *, manual_ack: bool, persistent: bool) -> paho.Client:
    """A paho 2.x client with TCP_NODELAY on its socket (without it QoS 1 receives crawl).

    `persistent` keeps the session (MQTT 3.1.1: clean_session=False; MQTT 5 sets it when connecting).
    """
    if address.mqtt5:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=manual_ack,
        )
    else:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=not persistent,
            manual_ack=manual_ack,
        )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.on_socket_open = _set_nodelay
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def _set_nodelay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):  # a websocket wrapper has no such option
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Subscriber:
    """Subscribes at QoS 1 with a persistent session and puts every message on `inbox`."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        topics: Sequence[str],
        inbox: queue.SimpleQueue[Received],
        *,
        receive_maximum: int = 20000,
        on_connection_change: Callable[[bool], None] | None = None,
        manual_ack: bool = True,
        persistent: bool = True,
    ) -> None:
        self.address = address
        self.topics = list(topics)
        self.inbox = inbox
        self.receive_maximum = receive_maximum
        self.on_connection_change = on_connection_change
        self._lock = threading.Lock()
        self._connection = 0
        self._connected = False
        self.persistent = persistent
        self.subscribed = threading.Event()  # set when the broker has acknowledged the subscriptions
        self.client = make_client(address, client_id, manual_ack=manual_ack, persistent=persistent)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        """Connect in the background and keep reconnecting with back-off until `stop`."""
        if self.address.mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
            properties.ReceiveMaximum = self.receive_maximum
            if not self.persistent:
                properties.SessionExpiryInterval = 0
            self.client.connect_async(
                self.address.host, self.address.port, keepalive=30, clean_start=not self.persistent,
                properties=properties,
            )  # fmt: skip
        else:
            self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def ack(self, messages: Sequence[Received]) -> int:
        """Acknowledge stored messages that came on the current connection; returns how many."""
        with self._lock:
            current, connected = self._connection, self._connected
        if not connected:
            return 0
        acked = 0
        for message in messages:
            if message.qos > 0 and message.connection == current:
                self.client.ack(message.mid, message.qos)
                acked += 1
        return acked

    def _on_connect(self, client: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker %s refused the connection: %s", self.address, reason)
            return
        with self._lock:
            self._connection += 1
            self._connected = True
        client.subscribe([(topic, 1) for topic in self.topics])
        log.info("connected to %s", self.address)
        if self.on_connection_change is not None:
            self.on_connection_change(True)

    def _on_subscribe(self, _c: paho.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        failed = [r for r in reasons if getattr(r, "is_failure", False)]
        if failed:
            log.error("the broker %s refused the subscription: %s", self.address, failed)
            return
        log.info("subscribed to %s", ", ".join(self.topics))
        self.subscribed.set()

    def _on_connect_fail(self, _c: paho.Client, _u: Any) -> None:
        log.warning("cannot connect to the MQTT broker at %s; retrying", self.address)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            self._connected = False
        self.subscribed.clear()
        level = logging.WARNING if getattr(reason, "is_failure", True) else logging.INFO
        log.log(level, "disconnected from %s: %s", self.address, reason)
        if self.on_connection_change is not None:
            self.on_connection_change(False)

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        self.inbox.put(
            Received(
                self._connection,
                message.mid,
                message.qos,
                message.topic,
                bytes(message.payload),
                time.monotonic(),
            )
        )


class Publisher:
    """A QoS 1 publisher for replay and simulation; waits for the broker's acknowledgements."""

    def __init__(self, address: BrokerAddress, client_id: str, *, max_inflight: int = 1000) -> None:
        self.client = make_client(address, client_id, manual_ack=False, persistent=False)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.address = address
        self._pending: list[paho.MQTTMessageInfo] = []

    def connect(self, timeout_s: float = 10.0) -> None:
        try:
            self.client.connect(self.address.host, self.address.port, keepalive=30)
        except OSError as exc:
            raise BadParameter(f"cannot reach the MQTT broker at {self.address}: {exc}") from None
        self.client.loop_start()
        deadline = time.monotonic() + timeout_s
        while not self.client.is_connected():
            if time.monotonic() > deadline:
                raise BadParameter(f"the MQTT broker at {self.address} did not accept the connection")
            time.sleep(0.01)

    def publish(self, topic: str, payload: bytes) -> None:
        self._pending.append(self.client.publish(topic, payload, qos=1))
        if len(self._pending) >= 5000:
            self.flush()

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until the broker has acknowledged every message published so far; TransitError if not."""
        deadline = time.monotonic() + timeout_s
        try:
            for info in self._pending:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        except (RuntimeError, ValueError) as exc:  # paho: the connection dropped, or the queue overflowed
            raise TransitError(f"publishing to the MQTT broker at {self.address} failed: {exc}") from None
        unconfirmed = sum(not info.is_published() for info in self._pending)
        self._pending.clear()
        if unconfirmed:
            raise TransitError(
                f"the MQTT broker at {self.address} did not acknowledge {unconfirmed} message(s)"
            )

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()
