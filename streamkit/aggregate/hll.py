"""HyperLogLog: an approximate, mergeable count of distinct items."""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.hll_format import (
    MAX_PRECISION,
    MIN_PRECISION,
    decode_registers,
    encode_registers,
    max_rank,
)


def check_distinct_item(item: object) -> str:
    """``item`` if it can be counted as a distinct item (a str), else
    :class:`InvalidValueError` (the record's dead letter)."""
    if not isinstance(item, str):
        raise InvalidValueError(f"distinct items must be str, got {item!r}")
    return item


#: Hashes of recent items (a batch repeats its users, devices, ...): BLAKE2b costs
#: ~10x a dict lookup. Bounded (a few MB at most): cleared when full; only items of
#: up to 64 characters (ids, UUIDs) are kept.
_HASHES: dict[str, int] = {}
_HASHES_LIMIT = 1 << 14
_HASHED_ITEM_CHARS = 64


def item_hash(item: str) -> int:
    """The stable 64-bit hash of a distinct item (BLAKE2b of its UTF-8, big-endian)."""
    cached = _HASHES.get(item)
    if cached is not None:
        return cached
    value = int.from_bytes(
        hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )
    if len(item) <= _HASHED_ITEM_CHARS:
        if len(_HASHES) >= _HASHES_LIMIT:
            _HASHES.clear()
        _HASHES[item] = value
    return value


