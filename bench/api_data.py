"""A year of a 200-bus city in a fresh PostgreSQL database, made in bulk for `bench.bench_api`.

Not a year of `transit detect` runs (that would take days): the same rows those runs and `transit enforce`
would leave, written with COPY. 40 routes over 6 carriers (one contract each, by route), 5 buses a route;
4,400 trip instances on a weekday, 3,600 on a Saturday, 3,300 on a Sunday (about 1.5 million a year). Each
instance gets a stored verdict (revision 1: about 93% performed, 3% partial, 2% missed, 2% no data, 0.3% of
them a dark fleet) and, as `detect --store` appends it, a `verdict_final` ledger event; each missed trip and
dark-fleet instance a `violation_recorded` event, as enforcement records it (the contracts' default
policy). No warnings: at a 2% miss rate the rules would have terminated every contract in its first week,
and the benchmark is about reading the record, not about the rules. The ledger is one valid hash chain
(`transit ledger verify` accepts it): its events are sealed by the chain's own `entry_bytes`.

    python -m bench.api_data [--database transit_bench_api] [--days 365] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url

from transit import migrate
from transit.contracts.model import Carrier, Contract, ContractBook, Department
from transit.contracts.rules import SYSTEM, TRIP_FIELDS, violation_id
from transit.contracts.service import load_book
from transit.contracts.state import VIOLATION_RECORDED
from transit.db import make_engine, make_session_factory
from transit.gtfs.store import FeedAgencyRow, FeedVersionRow
from transit.ledger.canonical import canonical_json
from transit.ledger.chain import Draft, entry_bytes
from transit.ledger.store import LedgerEventRow, os_user
from transit.matching.store import EVENT_FINAL, PAYLOAD_FIELDS

ADMIN_URL = os.environ.get("TRANSIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "transit_bench_api"
LAST_DAY = dt.date(2026, 11, 28)  # the year ends yesterday (the benchmark's date is 2026-11-29)
UTC_OFFSET = dt.timedelta(hours=5)  # Asia/Almaty, the department's time zone (no daylight saving)
ROUTES = 40
BUSES_PER_ROUTE = 5  # 200 buses
CARRIER_ROUTES = (10, 8, 7, 6, 5, 4)  # routes per carrier, 40 in all
TRIPS_A_DAY = {"wd": 4_400, "sa": 3_600, "su": 3_300}
FIRST_START, LAST_START = 5 * 60 + 30, 23 * 60  # minutes after local midnight
ACTOR = "cli:bench"
VERDICT_COLUMNS = (
    "service_date", "trip_id", "start_time", "feed_version_id", "revision", "event", "verdict", "reason",
    "route_id", "agency_id", "carrier_id", "start_at", "end_at", "coverage", "lost_distance_m", "vehicle_ids",
    "first_ping_at", "last_ping_at", "stops_reached", "stops_total", "decided_at", "actor", "source",
    "payload", "payload_sha256",
)  # fmt: skip
LEDGER_COLUMNS = ("seq", "at", "actor", "os_user", "kind", "subject", "payload", "prev_hash", "hash")


@dataclass(frozen=True, slots=True)
class Planned:
    """One trip of a day type's timetable."""

    trip_id: str
    route_id: str
    carrier_id: str
    start_min: int  # local, minutes after midnight
    end_min: int
    stops_total: int
    length_m: float
    bus: int


@dataclass(frozen=True, slots=True)
class Generated:
    days: int
    verdicts: int
    violations: int
    events: int
    seconds: float


def carrier_of_route() -> list[str]:
    owners: list[str] = []
    for number, count in enumerate(CARRIER_ROUTES, start=1):
        owners += [f"C{number}"] * count
    return owners


def book() -> ContractBook:
    owners = carrier_of_route()
    carriers = tuple(
        Carrier(f"C{n}", f"Carrier {n}", "ru", (f"A{n}",)) for n in range(1, len(CARRIER_ROUTES) + 1)
    )
    contracts = tuple(
        Contract(
            f"K{n}",
            f"C{n}",
            dt.date(2025, 1, 1),
            dt.date(2027, 12, 31),
            tuple(f"R{r + 1:02d}" for r in range(ROUTES) if owners[r] == f"C{n}"),
            f"A{n}",
        )
        for n in range(1, len(CARRIER_ROUTES) + 1)
    )
    return ContractBook(Department("Transport department", "Asia/Almaty"), carriers, contracts)


