"""Canonical JSON in the style of RFC 8785 (JCS): the same data always gives the same bytes (pure).

Object keys sorted by their UTF-16 code units, no insignificant whitespace, strings as JSON escapes only what
it must (UTF-8 otherwise), integers as themselves, other numbers in their shortest round-trip form with
ECMAScript's exponent spelling. NaN and infinities have no JSON form and are refused.

>>> canonical_json({"b": [1, 2.0, 0.1, 1e21], "a": "é"}).decode()
'{"a":"é","b":[1,2,0.1,1e+21]}'
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as _string  # C: quotes and escapes, non-ASCII kept as is
from typing import Any

__all__ = ["canonical_json", "parse_canonical"]


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON value (dicts with str keys, lists, str, int, float, bool, None)."""
    return _encode(value).encode("utf-8")


def parse_canonical(text: str | bytes) -> Any:
    """The value of canonical JSON; ValueError if `text` is not exactly the canonical form of its value."""
    value = json.loads(text)
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if canonical_json(value) != raw:
        raise ValueError("not canonical JSON")
    return value


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{_encode(value[k])}" for k in _sorted_keys(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def _sorted_keys(value: dict[Any, Any]) -> list[str]:
    """Keys in UTF-16 code-unit order (the same as code-point order unless a key leaves the BMP)."""
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
    if all(key.isascii() for key in value):
        return sorted(value)
    return sorted(value, key=lambda k: k.encode("utf-16-be"))


def _number(value: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no JSON form")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)  # shortest round-trip digits
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)  # above 15 only for integers, written in full above
    if -7 < power < 0:  # ECMAScript writes 1e-6 to 1e-5 out in full, Python does not
        sign, digits = ("-" if value < 0 else ""), mantissa.lstrip("-").replace(".", "")
        return f"{sign}0.{'0' * (-power - 1)}{digits}"
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
