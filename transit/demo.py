"""`transit demo` (what `make demo` runs): the whole service working on a synthetic city, step by step.

Everything goes to its own SQLite file in the demo folder, never to TRANSIT_DATABASE_URL. Without
TRANSIT_MQTT_URL the pings go through an embedded broker (amqtt) inside this process.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from transit import migrate
from transit.clock import SystemClock
from transit.contracts.config import parse_contract_book
from transit.contracts.outbox import deliver_due, post_webhook
from transit.contracts.service import enforce, load_book
from transit.db import make_engine, make_session_factory
from transit.demo_api import show_api
from transit.demo_planning import show_planning
from transit.errors import TransitError
from transit.gtfs.dayplan import summarise_day_plan
from transit.gtfs.load import LoadedFeed
from transit.gtfs.service import load_feed_in_force, store_feed
from transit.gtfs.store import find_feed_version_by_hash
from transit.ledger.checkpoint import to_export
from transit.ledger.keys import load_signing_key
from transit.ledger.service import make_checkpoint, verify
from transit.matching.commands import carrier_table
from transit.matching.detect import detect_day
from transit.matching.store import Decision, store_verdicts
from transit.settings import Settings
from transit.synth.city import build_city
from transit.synth.feed import AGENCY_TIMEZONE
from transit.synth.write import write_city
from transit.telemetry.embedded_broker import EmbeddedBroker
from transit.telemetry.files import write_ping_csv
from transit.telemetry.ingest import IngestOptions, IngestWorker
from transit.telemetry.mqtt import Publisher, parse_mqtt_url
from transit.telemetry.replay import publish_frame
from transit.telemetry.sim_faults import Faults
from transit.telemetry.simulate import Simulation, simulate_day
from transit.telemetry.store import count_dead_letters_by_reason, count_pings

DEMO_TIMEZONE = AGENCY_TIMEZONE  # the synthetic city's: "today" is a local service date
PREFIX = "transit/v1"
WINDOW = (dt.time(7, 30), dt.time(8, 0))  # the morning peak: enough pings to see, few enough to be quick
DEMO_FAULTS = Faults(miss_rate=0.05, drop_rate=0.02, duplicate_rate=0.01, out_of_order_rate=0.05)
MALFORMED = [
    (f"{PREFIX}/vehicles/bus-x/position", b"{not json"),
    (f"{PREFIX}/vehicles/bus-x/position", b'{"vehicle_id": "bus-x", "latitude": 54.9, "longitude": 69.1}'),
    (f"{PREFIX}/vehicles/bus-x/position", b'{"timestamp": 0, "latitude": 123.0, "longitude": 69.1}'),
]


def run_demo(
    directory: Path,
    routes: int,
    seed: int,
    emit: Callable[[str], None],
    render_summary: Callable[..., str],
    serve: bool = False,
) -> None:
    """Synthesise, store the feed, print today's plan, simulate, publish and ingest a morning's pings, decide
    the whole day and print its verdicts per carrier, enforce the contracts, sign the ledger, and show the
    HTTP API (kept running with `serve`)."""
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(directory / 'transit.db').resolve()}"
    today = dt.datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    feed = directory / "city.zip"
    emit(f"1. Synthesising a city of {routes} routes (seed {seed}) from {today} into {feed}\n")
    write_city(build_city(routes=routes, seed=seed, start_date=today), feed)
    emit(f"2. Migrating the embedded database {url}\n")
    migrate.upgrade(url)
    sessions = make_session_factory(make_engine(url))
    stored = store_feed(sessions, feed, SystemClock())
    verb = "Stored the feed as" if stored.created else "The feed was already stored as"
    emit(
        f"3. {verb} version {stored.version.id} (valid {stored.version.valid_from} to "
        f"{stored.version.valid_to}, {len(stored.findings)} warning(s))\n"
    )
    version, loaded = load_feed_in_force(sessions, today)
    plan = loaded.day_plan(today)
    emit(
        f"4. Day plan of {today} ({today:%A}) from feed version {version.id}: {len(plan)} trip instances\n\n"
    )
    emit(render_summary(summarise_day_plan(plan)))
    emit(f"\nThe whole plan: TRANSIT_DATABASE_URL={url} transit gtfs trips --date {today}\n\n")
    _telemetry(loaded, today, seed, sessions, directory, emit)
    show_planning(feed, loaded, today, directory, emit)
    show_api(sessions, url, directory, emit, serve, DEMO_TIMEZONE)


def _telemetry(
    loaded: LoadedFeed,
    today: dt.date,
    seed: int,
    sessions: sessionmaker[Session],
    directory: Path,
    emit: Callable[[str], None],
) -> None:
    simulation = simulate_day(loaded, today, DEMO_FAULTS, seed=seed)
    pings = _window(simulation.pings, today)
    simulation.truth.to_csv(directory / "truth.csv", index=False)
    emit(
        f"5. Simulated {simulation.truth['vehicle_id'].nunique()} buses on {today}; "
        f"{len(pings):,} pings between {WINDOW[0]:%H:%M} and {WINDOW[1]:%H:%M} local, with faults "
        "(5% of trips not run, 2% of pings dropped, duplicates, out-of-order delivery); "
        f"ground truth in {directory / 'truth.csv'}\n"
    )
    broker = None
    mqtt_url = Settings().mqtt_url
    if not mqtt_url:
        broker = EmbeddedBroker()
        broker.start()
        mqtt_url = broker.url
    emit(
        f"6. Publishing them, and {len(MALFORMED)} malformed messages, to {mqtt_url}; "
        "ingesting them into the database\n"
    )
    try:
        received = _publish_and_ingest(pings, mqtt_url, sessions)
    finally:
        if broker is not None:
            broker.stop()
    with sessions() as session:
        total, rejected = count_pings(session), count_dead_letters_by_reason(session)
    emit(
        f"7. Ingest: received {received:,} messages; pings stored {total:,} (duplicates stored once); "
        f"dead letters by reason: {', '.join(f'{k} {v}' for k, v in sorted(rejected.items())) or 'none'}\n"
    )
    _verdicts(loaded, today, simulation, sessions, directory, emit)


def _verdicts(
    loaded: LoadedFeed,
    today: dt.date,
    simulation: Simulation,
    sessions: sessionmaker[Session],
    directory: Path,
    emit: Callable[[str], None],
) -> None:
    """Decide the whole simulated day, store the verdicts, print them per carrier beside the truth."""
    pings_file = directory / "pings.csv.gz"
    write_ping_csv(simulation.pings, pings_file)
    detection = detect_day(loaded.feed, loaded.day_plan(today), simulation.pings)
    with sessions.begin() as session:
        version = find_feed_version_by_hash(session, loaded.content_sha256)
        if version is None:
            raise TransitError("the demo's feed is not stored")
        decision = Decision(SystemClock().now(), "demo", source="batch")
        stored = store_verdicts(session, version.id, detection.trips, decision, DEMO_TIMEZONE)
    truth = simulation.truth.astype({"trip_id": str, "start_time": str})
    both = truth.merge(detection.trips, on=["trip_id", "start_time"])
    agree = float((both["verdict"] == both["expected_verdict"]).mean())
    emit(
        f"8. Verdicts of the whole day ({len(simulation.pings):,} pings in {pings_file}): "
        f"{stored.final} stored; they agree with the simulator's truth for {agree:.1%} of the trips\n\n"
    )
    emit(carrier_table(detection.carriers))
    emit(f"\nThe same from the file: transit detect --feed {directory / 'city.zip'} --pings {pings_file}\n")
    _enforcement(sessions, directory, today, emit)
    _ledger(sessions, directory, emit)


DEMO_CONTRACTS = """
[department]
name = "Petropavl transport department"
timezone = "{timezone}"
webhook = "{webhook}"

