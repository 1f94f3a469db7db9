"""The outbox against real channels: a local webhook that fails once, a local SMTP server, a Mosquitto broker.
Every attempt is a ledger event; a failed channel is retried after its back-off, the others do not wait."""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.broker import Mosquitto
from transit.contracts.config import parse_contract_book
from transit.contracts.notices import render_notice
from transit.contracts.outbox import deliver_due, standard_senders
from transit.contracts.service import load_book, read_state
from transit.contracts.state import NOTICE_QUEUED
from transit.contracts.store import add_document
from transit.db import make_engine, make_session_factory
from transit.ledger.chain import Draft
from transit.ledger.store import append_events
from transit.settings import Settings

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


class FlakyWebhook:
    """Answers 500 to the first POST, 204 after; keeps the bodies."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(500 if len(bodies) == 1 else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class TinySmtp(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept a message (what a relay does first), keeping each message's text."""

    allow_reuse_address = True

    def __init__(self) -> None:
        self.messages: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 tiny ready\r\n")
                while line := self.rfile.readline():
                    verb = line.decode().strip().split(" ")[0].upper()
                    if verb == "DATA":
                        self.wfile.write(b"354 go on\r\n")
                        lines = []
                        while (part := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(part.decode())
                        outer.messages.append("".join(lines))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"smtp://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_each_channel_delivers_and_a_failed_one_is_retried_after_its_back_off(
    sessions: sessionmaker[Session], broker: Mosquitto, tmp_path: Path
) -> None:
    webhook, smtp = FlakyWebhook(), TinySmtp()
    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}", smtp_url=smtp.url, ledger_key_file=tmp_path / "k"
    )
    received: list[bytes] = []
    subscriber = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="carrier-ap1")
    subscriber.on_message = lambda _c, _u, message: received.append(message.payload)
    subscriber.connect("127.0.0.1", broker.port)
    subscriber.subscribe("transit/v1/carriers/AP1/notices", qos=1)
    subscriber.loop_start()
    book = f"""
[[carrier]]
id = "AP1"
name = "Avtopark 1"
[carrier.channels]
webhook = "{webhook.url}"
email = "dispatch@ap1.example"
mqtt = true
"""
    notice = render_notice(
        "warning:C-1/2026-12-01",
        "warning",
        "en",
        "UTC",
        {
            "carrier_name": "Avtopark 1",
            "contract_id": "C-1",
            "issued_at": T0,
            "date": "2026-12-01",
            "number": 1,
            "of": 3,
            "window_days": 90,
            "dispute_days": 5,
            "violations": [
                {
                    "trip_id": "T1",
                    "start_time": "08:00:00",
                    "route_id": "1",
                    "verdict": "missed",
                    "reason": "no_vehicle_observed",
                    "start_at": "2026-12-01T08:00:00+00:00",
                }
            ],
        },
    )
    with sessions.begin() as session:
        load_book(session, parse_contract_book(book), "test", T0)
        add_document(session, notice, "AP1", "C-1", T0)
        payload = {
            "notice_id": notice.notice_id,
            "kind": "warning",
            "carrier_id": "AP1",
            "contract_id": "C-1",
            "language": "en",
            "document_sha256": notice.sha256,
            "channels": ["webhook", "email", "mqtt"],
        }
        append_events(session, [Draft("system", NOTICE_QUEUED, "carrier:AP1", payload)], T0)

    def deliver(at: dt.datetime) -> dict[str, bool]:
        senders = standard_senders(settings)
        with sessions.begin() as session:
            events = deliver_due(session, senders, at, settings)
        senders["mqtt"].close()  # type: ignore[attr-defined]
        return {e.data()["channel"]: e.data()["ok"] for e in events}

    assert deliver(T0) == {"webhook": False, "email": True, "mqtt": True}
    assert deliver(T0 + dt.timedelta(seconds=30)) == {}  # the webhook waits a minute before its retry
    assert deliver(T0 + dt.timedelta(seconds=61)) == {"webhook": True}
    assert deliver(T0 + dt.timedelta(hours=1)) == {}  # all delivered: nothing due
    with sessions() as session:
        state = read_state(session)
    assert state.notices[notice.notice_id].delivered == {"webhook": True, "email": True, "mqtt": True}
    assert state.notices[notice.notice_id].attempts == {"webhook": 2, "email": 1, "mqtt": 1}
    assert [b["document_sha256"] for b in webhook.bodies] == [notice.sha256] * 2
    assert (
        len(smtp.messages) == 1
        and notice.sha256 in smtp.messages[0]
        and "dispatch@ap1.example" in smtp.messages[0]
    )
    subscriber.loop_stop()
    assert json.loads(received[0])["notice_id"] == notice.notice_id
    webhook.server.shutdown()
    smtp.shutdown()
