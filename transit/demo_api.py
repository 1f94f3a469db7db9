"""The demo's last step: the HTTP API over the demo's database, with a department key and a carrier key.

The server is `transit serve --api-only` in its own process (the library does not import the API); the
demo asks it what a carrier and the department would, shows a refused deletion, and then either stops it
or, with --serve, keeps it running until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from transit.access.model import Role
from transit.access.store import IssuedKey, Owner, create_key
from transit.clock import SystemClock
from transit.demo_hotline import show_hotline

PREFERRED_PORT = 8000


def show_api(
    sessions: sessionmaker[Session],
    url: str,
    directory: Path,
    emit: Callable[[str], None],
    serve: bool,
    timezone: str,
) -> None:
    """Make the keys, start the API, show it answering, and keep it up if `serve`."""
    now = SystemClock().now()
    with sessions.begin() as session:
        department = create_key(
            session, Role.DEPARTMENT, Owner("Demo Department", "D-001"), None, "demo", now
        )
        carrier = create_key(session, Role.CARRIER, Owner("AP1 dispatcher"), "AP1", "demo", now)
        intake = create_key(session, Role.INTAKE, Owner("109 hotline"), None, "demo", now)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"TRANSIT_DATABASE_URL": url, "TRANSIT_LEDGER_KEY_FILE": str(directory / "ledger.key")}
    transit = str(Path(sys.executable).with_name("transit"))
    server = subprocess.Popen(
        [transit, "serve", "--api-only", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base, server)
        emit(f"\n12. The HTTP API: {base} (OpenAPI: {base}/docs)\n")
        emit(f"   department key: {department.secret}\n   carrier key (AP1): {carrier.secret}\n")
        _tour(base, department, carrier, emit)
        show_hotline(base, intake, sessions, timezone, emit)
        if serve:
            emit("   Serving until Ctrl-C.\n")
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(timeout=10)


def _tour(base: str, department: IssuedKey, carrier: IssuedKey, emit: Callable[[str], None]) -> None:
    status, page = _call(base, "/v1/violations?limit=1000", carrier)
    owners = sorted({v["carrier_id"] for v in page["items"]})
    emit(
        f"   As AP1: GET /v1/violations -> {status}, {len(page['items'])} violation(s),"
        f" of carriers {owners}\n"
    )
    other = _call(base, "/v1/carriers/AP2", carrier)
    emit(f"   As AP1: GET /v1/carriers/AP2 -> {other[0]} (another carrier's records do not exist for it)\n")
    every = _call(base, "/v1/violations?limit=1000", department)
    emit(f"   As the department: GET /v1/violations -> {every[0]}, {len(every[1]['items'])} violation(s)\n")
    if every[1]["items"]:
        target = every[1]["items"][0]["violation_id"]
        refused = _call(base, f"/v1/violations/{target}", department, method="DELETE")
        emit(f"   As the department: DELETE that violation -> {refused[0]}: {refused[1]['detail']}\n")
    emit(f"   Try: curl -H 'Authorization: Bearer {carrier.secret}' {base}/v1/warnings\n")


def _call(base: str, path: str, key: IssuedKey, method: str = "GET") -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, method=method, headers={"Authorization": f"Bearer {key.secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _free_port() -> int:
    """PREFERRED_PORT if it is free, else any free port."""
    for port in (PREFERRED_PORT, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port for the API")


def _wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise OSError(f"the API server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise OSError(f"the API did not answer at {base} within {seconds:.0f} s")
