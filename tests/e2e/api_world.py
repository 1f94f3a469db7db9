"""The world the API tests share: one simulated day of the synthetic city, decided and enforced through the
real commands into a real PostgreSQL database, API keys of every role, and `transit serve --api-only`
answering over HTTP on a free port.

AP1 misses trips (violations, a warning for the day, its notice); AP2 runs everything. One of AP1's
violations is disputed at the start; the others are a pool that tests take from, one each, so that no test
depends on another having run (or not).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from tests.broker import free_port
from tests.support import run_cli, stop_process

TIMEZONE = "Asia/Almaty"  # the synthetic city's: service dates are local
KEYS = {  # name: (role, owner, extra options of `transit keys create`)
    "department": ("department", "Dana Department", ("--staff-id", "D-17")),
    "planner": ("planner", "Pavel Planner", ()),
    "intake": ("intake", "Ira Intake", ()),
    "auditor": ("auditor", "Aida Auditor", ("--staff-id", "A-3")),
    "ap1": ("carrier", "Asel of AP1", ("--carrier", "AP1")),
    "ap2": ("carrier", "Berik of AP2", ("--carrier", "AP2")),
    "revoked_unused": ("auditor", "Ruslan Unused", ()),
    "revoked_used": ("auditor", "Roza Used", ()),
}
CONTRACTS = """
[department]
name = "Transport department"
timezone = "{timezone}"
webhook = "{webhook}"

[[carrier]]
id = "AP1"
name = "Avtopark 1"
language = "ru"
agency_ids = ["AP1"]
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
id = "C-1"
carrier = "AP1"
agency_id = "AP1"
start = {start}
end = {end}