def timetable(day_type: str) -> list[Planned]:
    """The trips of a day type, spread evenly over the service day on every route."""
    total, owners = TRIPS_A_DAY[day_type], carrier_of_route()
    trips = []
    for r in range(ROUTES):
        count = total // ROUTES + (1 if r < total % ROUTES else 0)
        minutes = 35 + (r * 7) % 35
        for k in range(count):
            start = FIRST_START + (r * 3) % 10 + k * (LAST_START - FIRST_START) // count
            trips.append(
                Planned(
                    f"R{r + 1:02d}-{day_type}-{k:03d}",
                    f"R{r + 1:02d}",
                    owners[r],
                    start,
                    start + minutes,
                    15 + r % 20,
                    minutes * 350.0,
                    r * BUSES_PER_ROUTE + k % BUSES_PER_ROUTE,
                )
            )
    return trips


def day_type(day: dt.date) -> str:
    return {5: "sa", 6: "su"}.get(day.weekday(), "wd")


def _hms(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_rows(
    day: dt.date, plan: list[Planned], rng: np.random.Generator
) -> Iterator[tuple[Planned, dict[str, Any], tuple[dt.datetime | None, ...]]]:
    """Each trip instance of the day with its verdict record (PAYLOAD_FIELDS, JSON values) and its instants
    (start_at, end_at, first_ping_at, last_ping_at)."""
    n = len(plan)
    draw, coverage = rng.random(n).tolist(), rng.random(n).tolist()  # Python floats: JSON numbers
    jitter = rng.integers(0, 120, size=(n, 2)).tolist()
    midnight = dt.datetime.combine(day, dt.time(0), dt.UTC) - UTC_OFFSET
    service_date = day.isoformat()
    for i, trip in enumerate(plan):
        start_at = midnight + dt.timedelta(minutes=trip.start_min)
        end_at = midnight + dt.timedelta(minutes=trip.end_min)
        u = draw[i]
        if u < 0.02:
            verdict, reason = "missed", "no_vehicle_observed" if u < 0.017 else "started_outside_window"
            cover = 0.0 if reason == "no_vehicle_observed" else round(0.5 + 0.5 * coverage[i], 4)
        elif u < 0.023:
            verdict, reason, cover = "no_data", "carrier_fleet_dark", 0.0
        elif u < 0.04:
            verdict, reason, cover = "no_data", "service_gap", round(0.3 * coverage[i], 4)
        elif u < 0.07:
            verdict = "partial"
            reason = "short_turn" if u < 0.05 else "partial_coverage"
            cover = round(0.3 + 0.5 * coverage[i], 4)
        else:
            verdict, reason, cover = "performed", "covered", round(0.85 + 0.15 * coverage[i], 4)
        seen = cover > 0.0
        first = start_at + dt.timedelta(seconds=jitter[i][0]) if seen else None
        last = end_at - dt.timedelta(seconds=jitter[i][1]) if seen else None
        record = {
            "service_date": service_date,
            "trip_id": trip.trip_id,
            "start_time": _hms(trip.start_min),
            "end_time": _hms(trip.end_min),
            "start_at": _iso(start_at),
            "end_at": _iso(end_at),
            "route_id": trip.route_id,
            "agency_id": f"A{trip.carrier_id[1:]}",
            "carrier_id": trip.carrier_id,
            "verdict": verdict,
            "reason": reason,
            "vehicle_ids": f"bus-{trip.bus:03d}" if seen else None,
            "coverage": cover,
            "lost_distance_m": round(trip.length_m * (1.0 - cover), 1),
            "first_ping_at": _iso(first) if first else None,
            "last_ping_at": _iso(last) if last else None,
            "stops_reached": round(trip.stops_total * cover) if verdict != "performed" else trip.stops_total,
            "stops_total": trip.stops_total,
        }
        yield trip, record, (start_at, end_at, first, last)


class Chain:
    """Seals events after the newest stored one, as `append_events` does, for COPY."""

    def __init__(self, seq: int, prev_hash: str) -> None:
        self.seq, self.prev_hash, self.user = seq, prev_hash, os_user()

    def seal(self, at: dt.datetime, actor: str, kind: str, subject: str, payload: str) -> tuple[Any, ...]:
        self.seq += 1
        draft = Draft(actor, kind, subject, {}, self.user)
        digest = hashlib.sha256(entry_bytes(self.seq, at, draft, self.prev_hash, payload)).hexdigest()
        row = (self.seq, at, actor, self.user, kind, subject, payload, self.prev_hash, digest)
        self.prev_hash = digest
        return row


def _verdict_event_payload(record_json: str, digest: str, feed_version_id: int) -> str:
    """The canonical payload of the verdict_final event (keys in order), spliced around the record's JSON."""
    return (
        f'{{"feed_version_id":{feed_version_id},"revision":1,"source":"batch",'
        f'"verdict":{record_json},"verdict_sha256":"{digest}"}}'
    )


def admin_engine() -> Engine:
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def database_url(name: str, user: str | None = None) -> str:
    url = make_url(ADMIN_URL).set(database=name)
    if user is not None:
        url = url.set(username=user)
    return url.render_as_string(hide_password=False)


def marker(days: int, seed: int) -> str:
    return f"bench_api year: days={days} routes={ROUTES} buses={ROUTES * BUSES_PER_ROUTE} seed={seed} v1"


def is_ready(name: str, days: int, seed: int) -> bool:
    """Whether the database exists and a finished generation with these parameters marked it."""
    admin = admin_engine()
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"),
                {"name": name},
            ).scalar()
    finally:
        admin.dispose()
    return found == marker(days, seed)


