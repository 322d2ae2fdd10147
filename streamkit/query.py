"""Reading aggregates back: a key's windows over a time range, whatever the item layout.

The sink stores one DynamoDB item per (aggregate, key, window) with ``pk =
"<aggregate>#<key>"`` and ``sk`` = the window start (``2026-11-28T10:05:00Z``; ``all``
for an all-time aggregate). A multi-field aggregate keeps its per-field statistics in
the map attribute ``fields`` and spreads a window over several items when it has more
fields than one item holds (``sk = "<window start>#<n>"``, n = 1, 2, ...). An
aggregate of ``layout="window"`` keeps all its keys of a window in one item (``pk =
"<aggregate>"``, each key's statistics under ``fields.<key>``, overflow parts the
same way; :func:`window_item_keys` splits one back). Readers should not know any of
that: this module turns items into typed :class:`Bucket` rows, one per window (or
rolled-up window) and field, with the parts of a window merged, the distinct count
estimated from the merged sketch and exact decimals throughout.

Two layers, so the logic is testable without AWS:

* the pure core, :func:`buckets` (items -> rows: merge parts, filter ``[start, end)``,
  roll up to a coarser window) and :func:`totals` (all of a key's windows merged per
  field), on items as boto3's resource layer returns them (Decimals, Binary);
* :func:`query_aggregate`, which reads one key's items with two DynamoDB Queries
  (that key's partition and the aggregate's window partition, the sort-key range of
  ``[start, end)``, every page) and returns :func:`buckets` of them.

Example (a dashboard: page views of one page per hour over a day)::

    import boto3
    from streamkit.query import query_aggregate

    rows = query_aggregate(
        boto3.client("dynamodb"),
        "clickstream-aggregates",
        "page_views",
        "shop.example/home",
        start="2026-11-28T00:00:00Z",  # epoch seconds and datetimes work too
        end="2026-11-29T00:00:00Z",
        rollup="hour",  # "minute", "hour", "day" or seconds; None: as stored
    )
    for row in rows:
        print(row.start, row.count, row.distinct)  # distinct: estimated unique users

A window belongs to ``[start, end)`` when it lies inside it (its start at or after
``start``, its end at or before ``end``); a rolled-up bucket is the epoch-aligned
rollup window clipped to ``[start, end)``, so its ``start``/``end`` say exactly what
it covers. Windows without records have no item and no row. Bad arguments raise
``ValueError`` naming the argument and what is allowed.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer

from streamkit.aggregate import MAX_EVENT_TIME, Stats, item_entries, merge, window_sort_key

#: Rollup sizes by name (seconds).
ROLLUPS: Final = {"minute": 60, "hour": 3600, "day": 86400}
#: The sort key of an all-time aggregate's item.
ALL_TIME_SK: Final = "all"
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"
_TIMES: Final = (
    "epoch seconds (int, float or Decimal), ISO 8601 text such as 2026-11-28T10:00:00Z, "
    "or a datetime"
)
_DE: Final = TypeDeserializer()


@dataclass(frozen=True, slots=True)
class Bucket:
    """One window (stored or rolled up) of one field of a key, its statistics merged.

    ``start``/``end`` are UTC datetimes (``end`` exclusive), both None for an all-time
    aggregate; ``field`` is the field name of a multi-field aggregate, None for a
    single-value one; ``windows`` counts the stored windows merged into it. The
    properties read ``stats``: exact Decimals, ``distinct`` the estimated distinct count
    (None when the aggregate counts no distinct items).
    """

    start: datetime | None
    end: datetime | None
    field: str | None
    stats: Stats
    windows: int = 1

    @property
    def count(self) -> int:
        return self.stats.count

    @property
    def sum(self) -> Decimal:
        return self.stats.sum

    @property
    def min(self) -> Decimal | None:
        return self.stats.min

    @property
    def max(self) -> Decimal | None:
        return self.stats.max

    @property
    def mean(self) -> Decimal | None:
        """``sum / count`` rounded to 38 significant digits; None when no record had a
        value (a count-only aggregate, whose sum is 0)."""
        return None if self.stats.min is None else self.stats.mean

    @property
    def last(self) -> Any:
        """The latest value by event time (a JSON value; numbers are Decimals), or None."""
        return None if self.stats.last is None else self.stats.last.value

    @property
    def distinct(self) -> int | None:
        """Estimated distinct items (HyperLogLog, ~1.6% standard error), or None."""
        return None if self.stats.distinct is None else self.stats.distinct.estimate()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: times as ISO 8601 text, every Decimal as its exact text."""
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "field": self.field,
            "count": self.count,
            "sum": _text(self.sum),
            "min": _text(self.min),
            "max": _text(self.max),
            "mean": _text(self.mean),
            "last": _json_ready(self.last),
            "distinct": self.distinct,
            "windows": self.windows,
        }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.strftime(_ISO)


