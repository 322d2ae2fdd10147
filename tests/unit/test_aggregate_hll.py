"""HyperLogLog and its byte format (issue 4): streamkit.aggregate.hll, .hll_format."""

from __future__ import annotations

import math

import pytest

from streamkit.aggregate import HyperLogLog

STANDARD_ERROR = 1.04 / math.sqrt(4096)


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_hll_estimate_within_three_standard_errors(n: int) -> None:
    h = HyperLogLog()
    for i in range(n):
        h.add(f"user-{i}")
        if i % 7 == 0:
            h.add(f"user-{i}")  # duplicates do not count
    est = h.estimate()
    assert abs(est - n) <= 3 * STANDARD_ERROR * n, (n, est)


def test_hll_small_counts_are_exact_enough_and_empty_is_zero() -> None:
    h = HyperLogLog()
    assert h.estimate() == 0
    for name in ["a", "b", "c", "a"]:
        h.add(name)
    assert h.estimate() == 3


def test_hll_hash_is_stable_across_processes() -> None:
    """blake2b, not hash(): a known item always lands in the same register."""
    h = HyperLogLog()
    h.add("device-42")
    assert h.to_bytes().hex() == "010c01" + _known_register("device-42")


def _known_register(item: str) -> str:
    import hashlib

    v = int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")
    index, rest = v >> 52, v & ((1 << 52) - 1)
    return index.to_bytes(2, "big").hex() + bytes([52 - rest.bit_length() + 1]).hex()


def test_hll_merge_is_union() -> None:
    a, b, u = HyperLogLog(), HyperLogLog(), HyperLogLog()
    for i in range(3000):
        (a if i < 2000 else b).add(str(i))
        if 1000 <= i < 2000:
            b.add(str(i))
        u.add(str(i))
    m = a.merge(b)
    assert m == u and b.merge(a) == u
    assert abs(m.estimate() - 3000) <= 3 * STANDARD_ERROR * 3000
    with pytest.raises(ValueError, match="p=12 with p=10"):
        a.merge(HyperLogLog(10))


def test_hll_serialized_size_is_bounded_and_round_trips() -> None:
    for n in (0, 1, 500, 1023, 1500, 50_000):
        h = HyperLogLog()
        for i in range(n):
            h.add(f"x{i}")
        data = h.to_bytes()
        assert len(data) <= 4096
        back = HyperLogLog.from_bytes(data)
        assert back == h and back.to_bytes() == data
        assert back.estimate() == h.estimate()
    assert len(HyperLogLog().to_bytes()) == 3


def test_hll_equal_sketches_serialize_equally_whatever_the_history() -> None:
    dense = HyperLogLog()
    for i in range(50_000):
        dense.add(f"x{i}")
    grown = HyperLogLog()
    for i in range(50_000):
        grown.add(f"x{i}")
    assert dense.to_bytes() == grown.to_bytes()
    small = HyperLogLog()
    small.add("only")
    merged = HyperLogLog()
    merged.update(small)
    assert merged.to_bytes() == small.to_bytes()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "too short"),
        (b"\x01\x0c", "too short"),
        (b"\x02\x0c\x00" + bytes(3072), "version 2"),
        (b"\x01\x03\x01", "precision 3"),
        (b"\x01\x0c\x00" + bytes(3071), "3072 register bytes, got 3071"),
        (b"\x01\x0c\x00" + b"\xff" * 3072, "register value above 53"),
        (b"\x01\x0c\x01\x00\x01", "3-byte entries"),
        (b"\x01\x0c\x01\x00\x05\x01\x00\x05\x01", "out of order"),
        (b"\x01\x0c\x01\x10\x00\x01", "index 4096"),
        (b"\x01\x0c\x01\x00\x01\x00", "value 0"),
        (b"\x01\x0c\x01\x00\x01\x36", "value 54"),
        (b"\x01\x0c\x07", "encoding 7"),
    ],
)
def test_hll_bad_bytes_rejected(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HyperLogLog.from_bytes(data)


def test_hll_precision_validated() -> None:
    with pytest.raises(ValueError, match="precision"):
        HyperLogLog(3)
    assert HyperLogLog(16).precision == 16
