"""Changing or removing an enforcement record is refused, and the attempt is recorded in the ledger as a
`protocol` event naming the key's owner (DESIGN 7). These routes exist so that the refusal is recorded:
the framework would otherwise answer 405 by itself and tell nobody."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request

from api.deps import Caller, SessionDep
from api.errors import PROBLEM_JSON, Problem, Refused
from transit.ledger.service import refuse

router = APIRouter(prefix="/v1", tags=["refused"])
Handler = TypeVar("Handler", bound=Callable[..., None])
CHANGES = ["PUT", "PATCH", "DELETE"]
WHY = "enforcement records are never changed or deleted; a dispute or a new event corrects an outcome"
REFUSED: dict[int | str, dict[str, Any]] = {
    405: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Refused, and recorded in the ledger",
    }
}


def _refuse(request: Request, principal: Caller, session: SessionDep, subject: str) -> None:
    attempted = f"{request.method} {request.url.path}"
    event = refuse(session, principal.actor, attempted, subject, dt.datetime.now(dt.UTC), why=WHY)
    session.commit()
    raise Refused(
        f"{WHY}; this attempt is recorded as ledger event {event.seq} against {principal.actor}", event.seq
    )


def _route(path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for method in CHANGES:  # a route per method: each OpenAPI operation needs an operationId of its own
            router.api_route(
                path,
                methods=[method],
                status_code=405,
                responses=REFUSED,
                summary="Refused and recorded",
                response_model=None,
            )(handler)
        return handler

    return register


@_route("/violations/{violation_id:path}")
def violation(request: Request, principal: Caller, session: SessionDep, violation_id: str) -> None:
    _refuse(request, principal, session, f"violation:{violation_id}")


@_route("/warnings/{warning_id:path}")
def warning(request: Request, principal: Caller, session: SessionDep, warning_id: str) -> None:
    _refuse(request, principal, session, f"warning:{warning_id}")


@_route("/terminations/{contract_id:path}")
def termination(request: Request, principal: Caller, session: SessionDep, contract_id: str) -> None:
    _refuse(request, principal, session, f"contract:{contract_id}")


@_route("/contracts/{contract_id:path}")
def contract(request: Request, principal: Caller, session: SessionDep, contract_id: str) -> None:
    _refuse(request, principal, session, f"contract:{contract_id}")


@_route("/disputes/{dispute_id:path}")
def dispute(request: Request, principal: Caller, session: SessionDep, dispute_id: str) -> None:
    _refuse(request, principal, session, f"dispute:{dispute_id}")


@_route("/notices/{notice_id:path}")
def notice(request: Request, principal: Caller, session: SessionDep, notice_id: str) -> None:
    _refuse(request, principal, session, f"notice:{notice_id}")


@_route("/exemptions/{exemption_id:path}")
def exemption(request: Request, principal: Caller, session: SessionDep, exemption_id: str) -> None:
    _refuse(request, principal, session, f"exemption:{exemption_id}")


@_route("/ledger/events/{seq}")
def ledger_event(request: Request, principal: Caller, session: SessionDep, seq: int) -> None:
    _refuse(request, principal, session, f"ledger:{seq}")


@_route("/trips/{service_date}/{start_time}/{trip_id:path}")
def trip(
    request: Request, principal: Caller, session: SessionDep, service_date: str, start_time: str, trip_id: str
) -> None:
    _refuse(request, principal, session, f"trip:{service_date}/{trip_id}/{start_time}")
