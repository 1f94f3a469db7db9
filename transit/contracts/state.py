"""Where every contract stands, folded from its ledger events (pure). Nothing here is stored apart from the
ledger: the events are the record, this is a view of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from transit.contracts.model import Carrier, Channels, Contract, Department, Policy, WarnOn

# Event kinds of the contracts domain (the ledger's `kind`).
CARRIER_REGISTERED, CARRIER_AMENDED = "carrier_registered", "carrier_amended"
CONTRACT_REGISTERED, CONTRACT_AMENDED = "contract_registered", "contract_amended"
VIOLATION_RECORDED, VIOLATION_VOIDED = "violation_recorded", "violation_voided"
WARNING_ISSUED, WARNING_REVERSED = "warning_issued", "warning_reversed"
CONTRACT_TERMINATED, TERMINATION_REVERSED = "contract_terminated", "termination_reversed"
ROUTES_FLAGGED = "routes_flagged_for_tender"
DISPUTE_OPENED, DISPUTE_RULED = "dispute_opened", "dispute_ruled"
NOTICE_QUEUED, NOTICE_DELIVERY = "notice_queued", "notice_delivery"
EXEMPTION_GRANTED = "exemption_granted"
COMPLAINT_CONFIRMED = "complaint_confirmed"  # a 109 complaint the trip's telemetry verdict confirms
VEHICLE_REGISTERED = "vehicle_registered"
DEPARTMENT_CONFIGURED = "department_configured"
KINDS = (
    DEPARTMENT_CONFIGURED,
    CARRIER_REGISTERED,
    CARRIER_AMENDED,
    CONTRACT_REGISTERED,
    CONTRACT_AMENDED,
    VIOLATION_RECORDED,
    VIOLATION_VOIDED,
    WARNING_ISSUED,
    WARNING_REVERSED,
    CONTRACT_TERMINATED,
    TERMINATION_REVERSED,
    ROUTES_FLAGGED,
    DISPUTE_OPENED,
    DISPUTE_RULED,
    NOTICE_QUEUED,
    NOTICE_DELIVERY,
    EXEMPTION_GRANTED,
    VEHICLE_REGISTERED,
    COMPLAINT_CONFIRMED,
)


@dataclass(slots=True)
class Violation:
    """A verdict that broke a contract, and whether (and why) it was voided since."""

    violation_id: str
    contract_id: str
    service_date: dt.date
    trip: dict[str, Any]  # the verdict's fields: trip_id, start_time, route_id, verdict, reason, evidence
    kind: str  # missed, fleet_dark, partial
    seq: int
    voided: str | None = None  # why: dispute_upheld, verdict_revised
    voided_seq: int | None = None


@dataclass(slots=True)
class IssuedWarning:
    """A warning issued under a contract, and whether it was reversed since."""

    warning_id: str
    contract_id: str
    unit_date: dt.date  # the service day (or a period's last day) it is about
    violation_ids: list[str]
    number: int  # its place among the contract's active warnings in the window when issued
    seq: int
    issued_at: dt.datetime
    reversed: str | None = None
    reversed_seq: int | None = None


@dataclass(slots=True)
class Termination:
    contract_id: str
    service_date: dt.date
    warning_ids: list[str]
    seq: int
    at: dt.datetime
    reversed: str | None = None


@dataclass(slots=True)
class Dispute:
    dispute_id: str
    violation_id: str
    contract_id: str
    reason: str
    opened_by: str
    seq: int
    opened_at: dt.datetime
    ruling: str | None = None  # upheld, rejected
    ruled_by: str | None = None
    ruling_reason: str | None = None
    ruled_seq: int | None = None


@dataclass(slots=True)
class QueuedNotice:
    """A notice as the outbox sees it: where it goes, and each channel's attempts and delivery."""

    notice_id: str
    kind: str  # warning, termination, warning_reversed, termination_reversed, not_started
    carrier_id: str
    contract_id: str | None
    document_sha256: str
    channels: list[str]
    seq: int
    queued_at: dt.datetime
    attempts: dict[str, int] = field(default_factory=dict)
    delivered: dict[str, bool] = field(default_factory=dict)
    last_attempt_at: dict[str, dt.datetime] = field(default_factory=dict)
    # Where each channel goes when the notice names it (a ticket's parties); else the carrier's or the
    # department's channels. "reporter:<ticket id>" is looked up at delivery: personal data stays out of the
    # ledger.
    targets: dict[str, str] = field(default_factory=dict)
    ticket_id: int | None = None  # a 109 ticket's notice: its deliveries are events of the ticket


