"""The HTTP API over the real server process and the real PostgreSQL: roles, carrier isolation, disputes,
refusals, paging, CSV, the ledger's proofs, bad input, revoked keys, and Schemathesis against its own
OpenAPI document. One world (tests/e2e/api_world.py) serves the whole module."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from api.deps import KEY_CACHE_SECONDS
from api.schemas import TripVerdictOut, ViolationOut
from tests.conftest import _postgres_database
from tests.e2e.api_world import (
    World,
    assert_problem,
    cursor_of,
    fill,
    openapi_operations,
    path_values,
    ref,
    request_for,
    running_world,
    trip_path,
    walk,
)
from tests.support import SHARED_DATA
from transit.ledger.canonical import canonical_json
from transit.ledger.chain import Event, event_entry
from transit.ledger.merkle import leaf_hash, verify_inclusion
from transit.routes_opt.benchmark_files import read_matrix

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("api")]  # one world: one worker (loadgroup)

DEPT, PLANNER, INTAKE, AUDITOR, CARRIER = "department", "planner", "intake", "auditor", "carrier"
ROLES = (DEPT, PLANNER, INTAKE, AUDITOR, CARRIER)
KEY_OF = {DEPT: "department", PLANNER: "planner", INTAKE: "intake", AUDITOR: "auditor", CARRIER: "ap1"}
SERVICE, ENFORCEMENT, LEDGER = {DEPT, CARRIER, AUDITOR, PLANNER}, {DEPT, CARRIER, AUDITOR}, {DEPT, AUDITOR}
PLANNING = {DEPT, PLANNER}
ENDPOINTS: dict[tuple[str, str], set[str]] = {  # (method, OpenAPI path): the roles it serves
    ("GET", "/v1/me"): set(ROLES),
    ("GET", "/v1/feeds"): SERVICE,
    ("GET", "/v1/plan"): SERVICE,
    ("GET", "/v1/vehicles"): {DEPT, CARRIER},
    ("GET", "/v1/trips"): SERVICE,
    ("GET", "/v1/trips/{service_date}/{start_time}/{trip_id}"): SERVICE,
    ("GET", "/v1/carriers"): ENFORCEMENT,
    ("GET", "/v1/carriers/{carrier_id}"): ENFORCEMENT,
    ("GET", "/v1/contracts"): ENFORCEMENT,
    ("GET", "/v1/contracts/{contract_id}"): ENFORCEMENT,
    ("GET", "/v1/violations"): ENFORCEMENT,
    ("GET", "/v1/violations/{violation_id}"): ENFORCEMENT,
    ("GET", "/v1/warnings"): ENFORCEMENT,
    ("GET", "/v1/terminations"): ENFORCEMENT,
    ("GET", "/v1/disputes"): ENFORCEMENT,
    ("GET", "/v1/disputes/{dispute_id}"): ENFORCEMENT,
    ("POST", "/v1/disputes"): {CARRIER},
    ("POST", "/v1/disputes/{dispute_id}/ruling"): {DEPT},
    ("GET", "/v1/notices"): ENFORCEMENT,
    ("GET", "/v1/notices/{notice_id}/document"): ENFORCEMENT,
    ("GET", "/v1/exemptions"): LEDGER,
    ("POST", "/v1/exemptions"): {DEPT},
    ("GET", "/v1/ledger/events"): LEDGER,
    ("GET", "/v1/ledger/verify"): LEDGER,
    ("GET", "/v1/ledger/checkpoints"): LEDGER,
    ("GET", "/v1/ledger/events/{seq}/proof"): LEDGER,
    ("GET", "/v1/tickets"): {DEPT, INTAKE, AUDITOR},
    ("GET", "/v1/tickets/{ticket_id}"): {DEPT, INTAKE, AUDITOR},
    ("POST", "/v1/tickets/{ticket_id}/state"): {DEPT},
    ("POST", "/v1/tickets/{ticket_id}/notes"): {DEPT, INTAKE},
    ("GET", "/v1/planning/overlap"): PLANNING,
    ("POST", "/v1/planning/scenarios"): PLANNING,
    ("POST", "/v1/planning/route-sets/evaluate"): PLANNING,
}
CREATED = {("POST", "/v1/disputes"), ("POST", "/v1/exemptions"), ("POST", "/v1/tickets/{ticket_id}/notes")}
DATED = {"/v1/plan", "/v1/trips", "/v1/planning/overlap"}  # lists that need ?date=
# Carrier-scoped requests: path, query, and the parameter that names an object of AP1 in them.
SCOPED: list[tuple[str, dict[str, str], str]] = [
    ("/v1/violations/{violation_id}", {}, "violation_id"),
    ("/v1/disputes/{dispute_id}", {}, "dispute_id"),
    ("/v1/notices/{notice_id}/document", {}, "notice_id"),
    ("/v1/trips/{service_date}/{start_time}/{trip_id}", {}, "trip_id"),
    ("/v1/carriers/{carrier_id}", {}, "carrier_id"),
    ("/v1/contracts/{contract_id}", {}, "contract_id"),
] + [
    (path, {"carrier_id": "{carrier_id}"}, "carrier_id")
    for path in ("/v1/contracts", "/v1/violations", "/v1/warnings", "/v1/terminations", "/v1/disputes")
    + ("/v1/notices", "/v1/trips", "/v1/plan")
]
LISTS = ["/v1/carriers", "/v1/contracts", "/v1/violations", "/v1/warnings", "/v1/terminations"]
LISTS += ["/v1/disputes", "/v1/notices", "/v1/trips", "/v1/plan"]


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    database = _postgres_database(request)  # a fresh clone of the migrated template, as transit_app
    try:
        with running_world(next(database), tmp_path_factory.mktemp("api")) as built:
            yield built
    finally:
        next(database, None)  # drops it


def test_the_tables_here_name_every_operation_of_the_openapi_document(world: World) -> None:
    operations = openapi_operations(world)
    assert {op for op in operations if op[0] in ("GET", "POST")} == set(ENDPOINTS)
    records = ["violations/{violation_id}", "warnings/{warning_id}", "terminations/{contract_id}"]
    records += ["contracts/{contract_id}", "disputes/{dispute_id}", "notices/{notice_id}"]
    records += [
        "exemptions/{exemption_id}",
        "ledger/events/{seq}",
        "trips/{service_date}/{start_time}/{trip_id}",
    ]
    refused = {(m, f"/v1/{r}") for r in records for m in ("PUT", "PATCH", "DELETE")}
    assert {op for op in operations if op[0] not in ("GET", "POST")} == refused


@pytest.mark.parametrize(
    ("method", "template", "role"),
    [(method, template, role) for (method, template) in ENDPOINTS for role in ROLES],
    ids=str,
)
def test_each_role_is_served_where_it_is_allowed_and_refused_with_403_elsewhere(
    world: World, method: str, template: str, role: str
) -> None:
    allowed = role in ENDPOINTS[(method, template)]
    path, options = request_for(world, method, template, allowed, dated=template in DATED)
    response = world.client(KEY_OF[role]).request(method, path, **options)
    if allowed:
        expected = 201 if (method, template) in CREATED else 200
        assert response.status_code == expected, f"{method} {path} as {role}: {response.text}"
    else:
        problem = assert_problem(response, 403, "forbidden")
        assert role in problem["detail"]


@pytest.mark.parametrize("key", [None, "trk_made-up"], ids=["no key", "unknown key"])
def test_without_a_live_key_every_v1_operation_answers_401_and_the_probes_answer_anyway(
    world: World, key: str | None
) -> None:
    values = dict.fromkeys(path_values(world), "x") | {"seq": "1", "service_date": world.day}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    operations = openapi_operations(world)
    assert len(operations) > 40
    for method, template in sorted(operations):
        response = httpx.request(
            method, world.base_url + fill(template, values), headers=headers, json={}, params={"limit": 1}
        )
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer", (method, template)
    for probe in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert world.client(None).get(probe).status_code == 200, probe


@pytest.mark.parametrize(("template", "query", "subject"), SCOPED, ids=[f"{p}?{q}" for p, q, _ in SCOPED])
def test_another_carriers_object_is_404_exactly_as_one_that_does_not_exist(
    world: World, template: str, query: dict[str, str], subject: str
) -> None:
    real = path_values(world)
    fake = real | {subject: f"{real[subject]}-none"}
    dated = {"date": world.day} if template in DATED else {}

    def get(who: str, values: dict[str, str]) -> httpx.Response:
        params = {name: value.format(**values) for name, value in query.items()} | dated
        return world.client(who).get(fill(template, values), params=params)

    theirs, nothing = get("ap2", real), get("ap2", fake)
    problem, absent = assert_problem(theirs, 404, "not_found"), assert_problem(nothing, 404, "not_found")
    assert problem["detail"].replace(real[subject], "<id>") == absent["detail"].replace(fake[subject], "<id>")
    echoed = json.dumps({k: v for k, v in problem.items() if k != "instance"}).replace(real[subject], "")
    ap1_ids = [*world.violations, world.warning_id, world.notice_id, world.dispute_id, world.trip[2]]
    assert not [i for i in ap1_ids if i in echoed], theirs.text
    mine = get("ap1", real)
    assert mine.status_code == 200, mine.text
    if mine.headers["content-type"].startswith("application/json"):
        found = mine.json()
        objects = found.get("items", [found.get("current", found)])
        assert all(o["carrier_id"] == "AP1" for o in objects), found
        assert objects or template.startswith("/v1/terminations"), found


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("carrier", ["AP1", "AP2"])
def test_a_carrier_key_lists_its_own_carriers_objects_only(world: World, path: str, carrier: str) -> None:
    client = world.client(carrier.lower())
    items, _ = walk(client, path, **({"date": world.day} if path in DATED else {}))
    assert {item["carrier_id"] for item in items} <= {carrier}
    if carrier == "AP1":
        assert items or path == "/v1/terminations"
    else:
        text = json.dumps(items)
        assert not [i for i in [*world.violations, world.warning_id, world.notice_id] if i in text]


def test_a_carrier_disputes_its_violation_and_the_department_rules_once(world: World) -> None:
    ap1, ap2, department = world.client("ap1"), world.client("ap2"), world.client("department")
    violation_id = world.fresh_violation()
    body = {"violation_id": violation_id, "reason": "the tracker failed; the driver's log is attached"}
    assert_problem(ap2.post("/v1/disputes", json=body), 404, "not_found")
    filed = ap1.post("/v1/disputes", json=body)
    assert filed.status_code == 201, filed.text
    dispute = filed.json()
    assert dispute["violation_id"] == violation_id and dispute["carrier_id"] == "AP1"
    assert world.keys["ap1"].owner in dispute["opened_by"] and dispute["ruling"] is None
    dispute_path = f"/v1/disputes/{ref(dispute['dispute_id'])}"
    assert_problem(ap1.post("/v1/disputes", json=body), 409, "dispute_invalid")  # one open dispute at a time
    assert_problem(ap2.get(dispute_path), 404, "not_found")
    ruling = {"ruling": "rejected", "reason": "the log shows no such run"}
    assert_problem(ap1.post(f"{dispute_path}/ruling", json=ruling), 403, "forbidden")

    ruled = department.post(f"{dispute_path}/ruling", json=ruling)
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["ruling"] == "rejected"
    assert world.keys["department"].owner in ruled.json()["ruled_by"]
    again = department.post(f"{dispute_path}/ruling", json={"ruling": "upheld", "reason": "on reflection"})
    refused = assert_problem(again, 409, "refused_and_recorded")
    assert ap1.get(dispute_path).json()["ruling"] == "rejected"  # a ruling is final
    seq = refused["errors"][0]["ledger_seq"]
    events, _ = walk(
        world.client("auditor"), "/v1/ledger/events", kind="protocol", subject_prefix="contract:C-1"
    )
    assert [e["actor"] for e in events if e["seq"] == seq] == [ruled.json()["ruled_by"]]
    assert dispute["dispute_id"] in {d["dispute_id"] for d in walk(ap1, "/v1/disputes")[0]}


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
@pytest.mark.parametrize(
    ("target", "who"),
    [("violation", "ap1"), ("warning", "department"), ("trip", "planner"), ("ledger event", "auditor")],
)
def test_changing_an_enforcement_record_is_refused_with_405_and_recorded_against_the_keys_owner(
    world: World, method: str, target: str, who: str
) -> None:
    service_date, start_time, trip_id = world.trip
    path, subject = {
        "violation": (f"/v1/violations/{ref(world.violations[0])}", f"violation:{world.violations[0]}"),
        "warning": (f"/v1/warnings/{ref(world.warning_id)}", f"warning:{world.warning_id}"),
        "trip": (trip_path(world.trip), f"trip:{service_date}/{trip_id}/{start_time}"),
        "ledger event": ("/v1/ledger/events/2", "ledger:2"),
    }[target]
    auditor, key = world.client("auditor"), world.keys[who]
    before, _ = walk(auditor, "/v1/ledger/events", kind="protocol", subject_prefix=subject)
    response = world.client(who).request(method, path, json={"voided": "by request"})
    problem = assert_problem(response, 405, "refused_and_recorded")
    assert response.headers["allow"] == "GET"
    after, _ = walk(auditor, "/v1/ledger/events", kind="protocol", subject_prefix=subject)
    (event,) = [e for e in after if e not in before]
    assert event["seq"] == problem["errors"][0]["ledger_seq"] and event["subject"] == subject
    assert key.owner in event["actor"] and key.key_id in event["actor"]
    assert event["payload"]["attempted"].startswith(f"{method} /v1/")
    if target == "violation":
        assert world.client(who).get(path).json()["voided"] is None  # unchanged


def test_trips_walked_by_next_cursor_are_every_trip_of_the_day_exactly_once(world: World) -> None:
    client = world.client("department")
    walked, pages = walk(client, "/v1/trips", date=world.day, limit=5)
    whole = client.get("/v1/trips", params={"date": world.day, "limit": 1000}).json()
    assert whole["next_cursor"] is None
    keys = [(t["trip_id"], t["start_time"]) for t in walked]
    assert len(keys) == len(set(keys)) > 100
    assert keys == [(t["trip_id"], t["start_time"]) for t in whole["items"]]
    assert -(-len(keys) // 5) <= pages <= len(keys) // 5 + 1
    plan, _ = walk(client, "/v1/plan", date=world.day, limit=1000)
    assert set(keys) == {(p["trip_id"], p["start_time"]) for p in plan}


@pytest.mark.parametrize(
    "tamper",
    ["truncated", "another list's", "a word for a number", "a negative number", "not a date"],
)
def test_a_tampered_cursor_is_a_400_naming_the_cursor(world: World, tamper: str) -> None:
    client = world.client("department")
    first = client.get("/v1/trips", params={"date": world.day, "limit": 5}).json()
    day, trip_id, start, row = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "==="))
    events = world.client("auditor").get("/v1/ledger/events", params={"limit": 1}).json()
    cursor = {
        "truncated": first["next_cursor"][:-3],
        "another list's": events["next_cursor"],
        "a word for a number": cursor_of([day, trip_id, start, "four"]),
        "a negative number": cursor_of([day, trip_id, start, -row]),
        "not a date": cursor_of(["yesterday", trip_id, start, row]),
    }[tamper]
    response = client.get("/v1/trips", params={"date": world.day, "limit": 5, "cursor": cursor})
    assert assert_problem(response, 400, "bad_parameter")["detail"].startswith("cursor")


@pytest.mark.parametrize(
    ("path", "model"), [("/v1/trips", TripVerdictOut), ("/v1/violations", ViolationOut)], ids=["trips", "v"]
)
@pytest.mark.parametrize("who", ["department", "ap1"])
def test_a_list_as_csv_has_a_header_and_the_rows_of_the_json_list(
    world: World, path: str, model: type[Any], who: str
) -> None:
    params: dict[str, Any] = {"limit": 1000} | ({"date": world.day} if path == "/v1/trips" else {})
    listed = world.client(who).get(path, params=params).json()["items"]
    exported = world.client(who).get(path, params=params | {"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == list(model.model_fields) and len(rows) - 1 == len(listed) > 0
    column = rows[0].index("trip_id" if path == "/v1/trips" else "violation_id")
    assert [r[column] for r in rows[1:]] == [i[rows[0][column]] for i in listed]


def test_the_ledger_verifies_and_its_inclusion_proofs_check_out_against_the_signed_head(world: World) -> None:
    auditor = world.client("auditor")
    verified = auditor.get("/v1/ledger/verify").json()
    assert verified["ok"] is True and verified["problems"] == [] and verified["heads_checked"] >= 1
    (head, *_) = auditor.get("/v1/ledger/checkpoints").json()["items"]
    events = {e["seq"]: e for e in walk(auditor, "/v1/ledger/events", limit=1000)[0]}
    assert sorted(events) == list(range(1, len(events) + 1)) and len(events) >= head["tree_size"]
    for seq in (1, head["tree_size"] // 2, head["tree_size"]):
        proof = auditor.get(f"/v1/ledger/events/{seq}/proof", params={"tree_size": head["tree_size"]}).json()
        assert proof["root_hash"] == head["root_hash"] and proof["leaf_index"] == seq - 1
        shown = events[seq]
        event = Event(
            seq, dt.datetime.fromisoformat(shown["at"]), shown["actor"], shown["os_user"], shown["kind"],
            shown["subject"], canonical_json(shown["payload"]).decode(), shown["prev_hash"], shown["hash"],
        )  # fmt: skip
        leaf, root = leaf_hash(event_entry(event)), bytes.fromhex(proof["root_hash"])
        assert leaf.hex() == proof["leaf_hash"]  # the proof is about the event the API shows
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        assert verify_inclusion(seq - 1, head["tree_size"], leaf, path, root)
        assert not verify_inclusion(seq - 1, head["tree_size"], leaf_hash(b"forged"), path, root)
    latest = auditor.get(f"/v1/ledger/events/{head['tree_size']}/proof").json()  # against the tree of now
    assert latest["tree_size"] >= verified["events"] and latest["root_hash"] != head["root_hash"]
    assert verify_inclusion(
        latest["leaf_index"], latest["tree_size"], bytes.fromhex(latest["leaf_hash"]),
        [bytes.fromhex(node) for node in latest["audit_path"]], bytes.fromhex(latest["root_hash"]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "options", "status", "code"),
    [
        ("GET", "/v1/trips", {"params": {"date": "{day}", "limit": 0}}, 422, "invalid_request"),
        ("GET", "/v1/trips", {"params": {"date": "{day}", "limit": 100_000}}, 422, "invalid_request"),
        ("GET", "/v1/ledger/events", {"params": {"limit": 0}}, 422, "invalid_request"),
        ("GET", "/v1/trips", {"params": {"date": "someday"}}, 422, "invalid_request"),
        ("GET", "/v1/trips", {}, 400, "bad_parameter"),
        ("GET", "/v1/trips", {"params": {"date": "{day}", "route_id": "1\x00"}}, 400, "bad_request"),
        ("GET", "/v1/violations", {"params": {"month": "0000-01"}}, 400, "bad_parameter"),
        ("POST", "/v1/exemptions", {"content": "with a length"}, 413, "body_too_large"),
        ("POST", "/v1/exemptions", {"content": "chunked"}, 413, "body_too_large"),
        ("POST", "/v1/exemptions", {"json": {"area": [43.1, 76.8, 43.3]}}, 422, "invalid_request"),
        ("POST", "/v1/exemptions", {"json": {"area": ["north", 76.8, 43.3, 77]}}, 422, "invalid_request"),
        ("POST", "/v1/exemptions", {"json": {"area": [43.3, 76.8, 43.1, 77.0]}}, 400, "bad_parameter"),
        ("POST", "/v1/exemptions", {"json": {"routes": ["1"], "days_ago": 3}}, 409, "refused_and_recorded"),
    ],
)  # fmt: skip
def test_bad_input_is_a_problem_with_a_stable_code(
    world: World, method: str, path: str, options: dict[str, Any], status: int, code: str
) -> None:
    options = dict(options)
    if "params" in options:
        options["params"] = {k: v.format(day=world.day) if isinstance(v, str) else v
                             for k, v in options["params"].items()}  # fmt: skip
    if "json" in options:
        day = dt.date.fromisoformat(world.day) - dt.timedelta(days=options["json"].pop("days_ago", -2))
        options["json"] = {"date": day.isoformat(), "reason": "road works"} | options["json"]
    headers = {"content-type": "application/json"} if "content" in options else {}
    if options.get("content") == "chunked":  # no Content-Length: the server counts as it reads
        options["content"] = iter([b"[", b" " * 700_000, b" " * 700_000, b"]"])
    elif "content" in options:
        options["content"] = b"[" + b" " * 1_000_000 + b"]"
    response = world.client("department").request(method, path, headers=headers, **options)
    assert_problem(response, status, code)


def test_a_planners_scenario_over_http_is_the_cli_report_on_the_same_feed(
    world: World, tmp_path: Path
) -> None:
    operations = [
        {"kind": "drop", "route": "1A", "name": "1A riders take 1"},
        {"kind": "headway", "route": "2", "minutes": 12, "from": "07:00:00", "to": "09:00:00"},
    ]
    response = world.client("planner").post(
        "/v1/planning/scenarios", json={"date": world.day, "name": "trial", "operations": operations}
    )
    assert response.status_code == 200, response.text
    served = response.json()
    scenario = tmp_path / "trial.toml"
    scenario.write_text('name = "trial"\n' + "".join(
        "[[operation]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in op.items()) for op in operations
    ), encoding="utf-8")  # fmt: skip
    printed = json.loads(world.cli("routes", "scenario", str(world.feed), str(scenario), "--date", world.day,
                                   "--format", "json"))  # fmt: skip
    assert served.pop("feed_version_id") >= 1
    assert served == printed
    assert served["routes_changed"] == ["1A", "2"] and served["change"]["trips"] != 0
    assert served["before"]["trips"] > served["after"]["trips"] - 100 > 0


def test_staff_work_a_ticket_and_only_the_department_sees_the_reporter(world: World) -> None:
    filed = httpx.post(
        f"{world.base_url}/open311/v2/requests.json",
        data={"api_key": world.keys["intake"].secret, "service_code": "street_light", "lat": "54.871",
              "long": "69.149", "phone": "+77015550199"},
    )  # fmt: skip
    ticket_id = filed.json()[0]["service_request_id"]
    path = f"/v1/tickets/{ticket_id}"
    seen = world.client("department").get(path).json()
    assert seen["reporter"]["phone"] == "+77015550199" and seen["state"] == "routed"
    for role in ("intake", "auditor"):
        assert world.client(role).get(path).json()["reporter"] is None
    done = world.client("department").post(f"{path}/state", json={"state": "done", "text": "Lamp replaced"})
    assert done.status_code == 200 and done.json()["status"] == "closed", done.text
    assert done.json()["notes"][-1]["text"] == "Lamp replaced"
    again = world.client("department").post(f"{path}/state", json={"state": "in_progress", "text": "Again"})
    problem = assert_problem(again, 409, "refused_and_recorded")
    seq = problem["errors"][0]["ledger_seq"]
    event = (
        world.client("auditor").get("/v1/ledger/events", params={"kind": "protocol", "limit": 1000}).json()
    )
    refused = [e for e in event["items"] if e["seq"] == seq]
    assert refused and "Dana Department" in refused[0]["actor"], refused
    routed = world.client("department").post(
        f"/v1/tickets/{world.ticket_id}/state", json={"state": "routed", "department": "nowhere", "text": "x"}
    )
    assert "department: 'nowhere'" in assert_problem(routed, 400, "bad_parameter")["detail"]
    public = httpx.get(f"{world.base_url}/open311/v2/requests/{ticket_id}.xml", params={"extensions": "true"})
    assert public.status_code == 200 and "+77015550199" not in public.text and "Lamp replaced" in public.text
    assert_problem(world.client("department").get("/v1/tickets/999999"), 404, "not_found")


def test_a_planner_reads_the_overlap_of_the_feed_in_force_as_the_cli_prints_it(world: World) -> None:
    response = world.client("planner").get("/v1/planning/overlap", params={"date": world.day})
    assert response.status_code == 200, response.text
    served = response.json()
    printed = json.loads(
        world.cli("routes", "overlap", str(world.feed), "--date", world.day, "--format", "json")
    )
    assert served.pop("feed_version_id") >= 1 and served.pop("service_date") == world.day
    assert served == printed
    assert ["1", "1A"] in served["clusters"]  # the synthetic city's near-duplicate branch
    as_csv = world.client("planner").get("/v1/planning/overlap", params={"date": world.day, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["route_a"], r["route_b"], r["kind"]) for r in rows] == [
        (p["route_a"], p["route_b"], p["kind"]) for p in served["pairs"]
    ]
    strict = {"date": world.day, "near_share": 0.9, "duplicate_share": 0.5}
    problem = assert_problem(world.client("planner").get("/v1/planning/overlap", params=strict), 400,
                             "bad_parameter")  # fmt: skip
    assert "near_share (0.9) must not exceed duplicate_share (0.5)" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"operations": [{"kind": "drop", "route": "99"}]}, "operation 1 (drop 99), route: '99' is neither"),
        ({"operations": [{"kind": "merge", "route": "1A"}]}, "operation 1 (merge 1A), into: missing"),
        ({"operations": [{"kind": "truncate", "route": "1", "from_stop": "S001", "to_stop": "nowhere"}]},
         "to_stop: 'nowhere' is not a stop of the feed"),
        ({"operations": [{"kind": "drop", "route": "1"}], "demand": [
            {"origin_stop_id": "nowhere", "destination_stop_id": "S001", "trips": 3}]},
         "demand[0].origin_stop_id: 'nowhere' is not a stop"),
    ],
)  # fmt: skip
def test_a_bad_scenario_is_a_400_naming_the_operation_and_the_field(
    world: World, body: dict[str, Any], detail: str
) -> None:
    response = world.client("planner").post("/v1/planning/scenarios", json={"date": world.day} | body)
    assert detail in assert_problem(response, 400, "bad_parameter")["detail"]


def test_a_scenario_on_a_date_without_a_feed_in_force_is_a_404(world: World) -> None:
    body = {"date": "2000-01-01", "operations": [{"kind": "drop", "route": "1"}]}
    response = world.client("department").post("/v1/planning/scenarios", json=body)
    assert "2000-01-01" in assert_problem(response, 404, "feed_not_found")["detail"]


def test_a_route_set_evaluated_over_http_gives_the_published_mandl_numbers(world: World) -> None:
    folder = SHARED_DATA / "utrp" / "mandl"
    published = json.loads((folder / "published.json").read_text(encoding="utf-8"))["route_sets"][0]
    times = read_matrix(folder / "MandlTravelTimes.txt", "--network", links=True)
    demand = read_matrix(folder / "MandlDemand.txt", "--demand", links=False)
    body = {
        "network": [[None if np.isinf(v) else v for v in row] for row in times.tolist()],
        "demand": demand.tolist(),
        "routes": published["routes_1based"],
    }
    response = world.client("planner").post("/v1/planning/route-sets/evaluate", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == published["published"]
    body["routes"] = [[1, 15]]  # no link between nodes 1 and 15
    problem = assert_problem(world.client("planner").post("/v1/planning/route-sets/evaluate", json=body), 400,
                             "bad_parameter")  # fmt: skip
    assert "routes[0]: no link between nodes 1 and 15" in problem["detail"]


def test_a_revoked_key_stops_working_at_once_or_within_the_key_cache_time(world: World) -> None:
    unused, used = world.keys["revoked_unused"], world.keys["revoked_used"]
    assert world.client("revoked_used").get("/v1/me").json()["key_id"] == used.key_id  # now cached
    revokers = [threading.Thread(target=world.cli, args=("keys", "revoke", k.key_id)) for k in (unused, used)]
    for thread in revokers:
        thread.start()
    for thread in revokers:
        thread.join()
    revoked_at = time.monotonic()
    assert_problem(world.client("revoked_unused").get("/v1/me"), 401, "unauthenticated")
    while world.client("revoked_used").get("/v1/me").status_code == 200:
        assert time.monotonic() - revoked_at < KEY_CACHE_SECONDS + 1.0, "the revoked key still works"
        time.sleep(0.2)
    assert_problem(world.client("revoked_used").get("/v1/ledger/verify"), 401, "unauthenticated")


def test_schemathesis_finds_no_server_error_no_undocumented_status_and_no_response_off_the_schema(
    world: World,
) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{world.base_url}/openapi.json",
        "-H", f"Authorization: Bearer {world.keys['department'].secret}",
        "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
        "--max-examples", "10", "--seed", "1", "--generation-database", "none", "--no-color",
        # ids with slashes (C-1/2026-01-01/...) seen in responses cannot be path values: filtered, as meant
        "--suppress-health-check", "filter_too_much",
        # Open311 keeps its own error format and has its own conformance tests (tests/e2e/test_open311.py)
        "--exclude-path-regex", "^/open311",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