[[carrier]]
id = "AP1"
name = "Avtopark 1"
language = "ru"
[carrier.channels]
webhook = "{webhook}"
mqtt = false

[[carrier]]
id = "AP2"
name = "Avtopark 2"
language = "kk"
[carrier.channels]
webhook = "{webhook}"
mqtt = false

[[contract]]
id = "C-AP1"
carrier = "AP1"
agency_id = "AP1"
start = {start}
end = {end}

[[contract]]
id = "C-AP2"
carrier = "AP2"
agency_id = "AP2"
start = {start}
end = {end}
[contract.policy]
warnings_to_terminate = 1  # on probation: the first warning ends it
"""


def _enforcement(
    sessions: sessionmaker[Session], directory: Path, today: dt.date, emit: Callable[[str], None]
) -> None:
    """Declare the carriers' contracts, enforce the day, deliver the notices to a local webhook."""
    inbox = NoticeInbox(directory / "notices")
    try:
        contracts = directory / "contracts.toml"
        contracts.write_text(
            DEMO_CONTRACTS.format(
                timezone=DEMO_TIMEZONE,
                webhook=inbox.url,
                start=today.replace(day=1),
                end=today.replace(year=today.year + 2),
            ),  # fmt: skip
            encoding="utf-8",
        )
        book = parse_contract_book(contracts.read_text(encoding="utf-8"), str(contracts))
        now = SystemClock().now()
        settings = Settings()
        with sessions.begin() as session:
            load_book(session, book, "demo", now)
            result = enforce(session, today, now, "demo")
            deliveries = deliver_due(session, {"webhook": post_webhook}, now, settings)
    finally:
        inbox.close()
    emit(
        f"\n9. Contracts ({contracts}): AP1 standard (3 warnings in 90 days terminate), AP2 on probation "
        f"(1 warning terminates). Enforcing {today}: {result.count('violation_recorded')} violations, "
        f"{result.count('warning_issued')} warning(s), {result.count('contract_terminated')} termination(s)\n"
    )
    for event in result.events:
        if event.kind in ("warning_issued", "contract_terminated"):
            data = event.data()
            what = (
                f"warning {data['number']} of {data['of']}, {len(data['violation_ids'])} missed trip(s)"
                if event.kind == "warning_issued"
                else "TERMINATED; its routes go out to tender again"
            )
            emit(f"   {event.subject}: {what} (ledger event {event.seq})\n")
    delivered = sum(bool(e.data()["ok"]) for e in deliveries)
    emit(f"   Notices delivered to the carriers' webhook: {delivered} of {len(deliveries)}; {inbox.folder}\n")


