"""Enforcement (pure): final verdicts -> violations -> warnings -> termination, and what undoes them.

Every step is an event appended to the ledger; the same inputs give no new event the second time (ids are
derived from what they are about), so enforcement runs exactly once in effect however often it runs. An
upheld dispute or a revised verdict voids a violation by a new event; a warning left without violations is
reversed, and a termination left under the threshold is reversed too, by new events.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from transit.contracts.model import Contract, WarnOn
from transit.contracts.state import (
    CONTRACT_TERMINATED,
    ROUTES_FLAGGED,
    TERMINATION_REVERSED,
    VIOLATION_RECORDED,
    VIOLATION_VOIDED,
    WARNING_ISSUED,
    WARNING_REVERSED,
    ContractState,
    Violation,
)

SYSTEM = "system"  # the actor of automatic steps: no human decides them
TRIP_FIELDS = (
    "trip_id",
    "start_time",
    "route_id",
    "verdict",
    "reason",
    "coverage",
    "lost_distance_m",
    "vehicle_ids",
    "start_at",
    "end_at",
    "first_ping_at",
    "last_ping_at",
    "stops_reached",
    "stops_total",
    "payload_sha256",
)


@dataclass(frozen=True, slots=True)
class Step:
    """One event to append: kind, subject, payload."""

    kind: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DayInput:
    """What enforcing one service day needs besides the state."""

    service_date: dt.date
    trips: pd.DataFrame  # the day's current verdicts (TRIP_FIELDS, agency_id)
    exempt: frozenset[tuple[str, str]]  # (trip_id, start_time) the department exempted
    today: dt.date  # the local date now: dispute deadlines are counted against it
    now: dt.datetime
    period_trips: Callable[[dt.date, dt.date], pd.DataFrame] | None = None  # verdicts of a date range


def exemption_in_time(first_date: dt.date, today: dt.date) -> bool:
    """Whether an exemption starting on `first_date` may still be granted `today` (local): in advance, or
    for yesterday's service at the latest, the same cut-off as late pings (DESIGN 5). Later, exempting would
    undo enforced outcomes by decree; only a dispute can do that."""
    return first_date >= today - dt.timedelta(days=1)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def enforce_day(state: ContractState, day: DayInput) -> list[Step]:
    """The events that enforcing `day` adds, in order (none if it was enforced already)."""
    work = copy.deepcopy(state)
    steps: list[Step] = []

    def emit(kind: str, subject: str, payload: dict[str, Any]) -> None:
        steps.append(Step(kind, subject, payload))
        work.apply(kind, payload, seq=-len(steps), at=day.now)

    for contract in sorted(work.contracts.values(), key=lambda c: c.contract_id):
        termination = work.terminations.get(contract.contract_id)
        if (
            termination is not None
            and termination.reversed is None
            and day.service_date > termination.service_date
        ):
            continue  # a terminated contract owes nothing after its termination
        if not contract.start <= day.service_date <= contract.end:
            continue
        _violations(work, contract, day, emit)
        _warnings(work, contract, day, emit)
        settle(work, contract, day.today, emit)
    return steps


def _violation_kind(row: pd.Series, contract: Contract) -> str | None:
    policy = contract.policy
    if row["verdict"] == "missed":
        return "missed"
    if (
        row["verdict"] == "no_data"
        and row["reason"] == "carrier_fleet_dark"
        and policy.dark_fleet_is_violation
    ):
        return "fleet_dark"
    if row["verdict"] == "partial" and (policy.count_partial or policy.warn_on is WarnOn.LOST_DISTANCE):
        return "partial"
    return None  # performed, exempt, service_gap: never a violation


def _covered(trips: pd.DataFrame, contract: Contract, on: dt.date) -> pd.DataFrame:
    if not contract.start <= on <= contract.end or trips.empty:
        return trips.iloc[0:0]
    if contract.routes:
        mask = trips["route_id"].astype(str).isin(contract.routes)
    else:
        mask = trips["agency_id"].astype(str) == str(contract.agency_id)
    return trips[mask.to_numpy()]


def violation_id(contract_id: str, service_date: dt.date, trip_id: str, start_time: str) -> str:
    return f"{contract_id}/{service_date.isoformat()}/{trip_id}/{start_time}"


def _violations(work: ContractState, contract: Contract, day: DayInput, emit: Callable[..., None]) -> None:
    """Record the day's new violations; void those whose verdict no longer violates."""
    wanted: dict[str, tuple[str, dict[str, Any]]] = {}
    for _, row in _covered(day.trips, contract, day.service_date).iterrows():
        if (str(row["trip_id"]), str(row["start_time"])) in day.exempt:
            continue
        kind = _violation_kind(row, contract)
        if kind is not None:
            key = violation_id(
                contract.contract_id, day.service_date, str(row["trip_id"]), str(row["start_time"])
            )
            wanted[key] = (kind, {f: _plain(row.get(f)) for f in TRIP_FIELDS})
    subject = f"contract:{contract.contract_id}"
    for key, (kind, trip) in sorted(wanted.items()):
        if key not in work.violations:
            payload = {
                "violation_id": key,
                "contract_id": contract.contract_id,
                "carrier_id": contract.carrier_id,
                "service_date": day.service_date.isoformat(),
                "kind": kind,
                "trip": trip,
            }
            emit(VIOLATION_RECORDED, subject, payload)
    for violation in _day_violations(work, contract.contract_id, day.service_date):
        if violation.voided is None and violation.violation_id not in wanted:
            exempted = (str(violation.trip["trip_id"]), str(violation.trip["start_time"])) in day.exempt
            why = "exempted" if exempted else "verdict_revised"
            emit(VIOLATION_VOIDED, subject, {"violation_id": violation.violation_id, "why": why})


