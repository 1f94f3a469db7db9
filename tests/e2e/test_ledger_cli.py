"""`transit ledger checkpoint|verify|show|public-key` as a user and an auditor run them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.support import rogue, run_cli
from transit.db import make_engine, make_session_factory
from transit.ledger.chain import Draft
from transit.ledger.store import append_events

T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def append(database_url: str, n: int) -> None:
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        append_events(session, [Draft("inspector", "note", f"n:{i}", {"i": i}) for i in range(n)], T0)
    engine.dispose()


def test_an_auditor_s_exported_head_catches_the_newest_events_removed(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    database_url = sqlite_database_url  # the tampering on PostgreSQL: tests/integration/test_ledger_store.py
    env = {"TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "keys" / "ledger.key")}

    def ledger(*args: str) -> tuple[int, str, str]:
        result = run_cli("ledger", *args, database_url=database_url, extra_env=env)
        return result.returncode, result.stdout, result.stderr

    append(database_url, 5)
    code, out, err = ledger("checkpoint", "--out", str(tmp_path / "head.json"))
    assert code == 0 and "signed head: 5 events" in out and "created the ledger signing key" in err
    assert (tmp_path / "keys" / "ledger.key").stat().st_mode & 0o077 == 0  # its owner's only
    code, out, _ = ledger("verify", "--checkpoint", str(tmp_path / "head.json"))
    assert (code, out) == (0, "ledger verified: 5 events, 2 signed head(s) consistent\n")
    code, pem, _ = ledger("public-key")
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----")

    # A rogue administrator removes the two newest events and the service's own heads with them.
    rogue(database_url, "DELETE FROM ledger_event WHERE seq > 3")
    rogue(database_url, "DELETE FROM ledger_checkpoint", table="ledger_checkpoint")
    code, out, _ = ledger("verify")
    assert code == 0  # the chain alone cannot see it ...
    (tmp_path / "ledger.pub").write_text(pem)
    code, out, _ = ledger(
        "verify", "--checkpoint", str(tmp_path / "head.json"), "--public-key", str(tmp_path / "ledger.pub")
    )
    assert code == 1  # ... the auditor's head can
    assert "event 4: events 4..5 were removed" in out and "first bad event 4" in out
    code, out, _ = ledger("verify", "--checkpoint", str(tmp_path / "head.json"), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["first_bad_seq"] == 4 and report["events"] == 3


def test_verify_names_an_edited_event_and_the_listing_shows_it(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    database_url = sqlite_database_url  # the tampering on PostgreSQL: tests/integration/test_ledger_store.py
    env = {"TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}
    append(database_url, 4)
    rogue(database_url, "UPDATE ledger_event SET actor = 'someone else' WHERE seq = 2")
    result = run_cli("ledger", "verify", database_url=database_url, extra_env=env)
    assert result.returncode == 1 and result.stdout.startswith("event 2: its content does not match its hash")
    shown = run_cli("ledger", "show", "--format", "json", database_url=database_url, extra_env=env)
    events = json.loads(shown.stdout)
    assert [e["seq"] for e in events] == [1, 2, 3, 4] and events[1]["actor"] == "someone else"


def test_a_bad_checkpoint_file_is_named_and_nothing_is_verified(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    database_url = sqlite_database_url  # the tampering on PostgreSQL: tests/integration/test_ledger_store.py
    env = {"TRANSIT_LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}
    (tmp_path / "head.json").write_text('{"origin": "transit-compliance ledger v1"}')
    result = run_cli(
        "ledger",
        "verify",
        "--checkpoint",
        str(tmp_path / "head.json"),
        database_url=database_url,
        extra_env=env,
    )
    assert result.returncode == 2 and "head.json: field 'tree_size' is missing" in result.stderr
    assert "Traceback" not in result.stderr
