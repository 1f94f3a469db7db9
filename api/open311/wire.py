"""Open311 GeoReport v2 on the wire: XML and JSON bodies, the POST /requests form, W3C date-times.

Pure functions over plain data (no routes, no database); docs/open311.md §0, §1.3 and §6 give the rules.
Bodies follow the "Spark" convention: a list is a container element of repeated children in XML and a
bare array in JSON, even with one element.

Text that XML 1.0 cannot carry (control characters other than tab, newline and carriage return, lone
surrogates, U+FFFE and U+FFFF) is **replaced** by U+FFFD in both formats, so the two formats say the same
thing and a reader can see that something was there. A carriage return is written as ``&#13;`` so that
XML parsers keep it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from starlette.responses import Response

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
JSON_MEDIA_TYPE = "application/json; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

Kind = Literal[
    "services", "service_definition", "service_requests", "errors", "discovery", "service_request_updates"
]
Body = Mapping[str, object] | Sequence[Mapping[str, object]]

# The kinds whose root is a list, and the element name of each item.
_LIST_KINDS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "service_request_updates": "request_update",
}
_OBJECT_KINDS = frozenset({"service_definition", "discovery"})
# Every list container the bodies may hold, and its child element (fixed, so an unknown list is a bug).
_ITEM_TAG = _LIST_KINDS | {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "photos": "photo",
    "groups": "group",
}
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class WireFormat(StrEnum):
    """The body format, given by the URL suffix (`/services.xml`, `/services.json`)."""

    XML = "xml"
    JSON = "json"


class UnknownFormat(ValueError):
    """The URL suffix is neither `xml` nor `json`."""


class FormError(ValueError):
    """A form or query parameter cannot be used; `field` names it for the Open311 400 error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_format(suffix: str) -> WireFormat:
    """Return the format of a URL suffix (`xml` or `json`, lower case, no dot); raise `UnknownFormat`.

    >>> parse_format("json")
    <WireFormat.JSON: 'json'>
    """
    try:
        return WireFormat(suffix)
    except ValueError:
        raise UnknownFormat(f"unknown format {suffix!r}: use xml or json") from None


