"""Liveness, readiness, metrics, and who the caller is."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Caller, StateDep
from api.errors import PROBLEMS
from api.schemas import Health, MeOut

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database or the broker does not answer"}},
    summary="The database (and the broker, when one is configured) answer",
)
def readyz(state: StateDep) -> Response:
    checks = {"database": "ok"}
    try:
        with state.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if state.settings.mqtt_url:
        checks["broker"] = _broker_answers(state.settings.mqtt_url)
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _broker_answers(url: str) -> str:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout=1.0):
            return "ok"
    except OSError as exc:
        return f"unavailable: {exc.strerror or type(exc).__name__}"


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/me",
    response_model=MeOut,
    responses={401: PROBLEMS[401]},
    summary="The key's role, owner and carrier",
)
def me(principal: Caller) -> MeOut:
    return MeOut(
        key_id=principal.key_id,
        role=principal.role,
        owner_name=principal.owner_name,
        owner_staff_id=principal.owner_staff_id,
        carrier_id=principal.carrier_id,
    )
