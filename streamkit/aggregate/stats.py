"""Stats: the mergeable summary of one aggregate item, and :func:`merge`.

A handler turns each record into a one-record :class:`Stats` (count, exact decimal
sum / min / max, the last value by event time, and an approximate distinct count in a
:class:`~streamkit.aggregate.hll.HyperLogLog`). :func:`merge` is associative and
commutative, so merging per batch (bisected, retried, in any grouping) gives the same
summary as folding the records one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson

from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.hll import HyperLogLog, check_distinct_item
from streamkit.aggregate.numbers import (
    ZERO,
    exact_sum,
    max_in_total_order,
    min_in_total_order,
    rounded_quotient,
    to_decimal,
)
from streamkit.aggregate.windows import check_event_time


def check_position(position: tuple[int, int]) -> tuple[int, int]:
    """``position`` if it is ``(sequence number, sub-sequence)`` as ints >= 0, else
    :class:`InvalidValueError`."""
    if (
        not isinstance(position, tuple)
        or len(position) != 2
        or any(type(part) is not int or part < 0 for part in position)
    ):
        raise InvalidValueError(
            f"position must be (sequence number, sub-sequence) as ints >= 0, got {position!r}"
        )
    return position


def _canonical_bytes(value: Any) -> bytes:
    """A total, representation-exact order key for last values that tie on time and
    position (so merge stays commutative bit for bit)."""
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
        object.__setattr__(self, "event_time", check_event_time(self.event_time))
        check_position(self.position)
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

    def _recency(self) -> tuple[float, tuple[int, int]]:
        return (self.event_time, self.position)


def _trusted_last(value: Any, event_time: float, position: tuple[int, int]) -> Last:
    """A Last from already validated parts (skips __post_init__: hot path)."""
    last = object.__new__(Last)
    object.__setattr__(last, "value", value)
    object.__setattr__(last, "event_time", event_time)
    object.__setattr__(last, "position", position)
    return last


def _later(a: Last, b: Last) -> Last:
    recency_a, recency_b = a._recency(), b._recency()
    if recency_a != recency_b:
        return a if recency_a > recency_b else b
    return a if _canonical_bytes(a.value) >= _canonical_bytes(b.value) else b


#: Marks "no last_value given" (None is a JSON value one may give).
_NOT_GIVEN: Any = object()


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
    sum: Decimal = ZERO
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
        last_value: Any = _NOT_GIVEN,
    ) -> Stats:
        """Stats of one record.

        ``value`` (a number, converted with :func:`to_decimal`) feeds sum/min/max and,
        unless ``last_value`` is given, the last value. ``last_value`` is any JSON value
        to keep as the last value instead (e.g. a status string). ``distinct_item`` is
        added to the distinct-count sketch. Bad values raise :class:`InvalidValueError`.

        >>> Stats.of(event_time=1.0, position=(7, 0)).count
        1
        """
        t = check_event_time(event_time)
        check_position(position)
        number = None if value is None else to_decimal(value)
        if last_value is not _NOT_GIVEN:
            last: Last | None = Last(last_value, t, position)
        elif number is not None:
            last = _trusted_last(number, t, position)
        else:
            last = None
        distinct = None
        if distinct_item is not None:
            distinct = HyperLogLog()
            distinct.add(check_distinct_item(distinct_item))
        total = ZERO if number is None else number
        return _trusted_stats(1, total, number, number, last, distinct)

    @property
    def mean(self) -> Decimal | None:
        """``sum / count`` rounded to 38 significant digits; None when count is 0."""
        if self.count == 0:
            return None
        return rounded_quotient(self.sum, Decimal(self.count))


def _trusted_stats(
    count: int,
    total: Decimal,
    minimum: Decimal | None,
    maximum: Decimal | None,
    last: Last | None,
    distinct: HyperLogLog | None,
) -> Stats:
    """A Stats from already validated parts (skips __post_init__: hot path)."""
    stats = object.__new__(Stats)
    setattr_ = object.__setattr__
    setattr_(stats, "count", count)
    setattr_(stats, "sum", total)
    setattr_(stats, "min", minimum)
    setattr_(stats, "max", maximum)
    setattr_(stats, "last", last)
    setattr_(stats, "distinct", distinct)
    return stats


#: The empty Stats: the identity of :func:`merge`.
EMPTY: Final = Stats()


def merge(a: Stats, b: Stats) -> Stats:
    """Combine two summaries. Associative and commutative; min/max/last/distinct are
    also idempotent. Neither input changes. Sums are exact (beyond 38 digits, see
    :func:`~streamkit.aggregate.numbers.exact_sum`); :class:`PrecisionError` only past
    2,000 digits.

    >>> merge(EMPTY, Stats.of(1, event_time=0, position=(0, 0))).sum
    Decimal('1')
    """
    if b.count == 0:
        return a
    if a.count == 0:
        return b
    if a.min is None or b.min is None:
        minimum, maximum = (a.min, a.max) if b.min is None else (b.min, b.max)
    else:
        assert a.max is not None and b.max is not None
        minimum = min_in_total_order(a.min, b.min)
        maximum = max_in_total_order(a.max, b.max)
    if a.last is None or b.last is None:
        last = a.last if b.last is None else b.last
    else:
        last = _later(a.last, b.last)
    if a.distinct is None or b.distinct is None:
        distinct = a.distinct if b.distinct is None else b.distinct
    else:
        distinct = a.distinct.merge(b.distinct)
    total = exact_sum(a.sum, b.sum)
    return _trusted_stats(a.count + b.count, total, minimum, maximum, last, distinct)


class Accumulator:
    """A :class:`Stats` being built in place: what folding :func:`merge` over the
    added Stats gives, without a new Stats (and a copy of its sketch) per record.

    A batch's deltas keep one per item (:class:`~streamkit.aggregate.deltas.Deltas`):
    a record counted without a value (:meth:`count_one`) costs an increment and, with
    a distinct item, one sketch update. The sketch is the accumulator's own (copied in,
    copied out), so Stats stay immutable. :meth:`add` and :meth:`count_one` take the
    exact sum already computed (:meth:`sum_with`, the one step that can fail), so a
    caller can compute every sum of a record first and change nothing when one fails.
    """

    __slots__ = ("count", "distinct", "last", "max", "min", "sum")

    def __init__(self) -> None:
        self.count = 0
        self.sum: Decimal = ZERO
        self.min: Decimal | None = None
        self.max: Decimal | None = None
        self.last: Last | None = None
        self.distinct: HyperLogLog | None = None

    @classmethod
    def of(cls, stats: Stats) -> Accumulator:
        """An accumulator holding ``stats``."""
        acc = cls()
        acc.add(stats, stats.sum)
        return acc

    def sum_with(self, stats: Stats | None) -> Decimal:
        """The exact sum after adding ``stats`` (None: a record without a value), as
        :func:`merge` computes it; :class:`PrecisionError` beyond 2,000 digits."""
        if stats is None:
            # Stats.of(None)'s sum is ZERO; merge adds it (which can change the
            # exponent of a sum of valued records, so it is added unless both are ZERO)
            return ZERO if self.count == 0 or self.sum is ZERO else exact_sum(self.sum, ZERO)
        if stats.count == 0:
            return self.sum
        if self.count == 0:
            return stats.sum
        return exact_sum(self.sum, stats.sum)

    def count_one(self, distinct_item: str | None, total: Decimal) -> None:
        """Add one record without a value: ``Stats.of(distinct_item=distinct_item)``
        (an item already checked with :func:`check_distinct_item`); ``total`` is
        :meth:`sum_with` ``(None)``."""
        self.count += 1
        self.sum = total
        if distinct_item is not None:
            sketch = self.distinct
            if sketch is None:
                sketch = self.distinct = HyperLogLog()
            sketch.add_str(distinct_item)

    def add(self, stats: Stats, total: Decimal) -> None:
        """Merge ``stats`` in; ``total`` is :meth:`sum_with` ``(stats)``."""
        if stats.count == 0:
            return
        if self.count == 0:
            self.min, self.max, self.last = stats.min, stats.max, stats.last
            self.distinct = None if stats.distinct is None else stats.distinct.copy()
        else:
            if stats.min is not None:
                if self.min is None or self.max is None:
                    self.min, self.max = stats.min, stats.max
                else:
                    assert stats.max is not None
                    self.min = min_in_total_order(self.min, stats.min)
                    self.max = max_in_total_order(self.max, stats.max)
            if stats.last is not None:
                self.last = stats.last if self.last is None else _later(self.last, stats.last)
            if stats.distinct is not None:
                if self.distinct is None:
                    self.distinct = stats.distinct.copy()
                else:
                    self.distinct.update(stats.distinct)
        self.count += stats.count
        self.sum = total

    def stats(self) -> Stats:
        """The Stats accumulated so far (its own copy of the sketch)."""
        if self.count == 0:
            return EMPTY
        distinct = None if self.distinct is None else self.distinct.copy()
        return _trusted_stats(self.count, self.sum, self.min, self.max, self.last, distinct)


def merge_all(stats: Iterable[Stats]) -> Stats:
    """Fold :func:`merge` over ``stats`` (``EMPTY`` for none)."""
    merged = EMPTY
    for s in stats:
        merged = merge(merged, s)
    return merged
