"""What records add to a batch's aggregates, and the intent's aggregate deltas.

The aggregate part of planning (:mod:`streamkit.plan`): one record's stats for every
aggregate it counts in, checked against DynamoDB's limits before anything is added
(:func:`stage_stats`, :func:`stage_fields` for multi-field aggregates), added to the
batch's :class:`~streamkit.aggregate.Deltas` all or nothing (:func:`add_all`), and the
batch's deltas as intent writes, one per distinct item (:func:`aggregate_items`). Pure:
no I/O.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from streamkit.aggregate import (
    Deltas,
    Stats,
    Window,
    fields_to_item,
    merge,
    stats_to_item,
    window_of,
)
from streamkit.aggregate.deltas import Part
from streamkit.aggregate.hll import check_distinct_item
from streamkit.errors import INVALID_REASON, PermanentError
from streamkit.ledger import Position
from streamkit.spec import MAX_FIELD_NAME_BYTES, Aggregate, Decoded
from streamkit.write_checks import (
    ITEM_HEADROOM_BYTES,
    MAX_ITEM_BYTES,
    MAX_LAST_VALUE_BYTES,
    attribute_values,
    check_item,
    check_key,
    check_size,
    item_size,
    json_bytes,
)
from streamkit.writes import AggregateWrite

#: The one "window" of an all-time aggregate (``Aggregate(window_s=None)``).
ALL_TIME = Window(0, 4_102_444_800)  # 1970 .. 2100

#: One record's staged aggregate stats: (aggregate name, key, window, stats), the
#: stats a :data:`~streamkit.aggregate.deltas.Part` (a Stats, or a record counted
#: without a value: its distinct item or None).
StagedStats = tuple[str, str, Window, Part]


def stage_stats(
    aggregates: Sequence[Aggregate],
    doc: Decoded,
    ts: float,
    position: Position,
    checked: set[tuple[str, str, int, int, bool]] | None = None,
    windows: dict[tuple[int, int], Window] | None = None,
) -> list[StagedStats]:
    """One record's stats for every aggregate it counts in, checked, not yet added.

    ``checked`` and ``windows``: the batch's memos (see :class:`_Staging`). A record
    counted without a value is staged as its distinct item (a :data:`Part`), not a
    Stats: its one-record item is the same for every such record of the item (count
    1, the same sketch size), so it is checked once per item and batch.
    """
    staged: list[StagedStats] = []
    checked = set() if checked is None else checked
    windows = {} if windows is None else windows
    for agg in aggregates:
        size = agg.window_s
        if size is None:
            window = ALL_TIME
        else:  # memo_window(ts, size, windows), inline
            window = windows.get((size, math.floor(ts) // size)) or memo_window(ts, size, windows)
        if agg.fields is not None:
            staged.extend(stage_fields(agg, doc, window, ts, position))
            continue
        item = agg.distinct(doc) if agg.distinct else None
        if agg.pairs is not None:
            pairs = list(agg.pairs(doc))
        else:
            key = agg.key(doc)
            pairs = [] if key is None else [(key, agg.value(doc) if agg.value else None)]
        for key, value in pairs:
            if value is None and agg.last is None:
                key = str(key)
                memo = (agg.name, key, window.start, window.size, item is None)
                if memo not in checked:
                    check_counted_item(agg, key, window, ts, position, item)
                    checked.add(memo)
                elif item is not None and not isinstance(item, str):
                    check_distinct_item(item)  # raises: a distinct item is a str
                staged.append((agg.name, key, window, item))
                continue
            check_key(agg.name, str(key))
            if agg.layout == "window":
                window_key(agg.name, str(key))
            if agg.last is not None:
                last = agg.last(doc)
                check_size("last value", json_bytes(last, "last value"), MAX_LAST_VALUE_BYTES)
                stats = Stats.of(
                    value, event_time=ts, position=position, distinct_item=item, last_value=last
                )
            else:
                stats = Stats.of(value, event_time=ts, position=position, distinct_item=item)
            # The item this record's delta becomes, in the wire form the sink sends
            # (markers included, with headroom for other shards' markers): a number out
            # of DynamoDB's range or an item over 400 KB is this record's dead letter.
            _check_aggregate_item(agg, _aggregate_item(agg, str(key), window, stats))
            staged.append((agg.name, str(key), window, stats))
    return staged


def check_counted_item(
    agg: Aggregate, key: str, window: Window, ts: float, position: Position, item: Any
) -> None:
    """The write checks of a record counted without a value (its key, its distinct
    item, and its one-record item in the wire form the sink sends, markers and other
    shards' headroom included): a PermanentError is this record's dead letter. The
    one-record item is the same for every such record of an item and window, so
    planners check it once per item and batch."""
    check_key(agg.name, key)
    if agg.layout == "window":
        window_key(agg.name, key)
    if item is not None:
        check_distinct_item(item)
    # The item's wire size is a constant of (aggregate, window, distinct or not) plus
    # the key's UTF-8 bytes twice (pk "<name>#<key>" and "key"; item sizes add up
    # attribute by attribute): well within the limit, that settles it without
    # building the item (~30 µs; clickstream checks one per new page and minute).
    # The slack covers what varies with the record (a one-element sketch's bytes);
    # tests/property/test_counted_item_check.py compares verdicts with the full check.
    base = _counted_base_size(agg.name, agg.ttl_s, window, item is not None)
    if base + 2 * len(key.encode("utf-8")) + _COUNTED_SLACK_BYTES <= MAX_ITEM_BYTES:
        return
    check_counted_item_full(agg, key, window, ts, position, item)


def check_counted_item_full(
    agg: Aggregate, key: str, window: Window, ts: float, position: Position, item: Any
) -> None:
    """:func:`check_counted_item` building the one-record item (the reference)."""
    check_key(agg.name, key)
    if item is not None:
        check_distinct_item(item)
    stats = Stats.of(None, event_time=ts, position=position, distinct_item=item)
    _check_aggregate_item(agg, _aggregate_item(agg, key, window, stats))


#: What a counted one-record item's size may exceed its :func:`_counted_base_size`
#: plus twice its key by (a one-element sketch is a few bytes; 0 in practice).
_COUNTED_SLACK_BYTES = 256


@functools.lru_cache(maxsize=4096)  # one per aggregate and window: a day of minutes
def _counted_base_size(name: str, ttl_s: int | None, window: Window, distinct: bool) -> int:
    """Wire size, markers and headroom included, of the one-record counted item of
    aggregate ``name`` in ``window`` with an empty key."""
    stats = Stats.of(None, event_time=0.0, position=(0, 0), distinct_item="" if distinct else None)
    delta = aggregate_delta(name, ttl_s, "", window, stats)
    item = {k: v for k, v in {**delta.attributes(), **delta.stats}.items() if k not in _MARKERS}
    return item_size(attribute_values(item)) + _MARKERS_SIZE + ITEM_HEADROOM_BYTES


def stage_fields(
    agg: Aggregate, doc: Decoded, window: Window, ts: float, position: Position
) -> list[StagedStats]:
    """One record's stats of a multi-field aggregate, staged one per field under the
    name ``<aggregate>#<field>`` (aggregate names have no ``#``, so it splits back
    unambiguously; :func:`aggregate_items` joins the fields of an item again)."""
    assert agg.fields is not None
    key = agg.key(doc)
    if key is None:
        return []
    key = str(key)
    check_key(agg.name, key)
    fields: dict[str, Stats] = {}
    for name, value in agg.fields(doc):
        name = _field_name(agg.name, name)
        stats = Stats.of(value, event_time=ts, position=position)
        fields[name] = merge(fields[name], stats) if name in fields else stats
    names = sorted(fields)
    # Each item the sink can write holds at most max_fields of these fields: check
    # the record's items in that size (markers and other shards' headroom included).
    for i in range(0, len(names), agg.max_fields):
        part = {n: fields[n] for n in names[i : i + agg.max_fields]}
        delta = _fields_delta(agg, key, window, part)
        _check_aggregate_item(agg, {**delta.attributes(), "fields": delta.fields})
    return [(f"{agg.name}#{n}", key, window, fields[n]) for n in names]


def _field_name(aggregate: str, name: Any, what: str = "field name") -> str:
    """A usable field name (a non-empty str of at most 255 UTF-8 bytes), or the
    record's dead letter naming what is wrong."""
    if not isinstance(name, str) or not name:
        raise PermanentError(
            f"aggregate {aggregate!r} {what} must be a non-empty string, got {name!r:.80}",
            reason=INVALID_REASON,
        )
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_FIELD_NAME_BYTES:
        raise PermanentError(
            f"aggregate {aggregate!r} {what} of {size} bytes exceeds "
            f"{MAX_FIELD_NAME_BYTES} bytes: {name[:40]!r}...",
            reason="too_large",
        )
    return name


