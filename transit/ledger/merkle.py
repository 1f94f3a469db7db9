"""Merkle trees in the shape of RFC 9162 (Certificate Transparency 2.0), section 2.1 (pure).

Leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right); the tree of n leaves splits
at the largest power of two below n. Inclusion proofs show that an entry is in a tree of a given size;
consistency proofs show that a tree of size m is a prefix of a tree of size n, so an auditor who kept an
older signed head can check that nothing before it was changed or removed.

>>> a, b = leaf_hash(b"a"), leaf_hash(b"b")
>>> root_hash([a, b]) == node_hash(a, b)
True
>>> verify_inclusion(1, 2, b, inclusion_proof([a, b], 1), root_hash([a, b]))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "TreeBuilder",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_HASH_BYTES = 32


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one leaf (an entry's bytes)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node from its children's hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The root of the tree over `leaves` (leaf hashes, in order); the hash of nothing for no leaves."""
    tree = TreeBuilder()
    for leaf in leaves:
        tree.add(leaf)
    return tree.root()


class TreeBuilder:
    """A tree grown one leaf at a time, its root available at every size in O(log n).

    Complete subtrees of sizes 2^k are kept on a stack and merged as leaves come; the root folds the stack
    from the right, the shape of RFC 9162's recursive definition.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (size, hash) of complete subtrees, sizes decreasing

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        size, value = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, value = left_size + size, node_hash(left, value)
        self._stack.append((size, value))
        self.size += 1

    def root(self) -> bytes:
        """The root of the tree so far."""
        if not self._stack:
            return EMPTY_ROOT
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree over `leaves` (RFC 9162 2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    proof: list[bytes] = []
    lo, hi = 0, len(leaves)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            proof.append(root_hash(leaves[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root_hash(leaves[lo : lo + k]))
            lo += k
    return proof[::-1]


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """The proof that the tree of the first `size1` leaves is a prefix of the tree over `leaves` (2.1.4.1)."""
    if not 0 < size1 <= len(leaves):
        raise ValueError(f"size {size1} is not within a tree of {len(leaves)} leaves")
    return _subproof(size1, leaves, complete=True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_hash(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_hash(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether `proof` puts leaf hash `leaf` at `index` of the tree of `size` leaves with `root` (2.1.3.2)."""
    if not 0 <= index < size or len(leaf) != _HASH_BYTES:
        return False
    fn, sn, value = index, size - 1, leaf
    for step in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = node_hash(step, value)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            value = node_hash(value, step)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and value == root


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    """Whether `proof` shows the tree (size1, root1) to be a prefix of the tree (size2, root2) (2.1.4.2).

    Equal sizes need an empty proof and equal roots; a consistency check against an empty tree proves
    nothing and is refused.
    """
    if size1 < 1 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 a power of two: its root is the first node of the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for step in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(step, fr), node_hash(step, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, step)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2
