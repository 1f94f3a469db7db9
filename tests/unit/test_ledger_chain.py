"""The ledger's pure core: canonical JSON, the hash chain, signed heads and whole-ledger verification."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.ledger.canonical import canonical_json, parse_canonical
from transit.ledger.chain import GENESIS_HASH, Draft, Event, entry_bytes, seal, walk_chain
from transit.ledger.checkpoint import Checkpoint, from_export, sign_head, signed_by, to_export
from transit.ledger.verify import verify_ledger

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
KEY = Ed25519PrivateKey.generate()


def chain(n: int, start: int = 1, prev: str = GENESIS_HASH) -> list[Event]:
    events = []
    for seq in range(start, start + n):
        draft = Draft(
            "inspector", "warning_issued", f"contract:C{seq % 3}", {"n": seq, "why": "missed"}, "ops"
        )
        event = seal(draft, seq, T0 + dt.timedelta(minutes=seq), prev)
        prev = event.hash
        events.append(event)
    return events


def head_of(events: list[Event]) -> Checkpoint:
    walk = walk_chain(events)
    return sign_head(KEY, walk.size, walk.root, T0 + dt.timedelta(days=1))


# --- canonical JSON ----------------------------------------------------------------------------------------


def test_canonical_json_sorts_keys_by_utf16_and_writes_numbers_as_ecmascript_does() -> None:
    value = {
        "\u20ac": 1,
        "\r": [1.0, 0.5, 1e-7, 1e21, -0.0, 123456789012],
        "1": None,
        "\U0001f600": "ö",
        "a": True,
    }
    assert canonical_json(value).decode() == (
        '{"\\r":[1,0.5,1e-7,1e+21,0,123456789012],"1":null,"a":true,"€":1,"😀":"ö"}'
    )
    assert canonical_json(1e-6) == b"0.000001"


def test_canonical_json_refuses_what_json_cannot_say() -> None:
    for bad in (float("nan"), float("inf"), {1: "x"}, {"a": {1, 2}}):
        with pytest.raises((TypeError, ValueError)):
            canonical_json(bad)


def test_parse_canonical_refuses_text_that_is_not_in_canonical_form() -> None:
    assert parse_canonical('{"a":1,"b":[2]}') == {"a": 1, "b": [2]}
    for text in ('{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}'):
        with pytest.raises(ValueError):
            parse_canonical(text)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_canonical_json_round_trips_and_is_stable(value: object) -> None:
    text = canonical_json(value)
    again = json.loads(text)
    assert canonical_json(again) == text  # parsing and writing again gives the same bytes


# --- the chain ---------------------------------------------------------------------------------------------


def test_an_intact_chain_walks_clean_and_its_root_is_that_of_its_entries() -> None:
    events = chain(9)
    walk = walk_chain(events, [4])
    assert walk.problems == [] and walk.size == 9
    assert walk.roots[4] == walk_chain(events[:4]).root != walk.root


def test_an_edited_payload_is_named_by_its_sequence_number() -> None:
    events = chain(6)
    events[3] = dataclasses.replace(events[3], payload='{"n":4,"why":"nothing"}')
    problems = walk_chain(events).problems
    assert [p.seq for p in problems] == [4]


def test_an_edited_actor_or_time_breaks_the_hash() -> None:
    for change in ({"actor": "someone else"}, {"at": T0}, {"kind": "warning_reversed"}):
        events = chain(5)
        events[1] = dataclasses.replace(events[1], **change)
        assert [p.seq for p in walk_chain(events).problems] == [2]


def test_a_removed_event_in_the_middle_is_named() -> None:
    events = chain(6)
    del events[2]
    problems = walk_chain(events).problems
    assert problems[0].seq == 3 and "missing" in problems[0].message


def test_two_events_swapped_are_caught_at_the_first_of_them() -> None:
    events = chain(6)
    a, b = events[1], events[2]
    events[1] = dataclasses.replace(b, seq=2)
    events[2] = dataclasses.replace(a, seq=3)
    assert min(p.seq for p in walk_chain(events).problems) == 2


def test_removing_the_newest_events_leaves_the_chain_intact_but_not_the_signed_head() -> None:
    events = chain(8)
    head = head_of(events)
    assert walk_chain(events[:6]).problems == []
    found = verify_ledger(events[:6], [head], KEY.public_key())
    assert not found.ok and found.first_bad_seq == 7
    assert "7..8 were removed" in found.problems[0].message


def test_a_chain_rewritten_consistently_after_a_head_is_caught_from_after_the_last_good_head() -> None:
    events = chain(10)
    early, late = head_of(events[:4]), head_of(events)
    # Events 6.. rewritten with new content and all rehashed: the chain itself is intact again.
    rewritten = events[:5]
    prev = rewritten[-1].hash
    for seq in range(6, 11):
        event = seal(Draft("forger", "note", "x", {"seq": seq}), seq, T0, prev)
        rewritten.append(event)
        prev = event.hash
    assert walk_chain(rewritten).problems == []
    found = verify_ledger(rewritten, [early, late], KEY.public_key())
    assert found.first_bad_seq == 5 and "5..10 differ" in found.problems[0].message


def test_a_head_signed_by_another_key_or_altered_is_refused() -> None:
    events = chain(3)
    head = head_of(events)
    other = Ed25519PrivateKey.generate()
    assert signed_by(head, KEY.public_key()) and not signed_by(head, other.public_key())
    bigger = dataclasses.replace(head, tree_size=2)
    found = verify_ledger(events, [bigger], KEY.public_key())
    assert not found.ok and "bad signature" in found.problems[0].message


def test_an_exported_head_reads_back_and_names_what_is_wrong_with_a_bad_file() -> None:
    head = head_of(chain(4))
    text = to_export(head, KEY.public_key())
    again, public = from_export(text)
    assert again == head and signed_by(again, public)
    document = json.loads(text)
    for broken, message in (
        ("{", "not JSON"),
        ("[]", "JSON object"),
        (json.dumps({k: v for k, v in document.items() if k != "root_hash"}), "'root_hash' is missing"),
        (json.dumps(document | {"origin": "another log"}), "field 'origin'"),
    ):
        with pytest.raises(ValueError, match=message):
            from_export(broken)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["verdict_final", "warning_issued", "protocol"]),
            st.text(max_size=12),
            st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4),
        ),
        max_size=30,
    ),
    st.integers(0, 30),
)
def test_any_sequence_of_events_verifies_with_its_heads(
    drafts: list[tuple[str, str, dict[str, object]]], cut: int
) -> None:
    events, prev = [], GENESIS_HASH
    for seq, (kind, subject, payload) in enumerate(drafts, start=1):
        event = seal(Draft("someone", kind, subject, payload), seq, T0 + dt.timedelta(seconds=seq), prev)
        events.append(event)
        prev = event.hash
    heads = [head_of(events[: min(cut, len(events))]), head_of(events)]
    found = verify_ledger(events, heads, KEY.public_key())
    assert found.ok and found.size == len(events) and found.heads_checked == 2


@given(
    st.text(min_size=1, max_size=8),
    st.text(max_size=8),
    st.dictionaries(
        st.text(max_size=6),
        st.integers() | st.text(max_size=6) | st.floats(allow_nan=False, allow_infinity=False),
    ),
    st.integers(1, 10**9),
)
def test_an_entry_is_the_canonical_json_of_the_whole_event(
    actor: str, subject: str, payload: dict[str, object], seq: int
) -> None:
    draft = Draft(actor, "note", subject, payload, "ops")
    whole = {
        "seq": seq,
        "at": "2026-12-01T08:00:00.000000Z",
        "actor": actor,
        "os_user": "ops",
        "kind": "note",
        "subject": subject,
        "payload": payload,
        "prev_hash": GENESIS_HASH,
    }
    assert entry_bytes(seq, T0, draft, GENESIS_HASH) == canonical_json(whole)


def test_a_draft_without_an_actor_is_refused() -> None:
    with pytest.raises(ValueError, match="actor"):
        seal(Draft("  ", "note", "x", {}), 1, T0, GENESIS_HASH)