def _text(d: Decimal | None) -> str | None:
    # Positional notation: a rolled-up mean of 3000 / 3 is Decimal("1E+3"), shown 1000.
    return None if d is None else format(d, "f")


def _json_ready(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


# ----------------------------------------------------------------------- arguments


def epoch_seconds(value: object, name: str = "time") -> float:
    """``value`` (epoch seconds, ISO 8601 text, a datetime) as float epoch seconds.

    Text and datetimes without a UTC offset are UTC. ``ValueError`` naming ``name``
    and what is allowed otherwise.

    >>> epoch_seconds("2026-11-28T10:00:00Z"), epoch_seconds(1795860000)
    (1795860000.0, 1795860000.0)
    """
    ts: float | None = None
    if isinstance(value, bool):
        ts = None
    elif isinstance(value, int | float):
        ts = float(value)
    elif isinstance(value, Decimal):
        ts = float(value) if value.is_finite() else None
    elif isinstance(value, datetime):
        ts = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    elif isinstance(value, str):
        text = value.strip()
        try:
            ts = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                ts = None
            else:
                ts = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if ts is None or not math.isfinite(ts):
        raise ValueError(f"{name} must be {_TIMES}; got {value!r}")
    if not 0 <= ts < MAX_EVENT_TIME:
        raise ValueError(f"{name} must be between 1970 and the end of year 9999; got {value!r}")
    return ts


def rollup_seconds(rollup: object) -> int:
    """A rollup size in seconds: ``"minute"``, ``"hour"``, ``"day"``, or a positive
    whole number of seconds (int or digits); ``ValueError`` otherwise.

    >>> rollup_seconds("hour"), rollup_seconds(300), rollup_seconds("900")
    (3600, 300, 900)
    """
    size: int | None = None
    if isinstance(rollup, str):
        text = rollup.strip().lower()
        size = ROLLUPS.get(text) or (int(text) if text.isascii() and text.isdigit() else None)
    elif isinstance(rollup, int) and not isinstance(rollup, bool):
        size = rollup
    if size is None or size <= 0:
        raise ValueError(
            "rollup must be 'minute', 'hour', 'day' or a positive whole number of seconds; "
            f"got {rollup!r}"
        )
    return size


def _range(start: object, end: object) -> tuple[float | None, float | None]:
    lo = None if start is None else epoch_seconds(start, "start")
    hi = None if end is None else epoch_seconds(end, "end")
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"end ({end!r}) must be after start ({start!r})")
    return lo, hi


# ----------------------------------------------------------------------- the pure core


def is_window_item(item: Mapping[str, Any]) -> bool:
    """Whether ``item`` is (a part of) a ``layout="window"`` aggregate's window: its
    partition key is the aggregate's name alone (every other item's is
    ``<aggregate>#<key>``; names have no ``#``)."""
    return "#" not in str(item.get("pk", "#"))


