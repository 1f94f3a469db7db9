"""Benchmark: a carrier's violation record over HTTP, against /healthz of the same server, under load.

The database is a year of a 200-bus city made in bulk by `bench.api_data` (about 1.5 million verdicts and
their ledger events, 35,000 violations; `--reuse` keeps one made before). `transit serve --api-only` serves
it as the `transit_app` role, as in production; one carrier key per carrier (`transit keys create`).

The client is asyncio (uvloop) over raw keep-alive HTTP/1.1 connections, one process on the same machine as
the server. Closed loop: --clients connections, each sending its next request as soon as the previous answer
is in, for --duration seconds, first against /healthz, then against
/v1/violations?carrier_id=<own>&month=YYYY-MM&limit=100 (each connection a carrier's key, the month turning
over the year's twelve from one request to the next); --runs such pairs, medians. Open loop: Poisson
arrivals at --rate a second for --open-duration seconds on the violations query, each request's latency
counted from when it was due (no coordinated omission), over a pool of warm connections. Every answer must
be 200.

Goal (issue 6): the violations query at least half the throughput of /healthz (closed loop), and its p99
under 100 ms at 20 requests/s offered (open loop).

    python -m bench.bench_api [--reuse] [--workers 1 2] [--clients 50] [--duration 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench import api_data

GOAL_RATIO, GOAL_P99_MS = 0.5, 100.0
HOST = "127.0.0.1"
T = TypeVar("T")
IDLE_SECONDS = 3.0  # uvicorn closes a keep-alive connection idle for 5 s; the open loop drops its own first


@dataclass(frozen=True, slots=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers other than 200, and broken connections
    client_cpu: float  # the client's CPU seconds per second of the measurement

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def figures(latencies: list[float], seconds: float, errors: int, cpu: float) -> Figures:
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000 if latencies else (float("nan"), float("nan"))
    return Figures(len(latencies), seconds, float(p50), float(p99), errors, cpu / seconds)


# --- the client ----------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; answers are read by Content-Length (uvicorn always sends it)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.used = reader, writer, time.perf_counter()

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise ValueError("an answer without Content-Length")
        length = int(lower[at + 17 : lower.find(b"\r\n", at + 2)])
        body = await self.reader.readexactly(length)
        self.used = time.perf_counter()
        return status, body

    def close(self) -> None:
        self.writer.close()


def request(port: int, path: str, secret: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {secret}\r\n" if secret else ""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}\r\n".encode()


async def closed_loop(port: int, requests: Sequence[Sequence[bytes]], duration: float) -> Figures:
    """len(requests) connections, connection i cycling through requests[i], for `duration` seconds."""
    connections = [await Connection.open(port) for _ in requests]
    latencies: list[float] = []
    errors = [0]
    started, cpu = time.perf_counter(), time.process_time()
    end = started + duration

    async def client(i: int) -> None:
        mine, n = requests[i], i
        while (sent := time.perf_counter()) < end:
            try:
                status, _ = await connections[i].get(mine[n % len(mine)])
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors[0] += 1
                connections[i] = await Connection.open(port)
                continue
            latencies.append(time.perf_counter() - sent)
            errors[0] += status != 200
            n += 1

    await asyncio.gather(*(client(i) for i in range(len(requests))))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for connection in connections:
        connection.close()
    return figures(latencies, seconds, errors[0], cpu)


async def open_loop(port: int, requests: Sequence[bytes], rate: float, duration: float, seed: int) -> Figures:
    """Poisson arrivals at `rate` a second; a request's latency runs from when it was due."""
    arrivals = random.Random(seed)
    idle = [await Connection.open(port) for _ in range(8)]
    latencies: list[float] = []
    errors = [0]

    async def one(message: bytes, due: float) -> None:
        while idle and time.perf_counter() - idle[-1].used > IDLE_SECONDS:
            idle.pop().close()
        connection = idle.pop() if idle else await Connection.open(port)
        try:
            status, _ = await connection.get(message)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors[0] += 1
            return
        latencies.append(time.perf_counter() - due)
        errors[0] += status != 200
        idle.append(connection)

    started, cpu = time.perf_counter(), time.process_time()
    due, tasks = started, list[asyncio.Task[None]]()
    while (due := due + arrivals.expovariate(rate)) < started + duration:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(requests[len(tasks) % len(requests)], due)))
    await asyncio.gather(*tasks)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for connection in idle:
        connection.close()
    return figures(latencies, seconds, errors[0], cpu)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On uvloop where it is installed (it is a dependency of the service on POSIX)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


