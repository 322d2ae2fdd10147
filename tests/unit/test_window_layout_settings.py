"""``Aggregate(layout="window")``: settings, dead letters and the item-size bound.

The property tests (tests/property/test_window_layout.py) prove the layout counts
what the per-key layout counts; these pin what a user meets: the errors naming the
setting, the records whose key cannot be a field of the window's item, and that the
largest item the settings allow fits DynamoDB's 400 KB with the markers' headroom.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from streamkit.aggregate import Stats, fields_to_item, window_of
from streamkit.aggregate.hll import HyperLogLog
from streamkit.aggregate.stats import Last
from streamkit.ledger import LedgerState
from streamkit.local.events import kinesis_record
from streamkit.pipeline import Aggregate, Pipeline
from streamkit.plan_aggregates import _MARKERS_SIZE
from streamkit.spec import MAX_FIELD_NAME_BYTES, MAX_FIELDS_LIMIT, MAX_WINDOW_FIELDS_LIMIT
from streamkit.testing.memory import MemoryAWS
from streamkit.write_checks import ITEM_HEADROOM_BYTES, MAX_ITEM_BYTES, attribute_values, item_size

SHARD = "shardId-000000000000"


def _pipeline(*aggregates: Aggregate) -> Pipeline:
    return Pipeline(
        "c",
        event_time=lambda doc, record: doc["ts"],
        aggregates=list(aggregates),
        table="aggs",
        ledger_table="ledger",
        clients=MemoryAWS().clients,
    )


def _raw(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        kinesis_record(orjson.dumps(d), 1000 + i, partition_key="p", shard_id=SHARD)
        for i, d in enumerate(docs)
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "per_key"}, "layout must be one of 'key', 'window', got 'per_key'"),
        ({"layout": "window", "last": lambda d: d}, "layout='window' goes without last"),
        (
            {"layout": "window", "fields": lambda d: []},
            "layout='window' goes without fields",
        ),
        # 64 with or without distinct=: a part keeps the max_fields it was created
        # with, and distinct= added later must still fit every key's sketch.
        (
            {"layout": "window", "max_fields": MAX_WINDOW_FIELDS_LIMIT + 1},
            "max_fields \\(keys per item of layout='window'\\) must be an integer from 1 "
            f"to {MAX_WINDOW_FIELDS_LIMIT}, got 65",
        ),
        (
            {"layout": "window", "distinct": lambda d: "u", "max_fields": 65},
            f"must be an integer from 1 to {MAX_WINDOW_FIELDS_LIMIT}, got 65",
        ),
        ({"layout": "window", "max_fields": 0}, "must be an integer from 1 to 64, got 0"),
        ({"fields": lambda d: [], "max_fields": 257}, "must be an integer from 1 to 256, got 257"),
    ],
)
def test_bad_layout_settings_name_the_setting(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"aggregate 'sites': .*{message}"):
        _pipeline(Aggregate("sites", key=lambda d: d["k"], **kwargs))


def test_the_largest_allowed_settings_are_accepted() -> None:
    _pipeline(
        Aggregate("a", key=lambda d: "k", fields=lambda d: [], max_fields=MAX_FIELDS_LIMIT),
        Aggregate(
            "b",
            key=lambda d: "k",
            distinct=lambda d: "u",
            layout="window",
            max_fields=MAX_WINDOW_FIELDS_LIMIT,
        ),
    )


@pytest.mark.parametrize("value", [None, 2], ids=["counted (fast path)", "valued (general path)"])
def test_a_key_that_cannot_name_a_field_dead_letters_only_its_record(value: int | None) -> None:
    long_key = "k" * (MAX_FIELD_NAME_BYTES + 1)
    agg = Aggregate(
        "sites", key=lambda d: d["k"], value=(lambda d: value) if value else None, layout="window"
    )
    docs = [{"k": long_key, "ts": 1}, {"k": "", "ts": 2}, {"k": "ok", "ts": 3}]
    plan = _pipeline(agg).plan(_raw(docs), LedgerState.new_shard())
    assert [(d.reason, d.error[:49]) for d in plan.dead_letters] == [
        ("too_large", "aggregate 'sites' key (a field of its layout='win"),
        ("invalid", "aggregate 'sites' key (a field of its layout='win"),
    ]
    assert plan.succeeded == 1 and plan.intent is not None
    [write] = plan.intent.aggregates
    assert write.pk == "sites" and list(write.fields or {}) == ["ok"]
    # The per-key layout stores the same long key (its own item's partition key).
    per_key = Aggregate("sites", key=lambda d: d["k"], value=agg.value)
    assert _pipeline(per_key).plan(_raw(docs[:1]), LedgerState.new_shard()).succeeded == 1


def _largest_stats(distinct: bool) -> Stats:
    """The largest statistics a key of a window item can hold: numbers of 38 digits,
    an exact sum across DynamoDB's whole range, the longest position, a dense sketch."""
    sketch = None
    if distinct:
        sketch = HyperLogLog()
        for i in range(20_000):
            sketch.add_str(f"user-{i}")
        assert len(sketch.to_bytes()) == 3 + 3 * 4096 // 4  # dense: 6 bits a register
    big = Decimal("-9.999999999999999999999999999999999999E+125")
    return Stats(
        count=10**15,
        sum=big + Decimal("1E-130") - Decimal(10**14),
        min=big,
        max=Decimal("9.999999999999999999999999999999999999E+125"),
        last=Last(big, 4.1e9, (10**128 - 1, 2**31)),
        distinct=sketch,
    )


@pytest.mark.parametrize(
    ("distinct", "keys"),
    [(False, MAX_FIELDS_LIMIT), (True, MAX_WINDOW_FIELDS_LIMIT)],
    ids=["256 numbers (a fields= bound)", "64 keys with distinct"],
)
def test_the_largest_window_item_fits_with_the_markers_headroom(distinct: bool, keys: int) -> None:
    """max_fields keys of 255 bytes with the largest statistics, the stand-in markers
    of the planner's checks and the 96 KB headroom for other shards' markers: inside
    DynamoDB's item, so no apply can meet an item it cannot write. The first case
    (no sketch, 256 fields) stands for a ``fields=`` item's bound with a short key; a
    window item's is the second."""
    window = window_of(1_764_000_000, 60)
    stats = _largest_stats(distinct)
    fields = {f"{i:03d}" + "é" * ((MAX_FIELD_NAME_BYTES - 3) // 2): stats for i in range(keys)}
    assert {len(k.encode()) for k in fields} == {MAX_FIELD_NAME_BYTES}
    item = {
        "pk": "a" * 255,
        "sk": f"{window.key}#99",
        "aggregate": "a" * 255,
        "key": "*",
        "window_start": window.key,
        "window_end": window.key,
        "ttl": 10**12,
        "max_fields": keys,
        "fields": fields_to_item(fields),
    }
    size = item_size(attribute_values(item)) + _MARKERS_SIZE + ITEM_HEADROOM_BYTES
    print(f"largest window item ({keys} keys, distinct={distinct}): {size:,} bytes")
    assert size <= MAX_ITEM_BYTES
