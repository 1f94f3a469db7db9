"""The ledger in a real database: appends, the guards that refuse changes, and tampering that verify catches.

The tamper tests play a rogue administrator on purpose: they connect as the database's owner, switch the
guards off, and change the table directly, as no code path of the service can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.support import as_owner, rogue
from transit.db import make_engine, make_session_factory
from transit.ledger.chain import Draft
from transit.ledger.service import LedgerDamaged, make_checkpoint, refuse, verify
from transit.ledger.store import append_events, count_events, iter_events

T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def fill(sessions: sessionmaker[Session], n: int = 10) -> None:
    """n events in two appends, then a signed head."""
    drafts = [
        Draft("inspector", "note", f"contract:C{i % 2}", {"i": i, "text": "ок"}) for i in range(1, n + 1)
    ]
    with sessions.begin() as session:
        append_events(session, drafts[: n // 2], T0)
    with sessions.begin() as session:
        append_events(session, drafts[n // 2 :], T0 + dt.timedelta(hours=1))
        make_checkpoint(session, KEY, T0 + dt.timedelta(hours=2))


def verified(sessions: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    with sessions() as session:
        found = verify(session, KEY.public_key())
    return found.ok, found.first_bad_seq, " | ".join(p.message for p in found.problems)


def test_appends_chain_on_from_the_newest_event_and_verify(sessions: sessionmaker[Session]) -> None:
    fill(sessions)
    with sessions.begin() as session:
        event = refuse(session, "clerk", "delete warning", "warning:W1", T0, reason="asked by the carrier")
    assert event.seq == 11 and event.kind == "protocol" and event.os_user
    assert verified(sessions) == (True, None, "")
    with sessions() as session:
        events = list(iter_events(session))
        assert [e.seq for e in events] == list(range(1, 12))
        assert [e.seq for e in iter_events(session, subject_prefix="contract:C1")] == [1, 3, 5, 7, 9]
        assert count_events(session) == 11
    assert events[0].data() == {"i": 1, "text": "ок"} and events[0].at == T0


def test_the_service_cannot_change_or_remove_events(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    fill(sessions, 3)
    engine = create_engine(database_url)  # as the service connects: transit_app on PostgreSQL
    statements = [
        "UPDATE ledger_event SET actor = 'x' WHERE seq = 1",
        "DELETE FROM ledger_event WHERE seq = 3",
    ]
    statements += ["UPDATE ledger_checkpoint SET tree_size = 1", "DELETE FROM ledger_checkpoint"]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE ledger_event", "TRUNCATE verdict", "DELETE FROM trip_signal"]
    else:  # row triggers fire only on rows, and these tables are empty here: check that the guards exist
        with engine.connect() as connection:
            guarded = connection.exec_driver_sql("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'")
            assert {"verdict", "trip_signal"} <= {row[0] for row in guarded}
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only|permission denied"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    engine.dispose()
    assert verified(sessions)[0]


@pytest.mark.postgres
def test_even_the_owner_is_refused_while_the_guards_are_on(postgres_database_url: str) -> None:
    engine = make_engine(postgres_database_url)
    fill(make_session_factory(engine), 3)
    engine.dispose()
    owner = create_engine(as_owner(postgres_database_url))
    for statement in (
        "UPDATE ledger_event SET actor = 'x'",
        "DELETE FROM ledger_event",
        "TRUNCATE ledger_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"), owner.begin() as connection:
            connection.execute(text(statement))
    owner.dispose()


@pytest.mark.parametrize(
    ("statements", "first_bad", "says"),
    [
        (['UPDATE ledger_event SET payload = \'{"i":40,"text":"ок"}\' WHERE seq = 4'], 4, "changed"),
        (["UPDATE ledger_event SET actor = 'nobody' WHERE seq = 7"], 7, "changed"),
        (["DELETE FROM ledger_event WHERE seq = 6"], 6, "missing"),
        (
            [  # events 3 and 5 swapped: each keeps its content but takes the other's place
                "UPDATE ledger_event SET seq = -3 WHERE seq = 3",
                "UPDATE ledger_event SET seq = 3 WHERE seq = 5",
                "UPDATE ledger_event SET seq = 5 WHERE seq = -3",
            ],
            3,
            "",
        ),
        (["DELETE FROM ledger_event WHERE seq > 8"], 9, "9..10 were removed"),
        (["DELETE FROM ledger_event"], 1, "1..10 were removed"),
    ],
    ids=["edit-payload", "edit-actor", "delete-middle", "reorder", "truncate-newest", "delete-all"],
)
def test_verify_names_the_first_event_a_rogue_administrator_touched(
    database_url: str, sessions: sessionmaker[Session], statements: list[str], first_bad: int, says: str
) -> None:
    fill(sessions)
    rogue(database_url, *statements)
    ok, first, messages = verified(sessions)
    assert not ok and first == first_bad and says in messages


@pytest.mark.postgres
def test_a_truncated_table_is_caught_by_its_signed_head(postgres_database_url: str) -> None:
    engine = make_engine(postgres_database_url)
    sessions = make_session_factory(engine)
    fill(sessions)
    rogue(postgres_database_url, "TRUNCATE ledger_event")
    assert verified(sessions)[:2] == (False, 1)
    engine.dispose()


def test_a_damaged_ledger_is_not_signed(database_url: str, sessions: sessionmaker[Session]) -> None:
    fill(sessions)
    rogue(database_url, "UPDATE ledger_event SET subject = 'other' WHERE seq = 2")
    with pytest.raises(LedgerDamaged, match="event 2"), sessions.begin() as session:
        make_checkpoint(session, KEY, T0 + dt.timedelta(days=1))
