"""A batch's aggregate deltas: one merged :class:`Stats` per (aggregate, key, window)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.stats import Stats, merge
from streamkit.aggregate.windows import Window


class Delta(NamedTuple):
    """One item of a batch's deltas: what to merge into one stored aggregate."""

    aggregate: str
    key: str
    window: Window
    stats: Stats


#: (aggregate, key, window start, window size): sorts like the items are iterated.
_ItemId = tuple[str, str, int, int]


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

    __slots__ = ("_stats_by_item",)

    def __init__(self) -> None:
        self._stats_by_item: dict[_ItemId, Stats] = {}

    def add(self, aggregate: str, key: str, window: Window, stats: Stats) -> None:
        """Merge ``stats`` into the item for (aggregate, key, window). On error (e.g.
        :class:`PrecisionError`) nothing changes."""
        if not isinstance(aggregate, str) or not aggregate:
            raise ValueError(f"aggregate name must be a non-empty str, got {aggregate!r}")
        if not isinstance(key, str):
            raise InvalidValueError(f"aggregate key must be a str, got {key!r}")
        if not isinstance(window, Window):
            raise TypeError(f"window must be a Window, got {window!r}")
        item_id = (aggregate, key, window.start, window.size)
        old = self._stats_by_item.get(item_id)
        self._stats_by_item[item_id] = stats if old is None else merge(old, stats)

    def update(self, other: Deltas) -> None:
        """Merge all of ``other`` into this."""
        for delta in other:
            self.add(*delta)

    def get(self, aggregate: str, key: str, window: Window) -> Stats | None:
        """The merged Stats for one item, or None."""
        return self._stats_by_item.get((aggregate, key, window.start, window.size))

    def restore(self, aggregate: str, key: str, window: Window, stats: Stats | None) -> None:
        """Put an item back to ``stats`` (a value from :meth:`get`; None removes it).

        Lets a caller undo one record's adds when a later one of them fails.
        """
        item_id = (aggregate, key, window.start, window.size)
        if stats is None:
            self._stats_by_item.pop(item_id, None)
        else:
            self._stats_by_item[item_id] = stats

    def __len__(self) -> int:
        return len(self._stats_by_item)

    def __iter__(self) -> Iterator[Delta]:
        for item_id in sorted(self._stats_by_item):
            aggregate, key, start, size = item_id
            yield Delta(aggregate, key, Window(start, size), self._stats_by_item[item_id])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Deltas):
            return NotImplemented
        return self._stats_by_item == other._stats_by_item

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Deltas({len(self)} items)"
