"""Entry points: `transit contracts|enforce|disputes|carriers|notices|vehicles|exemptions`.

Every command that changes state takes --actor (a person) and the ledger records the OS user beside it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from transit import migrate
from transit.clock import SystemClock
from transit.console import FormatOption, emit, parse_date_option, sessions_for, user_errors
from transit.contracts.config import parse_contract_book
from transit.contracts.disputes import Outcome, open_dispute, rule_dispute
from transit.contracts.granting import ExemptionRequest, Refused, grant_exemption, gtfs_time
from transit.contracts.outbox import deliver_with_standard_senders
from transit.contracts.realtime import read_realtime_exemptions
from transit.contracts.record import carrier_record, contract_status
from transit.contracts.rules import exemption_in_time
from transit.contracts.service import enforce, load_book, read_state, trips_in_area
from transit.contracts.state import EXEMPTION_GRANTED, VEHICLE_REGISTERED, ContractState, contract_to_dict
from transit.contracts.store import find_document
from transit.errors import BadParameter
from transit.gtfs.service import load_feed_in_force
from transit.ledger.chain import Draft
from transit.ledger.commands import signing_key
from transit.ledger.service import make_checkpoint, refuse
from transit.ledger.store import append_events
from transit.render import OutputFormat, render_json, render_records
from transit.settings import Settings

ActorOption = Annotated[
    str, typer.Option("--actor", help="The person doing this (recorded in the ledger with the OS user)")
]
contracts_app = typer.Typer(
    help="Carriers' contracts: declare them from a TOML file, list them.", no_args_is_help=True
)
disputes_app = typer.Typer(
    help="Disputes of violations: a carrier opens, the department rules.", no_args_is_help=True
)
carriers_app = typer.Typer(help="Carriers and their records.", no_args_is_help=True)
notices_app = typer.Typer(help="Notices to carriers: the outbox.", no_args_is_help=True)
vehicles_app = typer.Typer(help="Vehicles registered to carriers (optional).", no_args_is_help=True)
exemptions_app = typer.Typer(
    help="Trips the department exempts in advance (road works, events).", no_args_is_help=True
)


def _sessions() -> tuple[Settings, sessionmaker[Session]]:
    settings = Settings()
    migrate.require_head(settings.database_url)
    return settings, sessions_for(settings)


def _state() -> ContractState:
    """Where every contract stands now, read from the ledger (for the commands that only look)."""
    _, sessions = _sessions()
    with sessions() as session:
        return read_state(session)


def _actor(actor: str) -> str:
    if not actor.strip():
        raise BadParameter("--actor: name the person doing this")
    return actor.strip()


# --- contracts ---------------------------------------------------------------------------------------------


@contracts_app.command("load")
@user_errors
def contracts_load(file: Annotated[Path, typer.Argument(help="contracts.toml")], actor: ActorOption) -> None:
    """Declare the carriers and contracts of a file: new ones registered, changed ones amended (events)."""
    book = parse_contract_book(file.read_text(encoding="utf-8-sig"), str(file))
    _, sessions = _sessions()
    with sessions.begin() as session:
        result = load_book(session, book, _actor(actor), SystemClock().now())
    emit(
        f"{file}: {len(result.registered)} registered, {len(result.amended)} amended, "
        f"{len(result.unchanged)} unchanged"
        + (f"; kept, though not in the file: {', '.join(result.kept)}" if result.kept else "")
        + "\n"
    )


CONTRACT_COLUMNS = ("contract_id", "carrier_id", "status", "start", "end", "routes", "agency_id", "warn_on")


@contracts_app.command("list")
@user_errors
def contracts_list(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Every declared contract and its state."""
    state = _state()
    today = state.local_date(SystemClock().now())
    records = [
        {
            "contract_id": c.contract_id,
            "carrier_id": c.carrier_id,
            "status": contract_status(state, c.contract_id, today),
            "start": c.start.isoformat(),
            "end": c.end.isoformat(),
            "routes": " ".join(c.routes),
            "agency_id": c.agency_id,
            "warn_on": c.policy.warn_on.value,
        }
        for c in sorted(state.contracts.values(), key=lambda c: c.contract_id)
    ]
    emit(render_records(records, CONTRACT_COLUMNS, fmt))


@contracts_app.command("show")
@user_errors
def contracts_show(contract_id: str, fmt: FormatOption = OutputFormat.JSON) -> None:
    """One contract: its terms, policy and state."""
    state = _state()
    contract = state.contracts.get(contract_id)
    if contract is None:
        raise BadParameter(f"contract {contract_id!r} is not declared (see `transit contracts list`)")
    record = contract_to_dict(contract) | {
        "status": contract_status(state, contract_id, state.local_date(SystemClock().now()))
    }
    emit(
        render_json(record) + "\n"
        if fmt is OutputFormat.JSON
        else render_records([_flat(record)], list(record), fmt)
    )


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (render_json(v) if isinstance(v, dict | list) else v) for k, v in record.items()}


