"""The pipeline: decode, validate, aggregate, archive, dead-letter, exactly once.

A consumer is a few declarative lines::

    from streamkit.pipeline import Aggregate, Archive, Pipeline

    pipeline = Pipeline(
        "clickstream",
        validate=check_click,                      # doc -> doc, or raise PermanentError
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
failure stops the batch there and is reported for retry (spec 2.2.5).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streamkit.aggregate import (
    Deltas,
    Stats,
    Window,
    check_event_time,
    is_late,
    stats_to_item,
    window_of,
)
from streamkit.deadletter import DeadLetter, count_reasons
from streamkit.deadline import PIPELINE_FINISH_MS, Deadline, LambdaContext, check_margin
from streamkit.errors import (
    INVALID_INPUT_DEFAULT,
    InvalidInput,
    PermanentError,
    check_invalid_input,
    classify,
)
from streamkit.ledger import Intent, Ledger, LedgerConflict, LedgerState
from streamkit.observability import BatchSummary, emit_batch, iterator_age_ms, logger
from streamkit.records import BatchBounds, Record, batch_bounds, event_records, iter_records
from streamkit.sinks.clients import Clients
from streamkit.sinks.dlq import dead_letter_object
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.sinks.s3 import ArchiveLine, archive_objects, put_objects

Doc = Any

#: The one "window" of an all-time aggregate (``Aggregate(window_s=None)``).
ALL_TIME = Window(0, 4_102_444_800)  # 1970 .. 2100


@dataclass(frozen=True)
class Aggregate:
    """One aggregate: per key and tumbling event-time window.

    ``key(doc)`` gives the aggregate key (None: this record does not count here);
    ``value(doc)`` a number for sum/min/max/mean (None: count only); ``distinct(doc)``
    an item for the approximate distinct count; ``last(doc)`` the "last value"
    (default: ``value``). ``pairs(doc)``, instead of ``key``/``value``, yields several
    (key, value) pairs from one record (e.g. one per metric of a device reading).
    ``window_s=None`` keeps one all-time item per key (sort key ``all``), e.g. the
    latest state of a device.
    """

    name: str
    key: Callable[[Doc], str | None] = lambda doc: None
    window_s: int | None = 60
    value: Callable[[Doc], Any] | None = None
    distinct: Callable[[Doc], str | None] | None = None
    last: Callable[[Doc], Any] | None = None
    pairs: Callable[[Doc], Iterable[tuple[str, Any]]] | None = None
    ttl_s: int | None = None


@dataclass(frozen=True)
class Archive:
    """Archive raw records (or ``transform(doc, record)``) to S3 as gzip JSON Lines."""

    bucket: str
    prefix: str = "archive"
    transform: Callable[[Doc, Record], Any] | None = None


@dataclass(frozen=True)
class Message:
    """An SQS FIFO message to send exactly once per triggering record.

    ``build(doc, record)`` returns a list of (name, body) pairs; each is sent with a
    deduplication id derived from the record identity and the name.
    """

    queue_url: str
    build: Callable[[Doc, Record], Sequence[tuple[str, Any]]]
    group_id: Callable[[Doc, Record], str] = lambda doc, record: record.partition_key or "-"


@dataclass
class PipelineResult:
    """What one invocation did."""

    response: dict[str, Any]
    received: int = 0
    already_committed: int = 0
    succeeded: int = 0
    dead_lettered: int = 0
    retried: int = 0
    rolled_forward: bool = False
    intent: Intent | None = None
    stopped: str | None = None
    failure: BaseException | None = None
    dead_letters: list[DeadLetter] = field(default_factory=list)


def json_doc(record: Record) -> Doc:
    """Default decoder: the payload as JSON (gzip/zlib inflated)."""
    return record.json()


class Pipeline:
    """An exactly-once Kinesis consumer: see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        decode: Callable[[Record], Doc] = json_doc,
        validate: Callable[[Doc], Doc | None] | None = None,
        event_time: Callable[[Doc, Record], float | None] | None = None,
        aggregates: Sequence[Aggregate] = (),
        table: str | None = None,
        archive: Archive | None = None,
        dead_letter_bucket: str | None = None,
        dead_letter_prefix: str = "dlq",
        messages: Sequence[Message] = (),
        ledger_table: str,
        intent_bucket: str | None = None,
        allowed_lateness_s: float | None = None,
        deadline_margin_ms: int | None = None,
        invalid_input: InvalidInput = INVALID_INPUT_DEFAULT,
        clients: Callable[[str], Any] | None = None,
        metrics: bool = True,
    ) -> None:
        if aggregates and not table:
            raise ValueError("aggregates need a table= (the DynamoDB aggregate table)")
        names = [a.name for a in aggregates]
        for agg_name in names:
            if not agg_name or "#" in agg_name or names.count(agg_name) > 1:
                raise ValueError(
                    f"aggregates: name {agg_name!r} must be non-empty, unique and without "
                    f"'#' (it is the prefix of the item key '<name>#<key>'; names: {names})"
                )
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
        self.deadline_margin_ms = check_margin(deadline_margin_ms)
        self.invalid_input = check_invalid_input(invalid_input)
        self.clients = clients or Clients()
        self.metrics = metrics
        self.ledger = Ledger(
            ledger_table,
            name,
            self.clients,
            intent_bucket=intent_bucket
            or dead_letter_bucket
            or (archive.bucket if archive else None),
        )
        self.aggregate_table = AggregateTable(table, self.clients) if table else None

    # ----------------------------------------------------------------- handler

    def handle(
        self, event: Mapping[str, Any], context: LambdaContext | None = None
    ) -> dict[str, Any]:
        """The Lambda handler body: returns the partial-failure response."""
        return self.run(event, context).response

    def run(self, event: Mapping[str, Any], context: LambdaContext | None = None) -> PipelineResult:
        started = time.perf_counter()
        raw = event_records(event)
        if not raw:
            return PipelineResult({"batchItemFailures": []})
        bounds = batch_bounds(raw)
        shard_id = bounds.shard_id
        first_seq = bounds.retry_from
        deadline = Deadline.start(context, self.deadline_margin_ms, finish_ms=PIPELINE_FINISH_MS)
        result = PipelineResult({"batchItemFailures": []})

        try:
            state = self.ledger.read(shard_id)
            if state.intent is not None:  # a previous invocation stopped mid-way
                self._apply(state.intent)
                self._commit(state.intent)
                result.rolled_forward = True
                state = self.ledger.read(shard_id)
        except Exception as e:
            logger().warning(
                "ledger roll-forward failed; retrying the batch",
                extra={"shard_id": shard_id, "error": repr(e)},
            )
            return self._fail_all(result, raw, first_seq, e, bounds, started)

        intent, stop_record = self._process(raw, state, bounds, result, deadline)
        if intent is not None:
            try:
                self.ledger.write_intent(state, intent)
            except Exception as e:
                # LedgerConflict: another invocation moved this shard on; anything else
                # (throttling, S3 for a large intent): nothing was recorded. Either way
                # Lambda retries, and the next attempt starts from the ledger state.
                return self._fail_all(result, raw, first_seq, e, bounds, started)
            try:
                self._apply(intent)
                self._commit(intent)
            except Exception as e:
                logger().warning(
                    "applying the batch failed; it stays pending and is rolled forward "
                    "by the retry",
                    extra={"shard_id": shard_id, "error": repr(e)},
                )
                return self._fail_all(result, raw, str(intent.start[0]), e, bounds, started)
            result.intent = intent
        if stop_record is not None:
            result.response = {
                "batchItemFailures": [{"itemIdentifier": stop_record.sequence_number}]
            }
        self._report(raw, result, bounds, started)
        return result

    # -------------------------------------------------------------- processing

    def _process(
        self,
        raw: list[Mapping[str, Any]],
        state: LedgerState,
        bounds: BatchBounds,
        result: PipelineResult,
        deadline: Deadline,
    ) -> tuple[Intent | None, Record | None]:
        deltas = Deltas()
        lines: list[ArchiveLine] = []
        objects: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        watermark = state.watermark
        first: tuple[int, int] | None = None
        last: tuple[int, int] | None = None
        stop: Record | None = None
        shard_id = bounds.shard_id
        stream = bounds.stream or "stream"
        for record in iter_records(raw):
            result.received += 1
            position = (int(record.sequence_number), record.sub_sequence_number)
            if state.covers(position):
                result.already_committed += 1  # applied by an earlier invocation
                continue
            if stop is not None:
                result.retried += 1
                continue
            if deadline.reached():
                stop, result.stopped = record, "deadline"
                result.retried += 1
                continue
            letter: DeadLetter | None = None
            try:
                watermark = self._one(record, position, watermark, deltas, lines, messages)
            except Exception as e:
                verdict = classify(e, invalid_input=self.invalid_input)
                if not verdict.permanent:
                    stop, result.stopped, result.failure = record, "transient", e
                    result.retried += 1
                    continue
                letter = DeadLetter(record, verdict.reason, verdict.detail, self.name)
            if first is None:
                first = position
            last = position
            if letter is None:
                result.succeeded += 1
            else:
                result.dead_lettered += 1
                result.dead_letters.append(letter)
                if self.dead_letter_bucket:
                    objects.append(
                        dead_letter_object(
                            letter,
                            bucket=self.dead_letter_bucket,
                            prefix=self.dead_letter_prefix,
                            consumer=self.name,
                        )
                    )
                else:
                    logger().error("dead letter", extra={"dead_letter": letter.to_dict()})
        if first is None or last is None:
            return None, stop
        if self.archive and lines:
            objects = (
                archive_objects(
                    lines,
                    bucket=self.archive.bucket,
                    prefix=self.archive.prefix,
                    stream=stream,
                    shard_id=shard_id,
                )
                + objects
            )
        intent = Intent(
            consumer=self.name,
            shard_id=shard_id,
            generation=state.generation + 1,
            start=first,
            end=last,
            watermark=watermark,
            aggregates=self._aggregate_specs(deltas),
            objects=objects,
            messages=messages,
            records=result.succeeded + result.dead_lettered,
        )
        return intent, stop

    def _one(
        self,
        record: Record,
        position: tuple[int, int],
        watermark: float | None,
        deltas: Deltas,
        lines: list[ArchiveLine],
        messages: list[dict[str, Any]],
    ) -> float | None:
        """Handle one record; return the new watermark.

        Raises what the record's functions raise; the caller classifies it.
        """
        if record.error is not None:
            raise record.error
        doc = self.decode(record)
        if self.validate is not None:
            checked = self.validate(doc)
            doc = doc if checked is None else checked
        ts = self.event_time(doc, record) if self.event_time else None
        if ts is None:
            ts = record.approximate_arrival_timestamp
        ts = check_event_time(ts)
        if self.allowed_lateness_s is not None and is_late(ts, watermark, self.allowed_lateness_s):
            raise PermanentError(
                f"event time {_iso(ts)} is more than {self.allowed_lateness_s} s behind "
                f"the shard's watermark {_iso(watermark or ts)}",
                reason="late",
            )
        # Everything this record will cause is computed and checked first, and
        # only then added to the batch: a record is either counted, archived and
        # messaged completely, or dead-lettered (or retried) with none of it.
        staged = []
        for agg in self.aggregates:
            window = ALL_TIME if agg.window_s is None else window_of(ts, agg.window_s)
            item = agg.distinct(doc) if agg.distinct else None
            if agg.pairs is not None:
                pairs = list(agg.pairs(doc))
            else:
                key = agg.key(doc)
                pairs = [] if key is None else [(key, agg.value(doc) if agg.value else None)]
            for key, value in pairs:
                _check_key(agg.name, str(key))
                if agg.last is not None:
                    last = agg.last(doc)
                    _check_size("last value", last, MAX_LAST_VALUE_BYTES)
                    stats = Stats.of(
                        value,
                        event_time=ts,
                        position=position,
                        distinct_item=item,
                        last_value=last,
                    )
                else:
                    stats = Stats.of(value, event_time=ts, position=position, distinct_item=item)
                staged.append((agg.name, str(key), window, stats))
        new_messages = []
        for message in self.messages:
            for name, body in message.build(doc, record):
                group = message.group_id(doc, record)
                _check_message(group, body)
                new_messages.append(
                    {
                        "queue_url": message.queue_url,
                        "body": body,
                        "group_id": group,
                        "dedup_id": _dedup_id(record, name),
                    }
                )
        line = None
        if self.archive is not None:
            archived = self.archive.transform(doc, record) if self.archive.transform else doc
            _check_size("archived document", archived, MAX_ARCHIVE_LINE_BYTES)
            line = (position, ts, archived)
        _add_all(deltas, staged)  # all or nothing; the last step that can fail
        messages.extend(new_messages)
        if line is not None:
            lines.append(line)
        return ts if watermark is None or ts > watermark else watermark

    def _aggregate_specs(self, deltas: Deltas) -> list[dict[str, Any]]:
        ttl = {a.name: a.ttl_s for a in self.aggregates}
        specs = []
        for name, key, window, stats in deltas:
            extra: dict[str, Any] = {"aggregate": name, "key": key}
            if window == ALL_TIME:
                sk = "all"
            else:
                sk = window.key
                extra["window_start"] = window.key
                extra["window_end"] = _iso(window.end)
                if ttl.get(name):
                    extra["ttl"] = int(window.end + (ttl[name] or 0))
            specs.append(
                {
                    "key": {"pk": f"{name}#{key}", "sk": sk},
                    "stats": stats_to_item(stats),
                    "extra": extra,
                }
            )
        return specs

    # ---------------------------------------------------------------- effects

    def _apply(self, intent: Intent) -> None:
        if intent.aggregates:
            if self.aggregate_table is None:
                raise ValueError("intent has aggregates but the pipeline has no table")
            # Generations count per (consumer, shard): the applied marker is keyed so,
            # else another consumer writing the same item would look "already applied".
            ledger_id = f"{intent.consumer}#{intent.shard_id}"
            self.aggregate_table.apply(ledger_id, intent.generation, intent.aggregates)
        if intent.objects:
            put_objects(intent.objects, self.clients("s3"))
        for m in intent.messages:
            self.clients("sqs").send_message(
                QueueUrl=m["queue_url"],
                MessageBody=m["body"] if isinstance(m["body"], str) else _json(m["body"]),
                MessageGroupId=m["group_id"],
                MessageDeduplicationId=m["dedup_id"],
            )

    def _commit(self, intent: Intent) -> None:
        # A conflict means someone else (a zombie or a retry) committed this same
        # intent first: nothing left to do.
        with contextlib.suppress(LedgerConflict):
            self.ledger.commit(intent)

    # ---------------------------------------------------------------- helpers

    def _fail_all(
        self,
        result: PipelineResult,
        raw: list[Mapping[str, Any]],
        seq: str,
        error: BaseException,
        bounds: BatchBounds,
        started: float,
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
        self._report(raw, result, bounds, started)
        return result

    def _report(
        self,
        raw: list[Mapping[str, Any]],
        result: PipelineResult,
        bounds: BatchBounds,
        started: float,
    ) -> None:
        emit_batch(
            BatchSummary(
                stream=bounds.stream,
                shard_id=bounds.shard_id,
                first_sequence_number=bounds.first_sequence_number,
                last_sequence_number=bounds.last_sequence_number,
                kinesis_records=len(raw),
                # Records an earlier invocation committed are not part of this batch's
                # work: received = succeeded + dead-lettered + retried holds.
                received=result.received - result.already_committed,
                succeeded=result.succeeded,
                dead_lettered=result.dead_lettered,
                retried=result.retried,
                iterator_age_ms=iterator_age_ms(bounds.last_arrival),
                duration_ms=(time.perf_counter() - started) * 1000,
                stopped=result.stopped,
                dead_letter_reasons=count_reasons(result.dead_letters),
            ),
            metrics=self.metrics,
        )


class LazyPipeline:
    """A handler module's pipeline, built from ``os.environ`` on first use.

    Lambda builds it once per container (on the first invocation, when the
    function's environment is in place) and reuses it; tests call :meth:`reset`
    after changing the environment::

        _lazy = LazyPipeline(build_pipeline)
        pipeline, handler, reset = _lazy.get, _lazy.handler, _lazy.reset
    """

    def __init__(self, build: Callable[[Mapping[str, str]], Pipeline]) -> None:
        self._build = build
        self._pipeline: Pipeline | None = None

    def get(self) -> Pipeline:
        if self._pipeline is None:
            import os

            self._pipeline = self._build(os.environ)
        return self._pipeline

    def handler(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry point."""
        return self.get().handle(event, context)

    def reset(self) -> None:
        self._pipeline = None


#: DynamoDB key limits: partition key 2048 bytes, sort key 1024 bytes.
MAX_PK_BYTES = 2048
#: Bounds that keep an aggregate item, an SQS message and an archive line well
#: inside the AWS limits (400 KB item, 256 KB message), checked per record so that
#: a record that would break a write is dead-lettered, not written into an intent
#: that could never be applied.
MAX_LAST_VALUE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 200 * 1024
MAX_ARCHIVE_LINE_BYTES = 1024 * 1024
_FIFO_GROUP_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)


def _check_key(aggregate: str, key: str) -> None:
    if len(f"{aggregate}#{key}".encode()) > MAX_PK_BYTES:
        raise PermanentError(
            f"aggregate {aggregate!r} key of {len(key.encode())} bytes exceeds DynamoDB's "
            f"{MAX_PK_BYTES}-byte partition key",
            reason="too_large",
        )


def _check_size(what: str, value: Any, limit: int) -> None:
    import orjson

    try:
        size = len(orjson.dumps(value, default=str))
    except TypeError as e:
        raise PermanentError(f"{what} is not JSON-serialisable: {e}", reason="invalid") from e
    if size > limit:
        raise PermanentError(f"{what} of {size} bytes exceeds {limit}", reason="too_large")


def _check_message(group: str, body: Any) -> None:
    # SQS FIFO: MessageGroupId is 1..128 characters of alphanumerics and punctuation.
    if (
        not isinstance(group, str)
        or not 0 < len(group) <= 128
        or not set(group) <= _FIFO_GROUP_CHARS
    ):
        raise PermanentError(
            f"message group id {group!r} is not 1..128 characters of letters, digits and "
            "punctuation (SQS FIFO)",
            reason="invalid",
        )
    if not isinstance(body, str):
        import orjson

        try:
            body = orjson.dumps(body).decode()
        except TypeError as e:
            raise PermanentError(f"message body is not JSON: {e}", reason="invalid") from e
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise PermanentError(
            f"message body of {len(body.encode())} bytes exceeds {MAX_MESSAGE_BYTES}",
            reason="too_large",
        )


def _add_all(deltas: Deltas, staged: list[tuple[str, str, Window, Stats]]) -> None:
    """Add one record's stats to the batch's deltas, all or nothing.

    A merge can still fail (a sum beyond 38 digits): the record is then
    dead-lettered, so none of its stats may stay in the batch.
    """
    before = [(a, k, w, deltas.get(a, k, w)) for a, k, w, _ in staged]
    try:
        for delta in staged:
            deltas.add(*delta)
    except Exception:
        for a, k, w, old in before:
            deltas.restore(a, k, w, old)
        raise


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dedup_id(record: Record, name: str) -> str:
    # SQS FIFO dedup ids are at most 128 characters: hash the identity.
    return hashlib.sha256(f"{record.id}/{name}".encode()).hexdigest()


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
