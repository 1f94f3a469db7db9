"""Carriers, contracts and what enforcement made of them: violations, warnings, terminations, disputes,
notices, exemptions. A carrier key sees its own carrier's only (others' answer 404)."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import READ_ENFORCEMENT, SessionDep, StateDep, allow, own_carrier, visible
from api.errors import NotFound, problem_response
from api.errors import Refused as RefusedError
from api.paging import (
    CSV_RESPONSE,
    Cursor,
    FormatQuery,
    Limit,
    ListFormat,
    Page,
    csv_response,
    cursor_date,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_size,
)  # fmt: skip
from api.schemas import (
    CarrierOut,
    ContractOut,
    DisputeCreate,
    DisputeOut,
    ExemptionCreate,
    ExemptionGranted,
    ExemptionOut,
    NoticeOut,
    RulingCreate,
    TerminationOut,
    ViolationOut,
    WarningOut,
)  # fmt: skip
from api.state import ApiState
from transit.access.model import Principal, Role
from transit.contracts.disputes import open_dispute, rule_dispute
from transit.contracts.granting import ExemptionRequest, Refused, grant_exemption, gtfs_time
from transit.contracts.record import contract_status
from transit.contracts.service import trips_in_area
from transit.contracts.state import ContractState, Violation, contract_to_dict
from transit.contracts.store import find_document
from transit.errors import BadParameter, FeedNotFound
from transit.gtfs.store import find_feed_in_force

router = APIRouter(prefix="/v1", tags=["enforcement"])
Reader = Annotated[Principal, Depends(allow(*READ_ENFORCEMENT))]
Department = Annotated[Principal, Depends(allow(Role.DEPARTMENT))]
FRESH_S = 0.5  # a carrier's violations page may be this far behind another process's appends
CarrierKey = Annotated[Principal, Depends(allow(Role.CARRIER))]
CarrierQuery = Annotated[str | None, Query(max_length=200, description="Only this carrier's")]
T = TypeVar("T")


def _page(
    items: Iterable[T], seq: Callable[[T], int], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """A page of items in ledger order (by the seq of the event that made each), after the cursor."""
    after = cursor_int(decode_cursor(cursor, 1)[0]) if cursor else -1
    rest = sorted((i for i in items if seq(i) > after), key=seq)
    page = rest[:limit]
    return page, encode_cursor([seq(page[-1])]) if len(rest) > limit else None


def _carrier_of(state: ContractState, contract_id: str) -> str:
    contract = state.contracts.get(contract_id)
    return contract.carrier_id if contract is not None else ""


def _listed(
    rows: Sequence[dict[str, Any]], model: type[Any], name: str, fmt: ListFormat, cursor: str | None
) -> Any:
    if fmt is ListFormat.CSV:
        return csv_response(rows, tuple(model.model_fields), name, cursor)
    return Page(items=[model(**r) for r in rows], next_cursor=cursor)


# --- carriers and contracts ----------------------------------------------------------------------------


@router.get("/carriers", response_model=Page[CarrierOut], responses=CSV_RESPONSE, summary="Carriers")
def carriers(
    principal: Reader, session: SessionDep, state: StateDep, fmt: FormatQuery = ListFormat.JSON
) -> Any:
    mine = own_carrier(principal, None)
    with state.contracts.read(session) as contracts:
        rows = [
            _carrier(c) for c in sorted(contracts.carriers.values(), key=lambda c: c.carrier_id)
            if mine is None or c.carrier_id == mine
        ]  # fmt: skip
    return _listed(rows, CarrierOut, "carriers", fmt, None)


@router.get("/carriers/{carrier_id:path}", response_model=CarrierOut, summary="One carrier")
def carrier(principal: Reader, session: SessionDep, state: StateDep, carrier_id: str) -> CarrierOut:
    own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        found = contracts.carriers.get(carrier_id)
        if found is None:
            raise NotFound(f"no carrier {carrier_id!r}")
        return CarrierOut(**_carrier(found))


def _carrier(c: Any) -> dict[str, Any]:
    return {
        "carrier_id": c.carrier_id,
        "name": c.name,
        "language": c.language,
        "agency_ids": list(c.agency_ids),
    }


@router.get("/contracts", response_model=Page[ContractOut], responses=CSV_RESPONSE, summary="Contracts")
def contracts_list(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        today = contracts.local_date(dt.datetime.now(dt.UTC))
        rows = [
            _contract(contracts, c.contract_id, today)
            for c in sorted(contracts.contracts.values(), key=lambda c: c.contract_id)
            if carrier is None or c.carrier_id == carrier
        ]
    return _listed(rows, ContractOut, "contracts", fmt, None)


@router.get(
    "/contracts/{contract_id:path}", response_model=ContractOut, summary="One contract and its status"
)
def contract(principal: Reader, session: SessionDep, state: StateDep, contract_id: str) -> ContractOut:
    with state.contracts.read(session) as contracts:
        found = contracts.contracts.get(contract_id)
        visible(principal, found.carrier_id if found else None, f"contract {contract_id!r}")
        if found is None:
            raise NotFound(f"no contract {contract_id!r}")
        today = contracts.local_date(dt.datetime.now(dt.UTC))
        return ContractOut(**_contract(contracts, contract_id, today))


def _contract(state: ContractState, contract_id: str, today: dt.date) -> dict[str, Any]:
    data = contract_to_dict(state.contracts[contract_id])
    return data | {
        "status": contract_status(state, contract_id, today),
        "routes_flagged_for_tender": state.flagged_routes.get(contract_id, []),
    }


# --- violations, warnings, terminations ----------------------------------------------------------------


@router.get(
    "/violations",
    response_model=Page[ViolationOut],
    responses=CSV_RESPONSE,
    summary="Violations, by service date; a carrier's record a month at a time",
)
async def violations(
    principal: Reader,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    first, last = _month(month)
    after = None
    if cursor:
        day, seq = decode_cursor(cursor, 2)
        after = (cursor_date(day), cursor_int(seq))
    size = page_size(limit, fmt)
    if carrier is None or fmt is ListFormat.CSV or not state.contracts.is_fresh(FRESH_S):
        # The slow ways (a fold to catch up, a scan of every carrier, an export) run in a worker thread.
        return await run_in_threadpool(_violations_page, state, carrier, (first, last), after, size, fmt)
    # A carrier's page from a fresh snapshot: a bisection and cached JSON, in the event loop, no hop.
    with state.contracts.held() as contracts:
        found = state.contracts.violations_of(carrier, first, last, after, size + 1)
        parts = [_violation_json(state, contracts, v) for v in found[:size]]
    more = len(found) > size
    next_cursor = encode_cursor([found[size - 1].service_date, found[size - 1].seq]) if more else None
    body = b'{"items":[' + b",".join(parts) + b'],"next_cursor":' + json.dumps(next_cursor).encode() + b"}"
    return Response(body, media_type="application/json")


def _violations_page(
    state: ApiState,
    carrier: str | None,
    days: tuple[dt.date, dt.date],
    after: tuple[dt.date, int] | None,
    size: int,
    fmt: ListFormat,
) -> Any:
    with state.sessions() as session, state.contracts.read(session) as contracts:
        if carrier is not None:
            found = state.contracts.violations_of(carrier, *days, after, size + 1)
        else:
            found = _all_violations(contracts, *days, after, size + 1)
        rows = [_violation(contracts, v) for v in found]
    page, more = rows[:size], len(rows) > size
    next_cursor = encode_cursor([page[-1]["service_date"], page[-1]["seq"]]) if more else None
    return _listed(page, ViolationOut, "violations", fmt, next_cursor)


def _violation_json(state: ApiState, contracts: ContractState, v: Violation) -> bytes:
    """The violation as the API sends it, encoded once per state of it (voiding changes it)."""
    cached = state.encoded.get(v.violation_id)
    if cached is not None and cached[0] == v.voided_seq:
        return cached[1]
    encoded = ViolationOut(**_violation(contracts, v)).model_dump_json().encode()
    state.encoded[v.violation_id] = (v.voided_seq, encoded)
    return encoded


def _all_violations(
    state: ContractState, first: dt.date, last: dt.date, after: tuple[dt.date, int] | None, limit: int
) -> list[Violation]:
    found = sorted(
        (v for v in state.violations.values() if first <= v.service_date <= last),
        key=lambda v: (v.service_date, v.seq),
    )
    if after is not None:
        found = [v for v in found if (v.service_date, v.seq) > after]
    return found[:limit]


@router.get("/violations/{violation_id:path}", response_model=ViolationOut, summary="One violation")
def violation(principal: Reader, session: SessionDep, state: StateDep, violation_id: str) -> ViolationOut:
    with state.contracts.read(session) as contracts:
        found = contracts.violations.get(violation_id)
        carrier = _carrier_of(contracts, found.contract_id) if found else None
        visible(principal, carrier, f"violation {violation_id!r}")
        if found is None:
            raise NotFound(f"no violation {violation_id!r}")
        return ViolationOut(**_violation(contracts, found))


def _violation(state: ContractState, v: Violation) -> dict[str, Any]:
    return {
        "violation_id": v.violation_id,
        "contract_id": v.contract_id,
        "carrier_id": _carrier_of(state, v.contract_id),
        "service_date": v.service_date,
        "kind": v.kind,
        "trip": v.trip,
        "seq": v.seq,
        "voided": v.voided,
        "voided_seq": v.voided_seq,
    }


@router.get("/warnings", response_model=Page[WarningOut], responses=CSV_RESPONSE, summary="Warnings")
def warnings(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        mine = [
            w for w in contracts.warnings.values() if carrier in (None, _carrier_of(contracts, w.contract_id))
        ]
        page, next_cursor = _page(mine, lambda w: w.seq, cursor, page_size(limit, fmt))
        rows = [
            {
                "warning_id": w.warning_id,
                "contract_id": w.contract_id,
                "carrier_id": _carrier_of(contracts, w.contract_id),
                "unit_date": w.unit_date,
                "number": w.number,
                "violation_ids": w.violation_ids,
                "issued_at": w.issued_at,
                "seq": w.seq,
                "reversed": w.reversed,
                "reversed_seq": w.reversed_seq,
            }  # fmt: skip
            for w in page
        ]
    return _listed(rows, WarningOut, "warnings", fmt, next_cursor)


@router.get(
    "/terminations", response_model=Page[TerminationOut], responses=CSV_RESPONSE, summary="Terminations"
)
def terminations(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        rows = [
            {
                "contract_id": t.contract_id,
                "carrier_id": _carrier_of(contracts, t.contract_id),
                "service_date": t.service_date,
                "at": t.at,
                "warning_ids": t.warning_ids,
                "seq": t.seq,
                "reversed": t.reversed,
            }  # fmt: skip
            for t in sorted(contracts.terminations.values(), key=lambda t: t.seq)
            if carrier in (None, _carrier_of(contracts, t.contract_id))
        ]
    return _listed(rows, TerminationOut, "terminations", fmt, None)


# --- disputes --------------------------------------------------------------------------------------------


@router.get("/disputes", response_model=Page[DisputeOut], responses=CSV_RESPONSE, summary="Disputes")
def disputes(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        mine = [
            d for d in contracts.disputes.values() if carrier in (None, _carrier_of(contracts, d.contract_id))
        ]
        page, next_cursor = _page(mine, lambda d: d.seq, cursor, page_size(limit, fmt))
        rows = [_dispute(contracts, d.dispute_id) for d in page]
    return _listed(rows, DisputeOut, "disputes", fmt, next_cursor)


@router.get("/disputes/{dispute_id:path}", response_model=DisputeOut, summary="One dispute")
def dispute(principal: Reader, session: SessionDep, state: StateDep, dispute_id: str) -> DisputeOut:
    with state.contracts.read(session) as contracts:
        found = contracts.disputes.get(dispute_id)
        visible(
            principal, _carrier_of(contracts, found.contract_id) if found else None, f"dispute {dispute_id!r}"
        )
        if found is None:
            raise NotFound(f"no dispute {dispute_id!r}")
        return DisputeOut(**_dispute(contracts, dispute_id))


def _dispute(state: ContractState, dispute_id: str) -> dict[str, Any]:
    d = state.disputes[dispute_id]
    return {
        "dispute_id": d.dispute_id, "violation_id": d.violation_id, "contract_id": d.contract_id,
        "carrier_id": _carrier_of(state, d.contract_id), "reason": d.reason, "opened_by": d.opened_by,
        "opened_at": d.opened_at, "seq": d.seq, "ruling": d.ruling, "ruled_by": d.ruled_by,
        "ruling_reason": d.ruling_reason, "ruled_seq": d.ruled_seq,
    }  # fmt: skip


@router.post(
    "/disputes",
    response_model=DisputeOut,
    status_code=201,
    summary="A carrier disputes one of its violations",
    responses={409: problem_response("Not disputable (void, disputed already, or past its window)")},
)
def file_dispute(
    principal: CarrierKey, session: SessionDep, state: StateDep, body: DisputeCreate
) -> DisputeOut:
    with state.contracts.read(session) as contracts:
        found = contracts.violations.get(body.violation_id)
        visible(principal, _carrier_of(contracts, found.contract_id) if found else None, "such violation")
    outcome = open_dispute(session, body.violation_id, body.reason, principal.actor, dt.datetime.now(dt.UTC))
    session.commit()
    dispute_id = outcome.events[0].data()["dispute_id"]
    with state.contracts.read(session) as contracts:
        return DisputeOut(**_dispute(contracts, dispute_id))


@router.post(
    "/disputes/{dispute_id:path}/ruling",
    response_model=DisputeOut,
    summary="The department rules on a dispute",
    responses={409: problem_response("Ruled already: refused, and the attempt recorded in the ledger")},
)
def rule(
    principal: Department, session: SessionDep, state: StateDep, dispute_id: str, body: RulingCreate
) -> DisputeOut:
    with state.contracts.read(session) as contracts:
        if dispute_id not in contracts.disputes:
            raise NotFound(f"no dispute {dispute_id!r}")
    now = dt.datetime.now(dt.UTC)
    outcome = rule_dispute(session, dispute_id, body.ruling, body.reason, principal.actor, now)
    session.commit()
    if outcome.refused:
        raise RefusedError(outcome.refused, outcome.events[0].seq, status=409)
    with state.contracts.read(session) as contracts:
        return DisputeOut(**_dispute(contracts, dispute_id))


# --- notices ---------------------------------------------------------------------------------------------


@router.get("/notices", response_model=Page[NoticeOut], responses=CSV_RESPONSE, summary="Notices to carriers")
def notices(
    principal: Reader,
    session: SessionDep,
    state: StateDep,
    carrier_id: CarrierQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    carrier = own_carrier(principal, carrier_id)
    with state.contracts.read(session) as contracts:
        mine = [n for n in contracts.notices.values() if carrier in (None, n.carrier_id)]
        page, next_cursor = _page(mine, lambda n: n.seq, cursor, page_size(limit, fmt))
        rows = [
            {
                "notice_id": n.notice_id,
                "kind": n.kind,
                "carrier_id": n.carrier_id,
                "contract_id": n.contract_id,
                "queued_at": n.queued_at,
                "seq": n.seq,
                "document_sha256": n.document_sha256,
                "channels": n.channels,
                "delivered": dict(n.delivered),
                "attempts": dict(n.attempts),
            }  # fmt: skip
            for n in page
        ]
    return _listed(rows, NoticeOut, "notices", fmt, next_cursor)


@router.get(
    "/notices/{notice_id:path}/document",
    response_class=HTMLResponse,
    summary="The notice exactly as sent (HTML; its SHA-256 is in the ledger)",
)
def notice_document(principal: Reader, session: SessionDep, notice_id: str) -> HTMLResponse:
    document = find_document(session, notice_id)
    visible(principal, document.carrier_id if document else None, f"notice {notice_id!r}")
    if document is None:
        raise NotFound(f"no notice {notice_id!r}")
    return HTMLResponse(document.html, headers={"X-Content-SHA256": document.sha256})


# --- exemptions ------------------------------------------------------------------------------------------


@router.get(
    "/exemptions", response_model=Page[ExemptionOut], responses=CSV_RESPONSE, summary="Exemptions granted"
)
def exemptions(
    principal: Annotated[Principal, Depends(allow(Role.DEPARTMENT, Role.AUDITOR))],
    session: SessionDep,
    state: StateDep,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    with state.contracts.read(session) as contracts:
        rows = [
            {
                "exemption_id": e.exemption_id,
                "reason": e.reason,
                "first_date": e.service_dates[0],
                "last_date": e.service_dates[1],
                "trips": [tuple(t) for t in e.trips],
                "routes": e.routes,
                "from_time": e.from_time,
                "to_time": e.to_time,
                "area": e.area,
                "stop_ids": e.stop_ids,
            }  # fmt: skip
            for e in contracts.exemptions.values()
        ]
    return _listed(rows, ExemptionOut, "exemptions", fmt, None)


@router.post(
    "/exemptions",
    response_model=ExemptionGranted,
    status_code=201,
    responses={409: problem_response("Too late: refused, and the attempt recorded in the ledger")},
    summary="Exempt trips in advance (or for yesterday at the latest)",
)
def grant(
    principal: Department, session: SessionDep, state: StateDep, body: ExemptionCreate
) -> ExemptionGranted:
    request = ExemptionRequest(
        body.date, body.until or body.date, body.reason,
        [(t.trip_id, gtfs_time(t.start_time)) for t in body.trips], list(body.routes),
        gtfs_time(body.from_time), gtfs_time(body.to_time), body.area,
    )  # fmt: skip

    def area_lookup(on: dt.date, box: Sequence[float]) -> tuple[list[str], list[str]]:
        version = find_feed_in_force(session, on)
        if version is None:
            raise FeedNotFound(f"area: no stored feed version is in force on {on}")
        loaded = state.feeds.get(session, version.id, f"feed version {version.id}")
        return trips_in_area(loaded.feed.stops, loaded.feed.stop_times, box)

    now = dt.datetime.now(dt.UTC)
    with state.contracts.read(session) as contracts:
        today = contracts.local_date(now)
    outcome = grant_exemption(session, request, today, principal.actor, now, area_lookup)
    session.commit()
    if isinstance(outcome, Refused):
        why, seq = outcome.why, outcome.event.seq
        raise RefusedError(f"refused: {why}; recorded as event {seq}", seq, status=409)
    return ExemptionGranted(exemption_id=outcome.exemption_id, seq=outcome.event.seq)


def _month(month: str | None) -> tuple[dt.date, dt.date]:
    if month is None:
        return dt.date.min, dt.date.max
    year, number = (int(part) for part in month.split("-"))
    if not 1 <= number <= 12 or year < dt.MINYEAR:
        raise BadParameter(f"month: {month!r} is not YYYY-MM")
    first = dt.date(year, number, 1)
    return first, first.replace(day=calendar.monthrange(year, number)[1])