# --- the server ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def transit(*args: str, env: dict[str, str]) -> str:
    command = [str(Path(sys.executable).with_name("transit")), *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


class Server:
    """`transit serve --api-only` in its own process group, its log in a file."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        command = [
            str(Path(sys.executable).with_name("transit")), "serve", "--api-only",
            "--host", HOST, "--port", str(self.port), "--workers", str(workers),
        ]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"transit serve exited with {self.process.returncode}; see {log}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"transit serve did not listen within 60 s; see {log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


async def first_page(port: int, message: bytes) -> tuple[float, int, dict[str, object]]:
    connection = await Connection.open(port)
    started = time.perf_counter()
    status, body = await connection.get(message)
    connection.close()
    return time.perf_counter() - started, status, json.loads(body)


# --- the benchmark -------------------------------------------------------------------------------------


def months(days: int) -> list[str]:
    """The months after the first day's, up to the last day's: each holds at least 28 days of data."""
    first = api_data.LAST_DAY - dt.timedelta(days=days - 1)
    found, day = [], first.replace(day=1)
    while day <= api_data.LAST_DAY:
        if day > first:
            found.append(f"{day:%Y-%m}")
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return found or [f"{first:%Y-%m}"]


def line(name: str, f: Figures) -> str:
    return (
        f"{name:<22} {f.rate:8,.0f} req/s  p50 {f.p50_ms:7.1f} ms  p99 {f.p99_ms:7.1f} ms  "
        f"{f.requests:7,} requests  errors {f.errors}  client CPU {f.client_cpu:.2f}"
    )


def measure(args: argparse.Namespace, env: dict[str, str], secrets: dict[str, str], workers: int) -> None:
    log = Path(env["BENCH_LOG_DIR"]) / f"serve-{workers}.log"
    server = Server(env, workers, log)
    port = server.port
    try:
        carriers, periods = sorted(secrets), months(args.days)

        def violations(i: int) -> list[bytes]:
            carrier = carriers[i % len(carriers)]
            turned = periods[i % len(periods) :] + periods[: i % len(periods)]
            return [
                request(port, f"/v1/violations?carrier_id={carrier}&month={m}&limit=100", secrets[carrier])
                for m in turned
            ]

        fold, status, page = run(first_page(port, violations(0)[0]))
        items = page.get("items", []) if status == 200 else []
        assert status == 200 and isinstance(items, list) and len(items) == 100, (status, page)
        assert all(v["carrier_id"] == carriers[0] for v in items)
        healthz = [[request(port, "/healthz")]] * args.clients
        record = [violations(i) for i in range(args.clients)]
        size = len(json.dumps(page, separators=(",", ":"))) / 1000
        print(
            f"--workers {workers}: first violations page (folds the ledger) {fold:.2f} s, {len(items)} "
            f"items, {size:.0f} kB; load average {os.getloadavg()[0]:.2f} before warming up"
        )
        run(closed_loop(port, record, 3.0))
        run(closed_loop(port, healthz, 1.0))
        pairs = []
        for number in range(1, args.runs + 1):
            health = run(closed_loop(port, healthz, args.duration))
            query = run(closed_loop(port, record, args.duration))
            pairs.append((health, query))
            print(f"  run {number}: " + line("/healthz", health))
            print(
                f"  run {number}: "
                + line("/v1/violations", query)
                + f"  ratio {query.rate / health.rate:.2f}"
            )
        mixed = [r for c in record for r in c]  # every carrier and month, in a random order
        random.Random(args.seed).shuffle(mixed)
        opened = run(open_loop(port, mixed, args.rate, args.open_duration, args.seed))
        print("  " + line(f"open loop {args.rate:g}/s", opened))
    finally:
        server.stop()
    print(summary(args, workers, pairs, opened))


def summary(
    args: argparse.Namespace, workers: int, pairs: list[tuple[Figures, Figures]], opened: Figures
) -> str:
    """The medians of the closed-loop pairs, the open loop, and the goals."""

    def medians(name: str, runs: list[Figures]) -> str:
        rate = statistics.median(f.rate for f in runs)
        p50, p99 = statistics.median(f.p50_ms for f in runs), statistics.median(f.p99_ms for f in runs)
        return f"    {name:<16}{rate:8,.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms\n"

    ratio = statistics.median(q.rate / h.rate for h, q in pairs)
    errors = sum(h.errors + q.errors for h, q in pairs) + opened.errors
    return (
        f"  medians of {len(pairs)} runs, --workers {workers}, {args.clients} clients in a closed loop:\n"
        + medians("/healthz", [h for h, _ in pairs])
        + medians("/v1/violations", [q for _, q in pairs])
        + f"    ratio {ratio:.2f} (goal >= {GOAL_RATIO}): {'met' if ratio >= GOAL_RATIO else 'NOT met'}\n"
        f"    open loop p99 {opened.p99_ms:.1f} ms at {args.rate:g}/s (goal < {GOAL_P99_MS:g} ms): "
        f"{'met' if opened.p99_ms < GOAL_P99_MS else 'NOT met'}\n"
        f"    errors (not 200): {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=api_data.DATABASE)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the database if a generation finished")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes, each tried")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of each closed-loop run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="open loop: requests a second offered")
    parser.add_argument("--open-duration", type=float, default=20.0)
    args = parser.parse_args()
    print(
        f"{dt.date.today()} on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, the client "
        f"shares them with the server and PostgreSQL): {args.clients} clients, {args.duration:g} s x "
        f"{args.runs} runs"
    )
    if args.reuse and api_data.is_ready(args.database, args.days, args.seed):
        print(f"reusing {args.database} ({api_data.database_size(args.database) / 1e9:.2f} GB)")
    else:
        print(
            "generated",
            api_data.describe(args.database, api_data.generate(args.database, args.days, args.seed)),
        )
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {
            "TRANSIT_DATABASE_URL": api_data.database_url(args.database, "transit_app"),
            "TRANSIT_LEDGER_KEY_FILE": str(Path(folder) / "ledger.key"),
            "BENCH_LOG_DIR": folder,
        }
        secrets = {
            carrier.carrier_id: json.loads(
                transit(
                    "keys",
                    "create",
                    "--role",
                    "carrier",
                    "--owner",
                    "bench-api",
                    "--carrier",
                    carrier.carrier_id,
                    "--format",
                    "json",
                    env=env,
                )  # fmt: skip
            )["secret"]
            for carrier in api_data.book().carriers
        }
        for workers in args.workers:
            measure(args, env, secrets, workers)


if __name__ == "__main__":
    main()
