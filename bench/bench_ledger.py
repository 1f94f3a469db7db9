"""Benchmark: the ledger's appends, signed heads and whole verification, on SQLite and PostgreSQL.

A city's year is about 10 million events at the scale of the 300-route synthetic city (28,577 verdicts a
day), and 500,000 for a city of Petropavl's size; `transit ledger verify` reads and checks them all. Appends
N verdict-like events in batches of 1,000 (one transaction each, as `detect --store` does per day), signs
the head, then verifies. Prints events per second for each step; medians of --runs.

    python -m bench.bench_ledger [--events 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from transit import migrate
from transit.db import make_engine, make_session_factory
from transit.ledger.chain import Draft
from transit.ledger.service import make_checkpoint, verify
from transit.ledger.store import append_events

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
BATCH = 1_000
POSTGRES = os.environ.get("TRANSIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def verdict_like(i: int) -> Draft:
    trip = {
        "service_date": "2026-12-01",
        "trip_id": f"{i % 300}-weekday-0-{i % 97:03d}",
        "start_time": "08:10:00",
        "verdict": "performed",
        "reason": "ran",
        "coverage": 0.9731,
        "vehicle_ids": f"bus-{i % 1000}",
        "first_ping_at": "2026-12-01T03:10:04Z",
        "last_ping_at": "2026-12-01T03:49:55Z",
        "stops_reached": 23,
        "stops_total": 23,
        "lost_distance_m": 212.4,
    }
    return Draft(
        "live:transit", "verdict_final", f"trip:2026-12-01/{trip['trip_id']}/08:10:00", {"verdict": trip}
    )


def measure(url: str, events: int) -> dict[str, float]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    for first in range(0, events, BATCH):
        with sessions.begin() as session:
            append_events(session, [verdict_like(i) for i in range(first, min(events, first + BATCH))], T0)
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    with sessions.begin() as session:
        make_checkpoint(session, key, T0)
    checkpoint_s = time.perf_counter() - started
    started = time.perf_counter()
    with sessions() as session:
        found = verify(session, key.public_key())
    verify_s = time.perf_counter() - started
    engine.dispose()
    assert found.ok and found.size == events
    return {"append": events / append_s, "checkpoint": events / checkpoint_s, "verify": events / verify_s}


def sqlite_url(folder: Path) -> str:
    url = f"sqlite:///{folder / f'ledger-{uuid.uuid4().hex[:8]}.db'}"
    migrate.upgrade(url)
    return url


def postgres_url() -> tuple[str, str] | None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: the SQLite figures stand alone
        print(f"PostgreSQL skipped: {exc}")
        return None
    finally:
        admin.dispose()
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url, name


def drop(name: str) -> None:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{dt.date.today()} on {platform.node()} ({platform.machine()}): "
        f"{args.events:,} events, {args.runs} runs"
    )
    with tempfile.TemporaryDirectory() as folder:
        results: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": []}
        for _ in range(args.runs):
            results["sqlite"].append(measure(sqlite_url(Path(folder)), args.events))
            made = postgres_url()
            if made is not None:
                pg_url, name = made
                try:
                    app = make_url(pg_url).set(username="transit_app").render_as_string(hide_password=False)
                    results["postgresql"].append(measure(app, args.events))
                finally:
                    drop(name)
    for backend, runs in results.items():
        if runs:
            figures = ", ".join(
                f"{step} {statistics.median(r[step] for r in runs):,.0f}/s" for step in runs[0]
            )
            print(f"{backend:>10}: {figures} (events per second, medians)")


if __name__ == "__main__":
    main()
