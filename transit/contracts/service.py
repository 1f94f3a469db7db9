"""Contract use cases: declare contracts, enforce a day, queue notices. The caller owns the session and
commits once; every change is a ledger event (transit.ledger)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from transit.contracts.model import ContractBook
from transit.contracts.notices import render_notice
from transit.contracts.rules import SYSTEM, DayInput, Step, enforce_day
from transit.contracts.state import (
    CARRIER_AMENDED,
    CARRIER_REGISTERED,
    CONTRACT_AMENDED,
    CONTRACT_REGISTERED,
    CONTRACT_TERMINATED,
    DEPARTMENT_CONFIGURED,
    KINDS,
    NOTICE_QUEUED,
    TERMINATION_REVERSED,
    WARNING_ISSUED,
    WARNING_REVERSED,
    ContractState,
    carrier_to_dict,
    contract_to_dict,
)
from transit.contracts.store import add_document
from transit.errors import TransitError
from transit.ledger.chain import Draft, Event
from transit.ledger.store import append_events, iter_events
from transit.matching.store import day_verdicts


class NoVerdicts(TransitError):
    """No final verdicts are stored for the date asked."""


def read_state(session: Session) -> ContractState:
    """Every contract's standing, folded from the ledger."""
    state = ContractState()
    for event in iter_events(session, kinds=KINDS):
        state.apply(event.kind, event.data(), event.seq, event.at)
    return state


@dataclass(frozen=True, slots=True)
class LoadResult:
    registered: list[str]
    amended: list[str]
    unchanged: list[str]
    kept: list[str]  # declared before, left out of this file: never deleted


def load_book(session: Session, book: ContractBook, actor: str, at: dt.datetime) -> LoadResult:
    """Register what is new in the book, amend what changed; nothing is ever removed."""
    state = read_state(session)
    drafts: list[Draft] = []
    result = LoadResult([], [], [], [])
    if dataclasses.asdict(book.department) != dataclasses.asdict(state.department) or not any(
        True for _ in iter_events(session, kinds=[DEPARTMENT_CONFIGURED])
    ):
        drafts.append(
            Draft(
                actor,
                DEPARTMENT_CONFIGURED,
                "department",
                {"department": dataclasses.asdict(book.department)},
            )
        )
    for carrier in book.carriers:
        before = state.carriers.get(carrier.carrier_id)
        _declare(
            drafts,
            result,
            actor,
            f"carrier:{carrier.carrier_id}",
            carrier_to_dict(carrier),
            None if before is None else carrier_to_dict(before),
            (CARRIER_REGISTERED, CARRIER_AMENDED),
            "carrier",
        )
    for contract in book.contracts:
        before_contract = state.contracts.get(contract.contract_id)
        _declare(
            drafts,
            result,
            actor,
            f"contract:{contract.contract_id}",
            contract_to_dict(contract),
            None if before_contract is None else contract_to_dict(before_contract),
            (CONTRACT_REGISTERED, CONTRACT_AMENDED),
            "contract",
        )
    declared = {c.contract_id for c in book.contracts}
    result.kept.extend(sorted(set(state.contracts) - declared))
    append_events(session, drafts, at)
    return result


def _declare(
    drafts: list[Draft],
    result: LoadResult,
    actor: str,
    subject: str,
    now: dict[str, Any],
    before: dict[str, Any] | None,
    kinds: tuple[str, str],
    key: str,
) -> None:
    if before is None:
        drafts.append(Draft(actor, kinds[0], subject, {key: now}))
        result.registered.append(subject)
    elif before != now:
        changed = sorted(k for k in now if now[k] != before.get(k))
        drafts.append(Draft(actor, kinds[1], subject, {key: now, "changed": changed}))
        result.amended.append(subject)
    else:
        result.unchanged.append(subject)


@dataclass(frozen=True, slots=True)
class EnforceResult:
    service_date: dt.date
    events: list[Event]

    def count(self, kind: str) -> int:
        return sum(e.kind == kind for e in self.events)


