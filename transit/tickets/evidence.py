"""Telemetry evidence for transport complaints (ADAPTER). A complaint of a `transport` service names a route
and a time ("the bus on route 7 did not come at 8:15"); the service finds the route's trip instances running
then (scheduled from 10 minutes before their start to 10 minutes after their end) and their current verdicts,
and records what they say on the ticket (the stop and the direction are not used yet: any trip of the route
on the road at that time counts):

- confirmed: a trip of the route running then was missed or partial: the complaint is attached to that
  trip's verdict (`complaint_confirmed`, subject the trip) and counted in its carrier's record as a
  complaints measure. Only telemetry verdicts make violations: a call alone never costs a carrier anything;
- contradicted: every trip running then was performed;
- unverifiable: some had no data, or the route ran no trip then;
- pending: no verdict yet (the day is not decided): checked again by `transit tickets evidence`.

Each outcome but pending is final: an internal note with the trips, vehicles and verdicts, and a
`complaint_evidence` ledger event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from transit.contracts.state import COMPLAINT_CONFIRMED
from transit.ledger.chain import Draft
from transit.ledger.store import append_events
from transit.matching.realtime_ids import resolve_ids
from transit.matching.store import VerdictRow
from transit.tickets.catalog import Catalog
from transit.tickets.model import parse_instant
from transit.tickets.notify import SYSTEM
from transit.tickets.service import record_note
from transit.tickets.store import NoteRow, TicketRow

COMPLAINT_EVIDENCE = "complaint_evidence"
SLACK = dt.timedelta(minutes=10)
CONFIRMING = {"missed", "partial"}


@dataclass(frozen=True, slots=True)
class Evidence:
    ticket_id: int
    outcome: str  # confirmed, contradicted, unverifiable, pending, not_applicable
    trips: list[dict[str, object]]


def check_evidence(session: Session, catalog: Catalog, row: TicketRow, now: dt.datetime) -> Evidence:
    """Look up the telemetry verdicts behind a transport complaint and record a final outcome; the caller
    commits."""
    service = catalog.service(row.service_code)
    values = row.attribute_values()
    route, when = values.get("route"), values.get("time")
    if service is None or not service.transport or not isinstance(route, str) or not isinstance(when, str):
        return Evidence(row.id, "not_applicable", [])
    moment = parse_instant(when)
    local_day = moment.astimezone(ZoneInfo(catalog.timezone)).date()
    current = _current_verdicts(session, route, local_day)
    running = [v for v in current if v.start_at - SLACK <= moment <= v.end_at + SLACK]
    running.sort(key=lambda v: (v.verdict not in CONFIRMING, abs((v.start_at - moment).total_seconds())))
    trips = [_trip(v) for v in running[:5]]
    if not running:  # the day of the moment may not be decided yet, although the day before is
        own_day = any(v.service_date == local_day for v in current)
        outcome = "pending" if not own_day and _before_decided(moment, now) else "unverifiable"
    elif any(v.verdict in CONFIRMING for v in running):
        outcome = "confirmed"
    elif all(v.verdict == "performed" for v in running):
        outcome = "contradicted"
    else:
        outcome = "unverifiable"
    if outcome == "pending":
        return Evidence(row.id, outcome, trips)
    drafts = [Draft(SYSTEM, COMPLAINT_EVIDENCE, f"ticket:{row.id}", {"ticket_id": row.id, "outcome": outcome,
                                                                      "trips": trips})]  # fmt: skip
    if outcome == "confirmed":
        trip = running[0]
        subject = f"trip:{trip.service_date.isoformat()}/{trip.trip_id}/{trip.start_time}"
        payload = {"ticket_id": row.id, "carrier_id": trip.carrier_id,
                   "service_date": trip.service_date.isoformat(), "trip_id": trip.trip_id,
                   "start_time": trip.start_time, "verdict": trip.verdict}  # fmt: skip
        drafts.append(Draft(SYSTEM, COMPLAINT_CONFIRMED, subject, payload))
    summary = "; ".join(
        f"{t['trip_id']} {t['start_time']} {t['verdict']} (vehicles: {t['vehicle_ids'] or 'none'})"
        for t in trips
    )
    record_note(session, row.id, now, SYSTEM, "evidence", False, None, None,
                f"Telemetry evidence: {outcome}" + (f" — {summary}" if summary else ""))  # fmt: skip
    row.updated_at = now
    append_events(session, drafts, now)
    return Evidence(row.id, outcome, trips)


def check_pending(session: Session, catalog: Catalog, now: dt.datetime) -> list[Evidence]:
    """Check every transport complaint that has no final evidence yet; the caller commits."""
    transport = [s.code for s in catalog.services.values() if s.transport]
    checked = select(NoteRow.ticket_id).where(NoteRow.kind == "evidence")
    rows = session.scalars(
        select(TicketRow).where(TicketRow.service_code.in_(transport), TicketRow.id.not_in(checked))
    ).all()
    return [check_evidence(session, catalog, row, now) for row in rows]


def _current_verdicts(session: Session, route: str, day: dt.date) -> list[VerdictRow]:
    """The latest revision of each trip instance of the route on the local day and the day before (trips
    after midnight belong to the previous service date); the route as people name it is read in the feed's
    ids the way realtime ids are (matching.realtime_ids)."""
    days = VerdictRow.service_date.between(day - dt.timedelta(days=1), day)
    routes = set(session.scalars(select(VerdictRow.route_id).where(days).distinct()).all()) - {None}
    resolved = resolve_ids([route], [r for r in routes if r is not None])  # "7" may be the feed's "7-423"
    route_id = resolved.mapped.get(route, route)
    rows = session.scalars(
        select(VerdictRow).where(VerdictRow.route_id == route_id, days).order_by(VerdictRow.id)
    ).all()
    latest: dict[tuple[dt.date, str, str], VerdictRow] = {}
    for v in rows:
        key = (v.service_date, v.trip_id, v.start_time)
        if key not in latest or v.revision > latest[key].revision:
            latest[key] = v
    return list(latest.values())


def _before_decided(moment: dt.datetime, now: dt.datetime) -> bool:
    """Whether the day may still be decided: verdicts come within two days of the trips."""
    return now - moment < dt.timedelta(days=2)


def _trip(v: VerdictRow) -> dict[str, object]:
    return {"service_date": v.service_date.isoformat(), "trip_id": v.trip_id, "start_time": v.start_time,
            "route_id": v.route_id, "carrier_id": v.carrier_id, "verdict": v.verdict, "reason": v.reason,
            "coverage": v.coverage, "vehicle_ids": v.vehicle_ids}  # fmt: skip