class NoticeInbox:
    """A local webhook that saves each notice it receives as HTML (the carriers' side, for the demo)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = re.sub(r"[^\w.-]+", "_", str(body["notice_id"])) + ".html"
                (folder / name).write_text(str(body["document_html"]), encoding="utf-8")
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ledger(sessions: sessionmaker[Session], directory: Path, emit: Callable[[str], None]) -> None:
    """Sign the ledger's head, export it as an auditor would keep it, and verify everything."""
    key, _ = load_signing_key(directory / "ledger.key")
    with sessions.begin() as session:
        head = make_checkpoint(session, key, SystemClock().now())
    exported = directory / "ledger-head.json"
    exported.write_text(to_export(head, key.public_key()), encoding="utf-8")
    with sessions() as session:
        found = verify(session, key.public_key(), head)
    status = "verified" if found.ok else f"FAILED at event {found.first_bad_seq}"
    emit(
        f"\n10. Ledger: {found.size:,} events (verdicts, violations, warnings, notices, deliveries), "
        f"hash-chained; head signed and exported to {exported}; {found.heads_checked} signed head(s) "
        f"checked: {status}\n"
        f"   Verify it yourself: TRANSIT_DATABASE_URL=sqlite:///{directory.resolve() / 'transit.db'} "
        f"TRANSIT_LEDGER_KEY_FILE={directory / 'ledger.key'} transit ledger verify --checkpoint {exported}\n"
    )


def _window(pings: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The pings of the demo's window, local time of the service date."""
    zone = ZoneInfo(DEMO_TIMEZONE)
    start = pd.Timestamp(dt.datetime.combine(today, WINDOW[0], tzinfo=zone))
    end = pd.Timestamp(dt.datetime.combine(today, WINDOW[1], tzinfo=zone))
    return pings[(pings["timestamp"] >= start) & (pings["timestamp"] < end)]


def _publish_and_ingest(pings: pd.DataFrame, mqtt_url: str, sessions: sessionmaker[Session]) -> int:
    """Publish on a topic prefix of the demo's own, through a session that ends with the demo.

    So a demo pointed at a real broker (TRANSIT_MQTT_URL) neither feeds fake buses to a real ingest nor
    leaves a session behind that would collect the real traffic.
    """
    address = parse_mqtt_url(mqtt_url)
    prefix = f"transit-demo/{uuid.uuid4().hex[:8]}"
    options = IngestOptions(worker_id=f"demo-{uuid.uuid4().hex[:8]}", prefix=prefix, stream_clock=True)
    worker = IngestWorker(sessions, address, options, SystemClock(), persistent=False)
    thread = threading.Thread(target=worker.run, name="demo-ingest", daemon=True)
    thread.start()
    if not worker.subscriber.subscribed.wait(30):
        worker.stop()
        raise TransitError(f"the demo's ingest could not subscribe at {address}")
    publisher = Publisher(address, client_id=f"transit-demo-publisher-{uuid.uuid4().hex[:8]}")
    publisher.connect()
    published = publish_frame(pings, publisher, prefix, speed=0)
    for topic, payload in MALFORMED:
        publisher.publish(topic.replace(PREFIX, prefix, 1), payload)
    publisher.close()
    expected = published + len(MALFORMED)
    deadline = time.monotonic() + 300
    while worker.totals.received < expected and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.1)
    worker.stop()
    thread.join(timeout=30)
    return worker.totals.received
