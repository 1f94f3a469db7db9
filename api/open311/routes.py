"""Open311 GeoReport v2 at /open311/v2/ (and discovery at /open311/discovery.{xml,json}): the 109 hotline's
services and requests, XML and JSON (docs/tickets.md; ../shared/docs/open311.md for the specification).

Reading needs no key and shows no personal data. Filing (POST, form-encoded) needs the `api_key` of an intake
or department key. Errors keep Open311's own format: `errors` / `error` with `code` and `description`; 404 for
what does not exist, 403 for a missing or bad key, 400 for everything else. Extensions: `extensions=true`
(extended attributes: sector, department, workflow state, deadline, duplicate link, escalations; the
submitted attributes; the public history as `notes`), paging with `page` and `page_size`, `updated_after`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import StateDep
from api.open311.wire import (
    FormError,
    RequestForm,
    UnknownFormat,
    WireFormat,
    parse_format,
    parse_request_form,
    parse_w3c_datetime,
    render_response,
)
from api.state import ApiState
from transit.access.model import Principal, Role, hash_secret
from transit.access.store import find_principal
from transit.errors import BadParameter
from transit.tickets.catalog import Catalog
from transit.tickets.evidence import check_evidence
from transit.tickets.model import Service
from transit.tickets.service import Reporter, ServiceNotFound, Submission, file_ticket
from transit.tickets.store import (
    NoteRow,
    TicketQuery,
    TicketRow,
    find_tickets,
    notes_of,
    public_notes_between,
)

router = APIRouter(prefix="/open311", tags=["open311"])
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]
MAX_DAYS = 90
MAX_PAGE = 1000
MAX_ID = 2**31 - 1
EARLIEST, LATEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
FILERS = (Role.INTAKE, Role.DEPARTMENT)
Text = Annotated[str | None, Query()]


class Open311Error(Exception):
    """An answer in Open311's error format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _answer(fmt_text: str, build: Callable[[WireFormat], Response]) -> Response:
    """The response of `build` in the requested format, or Open311's error document."""
    try:
        fmt = parse_format(fmt_text)
    except UnknownFormat:
        return _error(Open311Error(404, f"format {fmt_text!r}: only .xml and .json"), WireFormat.XML)
    try:
        return build(fmt)
    except Open311Error as exc:
        return _error(exc, fmt)
    except FormError as exc:
        return _error(Open311Error(400, str(exc)), fmt)
    except BadParameter as exc:
        return _error(Open311Error(400, str(exc)), fmt)


def _error(exc: Open311Error, fmt: WireFormat) -> Response:
    return render_response("errors", [{"code": exc.status, "description": exc.description}], fmt, exc.status)


