"""Errors as RFC 9457 problem details, mapped in one place (routes raise domain errors, never HTTPException
for a domain condition). Each problem has a stable `code` for programs and a human `detail`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from transit.access.store import KeyNotFound
from transit.contracts.disputes import DisputeInvalid
from transit.errors import BadParameter, FeedNotFound, TransitError
from transit.tickets.service import ServiceNotFound, TicketNotFound

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("transit.api")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None  # per-field problems of an invalid request


def problem_response(description: str) -> dict[str, Any]:
    return {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}


# The errors every /v1 operation may answer, for the OpenAPI document (clients and schema checkers).
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem_response("A parameter cannot be used (the detail names it)"),
    401: problem_response("No API key, or an unknown or revoked one"),
    403: problem_response("The key's role may not do this"),
    404: problem_response("No such object, or not one this key may see"),
    413: problem_response("The request body is over 1 MB"),
    422: problem_response("The request does not match the schema (per-field errors)"),
}


class NotFound(TransitError):
    """No such object, or not one the caller may see (the API does not tell the two apart)."""


class Unauthenticated(TransitError):
    """No key, or a key that is unknown or revoked."""


class Forbidden(TransitError):
    """The key's role may not do this."""


class Refused(TransitError):
    """The request would change or remove an enforcement record (405), or comes too late for what it asks
    (409: a second ruling, an exemption after the cut-off); it was refused and recorded in the ledger."""

    def __init__(self, message: str, seq: int, status: int = 405) -> None:
        super().__init__(message)
        self.seq, self.status = seq, status


_STATUS: dict[type[TransitError], tuple[int, str, str]] = {
    NotFound: (404, "not_found", "Not Found"),
    KeyNotFound: (404, "not_found", "Not Found"),
    FeedNotFound: (404, "feed_not_found", "No feed in force"),
    Unauthenticated: (401, "unauthenticated", "Unauthenticated"),
    Forbidden: (403, "forbidden", "Forbidden"),
    Refused: (405, "refused_and_recorded", "Method Not Allowed"),
    DisputeInvalid: (409, "dispute_invalid", "Conflict"),
    BadParameter: (400, "bad_parameter", "Bad Request"),
    TicketNotFound: (404, "not_found", "Not Found"),
    ServiceNotFound: (404, "not_found", "Not Found"),
}
_HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "body_too_large", 415: "unsupported_media_type",
    422: "invalid_request",
}  # fmt: skip


def problem(request: Request, status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, code=code, instance=request.url.path, **extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem detail."""

    @app.exception_handler(TransitError)
    async def domain(request: Request, exc: TransitError) -> JSONResponse:
        for kind in type(exc).__mro__:
            if kind in _STATUS:
                status, code, title = _STATUS[kind]
                break
        else:
            status, code, title = 400, "bad_request", "Bad Request"
        if isinstance(exc, Refused):
            status, title = exc.status, _title(exc.status)
            response = problem(request, status, code, title, str(exc), errors=[{"ledger_seq": exc.seq}])
            if status == 405:
                response.headers["Allow"] = "GET"
            return response
        return problem(request, status, code, title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "the request is not valid"
        return problem(request, 422, "invalid_request", "Unprocessable Content", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return problem(request, exc.status_code, code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot take (a NUL character in text, a number out of its range): the
        # request's fault, not the service's.
        _log.warning("the database refused a value of %s %s: %s", request.method, request.url.path, exc.orig)
        detail = "a value of the request is one the database cannot hold (a NUL character, a number too big)"
        return problem(request, 400, "bad_request", "Bad Request", detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            request, 500, "internal_error", "Internal Server Error", "the service failed; it is logged"
        )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
