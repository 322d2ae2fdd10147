"""The byte format of a HyperLogLog sketch (stored in DynamoDB as ``distinct_hll``).

Three header bytes ``[version=1, precision, encoding]``, then either every register
6-bit packed (``dense``) or ``(index u16 big-endian, rank u8)`` entries in index order
for the registers in use (``sparse``), whichever is smaller. Equal registers always
give equal bytes, so stored sketches compare byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

FORMAT_VERSION: Final = 1
DENSE_ENCODING: Final = 0
SPARSE_ENCODING: Final = 1
HEADER_BYTES: Final = 3  # version, precision, encoding
MIN_PRECISION: Final = 4
MAX_PRECISION: Final = 16


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
        used = sorted(registers.items())
    else:
        register_count = 1 << precision
        if register_count - registers.count(0) >= register_count // 4:
            return header + bytes((DENSE_ENCODING,)) + _pack6(registers)
        used = [(index, rank) for index, rank in enumerate(registers) if rank]
    out = bytearray(header + bytes((SPARSE_ENCODING,)))
    for index, rank in used:
        out += index.to_bytes(2, "big")
        out.append(rank)
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


def _pack6(registers: bytes | bytearray) -> bytes:
    """Four 6-bit register values per three bytes, big-endian."""
    out = bytearray(len(registers) * 3 // 4)
    j = 0
    for i in range(0, len(registers), 4):
        v = registers[i] << 18 | registers[i + 1] << 12 | registers[i + 2] << 6 | registers[i + 3]
        out[j] = v >> 16
        out[j + 1] = (v >> 8) & 0xFF
        out[j + 2] = v & 0xFF
        j += 3
    return bytes(out)


def _unpack6(packed: bytes) -> bytearray:
    """Inverse of :func:`_pack6`."""
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