def enforce(session: Session, service_date: dt.date, now: dt.datetime, run_by: str) -> EnforceResult:
    """Turn the stored final verdicts of `service_date` into violations, warnings and termination, with their
    notices queued; a second run adds nothing. NoVerdicts when the day has none stored."""
    _, trips = day_verdicts(session, service_date)
    if trips.empty:
        raise NoVerdicts(
            f"no verdicts are stored for {service_date}: "
            "run `transit detect --store` or the live matcher first"
        )
    state = read_state(session)
    today = state.local_date(now)

    def period_trips(first: dt.date, last: dt.date) -> pd.DataFrame:
        days = [
            day_verdicts(session, first + dt.timedelta(days=k))[1] for k in range((last - first).days + 1)
        ]
        return pd.concat([d for d in days if not d.empty] or [trips.iloc[0:0]], ignore_index=True)

    exempt = exempt_keys(state, service_date, trips)
    steps = enforce_day(state, DayInput(service_date, trips, exempt, today, now, period_trips))
    return EnforceResult(service_date, record_steps(session, state, steps, now, run_by))


def exempt_keys(
    state: ContractState, service_date: dt.date, trips: pd.DataFrame
) -> frozenset[tuple[str, str]]:
    """The (trip_id, start_time) of the day that a department exemption covers (by trip, route or time)."""
    keys: set[tuple[str, str]] = set()
    for exemption in state.exemptions.values():
        first, last = exemption.service_dates
        if not first <= service_date <= last:
            continue
        starts = trips["start_time"].astype(str).str.zfill(8)
        mask = pd.Series(False, index=trips.index)
        for trip_id, start_time in exemption.trips:
            same_start = True if start_time is None else starts == start_time.zfill(8)
            mask |= (trips["trip_id"].astype(str) == trip_id) & same_start
        scope = pd.Series(True, index=trips.index)
        if exemption.routes:
            scope &= trips["route_id"].astype(str).isin(exemption.routes)
        if exemption.from_time and exemption.to_time:
            scope &= (starts >= exemption.from_time.zfill(8)) & (starts < exemption.to_time.zfill(8))
        if exemption.routes or (
            exemption.from_time and not exemption.trips
        ):  # a time range alone: all routes
            mask |= scope
        keys |= set(
            zip(
                trips.loc[mask, "trip_id"].astype(str), trips.loc[mask, "start_time"].astype(str), strict=True
            )
        )
    return frozenset(keys)


def record_steps(
    session: Session, state: ContractState, steps: Iterable[Step], now: dt.datetime, run_by: str
) -> list[Event]:
    """Append the steps as ledger events (the system's, run by `run_by`) and queue the notices they call for.
    `state` is the one the steps were computed from; it is brought up to date as they are recorded."""
    drafts: list[Draft] = []
    for step in steps:
        drafts.append(Draft(SYSTEM, step.kind, step.subject, step.payload | {"run_by": run_by}))
        state.apply(step.kind, step.payload, at=now)
        drafts += queue_notices(session, state, step, now)
    return append_events(session, drafts, now)


_NOTICE_KINDS = {
    WARNING_ISSUED: "warning",
    CONTRACT_TERMINATED: "termination",
    WARNING_REVERSED: "warning_reversed",
    TERMINATION_REVERSED: "termination_reversed",
}


def queue_notices(session: Session, state: ContractState, step: Step, now: dt.datetime) -> list[Draft]:
    """The notice a step calls for (to the carrier; a termination also to the department), rendered, kept."""
    kind = _NOTICE_KINDS.get(step.kind)
    if kind is None:
        return []
    p = step.payload
    contract = state.contracts[p["contract_id"]]
    carrier = state.carriers[contract.carrier_id]
    facts: dict[str, Any] = {
        "carrier_name": carrier.name,
        "contract_id": contract.contract_id,
        "issued_at": now,
    }
    if kind == "warning":
        violations = [state.violations[v].trip for v in p["violation_ids"]]
        facts |= {
            "date": p["unit_date"],
            "number": p["number"],
            "of": p["of"],
            "window_days": p["window_days"],
            "dispute_days": contract.policy.dispute_working_days,
            "violations": violations,
        }
        subject_id = p["warning_id"]
    elif kind == "termination":
        facts |= {
            "count": len(p["warning_ids"]),
            "window_days": contract.policy.window_days,
            "warnings": p["warning_ids"],
        }
        subject_id = contract.contract_id
    else:
        subject_id = p.get("warning_id", contract.contract_id)
        facts |= {"subject": subject_id, "why": p["why"]}
    channels = carrier.channels.enabled()
    recipients = [(carrier.carrier_id, carrier.language, channels, "")]
    if kind in ("termination", "termination_reversed"):
        department = state.department
        copies = [c for c, on in (("webhook", department.webhook), ("email", department.email)) if on]
        recipients.append(("department", department.language, copies, "/department"))
    drafts = []
    for recipient, language, channel_list, suffix in recipients:
        notice_id = _fresh(state, f"{kind}:{subject_id}{suffix}")
        notice = render_notice(notice_id, kind, language, state.department.timezone, facts)
        add_document(session, notice, recipient, contract.contract_id, now)
        payload = {
            "notice_id": notice_id,
            "kind": kind,
            "carrier_id": recipient,
            "contract_id": contract.contract_id,
            "language": language,
            "document_sha256": notice.sha256,
            "channels": channel_list,
        }
        drafts.append(Draft(SYSTEM, NOTICE_QUEUED, f"carrier:{recipient}", payload))
        state.apply(NOTICE_QUEUED, payload, at=now)
    return drafts