def window_key(aggregate: str, key: str) -> None:
    """A ``layout="window"`` aggregate's key names a field of the window's item: at
    most 255 UTF-8 bytes and not empty, else the record's dead letter."""
    _field_name(aggregate, key, "key (a field of its layout='window' item)")


def _fields_delta(
    agg: Aggregate, key: str, window: Window, fields: Mapping[str, Stats]
) -> AggregateWrite:
    """A multi-field aggregate's delta: ``fields`` in item form, no top-level stats."""
    return _delta_write(
        agg.name, agg.ttl_s, key, window, {}, fields_to_item(fields), agg.max_fields
    )


def add_all(deltas: Deltas, staged: list[StagedStats]) -> None:
    """Add one record's stats to the batch's deltas, all or nothing.

    A merge can still fail (a sum beyond 38 digits): the record is then
    dead-lettered, so none of its stats may stay in the batch
    (:meth:`Deltas.add_all` changes nothing then).
    """
    deltas.add_all(staged)


def memo_window(ts: float, size_s: int, windows: dict[tuple[int, int], Window]) -> Window:
    """``window_of(ts, size_s)`` (``ts`` a checked event time), memoised in ``windows``."""
    memo = (size_s, math.floor(ts) // size_s)
    window = windows.get(memo)
    if window is None:
        window = windows[memo] = window_of(ts, size_s)
    return window


def aggregate_delta(
    name: str, ttl_s: int | None, key: str, window: Window, stats: Stats
) -> AggregateWrite:
    """One intent aggregate delta: the item of (``name``, ``key``, ``window``)."""
    return _delta_write(name, ttl_s, key, window, stats_to_item(stats))


#: The ``key`` attribute of a ``layout="window"`` item (it holds every key).
WINDOW_ITEM_KEY = "*"


def _window_delta(agg: Aggregate, window: Window, keys: Mapping[str, Stats]) -> AggregateWrite:
    """A ``layout="window"`` aggregate's delta: one item per window (``pk`` the
    aggregate's name), each key's stats a field."""
    return _delta_write(
        agg.name,
        agg.ttl_s,
        WINDOW_ITEM_KEY,
        window,
        {},
        fields_to_item(keys),
        agg.max_fields,
        pk=agg.name,
    )


def _delta_write(
    name: str,
    ttl_s: int | None,
    key: str,
    window: Window,
    stats: Mapping[str, Any],
    fields: Mapping[str, Mapping[str, Any]] | None = None,
    max_fields: int | None = None,
    *,
    pk: str | None = None,
) -> AggregateWrite:
    pk = f"{name}#{key}" if pk is None else pk
    if window == ALL_TIME:
        return AggregateWrite(
            pk, "all", stats, aggregate=name, key=key, fields=fields, max_fields=max_fields
        )
    return AggregateWrite(
        pk,
        window.key,
        stats,
        aggregate=name,
        key=key,
        window_start=window.key,
        window_end=iso(window.end),
        ttl=int(window.end + ttl_s) if ttl_s else None,
        fields=fields,
        max_fields=max_fields,
    )


#: Stand-in applied markers and version for the up-front item check (the sink adds
#: ``applied`` and ``version`` to every item it writes).
_MARKERS: dict[str, Any] = {
    "applied": {"m" * 400: 10**15},
    "applied_at": {"m" * 400: 10**15},
    "applied_intent": {"m" * 400: "i" * 32},
    "version": 10**15,
}


#: Their wire size: item sizes add up attribute by attribute, so the checks add this
#: constant instead of serialising the stand-ins for every record.
_MARKERS_SIZE = item_size(attribute_values(_MARKERS))


def _check_aggregate_item(agg: Aggregate, item: dict[str, Any]) -> None:
    """The item a delta becomes, in the wire form the sink sends, with the markers
    (sized once) and headroom for other shards' markers: a number out of DynamoDB's
    range or an item over 400 KB is the record's dead letter."""
    if not _MARKERS.keys().isdisjoint(item):  # the markers would replace them
        item = {k: v for k, v in item.items() if k not in _MARKERS}
    check_item(
        attribute_values(item),
        f"aggregate {agg.name!r} item",
        headroom=ITEM_HEADROOM_BYTES,
        sized=_MARKERS_SIZE,
    )


def _aggregate_item(agg: Aggregate, key: str, window: Window, stats: Stats) -> dict[str, Any]:
    delta = aggregate_delta(agg.name, agg.ttl_s, key, window, stats)
    return {**delta.attributes(), **delta.stats}


def aggregate_items(aggregates: Sequence[Aggregate], deltas: Deltas) -> list[AggregateWrite]:
    """The intent's aggregate deltas, one per distinct item (a multi-field
    aggregate's fields of one key and window joined into one delta, and a
    ``layout="window"`` aggregate's keys of one window)."""
    by_name = {a.name: a for a in aggregates}
    out: list[AggregateWrite] = []
    grouped: dict[tuple[str, str, Window], dict[str, Stats]] = {}
    windowed: dict[tuple[str, Window], dict[str, Stats]] = {}
    for name, key, w, stats in deltas:
        agg = by_name.get(name)
        if agg is not None and agg.layout == "window":
            windowed.setdefault((name, w), {})[key] = stats
            continue
        if agg is None or agg.fields is None:
            base, sep, field_name = name.partition("#")
            multi = by_name.get(base)
            if sep and multi is not None and multi.fields is not None:
                grouped.setdefault((base, key, w), {})[field_name] = stats
                continue
        out.append(aggregate_delta(name, agg.ttl_s if agg else None, key, w, stats))
    for (base, key, w), fields in grouped.items():
        out.append(_fields_delta(by_name[base], key, w, fields))
    for (name, w), keys in windowed.items():
        out.append(_window_delta(by_name[name], w, keys))
    return out


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
