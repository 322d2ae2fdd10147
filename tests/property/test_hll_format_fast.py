"""The HyperLogLog byte format's slice-based codec equals the loops it replaced.

The earlier encoder and decoder (one register or entry at a time) are kept here as
the reference: the same bytes for every sketch, the same registers or the same
ValueError message for any input bytes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamkit.aggregate.hll_format import (
    _pack6,
    _pack6_loop,
    _unpack6,
    _unpack6_loop,
    decode_registers,
    encode_registers,
    max_rank,
)

SETTINGS = settings(max_examples=300, deadline=None)
precisions = st.integers(4, 16)


def reference_encode(precision: int, registers: Mapping[int, int] | bytes | bytearray) -> bytes:
    header = bytes((1, precision))
    if isinstance(registers, Mapping):
        used = sorted(registers.items())
    else:
        register_count = 1 << precision
        if register_count - registers.count(0) >= register_count // 4:
            return header + bytes((0,)) + _pack6_loop(registers)
        used = [(index, rank) for index, rank in enumerate(registers) if rank]
    out = bytearray(header + bytes((1,)))
    for index, rank in used:
        out += index.to_bytes(2, "big")
        out.append(rank)
    return bytes(out)


def reference_decode(data: bytes) -> tuple[int, bytearray | list[tuple[int, int]]]:
    if len(data) < 3:
        raise ValueError(f"HyperLogLog bytes too short: {len(data)} bytes, header is 3")
    version, precision, encoding = data[0], data[1], data[2]
    if version != 1:
        raise ValueError(f"unknown HyperLogLog format version {version} (expected 1)")
    if not 4 <= precision <= 16:
        raise ValueError(f"HyperLogLog precision {precision} out of range 4..16")
    register_count = 1 << precision
    highest_rank = max_rank(precision)
    body = data[3:]
    if encoding == 0:
        want = register_count * 3 // 4
        if len(body) != want:
            raise ValueError(
                f"dense HyperLogLog p={precision} needs {want} register bytes, got {len(body)}"
            )
        registers = _unpack6_loop(body)
        if max(registers) > highest_rank:
            raise ValueError(f"HyperLogLog register value above {highest_rank} for p={precision}")
        return precision, registers
    if encoding == 1:
        if len(body) % 3:
            raise ValueError(
                f"sparse HyperLogLog body must be 3-byte entries, got {len(body)} bytes"
            )
        used: list[tuple[int, int]] = []
        previous = -1
        for offset in range(0, len(body), 3):
            index = int.from_bytes(body[offset : offset + 2], "big")
            rank = body[offset + 2]
            if index <= previous or index >= register_count:
                raise ValueError(
                    f"sparse HyperLogLog index {index} out of order or range (m={register_count})"
                )
            if not 1 <= rank <= highest_rank:
                raise ValueError(f"HyperLogLog register value {rank} out of 1..{highest_rank}")
            previous = index
            used.append((index, rank))
        return precision, used
    raise ValueError(f"unknown HyperLogLog encoding {encoding}")


@st.composite
def dense(draw: st.DrawFn) -> tuple[int, bytearray]:
    p = draw(precisions)
    fill = draw(st.sampled_from([0.0, 0.1, 0.24, 0.26, 1.0]))
    # A plain Random seeded by hypothesis: hypothesis's own randoms() turn sample() of
    # 16,383 registers into a list strategy larger than hypothesis supports.
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    top = max_rank(p)
    return p, bytearray(rnd.randint(1, top) if rnd.random() < fill else 0 for _ in range(1 << p))


@st.composite
def sparse(draw: st.DrawFn) -> tuple[int, dict[int, int]]:
    p = draw(precisions)
    m = 1 << p
    # A plain Random seeded by hypothesis: hypothesis's own randoms() turn sample() of
    # 16,383 registers into a list strategy larger than hypothesis supports.
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 1, 2, m // 8, m // 4 - 1]))
    return p, {i: rnd.randint(1, max_rank(p)) for i in rnd.sample(range(m), n)}


@SETTINGS
@given(dense())
def test_dense_codec_is_the_loop(case: tuple[int, bytearray]) -> None:
    p, registers = case
    assert _pack6(registers) == _pack6_loop(registers)
    packed = _pack6(registers)
    assert _unpack6(packed) == _unpack6_loop(packed) == registers
    data = encode_registers(p, registers)
    assert data == reference_encode(p, registers)
    assert decode_registers(data) == reference_decode(data)


@SETTINGS
@given(sparse())
def test_sparse_codec_is_the_loop(case: tuple[int, dict[int, int]]) -> None:
    p, registers = case
    data = encode_registers(p, registers)
    assert data == reference_encode(p, registers)
    assert decode_registers(data) == reference_decode(data)


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda p, enc, body: bytes((1, p, enc)) + body,
            st.integers(3, 17),
            st.integers(0, 2),
            st.binary(max_size=60),
        ),
        sparse()
        .map(lambda c: bytearray(encode_registers(*c)))
        .flatmap(
            lambda b: st.tuples(st.integers(0, max(len(b) - 1, 0)), st.integers(0, 255)).map(
                lambda edit: bytes(b[: edit[0]]) + bytes((edit[1],)) + bytes(b[edit[0] + 1 :])
            )
        ),
    )
)
def test_decoding_any_bytes_is_the_loop(data: bytes) -> None:
    try:
        expected = reference_decode(data)
    except ValueError as e:
        with pytest.raises(ValueError) as got:
            decode_registers(data)
        assert str(got.value) == str(e)
    else:
        assert decode_registers(data) == expected
