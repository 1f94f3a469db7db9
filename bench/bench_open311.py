"""Benchmark: Open311 intake under load (`POST /open311/v2/requests.json` into PostgreSQL), no filing lost.

Each measurement gets a fresh database (dropped, made and migrated), an intake key (`transit keys create
--role intake`) and its own `transit serve --api-only --workers N`, served as the `transit_app` role as in
production. The client is `bench.bench_api`'s: one asyncio (uvloop) process with raw keep-alive HTTP/1.1
connections, on the same machine as the server and PostgreSQL. A request is a form-encoded filing with the
intake key; it is never retried (a retry could file it twice).

- Closed loop: --clients connections, each sending its next filing as soon as the previous answer is in, until
  --requests filings are answered (after --warmup filings, counted in the check but not in the figures);
  --runs runs for each --workers, medians. The plain path: `--service` (pothole, whose duplicate lookup runs
  but finds nothing) at points on a grid 250 m apart, so that no filing is linked to another.
- Open loop: Poisson arrivals at --rate a second for --open-duration seconds, each filing's latency counted
  from when it was due (no coordinated omission), for each --workers.
- Duplicates: one closed-loop run of `flooding` (linked to an open filing within 150 m) at points within
  50 m of --clusters centres, so that every filing's duplicate lookup finds the cluster's open tickets.

After each measurement: tickets stored (`ticket`), `ticket_filed` ledger events, both against the filings
sent and the 201 answers (the ids answered must be the ids stored), and the ledger chain verified. Any filing
sent and not stored prints LOST and the exit status is 1. While the measured loop runs, PostgreSQL's
`pg_stat_activity` is sampled every 0.1 s: what the service's connections are doing (waiting on the ledger's
advisory lock, on the WAL flush, idle inside a transaction while Python works, ...).

    python -m bench.bench_open311 [--workers 1 2] [--clients 50] [--requests 20000] [--runs 3]
        [--rate 100] [--open-duration 20] [--clusters 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import text

from bench import api_data
from bench.bench_api import HOST, IDLE_SECONDS, Connection, Server, run, transit
from transit import migrate
from transit.db import make_engine, make_session_factory
from transit.ledger.service import verify

DATABASE = "transit_bench_open311"
PATH = "/open311/v2/requests.json"
CENTRE = (54.8728, 69.1430)  # Petropavl
METRES_PER_DEGREE = 111_195.0
GRID_M, GRID_COLUMNS = 250.0, 200  # plain filings: farther apart than pothole's 100 m duplicate radius
CLUSTER_SPACING_M, CLUSTER_RADIUS_M = 2_000.0, 50.0  # flooding links within 150 m: a cluster is one flood
SAMPLE_S = 0.1
PARTS = ("closed", "open", "flooding")


# --- the filings ---------------------------------------------------------------------------------------


def offset(metres_north: float, metres_east: float) -> tuple[float, float]:
    lat = CENTRE[0] + metres_north / METRES_PER_DEGREE
    return lat, CENTRE[1] + metres_east / (METRES_PER_DEGREE * math.cos(math.radians(CENTRE[0])))


def plain_points(first: int, count: int) -> list[tuple[float, float]]:
    """Points `first` to `first + count` of a grid 250 m apart: no two within a duplicate radius."""
    return [
        offset((i // GRID_COLUMNS) * GRID_M, (i % GRID_COLUMNS) * GRID_M) for i in range(first, first + count)
    ]


def clustered_points(count: int, clusters: int, seed: int) -> list[tuple[float, float]]:
    """Points within 50 m of `clusters` centres 2 km apart, the clusters taking turns."""
    rng = random.Random(seed)
    side = math.ceil(math.sqrt(clusters))
    points = []
    for i in range(count):
        c = i % clusters
        distance, angle = CLUSTER_RADIUS_M * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        north = (c // side) * CLUSTER_SPACING_M + distance * math.cos(angle)
        east = (c % side) * CLUSTER_SPACING_M + distance * math.sin(angle)
        points.append(offset(north, east))
    return points


def filing(port: int, secret: str, service: str, point: tuple[float, float], number: int) -> bytes:
    """One form-encoded POST of a filing, as an intake system sends it."""
    fields = [
        ("api_key", secret),
        ("service_code", service),
        ("lat", f"{point[0]:.6f}"),
        ("long", f"{point[1]:.6f}"),
        ("address_string", f"Bench street {number % 400 + 1}, Petropavl"),
        ("description", f"Benchmark filing {number}: reported by a caller to the 109 hotline."),
    ]
    if service == "flooding":
        fields.append(("attribute[depth]", str(5 + number % 40)))
    body = urllib.parse.urlencode(fields).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def filed_id(body: bytes) -> int:
    """The service_request_id of a 201 answer (a list of one)."""
    return int(json.loads(body)[0]["service_request_id"])


# --- the loops -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Answers:
    """What the client saw: each answer's latency and status, the ids filed, requests without an answer."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    ids: list[int] = field(default_factory=list)
    broken: int = 0  # a connection failed before the answer: the filing may or may not be stored

    def take(self, status: int, body: bytes, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if status == 201:
            self.ids.append(filed_id(body))


async def closed_loop(port: int, messages: Sequence[bytes], clients: int) -> tuple[Answers, float, float]:
    """`clients` connections sending `messages` between them, each the next as soon as its answer is in; the
    answers, the seconds it took and the client's CPU seconds."""
    connections = [await Connection.open(port) for _ in range(clients)]
    answers, cursor = Answers(), iter(range(len(messages)))
    started, cpu = time.perf_counter(), time.process_time()

    async def client(i: int) -> None:
        for k in cursor:
            sent = time.perf_counter()
            try:
                status, body = await connections[i].get(messages[k])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                answers.broken += 1
                connections[i] = await Connection.open(port)
                continue
            answers.take(status, body, time.perf_counter() - sent)

    await asyncio.gather(*(client(i) for i in range(clients)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for connection in connections:
        connection.close()
    return answers, seconds, cpu


async def open_loop(
    port: int, messages: Sequence[bytes], rate: float, seed: int
) -> tuple[Answers, float, float]:
    """Poisson arrivals at `rate` a second until `messages` run out; a latency runs from when it was due."""
    arrivals = random.Random(seed)
    idle = [await Connection.open(port) for _ in range(8)]
    answers = Answers()

    async def one(message: bytes, due: float) -> None:
        while idle and time.perf_counter() - idle[-1].used > IDLE_SECONDS:
            idle.pop().close()
        connection = idle.pop() if idle else await Connection.open(port)
        try:
            status, body = await connection.get(message)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            answers.broken += 1
            return
        answers.take(status, body, time.perf_counter() - due)
        idle.append(connection)

    started, cpu = time.perf_counter(), time.process_time()
    due, tasks = started, list[asyncio.Task[None]]()
    for message in messages:
        due += arrivals.expovariate(rate)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(message, due)))
    await asyncio.gather(*tasks)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for connection in idle:
        connection.close()
    return answers, seconds, cpu


# --- the database --------------------------------------------------------------------------------------


def fresh_database(name: str) -> None:
    """Drop and make the database and migrate it (the migrations grant `transit_app` its rights)."""
    admin = api_data.admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    migrate.upgrade(api_data.database_url(name))


@dataclass(frozen=True, slots=True)
class Stored:
    tickets: int
    filed_events: int
    duplicates: int  # tickets linked to another
    ids: frozenset[int]
    event_ids: frozenset[int]  # the ticket ids the ticket_filed events name
    chain_ok: bool
    chain_events: int


def count_stored(name: str) -> Stored:
    """What the database holds after a measurement, and whether its ledger chain verifies."""
    engine = make_engine(api_data.database_url(name))
    try:
        with engine.connect() as connection:
            ids = frozenset(connection.execute(text("SELECT id FROM ticket")).scalars())
            duplicates = connection.execute(
                text("SELECT count(*) FROM ticket WHERE duplicate_of IS NOT NULL")
            ).scalar_one()
            subjects = connection.execute(
                text("SELECT subject FROM ledger_event WHERE kind = 'ticket_filed'")
            ).scalars()
            event_ids = [int(s.removeprefix("ticket:")) for s in subjects]
            tickets = connection.execute(text("SELECT count(*) FROM ticket")).scalar_one()
            filed = connection.execute(
                text("SELECT count(*) FROM ledger_event WHERE kind = 'ticket_filed'")
            ).scalar_one()
        with make_session_factory(engine)() as session:
            found = verify(session, None)
    finally:
        engine.dispose()
    return Stored(tickets, filed, duplicates, ids, frozenset(event_ids), found.ok, found.size)


class Sampler:
    """What the service's PostgreSQL connections are doing, every 0.1 s, in a thread: state and wait event."""

    def __init__(self, name: str) -> None:
        self._name, self._stop = name, threading.Event()
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        engine = api_data.admin_engine()
        query = text(
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid() AND usename = 'transit_app'"
        )
        with engine.connect() as connection:
            while not self._stop.wait(SAMPLE_S):
                for state, kind, event in connection.execute(query, {"name": self._name}):
                    if state == "active":
                        what = f"{kind}:{event}" if kind else "active (CPU)"
                    else:
                        what = state or "?"
                    self.counts[what] += 1
                self.samples += 1
        engine.dispose()

    def stop(self) -> dict[str, float]:
        """The mean number of connections in each state over the samples, busiest first."""
        self._stop.set()
        self._thread.join()
        return {k: v / max(self.samples, 1) for k, v in self.counts.most_common()}


# --- a measurement -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    label: str
    workers: int
    requests: int  # answered in the measured part
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]  # of the measured part
    client_cpu: float
    sent: int  # every filing sent to this database, warm-up included
    created: int  # 201 answers among them
    broken: int
    stored: Stored
    lost: int  # sent and not stored
    problems: tuple[str, ...]
    waits: dict[str, float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def other(self) -> str:
        rest = {s: n for s, n in sorted(self.statuses.items()) if s != 201}
        return ", ".join(f"{s}: {n}" for s, n in rest.items()) or "none"


def measure(
    args: argparse.Namespace, label: str, workers: int, make: MessageMaker, loop: str, log_dir: Path
) -> Measured:
    """A fresh database, a key and a server; the warm-up and the measured loop; then the count of what is
    stored against what was sent."""
    fresh_database(args.database)
    env = os.environ | {
        "TRANSIT_DATABASE_URL": api_data.database_url(args.database, "transit_app"),
        "TRANSIT_LEDGER_KEY_FILE": str(log_dir / "ledger.key"),
    }
    secret = json.loads(
        transit("keys", "create", "--role", "intake", "--owner", "bench", "--format", "json", env=env)
    )["secret"]
    log = log_dir / f"serve-{len(list(log_dir.glob('serve-*')))}-{workers}.log"
    server = Server(env, workers, log)
    try:
        warm, measured = make(server.port, secret)
        warmed, _, _ = run(closed_loop(server.port, warm, args.clients)) if warm else (Answers(), 0, 0)
        sampler = Sampler(args.database)
        try:
            if loop == "open":
                answers, seconds, cpu = run(open_loop(server.port, measured, args.rate, args.seed))
            else:
                answers, seconds, cpu = run(closed_loop(server.port, measured, args.clients))
        finally:
            waits = sampler.stop()
    finally:
        server.stop()
    stored = count_stored(args.database)
    sent = len(warm) + len(measured)
    ids = set(warmed.ids) | set(answers.ids)
    created = len(warmed.ids) + len(answers.ids)
    problems = []
    if stored.tickets != sent:
        problems.append(f"{sent:,} sent, {stored.tickets:,} stored")
    if created != stored.tickets:
        problems.append(f"{created:,} answered 201, {stored.tickets:,} stored")
    if stored.filed_events != stored.tickets:
        problems.append(f"{stored.tickets:,} stored, {stored.filed_events:,} ticket_filed events")
    if ids != stored.ids:
        problems.append(f"ids answered and not stored: {len(ids - stored.ids)}; stored and not answered: "
                        f"{len(stored.ids - ids)}")  # fmt: skip
    if stored.event_ids != stored.ids:
        problems.append(f"tickets without a ticket_filed event: {len(stored.ids - stored.event_ids)}")
    if not stored.chain_ok:
        problems.append("the ledger chain does not verify")
    p50, p99 = np.percentile(answers.latencies, [50, 99]) * 1000 if answers.latencies else (math.nan,) * 2
    return Measured(
        label, workers, len(answers.latencies), seconds, float(p50), float(p99), dict(answers.statuses),
        cpu / seconds, sent, created, warmed.broken + answers.broken, stored, max(0, sent - stored.tickets),
        tuple(problems), waits,
    )  # fmt: skip


class MessageMaker:
    """The warm-up and measured filings of a measurement, once the server's port and the key are known."""

    def __init__(self, service: str, points: list[tuple[float, float]], warmup: int) -> None:
        self.service, self.points, self.warmup = service, points, warmup

    def __call__(self, port: int, secret: str) -> tuple[list[bytes], list[bytes]]:
        messages = [filing(port, secret, self.service, p, n) for n, p in enumerate(self.points)]
        return messages[: self.warmup], messages[self.warmup :]


def line(m: Measured) -> str:
    waits = ", ".join(f"{k} {v:.1f}" for k, v in list(m.waits.items())[:6])
    return (
        f"{m.rate:7,.0f} req/s  p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms  {m.requests:,} answered "
        f"({m.statuses.get(201, 0):,} 201; other: {m.other}; no answer {m.broken})  "
        f"stored {m.stored.tickets:,} / ticket_filed {m.stored.filed_events:,} of {m.sent:,} sent, "
        f"duplicates {m.stored.duplicates:,}, "
        f"chain {'ok' if m.stored.chain_ok else 'BROKEN'}  client CPU {m.client_cpu:.2f}\n"
        f"      connections (mean over {SAMPLE_S:g} s samples): {waits}"
    )


# --- the report ----------------------------------------------------------------------------------------


def table(args: argparse.Namespace, closed: dict[int, list[Measured]], others: list[Measured]) -> str:
    rows = [
        "| what | server | runs | throughput | p50 | p99 | 201 | not 201 (by status) | sent / stored / "
        "ticket_filed | lost |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for workers, runs in closed.items():
        rates = " / ".join(f"{m.rate:,.0f}" for m in runs)
        rows.append(
            f"| {args.service}, closed loop {args.clients} clients, {args.requests:,} filings | --workers "
            f"{workers} | {len(runs)} ({rates}) | **{statistics.median(m.rate for m in runs):,.0f} req/s** | "
            f"{statistics.median(m.p50_ms for m in runs):.1f} ms | "
            f"**{statistics.median(m.p99_ms for m in runs):.1f} ms** | "
            f"{sum(m.statuses.get(201, 0) for m in runs):,} | {'; '.join(m.other for m in runs)} | "
            f"{sum(m.sent for m in runs):,} / {sum(m.stored.tickets for m in runs):,} / "
            f"{sum(m.stored.filed_events for m in runs):,} | {sum(m.lost for m in runs)} |"
        )
    for m in others:
        rows.append(
            f"| {m.label} | --workers {m.workers} | 1 | {m.rate:,.0f} req/s | {m.p50_ms:.1f} ms | "
            f"**{m.p99_ms:.1f} ms** | {m.statuses.get(201, 0):,} | {m.other} | {m.sent:,} / "
            f"{m.stored.tickets:,} / {m.stored.filed_events:,} | {m.lost} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes, each tried")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20_000, help="filings measured in each closed loop")
    parser.add_argument("--warmup", type=int, default=500, help="filings before each measured loop")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--service", default="pothole", help="the plain path's service (a location only)")
    parser.add_argument("--rate", type=float, default=100.0, help="open loop: filings a second offered")
    parser.add_argument("--open-duration", type=float, default=20.0)
    parser.add_argument("--clusters", type=int, default=20, help="flooding run: clusters of filings")
    parser.add_argument("--flood-workers", type=int, default=None, help="default: the last --workers")
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which measurements (default: all)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    machine = (
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs shared by the client, the server "
        "and PostgreSQL; a shared sandbox)"
    )
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M} on {machine}; load average {os.getloadavg()[0]:.2f}")
    total = args.warmup + args.requests
    opened = round(args.rate * args.open_duration)
    plain = MessageMaker(args.service, plain_points(0, total), args.warmup)
    closed: dict[int, list[Measured]] = {}
    others: list[Measured] = []
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder)
        for workers in args.workers if "closed" in args.parts else []:
            for number in range(1, args.runs + 1):
                m = measure(args, f"{args.service}-run{number}", workers, plain, "closed", logs)
                closed.setdefault(workers, []).append(m)
                print(f"--workers {workers} run {number}: {line(m)}", flush=True)
        for workers in args.workers if "open" in args.parts else []:
            steady = MessageMaker(args.service, plain_points(0, args.warmup + opened), args.warmup)
            label = f"{args.service}, open loop {args.rate:g}/s for {args.open_duration:g} s"
            m = measure(args, label, workers, steady, "open", logs)
            others.append(m)
            print(f"--workers {workers} open loop: {line(m)}", flush=True)
        if "flooding" in args.parts:
            workers = args.flood_workers or args.workers[-1]
            floods = MessageMaker("flooding", clustered_points(total, args.clusters, args.seed), args.warmup)
            label = (
                f"flooding, {args.clusters} clusters of 50 m, closed loop {args.clients} clients, "
                f"{args.requests:,} filings"
            )
            m = measure(args, label, workers, floods, "closed", logs)
            others.append(m)
            print(f"--workers {workers} flooding: {line(m)}", flush=True)
    print()
    print(f"{dt.date.today()} on {machine}")
    print(table(args, closed, others))
    everything = [m for runs in closed.values() for m in runs] + others
    lost = sum(m.lost for m in everything)
    problems = [f"{m.label} --workers {m.workers}: {p}" for m in everything for p in m.problems]
    if lost or problems:
        print(f"\nLOST: {lost} filings sent and not stored", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    sent = sum(m.sent for m in everything)
    print(f"\nno filing lost: {sent:,} sent = {sent:,} stored = {sent:,} ticket_filed events, ids matching, "
          "every ledger chain verified")  # fmt: skip


if __name__ == "__main__":
    main()
