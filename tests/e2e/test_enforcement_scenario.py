"""Issue 5's scenario, through the real commands: simulated days of the synthetic city, each decided with
`transit detect --store` and enforced with `transit enforce`, notices posted to a real local webhook.

AP1 misses trips on three days: three warnings, terminated on the third, automatically. AP2 misses none and
gets nothing, until its fleet goes dark (its policy counts that). An ingest outage raises nothing; an
exempted trip raises nothing; upheld disputes reverse a warning and, under the threshold again, the
termination. The ledger verifies throughout, and a direct database edit makes it fail.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.support import rogue, run_cli

# Four service days from today (local), so that the department may still exempt one of them: exemptions
# reach back to yesterday at most. The feed starts the day before.
TODAY = dt.datetime.now(ZoneInfo("Asia/Almaty")).date()
START = TODAY - dt.timedelta(days=1)
DAYS = tuple((TODAY + dt.timedelta(days=k)).isoformat() for k in range(4))
# Day by day: what goes wrong (simulate options).
FAULTS = {
    DAYS[0]: ("--miss-rate", "0.015", "--miss-carrier", "AP1"),
    DAYS[1]: ("--miss-rate", "0.015", "--miss-carrier", "AP1", "--outage", "09:00-10:00"),
    DAYS[2]: ("--miss-rate", "0.015", "--miss-carrier", "AP1"),
    DAYS[3]: ("--dark-carrier", "AP2", "--dark-window", "08:00-09:30"),
}


class Webhook:
    """A real HTTP server on a free port that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    json.loads(body) | {"_sha256_header": self.headers["X-Transit-Document-SHA256"]}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """The city and its four simulated days (shared by both databases)."""
    folder = tmp_path_factory.mktemp("scenario")
    feed = folder / "city.zip"
    made = run_cli(
        "synth", "city", "--routes", "4", "--seed", "3", "--start-date", START.isoformat(), "--out", str(feed)
    )
    assert made.returncode == 0, made.stderr
    pings = {}
    for day in DAYS:
        out = folder / f"{day}.csv"
        result = run_cli(
            "simulate", "--feed", str(feed), "--date", day, "--out", str(out), "--seed", "7", *FAULTS[day]
        )
        assert result.returncode == 0, result.stderr
        pings[day] = out
    return feed, pings


CONTRACTS = """
[department]
name = "Transport department"
timezone = "Asia/Almaty"
webhook = "{webhook}"

[[carrier]]
id = "AP1"
name = "Avtopark 1"
language = "ru"
agency_ids = ["AP1"]
[carrier.channels]
webhook = "{webhook}"
mqtt = false

[[carrier]]
id = "AP2"
name = "Avtopark 2"
language = "kk"
[carrier.channels]
webhook = "{webhook}"
mqtt = false

[[contract]]
id = "C-1"
carrier = "AP1"
agency_id = "AP1"
start = {start}
end = {end}

[[contract]]
id = "C-2"
carrier = "AP2"
agency_id = "AP2"
start = {start}
end = {end}
[contract.policy]
dark_fleet_is_violation = true
"""


