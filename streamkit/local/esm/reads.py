"""Reading shards as Lambda's poller does: back-off on failed reads, read limits,
and records that retention took away (spec 7.2, 7.3, 7.5, 7.9, 4.12).

* Failed reads never fail the mapping (spec 7.9). A throttled GetRecords
  (``ProvisionedThroughputExceededException``), an expired iterator (re-acquired
  after the last record read, spec 7.3), a KMS error, ``TrimmedDataAccessException``
  or an internal failure is counted (``stats.read_throttles`` / ``read_errors``, by
  code in ``read_error_codes``) and the shard polls again after a back-off on the
  simulator's clock: 1 s, doubling per failure in a row, capped at 10 s (Lambda's
  pacing is not documented; simulator rule S7.10 in ``docs/simulator.md``).
* With ``read_limits=True`` every GetRecords call first asks the stream's shared
  :class:`~streamkit.local.esm.read_limits.StreamReadLimits` (5 calls/s, 2 MB/s per
  shard across the stream's standard mappings, spec 7.2); a refused call is a
  throttled read as above.
* Retention (spec 7.5, 2.4.4): a record older than the stream's retention period on
  the simulator's clock is gone, whether it is read late or waits in a failing
  batch: it is never delivered nor sent to the on-failure destination, its outcome
  is ``expired`` and ``stats.records_expired`` counts it (simulator rule S7.11).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from streamkit.local.clock import Clock
from streamkit.local.esm.limits import READ_BACKOFF_BASE, READ_BACKOFF_CAP
from streamkit.local.esm.outcomes import RecordOutcomes
from streamkit.local.esm.read_limits import StreamReadLimits
from streamkit.local.esm.state import Batch, Lane, ShardState
from streamkit.local.esm.stats import EsmStats
from streamkit.local.shards import THROTTLING_READ_ERRORS, KinesisShardReader, ReadResult

#: The error a refused call under ``read_limits=True`` stands for.
SIMULATED_THROTTLE = "ProvisionedThroughputExceededException"


class ShardReads:
    """One mapping's GetShardIterator and GetRecords calls, with Lambda's back-off."""

    def __init__(self, reader: KinesisShardReader, stats: EsmStats, clock: Clock) -> None:
        self.reader = reader
        self.stats = stats
        self.clock = clock
        #: The stream's shared read limits, when the mapping enforces them.
        self.limits: StreamReadLimits | None = None

    def open(self, shard_id: str, position: str, timestamp: float | None) -> None:
        """Ask for the shard's iterator at ``position``; a failure is retried by the
        next read (from the same position)."""
        error = self.reader.open(shard_id, position, timestamp=timestamp)
        if error is not None:
            self._count(error)

    def may_read(self, shard: ShardState, now: float) -> bool:
        """Whether the shard's back-off after a failed read is over."""
        return now >= shard.read_backoff_until

    def read(self, shard: ShardState) -> ReadResult | None:
        """One GetRecords on ``shard``; None if it failed (the shard backs off)."""
        now = self.clock.now()
        shard_id = shard.info.shard_id
        if self.limits is not None and not self.limits.admit(shard_id, now):
            self._failed(shard, SIMULATED_THROTTLE, now)
            return None
        before = self.reader.get_records_calls
        result = self.reader.read(shard_id, shard.info)
        self.stats.get_records_calls += self.reader.get_records_calls - before
        if result.error is not None:
            self._failed(shard, result.error, now)
            return None
        if self.limits is not None:
            self.limits.consumed(shard_id, now, result.size)
        shard.read_failures = 0
        return result

    def retry_at(self, shards: Iterable[ShardState]) -> float:
        """When the earliest shard held back by a failed read may read again."""
        now = self.clock.now()
        times = [
            s.read_backoff_until
            for s in shards
            if s.started and not s.read_ended and s.read_backoff_until > now
        ]
        return min(times, default=math.inf)

    def _failed(self, shard: ShardState, code: str, now: float) -> None:
        self._count(code)
        shard.read_failures += 1
        delay = min(READ_BACKOFF_CAP, READ_BACKOFF_BASE * 2 ** (shard.read_failures - 1))
        shard.read_backoff_until = now + delay

    def _count(self, code: str) -> None:
        if code in THROTTLING_READ_ERRORS:
            self.stats.read_throttles += 1
        else:
            self.stats.read_errors += 1
        codes = self.stats.read_error_codes
        codes[code] = codes.get(code, 0) + 1


class Retention:
    """The stream's retention period on the simulator's clock (spec 7.5, 2.4.4)."""

    def __init__(self, clock: Clock, outcomes: RecordOutcomes, hours: int = 24) -> None:
        self.clock = clock
        self.outcomes = outcomes
        self.seconds = hours * 3600.0

    def readable(self, arrival: float) -> bool:
        """Whether a record that arrived at ``arrival`` is still in the stream."""
        return self.clock.now() - arrival <= self.seconds

    def drop_from(self, lane: Lane, batch: Batch) -> bool:
        """Before an invocation: records of ``batch`` past retention are gone (spec
        2.1.2: a failing batch blocks its shard until its data expires). False if
        none is left."""
        gone = [r for r in batch.records if not self.readable(r.arrival)]
        if not gone:
            return True
        batch.records = [r for r in batch.records if self.readable(r.arrival)]
        self.outcomes.expired(lane, gone)
        if not batch.records:
            lane.finish_batch()
            lane.ready_at = self.clock.now()
            return False
        return True