def _plain(value: Any) -> Any:
    """A JSON value from a frame cell (NaN and NaT become null, numpy numbers Python ones)."""
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).tz_convert("UTC").isoformat() if pd.Timestamp(value).tzinfo else str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return round(float(value), 6)
    return value if isinstance(value, int | str | bool) else str(value)


def _day_violations(work: ContractState, contract_id: str, on: dt.date) -> list[Violation]:
    return sorted(
        (v for v in work.violations.values() if v.contract_id == contract_id and v.service_date == on),
        key=lambda v: v.violation_id,
    )


def _warnings(work: ContractState, contract: Contract, day: DayInput, emit: Callable[..., None]) -> None:
    """Issue the warnings the policy asks for on this day."""
    policy, on = contract.policy, day.service_date
    active = [v for v in _day_violations(work, contract.contract_id, on) if v.voided is None]
    units: list[tuple[str, list[Violation], dict[str, Any]]] = []
    if policy.warn_on is WarnOn.MISSED_DAY and active:
        units.append((on.isoformat(), active, {}))
    elif policy.warn_on is WarnOn.MISSED_TRIP:
        units += [(v.violation_id.split("/", 1)[1], [v], {}) for v in active]
    elif policy.warn_on is WarnOn.LOST_DISTANCE:
        lost_km = _lost_km(active)
        if lost_km > policy.lost_distance_km:
            units.append((on.isoformat(), active, {"lost_distance_km": round(lost_km, 3)}))
    elif policy.warn_on is WarnOn.MISSED_SHARE and day.period_trips is not None:
        first = _period_start(contract, on)
        if (on - first).days == policy.share_period_days - 1:  # the period's last day
            share, judged = _missed_share(day.period_trips(first, on), contract, on)
            if judged and share > policy.missed_share_threshold:
                period = [
                    v
                    for v in work.violations.values()
                    if v.contract_id == contract.contract_id
                    and first <= v.service_date <= on
                    and v.voided is None
                ]
                units.append(
                    (f"{first.isoformat()}..{on.isoformat()}", period, {"missed_share": round(share, 4)})
                )
    for unit, violations, figures in units:
        warning_id = f"{contract.contract_id}/{unit}"
        if warning_id in work.warnings:
            continue
        window_first = on - dt.timedelta(days=policy.window_days - 1)
        number = len(work.active_warnings(contract.contract_id, window_first, on)) + 1
        payload = {
            "warning_id": warning_id,
            "contract_id": contract.contract_id,
            "carrier_id": contract.carrier_id,
            "unit_date": on.isoformat(),
            "violation_ids": [v.violation_id for v in violations],
            "number": number,
            "of": policy.warnings_to_terminate,
            "window_days": policy.window_days,
            **figures,
        }
        emit(WARNING_ISSUED, f"contract:{contract.contract_id}", payload)


