"""``streamkit recover``: the ranges Lambda discarded, re-processed exactly once.

Under finite ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds`` Lambda gives up
on a failing batch and sends its description to the mapping's on-failure destination
(spec 2.5.3, 3). :func:`recover` reads those descriptions back
(:mod:`~streamkit.local.recover.failures`), takes each range's records from the S3
document's payload or re-reads them from the stream
(:mod:`~streamkit.local.recover.stream`), and runs them through the consumer's own
pipeline under the range's own ledger lane (``<consumer>#<shard>#recover#<first
sequence>``): the shard's ledger is already past the range and would reject it, while
the lane starts empty, commits like any shard (so every effect happens once) and
makes a second recovery a no-op. The pipeline never asks Lambda to retry records an
intent holds, yet a discarded range can overlap what the shard's ledger committed (an
invocation that committed and then timed out or crashed, until Lambda gave up): the
ledger's commit journal (:mod:`~streamkit.local.recover.committed`) gives the lane
that prefix as committed, so only the rest is processed.

Pending intents of closed shards (after resharding) are rolled forward first: no
invocation of those shards will ever come to do it.

Example::

    consumer = open_consumer("clickstream")
    summary = recover(consumer)
    summary.ok, summary.to_dict()["records"]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamkit.ledger import Ledger
from streamkit.local.filters import FilterSet, compile_filters
from streamkit.local.intents.store import pending_intents
from streamkit.local.recover.committed import JournalGap, committed_prefix, shard_ledger
from streamkit.local.recover.consumer import Consumer, RecoverError
from streamkit.local.recover.failures import (
    DiscardedRange,
    MalformedFailure,
    OtherStreamFailure,
    delete_message,
    read_failures,
)
from streamkit.local.recover.stream import read_range
from streamkit.records import iter_records

#: Invocations of one range in a row that make no progress before it is reported failed.
MAX_ATTEMPTS = 3


@dataclass
class RangeOutcome:
    """What recovery did with one discarded range."""

    range: DiscardedRange
    #: recovered | already_recovered | committed_by_shard (the shard's ledger had
    #: committed all of it before Lambda discarded it) | partly_trimmed | trimmed | failed
    status: str = "recovered"
    records: int = 0
    succeeded: int = 0
    dead_lettered: int = 0
    already_committed: int = 0
    filtered: int = 0
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("recovered", "already_recovered", "committed_by_shard")

    def to_dict(self) -> dict[str, Any]:
        r = self.range
        return {
            "shard_id": r.shard_id,
            "start": r.start,
            "end": r.end,
            "condition": r.condition,
            "source": r.source,
            "lane": r.lane,
            "status": self.status,
            "records": self.records,
            "succeeded": self.succeeded,
            "dead_lettered": self.dead_lettered,
            "already_committed": self.already_committed,
            "filtered": self.filtered,
            "detail": self.detail,
        }


@dataclass
class IntentOutcome:
    """A pending intent of a closed shard (or of a recovery lane), rolled forward."""

    ledger_id: str
    generation: int
    status: str  # rolled_forward | failed
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger_id": self.ledger_id,
            "generation": self.generation,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class RecoverSummary:
    """Everything one ``streamkit recover`` run did."""

    consumer: str
    destination: str
    ranges: list[RangeOutcome] = field(default_factory=list)
    intents: list[IntentOutcome] = field(default_factory=list)
    #: Pending intents of open shards, left to the shard's next invocation.
    left_pending: list[str] = field(default_factory=list)
    #: Messages / objects that are not on-failure documents, left at the destination.
    malformed: list[MalformedFailure] = field(default_factory=list)
    #: On-failure documents of other streams at the destination, left for their consumers.
    other_streams: int = 0

    @property
    def ok(self) -> bool:
        return (
            not self.malformed
            and all(r.ok for r in self.ranges)
            and all(i.status == "rolled_forward" for i in self.intents)
        )

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.ranges:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {
            "consumer": self.consumer,
            "destination": self.destination,
            "ok": self.ok,
            "ranges": counts,
            "records": {
                "read": sum(r.records for r in self.ranges),
                "succeeded": sum(r.succeeded for r in self.ranges),
                "dead_lettered": sum(r.dead_lettered for r in self.ranges),
                "already_committed": sum(r.already_committed for r in self.ranges),
                "filtered": sum(r.filtered for r in self.ranges),
            },
            "intents_rolled_forward": sum(i.status == "rolled_forward" for i in self.intents),
            "left_pending": self.left_pending,
            "range_details": [r.to_dict() for r in self.ranges],
            "intent_details": [i.to_dict() for i in self.intents],
            "malformed": [{"source": m.source, "reason": m.reason} for m in self.malformed],
            "other_streams": self.other_streams,
        }


def recover(
    consumer: Consumer,
    *,
    queue: str | None = None,
    keep_messages: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RecoverSummary:
    """Recover every range at the consumer's on-failure destination, exactly once.

    ``queue`` (an SQS queue name or URL) reads an SNS destination through a queue
    subscribed to it. The pipeline logs and emits metrics as on Lambda (to stdout;
    the command sends them to ``--logs``). Recovered ranges' SQS messages are deleted unless
    ``keep_messages``; S3 documents stay (their lanes make a second run a no-op).
    """
    say = progress or (lambda _text: None)
    kind, target, label = _destination(consumer, queue)
    summary = RecoverSummary(consumer.name, label)
    _roll_forward_closed(consumer, summary, say)
    filters = _filters(consumer)
    seen: set[tuple[str, str]] = set()
    # Messages to make visible again at the end (kept, duplicate or not recovered):
    # releasing one at once would let this run receive it again.
    kept: list[DiscardedRange | MalformedFailure | OtherStreamFailure] = []
    try:
        for discarded in read_failures(consumer.clients, kind, target, consumer.stream_arn):
            if isinstance(discarded, OtherStreamFailure):
                # Another mapping's document (a shared destination): made visible again
                # at the end like the kept ones (released now, this run would receive
                # it again and again), never left hidden for the visibility timeout.
                kept.append(discarded)
                summary.other_streams += 1
                continue
            if isinstance(discarded, MalformedFailure):
                summary.malformed.append(discarded)
                kept.append(discarded)
                say(f"{discarded.source}: malformed, left in place: {discarded.reason}")
                continue
            if (discarded.shard_id, discarded.start) in seen:
                kept.append(discarded)
                continue
            seen.add((discarded.shard_id, discarded.start))
            outcome = _recover_range(consumer, discarded, filters)
            summary.ranges.append(outcome)
            say(
                f"{discarded.shard_id} {discarded.start}..{discarded.end}: {outcome.status} "
                f"({outcome.succeeded} succeeded, {outcome.dead_lettered} dead-lettered, "
                f"{outcome.already_committed} already committed)"
            )
            if keep_messages or not outcome.ok:
                kept.append(discarded)
            elif discarded.receipt is not None:
                delete_message(consumer.clients, target, discarded.receipt)
    finally:
        for discarded in kept:
            _release(consumer, target, discarded)
    return summary


def _destination(consumer: Consumer, queue: str | None) -> tuple[str, str, str]:
    """(kind "sqs" or "s3", queue URL or bucket, label) to read the ranges from."""
    ref = consumer.config.esm.on_failure
    sqs = consumer.clients("sqs")
    if queue is not None:
        url = queue if "://" in queue else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        return "sqs", url, f"sqs:{queue}"
    if ref is None:
        raise RecoverError(
            f"consumer {consumer.name!r} has no on-failure destination "
            "(event_source_mapping.DestinationConfig.OnFailure): what Lambda discarded is gone"
        )
    if ref.type == "sns":
        raise RecoverError(
            f"{consumer.name!r}'s on-failure destination is SNS topic {ref.name!r}, which "
            "cannot be read back: subscribe an SQS queue to it and pass --queue NAME"
        )
    if ref.type == "sqs":
        return "sqs", sqs.get_queue_url(QueueName=ref.name)["QueueUrl"], f"sqs:{ref.name}"
    return "s3", ref.name, f"s3:{ref.name}"


def _filters(consumer: Consumer) -> FilterSet:
    patterns = consumer.config.esm.filter_patterns
    return compile_filters({"Filters": [{"Pattern": p} for p in patterns]} if patterns else None)


def _roll_forward_closed(
    consumer: Consumer, summary: RecoverSummary, say: Callable[[str], None]
) -> None:
    """Roll forward pending intents no invocation will ever come for."""
    shards = consumer.kinesis.list_shards(StreamName=consumer.stream)["Shards"]
    closed = {s["ShardId"] for s in shards if s["SequenceNumberRange"].get("EndingSequenceNumber")}
    for pending in pending_intents(consumer):
        if pending.lane is None and pending.shard_id not in closed:
            summary.left_pending.append(pending.ledger_id)
            continue
        generation = pending.intent.generation
        try:
            consumer.pipeline.roll_forward(pending.intent)
        except Exception as e:
            summary.intents.append(IntentOutcome(pending.ledger_id, generation, "failed", repr(e)))
            say(f"{pending.ledger_id} generation {generation}: still cannot be applied: {e}")
            continue
        summary.intents.append(IntentOutcome(pending.ledger_id, generation, "rolled_forward"))
        say(f"{pending.ledger_id} generation {generation}: rolled forward")


def _recover_range(
    consumer: Consumer, discarded: DiscardedRange, filters: FilterSet
) -> RangeOutcome:
    outcome = RangeOutcome(discarded)
    ledger_shard = f"{discarded.shard_id}#{discarded.lane}"
    if discarded.records is not None:
        records = discarded.records  # the S3 document holds the invocation event
    else:
        read = read_range(
            consumer.kinesis,
            consumer.stream,
            consumer.stream_arn,
            discarded.shard_id,
            discarded.start,
            discarded.end,
            filters,
        )
        records, outcome.filtered = read.records, read.filtered
        if read.trimmed:
            state = consumer.pipeline.ledger.read(ledger_shard)
            if state.intent is None and state.covers((int(discarded.end), 0)) and not records:
                outcome.status = "already_recovered"  # recovered before the stream trimmed it
                return outcome
            outcome.status = "partly_trimmed" if records else "trimmed"
            outcome.detail = read.trimmed
    outcome.records = sum(1 for _ in iter_records(records))
    if not records:
        return outcome
    status = outcome.status
    # What the shard's own ledger committed of the range (it committed, then the
    # invocation failed until Lambda gave up) starts the lane as committed.
    journal = Ledger(consumer.ledger_table, consumer.name, consumer.clients)
    try:
        prefix = committed_prefix(
            journal, shard_ledger(journal, discarded.shard_id, _stream_name(discarded)), records
        )
    except JournalGap as e:
        outcome.status, outcome.detail = "failed", str(e)
        return outcome
    seeded = prefix is not None and journal.seed(ledger_shard, prefix)
    _process(consumer, records, discarded.lane, outcome)
    if outcome.status == "recovered":
        if outcome.succeeded + outcome.dead_lettered == 0:
            outcome.status = "committed_by_shard" if seeded else "already_recovered"
        if status != "recovered":
            outcome.status = status  # trimmed in part: say so even when the rest is done
    return outcome


def _stream_name(discarded: DiscardedRange) -> str:
    """The stream's name as the pipeline records it (from the event source ARN)."""
    return discarded.stream_arn.rpartition("/")[2]


