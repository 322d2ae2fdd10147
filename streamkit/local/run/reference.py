"""The exactly-once reference of ``streamkit run``: each input record processed once.

The aggregates a fault-free, exactly-once run must end with, computed by the pure core
(no AWS calls), to compare with what the consumers actually wrote.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson

from streamkit.aggregate import Stats, item_entries, merge, stats_from_item, window_sort_key
from streamkit.ledger import LedgerState
from streamkit.local.events import kinesis_record
from streamkit.writes import AggregateWrite


class AggregateKey(NamedTuple):
    """One aggregate value, whatever the item layout: the partition key the ``"key"``
    layout gives it (``<aggregate>#<key>``, also for a key of a ``layout="window"``
    item), its window's sort key (an overflow part's ``#<n>`` left off) and the field
    of a multi-field aggregate (None for a plain one)."""

    pk: str
    window: str
    field: str | None = None


def _entry_key(pk: str, window: str, name: str | None) -> AggregateKey:
    # a window item's fields are its keys (its pk, the aggregate name, has no "#")
    if name is not None and "#" not in pk:
        return AggregateKey(f"{pk}#{name}", window)
    return AggregateKey(pk, window, name)


def write_entries(delta: AggregateWrite) -> Iterator[tuple[AggregateKey, Stats]]:
    """What one intent delta adds, by :class:`AggregateKey`."""
    if delta.fields is None:
        yield AggregateKey(delta.pk, delta.sk), stats_from_item(delta.stats)
        return
    for name, attributes in delta.fields.items():
        yield _entry_key(delta.pk, delta.sk, name), stats_from_item(attributes)


def stored_aggregates(items: Iterable[Mapping[str, Any]]) -> dict[AggregateKey, Stats]:
    """Stored aggregate items by :class:`AggregateKey`, overflow parts merged."""
    out: dict[AggregateKey, Stats] = {}
    for item in items:
        window = window_sort_key(item)
        for name, stats in item_entries(item).items():
            k = _entry_key(str(item["pk"]), window, name)
            out[k] = merge(out[k], stats) if k in out else stats
    return out


def expected_aggregates(
    handler: str,
    env: Mapping[str, str],
    stream_name: str,
    placed: Mapping[str, list[tuple[int, str, bytes, float]]],
) -> dict[AggregateKey, Stats]:
    """Aggregates from processing each input record exactly once (pure core only).

    ``handler`` is the consumer's ``module.function``; its module's ``build_pipeline(env)``
    gives the pipeline. ``placed`` maps each shard to its records as
    ``(sequence number, partition key, data, arrival time)``.
    """
    module_name, _, _ = handler.rpartition(".")
    module = importlib.import_module(module_name)
    pipeline = module.build_pipeline(env)
    expected: dict[AggregateKey, Stats] = {}
    arn = f"arn:aws:kinesis:us-east-1:123456789012:stream/{stream_name}"
    for shard, records in placed.items():
        # Lambda's events carry arrival times in milliseconds (spec 1.1.2).
        raw = [
            kinesis_record(
                data, seq, partition_key=pk, shard_id=shard, arrival=round(a, 3), stream_arn=arn
            )
            for seq, pk, data, a in sorted(records)
        ]
        intent = pipeline.plan(raw, LedgerState.new_shard()).intent
        if intent is None:
            continue
        for delta in intent.aggregates:
            for k, stats in write_entries(delta):
                expected[k] = merge(expected[k], stats) if k in expected else stats
    return expected


def comparable(s: Stats) -> tuple[Any, ...]:
    """The fields of ``s`` that must be equal for two aggregates to be the same."""
    last = s.last
    return (
        s.count,
        s.sum,
        s.min,
        s.max,
        None
        if last is None
        else (orjson.dumps(last.value, default=str), last.event_time, last.position),
        None if s.distinct is None else s.distinct.to_bytes(),
    )
