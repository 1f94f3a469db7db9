"""The HTTP API: `create_app` builds it over a database; `transit serve` runs it with uvicorn."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import KeyCache
from api.open311 import routes as open311
from api.routes import enforcement, ledger, planning, refusals, service, system, tickets
from api.state import ApiState
from transit.db import make_engine, make_session_factory
from transit.settings import Settings

MAX_BODY_BYTES = 1_000_000
REQUESTS = Counter("transit_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "transit_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
DESCRIPTION = """The transit compliance service for its four user groups: the transport department, carriers
(their own record only), planners, auditors (and the 109 intake, in the tickets issue).

Send an API key as `Authorization: Bearer <key>` (`transit keys create`). Errors are RFC 9457 problem
details with a stable `code`. Lists are paged with `next_cursor` and export as CSV with `format=csv`.
Enforcement records are never changed or deleted: PUT, PATCH and DELETE on them answer 405 and are recorded
in the ledger against the key's owner."""


def create_app(settings: Settings | None = None, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """The API over the database of `settings` (or the given session factory)."""
    settings = settings or Settings()
    sessions = sessions or make_session_factory(make_engine(settings.database_url))
    app = FastAPI(title="Transit compliance API", version="1", description=DESCRIPTION)
    app.state.api = ApiState(settings, sessions, KeyCache())
    _ = app.state.api.catalog  # a bad ticket catalog stops the start, naming its file and field
    errors.install(app)
    app.include_router(system.router)
    for module in (service, enforcement, ledger, planning, tickets, refusals):
        app.include_router(module.router, responses=errors.PROBLEMS)
    app.include_router(open311.router)
    app.add_middleware(_Guard)
    return app


class _Guard:
    """Pure ASGI middleware (cheap per request): refuses bodies over MAX_BODY_BYTES with 413, and counts
    requests and their latency by route template for /metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _too_large(send)
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # A body without a length (chunked): read it here, up to the limit, and hand it on whole.
            body = await _read_limited(receive)
            if body is None:
                await _too_large(send)
                return
            receive = _replay(body, receive)
        started, status = time.perf_counter(), [500]

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, counting)
        route = getattr(scope.get("route"), "path", "unmatched")
        REQUESTS.labels(scope["method"], route, str(status[0])).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)


async def _read_limited(receive: Receive) -> bytes | None:
    """The whole request body, or None once it passes MAX_BODY_BYTES."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """A receive that gives the body read already, then whatever the connection says next."""
    sent = [False]

    async def receive() -> Message:
        if sent[0]:
            return await then()
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _too_large(send: Send) -> None:
    body = (
        b'{"type":"about:blank","title":"Content Too Large","status":413,'
        b'"detail":"the request body is over 1000000 bytes","code":"body_too_large"}'
    )
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", errors.PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app_from_environment() -> Any:
    """For `uvicorn api.main:app_from_environment --factory`."""
    return create_app()
