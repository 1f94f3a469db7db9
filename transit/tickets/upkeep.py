"""The tickets' scheduled work (ADAPTER), one pass: fire due escalation steps, check the telemetry evidence of
transport complaints still pending, and erase reporters past the retention period. `transit match` (so the
live service, `transit serve`) runs it after every matcher pass; each part also has its own command."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from transit.tickets.catalog import Catalog
from transit.tickets.escalation import Escalated, escalate
from transit.tickets.evidence import Evidence, check_pending
from transit.tickets.privacy import erase_expired


@dataclass(frozen=True, slots=True)
class Upkeep:
    escalated: list[Escalated]
    evidence: list[Evidence]
    erased: list[int]

    def describe(self) -> str:
        final = [e for e in self.evidence if e.outcome != "pending"]
        return (
            f"tickets: {len(self.escalated)} escalation step(s), {len(final)} complaint(s) checked against "
            f"telemetry, {len(self.erased)} reporter(s) erased"
        )


def ticket_upkeep(session: Session, catalog: Catalog, now: dt.datetime) -> Upkeep:
    """One pass of the tickets' scheduled work; the caller commits."""
    return Upkeep(escalate(session, catalog, now), check_pending(session, catalog, now),
                  erase_expired(session, catalog, now))  # fmt: skip
