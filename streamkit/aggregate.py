"""Windowed aggregation as pure, deterministic, mergeable functions: records -> deltas.

A handler turns each record into a one-record :class:`Stats` (count, exact decimal
sum / min / max, the last value by event time, and an approximate distinct count in a
:class:`HyperLogLog`), assigns it to a tumbling :class:`Window` by *event time*, and
folds it into a batch's :class:`Deltas`. The ledger then applies each batch's deltas
exactly once; because :func:`merge` is associative and commutative, applying deltas
batch by batch (bisected, retried, in any grouping) gives the same aggregate as
folding the records one by one.

Example::

    from streamkit.aggregate import Deltas, Stats, Watermark, window_of

    deltas = Deltas()
    watermark = Watermark(allowed_lateness_s=60, value=committed_watermark)

    def handle(record):
        click = record.json()
        watermark.admit(click["ts"])            # too late: LateRecordError -> dead letter "late"
        stats = Stats.of(
            click.get("duration_ms"),           # numbers are exact Decimals
            event_time=click["ts"],
            position=record.position,           # (sequence number, sub-sequence)
            distinct_item=click["user_id"],     # unique users, ~1.6% error
        )
        deltas.add("page_views", click["page"], window_of(click["ts"], 300), stats)

    # then: len(deltas) writes, one per distinct (aggregate, key, window)

Numbers are :class:`decimal.Decimal` with at most 38 significant digits and within
DynamoDB's range. Arithmetic is exact: a sum that cannot be represented exactly
raises :class:`PrecisionError` instead of rounding silently, so no grouping of the
same records can give a different total.

Lateness: the *watermark* is the largest event time seen so far on the shard. It is
per shard and advances in shard order, so a retry that starts from the same committed
watermark (store it with the ledger's committed position) makes the same late / on
time decision for every record.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import (
    ROUND_HALF_EVEN,
    Clamped,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Subnormal,
    Underflow,
)
from typing import Any, Final, NamedTuple

import orjson

from streamkit.errors import PermanentError

__all__ = [
    "EMPTY",
    "Delta",
    "Deltas",
    "HyperLogLog",
    "InvalidValueError",
    "Last",
    "LateRecordError",
    "PrecisionError",
    "Stats",
    "Watermark",
    "Window",
    "is_late",
    "merge",
    "merge_all",
    "stats_from_item",
    "stats_to_item",
    "to_decimal",
    "window_of",
]

# --------------------------------------------------------------------------- errors


class InvalidValueError(PermanentError, ValueError):
    """A record's value cannot be aggregated (NaN, infinite, too precise, not a number,
    not JSON). A :class:`~streamkit.PermanentError`: raised in a handler, the record is
    dead-lettered with reason ``bad_value`` instead of blocking the shard."""

    reason = "bad_value"


class PrecisionError(PermanentError, ArithmeticError):
    """A merged sum is not exactly representable in 38 significant digits (or leaves
    DynamoDB's number range). Raised instead of rounding; in a handler the record is
    dead-lettered with reason ``precision``."""

    reason = "precision"


class LateRecordError(PermanentError):
    """The record's event time is older than the watermark minus the allowed lateness.

    Dead-lettered with reason ``late``.
    """

    reason = "late"

    def __init__(self, event_time: float, watermark: float, allowed_lateness_s: float) -> None:
        super().__init__(
            f"event time {event_time!r} is older than watermark {watermark!r} "
            f"minus allowed lateness {allowed_lateness_s!r}s"
        )
        self.event_time = event_time
        self.watermark = watermark
        self.allowed_lateness_s = allowed_lateness_s


# --------------------------------------------------------------------------- decimals

#: DynamoDB numbers: 38 significant digits. The exponent range is the intersection of
#: DynamoDB's (1E-130 .. 9.99E+125) and boto3's serializer context (Emin -128).
MAX_DIGITS: Final = 38
_EMAX: Final = 125
_EMIN: Final = -128

#: Exact arithmetic: anything that would round, overflow or leave the range raises.
_EXACT = Context(
    prec=MAX_DIGITS,
    Emax=_EMAX,
    Emin=_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[Inexact, Overflow, InvalidOperation, Underflow, Subnormal, Clamped, DivisionByZero],
)
#: The mean is derived (never merged), so it may round to 38 digits.
_ROUNDED = Context(
    prec=MAX_DIGITS,
    Emax=_EMAX,
    Emin=_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[Overflow, InvalidOperation, DivisionByZero],
)
_ZERO: Final = Decimal(0)
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def to_decimal(x: int | float | str | Decimal) -> Decimal:
    """Convert ``x`` to a Decimal exactly, or raise :class:`InvalidValueError` (a ValueError).

    Floats convert through ``repr`` (``0.1`` -> ``Decimal("0.1")``), strings must be plain
    decimal numbers. NaN, infinities, booleans, values needing more than 38 significant
    digits and values outside DynamoDB's range are rejected. Zero is always ``Decimal(0)``.

    >>> to_decimal(0.1) + to_decimal(0.2) == to_decimal("0.3")
    True
    >>> to_decimal(10**40)
    Decimal('1.0000000000000000000000000000000000000E+40')
    """
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, bool):
        raise InvalidValueError(f"{x!r} is a boolean, not a number")
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, float):
        if not math.isfinite(x):
            raise InvalidValueError(f"{x!r} is not a finite number")
        d = Decimal(repr(x))
    elif isinstance(x, str):
        if not _NUMBER_TEXT.fullmatch(x):
            raise InvalidValueError(f"{x!r} is not a decimal number")
        d = Decimal(x)
    else:
        raise InvalidValueError(f"{x!r} is not a number")
    if not d.is_finite():
        raise InvalidValueError(f"{x!r} is not a finite number")
    if d.is_zero():
        return _ZERO
    try:
        return _EXACT.plus(d)
    except (Inexact, Overflow, Underflow, Subnormal, Clamped) as exc:
        raise InvalidValueError(
            f"{x!r} does not fit a DynamoDB number "
            f"({MAX_DIGITS} significant digits, magnitude 1E{_EMIN}..1E+{_EMAX + 1})"
        ) from exc


def _exact_add(a: Decimal, b: Decimal) -> Decimal:
    try:
        total = _EXACT.add(a, b)
    except DecimalException as exc:
        raise PrecisionError(
            f"{a} + {b} is not exactly representable in {MAX_DIGITS} significant digits "
            "within DynamoDB's number range",
            reason="precision",
        ) from exc
    return total


def _min_total(a: Decimal, b: Decimal) -> Decimal:
    # compare_total orders 1.0 and 1.00 too, so min/max are commutative bit for bit
    return a if a.compare_total(b) <= 0 else b


def _max_total(a: Decimal, b: Decimal) -> Decimal:
    return a if a.compare_total(b) >= 0 else b


# --------------------------------------------------------------------------- windows

#: Event times must be within year 1970..9999 (window keys are ISO 8601 UTC).
MAX_EVENT_TIME: Final = 253402300800  # 10000-01-01T00:00:00Z


def _check_event_time(event_time: float, what: str = "event time") -> float:
    if isinstance(event_time, bool) or not isinstance(event_time, int | float):
        raise InvalidValueError(f"{what} {event_time!r} is not a number of epoch seconds")
    if not math.isfinite(event_time):
        raise InvalidValueError(f"{what} {event_time!r} is not finite")
    if event_time < 0:
        raise InvalidValueError(f"{what} {event_time!r} is before 1970")
    if event_time >= MAX_EVENT_TIME:
        raise InvalidValueError(f"{what} {event_time!r} is after year 9999")
    return float(event_time)


def check_event_time(event_time: float) -> float:
    """An event time as float epoch seconds, or InvalidValueError (a dead letter)
    when it is not a finite number between 1970 and the end of year 9999."""
    return _check_event_time(event_time)


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A tumbling window ``[start, start + size)`` in epoch seconds (UTC).

    >>> w = window_of(1795860312.5, 300)
    >>> w.start, w.end, w.key
    (1795860300, 1795860600, '2026-11-28T10:05:00Z')
    """

    start: int
    size: int

    def __post_init__(self) -> None:
        if type(self.size) is not int or self.size <= 0:
            raise ValueError(f"window size must be a positive int of seconds, got {self.size!r}")
        if type(self.start) is not int or not 0 <= self.start < MAX_EVENT_TIME:
            raise ValueError(f"window start must be int epoch seconds >= 0, got {self.start!r}")

    @property
    def end(self) -> int:
        """Exclusive end, epoch seconds."""
        return self.start + self.size

    @property
    def key(self) -> str:
        """The start as ISO 8601 UTC, e.g. ``2026-11-28T10:05:00Z`` (the size is not in it)."""
        return datetime.fromtimestamp(self.start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def __contains__(self, event_time: float) -> bool:
        return self.start <= event_time < self.end


def window_of(event_time: float, size_s: int) -> Window:
    """The tumbling window of ``size_s`` seconds (aligned to the epoch) holding ``event_time``.

    Event times are epoch seconds; before 1970 raises :class:`InvalidValueError`.

    >>> window_of(600, 300) == Window(600, 300) and 599.999 in window_of(599.999, 300)
    True
    """
    t = _check_event_time(event_time)
    if type(size_s) is not int or size_s <= 0:
        raise ValueError(f"window size must be a positive int of seconds, got {size_s!r}")
    start = (math.floor(t) // size_s) * size_s
    return Window(start, size_s)


# --------------------------------------------------------------------------- lateness


def is_late(event_time: float, watermark: float | None, allowed_lateness_s: float) -> bool:
    """True when ``event_time < watermark - allowed_lateness_s``.

    ``watermark`` is the largest event time seen so far on the shard (``None`` before the
    first record: nothing is late). It is per shard and advances in shard order, so a
    retry that starts from the same committed watermark sees the same decisions.

    >>> is_late(100, 160, 60), is_late(99.5, 160, 60), is_late(0, None, 0)
    (False, True, False)
    """
    if allowed_lateness_s < 0 or not math.isfinite(allowed_lateness_s):
        raise ValueError(f"allowed lateness must be >= 0 seconds, got {allowed_lateness_s!r}")
    if watermark is None:
        return False
    return event_time < watermark - allowed_lateness_s


@dataclass(slots=True)
class Watermark:
    """The per-shard watermark: the largest event time admitted so far.

    Persist ``value`` with the ledger's committed position and start the next batch from
    it; then retries, bisected batches and replays admit exactly the same records.

    >>> wm = Watermark(allowed_lateness_s=60)
    >>> wm.admit(1000.0); wm.admit(950.0); wm.value
    1000.0
    >>> wm.is_late(939.0)
    True
    """

    allowed_lateness_s: float = 0.0
    value: float | None = None

    def __post_init__(self) -> None:
        if self.allowed_lateness_s < 0 or not math.isfinite(self.allowed_lateness_s):
            raise ValueError(
                f"allowed lateness must be >= 0 seconds, got {self.allowed_lateness_s!r}"
            )

    def is_late(self, event_time: float) -> bool:
        """Whether ``event_time`` is late against the current watermark."""
        return is_late(event_time, self.value, self.allowed_lateness_s)

    def observe(self, event_time: float) -> None:
        """Advance the watermark to ``event_time`` if it is later."""
        t = _check_event_time(event_time)
        if self.value is None or t > self.value:
            self.value = t

    def admit(self, event_time: float) -> None:
        """Raise :class:`LateRecordError` (reason ``late``) if late, else observe it."""
        t = _check_event_time(event_time)
        if self.value is not None and self.is_late(t):
            raise LateRecordError(t, self.value, self.allowed_lateness_s)
        self.observe(t)


# --------------------------------------------------------------------------- HyperLogLog

_HLL_VERSION: Final = 1
_DENSE: Final = 0
_SPARSE: Final = 1
_HEADER: Final = 3  # version, precision, encoding


class HyperLogLog:
    """Approximate distinct count in a fixed ``2**p`` registers (standard error
    ``1.04 / sqrt(2**p)``: 1.6% at the default ``p=12``).

    Items are hashed with a stable 64-bit BLAKE2b, so sketches built in different
    processes merge. Serialized form: at most ``3 + 0.75 * 2**p`` bytes (3075 at
    ``p=12``); small sketches are stored sparse (3 bytes per used register).

    >>> h = HyperLogLog()
    >>> for user in ("ann", "bob", "ann"):
    ...     h.add(user)
    >>> h.estimate()
    2
    >>> HyperLogLog.from_bytes(h.to_bytes()) == h
    True
    """

    __slots__ = ("_dense", "_m", "_p", "_sparse")

    def __init__(self, p: int = 12) -> None:
        if type(p) is not int or not 4 <= p <= 16:
            raise ValueError(f"HyperLogLog precision must be an int in 4..16, got {p!r}")
        self._p = p
        self._m = 1 << p
        self._sparse: dict[int, int] | None = {}
        self._dense: bytearray | None = None

    @property
    def p(self) -> int:
        """Precision: the sketch has ``2**p`` registers."""
        return self._p

    @property
    def max_rank(self) -> int:
        """Largest possible register value (``64 - p + 1``)."""
        return 65 - self._p

    def _set(self, index: int, rank: int) -> None:
        sparse = self._sparse
        if sparse is not None:
            if rank > sparse.get(index, 0):
                sparse[index] = rank
                if len(sparse) >= self._m // 4:  # sparse only while smaller serialized
                    self._densify()
            return
        dense = self._dense
        assert dense is not None
        if rank > dense[index]:
            dense[index] = rank

    def _densify(self) -> None:
        if self._sparse is None:
            return
        dense = bytearray(self._m)
        for index, rank in self._sparse.items():
            dense[index] = rank
        self._dense = dense
        self._sparse = None

    def add(self, item: str) -> None:
        """Add one item (e.g. a user or device id)."""
        if not isinstance(item, str):
            raise InvalidValueError(f"distinct items must be str, got {item!r}")
        h = int.from_bytes(
            hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
        )
        q = 64 - self._p
        rest = h & ((1 << q) - 1)
        self._set(h >> q, q - rest.bit_length() + 1)

    def registers(self) -> bytes:
        """All ``2**p`` register values."""
        if self._dense is not None:
            return bytes(self._dense)
        dense = bytearray(self._m)
        assert self._sparse is not None
        for index, rank in self._sparse.items():
            dense[index] = rank
        return bytes(dense)

    def copy(self) -> HyperLogLog:
        """An independent copy."""
        new = HyperLogLog(self._p)
        if self._dense is not None:
            new._sparse = None
            new._dense = bytearray(self._dense)
        else:
            assert self._sparse is not None
            new._sparse = dict(self._sparse)
        return new

    def update(self, other: HyperLogLog) -> None:
        """Merge ``other`` into this sketch in place (register-wise max)."""
        if other._p != self._p:
            raise ValueError(f"cannot merge HyperLogLog p={self._p} with p={other._p}")
        if other._sparse is not None:
            for index, rank in other._sparse.items():
                self._set(index, rank)
            return
        assert other._dense is not None
        if self._sparse is not None and len(self._sparse) * 8 < self._m:
            sparse = self._sparse
            self._sparse = None
            self._dense = bytearray(other._dense)
            for index, rank in sparse.items():
                self._set(index, rank)
            return
        self._densify()
        assert self._dense is not None
        self._dense = bytearray(map(max, self._dense, other._dense))

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        """A new sketch of the union (register-wise max); neither input changes."""
        if self._dense is None and other._dense is not None:
            new = other.copy()
            new.update(self)
        else:
            new = self.copy()
            new.update(other)
        return new

    def _histogram(self) -> list[int]:
        counts = [0] * (self.max_rank + 1)
        if self._sparse is not None:
            counts[0] = self._m - len(self._sparse)
            for rank in self._sparse.values():
                counts[rank] += 1
        else:
            assert self._dense is not None
            dense = self._dense
            for rank in range(self.max_rank + 1):
                counts[rank] = dense.count(rank)
        return counts

    def estimate(self) -> int:
        """Estimated number of distinct items added: the HyperLogLog estimate with the
        standard bias correction (``alpha_m``), linear counting for small cardinalities."""
        m = self._m
        counts = self._histogram()
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
        if self._p != other._p:
            return False
        if self._sparse is not None and other._sparse is not None:
            return self._sparse == other._sparse
        return self.registers() == other.registers()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"HyperLogLog(p={self._p}, estimate={self.estimate()})"

    def to_bytes(self) -> bytes:
        """Serialize: ``[version=1, p, encoding]`` then 6-bit packed registers (dense) or
        ``(index u16, rank u8)`` triples in index order (sparse), whichever is smaller.
        Equal sketches give equal bytes."""
        header = bytes((_HLL_VERSION, self._p))
        if self._sparse is not None:
            used = sorted(self._sparse.items())
        else:
            assert self._dense is not None
            dense = self._dense
            if self._m - dense.count(0) >= self._m // 4:
                return header + bytes((_DENSE,)) + _pack6(dense)
            used = [(i, r) for i, r in enumerate(dense) if r]
        out = bytearray(header + bytes((_SPARSE,)))
        for index, rank in used:
            out += index.to_bytes(2, "big")
            out.append(rank)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HyperLogLog:
        """Parse :meth:`to_bytes` output; ``ValueError`` naming the problem otherwise."""
        data = bytes(data)
        if len(data) < _HEADER:
            raise ValueError(f"HyperLogLog bytes too short: {len(data)} bytes, header is 3")
        version, p, encoding = data[0], data[1], data[2]
        if version != _HLL_VERSION:
            raise ValueError(f"unknown HyperLogLog format version {version} (expected 1)")
        if not 4 <= p <= 16:
            raise ValueError(f"HyperLogLog precision {p} out of range 4..16")
        hll = cls(p)
        body = data[_HEADER:]
        if encoding == _DENSE:
            want = hll._m * 3 // 4
            if len(body) != want:
                raise ValueError(
                    f"dense HyperLogLog p={p} needs {want} register bytes, got {len(body)}"
                )
            registers = _unpack6(body)
            if max(registers) > hll.max_rank:
                raise ValueError(f"HyperLogLog register value above {hll.max_rank} for p={p}")
            hll._sparse = None
            hll._dense = registers
            return hll
        if encoding == _SPARSE:
            if len(body) % 3:
                raise ValueError(
                    f"sparse HyperLogLog body must be 3-byte entries, got {len(body)} bytes"
                )
            previous = -1
            for offset in range(0, len(body), 3):
                index = int.from_bytes(body[offset : offset + 2], "big")
                rank = body[offset + 2]
                if index <= previous or index >= hll._m:
                    raise ValueError(
                        f"sparse HyperLogLog index {index} out of order or range (m={hll._m})"
                    )
                if not 1 <= rank <= hll.max_rank:
                    raise ValueError(f"HyperLogLog register value {rank} out of 1..{hll.max_rank}")
                previous = index
                hll._set(index, rank)
            return hll
        raise ValueError(f"unknown HyperLogLog encoding {encoding}")


def _pack6(registers: bytes | bytearray) -> bytes:
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


# --------------------------------------------------------------------------- Stats


def _check_position(position: tuple[int, int]) -> tuple[int, int]:
    if (
        not isinstance(position, tuple)
        or len(position) != 2
        or any(type(p) is not int or p < 0 for p in position)
    ):
        raise InvalidValueError(
            f"position must be (sequence number, sub-sequence) as ints >= 0, got {position!r}"
        )
    return position


def _canonical(value: Any) -> bytes:
    if isinstance(value, Decimal):
        return b"D" + str(value).encode()
    return b"J" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class Last:
    """The value of the latest record: later event time wins, ties go to the larger
    position ``(sequence number, sub-sequence)``.

    ``value`` is JSON: a top-level number is stored as an exact Decimal; anything else
    must survive an orjson round trip unchanged (str, bool, None, lists, str-keyed
    dicts, 64-bit ints, finite floats inside containers).
    """

    value: Any
    event_time: float
    position: tuple[int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "event_time", _check_event_time(self.event_time))
        _check_position(self.position)
        value = self.value
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            object.__setattr__(self, "value", to_decimal(value))
            return
        try:
            same = orjson.loads(orjson.dumps(value)) == value
        except (orjson.JSONEncodeError, TypeError) as exc:
            raise InvalidValueError(f"last value {value!r} is not JSON-serializable") from exc
        if not same:
            raise InvalidValueError(f"last value {value!r} does not survive a JSON round trip")

    def _key(self) -> tuple[float, tuple[int, int]]:
        return (self.event_time, self.position)


def _trusted_last(value: Any, event_time: float, position: tuple[int, int]) -> Last:
    """A Last from already validated parts (skips __post_init__: hot path)."""
    last = object.__new__(Last)
    object.__setattr__(last, "value", value)
    object.__setattr__(last, "event_time", event_time)
    object.__setattr__(last, "position", position)
    return last


def _later(a: Last, b: Last) -> Last:
    ka, kb = a._key(), b._key()
    if ka != kb:
        return a if ka > kb else b
    return a if _canonical(a.value) >= _canonical(b.value) else b


_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Stats:
    """Mergeable summary of one (aggregate, key, window).

    ``count`` counts records; ``sum``/``min``/``max``/``mean`` describe the numeric
    values (``mean = sum / count``, so give every record of a valued aggregate a
    value); ``last`` is the latest value by event time; ``distinct`` an approximate
    count of distinct items. Treat ``distinct`` as immutable once in a Stats.

    >>> a = Stats.of(2, event_time=10.0, position=(1, 0), distinct_item="u1")
    >>> b = Stats.of("0.5", event_time=11.0, position=(2, 0), distinct_item="u2")
    >>> s = merge(a, b)
    >>> s.count, s.sum, s.min, s.max, s.mean, s.last.value, s.distinct.estimate()
    (2, Decimal('2.5'), Decimal('0.5'), Decimal('2'), Decimal('1.25'), Decimal('0.5'), 2)
    """

    count: int = 0
    sum: Decimal = _ZERO
    min: Decimal | None = None
    max: Decimal | None = None
    last: Last | None = None
    distinct: HyperLogLog | None = None

    def __post_init__(self) -> None:
        if type(self.count) is not int or self.count < 0:
            raise ValueError(f"count must be an int >= 0, got {self.count!r}")
        for name in ("sum", "min", "max"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, Decimal) and v.is_finite()):
                raise ValueError(f"{name} must be a finite Decimal, got {v!r}")
        if (self.min is None) != (self.max is None):
            raise ValueError("min and max must both be set or both be None")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        if self.count == 0 and (
            self.sum != 0
            or self.min is not None
            or self.last is not None
            or self.distinct is not None
        ):
            raise ValueError("Stats with count 0 must be empty")

    @classmethod
    def of(
        cls,
        value: int | float | str | Decimal | None = None,
        *,
        event_time: float,
        position: tuple[int, int],
        distinct_item: str | None = None,
        last_value: Any = _MISSING,
    ) -> Stats:
        """Stats of one record.

        ``value`` (a number, converted with :func:`to_decimal`) feeds sum/min/max and,
        unless ``last_value`` is given, the last value. ``last_value`` is any JSON value
        to keep as the last value instead (e.g. a status string). ``distinct_item`` is
        added to the distinct-count sketch. Bad values raise :class:`InvalidValueError`.

        >>> Stats.of(event_time=1.0, position=(7, 0)).count
        1
        """
        t = _check_event_time(event_time)
        _check_position(position)
        d = None if value is None else to_decimal(value)
        if last_value is not _MISSING:
            last: Last | None = Last(last_value, t, position)
        elif d is not None:
            last = _trusted_last(d, t, position)
        else:
            last = None
        hll = None
        if distinct_item is not None:
            hll = HyperLogLog()
            hll.add(distinct_item)
        return _trusted_stats(1, _ZERO if d is None else d, d, d, last, hll)

    @property
    def mean(self) -> Decimal | None:
        """``sum / count`` rounded to 38 significant digits; None when count is 0."""
        if self.count == 0:
            return None
        return _ROUNDED.divide(self.sum, Decimal(self.count))


def _trusted_stats(
    count: int,
    total: Decimal,
    lo: Decimal | None,
    hi: Decimal | None,
    last: Last | None,
    distinct: HyperLogLog | None,
) -> Stats:
    """A Stats from already validated parts (skips __post_init__: hot path)."""
    stats = object.__new__(Stats)
    setattr_ = object.__setattr__
    setattr_(stats, "count", count)
    setattr_(stats, "sum", total)
    setattr_(stats, "min", lo)
    setattr_(stats, "max", hi)
    setattr_(stats, "last", last)
    setattr_(stats, "distinct", distinct)
    return stats


#: The empty Stats: the identity of :func:`merge`.
EMPTY: Final = Stats()


def merge(a: Stats, b: Stats) -> Stats:
    """Combine two summaries. Associative and commutative; min/max/last/distinct are
    also idempotent. Neither input changes. Raises :class:`PrecisionError` when the
    sum is not exactly representable.

    >>> merge(EMPTY, Stats.of(1, event_time=0, position=(0, 0))).sum
    Decimal('1')
    """
    if b.count == 0:
        return a
    if a.count == 0:
        return b
    if a.min is None or b.min is None:
        lo, hi = (a.min, a.max) if b.min is None else (b.min, b.max)
    else:
        assert a.max is not None and b.max is not None
        lo, hi = _min_total(a.min, b.min), _max_total(a.max, b.max)
    if a.last is None or b.last is None:
        last = a.last if b.last is None else b.last
    else:
        last = _later(a.last, b.last)
    if a.distinct is None or b.distinct is None:
        distinct = a.distinct if b.distinct is None else b.distinct
    else:
        distinct = a.distinct.merge(b.distinct)
    return _trusted_stats(a.count + b.count, _exact_add(a.sum, b.sum), lo, hi, last, distinct)


def merge_all(stats: Iterable[Stats]) -> Stats:
    """Fold :func:`merge` over ``stats`` (``EMPTY`` for none)."""
    acc = EMPTY
    for s in stats:
        acc = merge(acc, s)
    return acc


# --------------------------------------------------------------------------- Deltas


class Delta(NamedTuple):
    """One item of a batch's deltas: what to merge into one stored aggregate."""

    aggregate: str
    key: str
    window: Window
    stats: Stats


class Deltas:
    """A batch's aggregate deltas, merged per (aggregate, key, window).

    ``len(deltas)`` is the number of distinct items, i.e. the aggregate writes the
    batch costs. Iteration is sorted by (aggregate, key, window start, window size),
    whatever the order records were added in.

    >>> d = Deltas()
    >>> w = window_of(1000, 60)
    >>> d.add("clicks", "/home", w, Stats.of(event_time=1000, position=(1, 0)))
    >>> d.add("clicks", "/home", w, Stats.of(event_time=1001, position=(2, 0)))
    >>> len(d), d.get("clicks", "/home", w).count
    (1, 2)
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, int, int], Stats] = {}

    def add(self, aggregate: str, key: str, window: Window, stats: Stats) -> None:
        """Merge ``stats`` into the item for (aggregate, key, window). On error (e.g.
        :class:`PrecisionError`) nothing changes."""
        if not isinstance(aggregate, str) or not aggregate:
            raise ValueError(f"aggregate name must be a non-empty str, got {aggregate!r}")
        if not isinstance(key, str):
            raise InvalidValueError(f"aggregate key must be a str, got {key!r}")
        if not isinstance(window, Window):
            raise TypeError(f"window must be a Window, got {window!r}")
        k = (aggregate, key, window.start, window.size)
        old = self._items.get(k)
        self._items[k] = stats if old is None else merge(old, stats)

    def update(self, other: Deltas) -> None:
        """Merge all of ``other`` into this."""
        for delta in other:
            self.add(*delta)

    def get(self, aggregate: str, key: str, window: Window) -> Stats | None:
        """The merged Stats for one item, or None."""
        return self._items.get((aggregate, key, window.start, window.size))

    def restore(self, aggregate: str, key: str, window: Window, stats: Stats | None) -> None:
        """Put an item back to ``stats`` (a value from :meth:`get`; None removes it).

        Lets a caller undo one record's adds when a later one of them fails.
        """
        k = (aggregate, key, window.start, window.size)
        if stats is None:
            self._items.pop(k, None)
        else:
            self._items[k] = stats

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Delta]:
        for k in sorted(self._items):
            yield Delta(k[0], k[1], Window(k[2], k[3]), self._items[k])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Deltas):
            return NotImplemented
        return self._items == other._items

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Deltas({len(self)} items)"


# --------------------------------------------------------------------------- item codec


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)  # Decimal's text is valid JSON number syntax
    return orjson.dumps(value).decode()


def stats_to_item(stats: Stats) -> dict[str, Any]:
    """Plain DynamoDB attributes (boto3 resource style: Decimal numbers, bytes binary).

    Always ``count``, ``sum``; ``mean``, ``min``, ``max`` when known; ``last_value`` (JSON
    text), ``last_event_time`` (Decimal of the float's repr), ``last_position``
    (``"<sequence>/<sub-sequence>"``, a string: sequence numbers exceed 38 digits);
    ``distinct`` (estimate) and ``distinct_hll`` (sketch bytes). Absent values are
    omitted, never None. ``mean`` and ``distinct`` are derived and ignored on reading.

    >>> stats_to_item(Stats.of(3, event_time=5.0, position=(9, 0)))["last_value"]
    '3'
    """
    item: dict[str, Any] = {"count": Decimal(stats.count), "sum": stats.sum}
    mean = stats.mean
    if mean is not None:
        item["mean"] = mean
    if stats.min is not None:
        item["min"] = stats.min
        item["max"] = stats.max
    if stats.last is not None:
        item["last_value"] = _json_text(stats.last.value)
        item["last_event_time"] = Decimal(repr(stats.last.event_time))
        seq, sub = stats.last.position
        item["last_position"] = f"{seq}/{sub}"
    if stats.distinct is not None:
        item["distinct"] = Decimal(stats.distinct.estimate())
        item["distinct_hll"] = stats.distinct.to_bytes()
    return item


def _item_number(item: Mapping[str, Any], name: str) -> Decimal:
    v = item[name]
    if isinstance(v, float) or not isinstance(v, int | Decimal):
        raise ValueError(f"item attribute {name!r} must be a number (Decimal), got {v!r}")
    try:
        return to_decimal(v)
    except InvalidValueError as exc:
        raise ValueError(f"item attribute {name!r}: {exc}") from exc


def _item_binary(item: Mapping[str, Any], name: str) -> bytes:
    v = item[name]
    raw = getattr(v, "value", v)  # boto3.dynamodb.types.Binary wraps bytes in .value
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValueError(f"item attribute {name!r} must be binary, got {type(v).__name__}")
    return bytes(raw)


def stats_from_item(item: Mapping[str, Any]) -> Stats:
    """Inverse of :func:`stats_to_item`; other attributes (keys, markers) are ignored.
    Raises ``ValueError`` naming the bad attribute.

    >>> s = Stats.of("1.5", event_time=5.0, position=(9, 0), distinct_item="x")
    >>> stats_from_item(stats_to_item(s)) == s
    True
    """
    if "count" not in item:
        return EMPTY
    count_d = _item_number(item, "count")
    if count_d != count_d.to_integral_value() or count_d < 0:
        raise ValueError(f"item attribute 'count' must be an integer >= 0, got {count_d}")
    count = int(count_d)
    total = _item_number(item, "sum") if "sum" in item else _ZERO
    lo = _item_number(item, "min") if "min" in item else None
    hi = _item_number(item, "max") if "max" in item else None
    last = None
    last_names = ("last_value", "last_event_time", "last_position")
    present = [n in item for n in last_names]
    if any(present):
        if not all(present):
            raise ValueError(f"item must have all or none of {', '.join(last_names)}")
        text = item["last_value"]
        if not isinstance(text, str):
            raise ValueError(f"item attribute 'last_value' must be JSON text, got {text!r}")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"item attribute 'last_value' is not JSON: {text!r}") from exc
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = Decimal(text)  # top-level numbers are Decimals, exactly as written
        position_text = item["last_position"]
        seq, sep, sub = (
            position_text.partition("/") if isinstance(position_text, str) else ("", "", "")
        )
        if not (sep and seq.isascii() and seq.isdigit() and sub.isascii() and sub.isdigit()):
            raise ValueError(
                f"item attribute 'last_position' must be '<sequence>/<sub-sequence>', "
                f"got {position_text!r}"
            )
        event_time = float(_item_number(item, "last_event_time"))
        try:
            last = Last(value, event_time, (int(seq), int(sub)))
        except InvalidValueError as exc:
            raise ValueError(f"item has a bad last value: {exc}") from exc
    distinct = None
    if "distinct_hll" in item:
        try:
            distinct = HyperLogLog.from_bytes(_item_binary(item, "distinct_hll"))
        except ValueError as exc:
            raise ValueError(f"item attribute 'distinct_hll': {exc}") from exc
    try:
        return Stats(count=count, sum=total, min=lo, max=hi, last=last, distinct=distinct)
    except ValueError as exc:
        raise ValueError(f"inconsistent aggregate item: {exc}") from exc
