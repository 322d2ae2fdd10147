"""The simulator's mutable state per shard and per processing lane."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from streamkit.local.shards import ShardInfo, StreamRecord


@dataclass(slots=True)
class Batch:
    """Records invoked together, and how often this batch has been invoked."""

    records: list[StreamRecord]
    invoke_count: int = 0


@dataclass(slots=True)
class PendingDiscard:
    """Discarded records of a bisection not yet reported, to be merged into one
    on-failure document (open point S9.12, ``choices.MERGE_BISECTED_FAILURES``)."""

    records: list[StreamRecord]
    condition: str
    invoke_count: int
    function_error: str | None


class Lane:
    """One in-order processing lane: a shard, or a slice of it by partition key
    when ParallelizationFactor > 1 (spec 4.7)."""

    def __init__(self, shard_id: str, index: int, ready_at: float) -> None:
        self.shard_id = shard_id
        self.index = index
        #: Records read from the shard, not yet in a batch.
        self.queue: deque[StreamRecord] = deque()
        #: Earliest time of this lane's next invocation (back-off, window waits).
        self.ready_at = ready_at
        #: When the lane's last step (its invocation) ended on its own timeline: the
        #: lane is busy until then, whatever other lanes do meanwhile (S4.13).
        self.busy_until = ready_at
        #: The batch being invoked, and retried until it is resolved.
        self.current_batch: Batch | None = None
        #: Second halves of split batches still to run; a stack, the last split first.
        self.deferred_halves: list[Batch] = []
        #: Failed attempts in a row; drives the retry back-off.
        self.consecutive_failures = 0
        #: Attempts since a record was last resolved; drives the stuck-shard error.
        self.attempts_without_progress = 0
        self.last_error = ""
        #: Sequence number of the last record resolved (processed or discarded).
        self.checkpoint: str | None = None
        self.last_request_id = ""
        #: Discards of a bisection awaiting one merged on-failure document (S9.12).
        self.pending_discard: PendingDiscard | None = None
        # tumbling windows (spec 1.2)
        self.window_start: float | None = None
        self.window_state: dict[str, Any] = {}
        self.window_terminated_early = False

    @property
    def busy(self) -> bool:
        return bool(self.queue) or self.current_batch is not None or bool(self.deferred_halves)

    def stepped(self, started: float, ended: float) -> None:
        """A step that began at ``started`` ended at ``ended`` on this lane's
        timeline: nothing more happens on the lane before then (S4.13)."""
        self.busy_until = max(self.busy_until, ended)
        self.ready_at = max(self.ready_at, ended)

    def finish_batch(self) -> None:
        """The current batch is resolved: the next one starts with a fresh back-off."""
        self.current_batch = None
        self.consecutive_failures = 0


class ShardState:
    """Where the simulator is with one shard: started, read to its end, its lanes."""

    def __init__(self, info: ShardInfo, *, at_start: bool = False) -> None:
        self.info = info
        #: Listed when the mapping started: read from its StartingPosition. A shard
        #: that appears later is new, read from TRIM_HORIZON (spec 4.12).
        self.at_start = at_start
        self.started = False
        #: The shard is closed and every record of it has been read.
        self.read_ended = False
        #: The last read returned nothing and the shard is at its tip.
        self.caught_up = False
        self.next_poll_at = 0.0
        #: Failed reads in a row, and when the shard may read again (spec 7.9).
        self.read_failures = 0
        self.read_backoff_until = 0.0
        self.lanes: list[Lane] = []

    def lane_for(self, partition_key: str) -> Lane:
        """The lane a record of ``partition_key`` goes to: with ParallelizationFactor > 1,
        the same key always the same lane, so its records stay in order (spec 4.7)."""
        if len(self.lanes) == 1:
            return self.lanes[0]
        key_hash = int.from_bytes(hashlib.md5(partition_key.encode()).digest()[:8], "big")
        return self.lanes[key_hash % len(self.lanes)]

    @property
    def finished(self) -> bool:
        return self.read_ended and not any(
            lane.busy or lane.window_start is not None for lane in self.lanes
        )
