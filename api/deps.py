"""Request dependencies: the session (one per request), the caller (from its Bearer key), role checks.

Every route names the roles it serves (`allow(...)`); a carrier key is further held to its own carrier in
the routes, which answer 404 for another carrier's objects so that ids do not leak.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.errors import Forbidden, NotFound, Unauthenticated
from api.state import ApiState
from transit.access.model import Principal, Role, hash_secret
from transit.access.store import find_principal

KEY_CACHE_SECONDS = 5.0  # a revoked key stops working within this, in every process
_bearer = HTTPBearer(auto_error=False, description="An API key: `transit keys create`")


async def api_state(request: Request) -> ApiState:
    """Async (it does no I/O): FastAPI runs a plain `def` dependency in its thread pool, a hop per request."""
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(api_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class KeyCache:
    """Principals by key hash for a few seconds: a request then costs no database round trip for its key."""

    def __init__(self, seconds: float = KEY_CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def cached(self, digest: str) -> tuple[bool, Principal | None]:
        """(True, principal or None for an unknown key) while the entry of the key with this hash is fresh;
        else (False, None)."""
        with self._lock:
            found = self._entries.get(digest)
        if found is not None and time.monotonic() - found[0] < self._seconds:
            return True, found[1]
        return False, None

    def lookup(self, digest: str, load: Callable[[], Principal | None]) -> Principal | None:
        fresh, principal = self.cached(digest)
        if fresh:
            return principal
        now = time.monotonic()
        principal = load()
        with self._lock:
            if len(self._entries) > 10_000:  # a flood of made-up keys must not grow it without bound
                self._entries.clear()
            self._entries[digest] = (now, principal)
        return principal


async def caller(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The principal of the request's Bearer key; 401 without a live key. Async: a key in the cache costs
    no thread-pool hop; the database is asked in the pool."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    secret = credentials.credentials

    def load() -> Principal | None:
        with state.sessions() as session:
            return find_principal(session, secret)

    digest = hash_secret(secret)
    fresh, principal = state.keys.cached(digest)
    if not fresh:
        principal = await run_in_threadpool(state.keys.lookup, digest, load)
    if principal is None:
        raise Unauthenticated("the API key is unknown or revoked")
    return principal


Caller = Annotated[Principal, Depends(caller)]


def allow(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only the given roles (403 for the others)."""
    names = ", ".join(roles)

    async def check(principal: Caller) -> Principal:  # no I/O: no thread-pool hop (see api_state)
        if principal.role not in roles:
            raise Forbidden(f"a {principal.role} key may not do this; it needs a key of: {names}")
        return principal

    return check


def own_carrier(principal: Principal, carrier_id: str | None) -> str | None:
    """The carrier a query is limited to: a carrier key's own (another carrier's id answers 404, as if it
    did not exist); for other roles, the one asked for, if any."""
    if principal.role is Role.CARRIER:
        if carrier_id is not None and carrier_id != principal.carrier_id:
            raise NotFound(f"no carrier {carrier_id!r}")
        return principal.carrier_id
    return carrier_id


def visible(principal: Principal, carrier_id: str | None, what: str) -> None:
    """404 unless the caller may see an object of this carrier."""
    if principal.role is Role.CARRIER and carrier_id != principal.carrier_id:
        raise NotFound(f"no {what}")


READ_ENFORCEMENT = (Role.DEPARTMENT, Role.CARRIER, Role.AUDITOR)
READ_SERVICE = (Role.DEPARTMENT, Role.CARRIER, Role.AUDITOR, Role.PLANNER)
READ_LEDGER = (Role.DEPARTMENT, Role.AUDITOR)
