"""Realtime identifiers in the static feed's terms: the trip_id and route_id a tracker reports may not be the
GTFS feed's (Metro Transit reports route "2" for the feed's "2-111"; OneBusAway-style feeds prefix the
agency, "1_100479"; some feeds cut the service suffix off trip ids).

Each distinct realtime id is resolved once, in this order:

1. an explicit table (`--id-map FILE.csv`: kind, realtime_id, static_id), which always wins;
2. the same id in the feed;
3. routes only: the one route whose route_short_name is that id;
4. the one static id that shares a *core* with it: the id itself, the part before its first '-', or the
   part after its last '_' or ':'. An id whose cores meet several static ids stays unresolved.

An unresolved id is kept as given: it names no instance, which is what the matcher makes of an unknown id.
The mapping is a hint, like the ids themselves: the matcher never trusts a payload id blindly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from transit.errors import BadParameter
from transit.gtfs.dayplan import ScheduleTables

KINDS = ("trip_id", "route_id")
_SEPARATOR = re.compile(r"[_:]")


@dataclass(frozen=True, slots=True)
class IdResolution:
    """How the distinct realtime ids of one kind were resolved."""

    same: int = 0  # ids the feed has as they are
    mapped: dict[str, str] = field(default_factory=dict)  # realtime id -> static id
    unknown: list[str] = field(default_factory=list)  # neither: kept as given

    def describe(self, listed: int = 5) -> str:
        """One line for people: counts, and the first few of the mapped and the unknown ids."""
        mapped = ", ".join(f"{k} -> {v}" for k, v in sorted(self.mapped.items())[:listed])
        unknown = ", ".join(sorted(self.unknown)[:listed])
        return (
            f"{self.same} as in the feed, {len(self.mapped)} mapped"
            + (f" ({mapped}{', ...' if len(self.mapped) > listed else ''})" if mapped else "")
            + f", {len(self.unknown)} unknown to the feed"
            + (f" ({unknown}{', ...' if len(self.unknown) > listed else ''})" if unknown else "")
        )


def read_id_map(path: Path) -> dict[str, dict[str, str]]:
    """kind -> {realtime id: static id} from a CSV with kind, realtime_id, static_id; BadParameter naming the
    row and field of a bad line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in ("kind", "realtime_id", "static_id") if name not in header]
            if missing:
                raise BadParameter(f"--id-map: {path}: the header needs {', '.join(missing)}")
            table: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
            for row, raw in enumerate(reader, start=2):
                values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
                kind = values["kind"]
                if kind not in KINDS:
                    raise BadParameter(f"--id-map: {path} row {row}, kind: {kind!r} is not one of {KINDS}")
                for name in ("realtime_id", "static_id"):
                    if not values[name]:
                        raise BadParameter(f"--id-map: {path} row {row}, {name}: empty")
                table[kind][values["realtime_id"]] = values["static_id"]
    except (OSError, UnicodeDecodeError) as error:
        raise BadParameter(f"--id-map: {path}: cannot read it ({error})") from error
    return table


def resolve_ids(
    given: Iterable[str],
    static: Iterable[str],
    *,
    names: Mapping[str, str] | None = None,
    explicit: Mapping[str, str] | None = None,
) -> IdResolution:
    """Resolve each distinct given id against the static ids (module docstring). `names`: other unique
    names of static ids (route_short_name -> route_id); `explicit`: the table that always wins."""
    known = {str(s) for s in static}
    names, explicit = names or {}, explicit or {}
    by_core: dict[str, set[str]] = {}
    for static_id in known:
        for core in _cores(static_id):
            by_core.setdefault(core, set()).add(static_id)
    same, mapped, unknown = 0, {}, []
    for realtime_id in sorted({str(g) for g in given}):
        if realtime_id in explicit:
            mapped[realtime_id] = explicit[realtime_id]
        elif realtime_id in known:
            same += 1
        elif realtime_id in names:
            mapped[realtime_id] = names[realtime_id]
        else:
            found = set().union(*(by_core.get(core, set()) for core in _cores(realtime_id)))
            if len(found) == 1:
                mapped[realtime_id] = found.pop()
            else:
                unknown.append(realtime_id)
    return IdResolution(same, mapped, unknown)


def _cores(identifier: str) -> set[str]:
    """The id, the part before its first '-', the part after its last '_' or ':' (non-empty ones)."""
    cores = {identifier, identifier.split("-", 1)[0], _SEPARATOR.split(identifier)[-1]}
    return {core for core in cores if core}


def map_realtime_ids(
    pings: pd.DataFrame, feed: ScheduleTables, explicit: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[pd.DataFrame, dict[str, IdResolution]]:
    """The pings with their trip_id and route_id in the feed's terms where they can be resolved, and how
    each kind was resolved. Pings without these columns pass unchanged."""
    explicit = explicit or {}
    routes = feed.routes
    short = routes.dropna(subset=["route_short_name"]) if "route_short_name" in routes else routes.iloc[:0]
    unique_short = short.drop_duplicates("route_short_name", keep=False)
    names = {
        "trip_id": {},
        "route_id": dict(
            zip(
                unique_short["route_short_name"].astype(str),
                unique_short["route_id"].astype(str),
                strict=True,
            )
        ),
    }
    static = {"trip_id": feed.trips["trip_id"].astype(str), "route_id": routes["route_id"].astype(str)}
    out, report = pings, {}
    for kind in KINDS:
        if kind not in pings.columns:
            continue
        # Distinct values first, then drop the missing: a day has millions of pings.
        distinct = pd.unique(pings[kind].to_numpy())
        values = pd.Series(distinct[pd.notna(distinct)]).astype(str)
        resolution = resolve_ids(values, static[kind], names=names[kind], explicit=explicit.get(kind))
        report[kind] = resolution
        if resolution.mapped:
            if out is pings:
                out = pings.copy()
            text = out[kind].astype("string")
            out[kind] = text.replace(resolution.mapped).astype(object).where(text.notna(), None)
    return out, report