def generate(name: str = DATABASE, days: int = 365, seed: int = 1) -> Generated:
    """Drop and make the database, then fill it (module docstring)."""
    started = time.perf_counter()
    admin = admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = database_url(name)
    migrate.upgrade(url)
    engine = make_engine(url)
    first_day = LAST_DAY - dt.timedelta(days=days - 1)
    feed_version_id, chain = _declare(engine, first_day, marker(days, seed))
    plans = {kind: timetable(kind) for kind in TRIPS_A_DAY}
    rng = np.random.default_rng(seed)
    verdicts = violations = 0
    raw = engine.raw_connection()
    try:
        pg: Any = raw.driver_connection  # psycopg's own connection, for COPY
        with pg.cursor() as cursor:
            for offset in range(days):
                day = first_day + dt.timedelta(days=offset)
                rows, events, missed = _day(day, plans[day_type(day)], rng, feed_version_id, chain)
                _copy(cursor, "verdict", VERDICT_COLUMNS, rows)
                _copy(cursor, "ledger_event", LEDGER_COLUMNS, events)
                verdicts, violations = verdicts + len(rows), violations + missed
                if offset % 30 == 29:
                    pg.commit()
                    rate = verdicts / (time.perf_counter() - started)
                    print(
                        f"  {day}: {verdicts:,} verdicts, {violations:,} violations, {rate:,.0f} verdicts/s"
                    )
        pg.commit()
    finally:
        raw.close()
        engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{marker(days, seed)}'"))
    admin.dispose()
    vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    vacuum.dispose()
    return Generated(days, verdicts, violations, chain.seq, time.perf_counter() - started)


def _declare(engine: Engine, first_day: dt.date, content: str) -> tuple[int, Chain]:
    """The department, carriers and contracts (as `transit contracts load` declares them) and a stored feed
    version for the verdicts to name; the stored version's id and the chain after the newest event."""
    at = dt.datetime.combine(first_day, dt.time(0), dt.UTC) - dt.timedelta(days=1)
    with make_session_factory(engine).begin() as session:
        load_book(session, book(), ACTOR, at)
        feed = FeedVersionRow(
            content_sha256=hashlib.sha256(content.encode()).hexdigest(),
            source_name="bench/api_data.py (synthetic, 40 routes)",
            loaded_at=at,
            last_loaded_at=at,
            valid_from=first_day,
            valid_to=LAST_DAY,
            feed_version="bench-api",
            trip_count=sum(TRIPS_A_DAY.values()),
            archive=b"",
        )
        session.add(feed)
        session.flush()
        session.add_all(
            FeedAgencyRow(
                feed_version_id=feed.id,
                carrier_id=c.carrier_id,
                agency_id=c.agency_ids[0],
                agency_name=c.name,
                agency_timezone="Asia/Almaty",
            )
            for c in book().carriers
        )
        newest = session.execute(
            select(LedgerEventRow.seq, LedgerEventRow.hash).order_by(LedgerEventRow.seq.desc()).limit(1)
        ).one()
        return feed.id, Chain(newest.seq, newest.hash)


