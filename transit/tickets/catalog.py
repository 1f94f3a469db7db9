"""The ticket catalog (pure parsing): the city's services, departments, parties to notify, working-day
calendar and personal-data retention, from a TOML document (the default one ships as catalog.toml beside
this module). Errors name the source, the service or department, and the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from transit.errors import BadParameter
from transit.tickets.model import Attribute, Datatype, Kind, Party, Service, Step
from transit.tickets.workdays import WorkCalendar, parse_calendar

HOLDER = "holder"  # the ladder's party for a permit's holder, whose contact is on the ticket


@dataclass(frozen=True, slots=True)
class Catalog:
    jurisdiction_id: str
    timezone: str
    retention_days: int
    calendar: WorkCalendar
    departments: Mapping[str, Party]
    parties: Mapping[str, Party]
    services: Mapping[str, Service]
    changeset: dt.datetime = dt.datetime(
        2026, 1, 1, tzinfo=dt.UTC
    )  # when the catalog last changed (its file)

    def service(self, code: str) -> Service | None:
        return self.services.get(code)

    def party(self, party_id: str) -> Party | None:
        return self.departments.get(party_id) or self.parties.get(party_id)


def load_catalog(path: Path | None) -> Catalog:
    """The catalog in `path`, or the shipped one."""
    return default_catalog() if path is None else read_catalog(path)


def default_catalog() -> Catalog:
    """The catalog shipped with the service (Petropavl's 109 categories)."""
    with resources.as_file(resources.files("transit.tickets").joinpath("catalog.toml")) as path:
        return read_catalog(path)


def read_catalog(path: Path) -> Catalog:
    """The catalog in a TOML file; its changeset is the file's modification time."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        changed = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadParameter(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadParameter(f"{path}: not valid TOML ({exc})") from None
    return dataclasses.replace(parse_catalog(document, str(path)), changeset=changed)


def parse_catalog(document: Mapping[str, Any], source: str) -> Catalog:
    timezone = _text(document, "timezone", source)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadParameter(f"{source}, timezone: {timezone!r} is not an IANA time zone") from None
    retention = document.get("retention_days")
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < 30:
        raise BadParameter(
            f"{source}, retention_days: {retention!r} must be a whole number of days, 30 or more"
        )
    departments = _parties(document.get("department", []), f"{source}, department")
    parties = _parties(document.get("party", []), f"{source}, party")
    clash = sorted(set(departments) & set(parties) | ({HOLDER} & (set(departments) | set(parties))))
    if clash:
        raise BadParameter(f"{source}: {clash[0]!r} is named twice among departments, parties and 'holder'")
    services: dict[str, Service] = {}
    for k, item in enumerate(_tables(document.get("service"), f"{source}, service"), start=1):
        service = _service(item, f"{source}, service {k}", departments, parties)
        if service.code in services:
            raise BadParameter(f"{source}, service {k}, code: {service.code!r} is used twice")
        services[service.code] = service
    if not services:
        raise BadParameter(f"{source}: no [[service]]")
    calendar = document.get("calendar")
    if not isinstance(calendar, Mapping):
        raise BadParameter(f"{source}, calendar: a [calendar] table is needed")
    return Catalog(
        jurisdiction_id=_text(document, "jurisdiction_id", source),
        timezone=timezone,
        retention_days=retention,
        calendar=parse_calendar(calendar, f"{source}, calendar"),
        departments=departments,
        parties=parties,
        services=services,
    )


def _tables(value: object, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise BadParameter(f"{where}: must be an array of tables ([[...]])")
    return list(value)


def _parties(items: object, where: str) -> dict[str, Party]:
    found: dict[str, Party] = {}
    for k, item in enumerate(_tables(items, where), start=1):
        here = f"{where} {k}"
        party_id = _text(item, "id", here)
        channels = item.get("channels", {})
        if not isinstance(channels, Mapping) or not all(isinstance(v, str) for v in channels.values()):
            raise BadParameter(f"{here} ({party_id}), channels: a table of channel = target")
        unknown = sorted(set(channels) - {"webhook", "email"})
        if unknown:
            raise BadParameter(f"{here} ({party_id}), channels.{unknown[0]}: not a channel (webhook, email)")
        if party_id in found:
            raise BadParameter(f"{here}, id: {party_id!r} is used twice")
        found[party_id] = Party(party_id, _text(item, "name", here), dict(channels))
    return found


_SERVICE_FIELDS = {
    "code", "name", "group", "department", "kind", "description", "keywords", "deadline_days", "ladder",
    "attribute", "duplicate_radius_m", "transport",
}  # fmt: skip


def _service(
    item: Mapping[str, Any], where: str, departments: Mapping[str, Party], parties: Mapping[str, Party]
) -> Service:
    code = _text(item, "code", where)
    where = f"{where} ({code})"
    extra = sorted(set(item) - _SERVICE_FIELDS)
    if extra:
        raise BadParameter(f"{where}, {extra[0]}: not a field of a service")
    department = _text(item, "department", where)
    if department not in departments:
        raise BadParameter(f"{where}, department: {department!r} is not a [[department]]")
    kind_text = item.get("kind", Kind.COMPLAINT.value)
    if kind_text not in {k.value for k in Kind}:
        raise BadParameter(f"{where}, kind: {kind_text!r} is not one of {', '.join(k.value for k in Kind)}")
    deadline = item.get("deadline_days", 15)
    if not isinstance(deadline, int) or isinstance(deadline, bool) or not 0 <= deadline <= 366:
        raise BadParameter(f"{where}, deadline_days: {deadline!r} must be 0..366 working days")
    ladder = []
    for k, step in enumerate(_tables(item.get("ladder"), f"{where}, ladder"), start=1):
        after, party = step.get("after_days"), step.get("party")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise BadParameter(f"{where}, ladder {k}, after_days: {after!r} must be a whole number >= 0")
        if party != HOLDER and party not in departments and party not in parties:
            raise BadParameter(
                f"{where}, ladder {k}, party: {party!r} is not a department, a party or 'holder'"
            )
        ladder.append(Step(after, str(party)))
    radius = item.get("duplicate_radius_m", 100.0)
    if radius is not None and (not isinstance(radius, int | float) or isinstance(radius, bool) or radius < 0):
        raise BadParameter(f"{where}, duplicate_radius_m: {radius!r} must be metres >= 0")
    keywords = item.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(w, str) for w in keywords):
        raise BadParameter(f"{where}, keywords: a list of words")
    attributes = tuple(
        _attribute(a, f"{where}, attribute {k}", k)
        for k, a in enumerate(_tables(item.get("attribute"), f"{where}, attribute"), start=1)
    )
    if len({a.code for a in attributes}) != len(attributes):
        raise BadParameter(f"{where}, attribute: two attributes share a code")
    return Service(
        code=code,
        name=_text(item, "name", where),
        group=_text(item, "group", where),
        department=department,
        kind=Kind(kind_text),
        description=item.get("description"),
        keywords=tuple(keywords),
        deadline_days=deadline,
        ladder=tuple(sorted(ladder, key=lambda s: s.after_days)),
        attributes=attributes,
        duplicate_radius_m=None if radius is None else float(radius),
        transport=bool(item.get("transport", False)),
    )


def _attribute(item: Mapping[str, Any], where: str, order: int) -> Attribute:
    code = _text(item, "code", where)
    where = f"{where} ({code})"
    datatype = item.get("datatype", "string")
    if datatype not in {d.value for d in Datatype}:
        raise BadParameter(
            f"{where}, datatype: {datatype!r} is not one of {', '.join(d.value for d in Datatype)}"
        )
    values = item.get("values", [])
    if not isinstance(values, list) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v) for v in values
    ):
        raise BadParameter(f"{where}, values: a list of [key, name] pairs")
    if datatype in (Datatype.SINGLE, Datatype.MULTI) and not values:
        raise BadParameter(f"{where}, values: a {datatype} needs values")
    return Attribute(
        code=code,
        description=_text(item, "description", where),
        datatype=Datatype(datatype),
        required=bool(item.get("required", False)),
        order=order,
        values=tuple((k, n) for k, n in values),
        datatype_description=item.get("datatype_description"),
    )


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadParameter(f"{where}, {key}: missing or not text")
    return value.strip()
