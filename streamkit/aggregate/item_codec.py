"""Stats <-> plain DynamoDB item attributes (boto3 resource style), exactly.

The sink stores each aggregate item with these attributes and merges a batch's delta
into what it reads back; the round trip is exact, so stored aggregates equal the
record-by-record fold whatever the batching.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from streamkit.aggregate.errors import InvalidValueError
from streamkit.aggregate.hll import HyperLogLog
from streamkit.aggregate.numbers import ZERO, rounded, to_decimal
from streamkit.aggregate.stats import EMPTY, Last, Stats
from streamkit.write_checks import representable

#: The attributes of the last value: an item has all of them or none.
_LAST_ATTRIBUTES = ("last_value", "last_event_time", "last_position")


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)  # Decimal's text is valid JSON number syntax
    return orjson.dumps(value).decode()


def stats_to_item(stats: Stats) -> dict[str, Any]:
    """Plain DynamoDB attributes (boto3 resource style: Decimal numbers, bytes binary).

    Always ``count``; ``sum``, exact when it fits a DynamoDB number (38 significant
    digits), else rounded to 38 digits (left out beyond DynamoDB's range) with the exact
    text in ``sum_exact``; ``mean`` (rounded; left out below DynamoDB's range),
    ``min``, ``max`` when known; ``last_value`` (JSON
    text), ``last_event_time`` (Decimal of the float's repr), ``last_position``
    (``"<sequence>/<sub-sequence>"``, a string: sequence numbers exceed 38 digits);
    ``distinct`` (estimate) and ``distinct_hll`` (sketch bytes). Absent values are
    omitted, never None. ``mean`` and ``distinct`` are derived and ignored on reading.

    >>> stats_to_item(Stats.of(3, event_time=5.0, position=(9, 0)))["last_value"]
    '3'
    """
    item: dict[str, Any] = {"count": Decimal(stats.count)}
    stored_sum = rounded(stats.sum)
    if stored_sum is not None:
        item["sum"] = stored_sum
    if not representable(stats.sum):
        item["sum_exact"] = str(stats.sum)
    mean = stats.mean
    stored_mean = None if mean is None else rounded(mean)
    if stored_mean is not None:
        item["mean"] = stored_mean
    if stats.min is not None:
        item["min"] = stats.min
        item["max"] = stats.max
    if stats.last is not None:
        item["last_value"] = _json_text(stats.last.value)
        item["last_event_time"] = Decimal(repr(stats.last.event_time))
        sequence, sub_sequence = stats.last.position
        item["last_position"] = f"{sequence}/{sub_sequence}"
    if stats.distinct is not None:
        item["distinct"] = Decimal(stats.distinct.estimate())
        item["distinct_hll"] = stats.distinct.to_bytes()
    return item


def _number_attribute(item: Mapping[str, Any], name: str) -> Decimal:
    v = item[name]
    if isinstance(v, float) or not isinstance(v, int | Decimal):
        raise ValueError(f"item attribute {name!r} must be a number (Decimal), got {v!r}")
    try:
        return to_decimal(v)
    except InvalidValueError as exc:
        raise ValueError(f"item attribute {name!r}: {exc}") from exc


def _exact_attribute(item: Mapping[str, Any], name: str) -> Decimal:
    v = item[name]
    try:
        d = Decimal(v) if isinstance(v, str) else None
    except ArithmeticError:
        d = None
    if d is None or not d.is_finite():
        raise ValueError(f"item attribute {name!r} must be decimal text, got {v!r}")
    return d


def _binary_attribute(item: Mapping[str, Any], name: str) -> bytes:
    v = item[name]
    raw = getattr(v, "value", v)  # boto3.dynamodb.types.Binary wraps bytes in .value
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValueError(f"item attribute {name!r} must be binary, got {type(v).__name__}")
    return bytes(raw)


def _last_from_item(item: Mapping[str, Any]) -> Last | None:
    present = [name in item for name in _LAST_ATTRIBUTES]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"item must have all or none of {', '.join(_LAST_ATTRIBUTES)}")
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
    sequence, sep, sub_sequence = (
        position_text.partition("/") if isinstance(position_text, str) else ("", "", "")
    )
    if not (
        sep
        and sequence.isascii()
        and sequence.isdigit()
        and sub_sequence.isascii()
        and sub_sequence.isdigit()
    ):
        raise ValueError(
            f"item attribute 'last_position' must be '<sequence>/<sub-sequence>', "
            f"got {position_text!r}"
        )
    event_time = float(_number_attribute(item, "last_event_time"))
    try:
        return Last(value, event_time, (int(sequence), int(sub_sequence)))
    except InvalidValueError as exc:
        raise ValueError(f"item has a bad last value: {exc}") from exc


def stats_from_item(item: Mapping[str, Any]) -> Stats:
    """Inverse of :func:`stats_to_item`; other attributes (keys, markers) are ignored.
    Raises ``ValueError`` naming the bad attribute.

    >>> s = Stats.of("1.5", event_time=5.0, position=(9, 0), distinct_item="x")
    >>> stats_from_item(stats_to_item(s)) == s
    True
    """
    if "count" not in item:
        return EMPTY
    count_number = _number_attribute(item, "count")
    if count_number != count_number.to_integral_value() or count_number < 0:
        raise ValueError(f"item attribute 'count' must be an integer >= 0, got {count_number}")
    count = int(count_number)
    if "sum_exact" in item:
        total = _exact_attribute(item, "sum_exact")
    else:
        total = _number_attribute(item, "sum") if "sum" in item else ZERO
    minimum = _number_attribute(item, "min") if "min" in item else None
    maximum = _number_attribute(item, "max") if "max" in item else None
    last = _last_from_item(item)
    distinct = None
    if "distinct_hll" in item:
        try:
            distinct = HyperLogLog.from_bytes(_binary_attribute(item, "distinct_hll"))
        except ValueError as exc:
            raise ValueError(f"item attribute 'distinct_hll': {exc}") from exc
    try:
        return Stats(count=count, sum=total, min=minimum, max=maximum, last=last, distinct=distinct)
    except ValueError as exc:
        raise ValueError(f"inconsistent aggregate item: {exc}") from exc


def fields_to_item(fields: Mapping[str, Stats]) -> dict[str, Any]:
    """A multi-field item's ``fields`` attribute: each field's :func:`stats_to_item`,
    by name in sorted order (so the same fields always serialise the same)."""
    return {name: stats_to_item(fields[name]) for name in sorted(fields)}


def fields_from_item(item: Mapping[str, Any]) -> dict[str, Stats]:
    """The per-field Stats of a multi-field item (its ``fields`` map; none: ``{}``).
    Raises ``ValueError`` naming the bad field and attribute.

    >>> item = {"fields": fields_to_item({"temp": Stats.of(3, event_time=1.0, position=(1, 0))})}
    >>> fields_from_item(item)["temp"].count
    1
    """
    raw = item.get("fields")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"item attribute 'fields' must be a map, got {type(raw).__name__}")
    out: dict[str, Stats] = {}
    for name, attributes in raw.items():
        if not isinstance(attributes, Mapping):
            raise ValueError(f"item field {name!r} must be a map of statistics")
        try:
            out[str(name)] = stats_from_item(attributes)
        except ValueError as exc:
            raise ValueError(f"item field {name!r}: {exc}") from exc
    return out


def item_entries(item: Mapping[str, Any]) -> dict[str | None, Stats]:
    """What one stored aggregate item counts, by field: ``{None: stats}`` for a plain
    item, ``{field: stats, ...}`` for a multi-field one (an item with a ``fields`` map)."""
    entries: dict[str | None, Stats] = {}
    if "fields" in item:
        entries.update(fields_from_item(item))
    else:
        entries[None] = stats_from_item(item)
    return entries


def window_sort_key(item: Mapping[str, Any]) -> str:
    """The sort key of an item's window: an overflow part's ``<window start>#<n>``
    without its ``#<n>`` (window sort keys themselves never hold ``#``)."""
    return str(item["sk"]).partition("#")[0]