def _day(
    day: dt.date, plan: list[Planned], rng: np.random.Generator, feed_version_id: int, chain: Chain
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """The verdict rows and ledger events of a day (its verdicts decided the next morning, then enforced),
    and how many violations."""
    decided = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC)
    contracts = {c.carrier_id: c.contract_id for c in book().contracts}
    rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    violating: list[tuple[str, str, dict[str, Any]]] = []
    for trip, record, instants in day_rows(day, plan, rng):
        payload = canonical_json(record).decode("utf-8")
        digest = hashlib.sha256(payload.encode()).hexdigest()
        rows.append(_verdict_row(record, instants, feed_version_id, decided, payload, digest))
        event_payload = _verdict_event_payload(payload, digest, feed_version_id)
        if len(events) < 10:  # the splice is the canonical form of what store_verdicts appends
            assert tuple(record) == PAYLOAD_FIELDS
            assert event_payload == canonical_json(
                {"verdict": record, "verdict_sha256": digest, "revision": 1,
                 "feed_version_id": feed_version_id, "source": "batch"}
            ).decode("utf-8")  # fmt: skip
        subject = f"trip:{record['service_date']}/{record['trip_id']}/{record['start_time']}"
        events.append(chain.seal(decided, ACTOR, EVENT_FINAL, subject, event_payload))
        if record["verdict"] == "missed" or record["reason"] == "carrier_fleet_dark":
            contract_id = contracts[trip.carrier_id]
            violating.append((contract_id, trip.carrier_id, record | {"payload_sha256": digest}))
    for contract_id, carrier_id, record in sorted(
        violating, key=lambda v: (v[0], v[2]["trip_id"], v[2]["start_time"])
    ):  # enforcement records them by contract, in violation id order
        payload_dict = {
            "violation_id": violation_id(contract_id, day, record["trip_id"], record["start_time"]),
            "contract_id": contract_id,
            "carrier_id": carrier_id,
            "service_date": day.isoformat(),
            "kind": "missed" if record["verdict"] == "missed" else "fleet_dark",
            "trip": {f: record.get(f) for f in TRIP_FIELDS},
            "run_by": ACTOR,
        }
        text_payload = canonical_json(payload_dict).decode("utf-8")
        at = decided + dt.timedelta(hours=1)
        events.append(chain.seal(at, SYSTEM, VIOLATION_RECORDED, f"contract:{contract_id}", text_payload))
    return rows, events, len(violating)


def _verdict_row(
    record: dict[str, Any],
    instants: tuple[dt.datetime | None, ...],
    feed_version_id: int,
    decided: dt.datetime,
    payload: str,
    digest: str,
) -> tuple[Any, ...]:
    start_at, end_at, first, last = instants
    own = {
        "service_date": dt.date.fromisoformat(record["service_date"]), "feed_version_id": feed_version_id,
        "revision": 1, "event": EVENT_FINAL, "start_at": start_at, "end_at": end_at, "first_ping_at": first,
        "last_ping_at": last, "decided_at": decided, "actor": ACTOR, "source": "batch", "payload": payload,
        "payload_sha256": digest,
    }  # fmt: skip
    return tuple(own[c] if c in own else record[c] for c in VERDICT_COLUMNS)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def describe(name: str, made: Generated) -> str:
    return (
        f"{name}: {made.days} days, {made.verdicts:,} verdicts, {made.violations:,} violations, "
        f"{made.events:,} ledger events, made in {made.seconds:.0f} s ({database_size(name) / 1e9:.2f} GB)"
    )


def database_size(name: str) -> int:
    admin = admin_engine()
    with admin.connect() as connection:
        size = int(connection.execute(text("SELECT pg_database_size(:n)"), {"n": name}).scalar() or 0)
    admin.dispose()
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    made = generate(args.database, args.days, args.seed)
    print(describe(args.database, made))


if __name__ == "__main__":
    main()
