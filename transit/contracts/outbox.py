"""The outbox (ADAPTER): deliver queued notices to their channels, with retries; every attempt is a ledger
event (`notice_delivery`), successful or not. Carriers' notices and the 109 tickets' (escalations to a
department, a permit holder or the police; status changes to the reporter) go through it alike.

Channels: a webhook (HTTP POST of JSON with the document and its SHA-256), e-mail (SMTP, TRANSIT_SMTP_URL),
SMS (an HTTP gateway, TRANSIT_SMS_URL, given {"to", "text"}), and the MQTT topic
`{prefix}/carriers/{carrier_id}/notices` (QoS 1). A target `reporter:<ticket id>` is the reporter's e-mail or
phone, read from the ticket at delivery (and gone once erased). A failed channel is tried again after
1, 2, 4, 8, … minutes, at most `max_attempts` times; the other channels of the notice do not wait for it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from transit.contracts.service import read_state
from transit.contracts.state import NOTICE_DELIVERY, ContractState, QueuedNotice
from transit.contracts.store import find_document
from transit.errors import TransitError
from transit.ledger.chain import Draft, Event
from transit.ledger.store import append_events
from transit.settings import Settings
from transit.telemetry.mqtt import Publisher, parse_mqtt_url

MAX_ATTEMPTS = 6
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Parcel:
    """One notice on its way to one channel: where to, and what (the JSON body every channel carries)."""

    notice: QueuedNotice
    channel: str
    target: str  # URL, e-mail address or MQTT topic
    body: dict[str, object]


Sender = Callable[[Parcel], None]  # raises on failure, with a message that says why


def due_parcels(
    state: ContractState, settings: Settings, now: dt.datetime, max_attempts: int
) -> list[tuple[QueuedNotice, str, str]]:
    """(notice, channel, target) of every delivery due now: never tried, or failed and past its back-off."""
    due = []
    for notice in sorted(state.notices.values(), key=lambda n: n.seq):
        for channel in notice.channels:
            tries = notice.attempts.get(channel, 0)
            if notice.delivered.get(channel) or tries >= max_attempts:
                continue
            last = notice.last_attempt_at.get(channel)
            if last is not None and now < last + dt.timedelta(minutes=2 ** (tries - 1)):
                continue
            due.append((notice, channel, _target(state, settings, notice, channel)))
    return due


def _target(state: ContractState, settings: Settings, notice: QueuedNotice, channel: str) -> str:
    if notice.targets:
        return notice.targets.get(channel, "")
    if notice.carrier_id == "department":
        department = state.department
        return (department.webhook if channel == "webhook" else department.email) or ""
    carrier = state.carriers[notice.carrier_id]
    if channel == "webhook":
        return carrier.channels.webhook or ""
    if channel == "email":
        return carrier.channels.email or ""
    return f"{settings.mqtt_topic_prefix}/carriers/{notice.carrier_id}/notices"


def deliver_due(
    session: Session,
    senders: dict[str, Sender],
    now: dt.datetime,
    settings: Settings,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Event]:
    """Try every due delivery once; append one notice_delivery event per attempt; the caller commits."""
    state = read_state(session)
    drafts = []
    for notice, channel, target in due_parcels(state, settings, now, max_attempts):
        document = find_document(session, notice.notice_id)
        body: dict[str, object] = {
            "notice_id": notice.notice_id,
            "kind": notice.kind,
            "carrier_id": notice.carrier_id,
            "contract_id": notice.contract_id,
            "document_sha256": notice.document_sha256,
            "language": document.language if document else None,
            "document_html": document.html if document else None,
        }
        error = None
        try:
            address = _address(session, target, channel)
            senders[channel](Parcel(notice, channel, address, body))
        except (OSError, TransitError, smtplib.SMTPException, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        attempt = notice.attempts.get(channel, 0) + 1
        payload = {
            "notice_id": notice.notice_id,
            "channel": channel,
            "target": target,
            "attempt": attempt,
            "ok": error is None,
            "error": error,
        }
        subject = f"carrier:{notice.carrier_id}" if notice.ticket_id is None else f"ticket:{notice.ticket_id}"
        drafts.append(Draft("system", NOTICE_DELIVERY, subject, payload))
    return append_events(session, drafts, now)


def _address(session: Session, target: str, channel: str) -> str:
    """The address itself: a `reporter:<ticket id>` target is the reporter's e-mail (or phone, for SMS)."""
    if not target.startswith("reporter:"):
        return target
    from transit.tickets.store import ReporterRow  # the tickets' table; read only for this kind of target

    ticket_id = target.removeprefix("reporter:")
    row = session.get(ReporterRow, int(ticket_id)) if ticket_id.isdigit() else None
    address = None if row is None else (row.phone if channel == "sms" else row.email)
    if not address:
        wanted = "phone" if channel == "sms" else "e-mail"
        raise TransitError(f"ticket {ticket_id}'s reporter left no {wanted} (or it was erased)")
    return address


