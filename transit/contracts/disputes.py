"""Disputes: a carrier contests a violation, the department rules; an upheld dispute voids the violation and
undoes what it caused, by new events. The caller owns the session and commits once."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from transit.contracts.rules import Step, dispute_deadline, settle
from transit.contracts.service import read_state, record_steps
from transit.contracts.state import DISPUTE_OPENED, DISPUTE_RULED, VIOLATION_VOIDED
from transit.errors import TransitError
from transit.ledger.chain import Draft, Event
from transit.ledger.service import refuse
from transit.ledger.store import append_events

RULINGS = ("upheld", "rejected")


class DisputeInvalid(TransitError):
    """The dispute cannot be opened or ruled as asked (nothing was changed)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a dispute command appended; `refused`: why it was refused (then `events` holds the protocol)."""

    events: list[Event]
    refused: str | None = None


def open_dispute(session: Session, violation_id: str, reason: str, actor: str, now: dt.datetime) -> Outcome:
    """Open a dispute on a violation, within the contract's dispute window."""
    state = read_state(session)
    violation = state.violations.get(violation_id)
    if violation is None:
        raise DisputeInvalid(f"violation {violation_id!r} does not exist (see `transit carriers show`)")
    if not reason.strip():
        raise DisputeInvalid("--reason: a dispute says why the violation is wrong")
    if violation.voided is not None:
        raise DisputeInvalid(f"violation {violation_id} is already void ({violation.voided})")
    if state.open_disputes({violation_id}):
        raise DisputeInvalid(f"violation {violation_id} already has an open dispute")
    contract = state.contracts[violation.contract_id]
    deadline = dispute_deadline(state, violation, contract.policy.dispute_working_days)
    today = state.local_date(now)
    if today > deadline:
        raise DisputeInvalid(f"the dispute window of {violation_id} closed on {deadline}")
    number = 1 + sum(d.violation_id == violation_id for d in state.disputes.values())
    payload = {
        "dispute_id": f"{violation_id}#{number}",
        "violation_id": violation_id,
        "contract_id": contract.contract_id,
        "carrier_id": contract.carrier_id,
        "reason": reason.strip(),
        "opened_by": actor,
        "deadline": deadline.isoformat(),
    }
    draft = Draft(actor, DISPUTE_OPENED, f"contract:{contract.contract_id}", payload)
    return Outcome(append_events(session, [draft], now))


def rule_dispute(
    session: Session, dispute_id: str, ruling: str, reason: str, actor: str, now: dt.datetime
) -> Outcome:
    """Rule on an open dispute. Upheld: its violation is voided, and a warning (or a termination) that no
    longer stands is reversed, with notices. Ruling a dispute twice is an attempt to change a ruling: it is
    refused and recorded as a protocol event against the actor."""
    if ruling not in RULINGS:
        raise DisputeInvalid(f"ruling must be one of {', '.join(RULINGS)}, got {ruling!r}")
    state = read_state(session)
    dispute = state.disputes.get(dispute_id)
    if dispute is None:
        raise DisputeInvalid(f"dispute {dispute_id!r} does not exist (see `transit disputes list`)")
    subject = f"contract:{dispute.contract_id}"
    if dispute.ruling is not None:
        why = f"dispute {dispute_id} was ruled {dispute.ruling} by {dispute.ruled_by}; a ruling is final"
        event = refuse(session, actor, f"rule dispute {dispute_id} {ruling}", subject, now, why=why)
        return Outcome([event], why)
    contract = state.contracts[dispute.contract_id]
    payload: dict[str, Any] = {
        "dispute_id": dispute_id,
        "violation_id": dispute.violation_id,
        "contract_id": contract.contract_id,
        "ruling": ruling,
        "reason": reason.strip(),
        "ruled_by": actor,
    }
    events = append_events(session, [Draft(actor, DISPUTE_RULED, subject, payload)], now)
    state.apply(DISPUTE_RULED, payload)
    if ruling == "rejected":
        return Outcome(events)
    work = copy.deepcopy(state)
    steps = [
        Step(
            VIOLATION_VOIDED,
            subject,
            {"violation_id": dispute.violation_id, "why": "dispute_upheld", "dispute_id": dispute_id},
        )
    ]
    work.apply(VIOLATION_VOIDED, steps[0].payload, at=now)

    def emit(kind: str, step_subject: str, step_payload: dict[str, Any]) -> None:
        steps.append(Step(kind, step_subject, step_payload))
        work.apply(kind, step_payload, at=now)

    today = state.local_date(now)
    settle(work, contract, today, emit)
    return Outcome(events + record_steps(session, state, steps, now, actor))
