"""Planning a batch: records + ledger state + pipeline spec -> intent, counts, dead letters.

:func:`plan_batch` is the pipeline's pure step: it does no I/O (no AWS call, no log
line), so the same records and ledger state always give the same plan. It decodes the
records in shard order, skips those the ledger already covers, runs the spec's
functions on each record, sorts their failures by the one error rule
(:func:`streamkit.errors.classify`) and stops at the first transient failure or at
the deadline. What the records cause is gathered into one
:class:`~streamkit.ledger.Intent`: aggregate deltas per distinct item, archive objects,
dead-letter objects and messages. :class:`~streamkit.pipeline.Pipeline` then writes,
applies and commits it (the protocol); ``streamkit run``'s exactly-once reference
plans the same records with no deadline to know what the aggregates must be.

Example::

    plan = plan_batch(pipeline, event["Records"], LedgerState.new_shard())
    plan.intent.aggregates   # the deltas one exactly-once pass would write
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from streamkit.aggregate import (
    check_event_time,
    is_late,
)
from streamkit.deadletter import DeadLetter
from streamkit.deadline import NO_DEADLINE, Deadline
from streamkit.errors import InvalidInput, PermanentError, classify
from streamkit.ledger import Intent, LedgerState, Position
from streamkit.plan_aggregates import (
    ALL_TIME,
    add_all,
    aggregate_delta,
    aggregate_items,
    stage_stats,
)
from streamkit.plan_fast import (
    Stager,
    Staging,
    arrival_or_none,
    fast_stager,
    future_error,
    late_error,
    validation_failed,
)
from streamkit.records import Record, batch_bounds, check_sequence_numbers, iter_positioned
from streamkit.sinks.dlq import dead_letter_object
from streamkit.sinks.s3 import archive_objects
from streamkit.spec import Aggregate, Archive, Decoded, Message
from streamkit.write_checks import (
    MAX_ARCHIVE_LINE_BYTES,
    check_fifo_id,
    check_float,
    check_message,
    check_size,
    json_bytes,
)
from streamkit.writes import MessageWrite

__all__ = [
    "ALL_TIME",
    "DEFAULT_MAX_CLOCK_SKEW_S",
    "FUTURE_POLICIES",
    "BatchPlan",
    "FuturePolicy",
    "PipelineSpec",
    "aggregate_delta",
    "aggregate_items",
    "check_future",
    "plan_batch",
]

#: What a record dated more than ``max_clock_skew_s`` after its arrival gets:
#: "count" (counted in its window; like every record it moves the watermark at most
#: to its arrival time) or "dead_letter" (reason ``future``).
FuturePolicy = Literal["count", "dead_letter"]
FUTURE_POLICIES: tuple[FuturePolicy, ...] = ("count", "dead_letter")
#: Default bound of event time ahead of arrival time (clock skew of producers).
DEFAULT_MAX_CLOCK_SKEW_S = 300.0


class PipelineSpec(Protocol):
    """What the planner reads of a pipeline (a :class:`~streamkit.pipeline.Pipeline` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def decode(self) -> Callable[[Record], Decoded]: ...
    @property
    def validate(self) -> Callable[[Decoded], Decoded | None] | None: ...
    @property
    def event_time(self) -> Callable[[Decoded, Record], float | None] | None: ...
    @property
    def aggregates(self) -> Sequence[Aggregate]: ...
    @property
    def table(self) -> str | None: ...
    @property
    def archive(self) -> Archive | None: ...
    @property
    def dead_letter_bucket(self) -> str | None: ...
    @property
    def dead_letter_prefix(self) -> str: ...
    @property
    def messages(self) -> Sequence[Message]: ...
    @property
    def allowed_lateness_s(self) -> float | None: ...
    @property
    def max_clock_skew_s(self) -> float: ...
    @property
    def future(self) -> FuturePolicy: ...
    @property
    def invalid_input(self) -> InvalidInput: ...


@dataclass
class BatchPlan:
    """What one batch will do, decided before any of it is written.

    Invariant: ``received == already_committed + succeeded + dead_lettered + retried``.
    """

    #: Everything to write, or None when no record is left to commit.
    intent: Intent | None = None
    #: The record processing stopped at: Lambda retries from its sequence number.
    stop_record: Record | None = None
    #: None when every record was planned, else "transient", "deadline" or "size"
    #: (``max_records``: the intent had to be smaller).
    stopped: str | None = None
    #: The exception that stopped the batch (None when stopped by the deadline).
    failure: BaseException | None = None
    received: int = 0
    already_committed: int = 0
    succeeded: int = 0
    dead_lettered: int = 0
    retried: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


def plan_batch(
    spec: PipelineSpec,
    raw_records: Sequence[Mapping[str, Any]],
    state: LedgerState,
    *,
    deadline: Deadline = NO_DEADLINE,
    max_records: int | None = None,
    too_large: tuple[Position, str] | None = None,
    fast: bool = True,
) -> BatchPlan:
    """Plan a Lambda event's ``Records`` (one shard) on top of the shard's ledger state.

    Pure: no I/O. Records at or before ``state``'s committed position are counted as
    already committed; the intent covers the rest up to the first transient failure or
    the deadline (or ``max_records`` planned records), whichever comes first, and
    creates generation ``state.generation + 1``. ``too_large`` (position, why): that
    record is dead-lettered ``too_large`` (its writes alone cannot be stored as an
    intent; see :meth:`streamkit.pipeline.Pipeline.plan`). ``fast``: stage the
    records with :func:`streamkit.plan_fast.fast_stager` when the spec allows (the
    same plan; False: always the general path, the reference in tests).
    """
    check_sequence_numbers(raw_records)
    plan = BatchPlan()
    bounds = batch_bounds(raw_records)
    batch = Staging(state.watermark)
    stage = (fast_stager(spec) if fast else None) or _general_stager(spec)
    # The loop runs once per record: counters and settings are locals, written
    # back to the plan at the end (the invariant holds then).
    committed = state.position
    remaining, margin = deadline.remaining, deadline.margin_ms  # deadline.reached()
    too_large_at = too_large[0] if too_large is not None else None
    received = already_committed = succeeded = dead_lettered = retried = 0
    stop_record: Record | None = None
    first: Position | None = None
    last: Position | None = None
    for record, number in iter_positioned(raw_records):
        received += 1
        position = (number, record.sub_sequence_number)
        if committed is not None and position <= committed:  # state.covers(position)
            already_committed += 1  # applied by an earlier invocation
            continue
        if stop_record is not None:
            retried += 1
            continue
        if max_records is not None and succeeded + dead_lettered >= max_records:
            stop_record, plan.stopped = record, "size"
            retried += 1
            continue
        if remaining is not None and remaining() < margin:
            stop_record, plan.stopped = record, "deadline"
            retried += 1
            continue
        letter: DeadLetter | None = None
        try:
            if position == too_large_at and too_large is not None:
                raise PermanentError(too_large[1], reason="too_large")
            stage(record, position, batch)
        except Exception as e:
            verdict = classify(e, invalid_input=spec.invalid_input)
            if not verdict.permanent:
                stop_record, plan.stopped, plan.failure = record, "transient", e
                retried += 1
                continue
            letter = DeadLetter(record, verdict.reason, verdict.detail, spec.name)
        if first is None:
            first = position
        last = position
        if letter is None:
            succeeded += 1
            continue
        dead_lettered += 1
        plan.dead_letters.append(letter)
        if spec.dead_letter_bucket:
            batch.dead_letter_objects.append(
                dead_letter_object(
                    letter,
                    bucket=spec.dead_letter_bucket,
                    prefix=spec.dead_letter_prefix,
                    consumer=spec.name,
                )
            )
    plan.received, plan.already_committed, plan.retried = received, already_committed, retried
    plan.succeeded, plan.dead_lettered, plan.stop_record = succeeded, dead_lettered, stop_record
    if first is None or last is None:
        return plan
    objects = batch.dead_letter_objects
    if spec.archive and batch.lines:
        objects = (
            archive_objects(
                batch.lines,
                bucket=spec.archive.bucket,
                prefix=spec.archive.prefix,
                stream=bounds.stream or "stream",
                shard_id=bounds.shard_id,
                consumer=spec.name,
                compresslevel=spec.archive.compresslevel,
            )
            + objects
        )
    plan.intent = Intent(
        consumer=spec.name,
        shard_id=bounds.shard_id,
        generation=state.generation + 1,
        start=first,
        end=last,
        watermark=batch.watermark,
        aggregates=aggregate_items(spec.aggregates, batch.deltas),
        objects=objects,
        messages=batch.messages,
        record_count=plan.succeeded + plan.dead_lettered,
        table=spec.table if len(batch.deltas) else None,
        stream=bounds.stream or None,
    )
    return plan


def _general_stager(spec: PipelineSpec) -> Stager:
    """The general path's staging function of ``spec`` (any spec)."""
    return lambda record, position, batch: _stage_record(spec, record, position, batch)


def _stage_record(spec: PipelineSpec, record: Record, position: Position, batch: Staging) -> None:
    """Run the spec on one record and add everything it causes to ``batch``.

    Raises what the record's functions and the write checks raise (the caller
    classifies it); ``batch`` is then unchanged.
    """
    if record.error is not None:
        raise record.error
    doc = spec.decode(record)
    if spec.validate is not None:
        checked = spec.validate(doc)
        # True/None keep the document, False dead-letters it, anything else replaces
        # it (so a predicate such as ``lambda d: "page" in d`` works as one).
        if checked is False:
            raise validation_failed()
        if checked is not None and checked is not True:
            doc = checked
    ts = spec.event_time(doc, record) if spec.event_time else None
    if ts is None:
        ts = record.approximate_arrival_timestamp
    ts = check_event_time(ts)
    check_float(ts, "event time")  # the watermark and last_event_time are DynamoDB numbers
    # Clock skew (issue 10, class 6): a record moves the watermark to its event time
    # but never past its own arrival time, so one record dated a year ahead cannot
    # make the shard's on-time records "late". Records dated more than
    # max_clock_skew_s after their arrival are counted, or dead-lettered "future".
    arrival = arrival_or_none(record)
    if (
        arrival is not None
        and spec.future == "dead_letter"
        and ts > arrival + spec.max_clock_skew_s
    ):
        raise future_error(ts, arrival, spec.max_clock_skew_s)
    watermark_ts = ts if arrival is None else min(ts, arrival)
    watermark = batch.watermark
    if spec.allowed_lateness_s is not None and is_late(ts, watermark, spec.allowed_lateness_s):
        raise late_error(ts, watermark, spec.allowed_lateness_s)
    # Everything this record will cause is computed and checked first, and only then
    # added to the batch: a record is either counted, archived and messaged
    # completely, or dead-lettered (or retried) with none of it.
    staged = stage_stats(spec.aggregates, doc, ts, position, batch.checked, batch.windows)
    new_messages = []
    for message in spec.messages:
        for name, body in message.build(doc, record):
            group = message.group_id(doc, record)
            new_messages.append(
                MessageWrite(
                    queue_url=message.queue_url,
                    # The exact text sent: serialised and checked once, here.
                    body=check_message(group, body),
                    group_id=group,
                    dedup_id=check_fifo_id("deduplication id", _dedup_id(spec.name, record, name)),
                )
            )
    line = None
    if spec.archive is not None:
        archived = spec.archive.transform(doc, record) if spec.archive.transform else doc
        # The exact line the archive object holds: serialised and checked once, here.
        data = check_size(
            "archived document", json_bytes(archived, "archived document"), MAX_ARCHIVE_LINE_BYTES
        )
        line = (position, ts, data)
    add_all(batch.deltas, staged)  # all or nothing; the last step that can fail
    batch.messages.extend(new_messages)
    if line is not None:
        batch.lines.append(line)
    if watermark is None or watermark_ts > watermark:
        batch.watermark = watermark_ts


def check_future(max_clock_skew_s: float, future: str) -> None:
    """ValueError naming the field unless the clock-skew settings are usable."""
    if not (isinstance(max_clock_skew_s, int | float) and 0 <= max_clock_skew_s < 10**9):
        raise ValueError(
            f"max_clock_skew_s must be a number of seconds >= 0, got {max_clock_skew_s!r}"
        )
    if future not in FUTURE_POLICIES:
        raise ValueError(f"future must be one of {', '.join(FUTURE_POLICIES)}; got {future!r}")


def _dedup_id(consumer: str, record: Record, name: str) -> str:
    # The full scope of one alert: consumer, stream, shard, record, message name (two
    # consumers alerting on one record to one queue send two alerts). SQS FIFO dedup
    # ids are at most 128 characters: hash it (any text).
    scope = f"{consumer}/{record.id}/{name}"
    return hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()
