"""Resolving records: processed (the checkpoint moves) or discarded (spec 2.5.3, 3).

A discarded batch yields one on-failure document (spec 3.3), kept in the stats
and sent to the on-failure destination when the mapping has one; a failed
delivery is counted and processing goes on (spec 3.6). Whether the discarded
parts of one bisected batch share a document is an open point
(``choices.MERGE_BISECTED_FAILURES``, S9.12); by default they do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from streamkit.local.clock import Clock
from streamkit.local.destinations import DestinationSender, FailureContext, failure_document
from streamkit.local.esm import choices
from streamkit.local.esm.events import EventEncoder
from streamkit.local.esm.invoker import RequestIds
from streamkit.local.esm.state import Lane, PendingDiscard
from streamkit.local.esm.stats import DISCARDED, EXPIRED, PROCESSED, EsmStats
from streamkit.local.shards import StreamRecord


class RecordOutcomes:
    """Marks records resolved, moves lane checkpoints, reports discards."""

    def __init__(
        self,
        *,
        stats: EsmStats,
        encoder: EventEncoder,
        clock: Clock,
        request_ids: RequestIds,
        function_arn: str,
        destination: DestinationSender | None,
    ) -> None:
        self.stats = stats
        self.encoder = encoder
        self.clock = clock
        self.request_ids = request_ids
        self.function_arn = function_arn
        self.destination = destination

    def processed(self, lane: Lane, records: Sequence[StreamRecord]) -> None:
        """The function succeeded on ``records``: checkpoint after the last one."""
        self.flush_discards(lane)
        outcomes, key = self.stats.outcomes, self.encoder.key
        for r in records:
            outcomes[key(r)] = PROCESSED
        self.encoder.forget(records)
        self.stats.records_processed += len(records)
        if records:
            lane.checkpoint = records[-1].sequence_number
            newest = max(r.arrival for r in records)
            last = self.stats.last_processed_arrival
            self.stats.last_processed_arrival = newest if last is None else max(last, newest)
            lane.attempts_without_progress = 0

    def expired(self, lane: Lane | None, records: Sequence[StreamRecord]) -> None:
        """Spec 7.5 / 2.4.4: records past the stream's retention are gone: never
        delivered, no on-failure record (the data is no longer in the stream)."""
        if lane is not None:
            self.flush_discards(lane)
        outcomes, key = self.stats.outcomes, self.encoder.key
        for r in records:
            outcomes[key(r)] = EXPIRED
        self.stats.records_expired += len(records)
        self.encoder.forget(records)
        if lane is not None and records:
            lane.checkpoint = records[-1].sequence_number
            lane.attempts_without_progress = 0

    def discard(
        self,
        lane: Lane,
        records: Sequence[StreamRecord],
        condition: str,
        invoke_count: int,
        function_error: str | None,
    ) -> None:
        """Spec 2.5.3 / 3: give up on records; tell the on-failure destination."""
        outcomes, key = self.stats.outcomes, self.encoder.key
        for r in records:
            outcomes[key(r)] = DISCARDED
        self.stats.records_discarded += len(records)
        lane.checkpoint = records[-1].sequence_number
        lane.attempts_without_progress = 0
        if choices.MERGE_BISECTED_FAILURES:
            pending = lane.pending_discard
            if pending is not None and pending.condition != condition:
                self.flush_discards(lane)
                pending = None
            if pending is None:
                pending = PendingDiscard(list(records), condition, invoke_count, function_error)
                lane.pending_discard = pending
            else:
                pending.records.extend(records)
                pending.invoke_count = max(pending.invoke_count, invoke_count)
                pending.function_error = function_error or pending.function_error
            if not lane.deferred_halves:  # the bisection is over
                self.flush_discards(lane)
            return
        self._report(lane, records, condition, invoke_count, function_error)

    def flush_discards(self, lane: Lane) -> None:
        """Report the lane's merged discards, if any (S9.12)."""
        pending, lane.pending_discard = lane.pending_discard, None
        if pending is not None:
            self._report(
                lane,
                pending.records,
                pending.condition,
                pending.invoke_count,
                pending.function_error,
            )

    def _report(
        self,
        lane: Lane,
        records: Sequence[StreamRecord],
        condition: str,
        invoke_count: int,
        function_error: str | None,
    ) -> None:
        """One on-failure document for ``records``: kept, and sent to the destination."""
        ctx = FailureContext(
            request_id=lane.last_request_id or self.request_ids.next(),
            function_arn=self.function_arn,
            condition=condition,
            approximate_invoke_count=invoke_count,
            function_error=function_error,
            timestamp=self.clock.now(),
            shard_id=lane.shard_id,
            stream_arn=self.encoder.stream_arn,
        )
        # The document names the records as the handler saw them (a replay's
        # captured sequence numbers); the lane checkpoints with its own numbers.
        doc = failure_document(ctx, [self.encoder.shown(r) for r in records])
        self.stats.failure_documents.append(doc)
        if self.destination is not None:
            event = orjson.loads(self.encoder.plain_event(records))
            sent = self.destination.send(
                doc,
                event,
                self.request_ids.next(),
                payload_as_string=choices.S3_PAYLOAD_AS_STRING,  # open point S9.3
            )
            if sent:
                self.stats.on_failure_messages += 1
            else:
                self.stats.on_failure_delivery_errors += 1
        self.encoder.forget(records)