def _fresh(state: ContractState, notice_id: str) -> str:
    """The id, or with #2, #3, … when a notice of that id exists (a contract terminated a second time)."""
    number, candidate = 1, notice_id
    while candidate in state.notices:
        number += 1
        candidate = f"{notice_id}#{number}"
    return candidate


def alert_not_started(session: Session, alerts: pd.DataFrame, now: dt.datetime) -> list[Event]:
    """Queue a not_started alert to the carrier of each trip signalled (the contract covering its route, else
    the declared carrier of its agency); trips of no declared carrier have no one to alert."""
    if alerts.empty:
        return []
    state = read_state(session)
    drafts = []
    for trip in alerts.to_dict("records"):
        service_date = dt.date.fromisoformat(str(trip["service_date"]))
        owners = [
            c
            for c in state.contracts.values()
            if c.covers(str(trip.get("route_id")), str(trip.get("agency_id")), service_date)
        ]
        carrier = state.carriers.get(owners[0].carrier_id if owners else str(trip.get("carrier_id")))
        if carrier is None:
            continue
        notice_id = f"not_started:{service_date.isoformat()}/{trip['trip_id']}/{trip['start_time']}"
        contract_id = owners[0].contract_id if owners else None
        facts: dict[str, Any] = {
            "carrier_name": carrier.name,
            "contract_id": contract_id,
            "issued_at": now,
            "trip": {k: _text(v) for k, v in trip.items()} | {"verdict": "not_started", "reason": ""},
        }
        notice = render_notice(notice_id, "not_started", carrier.language, state.department.timezone, facts)
        add_document(session, notice, carrier.carrier_id, contract_id, now)
        channels = carrier.channels.enabled()
        payload = {
            "notice_id": notice_id,
            "kind": "not_started",
            "carrier_id": carrier.carrier_id,
            "contract_id": contract_id,
            "language": carrier.language,
            "document_sha256": notice.sha256,
            "channels": channels,
            "trip": {
                "service_date": service_date.isoformat(),
                "trip_id": str(trip["trip_id"]),
                "start_time": str(trip["start_time"]),
                "route_id": _text(trip.get("route_id")),
            },
        }
        drafts.append(Draft(SYSTEM, NOTICE_QUEUED, f"carrier:{carrier.carrier_id}", payload))
    return append_events(session, drafts, now)


def _text(value: Any) -> Any:
    """A JSON-friendly cell: instants as ISO text, NaN as None."""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, int | float | str) else str(value)


def trips_in_area(
    stops: pd.DataFrame, stop_times: pd.DataFrame, area: Sequence[float]
) -> tuple[list[str], list[str]]:
    """The stops inside a box [min_lat, min_lon, max_lat, max_lon] and the trips that call at any of them."""
    min_lat, min_lon, max_lat, max_lon = area
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce")
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce")
    inside = stops.loc[lat.between(min_lat, max_lat) & lon.between(min_lon, max_lon), "stop_id"].astype(str)
    calls = stop_times[stop_times["stop_id"].astype(str).isin(set(inside))]
    return sorted(inside), sorted(calls["trip_id"].astype(str).unique())