def _check_jurisdiction(catalog: Catalog, jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != catalog.jurisdiction_id:
        raise Open311Error(404, f"jurisdiction_id: {jurisdiction_id!r} is not served here")


@router.get("/discovery.{fmt}", summary="Open311 service discovery")
def discovery(request: Request, state: StateDep, fmt: str) -> Response:
    def build(wire: WireFormat) -> Response:
        base = str(request.base_url).rstrip("/") + "/open311/v2"
        changeset = state.catalog.changeset
        document = {
            "changeset": changeset,
            "contact": "The 109 hotline of the city: see the service's operators",
            "key_service": "An intake key from the transport department (transit keys create --role intake)",
            "endpoints": [
                {"specification": SPECIFICATION, "url": base, "changeset": changeset, "type": kind,
                 "formats": FORMATS}
                for kind in ("production", "test")
            ],
        }  # fmt: skip
        return render_response("discovery", document, wire)

    return _answer(fmt, build)


@router.get("/v2/services.{fmt}", summary="Open311: the services (categories) the hotline takes")
def services(state: StateDep, fmt: str, jurisdiction_id: Text = None) -> Response:
    def build(wire: WireFormat) -> Response:
        catalog = state.catalog
        _check_jurisdiction(catalog, jurisdiction_id)
        listed = [
            {"service_code": s.code, "service_name": s.name, "description": s.description,
             "metadata": bool(s.attributes), "type": "realtime", "keywords": ",".join(s.keywords) or None,
             "group": s.group}
            for s in catalog.services.values()
        ]  # fmt: skip
        return render_response("services", listed, wire)

    return _answer(fmt, build)


@router.get("/v2/services/{service_code}.{fmt}", summary="Open311: a service's definition (its attributes)")
def service_definition(
    state: StateDep, service_code: str, fmt: str, jurisdiction_id: Text = None
) -> Response:
    def build(wire: WireFormat) -> Response:
        catalog = state.catalog
        _check_jurisdiction(catalog, jurisdiction_id)
        service = catalog.service(service_code)
        if service is None:
            raise Open311Error(404, f"service_code: no service {service_code!r}")
        attributes = [
            {"variable": a.variable, "code": a.code, "datatype": a.datatype.value, "required": a.required,
             "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
             "values": [{"key": k, "name": n} for k, n in a.values]}
            for a in service.attributes
        ]  # fmt: skip
        return render_response(
            "service_definition", {"service_code": service.code, "attributes": attributes}, wire
        )

    return _answer(fmt, build)


@router.post("/v2/requests.{fmt}", summary="Open311: file a request (form-encoded, with an intake api_key)")
async def post_request(request: Request, state: StateDep, fmt: str) -> Response:
    try:
        given = (await request.form()).multi_items()  # uploaded files are not fields: left out
        form = parse_request_form((k, v) for k, v in given if isinstance(v, str))
    except FormError as exc:
        problem = Open311Error(400, str(exc))
        return _answer(fmt, lambda wire: _error(problem, wire))
    query_key = request.query_params.get("api_key")
    return await run_in_threadpool(_answer, fmt, lambda wire: _file(state, form, wire, query_key))


def _file(state: ApiState, form: RequestForm, wire: WireFormat, query_key: str | None) -> Response:
    fields = form.fields
    catalog = state.catalog
    with state.sessions() as session:
        principal = _filer(
            state, session, fields.get("api_key") or query_key
        )  # a form field, or in the query
        _check_jurisdiction(catalog, fields.get("jurisdiction_id"))
        code = fields.get("service_code")
        if not code:
            raise Open311Error(400, "service_code: missing")
        submission = Submission(
            service_code=code,
            lat=_coordinate(fields, "lat"),
            lon=_coordinate(fields, "long"),
            address=fields.get("address_string"),
            address_id=fields.get("address_id"),
            description=fields.get("description"),
            media_url=form.media_urls[0] if form.media_urls else None,
            attributes=form.attributes,
            reporter=Reporter(**{k: fields.get(k) for k in Reporter.__slots__}),
        )
        now = dt.datetime.now(dt.UTC)
        try:
            filed = file_ticket(session, catalog, submission, principal.actor, now)
        except ServiceNotFound as exc:
            raise Open311Error(404, str(exc)) from None
        service = catalog.service(code)
        if service is not None and service.transport:  # the trip's verdict, if the day is decided already
            row = session.get(TicketRow, filed.ticket_id)
            assert row is not None
            check_evidence(session, catalog, row, now)
        session.commit()
    answer = {"service_request_id": str(filed.ticket_id), "service_notice": filed.service_notice,
              "account_id": fields.get("account_id")}  # fmt: skip
    return render_response("service_requests", [answer], wire, 201)


def _filer(state: ApiState, session: Session, api_key: str | None) -> Principal:
    """The principal of an intake or department key, through the app's key cache (a revoked key stops
    working within its seconds, as on /v1)."""
    principal = None
    if api_key:
        principal = state.keys.lookup(hash_secret(api_key), lambda: find_principal(session, api_key))
    if principal is None:
        raise Open311Error(403, "api_key: missing, unknown or revoked")
    if principal.role not in FILERS:
        raise Open311Error(
            403, f"api_key: a {principal.role} key cannot file requests (intake or department)"
        )
    return principal


def _coordinate(fields: Mapping[str, str], name: str) -> float | None:
    text = fields.get(name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise Open311Error(400, f"{name}: {text!r} is not a number of degrees") from None


@router.get("/v2/requests.{fmt}", summary="Open311: requests, by ids or by service, dates and status")
def get_requests(
    state: StateDep,
    fmt: str,
    jurisdiction_id: Text = None,
    service_request_id: Text = None,
    service_code: Text = None,
    start_date: Text = None,
    end_date: Text = None,
    status: Text = None,
    extensions: Text = None,
    page: Text = None,
    page_size: Text = None,
    updated_after: Text = None,
) -> Response:
    def build(wire: WireFormat) -> Response:
        catalog = state.catalog
        _check_jurisdiction(catalog, jurisdiction_id)
        query = _query(service_request_id, service_code, start_date, end_date, status, page, page_size,
                       updated_after)  # fmt: skip
        with state.sessions() as session:
            rows = find_tickets(session, query)
            return _requests(session, catalog, rows, extensions == "true", wire)

    return _answer(fmt, build)


@router.get("/v2/requests/{service_request_id}.{fmt}", summary="Open311: one request (as a list of one)")
def get_request(
    state: StateDep, service_request_id: str, fmt: str, jurisdiction_id: Text = None, extensions: Text = None
) -> Response:
    def build(wire: WireFormat) -> Response:
        catalog = state.catalog
        _check_jurisdiction(catalog, jurisdiction_id)
        if not _is_id(service_request_id):
            raise Open311Error(404, f"service_request_id: no request {service_request_id!r}")
        with state.sessions() as session:
            rows = find_tickets(session, TicketQuery(ids=[int(service_request_id)]))
            if not rows:
                raise Open311Error(404, f"service_request_id: no request {service_request_id!r}")
            return _requests(session, catalog, rows, extensions == "true", wire)

    return _answer(fmt, build)


# mySociety's extended statuses, for FixMyStreet-style updates
_UPDATE_STATUS = {
    "received": "open", "routed": "open", "in_progress": "in_progress", "done": "fixed",
    "rejected": "no_further_action",
}  # fmt: skip


@router.get("/v2/servicerequestupdates.{fmt}", summary="Open311 extension (FixMyStreet): public updates")
def request_updates(
    state: StateDep, fmt: str, start_date: Text = None, end_date: Text = None, jurisdiction_id: Text = None
) -> Response:
    """Each public change of a request in the period (default: the last 90 days) as an update with its
    extended status (open, in_progress, fixed, no_further_action, duplicate)."""

    def build(wire: WireFormat) -> Response:
        _check_jurisdiction(state.catalog, jurisdiction_id)
        query = _query(None, None, start_date, end_date, None, None, None, None)
        assert query.start is not None and query.end is not None
        with state.sessions() as session:
            found = public_notes_between(session, query.start, query.end, MAX_PAGE)
        updates = [
            {"update_id": str(note.id), "service_request_id": str(ticket.id),
             "status": _update_status(note, ticket), "updated_datetime": note.at, "description": note.text,
             "media_url": None}
            for note, ticket in found
        ]  # fmt: skip
        return render_response("service_request_updates", updates, wire)

    return _answer(fmt, build)


def _update_status(note: NoteRow, ticket: TicketRow) -> str:
    if note.kind == "duplicate":
        return "duplicate"
    return _UPDATE_STATUS.get(note.state or ticket.state, "open")


@router.get("/v2/tokens/{token}.{fmt}", summary="Open311: a token's request (every service here is realtime)")
def token(state: StateDep, token: str, fmt: str, jurisdiction_id: Text = None) -> Response:
    def build(wire: WireFormat) -> Response:
        _check_jurisdiction(state.catalog, jurisdiction_id)
        raise Open311Error(404, f"token: no token {token!r} (requests get their id at once: no tokens here)")

    return _answer(fmt, build)


def _query(
    ids: str | None,
    codes: str | None,
    start: str | None,
    end: str | None,
    status: str | None,
    page: str | None,
    page_size: str | None,
    updated_after: str | None,
) -> TicketQuery:
    size = _whole(page_size, "page_size", 1, MAX_PAGE, MAX_PAGE)
    offset = (_whole(page, "page", 1, 10**9, 1) - 1) * size
    if ids:
        parts = [p.strip() for p in ids.split(",") if p.strip()]
        if not all(p.isascii() and p.isdigit() for p in parts):
            raise Open311Error(400, f"service_request_id: {ids!r} is not a comma-separated list of ids")
        return TicketQuery(ids=[int(p) for p in parts if _is_id(p)], offset=offset, limit=size)
    statuses = [s.strip() for s in (status or "").split(",") if s.strip()]
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise Open311Error(400, f"status: {bad[0]!r} is not open or closed")
    since = _instant(start, "start_date")
    until = _instant(end, "end_date")
    window = dt.timedelta(days=MAX_DAYS)
    if since is None and until is None:
        until = dt.datetime.now(dt.UTC)
    if since is None:
        assert until is not None
        since = until - window
    if until is None:
        until = since + window
    if until < since:
        raise Open311Error(400, "end_date: before start_date")
    if until - since > window:
        raise Open311Error(400, f"start_date, end_date: the range may not span more than {MAX_DAYS} days")
    return TicketQuery(
        service_codes=[c.strip() for c in (codes or "").split(",") if c.strip()],
        start=since,
        end=until + dt.timedelta(seconds=1),  # "the latest datetime to include": answers show whole seconds
        statuses=statuses,
        updated_after=_instant(updated_after, "updated_after"),
        offset=offset,
        limit=size,
    )


def _instant(text: str | None, name: str) -> dt.datetime | None:
    """A W3C date and time given as `name`, in UTC, between 1970 and 2200 (so that every sum stays a date)."""
    if not text:
        return None
    moment = parse_w3c_datetime(text, name)
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        utc = EARLIEST - dt.timedelta(days=1)
    if not EARLIEST <= utc <= LATEST:
        raise Open311Error(400, f"{name}: {text!r} is out of range (1970 to 2200)")
    return utc


def _is_id(text: str) -> bool:
    """Whether `text` can be a request's id: ASCII digits, within the database's integer."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID


def _whole(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or not low <= int(text) <= high:
        raise Open311Error(400, f"{name}: {text!r} must be a whole number from {low} to {high}")
    return int(text)


def _requests(
    session: Session, catalog: Catalog, rows: list[TicketRow], extensions: bool, wire: WireFormat
) -> Response:
    notes = notes_of(session, [r.id for r in rows], public_only=True)
    items = [_request(catalog, row, notes[row.id], extensions) for row in rows]
    return render_response("service_requests", items, wire)


def _request(catalog: Catalog, row: TicketRow, notes: list[NoteRow], extensions: bool) -> dict[str, Any]:
    service: Service | None = catalog.service(row.service_code)
    department = catalog.party(row.department)
    item: dict[str, Any] = {
        "service_request_id": str(row.id),
        "status": row.status,
        "status_notes": notes[-1].text if notes else None,
        "service_name": service.name if service else None,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": department.name if department else row.department,
        "service_notice": None,
        "requested_datetime": row.requested_at,
        "updated_datetime": row.closed_at or row.updated_at,
        "expected_datetime": row.expected_at,
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": row.zipcode,
        "lat": row.lat,
        "long": row.lon,
        "media_url": row.media_url,
    }
    if extensions:
        names = {a.code: a.description for a in service.attributes} if service else {}
        item["extended_attributes"] = {
            "sector": row.sector,
            "department": row.department,
            "workflow_state": row.state,
            "kind": row.kind,
            "duplicate_of": None if row.duplicate_of is None else str(row.duplicate_of),
            "escalations": row.escalations,
        }
        item["attributes"] = [
            {"code": code, "name": names.get(code, code),
             "value": ",".join(value) if isinstance(value, list) else value}
            for code, value in sorted(row.attribute_values().items())
        ]  # fmt: skip
        item["notes"] = [
            {"datetime": n.at, "type": n.kind, "description": n.text, "state": n.state} for n in notes
        ]
    return item