def _lost_km(violations: list[Violation]) -> float:
    return sum(float(v.trip.get("lost_distance_m") or 0.0) for v in violations) / 1000.0


def _period_start(contract: Contract, on: dt.date) -> dt.date:
    days = contract.policy.share_period_days
    return contract.start + dt.timedelta(days=((on - contract.start).days // days) * days)


def _missed_share(trips: pd.DataFrame, contract: Contract, on: dt.date) -> tuple[float, int]:
    """The share of missed trips among the judged ones (no_data and exempt left out), and how many."""
    mine = _covered(trips, contract, on)
    judged = mine[~mine["verdict"].isin(["no_data", "exempt"])]
    if judged.empty:
        return 0.0, 0
    return float((judged["verdict"] == "missed").mean()), len(judged)


def settle(work: ContractState, contract: Contract, today: dt.date, emit: Callable[..., None]) -> None:
    """Reverse what voided violations no longer support; terminate when the warnings reach the threshold."""
    policy, subject = contract.policy, f"contract:{contract.contract_id}"
    for warning in sorted(work.warnings.values(), key=lambda w: w.seq):
        if warning.contract_id != contract.contract_id or warning.reversed is not None:
            continue
        left = [work.violations[v] for v in warning.violation_ids if work.violations[v].voided is None]
        unsupported = not left or (
            policy.warn_on is WarnOn.LOST_DISTANCE and _lost_km(left) <= policy.lost_distance_km
        )
        if unsupported:
            emit(
                WARNING_REVERSED,
                subject,
                {
                    "warning_id": warning.warning_id,
                    "contract_id": contract.contract_id,
                    "carrier_id": contract.carrier_id,
                    "why": "violations_voided",
                },
            )
    termination = work.terminations.get(contract.contract_id)
    if termination is not None and termination.reversed is None:
        first = termination.service_date - dt.timedelta(days=policy.window_days - 1)
        if (
            len(work.active_warnings(contract.contract_id, first, termination.service_date))
            < policy.warnings_to_terminate
        ):
            emit(
                TERMINATION_REVERSED,
                subject,
                {
                    "contract_id": contract.contract_id,
                    "carrier_id": contract.carrier_id,
                    "why": "warnings_reversed",
                    "routes": _routes(contract),
                },
            )
        return
    last = max(
        (
            w.unit_date
            for w in work.warnings.values()
            if w.contract_id == contract.contract_id and w.reversed is None
        ),
        default=None,
    )
    if last is None:
        return
    counted = work.active_warnings(
        contract.contract_id, last - dt.timedelta(days=policy.window_days - 1), last
    )
    if len(counted) < policy.warnings_to_terminate:
        return
    if policy.termination_waits_for_disputes and not _disputes_settled(
        work, counted, policy.dispute_working_days, today
    ):
        return
    payload = {
        "contract_id": contract.contract_id,
        "carrier_id": contract.carrier_id,
        "service_date": last.isoformat(),
        "warning_ids": [w.warning_id for w in counted],
        "routes": _routes(contract),
    }
    emit(CONTRACT_TERMINATED, subject, payload)
    emit(ROUTES_FLAGGED, subject, {"contract_id": contract.contract_id, "routes": _routes(contract)})


def _routes(contract: Contract) -> list[str]:
    return list(contract.routes) or [f"agency:{contract.agency_id}"]


def _disputes_settled(work: ContractState, warnings: list[Any], working_days: int, today: dt.date) -> bool:
    """Every counted warning is past its dispute deadline, and no dispute on its violations is open."""
    ids = {v for w in warnings for v in w.violation_ids}
    past = all(add_working_days(w.issued_at.date(), working_days) < today for w in warnings)
    return past and not work.open_disputes(ids)


def dispute_deadline(work: ContractState, violation: Violation, working_days: int) -> dt.date:
    """The last day a violation can be disputed: that many working days after its warning (or itself)."""
    issued = [w.issued_at.date() for w in work.warnings.values() if violation.violation_id in w.violation_ids]
    start = min(issued) if issued else violation.service_date
    return add_working_days(start, working_days)
