# ruff: noqa: E501  (the translations read better as whole sentences)
"""Notice documents (pure): an HTML page that prints well, in the carrier's language, with local times.

A warning lists its violations with their evidence (trip, route, scheduled times, what the telemetry showed);
a termination lists the warnings that caused it; a reversal says what was undone and why; a not_started alert
names the trip. The document's SHA-256 goes into the ledger with the notice, so the carrier can prove what it
received and the city what it sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "warning": "Warning",
        "termination": "Contract termination",
        "warning_reversed": "Warning withdrawn",
        "termination_reversed": "Termination withdrawn",
        "not_started": "Trip not started",
        "to": "To",
        "contract": "Contract",
        "issued": "Issued",
        "warning_intro": "Under contract {contract}, the following trips were not run as scheduled on {date}. "
        "This is warning {number} of {of} within {window} days; at {of} the contract is terminated automatically.",
        "termination_intro": "Contract {contract} is terminated automatically: {count} warnings within {window} "
        "days. Its routes are put out to tender again.",
        "reversed_intro": "Withdrawn: {subject}. Reason: {why}.",
        "not_started_intro": "No vehicle was at the first stop of this trip 8 minutes after its scheduled start.",
        "dispute": "You may dispute a violation within {days} working days (transit disputes open).",
        "trip": "Trip",
        "route": "Route",
        "scheduled": "Scheduled",
        "verdict": "Verdict",
        "evidence": "What the telemetry showed",
        "no_vehicle": "no vehicle observed on the route",
        "covered": "covered {coverage:.0%} of the route by {vehicles}, {first} to {last}",
        "warnings": "Warnings counted",
        "hash": "Document SHA-256 is recorded in the city's ledger.",
    },
    "ru": {
        "warning": "Предупреждение",
        "termination": "Расторжение договора",
        "warning_reversed": "Предупреждение отозвано",
        "termination_reversed": "Расторжение отменено",
        "not_started": "Рейс не начат",
        "to": "Кому",
        "contract": "Договор",
        "issued": "Дата",
        "warning_intro": "По договору {contract} {date} не выполнены следующие рейсы по расписанию. "
        "Это предупреждение {number} из {of} за {window} дней; после {of}-го договор расторгается автоматически.",
        "termination_intro": "Договор {contract} расторгнут автоматически: {count} предупреждения за {window} "
        "дней. Его маршруты выставляются на новый конкурс.",
        "reversed_intro": "Отозвано: {subject}. Причина: {why}.",
        "not_started_intro": "Через 8 минут после начала рейса по расписанию на начальной остановке не было автобуса.",
        "dispute": "Нарушение можно оспорить в течение {days} рабочих дней (transit disputes open).",
        "trip": "Рейс",
        "route": "Маршрут",
        "scheduled": "По расписанию",
        "verdict": "Решение",
        "evidence": "Данные телеметрии",
        "no_vehicle": "автобус на маршруте не обнаружен",
        "covered": "пройдено {coverage:.0%} маршрута, {vehicles}, с {first} до {last}",
        "warnings": "Учтённые предупреждения",
        "hash": "SHA-256 документа записан в реестр города.",
    },
    "kk": {
        "warning": "Ескерту",
        "termination": "Шартты бұзу",
        "warning_reversed": "Ескерту кері қайтарылды",
        "termination_reversed": "Шартты бұзу жойылды",
        "not_started": "Рейс басталмады",
        "to": "Кімге",
        "contract": "Шарт",
        "issued": "Күні",
        "warning_intro": "{contract} шарты бойынша {date} күні келесі рейстер кесте бойынша орындалмады. "
        "Бұл {window} күн ішіндегі {of} ескертудің {number}-і; {of}-ші ескертуден кейін шарт автоматты түрде бұзылады.",
        "termination_intro": "{contract} шарты автоматты түрде бұзылды: {window} күн ішінде {count} ескерту. "
        "Оның маршруттары жаңа конкурсқа шығарылады.",
        "reversed_intro": "Кері қайтарылды: {subject}. Себебі: {why}.",
        "not_started_intro": "Рейстің кесте бойынша басталуынан 8 минут өткенде бастапқы аялдамада автобус болмады.",
        "dispute": "Бұзушылыққа {days} жұмыс күні ішінде шағым беруге болады (transit disputes open).",
        "trip": "Рейс",
        "route": "Маршрут",
        "scheduled": "Кесте бойынша",
        "verdict": "Шешім",
        "evidence": "Телеметрия деректері",
        "no_vehicle": "маршрутта автобус байқалмады",
        "covered": "маршруттың {coverage:.0%} жүрілді, {vehicles}, {first} — {last}",
        "warnings": "Есепке алынған ескертулер",
        "hash": "Құжаттың SHA-256 қалалық тізілімге жазылды.",
    },
}


@dataclass(frozen=True, slots=True)
class Notice:
    """A rendered notice: its id, kind, language, HTML text and the SHA-256 of its UTF-8 bytes."""

    notice_id: str
    kind: str
    language: str
    html: str
    sha256: str


def render_notice(
    notice_id: str,
    kind: str,
    language: str,
    timezone: str,
    facts: dict[str, Any],
) -> Notice:
    """The document of a notice. `facts`: carrier_name, contract_id, issued_at (UTC), and per kind: date,
    number, of, window_days, dispute_days and violations (warning); count, warnings (termination); subject
    and why (reversals); trip (not_started)."""
    t = TEXT[language]
    zone = ZoneInfo(timezone)
    title = t[kind]
    body = [f"<h1>{_e(title)}</h1>", "<table class='head'>"]
    body.append(_row(t["to"], facts["carrier_name"]))
    if facts.get("contract_id"):
        body.append(_row(t["contract"], facts["contract_id"]))
    body.append(_row(t["issued"], _local(facts["issued_at"], zone)))
    body.append("</table>")
    if kind == "warning":
        intro = t["warning_intro"].format(
            contract=facts["contract_id"],
            date=facts["date"],
            number=facts["number"],
            of=facts["of"],
            window=facts["window_days"],
        )
        body += [f"<p>{_e(intro)}</p>", _trips_table(facts["violations"], t, zone)]
        body.append(f"<p>{_e(t['dispute'].format(days=facts['dispute_days']))}</p>")
    elif kind == "termination":
        intro = t["termination_intro"].format(
            contract=facts["contract_id"], count=facts["count"], window=facts["window_days"]
        )
        body += [f"<p>{_e(intro)}</p>", f"<h2>{_e(t['warnings'])}</h2><ul>"]
        body += [f"<li>{_e(w)}</li>" for w in facts["warnings"]]
        body.append("</ul>")
    elif kind in ("warning_reversed", "termination_reversed"):
        body.append(f"<p>{_e(t['reversed_intro'].format(subject=facts['subject'], why=facts['why']))}</p>")
    elif kind == "not_started":
        body += [f"<p>{_e(t['not_started_intro'])}</p>", _trips_table([facts["trip"]], t, zone)]
    else:
        raise ValueError(f"unknown notice kind {kind!r}")
    body.append(f"<p class='hash'>{_e(t['hash'])} ({_e(notice_id)})</p>")
    document = (
        f"<!DOCTYPE html>\n<html lang='{language}'><head><meta charset='utf-8'><title>{_e(title)} — "
        f"{_e(facts.get('contract_id') or facts['carrier_name'])}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    return Notice(notice_id, kind, language, document, hashlib.sha256(document.encode("utf-8")).hexdigest())


_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    "table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border:1px solid #999;padding:.3em .5em;"
    "text-align:left;vertical-align:top}table.head td{border:none}.hash{font-size:.8em;color:#555}"
    "@media print{body{margin:0}}"
)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _row(label: str, value: Any) -> str:
    return f"<tr><td>{_e(label)}</td><td>{_e(value)}</td></tr>"


def _local(value: Any, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value in (None, ""):
        return "—"
    instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(zone).strftime(fmt)


def _trips_table(trips: list[dict[str, Any]], t: dict[str, str], zone: ZoneInfo) -> str:
    head = "".join(f"<th>{_e(t[k])}</th>" for k in ("trip", "route", "scheduled", "verdict", "evidence"))
    rows = []
    for trip in trips:
        scheduled = f"{_local(trip.get('start_at'), zone)} – {_local(trip.get('end_at'), zone, '%H:%M')}"
        if trip.get("vehicle_ids"):
            evidence = t["covered"].format(
                coverage=float(trip.get("coverage") or 0.0),
                vehicles=trip["vehicle_ids"],
                first=_local(trip.get("first_ping_at"), zone, "%H:%M"),
                last=_local(trip.get("last_ping_at"), zone, "%H:%M"),
            )
        else:
            evidence = t["no_vehicle"]
        verdict = f"{trip.get('verdict', '')} ({trip.get('reason', '')})"
        cells = (
            f"{trip['trip_id']} {trip.get('start_time', '')}",
            trip.get("route_id", ""),
            scheduled,
            verdict,
            evidence,
        )
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