@dataclass(slots=True)
class Exemption:
    exemption_id: str
    reason: str
    service_dates: tuple[dt.date, dt.date]  # first and last, inclusive
    trips: list[tuple[str, str | None]]  # (trip_id, start_time or None)
    routes: list[str]
    from_time: str | None  # HH:MM:SS local, with to_time: trips starting in [from, to)
    to_time: str | None
    area: list[float] | None  # [min_lat, min_lon, max_lat, max_lon]: trips with a stop inside
    stop_ids: list[str] = field(default_factory=list)  # resolved from the area when granted


@dataclass(slots=True)
class ContractState:
    """Every contract's standing, as of the events folded so far."""

    department: Department = field(default_factory=Department)
    carriers: dict[str, Carrier] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    violations: dict[str, Violation] = field(default_factory=dict)
    warnings: dict[str, IssuedWarning] = field(default_factory=dict)
    terminations: dict[str, Termination] = field(default_factory=dict)  # by contract (the latest)
    disputes: dict[str, Dispute] = field(default_factory=dict)
    notices: dict[str, QueuedNotice] = field(default_factory=dict)
    exemptions: dict[str, Exemption] = field(default_factory=dict)
    vehicles: dict[str, str] = field(default_factory=dict)  # vehicle_id -> carrier_id
    flagged_routes: dict[str, list[str]] = field(default_factory=dict)  # contract -> routes to re-tender
    # carrier -> month (YYYY-MM) -> confirmed complaints: a measure of the record, never a violation
    complaints: dict[str, dict[str, int]] = field(default_factory=dict)

    def apply(self, kind: str, payload: dict[str, Any], seq: int = 0, at: dt.datetime | None = None) -> None:
        """Fold one event in (the events of other domains are ignored)."""
        when = at or dt.datetime.min.replace(tzinfo=dt.UTC)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, payload, seq, when)

    def active_warnings(self, contract_id: str, first: dt.date, last: dt.date) -> list[IssuedWarning]:
        """The contract's warnings not reversed, about days first..last, oldest first."""
        found = [
            w
            for w in self.warnings.values()
            if w.contract_id == contract_id and w.reversed is None and first <= w.unit_date <= last
        ]
        return sorted(found, key=lambda w: (w.unit_date, w.seq))

    def local_date(self, now: dt.datetime) -> dt.date:
        """The department's date at `now` (dispute windows and cut-offs count in it)."""
        return now.astimezone(ZoneInfo(self.department.timezone)).date()

    def is_terminated(self, contract_id: str) -> bool:
        termination = self.terminations.get(contract_id)
        return termination is not None and termination.reversed is None

    def open_disputes(self, violation_ids: set[str]) -> list[Dispute]:
        return [d for d in self.disputes.values() if d.ruling is None and d.violation_id in violation_ids]


def contract_to_dict(contract: Contract) -> dict[str, Any]:
    data = dataclasses.asdict(contract)
    data["start"], data["end"] = contract.start.isoformat(), contract.end.isoformat()
    data["routes"] = list(contract.routes)
    data["policy"]["warn_on"] = contract.policy.warn_on.value
    return data


def contract_from_dict(data: dict[str, Any]) -> Contract:
    policy = dict(data["policy"])
    policy["warn_on"] = WarnOn(policy["warn_on"])
    return Contract(
        contract_id=data["contract_id"],
        carrier_id=data["carrier_id"],
        start=dt.date.fromisoformat(data["start"]),
        end=dt.date.fromisoformat(data["end"]),
        routes=tuple(data["routes"]),
        agency_id=data["agency_id"],
        policy=Policy(**policy),
    )


def carrier_to_dict(carrier: Carrier) -> dict[str, Any]:
    data = dataclasses.asdict(carrier)
    data["agency_ids"] = list(carrier.agency_ids)
    return data


