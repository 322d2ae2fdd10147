"""The batch processor: records -> outcomes -> a Kinesis-correct partial-failure response.

Rules (spec section 2, architecture "Guarantees"):

* Records are handled one at a time in shard order.
* An exception of the handler is sorted by the one rule of
  :func:`streamkit.errors.classify`: a :class:`~streamkit.errors.PermanentError`
  (including a payload that cannot be decoded) and, by default, a ``KeyError``,
  ``ValueError`` or ``TypeError`` (reason ``invalid``; ``invalid_input="retry"``
  makes them transient) dead-letter the record and processing continues.
* Any other exception is transient: processing stops at that record and the
  response names exactly its sequence number. Lambda checkpoints at the lowest
  reported identifier and re-delivers everything from it (spec 2.2.5), so nothing
  after it may have been applied: that is why we stop instead of carrying on, as
  Powertools' BatchProcessor does.
* A KPL user record that fails reports its parent's sequence number, the only
  identifier Lambda can retry (spec 6.5).
* Deadline guard (:mod:`streamkit.deadline`): once
  ``context.get_remaining_time_in_millis()`` is below the margin, stop and report the
  first unhandled record, so a timeout never leaves a half-applied batch.

Example (a Lambda handler)::

    import streamkit

    def handle(record: streamkit.Record) -> None:
        click = record.json()
        ...

    def handler(event, context):
        return streamkit.process_batch(event, handle, context)

The function must have ``FunctionResponseTypes: ["ReportBatchItemFailures"]`` on
its event source mapping; without it Lambda ignores the response (spec 2.2.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streamkit.deadletter import DeadLetter, DeadLetterSink, LoggingDeadLetters, count_reasons
from streamkit.deadline import Deadline, LambdaContext
from streamkit.errors import (
    INVALID_INPUT_DEFAULT,
    InvalidInput,
    check_invalid_input,
    classify,
)
from streamkit.observability import BatchSummary, InvocationClock, emit_batch, iterator_age_ms
from streamkit.records import (
    Record,
    batch_bounds,
    check_sequence_numbers,
    event_records,
    iter_records,
)

#: A record handler: called once per record; its return value is ignored.
RecordHandler = Callable[[Record], object]

__all__ = [
    "BatchCounts",
    "BatchResult",
    "LambdaContext",
    "RecordHandler",
    "process_batch",
    "run_batch",
]


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """Per-batch counts. Invariant: received == succeeded + dead_lettered + retried."""

    kinesis_records: int
    received: int
    succeeded: int
    dead_lettered: int
    retried: int


@dataclass(slots=True)
class BatchResult:
    """Everything one batch did: the Lambda response plus what led to it.

    Handled records are not kept (each is freed as soon as it is done, which keeps
    memory flat and the garbage collector quiet on 10,000-record batches).
    """

    response: dict[str, Any]
    counts: BatchCounts
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: The record processing stopped at (reported for retry), if any.
    failed_record: Record | None = None
    #: The exception that stopped processing (None when stopped by the deadline).
    failure: BaseException | None = None
    #: None when every record was handled, else "transient" or "deadline".
    stopped: str | None = None

    @property
    def retry_sequence_number(self) -> str | None:
        """The sequence number Lambda will retry from, if any."""
        return self.failed_record.sequence_number if self.failed_record else None


def process_batch(
    event: Mapping[str, Any],
    record_handler: RecordHandler,
    context: LambdaContext | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Process a Lambda Kinesis event; return the partial-failure response.

    Returns ``{"batchItemFailures": []}`` when every record succeeded or was
    dead-lettered, else ``{"batchItemFailures": [{"itemIdentifier": seq}]}`` with
    the one sequence number Lambda must retry from. Tumbling-window events (spec
    1.2) also get the ``state`` Lambda requires (spec 1.2.8).

    Options (keyword): see :func:`run_batch`.
    """
    return run_batch(event, record_handler, context, **options).response