class HyperLogLog:
    """Approximate distinct count in a fixed ``2**precision`` registers (standard error
    ``1.04 / sqrt(2**precision)``: 1.6% at the default ``precision=12``).

    Items are hashed with a stable 64-bit BLAKE2b, so sketches built in different
    processes merge. Serialized form (:mod:`~streamkit.aggregate.hll_format`): at most
    ``3 + 0.75 * 2**precision`` bytes (3075 at 12); small sketches are stored sparse
    (3 bytes per used register).

    >>> h = HyperLogLog()
    >>> for user in ("ann", "bob", "ann"):
    ...     h.add(user)
    >>> h.estimate()
    2
    >>> HyperLogLog.from_bytes(h.to_bytes()) == h
    True
    """

    # Registers are held sparse (index -> rank of the used ones) while fewer than a
    # quarter are used, then dense (every register's rank): exactly one is not None.
    __slots__ = ("_dense_registers", "_precision", "_register_count", "_sparse_registers")

    def __init__(self, precision: int = 12) -> None:
        if type(precision) is not int or not MIN_PRECISION <= precision <= MAX_PRECISION:
            raise ValueError(f"HyperLogLog precision must be an int in 4..16, got {precision!r}")
        self._precision = precision
        self._register_count = 1 << precision
        self._sparse_registers: dict[int, int] | None = {}
        self._dense_registers: bytearray | None = None

    @property
    def precision(self) -> int:
        """The sketch has ``2**precision`` registers."""
        return self._precision

    @property
    def max_rank(self) -> int:
        """Largest possible register value (``64 - precision + 1``)."""
        return max_rank(self._precision)

    def _raise_register(self, index: int, rank: int) -> None:
        """Set register ``index`` to ``rank`` if that is higher."""
        sparse = self._sparse_registers
        if sparse is not None:
            if rank > sparse.get(index, 0):
                sparse[index] = rank
                if len(sparse) >= self._register_count // 4:  # sparse only while smaller
                    self._densify()
            return
        dense = self._dense_registers
        assert dense is not None
        if rank > dense[index]:
            dense[index] = rank

    def _densify(self) -> None:
        if self._sparse_registers is None:
            return
        dense = bytearray(self._register_count)
        for index, rank in self._sparse_registers.items():
            dense[index] = rank
        self._dense_registers = dense
        self._sparse_registers = None

    def add(self, item: str) -> None:
        """Add one item (e.g. a user or device id)."""
        self.add_str(check_distinct_item(item))

    def add_str(self, item: str) -> None:
        """Add one item known to be a str (:func:`check_distinct_item`): the hot path
        of planning, one call per record and distinct aggregate."""
        hashed = _HASHES.get(item)
        if hashed is None:
            hashed = item_hash(item)
        # add_hash(hashed), inline (see there)
        rest_bits = 64 - self._precision
        index = hashed >> rest_bits
        rank = rest_bits - (hashed & ((1 << rest_bits) - 1)).bit_length() + 1
        sparse = self._sparse_registers
        if sparse is not None and len(sparse) < self._register_count // 4 - 1:
            if rank > sparse.get(index, 0):
                sparse[index] = rank
            return
        self._raise_register(index, rank)

    def add_hash(self, hashed: int) -> None:
        """Add one item by its :func:`item_hash`."""
        # The first `precision` bits pick the register; the rank is the position of the
        # first 1 bit in the rest.
        rest_bits = 64 - self._precision
        rest = hashed & ((1 << rest_bits) - 1)
        index, rank = hashed >> rest_bits, rest_bits - rest.bit_length() + 1
        sparse = self._sparse_registers
        if sparse is not None and len(sparse) < self._register_count // 4 - 1:
            if rank > sparse.get(index, 0):
                sparse[index] = rank  # still sparse after it (the common case, inline)
            return
        self._raise_register(index, rank)

    def registers(self) -> bytes:
        """All ``2**precision`` register values."""
        if self._dense_registers is not None:
            return bytes(self._dense_registers)
        dense = bytearray(self._register_count)
        assert self._sparse_registers is not None
        for index, rank in self._sparse_registers.items():
            dense[index] = rank
        return bytes(dense)

    def copy(self) -> HyperLogLog:
        """An independent copy."""
        new = HyperLogLog(self._precision)
        if self._dense_registers is not None:
            new._sparse_registers = None
            new._dense_registers = bytearray(self._dense_registers)
        else:
            assert self._sparse_registers is not None
            new._sparse_registers = dict(self._sparse_registers)
        return new

    def update(self, other: HyperLogLog) -> None:
        """Merge ``other`` into this sketch in place (register-wise max)."""
        if other._precision != self._precision:
            raise ValueError(
                f"cannot merge HyperLogLog p={self._precision} with p={other._precision}"
            )
        if other._sparse_registers is not None:
            dense = self._dense_registers
            if dense is None:
                # Sparse into sparse: _raise_register inline (the sketch densifies once
                # it holds a quarter of the registers; it only grows, so checking at
                # the end gives the same form as checking at each register).
                sparse = self._sparse_registers
                assert sparse is not None
                for index, rank in other._sparse_registers.items():
                    if rank > sparse.get(index, 0):
                        sparse[index] = rank
                if len(sparse) >= self._register_count // 4:
                    self._densify()
                return
            # Into dense registers (a stored sketch taking a batch's): _raise_register's
            # dense branch, inline, as this runs once per used register of the batch.
            for index, rank in other._sparse_registers.items():
                if rank > dense[index]:
                    dense[index] = rank
            return
        assert other._dense_registers is not None
        if (
            self._sparse_registers is not None
            and len(self._sparse_registers) * 8 < self._register_count
        ):
            # few registers of our own: start from a copy of the other's
            sparse = self._sparse_registers
            self._sparse_registers = None
            self._dense_registers = bytearray(other._dense_registers)
            for index, rank in sparse.items():
                self._raise_register(index, rank)
            return
        self._densify()
        assert self._dense_registers is not None
        self._dense_registers = bytearray(map(max, self._dense_registers, other._dense_registers))

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        """A new sketch of the union (register-wise max); neither input changes."""
        if self._dense_registers is None and other._dense_registers is not None:
            new = other.copy()
            new.update(self)
        else:
            new = self.copy()
            new.update(other)
        return new

    def _registers_per_rank(self) -> list[int]:
        """How many registers hold each rank 0 .. max_rank."""
        counts = [0] * (self.max_rank + 1)
        if self._sparse_registers is not None:
            counts[0] = self._register_count - len(self._sparse_registers)
            for rank, used in Counter(self._sparse_registers.values()).items():
                counts[rank] += used
        else:
            assert self._dense_registers is not None
            dense = self._dense_registers
            for rank in range(self.max_rank + 1):
                counts[rank] = dense.count(rank)
        return counts

    def estimate(self) -> int:
        """Estimated number of distinct items added: the HyperLogLog estimate with the
        standard bias correction (``alpha_m``), linear counting for small cardinalities."""
        m = self._register_count
        counts = self._registers_per_rank()
        harmonic = math.fsum(c * 2.0**-rank for rank, c in enumerate(counts) if c)
        if m == 16:
            alpha = 0.673
        elif m == 32:
            alpha = 0.697
        elif m == 64:
            alpha = 0.709
        else:
            alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / harmonic
        zeros = counts[0]
        if raw <= 2.5 * m and zeros:
            return round(m * math.log(m / zeros))
        return round(raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        if self._precision != other._precision:
            return False
        if self._sparse_registers is not None and other._sparse_registers is not None:
            return self._sparse_registers == other._sparse_registers
        return self.registers() == other.registers()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"HyperLogLog(precision={self._precision}, estimate={self.estimate()})"

    def to_bytes(self) -> bytes:
        """Serialize (:func:`~streamkit.aggregate.hll_format.encode_registers`); equal
        sketches give equal bytes."""
        if self._sparse_registers is not None:
            return encode_registers(self._precision, self._sparse_registers)
        assert self._dense_registers is not None
        return encode_registers(self._precision, self._dense_registers)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HyperLogLog:
        """Parse :meth:`to_bytes` output; ``ValueError`` naming the problem otherwise."""
        precision, registers = decode_registers(bytes(data))
        sketch = cls(precision)
        if isinstance(registers, bytearray):
            sketch._sparse_registers = None
            sketch._dense_registers = registers
        elif len(registers) < sketch._register_count // 4:
            # distinct indexes (checked): what raising them one by one gives, sparse
            sketch._sparse_registers = dict(registers)
        else:
            for index, rank in registers:
                sketch._raise_register(index, rank)
        return sketch
