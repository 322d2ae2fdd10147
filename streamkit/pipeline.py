"""The pipeline: decode, validate, aggregate, archive, dead-letter, exactly once.

A consumer is a few declarative lines::

    from streamkit.pipeline import Aggregate, Archive, Pipeline

    pipeline = Pipeline(
        "clickstream",
        validate=check_click,                      # doc -> None/True (keep), False
                                                   # (dead letter "invalid"), a new doc,
                                                   # or raise PermanentError
        event_time=lambda doc, record: doc["ts"] / 1000,
        aggregates=[
            Aggregate("page_views", key=lambda d: d["page"], window_s=60,
                      distinct=lambda d: d["user_id"]),
        ],
        table="streamkit-aggregates",              # DynamoDB aggregate items
        archive=Archive(bucket="clickstream-archive", prefix="raw"),
        dead_letter_bucket="clickstream-dlq",      # S3 dead-letter store
        ledger_table="streamkit-ledger",
        allowed_lateness_s=300,
    )

    def handler(event, context):
        return pipeline.handle(event, context)

Guarantees (see :mod:`streamkit.ledger` for the protocol): every aggregate, archive
object and dead letter reflects each record exactly once, whatever Lambda does
(partial-failure retries, bisected batches, whole-batch retries after a crash at
any point, duplicate delivery), at a cost of O(distinct aggregate items) writes per
batch plus two ledger writes. Records are handled in shard order; a transient
failure stops the batch there and is reported for retry (spec 2.2.5); which
failures are transient is the one rule of :func:`streamkit.errors.classify`
(``invalid_input=`` as for ``process_batch``).

This module is the protocol only (read the ledger, roll a pending intent forward,
plan, write the intent, apply, commit, emit). What a pipeline computes is declared
with :mod:`streamkit.spec`; planning a batch is the pure :func:`streamkit.plan.plan_batch`
(also :meth:`Pipeline.plan`); the checks that keep unwritable records out of an
intent are :mod:`streamkit.write_checks`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamkit.deadline import (
    NO_DEADLINE,
    PIPELINE_FINISH_MS,
    Deadline,
    LambdaContext,
    check_margin,
)
from streamkit.errors import (
    INVALID_INPUT_DEFAULT,
    InvalidInput,
    check_invalid_input,
)
from streamkit.invocation import (
    LedgerReset,
    PipelineResult,
    cause_of,
    ledger_id_of,
    report_invocation,
)
from streamkit.lazy_pipeline import LazyPipeline
from streamkit.ledger import INLINE_LIMIT, Intent, Ledger, LedgerConflict, LedgerState
from streamkit.observability import (
    BlockedIntent,
    InvocationClock,
    emit_blocked_intent,
    logger,
)
from streamkit.plan import (
    DEFAULT_MAX_CLOCK_SKEW_S,
    BatchPlan,
    FuturePolicy,
    check_future,
    plan_batch,
)
from streamkit.records import BatchBounds, Record, batch_bounds, event_records, iter_records
from streamkit.sinks.clients import Clients
from streamkit.sinks.dynamodb import DEFAULT_MARKER_HORIZON_S, AggregateTable, MarkerAhead
from streamkit.spec import (
    Aggregate,
    Archive,
    Decoded,
    Message,
    check_aggregate_names,
    check_resource_names,
    json_doc,
)
from streamkit.stores import (
    AggregateStore,
    LedgerStore,
    MessageQueue,
    ObjectStore,
    S3Objects,
    SqsQueue,
    Stores,
)
from streamkit.write_checks import check_key_room

__all__ = [
    "Aggregate",
    "Archive",
    "LazyPipeline",
    "LedgerReset",
    "Message",
    "Pipeline",
    "PipelineResult",
    "json_doc",
]


class Pipeline:
    """An exactly-once Kinesis consumer: see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        decode: Callable[[Record], Decoded] = json_doc,
        validate: Callable[[Decoded], Decoded | None] | None = None,
        event_time: Callable[[Decoded, Record], float | None] | None = None,
        aggregates: Sequence[Aggregate] = (),
        table: str | None = None,
        archive: Archive | None = None,
        dead_letter_bucket: str | None = None,
        dead_letter_prefix: str = "dlq",
        messages: Sequence[Message] = (),
        ledger_table: str,
        intent_bucket: str | None = None,
        allowed_lateness_s: float | None = None,
        max_clock_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S,
        future: FuturePolicy = "count",
        deadline_margin_ms: int | None = None,
        invalid_input: InvalidInput = INVALID_INPUT_DEFAULT,
        marker_horizon_s: float = DEFAULT_MARKER_HORIZON_S,
        clients: Callable[[str], Any] | None = None,
        stores: Stores | None = None,
        metrics: bool = True,
    ) -> None:
        if aggregates and not table:
            raise ValueError("aggregates need a table= (the DynamoDB aggregate table)")
        check_resource_names(
            {
                "table": table,
                "dead_letter_bucket": dead_letter_bucket,
                "intent_bucket": intent_bucket,
                "archive.bucket": archive.bucket if archive else None,
            }
        )
        required = {f"messages[{i}].queue_url": m.queue_url for i, m in enumerate(messages)}
        if stores is None or stores.ledger is None:
            required["ledger_table"] = ledger_table
        check_resource_names(required, required=True)
        check_aggregate_names(aggregates)
        self.name = name
        self.decode = decode
        self.validate = validate
        self.event_time = event_time
        self.aggregates = tuple(aggregates)
        self.table = table
        self.archive = archive
        self.dead_letter_bucket = dead_letter_bucket
        self.dead_letter_prefix = dead_letter_prefix
        self.messages = tuple(messages)
        self.allowed_lateness_s = allowed_lateness_s
        # Clock skew: a record moves the watermark at most to its arrival time;
        # future="dead_letter" dead-letters records dated more than max_clock_skew_s
        # after their arrival (default: counted in their window).
        check_future(max_clock_skew_s, future)
        check_key_room(
            name,
            archive_prefix=archive.prefix if archive else None,
            dead_letter_prefix=dead_letter_prefix,
        )
        self.max_clock_skew_s = float(max_clock_skew_s)
        self.future: FuturePolicy = future
        self.deadline_margin_ms = check_margin(deadline_margin_ms)
        self.invalid_input = check_invalid_input(invalid_input)
        self.clients = clients or Clients()
        self.metrics = metrics
        # The stores (streamkit.stores): AWS adapters on ``clients`` unless injected.
        stores = stores or Stores()
        self.ledger: LedgerStore = stores.ledger or Ledger(
            ledger_table,
            name,
            self.clients,
            intent_bucket=intent_bucket
            or dead_letter_bucket
            or (archive.bucket if archive else None),
        )
        # Applied markers of other ledger ids older than this are dropped from an
        # item when it is written (streamkit.sinks.dynamodb: bounded markers).
        self.marker_horizon_s = float(marker_horizon_s)
        self.aggregate_table: AggregateStore | None = stores.aggregates or (
            AggregateTable(table, self.clients, marker_horizon_s=marker_horizon_s)
            if table
            else None
        )
        self.objects: ObjectStore = stores.objects or S3Objects(self.clients)
        self.queue: MessageQueue = stores.queue or SqsQueue(self.clients)

    # ----------------------------------------------------------------- handler

    def handle(
        self, event: Mapping[str, Any], context: LambdaContext | None = None
    ) -> dict[str, Any]:
        """The Lambda handler body: returns the partial-failure response."""
        return self.run(event, context).response

    def run(
        self,
        event: Mapping[str, Any],
        context: LambdaContext | None = None,
        *,
        lane: str | None = None,
    ) -> PipelineResult:
        """Process one Lambda event (one shard's batch) exactly once.

        ``lane`` processes the records under a ledger item of their own
        (``<consumer>#<shard>#<lane>``) instead of the shard's: ``streamkit recover``
        gives each range Lambda discarded its own lane, so the shard's committed
        position (already past the range) does not reject it, and a second recovery
        finds the lane committed.

        Once a batch's intent is written its records belong to the ledger: the
        response never asks Lambda to retry them (so a range Lambda discards never
        overlaps an intent). An intent that fails to apply stays pending and blocks
        the shard: every later invocation rolls it forward first, and while that
        fails it logs an ERROR and a ``PendingIntentBlocked`` metric naming the
        intent and the cause (``streamkit intents`` inspects and resolves it).
        """
        started = time.perf_counter()
        clock = InvocationClock.of(context)  # spec 4.11: the invocation's clock
        raw = event_records(event)
        if not raw:
            return PipelineResult({"batchItemFailures": []})
        bounds = batch_bounds(raw)
        shard_id = bounds.shard_id
        ledger_shard = f"{shard_id}#{lane}" if lane else shard_id
        first_seq = bounds.retry_from
        deadline = Deadline.start(context, self.deadline_margin_ms, finish_ms=PIPELINE_FINISH_MS)
        result = PipelineResult({"batchItemFailures": []})

        try:
            state = self.ledger.read(ledger_shard)
            if bounds.stream and state.stream not in (None, bounds.stream):
                # Another stream of this consumer owns this shard id's ledger item:
                # this stream's records are counted under one of their own.
                ledger_shard = Ledger.stream_shard(ledger_shard, bounds.stream)
                state = self.ledger.read(ledger_shard)
        except Exception as e:
            logger().warning(
                "reading the ledger failed; retrying the batch",
                extra={"shard_id": shard_id, "error": repr(e)},
            )
            return self._retry_whole_batch(result, raw, first_seq, e, bounds, started, clock)
        pending = state.intent
        if pending is not None:  # a previous invocation stopped mid-way
            try:
                self.roll_forward(pending, written_at=state.intent_time or 0.0)
                state = self.ledger.read(ledger_shard)
            except Exception as e:
                return self._blocked(result, raw, pending, e, bounds, started, clock)
            result.rolled_forward = True

        plan = self.plan(raw, state, deadline=deadline, fit_inline=True)
        result.received, result.already_committed = plan.received, plan.already_committed
        result.succeeded, result.dead_lettered = plan.succeeded, plan.dead_lettered
        result.retried, result.dead_letters = plan.retried, plan.dead_letters
        result.stopped, result.failure = plan.stopped, plan.failure
        if not self.dead_letter_bucket:  # no store: the log line is the dead letter
            for letter in plan.dead_letters:
                logger().error("dead letter", extra={"dead_letter": letter.to_dict()})
        intent = plan.intent
        if intent is not None and ledger_shard != shard_id:
            intent = dataclasses.replace(intent, shard_id=ledger_shard)
        if intent is not None:
            try:
                self.ledger.write_intent(state, intent)
            except Exception as e:
                # LedgerConflict: another invocation moved this shard on; anything else
                # (throttling, S3 for a large intent): nothing was recorded. Either way
                # Lambda retries from the first record the ledger does not cover.
                return self._retry_whole_batch(
                    result, raw, str(intent.start[0]), e, bounds, started, clock
                )
            try:
                self.roll_forward(intent, fresh=True)
            except Exception as e:
                # The intent is durable: its records are the ledger's now, and the
                # next invocation (or `streamkit recover`) rolls it forward first.
                logger().warning(
                    "applying the batch failed; it stays pending and blocks the shard "
                    "until the next invocation rolls it forward",
                    extra={
                        "shard_id": shard_id,
                        "ledger_id": ledger_id_of(intent),
                        "generation": intent.generation,
                        "error": repr(e),
                    },
                )
                result.failure = e
            result.intent = intent
        if plan.stop_record is not None:
            result.response = {
                "batchItemFailures": [{"itemIdentifier": plan.stop_record.sequence_number}]
            }
        report_invocation(raw, result, bounds, started, clock, metrics=self.metrics)
        return result

    def roll_forward(
        self, intent: Intent, *, written_at: float | None = None, fresh: bool = False
    ) -> None:
        """Apply a pending ``intent`` (every write idempotent) and commit it.

        What the next invocation of the shard does first; ``streamkit recover`` and
        ``streamkit intents resolve --reapply`` call it for shards that will see no
        next invocation (closed after resharding). ``written_at``: when the intent was
        written to the ledger (epoch seconds; by default read from the ledger), so an
        intent older than the marker horizon never re-applies an item whose markers
        aged out (``MarkerPruned``); ``fresh``: this invocation just wrote it.
        """
        if written_at is None and not fresh:
            state = self.ledger.read(intent.shard_id)
            own = state.intent is not None and state.intent.intent_id == intent.intent_id
            written_at = (state.intent_time or 0.0) if own else 0.0
        self._apply(intent, None if fresh else written_at)
        self._commit(intent)

    def plan(
        self,
        raw_records: Sequence[Mapping[str, Any]],
        state: LedgerState,
        *,
        deadline: Deadline = NO_DEADLINE,
        fit_inline: bool = False,
    ) -> BatchPlan:
        """Plan a batch's ``Records`` on top of the shard's ledger ``state``, writing nothing.

        The pure step of :meth:`run` (:func:`streamkit.plan.plan_batch`): the intent,
        counts and dead letters this pipeline would commit. Without a ``deadline``
        every record is planned (e.g. ``LedgerState.new_shard()`` and a whole shard's
        records give what one exactly-once pass over them must write).

        ``fit_inline`` (what :meth:`run` does): when the ledger has no intent bucket,
        an intent over the ledger item's inline limit could never be written, so the
        batch is planned shorter (halving the records, stop ``"size"``) until it fits;
        the rest is reported for retry, and the final state does not depend on it. A
        single record whose writes alone exceed the limit is dead-lettered
        ``too_large`` (it could never be committed: the shard would be stuck on it).
        """
        plan = plan_batch(self, raw_records, state, deadline=deadline)
        if not fit_inline or getattr(self.ledger, "intent_bucket", None):
            return plan
        while (intent := plan.intent) is not None and (
            size := len(intent.to_bytes())
        ) > INLINE_LIMIT:
            planned = plan.succeeded + plan.dead_lettered
            if planned > 1:
                plan = plan_batch(
                    self, raw_records, state, deadline=deadline, max_records=planned // 2
                )
                continue
            if plan.dead_lettered or not hasattr(self.ledger, "intent_bucket"):
                # A dead letter's own intent (no bucket: never this large), or a ledger
                # store that does not say whether it has a bucket: write_intent decides.
                break
            why = (
                f"the record's writes take {size:,} bytes as a ledger intent, over the "
                f"ledger item's {INLINE_LIMIT:,}-byte inline limit, and the pipeline has no "
                "bucket for larger intents (intent_bucket, dead_letter_bucket or archive)"
            )
            plan = plan_batch(
                self,
                raw_records,
                state,
                deadline=deadline,
                max_records=1,
                too_large=(intent.start, why),
            )
        return plan

    # ---------------------------------------------------------------- effects

    def _apply(self, intent: Intent, written_at: float | None) -> None:
        if intent.aggregates:
            table = self._aggregate_store(intent)
            # Generations count per (consumer, shard): the applied marker is keyed so,
            # else another consumer writing the same item would look "already applied".
            ledger_id = f"{intent.consumer}#{intent.shard_id}"
            try:
                table.apply(
                    ledger_id, intent.generation, intent.aggregates, intent.intent_id, written_at
                )
            except MarkerAhead as e:
                self._check_overtaken(intent, e)
                return  # a zombie overtaken: the committed intent wrote everything
        if intent.objects:
            self.objects.put_objects(intent.objects)
        if intent.messages:
            self.queue.send(intent.messages)

    def _check_overtaken(self, intent: Intent, ahead: MarkerAhead) -> None:
        """An item's marker is ahead of ``intent``: fine if the ledger committed the
        marker's generation (we are a zombie overtaken by the retry), else the ledger
        restarted its generations (recreated or restored table) and applying would
        silently skip or double count: raise :class:`LedgerReset` (the intent stays
        pending and blocks the shard loudly)."""
        state = self.ledger.read(intent.shard_id)
        if state.generation >= ahead.marker_generation:
            return
        raise LedgerReset(
            f"ledger {ahead.ledger_id} is at generation {state.generation} (intent "
            f"{intent.intent_id} generation {intent.generation}) but aggregate items carry "
            f"its applied marker generation {ahead.marker_generation}: the ledger table was "
            "recreated or restored; restore it, or dead-letter the intent with "
            f"`streamkit intents resolve --dead-letter` ({ahead})"
        )

    def _aggregate_store(self, intent: Intent) -> AggregateStore:
        """Where ``intent``'s deltas go: the table it was planned for (a redeploy may
        have renamed the pipeline's; a removed table fails loudly and blocks)."""
        if (
            intent.table
            and intent.table != self.table
            and (self.aggregate_table is None or isinstance(self.aggregate_table, AggregateTable))
        ):
            return AggregateTable(
                intent.table, self.clients, marker_horizon_s=self.marker_horizon_s
            )
        if self.aggregate_table is None:
            raise ValueError("intent has aggregates but the pipeline has no table")
        return self.aggregate_table

    def _commit(self, intent: Intent) -> None:
        # A conflict means someone else (a zombie or a retry) committed this same
        # intent first: nothing left to do.
        with contextlib.suppress(LedgerConflict):
            self.ledger.commit(intent)

    # ---------------------------------------------------------------- helpers

    def _blocked(
        self,
        result: PipelineResult,
        raw: list[Mapping[str, Any]],
        intent: Intent,
        error: BaseException,
        bounds: BatchBounds,
        started: float,
        clock: InvocationClock,
    ) -> PipelineResult:
        """A pending intent could not be rolled forward: the shard stays blocked, loudly.

        Records the intent covers are the ledger's (not retried: a range Lambda
        discards must never overlap an intent); Lambda retries from the first record
        after it, or gets success when the batch holds nothing else.
        """
        emit_blocked_intent(
            BlockedIntent(
                stream=bounds.stream,
                shard_id=bounds.shard_id,
                ledger_id=ledger_id_of(intent),
                generation=intent.generation,
                intent_id=intent.intent_id,
                cause=cause_of(error),
            ),
            metrics=self.metrics,
        )
        after = [r for r in iter_records(raw) if r.position > intent.end]
        result = self._retry_whole_batch(
            result, raw, after[0].sequence_number if after else "", error, bounds, started, clock
        )
        if not after:
            result.response = {"batchItemFailures": []}
        return result

    def _retry_whole_batch(
        self,
        result: PipelineResult,
        raw: list[Mapping[str, Any]],
        seq: str,
        error: BaseException,
        bounds: BatchBounds,
        started: float,
        clock: InvocationClock,
    ) -> PipelineResult:
        """Nothing of this invocation was committed: Lambda retries from ``seq``."""
        result.response = {"batchItemFailures": [{"itemIdentifier": seq}]}
        result.stopped = "transient"
        result.failure = error
        result.retried = result.received - result.already_committed
        if result.received == 0:  # failed before decoding (the roll-forward)
            result.retried = len(raw)
        result.succeeded = result.dead_lettered = 0
        result.dead_letters = []
        report_invocation(raw, result, bounds, started, clock, metrics=self.metrics)
        return result