@contracts_app.command("delete")
@user_errors
def contracts_delete(contract_id: str, actor: ActorOption) -> None:
    """Refused, always: a contract is never deleted. The attempt is recorded against the actor."""
    _refused(_actor(actor), f"delete contract {contract_id}", f"contract:{contract_id}")


def _refused(
    actor: str, attempted: str, subject: str, why: str = "nothing in the ledger is deleted or corrected"
) -> NoReturn:
    _, sessions = _sessions()
    with sessions.begin() as session:
        event = refuse(session, actor, attempted, subject, SystemClock().now(), why=why)
    typer.echo(
        f"refused: {why}; this attempt is recorded as event {event.seq} (protocol against {actor})", err=True
    )
    raise typer.Exit(2)


# --- enforce -----------------------------------------------------------------------------------------------


def enforce_command(
    date: Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", help="The service date to enforce")],
    actor: ActorOption,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="Send the notices at once")] = True,
) -> None:
    """Turn a day's final verdicts into violations, warnings and termination (exactly once), sign the
    ledger's head, and send the notices."""
    settings, sessions = _sessions()
    service_date = parse_date_option(date)
    key = signing_key(settings)
    now = SystemClock().now()
    with sessions.begin() as session:
        result = enforce(session, service_date, now, _actor(actor))
        head = make_checkpoint(session, key, now)
    counts = ", ".join(
        f"{result.count(kind)} {label}"
        for kind, label in (
            ("violation_recorded", "violations"),
            ("violation_voided", "voided"),
            ("warning_issued", "warnings"),
            ("warning_reversed", "warnings reversed"),
            ("contract_terminated", "terminations"),
            ("termination_reversed", "terminations reversed"),
            ("notice_queued", "notices queued"),
        )
    )
    emit(f"{service_date}: {counts}; ledger head signed at {head.tree_size} events\n")
    for event in result.events:
        if event.kind in (
            "warning_issued",
            "contract_terminated",
            "warning_reversed",
            "termination_reversed",
        ):
            emit(f"  {event.kind} {event.subject} (event {event.seq})\n")
    if deliver:
        _deliver(settings, sessions)


def _deliver(settings: Settings, sessions: sessionmaker[Session]) -> None:
    attempts = deliver_with_standard_senders(sessions, settings, SystemClock().now())
    failed = [e for e in attempts if not e.data()["ok"]]
    emit(f"deliveries: {len(attempts) - len(failed)} delivered, {len(failed)} failed (retried later)\n")
    for event in failed:
        data = event.data()
        emit(f"  {data['notice_id']} via {data['channel']}: {data['error']}\n")


# --- notices -----------------------------------------------------------------------------------------------


@notices_app.command("deliver")
@user_errors
def notices_deliver() -> None:
    """Try every due delivery once (new notices, and failed ones past their back-off)."""
    settings, sessions = _sessions()
    _deliver(settings, sessions)


NOTICE_COLUMNS = ("notice_id", "kind", "carrier_id", "queued_at", "channels", "delivered", "seq")