def run_batch(
    event: Mapping[str, Any],
    record_handler: RecordHandler,
    context: LambdaContext | None = None,
    *,
    dead_letters: DeadLetterSink | None = None,
    deadline_margin_ms: int | None = None,
    invalid_input: InvalidInput = INVALID_INPUT_DEFAULT,
    metrics: bool = True,
    namespace: str | None = None,
    window_state: Callable[[Mapping[str, Any], BatchResult], Mapping[str, Any]] | None = None,
) -> BatchResult:
    """Like :func:`process_batch`, but return the full :class:`BatchResult`.

    Options:
        dead_letters: sink called with each :class:`DeadLetter` (default: one ERROR
            log line each). If the sink raises, that record is reported for retry.
        deadline_margin_ms: stop taking records when less than this is left.
            Default: 10% of the time left at the start, within 200..5000 ms
            (:mod:`streamkit.deadline`).
        invalid_input: a ``KeyError``/``ValueError``/``TypeError`` of the handler
            dead-letters the record with reason ``invalid`` (``"dead_letter"``, the
            default) or is retried like any transient error (``"retry"``); see
            :func:`streamkit.errors.classify`.
        metrics: flush EMF metrics for the batch (default True).
        namespace: CloudWatch namespace (default ``POWERTOOLS_METRICS_NAMESPACE``
            or ``streamkit``).
        window_state: for tumbling-window events, computes the ``state`` to return
            from the incoming state and this batch's result. Default: pass the
            incoming state through unchanged.
    """
    started = time.perf_counter()
    raw_records = event_records(event)
    check_sequence_numbers(raw_records)  # refused whole, like Pipeline.run
    sink: DeadLetterSink = dead_letters if dead_letters is not None else LoggingDeadLetters()
    deadline = Deadline.start(context, deadline_margin_ms)
    handler_name = _handler_name(record_handler)
    invalid_input = check_invalid_input(invalid_input)

    letters: list[DeadLetter] = []
    failed: Record | None = None
    failure: BaseException | None = None
    stopped: str | None = None
    handled = 0  # records done (succeeded or dead-lettered), in order
    decoded = iter_records(raw_records)
    for record in decoded:
        if deadline.reached():
            failed, stopped = record, "deadline"
            break
        error: Exception | None = record.error
        if error is None:
            try:
                record_handler(record)
            except Exception as e:
                error = e
            else:
                handled += 1
                continue
        verdict = classify(error, invalid_input=invalid_input)
        if not verdict.permanent:
            failed, failure, stopped = record, error, "transient"
            break
        letter = DeadLetter(record, verdict.reason, verdict.detail, handler_name)
        try:
            sink(letter)
        except Exception as e:
            # Not stored means not done: retry the record rather than lose it.
            failed, failure, stopped = record, e, "transient"
            break
        letters.append(letter)
        handled += 1

    # After a stop, the rest is decoded only to be counted (counts always add up).
    received = handled + (1 + sum(1 for _ in decoded) if failed is not None else 0)
    counts = BatchCounts(
        kinesis_records=len(raw_records),
        received=received,
        succeeded=handled - len(letters),
        dead_lettered=len(letters),
        retried=received - handled,
    )
    failures = [{"itemIdentifier": failed.sequence_number}] if failed is not None else []
    response: dict[str, Any] = {"batchItemFailures": failures}
    result = BatchResult(response, counts, letters, failed, failure, stopped)
    if "window" in event:
        incoming = event.get("state") or {}
        state = window_state(incoming, result) if window_state else incoming
        response["state"] = dict(state)

    clock = InvocationClock.of(context)
    _report(raw_records, result, started, clock, metrics=metrics, namespace=namespace)
    return result


def _handler_name(fn: object) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{name}" if module else name


def _report(
    raw_records: list[Mapping[str, Any]],
    result: BatchResult,
    started: float,
    clock: InvocationClock,
    *,
    metrics: bool,
    namespace: str | None,
) -> None:
    bounds = batch_bounds(raw_records)
    c = result.counts
    now = clock.now()  # spec 4.11: when processing finished, on the invocation's clock
    summary = BatchSummary(
        stream=bounds.stream,
        shard_id=bounds.shard_id,
        first_sequence_number=bounds.first_sequence_number,
        last_sequence_number=bounds.last_sequence_number,
        kinesis_records=c.kinesis_records,
        received=c.received,
        succeeded=c.succeeded,
        dead_lettered=c.dead_lettered,
        retried=c.retried,
        iterator_age_ms=iterator_age_ms(bounds.last_arrival, now),
        duration_ms=(time.perf_counter() - started) * 1000,
        stopped=result.stopped,
        dead_letter_reasons=count_reasons(result.dead_letters),
        timestamp_ms=int(now * 1000),
    )
    emit_batch(summary, namespace=namespace, metrics=metrics)
    if result.stopped is None:
        return
    from streamkit.observability import logger

    failed = result.failed_record
    fields = {
        "record_id": failed.id if failed else None,
        "stopped": result.stopped,
        "error": repr(result.failure) if result.failure else None,
    }
    if result.stopped == "deadline" and result.counts.received == result.counts.retried:
        logger().warning(
            "deadline margin reached before the first record: no progress this invocation; "
            "lower deadline_margin_ms or raise the function timeout",
            extra=fields,
        )
    else:
        logger().warning(
            "stopped early; reporting the first unhandled record for retry", extra=fields
        )
