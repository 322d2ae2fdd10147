"""When a lane's next batch is due and where it is cut (spec 4.3-4.5, 1.2.3).

A batch closes at BatchSize records, when the batching window expires, or before
the record that would push the invocation event past 6 MB, window fields and
state included (spec 4.3 (a)-(c), 4.5); with tumbling windows it never spans two
windows. A window closes after its end once a record of a later window is read, or
2 minutes after its end when nothing new arrives (spec 1.2.6), or at once when the
shard ends (spec 1.2.7, simulator rule S1.2.10: the children then start without
waiting).
"""

from __future__ import annotations

import math

from streamkit.local.config import EsmSettings
from streamkit.local.esm.events import EventEncoder
from streamkit.local.esm.limits import MAX_EVENT_BYTES, WINDOW_IDLE_WAIT
from streamkit.local.esm.state import Lane, ShardState
from streamkit.local.esm.windows import window_start_of
from streamkit.local.shards import StreamRecord


class BatchCutter:
    """Cuts batches from lane queues under one mapping's settings."""

    def __init__(self, settings: EsmSettings, encoder: EventEncoder) -> None:
        self.settings = settings
        self.encoder = encoder

    def due_at(self, lane: Lane, shard: ShardState) -> float:
        """When the lane's next action is due: a retry, a window's final invocation
        or a new batch (``math.inf``: nothing to do until records arrive)."""
        if lane.current_batch is not None or lane.deferred_halves:
            return lane.ready_at
        settings = self.settings
        window_s = settings.tumbling_window_in_seconds
        if window_s and lane.window_start is not None:
            end = lane.window_start + window_s
            if lane.queue:
                if window_start_of(lane.queue[0].arrival, window_s) > lane.window_start:
                    return max(lane.ready_at, end)  # a later window's record: close this one
            elif shard.read_ended:
                return lane.ready_at  # spec 1.2.7: the shard ended: close the window now
            elif shard.caught_up:
                return max(lane.ready_at, end + WINDOW_IDLE_WAIT)  # spec 1.2.6
            else:
                return math.inf
        if not lane.queue:
            return math.inf
        first = lane.queue[0].arrival
        batching_window = settings.maximum_batching_window_in_seconds
        if batching_window == 0:
            return max(lane.ready_at, first)  # spec 4.3: invoke as soon as records exist
        # Spec 4.3/4.4: the window opens when the previous invocation completes; if
        # nothing arrives in it, a new one opens with the next record.
        start = lane.ready_at if first <= lane.ready_at + batching_window else first
        full_at = self.full_at(lane)
        if full_at is not None:  # (a) BatchSize records or (c) 6 MB gathered in time
            return min(start + batching_window, max(start, full_at))
        return start + batching_window  # (b) the window expires

    def full_at(self, lane: Lane) -> float | None:
        """When the queued records fill a batch: the arrival of the BatchSize-th
        record, or of the first record that would push the event past 6 MB."""
        size = self.envelope_size(lane)
        batch_size = self.settings.batch_size
        for i, rec in enumerate(lane.queue):
            if i == batch_size:
                return lane.queue[i - 1].arrival
            size += len(self.encoder.record(rec)) + (1 if i else 0)
            if i and size > MAX_EVENT_BYTES:
                return rec.arrival
        if len(lane.queue) == batch_size:
            return lane.queue[-1].arrival
        return None

    def cut(self, lane: Lane, now: float) -> list[StreamRecord]:
        """Take the next batch off the lane's queue (empty if nothing has arrived).

        With tumbling windows the first batch of a window opens it: the lane's
        window starts at its first record's window, with empty state (spec 1.2.3).
        """
        settings = self.settings
        window_s = settings.tumbling_window_in_seconds
        taken: list[StreamRecord] = []
        batch_window: float | None = None
        queue = lane.queue
        if window_s and lane.window_start is None and queue and queue[0].arrival <= now:
            lane.window_start = window_start_of(queue[0].arrival, window_s)
            lane.window_state = {}
        size = self.envelope_size(lane)
        while queue and len(taken) < settings.batch_size:
            rec = queue[0]
            if rec.arrival > now:
                break  # not arrived yet (virtual clock)
            if window_s:
                rec_window = window_start_of(rec.arrival, window_s)
                if batch_window is None:
                    batch_window = rec_window
                if rec_window != batch_window:
                    break  # a batch never spans two windows (spec 1.2.3)
            added = len(self.encoder.record(rec)) + (1 if taken else 0)  # a comma between records
            if taken and size + added > MAX_EVENT_BYTES:
                break  # spec 4.3 (c) / 4.5
            size += added
            taken.append(queue.popleft())
        return taken

    def envelope_size(self, lane: Lane) -> int:
        """Bytes of the event around its records (window fields and state included)."""
        return len(self.encoder.event(lane, (), final=False))
