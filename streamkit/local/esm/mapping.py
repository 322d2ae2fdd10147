"""The event source mapping itself: shards, lanes, and the loop that drives them.

:meth:`EventSourceMapping.run` polls shards (spec 4.1, 4.10), fans records out to
lanes (spec 4.7, 5.2), picks the lane whose next action is due soonest, and
invokes it; the verdict on each response moves the lane's checkpoint or sends
the batch to :mod:`~streamkit.local.esm.retries`. Reads go through
:mod:`~streamkit.local.esm.reads` (back-off on failed reads, read limits, retention).

Which shards start when, and from which position (spec 4.10, 4.12), is
:mod:`~streamkit.local.esm.lineage`.

``Enabled: false`` (spec 0.7) pauses the mapping: no reads, no invocations;
:meth:`EventSourceMapping.enable` (or the time given to ``disable(until=...)``)
resumes it from its checkpoint. ``enhanced_fan_out=True`` reads through a
registered stream consumer (spec 4.2): with ``read_limits`` it gets a dedicated
2 MB/s per shard and is not counted against the stream's shared limits. Its events
name the stream ARN as ``eventSourceARN`` (spec 9.9 unconfirmed; the stream ARN is
what handlers parse the stream name from), :attr:`event_source_arn` the consumer's
(``consumer_arn``, as RegisterStreamConsumer returned it, or one built like AWS's).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from streamkit.local.clock import Clock, VirtualClock
from streamkit.local.config import EsmSettings
from streamkit.local.destinations import DestinationSender
from streamkit.local.esm.batching import BatchCutter
from streamkit.local.esm.events import EventEncoder, IdentityMap
from streamkit.local.esm.invoker import Execution, Handler, Invoker, RequestIds, executor_for
from streamkit.local.esm.limits import POLL_INTERVAL
from streamkit.local.esm.lineage import ShardLineage
from streamkit.local.esm.outcomes import RecordOutcomes
from streamkit.local.esm.read_limits import StreamReadLimits, mapping_read_limits
from streamkit.local.esm.reads import Retention, ShardReads
from streamkit.local.esm.responses import classify_response
from streamkit.local.esm.retries import RetryPolicy
from streamkit.local.esm.state import Batch, Lane, ShardState
from streamkit.local.esm.stats import FILTERED, EsmStats, InvocationLog
from streamkit.local.esm.windows import TumblingWindows, window_start_of
from streamkit.local.faults import FaultPlan
from streamkit.local.filters import FilterSet, compile_filters
from streamkit.local.shards import KinesisShardReader, StreamRecord
from streamkit.local.writefaults import WriteFaults


class EventSourceMapping:
    """Lambda's Kinesis poller for one function and one stream."""

    def __init__(
        self,
        handler: Handler | str,
        settings: EsmSettings,
        kinesis_client: Any,
        stream_name: str,
        *,
        identities: IdentityMap | None = None,
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
        read_limits: bool = False,
        execution: Execution = "inline",
        environment: Mapping[str, str] | None = None,
        log_sink: Callable[[str], None] | None = None,
        write_faults: WriteFaults | None = None,
        task_root: str | None = None,
        enhanced_fan_out: bool = False,
        consumer_arn: str | None = None,
    ) -> None:
        self.settings = settings
        #: Spec 0.7: a disabled mapping neither reads nor invokes (see :meth:`disable`).
        self.enabled = settings.enabled
        self._enable_at: float | None = None
        #: Spec 4.2: read through a registered stream consumer, named like the function.
        self.enhanced_fan_out = enhanced_fan_out
        self._consumer_arn = consumer_arn  # the registered consumer's, when known
        self._created = 0.0  # the stream's creation time (Unix s), read at the start
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
        # Spec 10: worker processes under awslambdaric ("process") or this process.
        self.handler, environments = executor_for(
            handler,
            execution,
            function_name=function_name,
            function_arn=self.function_arn,
            function_timeout_s=function_timeout_s,
            memory_mb=memory_mb,
            region=region,
            environment=environment,
            log_sink=log_sink,
            write_faults=write_faults,
            task_root=task_root,
        )
        self.role_arn = f"arn:aws:iam::{account_id}:role/{function_name}-role"
        self.filters: FilterSet = compile_filters(
            {"Filters": [{"Pattern": p} for p in settings.filter_patterns]}
            if settings.filter_patterns
            else None
        )
        self._started = False
        #: Enforce the per-shard read limits shared by the stream's mappings (spec 7.2).
        self.read_limits = read_limits
        #: Poll caught-up shards for new records (real-time runs with live producers).
        self.live = not isinstance(self.clock, VirtualClock)

        request_ids = RequestIds(seed)
        # A replay's captured identities: shown to the handler and in the stats.
        self._encoder = EventEncoder(
            self.role_arn, region, settings.tumbling_window_in_seconds, identities
        )
        self._cutter = BatchCutter(settings, self._encoder)
        self._invoker = Invoker(
            self.handler,
            settings=settings,
            encoder=self._encoder,
            faults=self.faults,
            stats=self.stats,
            clock=self.clock,
            request_ids=request_ids,
            function_name=function_name,
            function_arn=self.function_arn,
            function_timeout_s=function_timeout_s,
            memory_mb=memory_mb,
            environments=environments,
        )
        self._outcomes = RecordOutcomes(
            stats=self.stats,
            encoder=self._encoder,
            clock=self.clock,
            request_ids=request_ids,
            function_arn=self.function_arn,
            destination=destination,
        )
        self._reads = ShardReads(self.reader, self.stats, self.clock)
        self._retention = Retention(self.clock, self._outcomes)
        self._lineage = ShardLineage(self.reader, self._reads, settings, self.clock)
        #: shard id -> its state (the lineage's map, shared).
        self._shards: dict[str, ShardState] = self._lineage.shards
        self._retries = RetryPolicy(
            settings=settings,
            stats=self.stats,
            clock=self.clock,
            outcomes=self._outcomes,
            stuck_after=stuck_after,
        )
        self._windows = TumblingWindows(
            settings=settings,
            stats=self.stats,
            clock=self.clock,
            invoker=self._invoker,
            retries=self._retries,
        )

    def disable(self, until: float | None = None) -> None:
        """Pause the mapping (``Enabled: false``, spec 0.7) until :meth:`enable` or, if
        given, clock time ``until``; it then resumes from its checkpoint. Callable
        during a run (e.g. from an inline handler): the invocation in flight finishes."""
        self.enabled, self._enable_at = False, until

    def enable(self) -> None:
        """Resume a paused mapping from its checkpoint (spec 0.7)."""
        self.enabled, self._enable_at = True, None

    @property
    def event_source_arn(self) -> str:
        """The mapping's EventSourceArn: the stream's, or its consumer's (spec 0.5)."""
        arn = self._encoder.stream_arn
        if not self.enhanced_fan_out:
            return arn
        return self._consumer_arn or f"{arn}/consumer/{self.function_name}:{int(self._created)}"

    def close(self) -> None:
        """Stop the worker processes (execution="process"); a later run starts new ones."""
        self._invoker.close()

    def __enter__(self) -> EventSourceMapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        self._begin_run()
        deadline = None if max_seconds is None else self.clock.now() + max_seconds
        next_report = time.monotonic() + progress_every
        while True:
            if progress is not None and time.monotonic() >= next_report:
                progress(self.stats)
                next_report = time.monotonic() + progress_every
            if not self.enabled:
                # Spec 0.7: paused; nothing happens until it is enabled again.
                resume = self._enable_at
                if resume is None or (deadline is not None and resume > deadline):
                    if deadline is not None:
                        self.clock.wait_until(deadline)
                    break
                self.clock.wait_until(resume)
                self.enable()
            lane, at = self._plan()
            if lane is None and until_idle and self._idle():
                self.clock.wait_until(self.busy_until())  # S4.13: the last step's end
                break
            if at == math.inf:
                # Virtual clock: nothing new can appear during this run, so the
                # rest of the requested time passes with nothing to do.
                if deadline is not None:
                    self.clock.wait_until(deadline)
                break
            if deadline is not None and at > deadline:
                self.clock.wait_until(deadline)
                break
            self.clock.wait_until(at)
            if lane is not None:
                self._step(lane)
        if progress is not None:
            progress(self.stats)
        return self.stats

    def busy_until(self) -> float:
        """When the last step of any lane ends on its timeline (S4.13)."""
        return max((x.busy_until for s in self._shards.values() for x in s.lanes), default=0.0)

    @property
    def stream_read_limits(self) -> StreamReadLimits | None:
        """The stream's shared read limits this mapping obeys (``read_limits=True``,
        after its first run)."""
        return self._reads.limits

    def _begin_run(self) -> None:
        self._start()
        for shard in self._shards.values():
            shard.caught_up = False  # read every shard to its tip again in each run

    def _plan(self) -> tuple[Lane | None, float]:
        """Poll, then what to do next: step ``lane`` at the time given; with no lane,
        poll again then (a read backing off, a live shard's next poll); ``inf``:
        nothing more can happen in this run on the virtual clock."""
        read_again = self._poll()
        lane, at = self._next_action()
        if read_again and not self.live and at > self.clock.now():
            return None, self.clock.now()  # spec 7.3: an empty read short of the tip
        retry_at = self._reads.retry_at(self._shards.values())
        if retry_at < at:
            return None, retry_at  # spec 7.9: a failed read is retried after its back-off
        if lane is None and self.live:
            return None, self._next_poll_time()
        return lane, at

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        summary = self.reader.summary()
        self._encoder.stream_arn = summary.arn
        self._retention.seconds = summary.retention_hours * 3600.0
        self._created = summary.created
        if self.read_limits:  # spec 7.2; 4.2/7.6: an EFO mapping's own 2 MB/s per shard
            endpoint = getattr(getattr(self.reader.client, "meta", None), "endpoint_url", "")
            key = (endpoint, summary.arn, summary.created)
            self._reads.limits = mapping_read_limits(key, enhanced_fan_out=self.enhanced_fan_out)
        self._lineage.start()

    # ------------------------------------------------------------------ polling

    def _poll(self) -> bool:
        """Start eligible shards and read new records into their lanes. True if a
        read returned nothing short of the shard's tip (spec 7.3: read again)."""
        now = self.clock.now()
        discover = read_again = False
        for shard in list(self._shards.values()):
            if not shard.started:
                if not self._lineage.parents_finished(shard):
                    continue
                self._lineage.open(shard)
            if shard.read_ended or not self._reads.may_read(shard, now):
                continue  # ended, or backing off after a failed read (spec 7.9)
            if shard.caught_up and (not self.live or now < shard.next_poll_at):
                # Spec 4.1: an idle shard is polled about once per second. On the
                # virtual clock the stream is taken as written before the run (a
                # replay), so a caught-up shard has nothing more to give.
                continue
            # Read ahead only while lanes are short of records (keeps memory flat).
            if sum(len(lane.queue) for lane in shard.lanes) >= 2 * self.settings.batch_size:
                continue
            result = self._reads.read(shard)
            if result is None:
                shard.caught_up = False
                continue
            shard.caught_up = not result.records and not result.millis_behind
            read_again = read_again or not (result.records or shard.caught_up or result.ended)
            shard.next_poll_at = now + POLL_INTERVAL
            for rec in result.records:
                self._enqueue(shard, rec)
            if result.ended:
                shard.read_ended = True
                discover = True
            elif shard.caught_up and not shard.info.closed:
                discover = True  # a reshard may have closed it since we looked
        if discover:
            self._lineage.discover()
        return read_again

    def _next_poll_time(self) -> float:
        times = [s.next_poll_at for s in self._shards.values() if s.started and not s.read_ended]
        return max(self.clock.now(), min(times)) if times else self.clock.now() + POLL_INTERVAL

    def _enqueue(self, shard: ShardState, rec: StreamRecord) -> None:
        self.stats.count_in(rec.shard_id)
        if not self._retention.readable(rec.arrival):
            # Spec 7.5: past the stream's retention on the simulator's clock, Kinesis
            # would not return it.
            self._outcomes.expired(None, [rec])
            return
        if not self.filters.matches_all and not self.filters.matches(rec.data):
            # Spec 5.2: non-matching records are skipped: never sent to the function
            # nor to the on-failure destination. Spec 5.3: BatchSize counts only
            # matching records, so they never enter a lane.
            self.stats.filtered_out += 1
            self.stats.outcomes[self._encoder.key(rec)] = FILTERED
            return
        shard.lane_for(rec.partition_key).queue.append(rec)  # spec 4.7

    def _idle(self) -> bool:
        for shard in self._shards.values():
            if not shard.started:
                if self._lineage.parents_finished(shard):
                    return False
                continue
            if any(lane.busy or lane.window_start is not None for lane in shard.lanes):
                return False
            if not (shard.read_ended or shard.caught_up):
                return False
        return True

    # --------------------------------------------------------------- scheduling

    def _next_action(self) -> tuple[Lane | None, float]:
        best: Lane | None = None
        best_at = math.inf
        for shard in self._shards.values():
            for lane in shard.lanes:
                at = self._cutter.due_at(lane, shard)
                if at < best_at:
                    best, best_at = lane, at
        return best, best_at

    # ------------------------------------------------------------------ stepping

    def _step(self, lane: Lane) -> None:
        """Step ``lane``; its time passes on its own timeline only (S4.13)."""
        started = self.clock.now()
        self._step_lane(lane)
        lane.stepped(started, self.clock.now())
        if isinstance(self.clock, VirtualClock):
            self.clock.rewind_to(started)

    def _step_lane(self, lane: Lane) -> None:
        window_s = self.settings.tumbling_window_in_seconds
        if lane.current_batch is None and lane.deferred_halves:
            lane.current_batch = lane.deferred_halves.pop()
        if lane.current_batch is None:
            if window_s and lane.window_start is not None:
                end = lane.window_start + window_s
                closes = (
                    not lane.queue
                    or window_start_of(lane.queue[0].arrival, window_s) > lane.window_start
                )
                # Spec 1.2.7: when the shard ends, its window closes at once.
                shard_ended = not lane.queue and self._shards[lane.shard_id].read_ended
                if shard_ended or (closes and self.clock.now() >= end):
                    self._windows.final_invoke(lane)
                    return
            records = self._cutter.cut(lane, self.clock.now())
            if not records:
                return
            lane.current_batch = Batch(records)
        batch = lane.current_batch
        if not self._retention.drop_from(lane, batch):
            return
        if not self._retries.drop_expired(lane, batch):
            return
        self._invoke(lane, batch)

    def _invoke(self, lane: Lane, batch: Batch) -> None:
        """Invoke the lane's batch once and act on the verdict (spec 2.1-2.3)."""
        settings = self.settings
        now = self.clock.now()
        kind, response, detail = self._invoker.call(lane, batch.records, final=False)
        seqs = tuple(self._encoder.shown_sequence(r) for r in batch.records)
        log = InvocationLog(
            lane.shard_id,
            lane.index,
            lane.last_request_id,
            seqs,
            "",
            time=now,
            window=self._windows.bounds(lane),
        )
        self.stats.log.append(log)
        if kind == "too_large" and len(batch.records) > 1:
            # The state returned by the last window invocation grew the event past
            # 6 MB: send fewer records (the rest follow as the next batch).
            mid = len(batch.records) // 2
            lane.deferred_halves.append(Batch(batch.records[mid:]))
            batch.records = batch.records[:mid]
            log.outcome, log.detail = kind, detail + "; batch cut in two"
            return
        if kind in ("throttled", "too_large"):
            # Spec 2.1.3: errors before the function runs are retried and are not
            # counted toward MaximumRetryAttempts.
            log.outcome, log.detail = kind, detail
            if kind == "throttled":
                self.stats.throttles += 1
            self._retries.not_invoked(lane, batch, kind, detail)
            return
        batch.invoke_count += 1
        log.invoke_count = batch.invoke_count
        # Spec 4.11: the age of the batch's last record when the invocation finished.
        age_s = self.clock.now() - batch.records[-1].arrival
        log.iterator_age_ms = max(0, int(age_s * 1000))
        if kind == "error":
            log.outcome, log.detail = "failure", detail
            self._retries.function_failure(lane, batch, detail, "Unhandled")
            return
        verdict, lowest, why = classify_response(
            response, batch.records, settings, self._encoder.shown_sequence
        )
        if verdict == "success":
            log.outcome = "success"
            if settings.tumbling_window_in_seconds:
                self._windows.take_state(lane, response)
            self._outcomes.processed(lane, batch.records)
            lane.finish_batch()
            lane.ready_at = self.clock.now()
            return
        if verdict == "failure":
            log.outcome, log.detail = "failure", why
            # The function returned normally: functionError is null (spec 3.3).
            self._retries.function_failure(lane, batch, why, None)
            return
        # Partial batch response (spec 2.2.5): checkpoint before the lowest reported
        # record; re-deliver everything from it on.
        log.outcome, log.detail = "partial", why
        assert lowest is not None
        self.stats.batch_item_failures_reported += len(response["batchItemFailures"])
        if settings.tumbling_window_in_seconds:
            self._windows.take_state(lane, response)
        done = [r for r in batch.records if r.seq < lowest]
        rest = [r for r in batch.records if r.seq >= lowest]
        if done:
            self._outcomes.processed(lane, done)
            # Choice for 9.1 / 2.2.8: a batch that moved the checkpoint becomes a
            # new, smaller batch with a fresh retry counter.
            batch.records, batch.invoke_count = rest, 0
            lane.consecutive_failures = 0
            self._retries.backoff(lane, why or "partial failure")
            return
        # Nothing moved: a failed attempt (2.2.6), retried per policy.
        self._retries.retry_or_discard(lane, batch, f"partial failure, {why}", None)
