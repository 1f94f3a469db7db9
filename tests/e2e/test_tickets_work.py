"""Work on 109 tickets through the real CLI against the real PostgreSQL: escalation of an overdue permit over
a simulated clock (the holder, then the police, by e-mail through a local SMTP server), moves and notes, the
reporter told of public changes (e-mail and SMS, resolved at delivery, never in the ledger), erasure of
reporters after the retention period, and transport complaints checked against telemetry verdicts.

Tickets are filed with `transit.tickets.service.file_ticket` in a session on the same database (what the
Open311 endpoint calls); everything after that goes through `transit ...` as a subprocess. Independent
commands run side by side to keep the module fast: each CLI start costs seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import hashlib
import json
import re
import socketserver
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support import run_cli
from transit.db import make_engine, make_session_factory
from transit.gtfs.store import FeedVersionRow
from transit.ledger.store import LedgerEventRow
from transit.matching.store import VerdictRow
from transit.tickets.catalog import default_catalog
from transit.tickets.evidence import check_evidence
from transit.tickets.model import State
from transit.tickets.privacy import PERSONAL
from transit.tickets.service import Reporter, Submission, change_state, file_ticket
from transit.tickets.store import NoteRow, ReporterRow, TicketRow, notes_of
from transit.tickets.workdays import WorkCalendar

pytestmark = [pytest.mark.postgres]

CATALOG = default_catalog()
ZONE = ZoneInfo(CATALOG.timezone)  # Asia/Almaty: the catalog's, and the synthetic city's
INTAKE = "intake:109 operator"


# --- local receivers: an SMTP server and an SMS gateway --------------------------------------------------


class SmtpStub:
    """A minimal SMTP server on a free local port that accepts every message and keeps it, with its envelope
    recipients (smtplib needs only greeting, EHLO, MAIL, RCPT, DATA and QUIT answered)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 stub ESMTP\r\n")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"RCPT":
                        recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                    if verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    if verb != b"DATA":
                        self.wfile.write(b"250 ok\r\n")
                        continue
                    self.wfile.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    rows = []
                    while (row := self.rfile.readline()) not in (b".\r\n", b""):
                        rows.append(row[1:] if row.startswith(b"..") else row)
                    message = email.message_from_bytes(b"".join(rows), policy=email.policy.default)
                    assert isinstance(message, EmailMessage)
                    stub.received.append((recipients, message))
                    recipients = []
                    self.wfile.write(b"250 queued\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"smtp://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope and To header name `address`."""
        return [m for rcpt, m in self.received if rcpt == [address] and m["To"] == address]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, message
    return str(part.get_content())


class SmsGateway:
    """A local HTTP endpoint that takes the SMS gateway's POST of JSON {to, text} and keeps it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                gateway.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpStub]:
    stub = SmtpStub()
    yield stub
    stub.close()


@pytest.fixture
def sms() -> Iterator[SmsGateway]:
    gateway = SmsGateway()
    yield gateway
    gateway.close()


# --- the desk: the database, the CLI over it, and the ledger read back ------------------------------------


@dataclass
class Desk:
    env: dict[str, str]
    sessions: sessionmaker[Session]
    folder: Path

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, extra_env=self.env | (env or {}))

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, f"transit {' '.join(args)}: {result.stderr}"
        return result.stdout

    def file(
        self,
        service_code: str,
        at: dt.datetime,
        attributes: dict[str, str | list[str]] | None = None,
        reporter: Reporter | None = None,
    ) -> int:
        """File a ticket as the Open311 endpoint does (in its own committed transaction); its id."""
        submission = Submission(
            service_code, address=f"Abay street {service_code}", attributes=attributes or {},
            reporter=reporter or Reporter(),
        )  # fmt: skip
        with self.sessions.begin() as session:
            return file_ticket(session, CATALOG, submission, INTAKE, at).ticket_id

    def events(self, kind: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        """The ledger's events (of a kind, about a subject), with their payload parsed and as stored."""
        with self.sessions() as session:
            rows = session.scalars(select(LedgerEventRow).order_by(LedgerEventRow.seq)).all()
        return [
            {"seq": r.seq, "kind": r.kind, "actor": r.actor, "subject": r.subject,
             "payload": json.loads(r.payload), "text": r.payload, "at": r.at}
            for r in rows
            if (kind is None or r.kind == kind) and (subject is None or r.subject == subject)
        ]  # fmt: skip

    def ticket(self, ticket_id: int) -> TicketRow:
        with self.sessions() as session:
            row = session.get(TicketRow, ticket_id)
            assert row is not None
            session.expunge(row)
            return row

    def notes(self, ticket_id: int, public_only: bool) -> list[NoteRow]:
        with self.sessions() as session:
            found = notes_of(session, [ticket_id], public_only=public_only)[ticket_id]
            session.expunge_all()
            return found


@pytest.fixture
def desk(postgres_database_url: str, tmp_path: Path) -> Iterator[Desk]:
    engine = make_engine(postgres_database_url)
    env = {"TRANSIT_DATABASE_URL": postgres_database_url, "TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "l.key")}
    yield Desk(env, make_session_factory(engine), tmp_path)
    engine.dispose()


def side_by_side(*chains: Callable[[], Any]) -> list[Any]:
    """Run independent chains of commands at the same time; their results in order."""
    with ThreadPoolExecutor(max_workers=len(chains)) as pool:
        futures = [pool.submit(chain) for chain in chains]
        return [f.result() for f in futures]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- 1. escalation of an overdue excavation permit over a simulated clock ---------------------------------

HOLDER_EMAIL = "works@kurylys.example"
POLICE_EMAIL = "police@petropavl.example"  # the shipped catalog's police party


def test_an_overdue_permit_tells_its_holder_at_once_and_the_police_three_working_days_later(
    desk: Desk, smtp: SmtpStub
) -> None:
    until = dt.datetime(2026, 12, 11, 18, 0, tzinfo=ZONE)  # a Friday evening
    calendar = CATALOG.calendar
    span = [until.date() + dt.timedelta(days=k) for k in range(1, 7)]
    off = [d for d in span if not calendar.is_working_day(d)]
    assert any(d.weekday() >= 5 for d in off) and any(d.weekday() < 5 for d in off), off  # weekend + holiday
    police_due = calendar.add_working_days(until, 3)
    weekends_only_due = WorkCalendar(frozenset()).add_working_days(until, 3)
    assert until < weekends_only_due < police_due  # the holiday inside the span moves the police step
    permit = desk.file(
        "excavation_permit", until - dt.timedelta(days=10),
        {"permit_no": "EP-2026-117", "holder": "Kurylys LLP", "holder_email": HOLDER_EMAIL,
         "until": until.isoformat()},
    )  # fmt: skip
    smtp_env = {"TRANSIT_SMTP_URL": smtp.url}

    def escalate(at: dt.datetime) -> str:
        return desk.cli("tickets", "escalate", "--now", at.isoformat(), env=smtp_env)

    assert escalate(until - dt.timedelta(minutes=1)).endswith("0 escalation step(s) fired\n")
    assert desk.events("ticket_escalated") == [] and smtp.received == []

    first = escalate(until + dt.timedelta(seconds=1))
    assert f"ticket {permit}: step 1 -> holder " in first and "1 escalation step(s) fired" in first
    assert "outbox: 1 of 1 delivery attempt(s) succeeded" in first
    [to_holder] = smtp.to(HOLDER_EMAIL)
    assert "Permit EP-2026-117 held by Kurylys LLP" in html_of(to_holder)
    assert f"Request {permit}," in html_of(to_holder) and "Escalation step 1 of 2" in html_of(to_holder)
    [step1] = desk.events("ticket_escalated")
    assert step1["subject"] == f"ticket:{permit}"
    assert step1["payload"] == {"ticket_id": permit, "step": 1, "party": "holder",
                                "due_at": until.astimezone(dt.UTC).isoformat(),
                                "notice_id": f"ticket:{permit}/escalation-1"}  # fmt: skip
    [queued] = desk.events("notice_queued")
    assert queued["payload"]["targets"] == {"email": HOLDER_EMAIL}
    assert queued["payload"]["kind"] == "ticket_escalation"
    internal = [n for n in desk.notes(permit, public_only=False) if n.kind == "escalated"]
    assert [(n.public, n.text) for n in internal] == [
        (False, "Escalated (step 1) to the permit holder, Kurylys LLP")
    ]
    assert not [n for n in desk.notes(permit, public_only=True) if n.kind == "escalated"]

    # A pass on a later working day fires nothing twice and nothing new: the end of the third working day
    # counting weekends alone is past here, but 16 December is a holiday.
    assert escalate(weekends_only_due + dt.timedelta(seconds=1)).endswith("0 escalation step(s) fired\n")
    assert len(desk.events("ticket_escalated")) == 1 and len(smtp.received) == 1

    second = escalate(police_due + dt.timedelta(seconds=1))
    due_text = f"{police_due.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    assert (
        f"ticket {permit}: step 2 -> police (due {due_text}; notice ticket:{permit}/escalation-2)" in second
    )
    assert "outbox: 1 of 1 delivery attempt(s) succeeded" in second
    [to_police] = smtp.to(POLICE_EMAIL)
    assert "Permit EP-2026-117 held by Kurylys LLP" in html_of(to_police)
    assert f"Request {permit}," in html_of(to_police) and "Escalation step 2 of 2" in html_of(to_police)
    assert len(smtp.to(HOLDER_EMAIL)) == 1  # the holder was not told twice
    steps = desk.events("ticket_escalated")
    assert [(e["payload"]["step"], e["payload"]["party"]) for e in steps] == [(1, "holder"), (2, "police")]
    assert steps[1]["payload"]["due_at"] == police_due.astimezone(dt.UTC).isoformat()
    deliveries = desk.events("notice_delivery")
    assert [(d["payload"]["notice_id"], d["payload"]["target"], d["payload"]["ok"]) for d in deliveries] == [
        (f"ticket:{permit}/escalation-1", HOLDER_EMAIL, True),
        (f"ticket:{permit}/escalation-2", POLICE_EMAIL, True),
    ]
    assert desk.ticket(permit).escalations == 2


# --- 2. moves, a refused move, rerouting and notes through the CLI ----------------------------------------


def test_a_ticket_is_worked_through_the_cli_and_a_move_from_done_is_refused_and_recorded(desk: Desk) -> None:
    now = dt.datetime.now(dt.UTC)
    shelter, pothole = desk.file("bus_stop", now), desk.file("pothole", now)
    actor = ("--actor", "Roads dispatcher")

    def move(ticket: int, *args: str) -> subprocess.CompletedProcess[str]:
        return desk.run("tickets", "move", str(ticket), *args, *actor)

    def note(*args: str) -> subprocess.CompletedProcess[str]:
        return desk.run("tickets", "note", str(shelter), *args, *actor)

    def work_the_shelter() -> list[subprocess.CompletedProcess[str]]:
        return [
            move(shelter, "in_progress", "--text", "Crew sent"),
            move(shelter, "done", "--text", "Glass replaced"),
            move(shelter, "in_progress", "--text", "Once more"),
        ]

    def reroute_the_pothole() -> list[subprocess.CompletedProcess[str]]:
        return [
            move(pothole, "routed", "--department", "construction", "--text", "A dig site, not a pothole"),
            move(pothole, "routed", "--department", "sewers", "--text", "Sewers, then"),
        ]

    def note_the_shelter() -> list[subprocess.CompletedProcess[str]]:
        return [
            note("--text", "Vandals again, call the police"),
            note("--public", "--text", "Thank you for telling us"),
        ]

    (started, finished, refused), (rerouted, unknown), (internal, public) = side_by_side(
        work_the_shelter, reroute_the_pothole, note_the_shelter
    )
    assert (started.returncode, finished.returncode) == (0, 0), (started.stderr, finished.stderr)
    assert started.stdout == f"ticket {shelter}: in_progress (open), department transport\n"
    assert finished.stdout == f"ticket {shelter}: done (closed), department transport\n"
    assert refused.returncode == 2, refused
    said = re.fullmatch(
        rf"error: ticket {shelter} is done: it cannot become in_progress "
        r"\(refused; recorded as ledger event (\d+)\)\n",
        refused.stderr,
    )
    assert said, refused.stderr
    [protocol] = [e for e in desk.events() if e["seq"] == int(said[1])]
    assert (protocol["kind"], protocol["actor"], protocol["subject"]) == (
        "protocol", "Roads dispatcher", f"ticket:{shelter}",
    )  # fmt: skip
    assert protocol["payload"] == {"attempted": "move to in_progress", "refused": True, "state": "done"}
    row = desk.ticket(shelter)
    assert (row.state, row.status, row.closed_at is not None) == ("done", "closed", True)
    moves = desk.events("ticket_state", f"ticket:{shelter}")
    assert [(e["payload"]["from"], e["payload"]["to"], e["actor"]) for e in moves] == [
        ("routed", "in_progress", "Roads dispatcher"), ("in_progress", "done", "Roads dispatcher"),
    ]  # fmt: skip
    assert moves[1]["payload"]["text_sha256"] == sha256("Glass replaced")
    assert "Glass replaced" not in moves[1]["text"]  # the text stays in the notes, out of the ledger

    assert rerouted.returncode == 0, rerouted.stderr
    assert rerouted.stdout == f"ticket {pothole}: routed (open), department construction\n"
    assert (unknown.returncode, unknown.stderr) == (
        2, "error: department: 'sewers' is not a department of the catalog\n",
    )  # fmt: skip
    assert (desk.ticket(pothole).department, desk.ticket(pothole).state) == ("construction", "routed")
    [reroute] = desk.events("ticket_state", f"ticket:{pothole}")  # the refused inputs recorded nothing
    assert reroute["payload"]["department"] == "construction"

    assert internal.returncode == 0 and internal.stdout == f"ticket {shelter}: note added (internal)\n"
    assert public.returncode == 0 and public.stdout == f"ticket {shelter}: note added (public)\n"
    everything = {(n.kind, n.text, n.public) for n in desk.notes(shelter, public_only=False)}
    shown = {(n.kind, n.text) for n in desk.notes(shelter, public_only=True)}  # what Open311 GET shows
    assert {("note", "Vandals again, call the police", False), ("note", "Thank you for telling us", True),
            ("state", "Glass replaced", True)} <= everything  # fmt: skip
    assert ("note", "Thank you for telling us") in shown and ("state", "Glass replaced") in shown
    assert ("note", "Vandals again, call the police") not in shown
    notes = desk.events("ticket_note", f"ticket:{shelter}")
    assert sorted((e["payload"]["public"], e["actor"]) for e in notes) == [
        (False, "Roads dispatcher"), (True, "Roads dispatcher"),
    ]  # fmt: skip


# --- 3. the reporter hears back ----------------------------------------------------------------------------

REPORTER = Reporter("Aigerim", "Nurlanova", "aigerim@mail.example", "+77015550123", "device-4242", "acct-77")


def test_the_reporter_is_told_of_public_changes_at_the_address_read_when_the_notice_is_sent(
    desk: Desk, smtp: SmtpStub, sms: SmsGateway
) -> None:
    ticket = desk.file("street_light", dt.datetime.now(dt.UTC), reporter=REPORTER)
    desk.cli(
        "tickets", "move", str(ticket), "in_progress", "--text", "A crew is on the way", "--actor", "Roads"
    )
    [queued] = desk.events("notice_queued")
    assert queued["subject"] == f"ticket:{ticket}"
    assert {k: queued["payload"][k] for k in ("kind", "carrier_id", "channels", "targets")} == {
        "kind": "ticket_status", "carrier_id": f"reporter:{ticket}", "channels": ["email", "sms"],
        "targets": {"email": f"reporter:{ticket}", "sms": f"reporter:{ticket}"},
    }  # fmt: skip
    # The reporter corrects their address before the notice goes out: the new one is used.
    with desk.sessions.begin() as session:
        reporter = session.get(ReporterRow, ticket)
        assert reporter is not None
        reporter.email = "aigerim.n@mail.example"
    channels = {"TRANSIT_SMTP_URL": smtp.url, "TRANSIT_SMS_URL": sms.url}
    why = "Not ours: the yard belongs to the housing cooperative"
    delivered, _ = side_by_side(
        lambda: desk.cli("notices", "deliver", env=channels),
        lambda: desk.cli(
            "tickets", "move", str(ticket), "routed", "--department", "housing", "--internal", "--text", why
        ),  # fmt: skip
    )
    assert delivered == "deliveries: 2 delivered, 0 failed (retried later)\n", delivered

    [mail] = smtp.to("aigerim.n@mail.example")
    assert smtp.to(REPORTER.email or "") == []
    document = html_of(mail)
    assert f"Your request {ticket} (Street light out) is now in progress." in document
    assert "A crew is on the way" in document
    [text] = sms.received
    assert text["to"] == REPORTER.phone
    assert (
        f"Your request {ticket} (Street light out) is now in progress. A crew is on the way" in text["text"]
    )
    attempts = desk.events("notice_delivery")
    sent = sorted((a["payload"]["channel"], a["payload"]["target"], a["payload"]["ok"]) for a in attempts)
    assert sent == [("email", f"reporter:{ticket}", True), ("sms", f"reporter:{ticket}", True)]

    assert len(desk.events("notice_queued")) == 1  # the internal change queued nothing
    moves = desk.events("ticket_state", f"ticket:{ticket}")
    assert [(e["payload"]["to"], e["payload"]["public"]) for e in moves] == [
        ("in_progress", True),
        ("routed", False),
    ]

    personal = [REPORTER.first_name, REPORTER.last_name, REPORTER.email, "aigerim.n@mail.example",
                REPORTER.phone, "7015550123", REPORTER.device_id, REPORTER.account_id]  # fmt: skip
    for event in desk.events():
        found = [p for p in personal if p and p.lower() in event["text"].lower()]
        assert not found, (event["kind"], found)


# --- 4. erasing reporters after the retention period ------------------------------------------------------


def test_reporters_of_tickets_closed_past_retention_are_erased_and_a_late_notice_fails_cleanly(
    desk: Desk, smtp: SmtpStub, sms: SmsGateway
) -> None:
    # In UTC: Almaty moved from UTC+6 to UTC+5 in 2024, so wall-clock arithmetic across the retention period
    # would be an hour off.
    closed_at = dt.datetime(2023, 6, 1, 10, 0, tzinfo=ZONE).astimezone(dt.UTC)
    closed = desk.file("garbage", closed_at - dt.timedelta(days=2), reporter=REPORTER)
    still_open = desk.file("snow", closed_at - dt.timedelta(days=1), reporter=REPORTER)
    with desk.sessions.begin() as session:  # closed publicly: a notice to the reporter waits in the outbox
        change_state(session, CATALOG, closed, State.DONE, "Sanitation", "Collected", closed_at)
    notes_before = len(desk.notes(closed, public_only=False))
    retention = dt.timedelta(days=CATALOG.retention_days)

    def erase(at: dt.datetime) -> str:
        return desk.cli("tickets", "erase", "--now", at.isoformat())

    minute = dt.timedelta(minutes=1)
    early, due = side_by_side(
        lambda: erase(closed_at + retention - minute), lambda: erase(closed_at + retention + minute)
    )
    assert early.startswith("0 reporter(s) erased"), early
    assert due == "1 reporter(s) erased (tickets closed before 2023-06-01)\n"

    with desk.sessions() as session:
        gone, kept = session.get(ReporterRow, closed), session.get(ReporterRow, still_open)
        assert gone is not None and kept is not None
        assert {name: getattr(gone, name) for name in PERSONAL} == dict.fromkeys(PERSONAL)
        assert gone.erased_at == closed_at + retention + minute
        assert (kept.email, kept.phone, kept.first_name, kept.erased_at) == (
            REPORTER.email, REPORTER.phone, REPORTER.first_name, None,
        )  # fmt: skip
    assert desk.ticket(closed).state == "done"
    assert len(desk.notes(closed, public_only=False)) == notes_before
    [erased] = desk.events("reporter_erased")
    assert erased["subject"] == f"ticket:{closed}"
    assert erased["payload"] == {"ticket_id": closed, "retention_days": CATALOG.retention_days}

    channels = {"TRANSIT_SMTP_URL": smtp.url, "TRANSIT_SMS_URL": sms.url}
    result = desk.run("notices", "deliver", env=channels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("deliveries: 0 delivered, 2 failed (retried later)\n"), result.stdout
    assert f"ticket {closed}'s reporter left no e-mail (or it was erased)" in result.stdout
    assert f"ticket {closed}'s reporter left no phone (or it was erased)" in result.stdout
    assert smtp.received == [] and sms.received == []
    attempts = desk.events("notice_delivery")
    assert sorted((a["payload"]["channel"], a["payload"]["ok"]) for a in attempts) == [
        ("email", False), ("sms", False),
    ]  # fmt: skip
    assert all("erased" in a["payload"]["error"] for a in attempts)


# --- 5. transport complaints against the telemetry verdicts -----------------------------------------------

DAY = dt.date(2026, 11, 27)  # a Friday, simulated; the feed starts a week before
CONTRACTS = """
[department]
name = "Transport department"
timezone = "Asia/Almaty"

[[carrier]]
id = "AP1"
name = "Avtopark 1"
agency_ids = ["AP1"]
[carrier.channels]
mqtt = false

[[carrier]]
id = "AP2"
name = "Avtopark 2"
agency_ids = ["AP2"]
[carrier.channels]
mqtt = false

[[contract]]
id = "C-1"
carrier = "AP1"
agency_id = "AP1"
start = 2026-01-01
end = 2099-12-31

[[contract]]
id = "C-2"
carrier = "AP2"
agency_id = "AP2"
start = 2026-01-01
end = 2099-12-31
"""


def local_start(row: dict[str, str]) -> dt.datetime:
    """The scheduled start of a trip instance of the truth file (times before 24:00; no DST in Almaty)."""
    hours, minutes, seconds = (int(x) for x in row["start_time"].split(":"))
    midnight = dt.datetime.combine(dt.date.fromisoformat(row["service_date"]), dt.time(), tzinfo=ZONE)
    return midnight + dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def complaint_times(truth: Path) -> tuple[dict[str, str], dt.datetime, str, dt.datetime]:
    """A missed trip (by day) and a moment it was on the road; a route and a moment when only performed trips
    of it ran (no other trip of the route started in the 90 minutes before or the 15 after)."""
    rows = list(csv.DictReader(truth.read_text(encoding="utf-8").splitlines()))
    daytime = [r for r in rows if "07:00:00" <= r["start_time"] <= "20:00:00"]
    missed = next(r for r in daytime if r["expected_verdict"] == "missed")
    for row in daytime:
        moment = local_start(row) + dt.timedelta(minutes=1)
        near = [
            r for r in rows
            if r["route_id"] == row["route_id"]
            and -dt.timedelta(minutes=90) <= local_start(r) - moment <= dt.timedelta(minutes=15)
        ]  # fmt: skip
        if all(r["expected_verdict"] == "performed" for r in near):
            return missed, local_start(missed) + dt.timedelta(minutes=2), row["route_id"], moment
    raise AssertionError("the simulated day has no stretch of performed trips only")


def test_transport_complaints_wait_for_the_verdicts_then_are_confirmed_or_contradicted(desk: Desk) -> None:
    feed, pings, contracts = (
        desk.folder / "city.zip",
        desk.folder / "pings.csv",
        desk.folder / "contracts.toml",
    )
    contracts.write_text(CONTRACTS, encoding="utf-8")
    start = (DAY - dt.timedelta(days=7)).isoformat()
    desk.cli("synth", "city", "--routes", "2", "--seed", "3", "--start-date", start, "--out", str(feed))
    side_by_side(
        lambda: desk.cli("gtfs", "load", str(feed)),
        lambda: desk.cli(
            "simulate",
            "--feed",
            str(feed),
            "--date",
            DAY.isoformat(),
            "--out",
            str(pings),
            "--seed",
            "7",
            "--miss-rate",
            "0.1",
            "--miss-carrier",
            "AP1",
        ),  # fmt: skip
        lambda: desk.cli("contracts", "load", str(contracts), "--actor", "Head of transport"),
    )
    missed, missed_at, quiet_route, quiet_at = complaint_times(desk.folder / "pings.truth.csv")
    filed_at = dt.datetime.combine(DAY, dt.time(21, 0), tzinfo=ZONE)

    def complain(route: str, moment: dt.datetime) -> int:
        return desk.file(
            "bus_no_show", filed_at, {"route": route, "time": moment.isoformat(), "stop": "Central"}
        )

    confirmed, contradicted = complain(missed["route_id"], missed_at), complain(quiet_route, quiet_at)
    old = complain(missed["route_id"], missed_at - dt.timedelta(days=5))  # no verdicts, and long past

    first = desk.cli("tickets", "evidence", "--now", (filed_at + dt.timedelta(hours=1)).isoformat())
    assert (
        f"ticket {confirmed}: pending (no trip)\n" in first
        and f"ticket {contradicted}: pending (no trip)\n" in first
    )
    assert f"ticket {old}: unverifiable (no trip)\n" in first and first.endswith("3 complaint(s) checked\n")
    assert [e["payload"]["ticket_id"] for e in desk.events("complaint_evidence")] == [old]

    desk.cli("detect", "--feed", str(feed), "--pings", str(pings), "--date", DAY.isoformat(), "--store")
    second = desk.cli("tickets", "evidence", "--now", (filed_at + dt.timedelta(hours=13)).isoformat())
    trip = f"{missed['trip_id']} {missed['start_time']} missed"
    assert re.search(rf"ticket {confirmed}: confirmed \([^)]*{re.escape(trip)}", second), second
    assert f"ticket {contradicted}: contradicted (" in second and second.endswith("2 complaint(s) checked\n")
    assert str(old) not in second  # its outcome was final

    outcomes = {e["payload"]["ticket_id"]: e["payload"] for e in desk.events("complaint_evidence")}
    assert outcomes[confirmed]["outcome"] == "confirmed"
    assert outcomes[contradicted]["outcome"] == "contradicted"
    assert {t["verdict"] for t in outcomes[contradicted]["trips"]} == {"performed"}
    [attached] = desk.events("complaint_confirmed")
    assert attached["subject"] == f"trip:{DAY.isoformat()}/{missed['trip_id']}/{missed['start_time']}"
    assert attached["payload"] == {
        "ticket_id": confirmed, "carrier_id": missed["carrier_id"], "service_date": DAY.isoformat(),
        "trip_id": missed["trip_id"], "start_time": missed["start_time"], "verdict": "missed",
    }  # fmt: skip
    [note] = [n for n in desk.notes(confirmed, public_only=False) if n.kind == "evidence"]
    assert not note.public and note.text.startswith("Telemetry evidence: confirmed — ")

    record = json.loads(desk.cli("carriers", "show", missed["carrier_id"], "--format", "json"))
    assert record["complaints_confirmed"] == {DAY.isoformat()[:7]: 1}
    assert record["violations"] == [] and desk.events("violation_recorded") == []  # a call costs nothing


# --- a complaint the day after a decided day --------------------------------------------------------------


def add_verdicts(desk: Desk, day: dt.date, route: str, starts: list[str], verdict: str) -> None:
    """Stored verdicts of trips of `route` on `day` lasting 20 minutes (and the feed version they need)."""
    now = dt.datetime.now(dt.UTC)
    with desk.sessions.begin() as session:
        feed = FeedVersionRow(
            content_sha256="0" * 64, source_name="test", loaded_at=now, last_loaded_at=now, valid_from=day,
            valid_to=day, trip_count=len(starts), archive=b"",
        )  # fmt: skip
        session.add(feed)
        session.flush()
        for k, start in enumerate(starts):
            begin = dt.datetime.combine(day, dt.time.fromisoformat(start), tzinfo=ZONE)
            session.add(VerdictRow(
                service_date=day, trip_id=f"{route}-{k}", start_time=start, feed_version_id=feed.id,
                revision=1, event="verdict_final", verdict=verdict, reason="covered", route_id=route,
                agency_id="AP1", carrier_id="AP1", start_at=begin, end_at=begin + dt.timedelta(minutes=20),
                coverage=1.0, lost_distance_m=None, vehicle_ids="bus-1", first_ping_at=None,
                last_ping_at=None,
                stops_reached=None, stops_total=None, decided_at=now, actor="test", source="batch",
                payload="{}", payload_sha256="0" * 64,
            ))  # fmt: skip


def test_a_complaint_the_day_after_a_decided_day_waits_for_its_own_verdicts(desk: Desk) -> None:
    add_verdicts(desk, DAY, "1", ["08:00:00", "12:00:00"], "performed")
    moment = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8, 5), tzinfo=ZONE)
    ticket = desk.file("bus_no_show", moment, {"route": "1", "time": moment.isoformat()})
    with desk.sessions.begin() as session:
        row = session.get(TicketRow, ticket)
        assert row is not None
        outcome = check_evidence(session, CATALOG, row, moment + dt.timedelta(hours=1)).outcome
    assert outcome == "pending"