@notices_app.command("list")
@user_errors
def notices_list(
    carrier: Annotated[str | None, typer.Option("--carrier", help="Only this carrier's")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The notices and where each was delivered."""
    state = _state()
    records = [
        {
            "notice_id": n.notice_id,
            "kind": n.kind,
            "carrier_id": n.carrier_id,
            "queued_at": n.queued_at.isoformat(),
            "channels": " ".join(n.channels),
            "delivered": " ".join(c for c, ok in n.delivered.items() if ok),
            "seq": n.seq,
        }
        for n in sorted(state.notices.values(), key=lambda n: n.seq)
        if carrier is None or n.carrier_id == carrier
    ]
    emit(render_records(records, NOTICE_COLUMNS, fmt))


@notices_app.command("show")
@user_errors
def notices_show(notice_id: str) -> None:
    """The document of a notice (HTML), exactly as sent."""
    _, sessions = _sessions()
    with sessions() as session:
        document = find_document(session, notice_id)
    if document is None:
        raise BadParameter(f"notice {notice_id!r} does not exist (see `transit notices list`)")
    emit(document.html)


# --- disputes ----------------------------------------------------------------------------------------------


@disputes_app.command("open")
@user_errors
def disputes_open(
    violation_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the violation is wrong, with the evidence")],
    actor: ActorOption,
) -> None:
    """Dispute a violation (a carrier, within its contract's window)."""
    _, sessions = _sessions()
    with sessions.begin() as session:
        outcome = open_dispute(session, violation_id, reason, _actor(actor), SystemClock().now())
    _report(outcome)


@disputes_app.command("rule")
@user_errors
def disputes_rule(
    dispute_id: str,
    actor: ActorOption,
    upheld: Annotated[bool, typer.Option("--upheld/--rejected", help="The department's ruling")],
    reason: Annotated[str, typer.Option("--reason", help="Why")] = "",
) -> None:
    """Rule on a dispute (the department). Upheld: the violation is voided and what it caused undone."""
    settings, sessions = _sessions()
    ruling = "upheld" if upheld else "rejected"
    with sessions.begin() as session:
        outcome = rule_dispute(session, dispute_id, ruling, reason, _actor(actor), SystemClock().now())
    _report(outcome)
    if outcome.refused is None and upheld:
        _deliver(settings, sessions)


def _report(outcome: Outcome) -> None:
    if outcome.refused is not None:
        typer.echo(
            f"refused: {outcome.refused}; recorded as event {outcome.events[0].seq} (protocol)", err=True
        )
        raise typer.Exit(2)
    for event in outcome.events:
        emit(f"{event.kind} {event.subject} (event {event.seq})\n")


DISPUTE_COLUMNS = ("dispute_id", "carrier_id", "opened_at", "opened_by", "ruling", "ruled_by", "reason")


@disputes_app.command("list")
@user_errors
def disputes_list(
    carrier: Annotated[str | None, typer.Option("--carrier", help="Only this carrier's")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Every dispute and its ruling."""
    state = _state()
    records = []
    for d in sorted(state.disputes.values(), key=lambda d: d.seq):
        carrier_id = state.contracts[d.contract_id].carrier_id
        if carrier is None or carrier == carrier_id:
            records.append(
                {
                    "dispute_id": d.dispute_id,
                    "carrier_id": carrier_id,
                    "opened_at": d.opened_at.isoformat(),
                    "opened_by": d.opened_by,
                    "ruling": d.ruling or "open",
                    "ruled_by": d.ruled_by,
                    "reason": d.reason,
                }
            )
    emit(render_records(records, DISPUTE_COLUMNS, fmt))


# --- carriers, vehicles, exemptions ------------------------------------------------------------------------


@carriers_app.command("show")
@user_errors
def carriers_show(carrier_id: str, fmt: FormatOption = OutputFormat.JSON) -> None:
    """A carrier's record: contracts and their state, violations, warnings, disputes, termination, notices."""
    state = _state()
    record = carrier_record(state, carrier_id, state.local_date(SystemClock().now()))
    if record is None:
        raise BadParameter(f"carrier {carrier_id!r} is not declared (see `transit contracts list`)")
    if fmt is OutputFormat.JSON:
        emit(render_json(record) + "\n")
        return
    emit(render_records([_flat(record)], list(record), fmt))


@vehicles_app.command("load")
@user_errors
def vehicles_load(
    file: Annotated[Path, typer.Argument(help="CSV with vehicle_id, carrier_id")], actor: ActorOption
) -> None:
    """Register vehicles to carriers (optional: unregistered ones are attributed by the trips they run)."""
    rows = list(csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig"))))
    missing = {"vehicle_id", "carrier_id"} - set(rows[0] if rows else {})
    if missing:
        raise BadParameter(f"{file}: column {sorted(missing)[0]!r} is missing")
    _, sessions = _sessions()
    with sessions.begin() as session:
        state = read_state(session)
        drafts = []
        for number, row in enumerate(rows, start=2):
            vehicle, carrier = (row.get("vehicle_id") or "").strip(), (row.get("carrier_id") or "").strip()
            if not vehicle or carrier not in state.carriers:
                field = "vehicle_id" if not vehicle else "carrier_id"
                raise BadParameter(
                    f"{file}: row {number}, {field}: {row.get(field)!r} is empty or not a declared carrier"
                )
            if state.vehicles.get(vehicle) != carrier:
                payload = {"vehicle_id": vehicle, "carrier_id": carrier}
                drafts.append(Draft(_actor(actor), VEHICLE_REGISTERED, f"vehicle:{vehicle}", payload))
                state.vehicles[vehicle] = carrier
        append_events(session, drafts, SystemClock().now())
    emit(f"{file}: {len(drafts)} vehicle(s) registered or moved, {len(rows) - len(drafts)} unchanged\n")


def _area(text: str) -> list[float]:
    """MIN_LAT,MIN_LON,MAX_LAT,MAX_LON as four numbers, south-west corner first."""
    try:
        box = [float(part) for part in text.split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not (-90 <= box[0] < box[2] <= 90 and -180 <= box[1] < box[3] <= 180):
        raise BadParameter(
            f"--area: {text!r} is not MIN_LAT,MIN_LON,MAX_LAT,MAX_LON (south-west corner first)"
        )
    return box


_TRIP = re.compile(r"^(?P<trip>[^@]+)(@(?P<start>\d{1,2}:\d{2}:\d{2}))?$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


@exemptions_app.command("add")
@user_errors
def exemptions_add(
    date: Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", help="First service date")],
    reason: Annotated[str, typer.Option("--reason", help="Why (road works, a city event, …)")],
    actor: ActorOption,
    until: Annotated[
        str | None, typer.Option("--until", metavar="YYYY-MM-DD", help="Last service date")
    ] = None,
    trip: Annotated[
        list[str] | None, typer.Option("--trip", help="TRIP_ID or TRIP_ID@HH:MM:SS (repeatable)")
    ] = None,
    route: Annotated[list[str] | None, typer.Option("--route", help="route_id (repeatable)")] = None,
    from_time: Annotated[
        str | None, typer.Option("--from", metavar="HH:MM", help="Trips starting from")
    ] = None,
    to_time: Annotated[str | None, typer.Option("--to", metavar="HH:MM", help="... and before")] = None,
    area: Annotated[
        str | None,
        typer.Option(
            "--area", metavar="MIN_LAT,MIN_LON,MAX_LAT,MAX_LON", help="Trips calling at a stop inside"
        ),
    ] = None,
) -> None:
    """Exempt trips by trip, route, time range or area: in advance, or for yesterday at the latest (an
    exemption after that is refused, and recorded against the actor)."""
    first = parse_date_option(date)
    last = parse_date_option(until, "--until") if until else first
    trips: list[tuple[str, str | None]] = []
    for item in trip or []:
        found = _TRIP.match(item.strip())
        if found is None:
            raise BadParameter(f"--trip: {item!r} is not TRIP_ID or TRIP_ID@HH:MM:SS")
        trips.append((found["trip"], found["start"].zfill(8) if found["start"] else None))
    for name, value in (("--from", from_time), ("--to", to_time)):
        if value is not None and not _TIME.match(value):
            raise BadParameter(f"{name}: {value!r} is not HH:MM")
    request = ExemptionRequest(
        first, last, reason, trips, list(route or []), gtfs_time(from_time), gtfs_time(to_time),
        _area(area) if area else None,
    )  # fmt: skip
    _, sessions = _sessions()
    now = SystemClock().now()

    def area_lookup(on: dt.date, box: Sequence[float]) -> tuple[list[str], list[str]]:
        _, loaded = load_feed_in_force(sessions, on)
        return trips_in_area(loaded.feed.stops, loaded.feed.stop_times, box)

    try:
        with sessions.begin() as session:
            today = read_state(session).local_date(now)
            outcome = grant_exemption(session, request, today, _actor(actor), now, area_lookup)
    except BadParameter as exc:  # the API's field names, as the options spell them
        raise BadParameter(f"--{exc}") from None
    if isinstance(outcome, Refused):
        typer.echo(
            f"refused: {outcome.why}; this attempt is recorded as event {outcome.event.seq}"
            f" (protocol against {outcome.event.actor})",
            err=True,
        )
        raise typer.Exit(2)
    emit(f"exemption {outcome.exemption_id} granted (event {outcome.event.seq})\n")


@exemptions_app.command("import")
@user_errors
def exemptions_import(
    file: Annotated[Path, typer.Argument(help="GTFS-realtime FeedMessage (.pb): TripUpdates and Alerts")],
    actor: ActorOption,
) -> None:
    """Exempt the CANCELED trips and the NO_SERVICE or DETOUR alerts of a GTFS-realtime feed (in advance, or
    for yesterday at the latest: older ones are skipped, and said)."""
    _, sessions = _sessions()
    now = SystemClock().now()
    data = file.read_bytes()
    with sessions.begin() as session:
        state = read_state(session)
        zone, today = state.department.timezone, state.local_date(now)
        try:
            imported = read_realtime_exemptions(data, str(file), zone, today)
        except ValueError as exc:
            raise BadParameter(str(exc)) from None
        drafts, skipped = [], list(imported.skipped)
        for number, payload in enumerate(imported.exemptions, start=1):
            if not exemption_in_time(dt.date.fromisoformat(payload["first_date"]), today):
                skipped.append(f"{payload['reason']}: from {payload['first_date']}, past the cut-off")
                continue
            exemption_id = f"{file.name}@{now:%Y%m%dT%H%M%S}#{number}"
            draft = Draft(
                _actor(actor),
                EXEMPTION_GRANTED,
                f"exemption:{exemption_id}",
                payload | {"exemption_id": exemption_id},
            )
            drafts.append(draft)
        events = append_events(session, drafts, now)
    emit(f"{file}: {len(events)} exemption(s) granted\n")
    for why in skipped:
        emit(f"  skipped: {why}\n")
