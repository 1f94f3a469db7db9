"""The contracts file (TOML) read into a ContractBook (pure: text in, model out). Shape: docs/contracts.md.

Every mistake is reported at once, each naming the file, the table (`[[contract]] #2 (C-7)`) and the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transit.contracts.model import (
    LANGUAGES,
    Carrier,
    Channels,
    Contract,
    ContractBook,
    Department,
    Policy,
    WarnOn,
)
from transit.errors import TransitError


class ContractsInvalid(TransitError):
    """The contracts file cannot be used; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def parse_contract_book(text: str, source: str = "contracts.toml") -> ContractBook:
    """The book a contracts file declares; ContractsInvalid naming each problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContractsInvalid(source, [f"not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    unknown = set(document) - {"department", "carrier", "contract"}
    problems += [f"unknown table [{name}]" for name in sorted(unknown)]
    department = _department(document.get("department", {}), problems)
    carriers = [_carrier(t, i, problems) for i, t in enumerate(_tables(document, "carrier", problems), 1)]
    known = {c.carrier_id for c in carriers if c is not None}
    contracts = [
        _contract(t, i, known, problems) for i, t in enumerate(_tables(document, "contract", problems), 1)
    ]
    _check_references(carriers, contracts, problems)
    if problems:
        raise ContractsInvalid(source, problems)
    return ContractBook(department, tuple(c for c in carriers if c), tuple(c for c in contracts if c))


def _tables(document: dict[str, Any], name: str, problems: list[str]) -> list[dict[str, Any]]:
    value = document.get(name, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        problems.append(f"[[{name}]] must be an array of tables")
        return []
    return value


class _Fields:
    """Typed access to one table's fields, collecting problems under the table's name."""

    def __init__(self, table: dict[str, Any], where: str, known: set[str], problems: list[str]) -> None:
        self.table, self.where, self.problems = table, where, problems
        for name in sorted(set(table) - known):
            problems.append(f"{where}: unknown field {name!r}")

    def bad(self, name: str, why: str) -> None:
        self.problems.append(f"{self.where}: field {name!r} {why}")

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.table.get(name, default)
        if value is None:
            if required:
                self.bad(name, "is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            self.bad(name, f"must be a non-empty string, got {value!r}")
            return None
        return value.strip()

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.bad(name, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(v.strip() for v in value)

    def date(self, name: str) -> dt.date | None:
        value = self.table.get(name)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        self.bad(name, "is missing" if value is None else f"must be a date like 2026-01-01, got {value!r}")
        return None

    def flag(self, name: str, default: bool) -> bool:
        value = self.table.get(name, default)
        if not isinstance(value, bool):
            self.bad(name, f"must be true or false, got {value!r}")
            return default
        return value

    def number(self, name: str, default: float, low: float, high: float, *, whole: bool = False) -> Any:
        value = self.table.get(name, default)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            self.bad(name, f"must be {kind} from {low:g} to {high:g}, got {value!r}")
            return default
        return value


def _department(table: Any, problems: list[str]) -> Department:
    if not isinstance(table, dict):
        problems.append("[department] must be a table")
        return Department()
    names = {f.name for f in dataclasses.fields(Department)}
    f = _Fields(table, "[department]", names, problems)
    default = Department()
    timezone = f.text("timezone", default.timezone) or default.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        f.bad("timezone", f"is not a time zone name like Asia/Almaty, got {timezone!r}")
        timezone = default.timezone
    return Department(
        name=f.text("name", default.name) or default.name,
        timezone=timezone,
        email=f.text("email"),
        webhook=_url(f, "webhook"),
        language=_language(f, default.language),
    )


def _language(f: _Fields, default: str) -> str:
    language = f.text("language", default) or default
    if language not in LANGUAGES:
        f.bad("language", f"must be one of {', '.join(LANGUAGES)}, got {language!r}")
        return default
    return language


def _url(f: _Fields, name: str) -> str | None:
    url = f.text(name)
    if url is not None and not url.startswith(("http://", "https://")):
        f.bad(name, f"must be an http:// or https:// URL, got {url!r}")
        return None
    return url


def _carrier(table: dict[str, Any], number: int, problems: list[str]) -> Carrier | None:
    where = f"[[carrier]] #{number}" + (f" ({table['id']})" if isinstance(table.get("id"), str) else "")
    f = _Fields(table, where, {"id", "name", "language", "agency_ids", "channels"}, problems)
    carrier_id = f.text("id", required=True)
    channels_table = table.get("channels", {})
    if not isinstance(channels_table, dict):
        f.bad("channels", "must be a table")
        channels_table = {}
    c = _Fields(channels_table, f"{where} channels", {"webhook", "email", "mqtt"}, problems)
    channels = Channels(webhook=_url(c, "webhook"), email=c.text("email"), mqtt=c.flag("mqtt", True))
    if carrier_id is None:
        return None
    return Carrier(
        carrier_id=carrier_id,
        name=f.text("name", carrier_id) or carrier_id,
        language=_language(f, "ru"),
        agency_ids=f.texts("agency_ids"),
        channels=channels,
    )


def _contract(table: dict[str, Any], number: int, carriers: set[str], problems: list[str]) -> Contract | None:
    where = f"[[contract]] #{number}" + (f" ({table['id']})" if isinstance(table.get("id"), str) else "")
    known = {"id", "carrier", "routes", "agency_id", "start", "end", "policy"}
    f = _Fields(table, where, known, problems)
    contract_id, carrier_id = f.text("id", required=True), f.text("carrier", required=True)
    start, end = f.date("start"), f.date("end")
    routes, agency_id = f.texts("routes"), f.text("agency_id")
    if bool(routes) == bool(agency_id):
        problems.append(
            f"{where}: give either 'routes' (a list of route_ids) or 'agency_id', not both or neither"
        )
    if start and end and end < start:
        f.bad("end", f"is before its start ({end} < {start})")
    if carrier_id is not None and carrier_id not in carriers:
        f.bad("carrier", f"names {carrier_id!r}, which no [[carrier]] declares")
    policy = _policy(table.get("policy", {}), f"{where} policy", problems)
    if not (contract_id and carrier_id and start and end):
        return None
    return Contract(contract_id, carrier_id, start, end, routes, agency_id, policy)


def _policy(table: Any, where: str, problems: list[str]) -> Policy:
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return Policy()
    f = _Fields(table, where, {item.name for item in dataclasses.fields(Policy)}, problems)
    d = Policy()
    warn_on = f.text("warn_on", d.warn_on.value)
    if warn_on not in {w.value for w in WarnOn}:
        f.bad("warn_on", f"must be one of {', '.join(w.value for w in WarnOn)}, got {warn_on!r}")
        warn_on = d.warn_on.value
    return Policy(
        warn_on=WarnOn(warn_on),
        missed_share_threshold=f.number("missed_share_threshold", d.missed_share_threshold, 0.0, 1.0),
        share_period_days=f.number("share_period_days", d.share_period_days, 1, 366, whole=True),
        lost_distance_km=f.number("lost_distance_km", d.lost_distance_km, 0.0, 1e6),
        count_partial=f.flag("count_partial", d.count_partial),
        dark_fleet_is_violation=f.flag("dark_fleet_is_violation", d.dark_fleet_is_violation),
        warnings_to_terminate=f.number("warnings_to_terminate", d.warnings_to_terminate, 1, 100, whole=True),
        window_days=f.number("window_days", d.window_days, 1, 3660, whole=True),
        dispute_working_days=f.number("dispute_working_days", d.dispute_working_days, 0, 60, whole=True),
        termination_waits_for_disputes=f.flag(
            "termination_waits_for_disputes", d.termination_waits_for_disputes
        ),
    )


def _check_references(
    carriers: list[Carrier | None], contracts: list[Contract | None], problems: list[str]
) -> None:
    known: set[str] = set()
    for carrier in carriers:
        if carrier is not None:
            if carrier.carrier_id in known:
                problems.append(f"[[carrier]] {carrier.carrier_id}: declared twice")
            known.add(carrier.carrier_id)
    seen: set[str] = set()
    for contract in contracts:
        if contract is None:
            continue
        if contract.contract_id in seen:
            problems.append(f"[[contract]] {contract.contract_id}: declared twice")
        seen.add(contract.contract_id)
