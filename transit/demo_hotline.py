"""The demo's 109 hotline step: a few citizens' requests filed through the running server's Open311 endpoint
(form-encoded, as an intake system sends them), and where each went: the department, the deadline, the link
to a duplicate nearby, and for a bus that did not come, what the trip's telemetry says."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from transit.access.store import IssuedKey
from transit.matching.store import VerdictRow
from transit.tickets.store import notes_of

CENTRE = (54.8700, 69.1500)


def show_hotline(
    base: str, intake: IssuedKey, sessions: sessionmaker[Session], timezone: str, emit: Callable[[str], None]
) -> None:
    """File the requests and print where they were routed."""
    emit(
        f"\n13. The 109 hotline over Open311: {base}/open311/v2/services.json (intake key: {intake.secret})\n"
    )
    requests = [
        ("a bus that did not come", _missed_bus(sessions, timezone)),
        ("flooding in a yard", {"service_code": "flooding", "lat": "54.8712", "long": "69.1431",
                                "description": "Meltwater in the yard", "attribute[depth]": "20"}),
        ("the same flood, 40 m away", {"service_code": "flooding", "lat": "54.8715", "long": "69.1435",
                                       "description": "Yard flooded", "email": "resident@example.kz"}),
        ("no heating", {"service_code": "heating", "address_string": "ul. Abaya 5, Petropavl",
                        "attribute[flat]": "12", "phone": "+77015550123"}),
        ("a question", {"service_code": "consultation", "address_string": "by phone",
                        "attribute[topic]": "social"}),
    ]  # fmt: skip
    filed: list[tuple[str, str]] = []
    for label, fields in requests:
        if fields is None:
            continue
        status, answer = _post(base, {"api_key": intake.secret, **fields})
        if status != 201:
            emit(f"   {label}: {status} {answer}\n")
            continue
        filed.append((label, answer[0]["service_request_id"]))
    ids = ",".join(i for _, i in filed)
    query = urllib.parse.urlencode({"service_request_id": ids, "extensions": "true"})
    with urllib.request.urlopen(f"{base}/open311/v2/requests.json?{query}", timeout=30) as response:
        found = {r["service_request_id"]: r for r in json.loads(response.read())}
    with sessions() as session:
        notes = notes_of(session, [int(i) for _, i in filed], public_only=False)
    zone = ZoneInfo(timezone)
    for label, request_id in filed:
        r = found[request_id]
        extra = r["extended_attributes"]
        due = r["expected_datetime"]
        due_text = (
            f"due {dt.datetime.fromisoformat(due).astimezone(zone):%Y-%m-%d %H:%M}"
            if due
            else "closed at once"
        )
        link = f"; duplicate of request {extra['duplicate_of']}" if extra["duplicate_of"] else ""
        evidence = [n.text for n in notes[int(request_id)] if n.kind == "evidence"]
        told = f"; {evidence[0].split(';')[0]}" if evidence else ""  # the outcome and its first trip
        emit(f"   request {request_id} ({label}): {r['service_name']} -> {r['agency_responsible']}, "
             f"{r['status']} ({extra['workflow_state']}), {due_text}{link}{told}\n")  # fmt: skip
    emit(f"   Read them back: curl '{base}/open311/v2/requests.xml?service_request_id={ids}'\n")


def _missed_bus(sessions: sessionmaker[Session], timezone: str) -> dict[str, str] | None:
    """A complaint about a trip the telemetry found missed today: its route, a few minutes into it."""
    with sessions() as session:
        trip = session.scalars(
            select(VerdictRow).where(VerdictRow.verdict == "missed").order_by(VerdictRow.id)
        ).first()
        if trip is None or trip.route_id is None:
            return None
        when = (trip.start_at + dt.timedelta(minutes=5)).astimezone(ZoneInfo(timezone))
    return {"service_code": "bus_no_show", "lat": str(CENTRE[0]), "long": str(CENTRE[1]),
            "attribute[route]": trip.route_id, "attribute[time]": when.isoformat(timespec="seconds"),
            "description": f"The route {trip.route_id} bus did not come"}  # fmt: skip


def _post(base: str, fields: dict[str, str]) -> tuple[int, Any]:
    body = urllib.parse.urlencode(fields).encode("utf-8")
    request = urllib.request.Request(
        f"{base}/open311/v2/requests.json", data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
