"""A carrier's record (pure): its contracts and their state, violations, warnings, disputes, termination and
notices, each with dates and ledger sequence numbers. What `transit carriers show` prints and what a carrier
may see of the service (its own record only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from transit.contracts.state import ContractState, contract_to_dict


def contract_status(state: ContractState, contract_id: str, today: dt.date) -> str:
    """active, terminated, ended or not_started."""
    contract = state.contracts[contract_id]
    if state.is_terminated(contract_id):
        return "terminated"
    if today < contract.start:
        return "not_started"
    return "ended" if today > contract.end else "active"


def carrier_record(state: ContractState, carrier_id: str, today: dt.date) -> dict[str, Any] | None:
    """The record of one carrier, or None if no such carrier is declared."""
    carrier = state.carriers.get(carrier_id)
    if carrier is None:
        return None
    contracts = sorted(
        (c for c in state.contracts.values() if c.carrier_id == carrier_id), key=lambda c: c.contract_id
    )
    ids = {c.contract_id for c in contracts}
    return {
        "carrier_id": carrier.carrier_id,
        "name": carrier.name,
        "language": carrier.language,
        "contracts": [
            contract_to_dict(c)
            | {
                "status": contract_status(state, c.contract_id, today),
                "routes_flagged_for_tender": state.flagged_routes.get(c.contract_id, []),
            }
            for c in contracts
        ],
        "violations": [
            {
                "violation_id": v.violation_id,
                "contract_id": v.contract_id,
                "service_date": v.service_date.isoformat(),
                "kind": v.kind,
                "trip": v.trip,
                "seq": v.seq,
                "voided": v.voided,
                "voided_seq": v.voided_seq,
            }
            for v in sorted(state.violations.values(), key=lambda v: v.seq)
            if v.contract_id in ids
        ],
        "warnings": [
            {
                "warning_id": w.warning_id,
                "contract_id": w.contract_id,
                "unit_date": w.unit_date.isoformat(),
                "number": w.number,
                "violation_ids": w.violation_ids,
                "issued_at": w.issued_at.isoformat(),
                "seq": w.seq,
                "reversed": w.reversed,
                "reversed_seq": w.reversed_seq,
            }
            for w in sorted(state.warnings.values(), key=lambda w: w.seq)
            if w.contract_id in ids
        ],
        "disputes": [
            {
                "dispute_id": d.dispute_id,
                "violation_id": d.violation_id,
                "reason": d.reason,
                "opened_by": d.opened_by,
                "opened_at": d.opened_at.isoformat(),
                "seq": d.seq,
                "ruling": d.ruling,
                "ruled_by": d.ruled_by,
                "ruling_reason": d.ruling_reason,
                "ruled_seq": d.ruled_seq,
            }
            for d in sorted(state.disputes.values(), key=lambda d: d.seq)
            if d.contract_id in ids
        ],
        "terminations": [
            {
                "contract_id": t.contract_id,
                "service_date": t.service_date.isoformat(),
                "at": t.at.isoformat(),
                "warning_ids": t.warning_ids,
                "seq": t.seq,
                "reversed": t.reversed,
            }
            for t in state.terminations.values()
            if t.contract_id in ids
        ],
        "complaints_confirmed": dict(sorted(state.complaints.get(carrier_id, {}).items())),
        "notices": [
            {
                "notice_id": n.notice_id,
                "kind": n.kind,
                "queued_at": n.queued_at.isoformat(),
                "seq": n.seq,
                "document_sha256": n.document_sha256,
                "channels": n.channels,
                "delivered": n.delivered,
                "attempts": n.attempts,
            }
            for n in sorted(state.notices.values(), key=lambda n: n.seq)
            if n.carrier_id == carrier_id
        ],
    }
