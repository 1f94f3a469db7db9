"""The ledger for auditors: events, verification, signed heads, inclusion proofs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.deps import READ_LEDGER, SessionDep, StateDep, allow
from api.errors import NotFound
from api.paging import (
    CSV_RESPONSE,
    Cursor,
    FormatQuery,
    Limit,
    ListFormat,
    Page,
    csv_response,
    cursor_int,
    decode_cursor,
    encode_cursor,
    page_size,
)  # fmt: skip
from api.schemas import CheckpointOut, InclusionProofOut, LedgerEventOut, ProblemAt, VerificationOut
from transit.access.model import Principal
from transit.errors import BadParameter
from transit.ledger.chain import event_entry
from transit.ledger.checkpoint import to_export
from transit.ledger.keys import load_public_key
from transit.ledger.merkle import inclusion_proof, leaf_hash, root_hash
from transit.ledger.service import verify
from transit.ledger.store import count_events, iter_events, list_checkpoints

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
Auditor = Annotated[Principal, Depends(allow(*READ_LEDGER))]
MAX_PROOF_SIZE = 5_000_000  # a proof reads the first tree_size entries


@router.get("/events", response_model=Page[LedgerEventOut], responses=CSV_RESPONSE, summary="Events in order")
def events(
    principal: Auditor,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    subject_prefix: Annotated[str, Query(max_length=400)] = "",
    limit: Limit = 100,
    cursor: Cursor = None,
    fmt: FormatQuery = ListFormat.JSON,
) -> Any:
    after = cursor_int(decode_cursor(cursor, 1)[0]) if cursor else 0
    found, size = [], page_size(limit, fmt)
    for event in iter_events(
        session, kinds=[kind] if kind else (), subject_prefix=subject_prefix, after_seq=after
    ):
        found.append(_event(event))
        if len(found) > size:
            break
    page = found[:size]
    next_cursor = encode_cursor([page[-1]["seq"]]) if len(found) > size else None
    if fmt is ListFormat.CSV:
        return csv_response(page, tuple(LedgerEventOut.model_fields), "ledger", next_cursor)
    return Page(items=[LedgerEventOut(**e) for e in page], next_cursor=next_cursor)


def _event(event: Any) -> dict[str, Any]:
    return {
        "seq": event.seq, "at": event.at, "actor": event.actor, "os_user": event.os_user, "kind": event.kind,
        "subject": event.subject, "payload": json.loads(event.payload), "prev_hash": event.prev_hash,
        "hash": event.hash,
    }  # fmt: skip


@router.get(
    "/verify", response_model=VerificationOut, summary="Check the chain, the tree and every signed head"
)
def verify_ledger(principal: Auditor, session: SessionDep, state: StateDep) -> VerificationOut:
    key_file = state.settings.ledger_key_file
    key = load_public_key(key_file) if key_file.exists() else None
    found = verify(session, key)
    return VerificationOut(
        ok=found.ok,
        events=found.size,
        heads_checked=found.heads_checked,
        first_bad_seq=found.first_bad_seq,
        problems=[ProblemAt(seq=p.seq, message=p.message) for p in found.problems],
    )


@router.get(
    "/checkpoints",
    response_model=Page[CheckpointOut],
    summary="Signed heads, as exported for keeping offline",
)
def checkpoints(principal: Auditor, session: SessionDep, state: StateDep) -> Page[CheckpointOut]:
    key_file = state.settings.ledger_key_file
    if not key_file.exists():
        return Page(items=[])
    key = load_public_key(key_file)
    return Page(items=[CheckpointOut(**json.loads(to_export(c, key))) for c in list_checkpoints(session)])


@router.get(
    "/events/{seq}/proof",
    response_model=InclusionProofOut,
    summary="Inclusion proof of an event in the tree of the first tree_size events (RFC 9162)",
)
def proof(
    principal: Auditor,
    session: SessionDep,
    seq: Annotated[int, Path(ge=1)],
    tree_size: Annotated[int | None, Query(ge=1, description="Default: the ledger's size now")] = None,
) -> InclusionProofOut:
    size = tree_size or count_events(session)
    if seq > size:
        raise NotFound(f"no event {seq} in a tree of {size} events")
    if size > MAX_PROOF_SIZE:
        raise BadParameter(f"tree_size: at most {MAX_PROOF_SIZE} events per proof here")
    leaves = []
    for event in iter_events(session):
        if event.seq > size:
            break
        leaves.append(leaf_hash(event_entry(event)))
    if len(leaves) < size:
        raise NotFound(f"the ledger holds {len(leaves)} events, fewer than tree_size {size}")
    path = inclusion_proof(leaves, seq - 1)
    return InclusionProofOut(
        seq=seq,
        leaf_index=seq - 1,
        tree_size=size,
        leaf_hash=leaves[seq - 1].hex(),
        root_hash=root_hash(leaves).hex(),
        audit_path=[node.hex() for node in path],
    )
