"""The 109 tickets (pure): services (categories) as data, the states a ticket goes through, and the checks of
what a reporter submits.

A *service* is a category the hotline takes: its sector (Open311 `group`), the department it is routed to,
its kind (a complaint, a consultation answered on the call, or an excavation permit), its deadline in working
days and its escalation ladder, and the extra fields (Open311 attributes) it asks for.

States: received -> routed -> in_progress -> done | rejected; routed and in_progress may be routed again to
another department. done and rejected are final: a complaint that comes back is a new ticket that links to the
old one. Open311 sees `open` until a final state, then `closed`. A consultation is done the moment it is
recorded.

>>> can_move(State.RECEIVED, State.ROUTED), can_move(State.DONE, State.IN_PROGRESS)
(True, False)
>>> open311_status(State.IN_PROGRESS), open311_status(State.REJECTED)
('open', 'closed')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COMPLAINT = "complaint"
    CONSULTATION = "consultation"  # a question answered on the call: recorded, closed at once
    PERMIT = "permit"  # an excavation permit: a site, a holder, a deadline and its ladder


class State(StrEnum):
    RECEIVED = "received"
    ROUTED = "routed"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REJECTED = "rejected"


FINAL = frozenset({State.DONE, State.REJECTED})
_MOVES = {
    State.RECEIVED: {State.ROUTED, State.IN_PROGRESS, State.DONE, State.REJECTED},
    State.ROUTED: {State.ROUTED, State.IN_PROGRESS, State.DONE, State.REJECTED},
    State.IN_PROGRESS: {State.ROUTED, State.DONE, State.REJECTED},
    State.DONE: set(),
    State.REJECTED: set(),
}


def can_move(current: State, target: State) -> bool:
    """Whether a ticket in `current` may go to `target` (module docstring)."""
    return target in _MOVES[current]


def open311_status(state: State) -> str:
    return "closed" if state in FINAL else "open"


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 date and time with its UTC offset, in UTC; ValueError saying what is wrong otherwise.

    >>> parse_instant("2026-03-20T08:15:00+05:00").isoformat()
    '2026-03-20T03:15:00+00:00'
    """
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not an ISO 8601 date and time") from None
    if moment.utcoffset() is None:
        raise ValueError("needs a UTC offset (Z or +05:00)")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


class Datatype(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLE = "singlevaluelist"
    MULTI = "multivaluelist"


@dataclass(frozen=True, slots=True)
class Attribute:
    """An extra field of a service (Open311 attribute)."""

    code: str
    description: str
    datatype: Datatype = Datatype.STRING
    required: bool = False
    order: int = 1
    values: tuple[tuple[str, str], ...] = ()  # (key, name) of the list datatypes
    datatype_description: str | None = None
    variable: bool = True


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of an escalation ladder: `after_days` working days past the deadline with the ticket still
    open (not yet in `until`), notify `party` (a department or a party of the catalog)."""

    after_days: int
    party: str


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    group: str
    department: str
    kind: Kind = Kind.COMPLAINT
    description: str | None = None
    keywords: tuple[str, ...] = ()
    deadline_days: int = 15
    ladder: tuple[Step, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    duplicate_radius_m: float | None = 100.0  # a new request this near an open one of the service links to it
    transport: bool = False  # attach the telemetry evidence (route, stop, time attributes)


@dataclass(frozen=True, slots=True)
class Party:
    """Someone the service notifies: a department, a permit holder's supervisor, the police."""

    id: str
    name: str
    channels: Mapping[str, str] = field(default_factory=dict)  # channel -> target (webhook URL, e-mail)


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class AttributeProblem(ValueError):
    """A submitted attribute value the service cannot take; `code` names the attribute."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"attribute[{code}]: {message}")
        self.code = code


def check_attributes(service: Service, given: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    """The submitted attributes, checked against the service's definitions: required ones present, numbers,
    ISO 8601 datetimes with an offset, list keys among the values, no unknown codes."""
    known = {a.code: a for a in service.attributes if a.variable}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise AttributeProblem(unknown[0], f"{service.code} has no such attribute")
    checked: dict[str, str | list[str]] = {}
    for code, attribute in known.items():
        value = given.get(code)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            if attribute.required:
                raise AttributeProblem(code, "required")
            continue
        assert value is not None
        checked[code] = _checked_value(attribute, value)
    return checked


def _checked_value(attribute: Attribute, value: str | list[str]) -> str | list[str]:
    code, kind = attribute.code, attribute.datatype
    if kind is Datatype.MULTI:
        values = value if isinstance(value, list) else [value]
        keys = {k for k, _ in attribute.values}
        bad = [v for v in values if v not in keys]
        if bad:
            raise AttributeProblem(code, f"{bad[0]!r} is not one of {', '.join(sorted(keys))}")
        return values
    if isinstance(value, list):
        raise AttributeProblem(code, "takes one value")
    if kind is Datatype.SINGLE and value not in {k for k, _ in attribute.values}:
        listed = ", ".join(k for k, _ in attribute.values)
        raise AttributeProblem(code, f"{value!r} is not one of {listed}")
    if kind is Datatype.NUMBER:
        if not _NUMBER.fullmatch(value.strip()):
            raise AttributeProblem(code, f"{value!r} is not a number")
        if not math.isfinite(float(value)):
            raise AttributeProblem(code, f"{value!r} is not a finite number")
    if kind is Datatype.DATETIME:
        try:
            parse_instant(value)
        except ValueError as exc:
            raise AttributeProblem(code, f"{value!r} {exc}") from None
    if len(value) > 4000:
        raise AttributeProblem(code, "longer than 4,000 characters")
    return value
