"""The planner's fast path: one specialised staging function for the common spec.

Most consumers count records per key and window, optionally with their distinct
users or devices (clickstream's page views, events and site users), and send no
messages. For such a spec (any decoder, the default JSON one via ``record.json()``;
archive or not) :func:`fast_stager` returns a staging function with the spec's settings bound
that does, in one call per record, what the general path
(:func:`streamkit.plan._stage_record`, then :func:`~streamkit.plan_aggregates.stage_stats`
and :meth:`~streamkit.aggregate.Deltas.add_all`) does in about fifteen: the same
steps in the same order, raising the same errors from the same checks, with the
common case of each check inline. A batch is staged by one path or the other, never
both; the general path is the reference (``plan_batch(..., fast=False)``), and the
property tests compare whole plans of both on batches with every kind of bad record.

Why it matters: planning is the handler's per-record CPU (issue 13 budgets it at 4x
a bare base64 + orjson loop), and at 10,000 records a batch every call counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streamkit.aggregate import Deltas, Window, check_event_time, is_late
from streamkit.aggregate.deltas import ItemId
from streamkit.aggregate.hll import HyperLogLog, check_distinct_item
from streamkit.aggregate.stats import Accumulator
from streamkit.aggregate.windows import MAX_EVENT_TIME
from streamkit.errors import INVALID_REASON, PermanentError
from streamkit.ledger import Position
from streamkit.plan_aggregates import ALL_TIME, check_counted_item, iso, memo_window
from streamkit.records import Record
from streamkit.sinks.s3 import ArchiveLine
from streamkit.spec import Aggregate, Decoded, json_doc
from streamkit.write_checks import MAX_ARCHIVE_LINE_BYTES, check_float, check_size, json_bytes
from streamkit.writes import MessageWrite, ObjectWrite

if TYPE_CHECKING:
    from streamkit.plan import PipelineSpec

__all__ = ["Stager", "Staging", "arrival_or_none", "fast_stager", "future_error", "late_error"]

#: The smallest positive float DynamoDB stores (``check_float``'s fast range).
_MIN_FLOAT = 1e-130


@dataclass
class Staging:
    """What the records planned so far cause (a record is added whole, or not at all)."""

    watermark: float | None
    deltas: Deltas = field(default_factory=Deltas)
    lines: list[ArchiveLine] = field(default_factory=list)
    messages: list[MessageWrite] = field(default_factory=list)
    dead_letter_objects: list[ObjectWrite] = field(default_factory=list)
    #: Items whose one-record form passed the write checks (see stage_stats), and
    #: the windows seen: per-batch memos of the hot path.
    checked: set[tuple[str, str, int, int, bool]] = field(default_factory=set)
    windows: dict[tuple[int, int], Window] = field(default_factory=dict)
    #: The fast path's memos: item id -> its accumulator in ``deltas``, once a record
    #: without (plain) or with a distinct item was added to it (so it passed
    #: ``checked``'s checks).
    counted_plain: dict[ItemId, Accumulator] = field(default_factory=dict)
    counted_distinct: dict[ItemId, Accumulator] = field(default_factory=dict)


#: Stages one record at its position into the batch, or raises (batch unchanged).
Stager = Callable[[Record, Position, Staging], None]


def arrival_or_none(record: Record) -> float | None:
    """The record's arrival time, None when the event's value is unusable."""
    try:
        return record.approximate_arrival_timestamp
    except PermanentError:
        return None


def future_error(ts: float, arrival: float, max_clock_skew_s: float) -> PermanentError:
    """A record dated more than ``max_clock_skew_s`` after its arrival (issue 10, class 6)."""
    return PermanentError(
        f"event time {iso(ts)} is more than {max_clock_skew_s:g} s after the "
        f"record's arrival {iso(arrival)}",
        reason="future",
    )


def late_error(ts: float, watermark: float | None, allowed_lateness_s: float) -> PermanentError:
    """A record more than ``allowed_lateness_s`` behind the shard's watermark."""
    return PermanentError(
        f"event time {iso(ts)} is more than {allowed_lateness_s} s behind "
        f"the shard's watermark {iso(watermark or ts)}",
        reason="late",
    )


def _accumulator(batch: Staging, item_id: ItemId, plain: bool) -> Accumulator:
    """The item's accumulator in the batch's deltas (new if none), memoised as checked."""
    accumulators = batch.deltas.accumulators()
    acc = accumulators.get(item_id)
    if acc is None:
        acc = accumulators[item_id] = Accumulator()
    (batch.counted_plain if plain else batch.counted_distinct)[item_id] = acc
    return acc


def validation_failed() -> PermanentError:
    return PermanentError("validate returned False", reason=INVALID_REASON)


def _counted_only(agg: Aggregate) -> bool:
    """Records counted without a value: a key (and maybe a distinct item), nothing else."""
    return (
        type(agg.name) is str
        and bool(agg.name)
        and agg.fields is None
        and agg.pairs is None
        and agg.value is None
        and agg.last is None
        and (agg.window_s is None or (type(agg.window_s) is int and agg.window_s > 0))
    )


