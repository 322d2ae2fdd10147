"""Windowed aggregation as pure, deterministic, mergeable functions: records -> deltas.

A handler turns each record into a one-record :class:`Stats` (count, exact decimal
sum / min / max, the last value by event time, and an approximate distinct count in a
:class:`HyperLogLog`), assigns it to a tumbling :class:`Window` by *event time*, and
folds it into a batch's :class:`Deltas`. The ledger then applies each batch's deltas
exactly once; because :func:`merge` is associative and commutative, applying deltas
batch by batch (bisected, retried, in any grouping) gives the same aggregate as
folding the records one by one.

Example (what :class:`streamkit.pipeline.Pipeline` does per record)::

    from streamkit import PermanentError
    from streamkit.aggregate import Deltas, Stats, check_event_time, is_late, window_of

    deltas = Deltas()

    def handle(record, watermark):
        # watermark: the shard's largest on-time event time so far (None at first),
        # committed with the ledger's position, so retries decide lateness the same way
        click = record.json()
        ts = check_event_time(click["ts"])      # not a usable time: InvalidValueError
        if is_late(ts, watermark, allowed_lateness_s=60):
            raise PermanentError("behind the shard's watermark", reason="late")
        stats = Stats.of(
            click.get("duration_ms"),           # numbers are exact Decimals
            event_time=ts,
            position=record.position,           # (sequence number, sub-sequence)
            distinct_item=click["user_id"],     # unique users, ~1.6% error
        )
        deltas.add("page_views", click["page"], window_of(ts, 300), stats)
        return ts if watermark is None or ts > watermark else watermark

    # then: len(deltas) writes, one per distinct (aggregate, key, window)

The modules, one job each: :mod:`.numbers` (exact DynamoDB decimals), :mod:`.windows`
(event times, tumbling windows), :mod:`.lateness` (the watermark rule), :mod:`.hll` and
:mod:`.hll_format` (the distinct-count sketch and its bytes), :mod:`.stats` (Stats and
merge), :mod:`.deltas` (a batch's deltas), :mod:`.item_codec` (Stats <-> DynamoDB
attributes) and :mod:`.errors`.
"""

from __future__ import annotations

from streamkit.aggregate.deltas import Delta, Deltas
from streamkit.aggregate.errors import InvalidValueError, PrecisionError
from streamkit.aggregate.hll import HyperLogLog
from streamkit.aggregate.item_codec import (
    fields_from_item,
    fields_to_item,
    item_entries,
    stats_from_item,
    stats_to_item,
    window_sort_key,
)
from streamkit.aggregate.lateness import is_late
from streamkit.aggregate.numbers import MAX_DIGITS, to_decimal
from streamkit.aggregate.stats import EMPTY, Last, Stats, merge, merge_all
from streamkit.aggregate.windows import MAX_EVENT_TIME, Window, check_event_time, window_of

__all__ = [
    "EMPTY",
    "MAX_DIGITS",
    "MAX_EVENT_TIME",
    "Delta",
    "Deltas",
    "HyperLogLog",
    "InvalidValueError",
    "Last",
    "PrecisionError",
    "Stats",
    "Window",
    "check_event_time",
    "fields_from_item",
    "fields_to_item",
    "is_late",
    "item_entries",
    "merge",
    "merge_all",
    "stats_from_item",
    "stats_to_item",
    "to_decimal",
    "window_of",
    "window_sort_key",
]
