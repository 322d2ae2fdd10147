"""Failed batches: bisection, retries with back-off, retry and age limits (spec 2.1, 2.3, 2.4).

Choices where the spec marks a fact unconfirmed: retry back-off is 1 s, doubling,
capped at 10 s (9.2 / 2.1.6); each half of a bisected batch gets a fresh retry
counter and bisection continues down to single records before retries are
counted (2.3.6).
"""

from __future__ import annotations

from streamkit.errors import StreamkitError
from streamkit.local.clock import Clock
from streamkit.local.config import EsmSettings
from streamkit.local.destinations import RECORD_AGE_EXCEEDED, RETRY_ATTEMPTS_EXHAUSTED
from streamkit.local.esm import choices
from streamkit.local.esm.limits import BACKOFF_BASE, BACKOFF_CAP
from streamkit.local.esm.outcomes import RecordOutcomes
from streamkit.local.esm.state import Batch, Lane
from streamkit.local.esm.stats import EsmStats


class StuckShardError(StreamkitError, RuntimeError):
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


class RetryPolicy:
    """Decides what a failed attempt does to its lane: split, retry later or discard."""

    def __init__(
        self,
        *,
        settings: EsmSettings,
        stats: EsmStats,
        clock: Clock,
        outcomes: RecordOutcomes,
        stuck_after: int,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.clock = clock
        self.outcomes = outcomes
        self.stuck_after = stuck_after

    def function_failure(
        self, lane: Lane, batch: Batch, detail: str, function_error: str | None
    ) -> None:
        """The function failed on the whole batch: bisect it if configured, else retry."""
        if self.settings.bisect_batch_on_function_error and len(batch.records) > 1:
            # Spec 2.3.1-2.3.3: split in halves, first half first; no retry consumed.
            mid = (len(batch.records) + 1) // 2
            first, second = batch.records[:mid], batch.records[mid:]
            lane.deferred_halves.append(Batch(second))
            lane.current_batch = Batch(first)
            self.stats.bisections += 1
            self.backoff(lane, detail)
            return
        self.retry_or_discard(lane, batch, detail, function_error)

    def retry_or_discard(
        self, lane: Lane, batch: Batch, detail: str, function_error: str | None
    ) -> None:
        """Retry the batch after a back-off, or discard it once its retries are spent."""
        limit = self.settings.maximum_retry_attempts
        # Spec 2.1.5: N retries = at most N + 1 invocations of the batch.
        if limit != -1 and batch.invoke_count > limit:
            self.outcomes.discard(
                lane, batch.records, RETRY_ATTEMPTS_EXHAUSTED, batch.invoke_count, function_error
            )
            lane.finish_batch()
            lane.ready_at = self.clock.now()
            return
        self.backoff(lane, detail)

    def not_invoked(self, lane: Lane, batch: Batch, kind: str, detail: str) -> None:
        """The function never ran (throttled, or a single record's event over 6 MB):
        spec 2.1.3, retried and not counted as an attempt. An oversize record is
        discarded at once instead when ``choices.OVERSIZE_RECORD`` is "discard" (S9.8)."""
        if kind == "too_large" and choices.OVERSIZE_RECORD == "discard":
            count = max(1, batch.invoke_count)
            self.outcomes.discard(lane, batch.records, RETRY_ATTEMPTS_EXHAUSTED, count, None)
            lane.finish_batch()
            lane.ready_at = self.clock.now()
            return
        self.backoff(lane, detail)

    def backoff(self, lane: Lane, detail: str) -> None:
        """Hold the lane back after a failed attempt; raise once it is stuck."""
        lane.consecutive_failures += 1
        lane.attempts_without_progress += 1
        lane.last_error = detail
        if lane.attempts_without_progress > self.stuck_after:
            batch = lane.current_batch
            shown = self.outcomes.encoder.shown_sequence
            head = shown(batch.records[0]) if batch is not None else "?"
            raise StuckShardError(lane.shard_id, head, lane.attempts_without_progress, detail)
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (lane.consecutive_failures - 1))
        lane.ready_at = self.clock.now() + delay

    def drop_expired(self, lane: Lane, batch: Batch) -> bool:
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
        self.outcomes.discard(lane, expired, RECORD_AGE_EXCEEDED, max(1, batch.invoke_count), None)
        if not batch.records:
            lane.finish_batch()
            return False
        return True
