"""The byte format of a HyperLogLog sketch (stored in DynamoDB as ``distinct_hll``).

Three header bytes ``[version=1, precision, encoding]``, then either every register
6-bit packed (``dense``) or ``(index u16 big-endian, rank u8)`` entries in index order
for the registers in use (``sparse``), whichever is smaller. Equal registers always
give equal bytes, so stored sketches compare byte for byte.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Mapping
from typing import Final

FORMAT_VERSION: Final = 1
DENSE_ENCODING: Final = 0
SPARSE_ENCODING: Final = 1
HEADER_BYTES: Final = 3  # version, precision, encoding
MIN_PRECISION: Final = 4
MAX_PRECISION: Final = 16
assert array("H").itemsize == 2  # sparse entries are read and written as u16 arrays


def max_rank(precision: int) -> int:
    """Largest possible register value of a sketch with ``2**precision`` registers:
    the 64-bit hash leaves ``64 - precision`` bits, so a rank of at most one more."""
    return 65 - precision


def encode_registers(precision: int, registers: Mapping[int, int] | bytes | bytearray) -> bytes:
    """The bytes of a sketch whose registers are ``registers``: a mapping of the used
    registers (index -> rank, fewer than a quarter of them) or all ``2**precision``
    register values."""
    header = bytes((FORMAT_VERSION, precision))
    if isinstance(registers, Mapping):
        indexes = sorted(registers)
        ranks = bytes(map(registers.__getitem__, indexes))
    else:
        register_count = 1 << precision
        if register_count - registers.count(0) >= register_count // 4:
            return header + bytes((DENSE_ENCODING,)) + _pack6(registers)
        indexes = [index for index, rank in enumerate(registers) if rank]
        ranks = bytes(map(registers.__getitem__, indexes))
    return header + bytes((SPARSE_ENCODING,)) + _sparse_body(indexes, ranks)


def _sparse_body(indexes: list[int], ranks: bytes) -> bytes:
    """``(index u16 big-endian, rank u8)`` entries, built with slice assignments (the
    entries of a sketch near the sparse limit are ~1,000: no Python loop over them)."""
    big_endian = array("H", indexes)
    if sys.byteorder == "little":
        big_endian.byteswap()
    index_bytes = big_endian.tobytes()
    out = bytearray(3 * len(indexes))
    out[0::3] = index_bytes[0::2]
    out[1::3] = index_bytes[1::2]
    out[2::3] = ranks
    return bytes(out)


def decode_registers(data: bytes) -> tuple[int, bytearray | list[tuple[int, int]]]:
    """``(precision, registers)`` from :func:`encode_registers` output: all register
    values (dense) or the used ``(index, rank)`` pairs in index order (sparse).
    ``ValueError`` naming the problem otherwise."""
    if len(data) < HEADER_BYTES:
        raise ValueError(f"HyperLogLog bytes too short: {len(data)} bytes, header is 3")
    version, precision, encoding = data[0], data[1], data[2]
    if version != FORMAT_VERSION:
        raise ValueError(f"unknown HyperLogLog format version {version} (expected 1)")
    if not MIN_PRECISION <= precision <= MAX_PRECISION:
        raise ValueError(f"HyperLogLog precision {precision} out of range 4..16")
    register_count = 1 << precision
    highest_rank = max_rank(precision)
    body = data[HEADER_BYTES:]
    if encoding == DENSE_ENCODING:
        want = register_count * 3 // 4
        if len(body) != want:
            raise ValueError(
                f"dense HyperLogLog p={precision} needs {want} register bytes, got {len(body)}"
            )
        registers = _unpack6(body)
        if max(registers) > highest_rank:
            raise ValueError(f"HyperLogLog register value above {highest_rank} for p={precision}")
        return precision, registers
    if encoding == SPARSE_ENCODING:
        if len(body) % 3:
            raise ValueError(
                f"sparse HyperLogLog body must be 3-byte entries, got {len(body)} bytes"
            )
        indexes, ranks = _sparse_entries(body)
        if not ranks or (
            indexes[-1] < register_count
            and min(ranks) >= 1
            and max(ranks) <= highest_rank
            and indexes == sorted(set(indexes))
        ):
            return precision, list(zip(indexes, ranks, strict=True))
        used = []  # refused: find the first bad entry and name it
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


def _sparse_entries(body: bytes) -> tuple[list[int], bytes]:
    """The indexes and ranks of a sparse body's entries (a multiple of 3 bytes)."""
    pairs = bytearray(2 * (len(body) // 3))
    pairs[0::2] = body[0::3]
    pairs[1::2] = body[1::3]
    indexes = array("H")
    indexes.frombytes(bytes(pairs))
    if sys.byteorder == "little":
        indexes.byteswap()
    return indexes.tolist(), body[2::3]


def _table(f: Callable[[int], int]) -> bytes:
    return bytes(f(b) & 0xFF for b in range(256))


# Byte maps for packing 6-bit registers with bytes.translate (C loops, no per-byte
# Python): each packed byte is two shifted pieces OR-ed together.
_SHL2 = _table(lambda b: b << 2)
_SHR4 = _table(lambda b: b >> 4)
_LOW4_SHL4 = _table(lambda b: (b & 15) << 4)
_SHR2 = _table(lambda b: b >> 2)
_LOW2_SHL6 = _table(lambda b: (b & 3) << 6)
_LOW2_SHL4 = _table(lambda b: (b & 3) << 4)
_LOW4_SHL2 = _table(lambda b: (b & 15) << 2)
_SHR6 = _table(lambda b: b >> 6)
_LOW6 = _table(lambda b: b & 63)


def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equally long byte strings."""
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _pack6(registers: bytes | bytearray) -> bytes:
    """Four 6-bit register values per three bytes, big-endian."""
    r0, r1, r2, r3 = (bytes(registers[i::4]) for i in range(4))
    out = bytearray(len(r0) * 3)
    out[0::3] = _or(r0.translate(_SHL2), r1.translate(_SHR4))
    out[1::3] = _or(r1.translate(_LOW4_SHL4), r2.translate(_SHR2))
    out[2::3] = _or(r2.translate(_LOW2_SHL6), r3)
    return bytes(out)


def _unpack6(packed: bytes) -> bytearray:
    """Inverse of :func:`_pack6`."""
    p0, p1, p2 = (bytes(packed[i::3]) for i in range(3))
    out = bytearray(len(p0) * 4)
    out[0::4] = p0.translate(_SHR2)
    out[1::4] = _or(p0.translate(_LOW2_SHL4), p1.translate(_SHR4))
    out[2::4] = _or(p1.translate(_LOW4_SHL2), p2.translate(_SHR6))
    out[3::4] = p2.translate(_LOW6)
    return out


def _pack6_loop(registers: bytes | bytearray) -> bytes:
    """:func:`_pack6` one group at a time (the reference its tests compare with)."""
    out = bytearray(len(registers) * 3 // 4)
    j = 0
    for i in range(0, len(registers), 4):
        v = registers[i] << 18 | registers[i + 1] << 12 | registers[i + 2] << 6 | registers[i + 3]
        out[j] = v >> 16
        out[j + 1] = (v >> 8) & 0xFF
        out[j + 2] = v & 0xFF
        j += 3
    return bytes(out)


def _unpack6_loop(packed: bytes) -> bytearray:
    """Inverse of :func:`_pack6_loop`."""
    out = bytearray(len(packed) * 4 // 3)
    j = 0
    for i in range(0, len(packed), 3):
        v = packed[i] << 16 | packed[i + 1] << 8 | packed[i + 2]
        out[j] = v >> 18
        out[j + 1] = (v >> 12) & 0x3F
        out[j + 2] = (v >> 6) & 0x3F
        out[j + 3] = v & 0x3F
        j += 4
    return out
