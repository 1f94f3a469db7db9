"""Merkle trees and proofs against the published RFC 6962/9162 vectors (transparency-dev/merkle), and
against the recursive definition on every small tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import SHARED_DATA
from transit.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = SHARED_DATA / "merkle_vectors"


def cases(kind: str) -> list[Path]:
    found = sorted((VECTORS / kind).rglob("*.json"))
    assert found, f"no {kind} vectors under {VECTORS}"
    return found


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", cases("inclusion"), ids=case_id)
def test_inclusion_vectors_verify_or_are_rejected(path: Path) -> None:
    case = load(path)
    proof = [b64(p) for p in case["proof"] or []]
    verified = verify_inclusion(
        case["leafIdx"], case["treeSize"], b64(case["leafHash"]), proof, b64(case["root"])
    )
    assert verified is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", cases("consistency"), ids=case_id)
def test_consistency_vectors_verify_or_are_rejected(path: Path) -> None:
    case = load(path)
    proof = [b64(p) for p in case["proof"] or []]
    verified = verify_consistency(case["size1"], case["size2"], proof, b64(case["root1"]), b64(case["root2"]))
    assert verified is not case["wantErr"], case["desc"]


def test_the_vectors_hold_happy_paths_and_tampered_proofs() -> None:
    wanted = [load(p)["wantErr"] for p in cases("inclusion") + cases("consistency")]
    assert wanted.count(False) >= 10 and wanted.count(True) >= 100


def recursive_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, as written."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(recursive_root(leaves[:k]), recursive_root(leaves[k:]))


def test_every_tree_up_to_40_leaves_has_the_recursive_root_and_proofs_that_verify() -> None:
    for n in range(41):
        leaves = [leaf_hash(bytes([i])) for i in range(n)]
        root = root_hash(leaves)
        assert root == recursive_root(leaves)
        for i in range(n):
            assert verify_inclusion(i, n, leaves[i], inclusion_proof(leaves, i), root)
        for m in range(1, n + 1):
            assert verify_consistency(m, n, consistency_proof(leaves, m), recursive_root(leaves[:m]), root)


@given(
    st.lists(st.binary(max_size=8), min_size=2, max_size=70),
    st.data(),
)
def test_a_proof_with_any_byte_flipped_is_rejected(entries: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(e) for e in entries]
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(leaves, index)
    size1 = data.draw(st.integers(1, n - 1))
    consistency = consistency_proof(leaves, size1)
    for path, check in (
        (proof, lambda p: verify_inclusion(index, n, leaves[index], p, root_hash(leaves))),
        (
            consistency,
            lambda p: verify_consistency(size1, n, p, root_hash(leaves[:size1]), root_hash(leaves)),
        ),
    ):
        assert check(path)
        if path:
            at = data.draw(st.integers(0, len(path) - 1))
            bit = data.draw(st.integers(0, 255))
            broken = [*path]
            broken[at] = bytes([broken[at][0] ^ (1 << (bit % 8))]) + broken[at][1:]
            assert not check(broken)
            assert not check(path[:-1])
