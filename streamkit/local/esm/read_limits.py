"""Kinesis's per-shard read limits, shared by every standard mapping of a stream (spec 7.2).

Each shard of a stream serves at most 5 GetRecords calls in any one second and
2 MB/s, across all its standard (shared-throughput) consumers. With
``EventSourceMapping(..., read_limits=True)`` the simulator enforces both on the
mapping's clock before each GetRecords call; a refused call is handled exactly like
a ``ProvisionedThroughputExceededException`` from the endpoint (spec 7.9: counted
in ``stats.read_throttles``, the shard backs off and polls again).

One :class:`StreamReadLimits` per stream and process (:func:`shared_read_limits`),
so two mappings of one stream compete for its reads. They compete in time when
they run on one clock, interleaved: :func:`~streamkit.local.esm.together.run_together`.

Choices (simulator rule S7.12 in ``docs/simulator.md``):

* calls: a call is refused when the shard already served 5 calls in the last second
  (a sliding window, so no second ever holds more than 5);
* bytes: a token bucket of 2 MiB refilled at 2 MiB/s, which may go negative by
  the size of one response: a call is refused while it is not positive. After a
  10 MiB response the shard refuses calls for about 4 s (spec 7.2 says "the next
  5 s"), and any second averages at most 2 MiB plus one response;
* refused calls cost nothing (they are not served).

Example::

    limits = shared_read_limits(("http://127.0.0.1:4566", stream_arn, created))
    if limits.admit(shard_id, clock.now()):
        result = reader.read(shard_id)
        limits.consumed(shard_id, clock.now(), result.size)
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Hashable
from dataclasses import dataclass, field

from streamkit.local.esm.limits import GET_RECORDS_PER_SECOND, READ_BYTES_PER_SECOND

#: How long admitted call times are kept (for the sliding window and for tests).
_KEEP_SECONDS = 60.0


@dataclass(slots=True)
class _ShardUsage:
    #: Times of admitted calls, sorted (mappings on one clock call in time order).
    calls: list[float] = field(default_factory=list)
    tokens: float = float(READ_BYTES_PER_SECOND)
    refilled_at: float | None = None
    #: Every admitted call time of the shard (never pruned): what tests inspect.
    history: list[float] = field(default_factory=list)


class StreamReadLimits:
    """The read capacity of one stream's shards, as its standard consumers share it."""

    def __init__(
        self,
        calls_per_second: int = GET_RECORDS_PER_SECOND,
        bytes_per_second: int = READ_BYTES_PER_SECOND,
        *,
        dedicated: bool = False,
    ) -> None:
        self.calls_per_second = calls_per_second
        self.bytes_per_second = bytes_per_second
        #: One mapping's own (enhanced fan-out, spec 4.2), not the stream's shared reads.
        self.dedicated = dedicated
        self._shards: dict[str, _ShardUsage] = {}
        self._lock = threading.Lock()

    def admit(self, shard_id: str, now: float) -> bool:
        """Whether a GetRecords call on ``shard_id`` at ``now`` is within the limits;
        if so it is counted."""
        with self._lock:
            usage = self._usage(shard_id, now)
            calls = usage.calls
            recent = len(calls) - bisect.bisect_right(calls, now - 1.0)
            if recent >= self.calls_per_second or usage.tokens <= 0:
                return False
            bisect.insort(calls, now)
            usage.history.append(now)
            if calls[0] < now - _KEEP_SECONDS:
                del calls[: bisect.bisect_left(calls, now - _KEEP_SECONDS)]
            return True

    def consumed(self, shard_id: str, now: float, nbytes: int) -> None:
        """An admitted call returned ``nbytes``: take them from the shard's bucket."""
        with self._lock:
            self._usage(shard_id, now).tokens -= nbytes

    def calls(self, shard_id: str) -> list[float]:
        """Times of every call admitted on ``shard_id`` (by any mapping), in order."""
        with self._lock:
            return sorted(self._shards[shard_id].history) if shard_id in self._shards else []

    def _usage(self, shard_id: str, now: float) -> _ShardUsage:
        usage = self._shards.get(shard_id)
        if usage is None:
            usage = self._shards[shard_id] = _ShardUsage()
        if usage.refilled_at is not None and now > usage.refilled_at:
            cap = float(self.bytes_per_second)
            usage.tokens = min(cap, usage.tokens + (now - usage.refilled_at) * cap)
        if usage.refilled_at is None or now > usage.refilled_at:
            usage.refilled_at = now
        return usage


_REGISTRY: weakref.WeakValueDictionary[Hashable, StreamReadLimits] = weakref.WeakValueDictionary()
_REGISTRY_LOCK = threading.Lock()


def shared_read_limits(stream_key: Hashable) -> StreamReadLimits:
    """The process's read limits of one stream, created on first use.

    ``stream_key`` names the stream uniquely, e.g. (endpoint URL, stream ARN,
    creation time): a stream deleted and created again starts with fresh limits.
    The object lives as long as a mapping holds it.
    """
    with _REGISTRY_LOCK:
        limits = _REGISTRY.get(stream_key)
        if limits is None:
            limits = StreamReadLimits()
            _REGISTRY[stream_key] = limits
        return limits


#: Calls per second of a dedicated (enhanced fan-out) budget: records are pushed over
#: SubscribeToShard, so no GetRecords call rate applies (spec 4.2); only bytes count.
PUSHED_CALLS_PER_SECOND = 10**9


def mapping_read_limits(stream_key: Hashable, *, enhanced_fan_out: bool) -> StreamReadLimits:
    """The read limits one mapping obeys: through enhanced fan-out its own 2 MB/s per
    shard (spec 4.2, 7.6), never counted against the stream's; else the stream's
    shared limits (:func:`shared_read_limits`, spec 7.2)."""
    if enhanced_fan_out:
        return StreamReadLimits(PUSHED_CALLS_PER_SECOND, READ_BYTES_PER_SECOND, dedicated=True)
    return shared_read_limits(stream_key)