def _process(
    consumer: Consumer, records: list[dict[str, Any]], lane: str, out: RangeOutcome
) -> None:
    """Run the range's records through the pipeline in its lane, as Lambda would."""
    pipeline = consumer.pipeline
    size = consumer.config.esm.batch_size
    pending = list(records)
    stalled = 0
    first_pass = True
    while pending:
        batch = pending[:size]
        result = pipeline.run({"Records": batch}, None, lane=lane)
        out.succeeded += result.succeeded
        out.dead_lettered += result.dead_lettered
        if first_pass:
            out.already_committed += result.already_committed
        failures = result.response.get("batchItemFailures") or []
        if not failures:
            pending = pending[len(batch) :]
            first_pass = True
            stalled = 0
            continue
        # Retry from the reported record (spec 2.2.5); records before it are committed.
        seq = failures[0]["itemIdentifier"]
        index = next((i for i, r in enumerate(pending) if r["kinesis"]["sequenceNumber"] == seq), 0)
        moved = index > 0
        pending = pending[index:]
        first_pass = False
        stalled = 0 if moved else stalled + 1
        if stalled >= MAX_ATTEMPTS:
            out.status = "failed"
            out.detail = f"stopped at sequence number {seq}: {result.failure!r}"
            return


def _release(
    consumer: Consumer,
    target: str,
    discarded: DiscardedRange | MalformedFailure | OtherStreamFailure,
) -> None:
    """Make a range's SQS message visible again (for a later run, or a person)."""
    if discarded.receipt is not None:
        consumer.clients("sqs").change_message_visibility(
            QueueUrl=target, ReceiptHandle=discarded.receipt, VisibilityTimeout=0
        )