def fast_stager(spec: PipelineSpec) -> Stager | None:
    """The fast staging function of ``spec``, or None when it needs the general path
    (messages, or an aggregate with values, last values, pairs or fields)."""
    if spec.messages or not all(_counted_only(a) for a in spec.aggregates):
        return None
    decode = None if spec.decode is json_doc else spec.decode  # None: record.json()
    archive = spec.archive
    transform = archive.transform if archive is not None else None
    validate = spec.validate
    event_time = spec.event_time
    lateness = spec.allowed_lateness_s
    future_dead_letter = spec.future == "dead_letter"
    skew = spec.max_clock_skew_s
    aggregates = tuple((a, a.name, a.key, a.distinct, a.window_s) for a in spec.aggregates)
    all_time = ALL_TIME
    # One window for all aggregates when they share a size (the common case): it
    # is looked up once per record.
    sizes = {a.window_s for a in spec.aggregates}
    shared = sizes.pop() if len(sizes) == 1 else 0  # None: all all-time; 0: several

    def stage(record: Record, position: Position, batch: Staging) -> None:
        # streamkit.plan._stage_record, step by step (its comments say why)
        if record.error is not None:
            raise record.error
        # json_doc is record.json(): called directly (cached on the record, as the
        # general path's, so a function that reads record.json() again sees this doc)
        doc: Decoded = record.json() if decode is None else decode(record)
        if validate is not None:
            checked = validate(doc)
            if checked is False:
                raise validation_failed()
            if checked is not None and checked is not True:
                doc = checked
        ts = event_time(doc, record) if event_time is not None else None
        if ts is None:
            ts = record.approximate_arrival_timestamp
        # check_event_time and check_float's common case: a float of the range
        if not (type(ts) is float and (_MIN_FLOAT <= ts < MAX_EVENT_TIME or ts == 0.0)):
            ts = check_event_time(ts)
            check_float(ts, "event time")
        try:  # arrival_or_none(record), inline
            arrival: float | None = record.approximate_arrival_timestamp
        except PermanentError:
            arrival = None
        if arrival is not None and future_dead_letter and ts > arrival + skew:
            raise future_error(ts, arrival, skew)
        # min(ts, arrival): both are finite floats here
        watermark_ts = ts if arrival is None or ts <= arrival else arrival
        watermark = batch.watermark
        if lateness is not None and is_late(ts, watermark, lateness):
            raise late_error(ts, watermark, lateness)
        # stage_stats for counted-only aggregates: every check first, nothing added
        # (the memos map an item id to its accumulator once its one-record form,
        # without or with a distinct item, passed the checks)
        parts: list[tuple[Accumulator | None, ItemId, str | None]] = []
        windows = batch.windows
        counted_plain, counted_distinct = batch.counted_plain, batch.counted_distinct
        if shared:
            window = windows.get((shared, ts // shared)) or memo_window(ts, shared, windows)  # type: ignore[arg-type]
        elif shared is None:  # every aggregate all-time
            window = all_time
        for agg, name, key_of, distinct_of, size in aggregates:
            if shared == 0:
                if size is None:
                    window = all_time
                else:
                    # (size, floor(ts) // size): a float ts // size is the same
                    # number, and equal numbers are the same dict key
                    window = windows.get((size, ts // size)) or memo_window(ts, size, windows)  # type: ignore[arg-type]
            item = distinct_of(doc) if distinct_of is not None else None
            key = key_of(doc)
            if key is None:
                continue
            if type(key) is not str:
                key = str(key)
            item_id = (name, key, window.start, window.size)
            acc = (counted_plain if item is None else counted_distinct).get(item_id)
            if acc is None:
                # stage_stats' memo, as it keeps it (checked once per item and batch,
                # remembered even when a later step fails the record)
                memo = (name, key, window.start, window.size, item is None)
                if memo not in batch.checked:
                    check_counted_item(agg, key, window, ts, position, item)
                    batch.checked.add(memo)
                elif item is not None and not isinstance(item, str):
                    check_distinct_item(item)  # raises: a distinct item is a str
            elif item is not None and type(item) is not str:
                check_distinct_item(item)  # raises unless a str (subclass)
            parts.append((acc, item_id, item))
        line: ArchiveLine | None = None
        if archive is not None:
            archived = transform(doc, record) if transform is not None else doc
            # The exact line the archive object holds: serialised and checked once, here.
            line = (
                position,
                ts,
                check_size(
                    "archived document",
                    json_bytes(archived, "archived document"),
                    MAX_ARCHIVE_LINE_BYTES,
                ),
            )
        # Deltas.add_all's counted case: nothing can fail from here on
        for acc, item_id, item in parts:
            if acc is None:
                acc = _accumulator(batch, item_id, item is None)
            acc.count += 1
            if item is not None:
                sketch = acc.distinct
                if sketch is None:
                    sketch = acc.distinct = HyperLogLog()
                sketch.add_str(item)
        if line is not None:
            batch.lines.append(line)
        if watermark is None or watermark_ts > watermark:
            batch.watermark = watermark_ts

    return stage