def carrier_from_dict(data: dict[str, Any]) -> Carrier:
    return Carrier(
        carrier_id=data["carrier_id"],
        name=data["name"],
        language=data["language"],
        agency_ids=tuple(data["agency_ids"]),
        channels=Channels(**data["channels"]),
    )


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _carrier(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    carrier = carrier_from_dict(p["carrier"])
    state.carriers[carrier.carrier_id] = carrier


def _contract(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    contract = contract_from_dict(p["contract"])
    state.contracts[contract.contract_id] = contract


def _violation(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.violations[p["violation_id"]] = Violation(
        p["violation_id"], p["contract_id"], _date(p["service_date"]), p["trip"], p["kind"], seq
    )


def _voided(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    violation = state.violations[p["violation_id"]]
    violation.voided, violation.voided_seq = p["why"], seq


def _warning(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.warnings[p["warning_id"]] = IssuedWarning(
        p["warning_id"],
        p["contract_id"],
        _date(p["unit_date"]),
        list(p["violation_ids"]),
        p["number"],
        seq,
        at,
    )


def _warning_reversed(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    warning = state.warnings[p["warning_id"]]
    warning.reversed, warning.reversed_seq = p["why"], seq


def _terminated(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.terminations[p["contract_id"]] = Termination(
        p["contract_id"], _date(p["service_date"]), list(p["warning_ids"]), seq, at
    )


def _termination_reversed(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.terminations[p["contract_id"]].reversed = p["why"]
    state.flagged_routes.pop(p["contract_id"], None)


def _flagged(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.flagged_routes[p["contract_id"]] = list(p["routes"])


def _dispute(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.disputes[p["dispute_id"]] = Dispute(
        p["dispute_id"], p["violation_id"], p["contract_id"], p["reason"], p["opened_by"], seq, at
    )


def _ruled(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    dispute = state.disputes[p["dispute_id"]]
    dispute.ruling, dispute.ruled_by, dispute.ruling_reason, dispute.ruled_seq = (
        p["ruling"],
        p["ruled_by"],
        p["reason"],
        seq,
    )


def _notice(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.notices[p["notice_id"]] = QueuedNotice(
        p["notice_id"],
        p["kind"],
        p["carrier_id"],
        p.get("contract_id"),
        p["document_sha256"],
        list(p["channels"]),
        seq,
        at,
        targets=dict(p.get("targets") or {}),
        ticket_id=p.get("ticket_id"),
    )


def _delivery(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    notice = state.notices[p["notice_id"]]
    channel = p["channel"]
    notice.attempts[channel] = notice.attempts.get(channel, 0) + 1
    notice.delivered[channel] = notice.delivered.get(channel, False) or bool(p["ok"])
    notice.last_attempt_at[channel] = at


def _exemption(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.exemptions[p["exemption_id"]] = Exemption(
        exemption_id=p["exemption_id"],
        reason=p["reason"],
        service_dates=(_date(p["first_date"]), _date(p["last_date"])),
        trips=[(t[0], t[1]) for t in p.get("trips", [])],
        routes=list(p.get("routes", [])),
        from_time=p.get("from_time"),
        to_time=p.get("to_time"),
        area=p.get("area"),
        stop_ids=list(p.get("stop_ids", [])),
    )


def _vehicle(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.vehicles[p["vehicle_id"]] = p["carrier_id"]


def _department(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    state.department = Department(**p["department"])


def _complaint(state: ContractState, p: dict[str, Any], seq: int, at: dt.datetime) -> None:
    months = state.complaints.setdefault(str(p["carrier_id"]), {})
    month = str(p["service_date"])[:7]
    months[month] = months.get(month, 0) + 1


_HANDLERS = {
    DEPARTMENT_CONFIGURED: _department,
    CARRIER_REGISTERED: _carrier,
    CARRIER_AMENDED: _carrier,
    CONTRACT_REGISTERED: _contract,
    CONTRACT_AMENDED: _contract,
    VIOLATION_RECORDED: _violation,
    VIOLATION_VOIDED: _voided,
    WARNING_ISSUED: _warning,
    WARNING_REVERSED: _warning_reversed,
    CONTRACT_TERMINATED: _terminated,
    TERMINATION_REVERSED: _termination_reversed,
    ROUTES_FLAGGED: _flagged,
    DISPUTE_OPENED: _dispute,
    DISPUTE_RULED: _ruled,
    NOTICE_QUEUED: _notice,
    NOTICE_DELIVERY: _delivery,
    EXEMPTION_GRANTED: _exemption,
    VEHICLE_REGISTERED: _vehicle,
    COMPLAINT_CONFIRMED: _complaint,
}