[[contract]]
id = "C-2"
carrier = "AP2"
agency_id = "AP2"
start = {start}
end = {end}
"""


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    secret: str
    owner: str
    role: str


@dataclass
class World:
    base_url: str
    day: str  # the simulated service date (today, local)
    env: dict[str, str]  # TRANSIT_ settings of the server, for the CLI
    keys: dict[str, Key]
    violations: list[str]  # AP1's, in order
    warning_id: str
    notice_id: str
    dispute_id: str  # AP1's, opened at the start on violations[0]
    trip: tuple[str, str, str]  # an AP1 trip instance with a violation: (service_date, start_time, trip_id)
    feed: Path  # the stored feed's file
    ticket_id: str  # a 109 request filed through Open311 at the start
    _pool: list[str] = field(default_factory=list)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, who: str | None) -> httpx.Client:
        """An HTTP client sending the named key (None: no key)."""
        name = who or "anonymous"
        if name not in self._clients:
            headers = {"Authorization": f"Bearer {self.keys[name].secret}"} if who else {}
            self._clients[name] = httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)
        return self._clients[name]

    def fresh_violation(self) -> str:
        """An AP1 violation no other test disputes."""
        assert self._pool, "the simulated day gave too few AP1 violations for the tests"
        return self._pool.pop()

    def cli(self, *args: str) -> str:
        result = run_cli(*args, extra_env=self.env)
        assert result.returncode == 0, f"transit {' '.join(args)}: {result.stderr}"
        return result.stdout

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def ref(value: str) -> str:
    """An id as one path segment (slashes, '#' and ':' escaped)."""
    return quote(value, safe="")


def trip_path(trip: tuple[str, str, str]) -> str:
    service_date, start_time, trip_id = trip
    return f"/v1/trips/{service_date}/{ref(start_time)}/{ref(trip_id)}"


@contextmanager
def running_world(database_url: str, folder: Path) -> Iterator[World]:
    """Build the world into `database_url` (migrated, empty) and serve it; stop the server afterwards."""
    today = dt.datetime.now(ZoneInfo(TIMEZONE)).date()
    env = {"TRANSIT_DATABASE_URL": database_url, "TRANSIT_LEDGER_KEY_FILE": str(folder / "ledger.key")}

    def cli(*args: str) -> str:
        result = run_cli(*args, extra_env=env)
        assert result.returncode == 0, f"transit {' '.join(args)}: {result.stderr}"
        return result.stdout

    feed, pings, contracts = folder / "city.zip", folder / "pings.csv", folder / "contracts.toml"
    contracts.write_text(
        CONTRACTS.format(
            timezone=TIMEZONE,
            webhook=f"http://127.0.0.1:{free_port()}/notices",  # nobody listens: notices stay queued
            start=today - dt.timedelta(days=1),
            end=today + dt.timedelta(days=300),
        ),
        encoding="utf-8",
    )
    port = free_port()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("transit")), "serve", "--api-only", "--port", str(port)],
        env={k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")} | env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    world: World | None = None
    try:
        # Three chains side by side: the day (synthesised, loaded, simulated), the contracts and then the
        # carrier keys (a carrier key names a declared carrier), the other keys.
        def day() -> None:
            start = (today - dt.timedelta(days=1)).isoformat()
            cli("synth", "city", "--routes", "4", "--seed", "3", "--start-date", start, "--out", str(feed))
            cli("gtfs", "load", str(feed))
            cli(
                "simulate", "--feed", str(feed), "--date", today.isoformat(), "--out", str(pings),
                "--seed", "7", "--miss-rate", "0.03", "--miss-carrier", "AP1",
            )  # fmt: skip

        def make_keys(names: list[str]) -> dict[str, Key]:
            if any(KEYS[name][0] == "carrier" for name in names):
                cli("contracts", "load", str(contracts), "--actor", "Head of transport")
            return {
                name: _key(
                    cli("keys", "create", "--role", role, "--owner", owner, *extra, "--format", "json")
                )
                for name, (role, owner, extra) in KEYS.items()
                if name in names
            }

        carriers = [name for name, (role, _, _) in KEYS.items() if role == "carrier"]
        with ThreadPoolExecutor(max_workers=3) as pool:
            built = pool.submit(day)
            made = [
                pool.submit(make_keys, names) for names in (carriers, [n for n in KEYS if n not in carriers])
            ]
            built.result()
            keys = {name: key for chain in made for name, key in chain.result().items()}
        cli("detect", "--feed", str(feed), "--pings", str(pings), "--date", today.isoformat(), "--store")
        cli("enforce", "--date", today.isoformat(), "--actor", "inspector")
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: httpx.get(f"{base_url}/healthz").status_code == 200, server, folder / "server.log")
        world = _discover(base_url, today.isoformat(), env, keys, feed)
        cli("disputes", "open", world.violations[0], "--reason", "the bus ran", "--actor", "AP1 dispatcher")
        yield world
    finally:
        if world is not None:
            world.close()
        stop_process(server)
        log.close()


def _key(output: str) -> Key:
    data: dict[str, Any] = json.loads(output)
    return Key(data["key_id"], data["secret"], data["owner_name"], data["role"])


def _wait_for(ready: Callable[[], bool], server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"transit serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"transit serve did not answer /healthz within 30 s:\n{log.read_text()[-3000:]}")


def _discover(base_url: str, day: str, env: dict[str, str], keys: dict[str, Key], feed: Path) -> World:
    """AP1's ids as the department sees them."""
    headers = {"Authorization": f"Bearer {keys['department'].secret}"}
    with httpx.Client(base_url=base_url, headers=headers) as department:

        def items(path: str) -> list[dict[str, Any]]:
            response = department.get(path, params={"carrier_id": "AP1", "limit": 1000})
            assert response.status_code == 200, response.text
            found: list[dict[str, Any]] = response.json()["items"]
            return found

        violations = items("/v1/violations")
        warnings, notices = items("/v1/warnings"), items("/v1/notices")
    filed = httpx.post(  # a citizen's request through Open311, for the staff's ticket endpoints
        f"{base_url}/open311/v2/requests.json",
        data={"api_key": keys["intake"].secret, "service_code": "pothole", "lat": "54.87", "long": "69.15",
              "description": "A deep pothole", "email": "citizen@example.kz"},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    assert len(violations) >= 4 and warnings and notices, (len(violations), warnings, notices)
    ids = [v["violation_id"] for v in violations]
    trip = violations[0]["trip"]
    return World(
        base_url=base_url,
        day=day,
        env=env,
        keys=keys,
        violations=ids,
        warning_id=warnings[0]["warning_id"],
        notice_id=notices[0]["notice_id"],
        dispute_id=f"{ids[0]}#1",
        trip=(violations[0]["service_date"], trip["start_time"], trip["trip_id"]),
        feed=feed,
        ticket_id=filed.json()[0]["service_request_id"],
        _pool=ids[1:],
    )


def path_values(world: World) -> dict[str, str]:
    """Real AP1 values for each path parameter of the API."""
    service_date, start_time, trip_id = world.trip
    return {
        "service_date": service_date,
        "start_time": start_time,
        "trip_id": trip_id,
        "carrier_id": "AP1",
        "contract_id": "C-1",
        "violation_id": world.violations[0],
        "warning_id": world.warning_id,
        "dispute_id": world.dispute_id,
        "notice_id": world.notice_id,
        "exemption_id": "E-1",
        "seq": "1",
        "ticket_id": world.ticket_id,
    }


def openapi_operations(world: World) -> set[tuple[str, str]]:
    """(METHOD, path template) of each /v1 operation the server's OpenAPI document lists."""
    document = world.client(None).get("/openapi.json").json()
    return {(m.upper(), p) for p, ops in document["paths"].items() if p.startswith("/v1/") for m in ops}


def cursor_of(values: list[Any]) -> str:
    """A cursor as the API encodes one (base64url of a JSON list): for forging tampered ones."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def fill(template: str, values: dict[str, str]) -> str:
    """An OpenAPI path template with each {parameter} replaced by its value, escaped."""
    return re.sub(r"\{(\w+)\}", lambda match: ref(values[match[1]]), template)


def request_for(
    world: World, method: str, template: str, allowed: bool, dated: bool
) -> tuple[str, dict[str, Any]]:
    """What to send to an endpoint (as a role that may use it, or not): its path with AP1's real ids, and
    its query or body."""
    values = path_values(world)
    if template == "/v1/disputes/{dispute_id}/ruling" and allowed:  # a dispute of its own to rule on
        filed = world.client("ap1").post(
            "/v1/disputes", json={"violation_id": world.fresh_violation(), "reason": "the bus ran"}
        )
        values["dispute_id"] = filed.json()["dispute_id"]
    if method == "GET":
        return fill(template, values), {"params": {"date": world.day}} if dated else {}
    if template == "/v1/disputes":
        violation_id = world.fresh_violation() if allowed else world.violations[0]
        body: dict[str, Any] = {"violation_id": violation_id, "reason": "the tracker failed"}
    elif template == "/v1/tickets/{ticket_id}/state":
        body = {"state": "in_progress", "text": "A crew is on its way"}
    elif template == "/v1/tickets/{ticket_id}/notes":
        body = {"text": "Called the reporter back"}
    elif template == "/v1/planning/scenarios":
        body = {"date": world.day, "operations": [{"kind": "drop", "route": "1A"}]}
    elif template == "/v1/planning/route-sets/evaluate":
        network, demand = [[0, 2, None], [2, 0, 3], [None, 3, 0]], [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
        body = {"network": network, "demand": demand, "routes": [[1, 2, 3]]}
    elif template == "/v1/exemptions":
        in_two_days = dt.date.fromisoformat(world.day) + dt.timedelta(days=2)
        body = {"date": in_two_days.isoformat(), "routes": ["1"], "reason": "road works"}
    else:
        body = {"ruling": "rejected", "reason": "the log shows no such run"}
    return fill(template, values), {"json": body}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The RFC 9457 problem of a response, after checking its status, media type and code."""
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.text[:3000]}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code, problem
    assert problem["title"] and problem["detail"], problem
    return problem


def walk(client: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, page by page along next_cursor; and how many pages that took."""
    items: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        response = client.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 10_000, "next_cursor never ends"