def deliver_with_standard_senders(
    sessions: sessionmaker[Session], settings: Settings, now: dt.datetime
) -> list[Event]:
    """One delivery pass over the real channels, in its own transaction; the broker connection is closed."""
    senders = standard_senders(settings)
    try:
        with sessions.begin() as session:
            return deliver_due(session, senders, now, settings)
    finally:
        mqtt = senders["mqtt"]
        if isinstance(mqtt, MqttSender):
            mqtt.close()


def standard_senders(settings: Settings) -> dict[str, Sender]:
    """The real channels, configured from the settings."""
    return {
        "webhook": post_webhook,
        "email": lambda p: send_email(p, settings),
        "sms": lambda p: send_sms(p, settings),
        "mqtt": MqttSender(settings),
    }


def post_webhook(parcel: Parcel) -> None:
    """POST the notice as JSON; any 2xx answer is delivery."""
    if not parcel.target:
        raise TransitError("no webhook URL")
    request = urllib.request.Request(
        parcel.target,
        data=json.dumps(parcel.body, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Transit-Document-SHA256": str(parcel.notice.document_sha256),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (http/https only)
            if not 200 <= response.status < 300:
                raise TransitError(f"the webhook answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise TransitError(f"the webhook answered {exc.code}") from None
    except urllib.error.URLError as exc:
        raise TransitError(f"the webhook cannot be reached: {exc.reason}") from None


def send_email(parcel: Parcel, settings: Settings) -> None:
    """Mail the notice (HTML) through TRANSIT_SMTP_URL (smtp://host:port)."""
    if not settings.smtp_url:
        raise TransitError("TRANSIT_SMTP_URL is not set")
    where = urlsplit(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = parcel.target
    message["Subject"] = f"{parcel.notice.kind}: {parcel.notice.contract_id or parcel.notice.carrier_id}"
    message["X-Transit-Document-SHA256"] = parcel.notice.document_sha256
    message.set_content(f"Notice {parcel.notice.notice_id}; SHA-256 {parcel.notice.document_sha256}")
    message.add_alternative(str(parcel.body["document_html"] or ""), subtype="html")
    with smtplib.SMTP(where.hostname or "localhost", where.port or 25, timeout=TIMEOUT_S) as smtp:
        smtp.send_message(message)


def send_sms(parcel: Parcel, settings: Settings) -> None:
    """Text the notice through the SMS gateway at TRANSIT_SMS_URL: a POST of {"to", "text"}; 2xx is sent."""
    if not settings.sms_url:
        raise TransitError("TRANSIT_SMS_URL is not set")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(parcel.body.get("document_html") or ""))).strip()
    gateway = Parcel(parcel.notice, "webhook", settings.sms_url, {"to": parcel.target, "text": text[:480]})
    post_webhook(gateway)


class MqttSender:
    """Publishes notices at QoS 1 to their carrier's topic; connects on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.publisher: Publisher | None = None

    def __call__(self, parcel: Parcel) -> None:
        if self.publisher is None:
            self.publisher = Publisher(parse_mqtt_url(self.settings.broker_url()), "transit-notices")
            self.publisher.connect()
        self.publisher.publish(parcel.target, json.dumps(parcel.body, ensure_ascii=False).encode("utf-8"))
        self.publisher.flush(TIMEOUT_S)

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