def window_item_keys(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A ``layout="window"`` item as the items the ``"key"`` layout would store, one
    per key it holds (``pk = "<aggregate>#<key>"``, the window's attributes and sort
    key, the key's statistics): what :func:`buckets` and :func:`totals` read.

    >>> item = {"pk": "events", "sk": "all", "key": "*", "fields": {"click": {"count": 2}}}
    >>> window_item_keys(item)["click"]["pk"], window_item_keys(item)["click"]["count"]
    ('events#click', 2)
    """
    raw = item.get("fields")
    if not isinstance(raw, Mapping):
        raise ValueError(f"aggregate item {_where(item)}: a window item has no 'fields' map")
    common = {k: v for k, v in item.items() if k not in _WINDOW_ONLY}
    out: dict[str, dict[str, Any]] = {}
    for key, attributes in raw.items():
        if not isinstance(attributes, Mapping):
            raise ValueError(f"aggregate item {_where(item)}: key {key!r} is not a map")
        out[str(key)] = {**common, **attributes, "pk": f"{item['pk']}#{key}", "key": str(key)}
    return out


#: A window item's attributes that are not a key's own (its keys, their room, markers).
_WINDOW_ONLY: Final = frozenset(
    {"fields", "max_fields", "applied", "applied_at", "applied_intent", "pruned_at", "version"}
)


def key_items(items: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """Aggregate items of either layout grouped by (aggregate, key), a window item
    split into its keys (:func:`window_item_keys`), first seen first: each group is
    what :func:`buckets` or :func:`totals` takes for one key."""
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for item in items:
        if is_window_item(item):
            for key, one in window_item_keys(item).items():
                grouped.setdefault((str(item.get("aggregate")), key), []).append(one)
        else:
            grouped.setdefault((str(item.get("aggregate")), str(item.get("key"))), []).append(item)
    return grouped


def item_fields(item: Mapping[str, Any]) -> dict[str | None, Stats]:
    """One item's statistics by field: ``{None: stats}`` for a single-value item, the
    decoded ``fields`` map for a part of a multi-field item
    (:func:`~streamkit.aggregate.item_codec.item_entries`). ``ValueError`` naming the
    item and attribute when it does not decode."""
    try:
        return item_entries(item)
    except ValueError as exc:
        raise ValueError(f"aggregate item {_where(item)}: {exc}") from exc


def item_window(item: Mapping[str, Any]) -> tuple[int, int] | None:
    """The item's window ``(start, end)`` in epoch seconds, None for an all-time item
    (sort key ``all``); a part ``<start>#<n>`` has its window's. ``ValueError`` when
    the window attributes are missing or disagree with the sort key."""
    base = window_sort_key(item) if "sk" in item else ""
    if base == ALL_TIME_SK:
        return None
    start_text, end_text = item.get("window_start"), item.get("window_end")
    if not isinstance(start_text, str) or not isinstance(end_text, str):
        raise ValueError(
            f"aggregate item {_where(item)} has no window_start/window_end (ISO 8601 text)"
        )
    if start_text != base:
        raise ValueError(
            f"aggregate item {_where(item)}: sort key {base!r} is not its window_start "
            f"{start_text!r}"
        )
    start, end = _parse_iso(start_text, item), _parse_iso(end_text, item)
    if not start < end:
        raise ValueError(f"aggregate item {_where(item)}: window_end is not after window_start")
    return start, end


def _parse_iso(text: str, item: Mapping[str, Any]) -> int:
    try:
        return calendar.timegm(datetime.strptime(text, _ISO).timetuple())
    except ValueError:
        raise ValueError(
            f"aggregate item {_where(item)}: window time {text!r} is not like 2026-11-28T10:05:00Z"
        ) from None


def _where(item: Mapping[str, Any]) -> str:
    return f"{item.get('pk')!r}/{item.get('sk')!r}"


def _datetime(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _by_window(
    items: Iterable[Mapping[str, Any]],
) -> dict[tuple[int, int] | None, dict[str | None, Stats]]:
    """Every part of each window merged, per field (a field found in several parts too)."""
    windows: dict[tuple[int, int] | None, dict[str | None, Stats]] = {}
    for item in items:
        window = item_window(item)
        merged = windows.setdefault(window, {})
        for name, stats in item_fields(item).items():
            merged[name] = merge(merged[name], stats) if name in merged else stats
    return windows


def buckets(
    items: Iterable[Mapping[str, Any]],
    *,
    start: object = None,
    end: object = None,
    rollup: int | str | None = None,
    field: str | None = None,
) -> list[Bucket]:
    """The rows of one key's items: one per window (or rollup window) and field, in
    time order (all-time first), fields by name (the unnamed one first).

    ``start``/``end`` (see :func:`epoch_seconds`) keep the windows inside ``[start,
    end)``; an all-time item has no window and is left out when either is given.
    ``rollup`` merges windows into epoch-aligned windows of that size (see
    :func:`rollup_seconds`; it must be a multiple of every stored window's size, and an
    all-time item cannot be rolled up). ``field`` keeps that field only (``ValueError``
    when no item has it). Parts of a window and fields repeated across parts are
    merged with :func:`~streamkit.aggregate.merge`, so the result never depends on how
    the writer split a window.
    """
    lo, hi = _range(start, end)
    size = None if rollup is None else rollup_seconds(rollup)
    windows = _by_window(items)
    if field is not None:
        _check_field(field, windows)
    rows: dict[tuple[float | None, float | None, str | None], tuple[Stats, int]] = {}
    for window, fields in windows.items():
        if window is None:
            if lo is not None or hi is not None:
                continue
            if size is not None:
                raise ValueError(
                    "rollup: this is an all-time aggregate (sort key 'all'): it has no "
                    "windows to roll up; leave rollup out"
                )
            bounds: tuple[float | None, float | None] = (None, None)
        else:
            w_start, w_end = window
            if (lo is not None and w_start < lo) or (hi is not None and w_end > hi):
                continue
            bounds = _rolled(window, size, lo, hi) if size is not None else window
        for name, stats in fields.items():
            if field is not None and name != field:
                continue
            key = (*bounds, name)
            if key in rows:
                before, n = rows[key]
                rows[key] = (merge(before, stats), n + 1)
            else:
                rows[key] = (stats, 1)
    ordered = sorted(
        rows.items(),
        key=lambda kv: (
            kv[0][0] is not None,
            kv[0][0] or 0,
            kv[0][2] is not None,
            kv[0][2] or "",
        ),
    )
    return [
        Bucket(_datetime(b_start), _datetime(b_end), name, stats, n)
        for (b_start, b_end, name), (stats, n) in ordered
    ]


def _rolled(
    window: tuple[int, int], size: int, lo: float | None, hi: float | None
) -> tuple[float, float]:
    """The rollup window holding ``window``, clipped to the stored windows that lie
    inside ``[lo, hi)`` (those are the only ones counted, so a bucket's start and end
    say exactly what it covers: ``from`` 10:00:30 gives a bucket from 10:01)."""
    w_start, w_end = window
    w = w_end - w_start
    if size % w or w_start % w:
        raise ValueError(
            f"rollup must be a multiple of the stored window ({w} s, windows "
            f"aligned to it); got {size} s"
        )
    b_start = float(w_start // size * size)
    b_end = b_start + size
    return (
        b_start if lo is None else max(b_start, float(math.ceil(lo / w) * w)),
        b_end if hi is None else min(b_end, float(math.floor(hi / w) * w)),
    )


def _check_field(
    field: str, windows: Mapping[tuple[int, int] | None, Mapping[str | None, Stats]]
) -> None:
    names = {name for fields in windows.values() for name in fields}
    if not windows or field in names:
        return
    named = sorted(n for n in names if n is not None)
    if not named:
        raise ValueError(
            f"field {field!r}: this is a single-value aggregate (no fields); leave field out"
        )
    raise ValueError(f"field {field!r} is in none of the items (fields: {', '.join(named)})")


def totals(items: Iterable[Mapping[str, Any]]) -> dict[str | None, Bucket]:
    """All of a key's windows (and its all-time item) merged into one bucket per field
    (None: a single-value aggregate), e.g. a page's views over the whole table; the
    bucket spans the first window's start to the last one's end (None for all-time)."""
    merged: dict[str | None, tuple[Stats, int, int | None, int | None]] = {}
    for window, fields in _by_window(items).items():
        for name, stats in fields.items():
            if name not in merged:
                lo, hi = window if window is not None else (None, None)
                merged[name] = (stats, 1, lo, hi)
                continue
            before, n, lo, hi = merged[name]
            if window is not None:
                lo = window[0] if lo is None else min(lo, window[0])
                hi = window[1] if hi is None else max(hi, window[1])
            merged[name] = (merge(before, stats), n + 1, lo, hi)
    return {
        name: Bucket(_datetime(lo), _datetime(hi), name, stats, n)
        for name, (stats, n, lo, hi) in sorted(
            merged.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")
        )
    }


# ----------------------------------------------------------------------- DynamoDB


def read_items(
    dynamodb: Any,
    table: str,
    aggregate: str,
    key: str,
    *,
    start: object = None,
    end: object = None,
    consistent_read: bool = False,
) -> list[dict[str, Any]]:
    """The items of ``aggregate``'s ``key`` whose sort key falls in ``[start, end]``
    (every page of a DynamoDB Query on a low-level ``dynamodb`` client), deserialized.

    The items of ``<aggregate>#<key>`` and, from a second Query, the window items of
    a ``layout="window"`` aggregate (``pk = "<aggregate>"``) holding ``key``, each as
    :func:`window_item_keys` gives it. Both, always: an aggregate whose layout changed
    under its name has the windows before the change in one partition and those after
    it in the other (a window that spans the change in both; :func:`buckets` merges
    them, and each record counts in one of them, the layout of the intent that
    planned it). For an aggregate of one layout the other Query finds nothing (the
    minimum charge: half a read unit, one with ``consistent_read``). The sort-key
    range is a superset (it includes parts of a window starting at ``end``):
    :func:`buckets` keeps exactly the windows inside ``[start, end)``.
    ``consistent_read`` reads every write acknowledged before the call (twice the read
    units).
    """
    if not isinstance(aggregate, str) or not aggregate or "#" in aggregate:
        raise ValueError(f"aggregate must be a non-empty name without '#'; got {aggregate!r}")
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string; got {key!r}")
    lo, hi = _range(start, end)
    items = _query_partition(dynamodb, table, f"{aggregate}#{key}", lo, hi, consistent_read)
    windows = _query_partition(dynamodb, table, aggregate, lo, hi, consistent_read)
    return items + [
        one
        for item in windows
        if is_window_item(item) and (one := window_item_keys(item).get(key)) is not None
    ]


def _query_partition(
    dynamodb: Any, table: str, pk: str, lo: float | None, hi: float | None, consistent_read: bool
) -> list[dict[str, Any]]:
    """Every item of partition ``pk`` with a sort key in ``[lo, hi]``, deserialized."""
    values: dict[str, Any] = {":pk": {"S": pk}}
    condition = "pk = :pk"
    if lo is not None:
        values[":lo"] = {"S": datetime.fromtimestamp(math.floor(lo), UTC).strftime(_ISO)}
    if hi is not None:
        values[":hi"] = {"S": datetime.fromtimestamp(math.ceil(hi), UTC).strftime(_ISO)}
    if lo is not None and hi is not None:
        condition += " AND sk BETWEEN :lo AND :hi"
    elif lo is not None:
        condition += " AND sk >= :lo"
    elif hi is not None:
        condition += " AND sk < :hi"
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ConsistentRead": consistent_read,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = dynamodb.query(**request)
        items.extend({k: _DE.deserialize(v) for k, v in raw.items()} for raw in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_aggregate(
    dynamodb: Any,
    table: str,
    aggregate: str,
    key: str,
    *,
    start: object = None,
    end: object = None,
    rollup: int | str | None = None,
    field: str | None = None,
    consistent_read: bool = False,
) -> list[Bucket]:
    """The rows of ``aggregate``'s ``key`` in ``table`` over ``[start, end)``: two
    DynamoDB Queries (:func:`read_items`) and :func:`buckets` of their items.

    ``dynamodb`` is a low-level boto3 client (``boto3.client("dynamodb")``); the
    arguments are :func:`buckets`'. Client errors (a missing table) are boto3's.
    """
    size = None if rollup is None else rollup_seconds(rollup)
    _range(start, end)  # bad times fail before any request
    items = read_items(
        dynamodb, table, aggregate, key, start=start, end=end, consistent_read=consistent_read
    )
    return buckets(items, start=start, end=end, rollup=size, field=field)
