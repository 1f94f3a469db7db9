"""The world the Open311 tests share: a fresh PostgreSQL database, keys of the roles that matter for filing
(intake, department, planner, auditor) made with the real CLI, and `transit serve --api-only` answering on a
free port. Helpers file requests at places far apart (so that no test's request links by chance to another's
as a duplicate), mark time windows (so that a test sees only its own requests), and read Open311 XML.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.broker import free_port
from tests.support import run_cli, stop_process

KEYS = {  # name: (role, owner)
    "intake": ("intake", "109 operator"),
    "department": ("department", "Dana Department"),
    "planner": ("planner", "Pavel Planner"),
    "auditor": ("auditor", "Aida Auditor"),
    "kiosk": ("intake", "Street kiosk"),  # revoked by a test
}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
XML_TYPE, JSON_TYPE = "text/xml; charset=utf-8", "application/json; charset=utf-8"
FORMATS = ("json", "xml")
JURISDICTION = "petropavl.kz"
CONTAINERS = {"attributes": "attribute", "values": "value", "notes": "note", "endpoints": "endpoint"}
CONTAINERS |= {"formats": "format", "groups": "group", "photos": "photo"}
# Petropavl; places are laid on a grid of about 5.5 km x 6.4 km, far beyond any duplicate radius.
ORIGIN_LAT, ORIGIN_LON, STEP_LAT, STEP_LON = 54.60, 68.80, 0.05, 0.10


@dataclass
class Open311World:
    base_url: str
    env: dict[str, str]  # TRANSIT_ settings of the server, for the CLI
    keys: dict[str, str]  # name: secret
    key_ids: dict[str, str]  # name: key_id
    client: httpx.Client
    _places: Iterator[int] = field(default_factory=itertools.count)

    def place(self) -> tuple[float, float]:
        """A (lat, long) kilometres away from every other place this world has handed out."""
        k = next(self._places)
        return round(ORIGIN_LAT + STEP_LAT * (k // 10), 6), round(ORIGIN_LON + STEP_LON * (k % 10), 6)

    def post(self, fields: dict[str, str], fmt: str = "json", *, multipart: bool = False) -> httpx.Response:
        """POST /requests.{fmt} with exactly these form fields (form-encoded, or multipart with a photo)."""
        url = f"/open311/v2/requests.{fmt}"
        if multipart:
            photo = {"media": ("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")}
            return self.client.post(url, data=fields, files=photo)
        return self.client.post(url, data=fields)

    def form(self, service_code: str = "pothole", key: str = "intake", **fields: str) -> dict[str, str]:
        """A complete form for `service_code` at a fresh place (unless the fields give a location)."""
        form = {"api_key": self.keys[key], "service_code": service_code}
        if not {"lat", "long", "address_string", "address_id"} & set(fields):
            lat, lon = self.place()
            form |= {"lat": str(lat), "long": str(lon)}
        return form | {"description": f"test request ({service_code})"} | fields

    def file(self, service_code: str = "pothole", **fields: str) -> str:
        """File a request (JSON answer) and return its service_request_id."""
        response = self.post(self.form(service_code, **fields))
        assert response.status_code == 201, response.text
        answer: list[dict[str, Any]] = response.json()
        return str(answer[0]["service_request_id"])

    def get(self, path: str, fmt: str = "json", **params: str) -> httpx.Response:
        """GET /open311/v2/{path}.{fmt} with these query parameters."""
        return self.client.get(f"/open311/v2/{path}.{fmt}", params=params)

    def requests(self, **params: str) -> list[dict[str, Any]]:
        """GET /requests.json, checked to be a 200 bare array."""
        response = self.get("requests", **params)
        assert response.status_code == 200, response.text
        found = response.json()
        assert isinstance(found, list), found
        return found

    def ids(self, **params: str) -> list[str]:
        return [r["service_request_id"] for r in self.requests(**params)]

    def cli(self, *args: str) -> str:
        result = run_cli(*args, extra_env=self.env)
        assert result.returncode == 0, f"transit {' '.join(args)}: {result.stderr}"
        return result.stdout


def now() -> dt.datetime:
    """The present (UTC, microseconds): the server runs on this machine's clock, so a window from one
    `now()` to the next holds exactly the requests filed in between."""
    return dt.datetime.now(dt.UTC)


def w3c(moment: dt.datetime, offset_hours: float = 0) -> str:
    """`moment` as a W3C date-time at the given UTC offset (the same instant)."""
    return moment.astimezone(dt.timezone(dt.timedelta(hours=offset_hours))).isoformat()


def parse_xml(response: httpx.Response, root: str | None = None) -> ET.Element:
    """The XML body's root element, after checking the media type, the declaration and the root's tag."""
    assert response.headers["content-type"] == XML_TYPE, response.headers
    assert response.content.startswith(XML_DECLARATION), response.content[:80]
    element = ET.fromstring(response.content)
    assert root is None or element.tag == root, (element.tag, response.text[:500])
    return element


def parse_json(response: httpx.Response) -> Any:
    assert response.headers["content-type"] == JSON_TYPE, response.headers
    return response.json()


def errors_of(response: httpx.Response, fmt: str) -> list[dict[str, str]]:
    """Open311 errors in either format, as [{"code": "403", "description": ...}] (codes as text)."""
    if fmt == "json":
        found = parse_json(response)
        assert isinstance(found, list) and found, found
        assert all(set(e) == {"code", "description"} for e in found), found
        return [{"code": str(e["code"]), "description": e["description"]} for e in found]
    root = parse_xml(response, "errors")
    assert [e.tag for e in root] == ["error"] * len(root) and len(root) >= 1, response.text
    return [{"code": e.findtext("code", ""), "description": e.findtext("description", "")} for e in root]


def element_dict(element: ET.Element) -> dict[str, Any]:
    """An XML element's children as a dict: text (None for an empty element), the known list containers
    as lists (each child checked to have the container's item tag), other nested elements as dicts."""
    found: dict[str, Any] = {}
    for child in element:
        if child.tag in CONTAINERS:
            item = CONTAINERS[child.tag]
            assert all(c.tag == item for c in child), (child.tag, [c.tag for c in child])
            found[child.tag] = [element_dict(c) if len(c) else c.text for c in child]
        elif len(child):
            found[child.tag] = element_dict(child)
        else:
            found[child.tag] = child.text
    return found


def as_text(value: Any) -> Any:
    """A JSON value as the XML writer spells it (None stays None: an empty element)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


@contextmanager
def running_world(database_url: str, folder: Path) -> Iterator[Open311World]:
    """Serve a migrated, empty database with fresh keys; stop the server afterwards."""
    env = {"TRANSIT_DATABASE_URL": database_url, "TRANSIT_LEDGER_KEY_FILE": str(folder / "ledger.key")}
    port = free_port()
    log_path = folder / "server.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("transit")), "serve", "--api-only", "--port", str(port)],
        env={k: v for k, v in os.environ.items() if not k.startswith("TRANSIT_")} | env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
    try:
        with ThreadPoolExecutor(max_workers=len(KEYS)) as pool:
            made = {name: pool.submit(_make_key, env, role, owner) for name, (role, owner) in KEYS.items()}
            issued = {name: future.result() for name, future in made.items()}
        _wait_until_healthy(client, server, log_path)
        yield Open311World(
            base_url=str(client.base_url).rstrip("/"),
            env=env,
            keys={name: secret for name, (_, secret) in issued.items()},
            key_ids={name: key_id for name, (key_id, _) in issued.items()},
            client=client,
        )
    finally:
        client.close()
        stop_process(server)
        log.close()


def _make_key(env: dict[str, str], role: str, owner: str) -> tuple[str, str]:
    """(key_id, secret) of a new key made with the real CLI."""
    result = run_cli("keys", "create", "--role", role, "--owner", owner, "--format", "json", extra_env=env)
    assert result.returncode == 0, f"transit keys create --role {role}: {result.stderr}"
    issued: dict[str, Any] = json.loads(result.stdout)
    assert issued["role"] == role, issued
    return str(issued["key_id"]), str(issued["secret"])


def _wait_until_healthy(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"transit serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"transit serve did not answer /healthz within 30 s:\n{log.read_text()[-3000:]}")
