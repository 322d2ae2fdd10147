"""A faithful simulator of Lambda's Kinesis event source mapping (ESM).

It polls a real (usually local) Kinesis endpoint with ListShards, GetShardIterator
and GetRecords, and invokes a handler function in-process with exactly Lambda's
event shape (spec 1.1, 1.2) and a Lambda-like context, following every numbered
rule of ``shared/spec/lambda-kinesis-esm.md`` sections 2 to 6. Rule numbers are
cited where they apply.

Example::

    from streamkit.local.esm import EventSourceMapping
    from streamkit.local.config import EsmSettings

    esm = EventSourceMapping(
        handler, EsmSettings("TRIM_HORIZON", batch_size=100,
                             function_response_types=("ReportBatchItemFailures",)),
        kinesis_client, "clickstream",
    )
    stats = esm.run()          # until every record is processed, filtered or discarded
    assert stats.unresolved == 0

Choices where the spec marks a fact unconfirmed (section 9), each tested:

* 9.1 / 2.2.8: a partial response that moves the checkpoint forward starts a new,
  smaller batch with a fresh retry counter; one that does not move it counts as a
  failed attempt. 2.3.6: each half of a bisected batch gets a fresh counter, and
  bisection continues down to single records before retries are counted.
* 9.2 / 2.1.6: retry back-off is 1 s, doubling, capped at 10 s (about 8
  invocations in 60 s, as observed).
* 9.6 / 1.2.3-1.2.4: a window's first invocation gets ``state: {}``; the final
  invocation of a window carries an empty ``Records`` array.
* 9.8 / 4.5: a single record whose event exceeds 6 MB cannot be invoked; it is
  treated as a service error (retried until the record expires, never counted as
  an attempt), which with infinite age ends in the stuck-shard error.
* 2.2.3-2.2.4: with ReportBatchItemFailures, a response that is not a JSON object,
  null, "" or [] (say, a non-empty string) is a complete failure.
* 4.10 / 9.7: a child shard starts only after all its parents are finished.

The simulator runs on a virtual clock by default (no sleeping); see
:mod:`streamkit.local.clock`. On the virtual clock each :meth:`run` reads every
shard to its tip and processes what it found (a replay); records written during a
run are picked up by the next run. On a :class:`~streamkit.local.clock.RealClock`
idle shards are polled about once per second for new records (spec 4.1).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pybase64

from streamkit.local.clock import Clock, VirtualClock
from streamkit.local.config import EsmSettings
from streamkit.local.destinations import (
    RECORD_AGE_EXCEEDED,
    RETRY_ATTEMPTS_EXHAUSTED,
    DestinationSender,
    FailureContext,
    failure_document,
)
from streamkit.local.faults import Fault, FaultPlan, InjectedFault, SimulatedCrash
from streamkit.local.filters import FilterSet, compile_filters
from streamkit.local.shards import KinesisShardReader, ShardInfo, StreamRecord

#: Lambda's synchronous invocation payload limit (spec 4.5: 6 MB read as 6 MiB).
MAX_EVENT_BYTES = 6_291_456
#: Tumbling-window state limit per shard (spec 1.2.5).
MAX_STATE_BYTES = 1_048_576
#: How long a window with no new records stays open after its end (spec 1.2.6).
WINDOW_IDLE_WAIT = 120.0
#: How often an idle shard is polled (spec 4.1: about once per second).
POLL_INTERVAL = 1.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 10.0

Handler = Callable[[dict[str, Any], Any], Any]

PROCESSED = "processed"
FILTERED = "filtered"
DISCARDED = "discarded"


class StuckShardError(RuntimeError):
    """A shard made no progress for too many invocations (a poison record with
    infinite retries and age blocks its shard forever, as on Lambda: spec 2.1.2)."""

    def __init__(self, shard_id: str, sequence_number: str, attempts: int, last_error: str) -> None:
        super().__init__(
            f"shard {shard_id} is stuck at record {sequence_number}: {attempts} invocations "
            f"without progress (last error: {last_error}). With MaximumRetryAttempts -1 and "
            "MaximumRecordAgeInSeconds -1 Lambda would retry it until the record expires "
            "from the stream; set a retry or age limit, or fix the handler."
        )
        self.shard_id = shard_id
        self.sequence_number = sequence_number
        self.attempts = attempts


class LambdaContext:
    """The context object a Lambda Python handler receives.

    Remaining time counts down in real time from the configured timeout while the
    handler runs, like Lambda's.
    """

    def __init__(
        self,
        function_name: str,
        function_arn: str,
        request_id: str,
        timeout_s: float,
        memory_mb: int,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{request_id[:8]}"
        self._deadline = time.perf_counter() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.perf_counter()) * 1000))


@dataclass(slots=True)
class InvocationLog:
    """One invocation (or throttled attempt), for tests and summaries."""

    shard_id: str
    lane: int
    request_id: str
    sequence_numbers: tuple[str, ...]
    outcome: str  # success | partial | failure | throttled | too_large
    detail: str = ""
    invoke_count: int = 0
    time: float = 0.0
    window: tuple[str, str] | None = None
    final_window: bool = False


@dataclass
class EsmStats:
    """What a run did. ``unresolved`` counts records neither processed, filtered
    nor sent to a destination (non-zero only when the run was stopped early)."""

    records_in: int = 0
    invocations: int = 0
    records_delivered: int = 0
    batch_item_failures_reported: int = 0
    records_discarded: int = 0
    on_failure_messages: int = 0
    on_failure_delivery_errors: int = 0
    filtered_out: int = 0
    records_processed: int = 0
    throttles: int = 0
    bisections: int = 0
    #: Arrival time of the newest record processed so far (for iterator age).
    last_processed_arrival: float | None = None
    log: list[InvocationLog] = field(default_factory=list)
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    failure_documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unresolved(self) -> int:
        return self.records_in - len(self.outcomes)

    def to_dict(self) -> dict[str, int]:
        return {
            "records_in": self.records_in,
            "invocations": self.invocations,
            "records_delivered": self.records_delivered,
            "batch_item_failures_reported": self.batch_item_failures_reported,
            "records_discarded": self.records_discarded,
            "on_failure_messages": self.on_failure_messages,
            "on_failure_delivery_errors": self.on_failure_delivery_errors,
            "filtered_out": self.filtered_out,
            "records_processed": self.records_processed,
            "throttles": self.throttles,
            "bisections": self.bisections,
            "unresolved": self.unresolved,
        }


@dataclass(slots=True)
class _Batch:
    records: list[StreamRecord]
    invoke_count: int = 0


class _Lane:
    """One in-order processing lane: a shard, or a slice of it by partition key
    when ParallelizationFactor > 1 (spec 4.7)."""

    def __init__(self, shard_id: str, index: int, ready_at: float) -> None:
        self.shard_id = shard_id
        self.index = index
        self.queue: deque[StreamRecord] = deque()
        self.ready_at = ready_at
        self.current: _Batch | None = None  # a batch being retried
        self.pending: list[_Batch] = []  # bisected halves still to run (stack)
        self.failures_in_a_row = 0
        self.no_progress = 0
        self.last_error = ""
        self.checkpoint: str | None = None
        self.last_request_id = ""
        # tumbling windows (spec 1.2)
        self.window_start: float | None = None
        self.window_state: dict[str, Any] = {}
        self.window_terminated_early = False

    @property
    def busy(self) -> bool:
        return bool(self.queue) or self.current is not None or bool(self.pending)


class _Shard:
    def __init__(self, info: ShardInfo) -> None:
        self.info = info
        self.started = False
        self.read_ended = False
        self.caught_up = False
        self.next_poll_at = 0.0
        self.lanes: list[_Lane] = []

    @property
    def finished(self) -> bool:
        return self.read_ended and not any(
            lane.busy or lane.window_start is not None for lane in self.lanes
        )


class EventSourceMapping:
    """Lambda's Kinesis poller for one function and one stream."""

    def __init__(
        self,
        handler: Handler,
        settings: EsmSettings,
        kinesis_client: Any,
        stream_name: str,
        *,
        function_name: str = "streamkit-consumer",
        function_timeout_s: float = 60.0,
        memory_mb: int = 512,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        destination: DestinationSender | None = None,
        reader: KinesisShardReader | None = None,
        stuck_after: int = 200,
        seed: int = 0,
    ) -> None:
        self.handler = handler
        self.settings = settings
        self.stream_name = stream_name
        self.function_name = function_name
        self.function_timeout_s = function_timeout_s
        self.memory_mb = memory_mb
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock or VirtualClock()
        self.faults = faults or FaultPlan()
        self.destination = destination
        self.reader = reader or KinesisShardReader(kinesis_client, stream_name)
        self.stuck_after = stuck_after
        self.stats = EsmStats()
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.role_arn = f"arn:aws:iam::{account_id}:role/{function_name}-role"
        self.filters: FilterSet = compile_filters(
            {"Filters": [{"Pattern": p} for p in settings.filter_patterns]}
            if settings.filter_patterns
            else None
        )
        self._rng = random.Random(seed)
        self._shards: dict[str, _Shard] = {}
        self._stream_arn = ""
        self._encoded: dict[tuple[str, str], bytes] = {}
        self._started = False
        #: Poll caught-up shards for new records (real-time runs with live producers).
        self.live = not isinstance(self.clock, VirtualClock)

    # ------------------------------------------------------------------ running

    def run(
        self,
        *,
        max_seconds: float | None = None,
        until_idle: bool = True,
        progress: Callable[[EsmStats], None] | None = None,
        progress_every: float = 0.25,
    ) -> EsmStats:
        """Poll and invoke until idle (every record read is resolved and the stream
        has nothing new), or until ``max_seconds`` of clock time have passed.

        ``progress`` is called with the running stats at most every
        ``progress_every`` seconds of real time, and once at the end.
        """
        self._start()
        for shard in self._shards.values():
            shard.caught_up = False  # read every shard to its tip again in each run
        deadline = None if max_seconds is None else self.clock.now() + max_seconds
        next_report = time.monotonic() + progress_every
        while True:
            if progress is not None and time.monotonic() >= next_report:
                progress(self.stats)
                next_report = time.monotonic() + progress_every
            self._poll()
            lane, at = self._next_action()
            if lane is None:
                if until_idle and self._idle():
                    break
                if not self.live:
                    # Virtual clock: nothing new can appear during this run, so the
                    # rest of the requested time passes with nothing to do.
                    if deadline is not None:
                        self.clock.wait_until(deadline)
                    break
                at = self._next_poll_time()
            if deadline is not None and at > deadline:
                self.clock.wait_until(deadline)
                break
            self.clock.wait_until(at)
            if lane is not None:
                self._step(lane)
        if progress is not None:
            progress(self.stats)
        return self.stats

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stream_arn = self.reader.stream_arn()
        self._discover()

    def _discover(self) -> None:
        for info in self.reader.shards():
            shard = self._shards.get(info.shard_id)
            if shard is None:
                self._shards[info.shard_id] = _Shard(info)
            else:
                shard.info = info

    def _poll(self) -> None:
        """Start eligible shards and read new records into their lanes."""
        now = self.clock.now()
        discover = False
        for shard in list(self._shards.values()):
            if not shard.started:
                if not self._parents_finished(shard):
                    continue
                self._open(shard)
            if shard.read_ended:
                continue
            if shard.caught_up and (not self.live or now < shard.next_poll_at):
                # Spec 4.1: an idle shard is polled about once per second. On the
                # virtual clock the stream is taken as written before the run (a
                # replay), so a caught-up shard has nothing more to give.
                continue
            # Read ahead only while lanes are short of records (keeps memory flat).
            if sum(len(lane.queue) for lane in shard.lanes) >= 2 * self.settings.batch_size:
                continue
            result = self.reader.read(shard.info.shard_id, shard.info)
            shard.caught_up = not result.records and not result.millis_behind
            shard.next_poll_at = now + POLL_INTERVAL
            for rec in result.records:
                self._enqueue(shard, rec)
            if result.ended:
                shard.read_ended = True
                discover = True
            elif shard.caught_up and not shard.info.closed:
                discover = True  # a reshard may have closed it since we looked
        if discover:
            self._discover()

    def _next_poll_time(self) -> float:
        times = [s.next_poll_at for s in self._shards.values() if s.started and not s.read_ended]
        return max(self.clock.now(), min(times)) if times else self.clock.now() + POLL_INTERVAL

    def _parents_finished(self, shard: _Shard) -> bool:
        # Spec 4.10: children start only after every parent is fully processed.
        for parent_id in shard.info.parent_ids:
            parent = self._shards.get(parent_id)
            if parent is not None and not (parent.started and parent.finished):
                return False
        return True

    def _open(self, shard: _Shard) -> None:
        s = self.settings
        is_child = any(p in self._shards for p in shard.info.parent_ids)
        position = "TRIM_HORIZON" if is_child else s.starting_position
        self.reader.open(shard.info.shard_id, position, timestamp=s.starting_position_timestamp)
        shard.started = True
        now = self.clock.now()
        shard.lanes = [_Lane(shard.info.shard_id, i, now) for i in range(s.parallelization_factor)]

    def _enqueue(self, shard: _Shard, rec: StreamRecord) -> None:
        self.stats.records_in += 1
        if not self.filters.matches_all and not self.filters.matches(rec.data):
            # Spec 5.2: non-matching records are skipped: never sent to the function
            # nor to the on-failure destination. Spec 5.3: BatchSize counts only
            # matching records, so they never enter a lane.
            self.stats.filtered_out += 1
            self.stats.outcomes[(rec.shard_id, rec.sequence_number)] = FILTERED
            return
        lanes = shard.lanes
        if len(lanes) == 1:
            lanes[0].queue.append(rec)
        else:
            # Spec 4.7: same partition key, same lane, in order.
            h = int.from_bytes(hashlib.md5(rec.partition_key.encode()).digest()[:8], "big")
            lanes[h % len(lanes)].queue.append(rec)

    def _idle(self) -> bool:
        for shard in self._shards.values():
            if not shard.started:
                if self._parents_finished(shard):
                    return False
                continue
            if any(lane.busy or lane.window_start is not None for lane in shard.lanes):
                return False
            if not (shard.read_ended or shard.caught_up):
                return False
        return True

    # --------------------------------------------------------------- scheduling

    def _next_action(self) -> tuple[_Lane | None, float]:
        best: _Lane | None = None
        best_at = math.inf
        for shard in self._shards.values():
            for lane in shard.lanes:
                at = self._action_time(lane, shard)
                if at < best_at:
                    best, best_at = lane, at
        return best, best_at

    def _action_time(self, lane: _Lane, shard: _Shard) -> float:
        if lane.current is not None or lane.pending:
            return lane.ready_at
        s = self.settings
        if s.tumbling_window_in_seconds and lane.window_start is not None:
            end = lane.window_start + s.tumbling_window_in_seconds
            if lane.queue:
                if self._window_of(lane.queue[0]) > lane.window_start:
                    return max(lane.ready_at, end)  # a later window's record: close this one
            elif shard.read_ended or shard.caught_up:
                return max(lane.ready_at, end + WINDOW_IDLE_WAIT)  # spec 1.2.6
            else:
                return math.inf
        if not lane.queue:
            return math.inf
        first = lane.queue[0].arrival
        window = s.maximum_batching_window_in_seconds
        if window == 0:
            return max(lane.ready_at, first)  # spec 4.3: invoke as soon as records exist
        # Spec 4.3/4.4: the window opens when the previous invocation completes; if
        # nothing arrives in it, a new one opens with the next record.
        start = lane.ready_at if first <= lane.ready_at + window else first
        full_at = self._full_at(lane)
        if full_at is not None:  # (a) BatchSize records or (c) 6 MB gathered in time
            return min(start + window, max(start, full_at))
        return start + window  # (b) the window expires

    def _full_at(self, lane: _Lane) -> float | None:
        """When the queued records fill a batch: the arrival of the BatchSize-th
        record, or of the first record that would push the event past 6 MB."""
        size = self._envelope_size(lane)
        for i, rec in enumerate(lane.queue):
            if i == self.settings.batch_size:
                return lane.queue[i - 1].arrival
            size += len(self._encode(rec)) + (1 if i else 0)
            if i and size > MAX_EVENT_BYTES:
                return rec.arrival
        if len(lane.queue) == self.settings.batch_size:
            return lane.queue[-1].arrival
        return None

    def _window_of(self, rec: StreamRecord) -> float:
        t = self.settings.tumbling_window_in_seconds
        return math.floor(rec.arrival / t) * t

    # ------------------------------------------------------------------ stepping

    def _step(self, lane: _Lane) -> None:
        s = self.settings
        if lane.current is None and lane.pending:
            lane.current = lane.pending.pop()
        if lane.current is None:
            if s.tumbling_window_in_seconds and lane.window_start is not None:
                end = lane.window_start + s.tumbling_window_in_seconds
                closes = not lane.queue or self._window_of(lane.queue[0]) > lane.window_start
                if closes and self.clock.now() >= end:
                    self._final_window_invoke(lane)
                    return
            records = self._build_batch(lane)
            if not records:
                return
            lane.current = _Batch(records)
        current = lane.current
        if not self._drop_expired(lane, current):
            return
        self._invoke(lane, current)

    def _build_batch(self, lane: _Lane) -> list[StreamRecord]:
        s = self.settings
        now = self.clock.now()
        out: list[StreamRecord] = []
        window = None
        q = lane.queue
        if s.tumbling_window_in_seconds and lane.window_start is None and q and q[0].arrival <= now:
            lane.window_start = self._window_of(q[0])
            lane.window_state = {}
        size = self._envelope_size(lane)
        while q and len(out) < s.batch_size:
            rec = q[0]
            if rec.arrival > now:
                break  # not arrived yet (virtual clock)
            if s.tumbling_window_in_seconds:
                w = self._window_of(rec)
                if window is None:
                    window = w
                if w != window:
                    break  # a batch never spans two windows (spec 1.2.3)
            n = len(self._encode(rec)) + (1 if out else 0)  # a comma between records
            if out and size + n > MAX_EVENT_BYTES:
                break  # spec 4.3 (c) / 4.5
            size += n
            out.append(q.popleft())
        return out

    def _envelope_size(self, lane: _Lane) -> int:
        """Bytes of the event around its records (window fields and state included)."""
        return len(self._event_bytes(lane, (), final=False))

    def _drop_expired(self, lane: _Lane, batch: _Batch) -> bool:
        """Spec 2.4: discard records older than MaximumRecordAgeInSeconds, per record,
        before every invocation (also while retrying, 2.4.3). False if none is left."""
        max_age = self.settings.maximum_record_age_in_seconds
        if max_age == -1:
            return True
        now = self.clock.now()
        expired = [r for r in batch.records if now - r.arrival > max_age]
        if not expired:
            return True
        batch.records = [r for r in batch.records if now - r.arrival <= max_age]
        # Spec 3.3 / 9.10: never-invoked expired records still report count 1.
        self._discard(lane, expired, RECORD_AGE_EXCEEDED, max(1, batch.invoke_count), None)
        if not batch.records:
            self._batch_done(lane)
            return False
        return True

    # ---------------------------------------------------------------- invoking

    def _encode(self, rec: StreamRecord) -> bytes:
        key = (rec.shard_id, rec.sequence_number)
        enc = self._encoded.get(key)
        if enc is None:
            kin: dict[str, Any] = {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": rec.partition_key,
                "sequenceNumber": rec.sequence_number,
                "data": pybase64.b64encode_as_string(rec.data),
                "approximateArrivalTimestamp": round(rec.arrival, 3),
            }
            doc = {
                "kinesis": kin,
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{rec.shard_id}:{rec.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": self.role_arn,
                "awsRegion": self.region,
                "eventSourceARN": self._stream_arn,
            }
            enc = self._encoded[key] = orjson.dumps(doc)
        return enc

    def _event_bytes(self, lane: _Lane, records: Sequence[StreamRecord], final: bool) -> bytes:
        body = b'{"Records":[' + b",".join(self._encode(r) for r in records) + b"]"
        t = self.settings.tumbling_window_in_seconds
        if t:
            start = lane.window_start if lane.window_start is not None else 0.0
            extra = {
                "window": {"start": _rfc3339(start), "end": _rfc3339(start + t)},
                "state": lane.window_state,
                "shardId": lane.shard_id,
                "eventSourceARN": self._stream_arn,
                "isFinalInvokeForWindow": final,
                "isWindowTerminatedEarly": lane.window_terminated_early,
            }
            body += b"," + orjson.dumps(extra)[1:-1]
        return body + b"}"

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _call(
        self, lane: _Lane, records: Sequence[StreamRecord], final: bool
    ) -> tuple[str, Any, str]:
        """Invoke once. Returns (kind, response, detail), kind in ok | error | throttled
        | too_large."""
        event_bytes = self._event_bytes(lane, records, final)
        if len(event_bytes) > MAX_EVENT_BYTES:
            return "too_large", None, f"event of {len(event_bytes)} bytes exceeds 6 MB"
        fault = self.faults.draw()
        if fault is Fault.THROTTLE:
            return "throttled", None, "TooManyRequestsException (injected)"
        self.stats.invocations += 1
        self.stats.records_delivered += len(records)
        request_id = self._request_id()
        lane.last_request_id = request_id
        ctx = LambdaContext(
            self.function_name,
            self.function_arn,
            request_id,
            self.function_timeout_s,
            self.memory_mb,
        )
        if fault is Fault.CRASH_BEFORE:
            return "error", None, "InjectedFault: crash before the handler ran"
        event = orjson.loads(event_bytes)  # exactly what Lambda would hand over
        started = time.perf_counter()
        try:
            response = self.handler(event, ctx)
            kind, detail = "ok", ""
        except (Exception, SimulatedCrash) as e:
            response, kind, detail = None, "error", f"{type(e).__name__}: {e}"
        elapsed = time.perf_counter() - started
        self.clock.spend(elapsed)
        if elapsed > self.function_timeout_s or fault is Fault.TIMEOUT:
            return "error", None, f"Task timed out after {self.function_timeout_s:.2f} seconds"
        if fault is Fault.CRASH_AFTER:
            return "error", None, str(InjectedFault("crash after the handler ran"))
        if kind == "ok":
            try:  # the runtime serialises the return value as JSON
                response = orjson.loads(orjson.dumps(response))
            except (TypeError, orjson.JSONEncodeError) as e:
                return "error", None, f"Runtime.MarshalError: {e}"
            if fault is Fault.PARTIAL and records:
                seq = records[self.faults.pick(len(records))].sequence_number
                response = {"batchItemFailures": [{"itemIdentifier": seq}]}
                if self.settings.tumbling_window_in_seconds:
                    response["state"] = lane.window_state
        return kind, response, detail

    def _invoke(self, lane: _Lane, batch: _Batch) -> None:
        s = self.settings
        now = self.clock.now()
        kind, response, detail = self._call(lane, batch.records, final=False)
        seqs = tuple(r.sequence_number for r in batch.records)
        log = InvocationLog(
            lane.shard_id,
            lane.index,
            lane.last_request_id,
            seqs,
            "",
            time=now,
            window=self._window_tuple(lane),
        )
        self.stats.log.append(log)
        if kind == "too_large" and len(batch.records) > 1:
            # The state returned by the last window invocation grew the event past
            # 6 MB: send fewer records (the rest follow as the next batch).
            mid = len(batch.records) // 2
            lane.pending.append(_Batch(batch.records[mid:]))
            batch.records = batch.records[:mid]
            log.outcome, log.detail = kind, detail + "; batch cut in two"
            return
        if kind in ("throttled", "too_large"):
            # Spec 2.1.3: errors before the function runs are retried and are not
            # counted toward MaximumRetryAttempts.
            log.outcome, log.detail = kind, detail
            if kind == "throttled":
                self.stats.throttles += 1
            self._backoff(lane, detail)
            return
        batch.invoke_count += 1
        log.invoke_count = batch.invoke_count
        if kind == "error":
            log.outcome, log.detail = "failure", detail
            self._function_failure(lane, batch, detail, "Unhandled")
            return
        verdict, lowest, why = self._classify(response, batch.records)
        if verdict == "success":
            log.outcome = "success"
            if s.tumbling_window_in_seconds:
                self._take_state(lane, response)
            self._processed(lane, batch.records)
            self._batch_done(lane)
            lane.ready_at = self.clock.now()
            return
        if verdict == "failure":
            log.outcome, log.detail = "failure", why
            # The function returned normally: functionError is null (spec 3.3).
            self._function_failure(lane, batch, why, None)
            return
        # Partial batch response (spec 2.2.5): checkpoint before the lowest reported
        # record; re-deliver everything from it on.
        log.outcome, log.detail = "partial", f"lowest failed {lowest}"
        assert lowest is not None
        self.stats.batch_item_failures_reported += len(response["batchItemFailures"])
        if s.tumbling_window_in_seconds:
            self._take_state(lane, response)
        done = [r for r in batch.records if r.seq < lowest]
        rest = [r for r in batch.records if r.seq >= lowest]
        if done:
            self._processed(lane, done)
            # Choice for 2.2.8: a batch that moved the checkpoint becomes a new,
            # smaller batch with a fresh retry counter.
            batch.records, batch.invoke_count = rest, 0
            lane.failures_in_a_row = 0
            self._backoff(lane, why or "partial failure")
            return
        # Nothing moved: a failed attempt (2.2.6), retried per policy.
        self._retry_or_discard(lane, batch, f"partial failure at {lowest}", None)

    def _classify(
        self, response: Any, records: Sequence[StreamRecord]
    ) -> tuple[str, int | None, str]:
        s = self.settings
        if s.tumbling_window_in_seconds and not (
            isinstance(response, dict) and isinstance(response.get("state"), dict)
        ):
            return "failure", None, "tumbling-window response without a state object (spec 1.2.8)"
        if not s.report_batch_item_failures:
            return "success", None, ""  # spec 2.2.1: the response body is ignored
        if response is None or response == "" or response == [] or response == {}:
            return "success", None, ""  # spec 2.2.3
        if not isinstance(response, dict):
            return "failure", None, f"response is not a JSON object: {response!r:.80}"
        failures = response.get("batchItemFailures")
        if failures is None or failures == []:
            return "success", None, ""
        if not isinstance(failures, list):
            return "failure", None, "batchItemFailures is not a list"
        in_batch = {r.sequence_number for r in records}
        lowest: int | None = None
        for item in failures:
            # Spec 2.2.4: empty/null identifier, wrong key, or one not in the batch
            # fails the whole batch.
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not isinstance(ident, str) or not ident or ident not in in_batch:
                return "failure", None, f"invalid batchItemFailures entry {item!r:.80}"
            n = int(ident)
            lowest = n if lowest is None or n < lowest else lowest
        return "partial", lowest, ""

    def _function_failure(
        self, lane: _Lane, batch: _Batch, detail: str, function_error: str | None
    ) -> None:
        s = self.settings
        if s.bisect_batch_on_function_error and len(batch.records) > 1:
            # Spec 2.3.1-2.3.3: split in halves, first half first; no retry consumed.
            mid = (len(batch.records) + 1) // 2
            first, second = batch.records[:mid], batch.records[mid:]
            lane.pending.append(_Batch(second))
            lane.current = _Batch(first)
            self.stats.bisections += 1
            self._backoff(lane, detail)
            return
        self._retry_or_discard(lane, batch, detail, function_error)

    def _retry_or_discard(
        self, lane: _Lane, batch: _Batch, detail: str, function_error: str | None
    ) -> None:
        limit = self.settings.maximum_retry_attempts
        # Spec 2.1.5: N retries = at most N + 1 invocations of the batch.
        if limit != -1 and batch.invoke_count > limit:
            self._discard(
                lane, batch.records, RETRY_ATTEMPTS_EXHAUSTED, batch.invoke_count, function_error
            )
            self._batch_done(lane)
            lane.ready_at = self.clock.now()
            return
        self._backoff(lane, detail)

    def _backoff(self, lane: _Lane, detail: str) -> None:
        lane.failures_in_a_row += 1
        lane.no_progress += 1
        lane.last_error = detail
        if lane.no_progress > self.stuck_after:
            head = lane.current.records[0].sequence_number if lane.current else "?"
            raise StuckShardError(lane.shard_id, head, lane.no_progress, detail)
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (lane.failures_in_a_row - 1))
        lane.ready_at = self.clock.now() + delay

    def _processed(self, lane: _Lane, records: Sequence[StreamRecord]) -> None:
        outcomes = self.stats.outcomes
        for r in records:
            outcomes[(r.shard_id, r.sequence_number)] = PROCESSED
            self._encoded.pop((r.shard_id, r.sequence_number), None)
        self.stats.records_processed += len(records)
        if records:
            lane.checkpoint = records[-1].sequence_number
            newest = max(r.arrival for r in records)
            last = self.stats.last_processed_arrival
            self.stats.last_processed_arrival = newest if last is None else max(last, newest)
            lane.no_progress = 0

    def _batch_done(self, lane: _Lane) -> None:
        lane.current = None
        lane.failures_in_a_row = 0

    def _discard(
        self,
        lane: _Lane,
        records: Sequence[StreamRecord],
        condition: str,
        invoke_count: int,
        function_error: str | None,
    ) -> None:
        """Spec 2.5.3 / 3: give up on records; tell the on-failure destination."""
        outcomes = self.stats.outcomes
        for r in records:
            outcomes[(r.shard_id, r.sequence_number)] = DISCARDED
            self._encoded.pop((r.shard_id, r.sequence_number), None)
        self.stats.records_discarded += len(records)
        lane.checkpoint = records[-1].sequence_number
        lane.no_progress = 0
        ctx = FailureContext(
            request_id=lane.last_request_id or self._request_id(),
            function_arn=self.function_arn,
            condition=condition,
            approximate_invoke_count=invoke_count,
            function_error=function_error,
            timestamp=self.clock.now(),
            shard_id=lane.shard_id,
            stream_arn=self._stream_arn,
        )
        doc = failure_document(ctx, records)
        self.stats.failure_documents.append(doc)
        if self.destination is None:
            return
        event = orjson.loads(self._event_bytes_plain(records))
        if self.destination.send(doc, event, self._request_id()):
            self.stats.on_failure_messages += 1
        else:
            self.stats.on_failure_delivery_errors += 1

    def _event_bytes_plain(self, records: Sequence[StreamRecord]) -> bytes:
        return b'{"Records":[' + b",".join(self._encode(r) for r in records) + b"]}"

    # ---------------------------------------------------------- tumbling windows

    def _window_tuple(self, lane: _Lane) -> tuple[str, str] | None:
        t = self.settings.tumbling_window_in_seconds
        if not t or lane.window_start is None:
            return None
        return _rfc3339(lane.window_start), _rfc3339(lane.window_start + t)

    def _take_state(self, lane: _Lane, response: Mapping[str, Any]) -> None:
        state = response.get("state")
        state = dict(state) if isinstance(state, Mapping) else {}
        if len(orjson.dumps(state)) > MAX_STATE_BYTES:
            # Spec 1.2.5: over 1 MB, the window ends early; the next invocation
            # continues the same window with fresh state.
            lane.window_state = {}
            lane.window_terminated_early = True
        else:
            lane.window_state = state

    def _final_window_invoke(self, lane: _Lane) -> None:
        """Spec 1.2.4: the final invocation of a window, with isFinalInvokeForWindow."""
        batch = _Batch([])
        now = self.clock.now()
        kind, response, detail = self._call(lane, [], final=True)
        log = InvocationLog(
            lane.shard_id,
            lane.index,
            lane.last_request_id,
            (),
            "",
            time=now,
            window=self._window_tuple(lane),
            final_window=True,
        )
        self.stats.log.append(log)
        if kind == "ok":
            verdict, _, why = self._classify(response, [])
            if verdict == "success":
                log.outcome = "success"
                lane.window_start = None
                lane.window_state = {}
                lane.window_terminated_early = False
                lane.failures_in_a_row = 0
                lane.no_progress = 0
                lane.ready_at = self.clock.now()
                return
            detail = why
        if kind in ("throttled", "too_large"):
            # Spec 2.1.3: not an attempt; try the final invocation again later.
            log.outcome, log.detail = kind, detail
            if kind == "throttled":
                self.stats.throttles += 1
            self._backoff(lane, detail)
            return
        log.outcome, log.detail = "failure", detail
        # Spec 1.2.9: a failed final invoke suspends the shard until it succeeds.
        batch.invoke_count = lane.failures_in_a_row + 1
        limit = self.settings.maximum_retry_attempts
        if limit != -1 and batch.invoke_count > limit:
            lane.window_start = None  # give up on the window's state
            lane.window_state = {}
            lane.failures_in_a_row = 0
            return
        self._backoff(lane, detail)


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
