"""A batch's aggregate deltas: one merged :class:`Stats` per (aggregate, key, window)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import NamedTuple

from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.hll import HyperLogLog, check_distinct_item
from streamkit.aggregate.numbers import ZERO
from streamkit.aggregate.stats import Accumulator, Stats
from streamkit.aggregate.windows import Window


class Delta(NamedTuple):
    """One item of a batch's deltas: what to merge into one stored aggregate."""

    aggregate: str
    key: str
    window: Window
    stats: Stats


#: (aggregate, key, window start, window size): sorts like the items are iterated.
ItemId = tuple[str, str, int, int]
_ItemId = ItemId

#: What one record adds to one item (:meth:`Deltas.add_all`): its Stats, or, for a
#: record counted without a value, just its distinct item (a str, checked) or None:
#: the same as ``Stats.of(event_time=..., position=..., distinct_item=part)``
#: without building it.
Part = Stats | str | None


class Deltas:
    """A batch's aggregate deltas, merged per (aggregate, key, window).

    ``len(deltas)`` is the number of distinct items, i.e. the aggregate writes the
    batch costs. Iteration is sorted by (aggregate, key, window start, window size),
    whatever the order records were added in.

    >>> from streamkit.aggregate import window_of
    >>> d = Deltas()
    >>> w = window_of(1000, 60)
    >>> d.add("clicks", "/home", w, Stats.of(event_time=1000, position=(1, 0)))
    >>> d.add("clicks", "/home", w, Stats.of(event_time=1001, position=(2, 0)))
    >>> len(d), d.get("clicks", "/home", w).count
    (1, 2)
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        # One mutable accumulator per item: a record's stats are folded in place
        # instead of merging a new Stats (and copying its sketch) per record.
        self._items: dict[_ItemId, Accumulator] = {}

    def add(self, aggregate: str, key: str, window: Window, stats: Stats) -> None:
        """Merge ``stats`` into the item for (aggregate, key, window). On error (e.g.
        :class:`PrecisionError`) nothing changes."""
        self.add_all(((aggregate, key, window, stats),))

    def add_all(self, parts: Sequence[tuple[str, str, Window, Part]]) -> None:
        """Add one record's parts (see :data:`Part`), all or nothing: when one fails
        (a bad name, key or window, a sum beyond 2,000 digits) nothing changes."""
        items = self._items
        # The common case in one pass: records counted without a value into items
        # whose sum is still ZERO; nothing can fail once the parts are looked at.
        counted: list[tuple[_ItemId, Accumulator | None, str | None]] = []
        for aggregate, key, window, part in parts:
            if (
                type(aggregate) is not str
                or not aggregate
                or type(key) is not str
                or type(window) is not Window
                or not (part is None or type(part) is str)
            ):
                break
            item_id = (aggregate, key, window.start, window.size)
            acc = items.get(item_id)
            if acc is not None and acc.sum is not ZERO:
                break
            counted.append((item_id, acc, part))
        else:
            for item_id, acc, part in counted:
                if acc is None:  # new, unless an earlier part of this record made it
                    acc = items.get(item_id)
                    if acc is None:
                        acc = items[item_id] = Accumulator()
                # acc.count_one(part, ZERO), inline (the sum stays ZERO)
                acc.count += 1
                if part is not None:
                    sketch = acc.distinct
                    if sketch is None:
                        sketch = acc.distinct = HyperLogLog()
                    sketch.add_str(part)
            return
        for aggregate, key, window, part in parts:
            if part is not None and not isinstance(part, Stats):
                check_distinct_item(part)
            if not isinstance(aggregate, str) or not aggregate:
                raise ValueError(f"aggregate name must be a non-empty str, got {aggregate!r}")
            if not isinstance(key, str):
                raise InvalidValueError(f"aggregate key must be a str, got {key!r}")
            if not isinstance(window, Window):
                raise TypeError(f"window must be a Window, got {window!r}")
        # Every sum first (the one step that can fail), in order, so parts of one
        # record for the same item add up; then the changes, which cannot fail.
        running: dict[_ItemId, Accumulator] = {}
        totals: list[Decimal] = []
        for aggregate, key, window, part in parts:
            item_id = (aggregate, key, window.start, window.size)
            acc = running.get(item_id) or items.get(item_id) or Accumulator()
            probe = Accumulator()
            probe.count, probe.sum = acc.count, acc.sum
            total = probe.sum_with(part if isinstance(part, Stats) else None)
            probe.count += part.count if isinstance(part, Stats) else 1
            probe.sum = total
            running[item_id] = probe
            totals.append(total)
        for (aggregate, key, window, part), total in zip(parts, totals, strict=True):
            item_id = (aggregate, key, window.start, window.size)
            acc = items.get(item_id)
            if acc is None:
                acc = items[item_id] = Accumulator()
            if isinstance(part, Stats):
                acc.add(part, total)
            else:
                acc.count_one(part, total)

    def accumulators(self) -> dict[ItemId, Accumulator]:
        """The live accumulator of every item, for a planner that folds records in
        place (:mod:`streamkit.plan_fast`: records counted without a value, whose
        sums stay ZERO); anything else goes through :meth:`add_all`."""
        return self._items

    def update(self, other: Deltas) -> None:
        """Merge all of ``other`` into this."""
        for delta in other:
            self.add(*delta)

    def get(self, aggregate: str, key: str, window: Window) -> Stats | None:
        """The merged Stats for one item, or None."""
        acc = self._items.get((aggregate, key, window.start, window.size))
        return None if acc is None else acc.stats()

    def restore(self, aggregate: str, key: str, window: Window, stats: Stats | None) -> None:
        """Put an item back to ``stats`` (a value from :meth:`get`; None removes it).

        Lets a caller undo one record's adds when a later one of them fails.
        """
        item_id = (aggregate, key, window.start, window.size)
        if stats is None:
            self._items.pop(item_id, None)
        else:
            self._items[item_id] = Accumulator.of(stats)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Delta]:
        for item_id in sorted(self._items):
            aggregate, key, start, size = item_id
            yield Delta(aggregate, key, Window(start, size), self._items[item_id].stats())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Deltas):
            return NotImplemented
        return self._snapshot() == other._snapshot()

    def _snapshot(self) -> dict[_ItemId, Stats]:
        return {item_id: acc.stats() for item_id, acc in self._items.items()}

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Deltas({len(self)} items)"
