"""`transit demo`, what `make demo` runs: a newcomer sees today's plan per carrier from a stored feed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import run_cli


def test_demo_synthesises_stores_and_prints_todays_plan_per_carrier(tmp_path: Path) -> None:
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), "--routes", "6", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "city.zip").is_file()
    assert (tmp_path / "demo" / "transit.db").is_file()
    found = re.search(r"from feed version 1: (\d+) trip instances", result.stdout)
    assert found is not None, result.stdout
    totals = [int(m) for m in re.findall(r"^AP\d\s+\(all\)\s+(\d+)", result.stdout, flags=re.MULTILINE)]
    assert len(totals) >= 2  # at least two carriers
    assert sum(totals) == int(found.group(1)) > 0
    # The telemetry part: simulated pings through the embedded broker into the database.
    ingest = re.search(r"received ([\d,]+) messages; pings stored ([\d,]+)", result.stdout)
    assert ingest is not None, result.stdout
    received, stored = (int(g.replace(",", "")) for g in ingest.groups())
    assert 0 < stored < received  # duplicates stored once, malformed ones dead-lettered
    assert "coordinates_out_of_range 1, missing_field 1, unparsable 1" in result.stdout
    assert (tmp_path / "demo" / "truth.csv").is_file()
    # The verdicts of the whole day, stored, per carrier, beside the truth.
    verdicts = re.search(
        r"Verdicts of the whole day .*?: (\d+) stored; they agree .* for ([\d.]+)%", result.stdout
    )
    assert verdicts is not None, result.stdout
    assert int(verdicts.group(1)) == int(found.group(1))
    assert float(verdicts.group(2)) >= 95.0
    carriers = re.findall(
        r"^(AP\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+%", result.stdout, re.M
    )
    assert len(carriers) >= 2 and sum(int(c[1]) for c in carriers) == int(found.group(1))
    assert sum(int(c[4]) for c in carriers) > 0  # 5% of trips were not run: some are missed
    # Contracts enforced on the day: warnings, AP2's probation contract terminated, notices delivered.
    assert re.search(r"contract:C-AP1: warning 1 of 3, \d+ missed trip", result.stdout), result.stdout
    assert "contract:C-AP2: TERMINATED" in result.stdout
    notices = re.search(r"Notices delivered to the carriers' webhook: (\d+) of (\d+)", result.stdout)
    assert notices is not None and notices.group(1) == notices.group(2) != "0"
    assert (tmp_path / "demo" / "notices" / "termination_C-AP2.html").is_file()
    # The ledger: verdicts and enforcement chained, the head signed and exported, everything verified.
    ledger = re.search(r"10\. Ledger: ([\d,]+) events .*: verified", result.stdout, re.S)
    assert ledger is not None, result.stdout
    assert int(ledger.group(1).replace(",", "")) > int(found.group(1))
    assert (tmp_path / "demo" / "ledger-head.json").is_file()
    # Planning: the duplicate clusters drawn, the best drop tried with the city's OD demand and population.
    planning = re.search(r"11\. Planning: (\d+) pairs .*?; (\d+) cluster\(s\)", result.stdout)
    assert planning is not None and int(planning.group(2)) >= 1, result.stdout
    assert (tmp_path / "demo" / "overlap.png").stat().st_size > 10_000
    trips = re.search(r"^\s+trips\s+(\d+)\s+(\d+)\s+(-?\d+)$", result.stdout, re.M)
    assert trips is not None and int(trips.group(2)) <= int(trips.group(1)), result.stdout
    tried = re.search(r"Scenario '(drop|merge) (\S+)", result.stdout)
    assert tried is not None and f"candidate: {tried.group(1)} {tried.group(2)} (" in result.stdout
    assert int(trips.group(1)) == int(found.group(1))  # the scenario starts from the day's whole plan
    assert (
        "Stops losing all service:" in result.stdout
        and "Try it yourself: transit routes scenario" in result.stdout
    )
    # The HTTP API over the demo's database: a carrier sees its own record only; deleting is refused.
    assert re.search(r"12\. The HTTP API: http://127\.0\.0\.1:\d+", result.stdout), result.stdout
    assert re.search(r"department key: trk_\S{43}", result.stdout)
    assert re.search(
        r"As AP1: GET /v1/violations -> 200, [1-9]\d* violation\(s\), of carriers \['AP1'\]", result.stdout
    )
    assert "GET /v1/carriers/AP2 -> 404" in result.stdout
    assert "DELETE that violation -> 405" in result.stdout and "recorded as ledger event" in result.stdout
    # The 109 hotline: requests filed through Open311, routed to their departments, a duplicate linked, and
    # the bus complaint checked against the day's telemetry.
    assert "13. The 109 hotline over Open311" in result.stdout
    routed = dict(re.findall(r"request \d+ \(([^)]+)\): .*? -> ([^,]+),", result.stdout))
    assert routed["no heating"] == "Department of housing and utilities", result.stdout
    assert routed["a question"] == "109 hotline"
    assert re.search(r"\(the same flood, 40 m away\).*duplicate of request \d+", result.stdout)
    assert re.search(r"\(a bus that did not come\).*Telemetry evidence: confirmed", result.stdout), (
        result.stdout
    )


def test_demo_run_twice_reuses_the_stored_version(tmp_path: Path) -> None:
    args = ("demo", "--dir", str(tmp_path / "demo"), "--routes", "2", "--seed", "5")
    assert run_cli(*args).returncode == 0
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "already stored as version 1" in again.stdout
    assert ": verified" in again.stdout  # nothing new to store; the ledger and both heads still verify