def render(kind: Kind, data: Body, fmt: WireFormat) -> tuple[bytes, str]:
    """Return the UTF-8 body and its media type (with charset) for one Open311 response.

    `data` is a list of objects for services, service_requests, errors and service_request_updates, and
    one object for service_definition and discovery. Values may be str, bool, int, float, None, aware
    datetimes (ISO 8601 with offset, whole seconds), objects and lists named in the fixed container table.
    Raises ValueError or TypeError for anything else (a naive datetime, an unknown list name, NaN): these
    are programming errors, not client errors.

    >>> render("errors", [{"code": 404, "description": "no such request"}], WireFormat.JSON)
    (b'[{"code":404,"description":"no such request"}]', 'application/json; charset=utf-8')
    >>> render("errors", [{"code": 404, "description": None}], WireFormat.XML)[0].decode()
    '<?xml version="1.0" encoding="utf-8"?>\\n<errors><error><code>404</code><description/></error></errors>'
    """
    _check_shape(kind, data)
    if fmt is WireFormat.JSON:
        text = json.dumps(_to_json(kind, data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8"), JSON_MEDIA_TYPE
    parts = [XML_DECLARATION, "\n"]
    _write_xml(kind, data, parts)
    return "".join(parts).encode("utf-8"), XML_MEDIA_TYPE


def render_response(kind: Kind, data: Body, fmt: WireFormat, status_code: int = 200) -> Response:
    """Return `render`'s body as a Starlette response with the Open311 media type and charset."""
    body, media_type = render(kind, data, fmt)
    return Response(content=body, status_code=status_code, media_type=media_type)


def _check_shape(kind: str, data: object) -> None:
    if kind in _LIST_KINDS:
        if not isinstance(data, list | tuple) or not all(isinstance(item, Mapping) for item in data):
            raise TypeError(f"{kind}: the body must be a list of objects")
    elif kind in _OBJECT_KINDS:
        if not isinstance(data, Mapping):
            raise TypeError(f"{kind}: the body must be one object")
    else:
        raise ValueError(f"unknown Open311 body kind {kind!r}")


def _item_tag(container: str) -> str:
    try:
        return _ITEM_TAG[container]
    except KeyError:
        raise ValueError(f"{container}: no element name is defined for the items of this list") from None


def _checked_tag(name: object) -> str:
    if not isinstance(name, str) or _TAG.fullmatch(name) is None:
        raise ValueError(f"{name!r} cannot be an XML element name")
    return name


def _write_xml(tag: str, value: object, parts: list[str]) -> None:
    """Append the element `tag` holding `value` to `parts` (None and empty text give `<tag/>`)."""
    _checked_tag(tag)
    if isinstance(value, Mapping):
        parts.append(f"<{tag}>")
        for key, child in value.items():
            _write_xml(_checked_tag(key), child, parts)
        parts.append(f"</{tag}>")
    elif isinstance(value, list | tuple):
        item_tag = _item_tag(tag)
        parts.append(f"<{tag}>")
        for item in value:
            _write_xml(item_tag, item, parts)
        parts.append(f"</{tag}>")
    else:
        text = _escape_xml(_scalar_text(tag, value))
        parts.append(f"<{tag}>{text}</{tag}>" if text else f"<{tag}/>")


def _escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _scalar_text(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | dt.datetime):
        scalar = _to_json(name, value)
        return scalar if isinstance(scalar, str) else json.dumps(scalar)
    raise TypeError(f"{name}: cannot render a {type(value).__name__}")


def _to_json(name: str, value: object) -> object:
    """Return `value` as plain JSON data, with the same checks and text cleaning as the XML writer."""
    if isinstance(value, Mapping):
        return {_checked_tag(key): _to_json(key, child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        item_tag = _item_tag(name)
        return [_to_json(item_tag, item) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name}: {value} is not a finite number")
        return value
    if isinstance(value, str):
        return _NOT_XML_CHAR.sub("\ufffd", value)
    if isinstance(value, dt.datetime):
        return _format_datetime(name, value)
    raise TypeError(f"{name}: cannot render a {type(value).__name__}")


def _format_datetime(name: str, value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{name}: naive datetime {value.isoformat()}; Open311 needs a UTC offset")
    if offset % dt.timedelta(minutes=1):  # old local mean times (+05:07:48) have no ±HH:MM form
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="seconds")


_ATTRIBUTE_KEY = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")


@dataclass(frozen=True, slots=True)
class RequestForm:
    """The POST /requests form split by kind of key; empty values are dropped as not sent (§0 "Optional").

    `fields` holds every other key verbatim and unchecked (api_key, service_code, lat, long, ...);
    `attributes` maps CODE to the value of `attribute[CODE]` or the list of `attribute[CODE][]` values.
    """

    fields: dict[str, str]
    attributes: dict[str, str | list[str]]
    media_urls: list[str]


def parse_request_form(items: Iterable[tuple[str, str]]) -> RequestForm:
    """Split decoded form pairs (in order, text values only) into a `RequestForm`; raise `FormError`.

    Errors: a plain key sent twice (except `media_url`), a malformed `attribute[...]` key, and one CODE
    sent twice without `[]` or both with and without `[]`. An empty value counts as not sent, so
    `email=&email=a@b.kz` is one e-mail, and a multi answer whose entries are all empty is absent.

    >>> form = parse_request_form([("service_code", "12"), ("attribute[SIDE]", "left"), ("email", "")])
    >>> form.fields, form.attributes
    ({'service_code': '12'}, {'SIDE': 'left'})
    """
    fields: dict[str, str] = {}
    attributes: dict[str, str | list[str]] = {}
    media_urls: list[str] = []
    for key, value in items:
        if key == "attribute" or key.startswith("attribute["):
            _add_attribute(attributes, key, value)
        elif value == "":
            continue
        elif key == "media_url":
            media_urls.append(value)
        elif key in fields:
            raise FormError(key, "sent more than once")
        else:
            fields[key] = value
    return RequestForm(fields=fields, attributes=attributes, media_urls=media_urls)


def _add_attribute(attributes: dict[str, str | list[str]], key: str, value: str) -> None:
    match = _ATTRIBUTE_KEY.fullmatch(key)
    if match is None:
        raise FormError(key, "malformed attribute key; use attribute[CODE] or attribute[CODE][]")
    if value == "":
        return
    code, is_multi = match.group(1), match.group(2) is not None
    known = attributes.get(code)
    if known is None:
        attributes[code] = [value] if is_multi else value
    elif is_multi and isinstance(known, list):
        known.append(value)
    elif is_multi or isinstance(known, list):
        raise FormError(key, f"attribute {code} is sent both as attribute[{code}] and attribute[{code}][]")
    else:
        raise FormError(key, f"sent more than once; several answers use attribute[{code}][]")


_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
_W3C_DATETIME = re.compile(_DATE + _TIME + r"(Z|[+-][0-9]{2}:[0-9]{2})")
_NAIVE_DATETIME = re.compile(f"{_DATE}({_TIME})?")
_EXAMPLE = "2026-11-29T10:00:00+05:00"


def parse_w3c_datetime(text: str, field: str) -> dt.datetime:
    """Return the aware datetime of a W3C date-time (`Z` or ±HH:MM required, offset kept); else `FormError`.

    >>> parse_w3c_datetime("2026-11-29T10:00:00+05:00", "start_date").isoformat()
    '2026-11-29T10:00:00+05:00'
    >>> parse_w3c_datetime("2026-11-29T10:00:00", "end_date")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.open311.wire.FormError: end_date: 2026-11-29T10:00:00 has no time zone; add Z or ±HH:MM, ...
    """
    if _W3C_DATETIME.fullmatch(text) is None:
        raise FormError(field, _why_not_w3c(text))
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise FormError(field, f"{text} is not a real date and time ({error})") from None


def _why_not_w3c(text: str) -> str:
    if _NAIVE_DATETIME.fullmatch(text):
        return f"{text} has no time zone; add Z or ±HH:MM, as in {_EXAMPLE}"
    head, _, tail = text.rpartition(" ")
    if _W3C_DATETIME.fullmatch(f"{head}+{tail}"):
        # An unencoded "+" in a query string arrives as a space.
        return f"{text!r}: the + of the offset arrived as a space; encode it as %2B"
    return f"{text!r} is not a W3C date-time like {_EXAMPLE}"