@pytest.mark.postgres  # the production database, connected as the service's role (a run of 2 minutes)
def test_three_days_of_missed_trips_terminate_a_contract_and_nothing_else_does(
    days: tuple[Path, dict[str, Path]], postgres_database_url: str, webhook: Webhook, tmp_path: Path
) -> None:
    feed, pings = days
    database_url = postgres_database_url
    env = {"TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}

    def cli(*args: str) -> str:
        result = run_cli(*args, database_url=database_url, extra_env=env)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout

    def record(carrier: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(cli("carriers", "show", carrier, "--format", "json"))
        return data

    contracts = tmp_path / "contracts.toml"
    contracts.write_text(
        CONTRACTS.format(webhook=webhook.url, start=START, end=START + dt.timedelta(days=300))
    )
    cli("gtfs", "load", str(feed))
    cli("contracts", "load", str(contracts), "--actor", "Head of transport")
    missing = run_cli(
        "enforce", "--date", DAYS[0], "--actor", "inspector", database_url=database_url, extra_env=env
    )
    assert missing.returncode == 2 and f"no verdicts are stored for {DAYS[0]}" in missing.stderr

    stored: dict[str, pd.DataFrame] = {}
    for number, day in enumerate(DAYS, start=1):
        document = json.loads(
            cli(
                "detect",
                "--feed",
                str(feed),
                "--pings",
                str(pings[day]),
                "--date",
                day,
                "--store",
                "--format",
                "json",
            )
        )
        stored[day] = pd.DataFrame(document["trips"])
        if number == 3:  # the department exempts one of the day's missed trips after the fact (road works)
            exempted = stored[day][(stored[day]["verdict"] == "missed")].iloc[0]
            cli(
                "exemptions",
                "add",
                "--date",
                day,
                "--trip",
                f"{exempted['trip_id']}@{exempted['start_time']}",
                "--reason",
                "road works on the route",
                "--actor",
                "Head of transport",
            )
        cli("enforce", "--date", day, "--actor", "inspector")
        if number == 3:  # exactly once, however often it runs
            again = cli("enforce", "--date", day, "--actor", "inspector")
            assert again.startswith(f"{day}: 0 violations, 0 voided, 0 warnings")

    ap1, ap2 = record("AP1"), record("AP2")
    # AP1: a warning a day for three days, terminated on the third, automatically, its routes re-tendered.
    warnings = [w for w in ap1["warnings"] if w["reversed"] is None]
    assert [w["unit_date"] for w in warnings] == list(DAYS[:3]) and [w["number"] for w in warnings] == [
        1,
        2,
        3,
    ]
    assert ap1["contracts"][0]["status"] == "terminated"
    assert ap1["contracts"][0]["routes_flagged_for_tender"] == ["agency:AP1"]
    assert ap1["terminations"][0]["service_date"] == DAYS[2]
    # Every violation is a trip the matcher called missed; none from the outage, none exempted.
    for violation in ap1["violations"]:
        assert violation["kind"] == "missed" and violation["trip"]["reason"] == "no_vehicle_observed"
    day2 = stored[DAYS[1]]
    gap = day2[(day2["reason"] == "service_gap") & (day2["carrier_id"] == "AP1")]
    assert len(gap) > 0  # the outage hid some of AP1's trips ...

    def violated(day: str) -> set[tuple[str, str]]:
        return {
            (v["trip"]["trip_id"], v["trip"]["start_time"])
            for v in ap1["violations"]
            if v["service_date"] == day
        }

    assert not violated(DAYS[1]) & set(
        zip(gap["trip_id"], gap["start_time"], strict=True)
    )  # ... and raised nothing
    assert (exempted["trip_id"], exempted["start_time"]) not in violated(DAYS[2])
    day3 = stored[DAYS[2]]
    assert len(violated(DAYS[2])) == ((day3["verdict"] == "missed") & (day3["carrier_id"] == "AP1")).sum() - 1
    # AP2: nothing for its three good days; its dark fleet on day 4 is a violation under its policy.
    assert {v["service_date"] for v in ap2["violations"]} == {DAYS[3]}
    assert {v["kind"] for v in ap2["violations"]} == {"fleet_dark"}
    assert [w["unit_date"] for w in ap2["warnings"]] == [DAYS[3]]
    assert ap2["contracts"][0]["status"] == "active"

    # Notices: in the outbox and delivered to the webhook, with the hash of their document.
    posted = {n["notice_id"]: n for n in webhook.received}
    for notice in ap1["notices"]:
        assert notice["delivered"] == {"webhook": True}
        assert posted[notice["notice_id"]]["document_sha256"] == notice["document_sha256"]
        assert posted[notice["notice_id"]]["_sha256_header"] == notice["document_sha256"]
    assert {f"warning:C-1/{DAYS[0]}", "termination:C-1", "termination:C-1/department"} <= set(posted)
    assert "Предупреждение" in posted[f"warning:C-1/{DAYS[0]}"]["document_html"]  # AP1 reads Russian
    assert "Ескерту" in posted[f"warning:C-2/{DAYS[3]}"]["document_html"]  # AP2 Kazakh

    # AP1 disputes every violation of its third warning; the department upholds them: the warning is
    # reversed, and with two warnings left the termination is reversed too, all by new events.
    third = warnings[2]
    for violation_id in third["violation_ids"]:
        cli(
            "disputes",
            "open",
            violation_id,
            "--reason",
            "tracker failure; driver's log attached",
            "--actor",
            "AP1 dispatcher",
        )
        cli(
            "disputes",
            "rule",
            f"{violation_id}#1",
            "--upheld",
            "--reason",
            "log confirms the run",
            "--actor",
            "Head of transport",
        )
    ap1 = record("AP1")
    assert [w["reversed"] for w in ap1["warnings"]] == [None, None, "violations_voided"]
    assert (
        ap1["contracts"][0]["status"] == "active"
        and ap1["terminations"][0]["reversed"] == "warnings_reversed"
    )
    assert "termination_reversed:C-1" in {n["notice_id"] for n in webhook.received}
    ruled_twice = run_cli(
        "disputes",
        "rule",
        f"{third['violation_ids'][0]}#1",
        "--rejected",
        "--actor",
        "Clerk",
        database_url=database_url,
        extra_env=env,
    )
    assert ruled_twice.returncode == 2 and "recorded as event" in ruled_twice.stderr

    # The ledger holds it all and verifies; a direct edit makes it fail, naming the event.
    assert cli("ledger", "verify").startswith("ledger verified")
    protocol = json.loads(cli("ledger", "show", "--kind", "protocol", "--format", "json"))
    assert protocol[-1]["actor"] == "Clerk"
    seq = ap1["warnings"][0]["seq"]
    rogue(database_url, f"UPDATE ledger_event SET actor = 'nobody' WHERE seq = {seq}")
    broken = run_cli("ledger", "verify", database_url=database_url, extra_env=env)
    assert broken.returncode == 1 and f"first bad event {seq}" in broken.stdout
