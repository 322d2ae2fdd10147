"""What a simulator run reports: totals, each record's outcome, and every invocation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

#: A record's outcome in :attr:`EsmStats.outcomes`: the function succeeded on it...
PROCESSED: Final = "processed"
#: ...no filter matched it (spec 5.2)...
FILTERED: Final = "filtered"
#: ...or Lambda gave up on it (retries or age exhausted, spec 2.5.3)...
DISCARDED: Final = "discarded"
#: ...or it was past the stream's retention before the function got it (spec 7.5,
#: 2.4.4): Kinesis no longer returns it, and no on-failure record names it.
EXPIRED: Final = "expired"


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
    #: Spec 4.11: the age of the batch's last record when the invocation finished, on
    #: the simulator's clock (ms); None when the function did not run on records.
    iterator_age_ms: int | None = None


#: Invocation outcomes in which the function ran (Lambda counts them as invocations).
_INVOKED: Final = frozenset({"success", "partial", "failure"})


@dataclass(slots=True)
class ShardMetrics:
    """One shard's ESM metrics, as Lambda reports them per mapping, on the simulator's
    clock (the virtual clock in a replay).

    ``records_in`` is MetricsConfig EventCount's PolledEventCount, ``records_filtered``
    FilteredOutEventCount, ``invoked_events`` InvokedEventCount (re-deliveries
    included), ``failed_invoke_events`` FailedInvokeEventCount, ``records_discarded``
    DroppedEventCount; ``iterator_age_ms_max`` / ``_last`` are IteratorAge's Maximum
    and its latest value (spec 4.11).
    """

    records_in: int = 0
    records_processed: int = 0
    records_filtered: int = 0
    records_discarded: int = 0
    records_expired: int = 0
    invocations: int = 0
    invoked_events: int = 0
    failed_invoke_events: int = 0
    iterator_age_ms_max: int | None = None
    iterator_age_ms_last: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {
            "records_in": self.records_in,
            "records_processed": self.records_processed,
            "records_filtered": self.records_filtered,
            "records_discarded": self.records_discarded,
            "records_expired": self.records_expired,
            "invocations": self.invocations,
            "invoked_events": self.invoked_events,
            "failed_invoke_events": self.failed_invoke_events,
            "iterator_age_ms_max": self.iterator_age_ms_max,
            "iterator_age_ms_last": self.iterator_age_ms_last,
        }


@dataclass
class EsmStats:
    """What a run did. ``unresolved`` counts records neither processed, filtered,
    discarded nor expired (non-zero only when the run was stopped early).

    Reads (spec 7.9): ``read_throttles`` counts GetRecords calls refused for
    throughput (ProvisionedThroughputExceededException from the endpoint, or the
    simulated per-shard limits of ``read_limits=True``), ``read_errors`` the other
    retried read errors, by code in ``read_error_codes``; ``records_expired`` the
    records past the stream's retention on the simulator's clock (spec 7.5).
    """

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
    get_records_calls: int = 0
    read_throttles: int = 0
    read_errors: int = 0
    records_expired: int = 0
    #: Retried read errors (throttles included) by error code (spec 7.9).
    read_error_codes: dict[str, int] = field(default_factory=dict)
    #: Execution environments started (init phases, spec 10.1) and the seconds their
    #: inits took; request id -> init seconds of each cold invocation (execution="process").
    cold_starts: int = 0
    init_seconds: float = 0.0
    cold_start_requests: dict[str, float] = field(default_factory=dict)
    #: Records read, per shard (:meth:`count_in`).
    records_in_by_shard: Counter[str] = field(default_factory=Counter)
    #: Arrival time of the newest record processed so far (for iterator age).
    last_processed_arrival: float | None = None
    log: list[InvocationLog] = field(default_factory=list)
    #: (shard id, sequence number) -> PROCESSED, FILTERED, DISCARDED or EXPIRED.
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    failure_documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unresolved(self) -> int:
        return self.records_in - len(self.outcomes)

    def count_in(self, shard_id: str) -> None:
        """A record was read from ``shard_id``."""
        self.records_in += 1
        self.records_in_by_shard[shard_id] += 1

    def by_shard(self) -> dict[str, ShardMetrics]:
        """Each shard's metrics (:class:`ShardMetrics`), computed from the outcomes and
        the invocation log (once, at the end of a run: it reads every outcome)."""
        shards: dict[str, ShardMetrics] = {}

        def of(shard_id: str) -> ShardMetrics:
            return shards.setdefault(shard_id, ShardMetrics())

        for shard_id, n in self.records_in_by_shard.items():
            of(shard_id).records_in = n
        attribute = {
            PROCESSED: "records_processed",
            FILTERED: "records_filtered",
            DISCARDED: "records_discarded",
            EXPIRED: "records_expired",
        }
        for (shard_id, _seq), outcome in self.outcomes.items():
            m = of(shard_id)
            name = attribute[outcome]
            setattr(m, name, getattr(m, name) + 1)
        for entry in self.log:
            if entry.outcome not in _INVOKED:
                continue
            m = of(entry.shard_id)
            m.invocations += 1
            m.invoked_events += len(entry.sequence_numbers)
            if entry.outcome == "failure":
                m.failed_invoke_events += len(entry.sequence_numbers)
            if entry.iterator_age_ms is not None:
                age = entry.iterator_age_ms
                m.iterator_age_ms_last = age
                high = m.iterator_age_ms_max
                m.iterator_age_ms_max = age if high is None else max(high, age)
        return dict(sorted(shards.items()))

    def to_dict(self) -> dict[str, Any]:
        """The totals, and ``by_shard``: each shard's :class:`ShardMetrics`."""
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
            "get_records_calls": self.get_records_calls,
            "read_throttles": self.read_throttles,
            "read_errors": self.read_errors,
            "records_expired": self.records_expired,
            "cold_starts": self.cold_starts,
            "init_seconds": round(self.init_seconds, 3),
            "unresolved": self.unresolved,
            "by_shard": {k: m.to_dict() for k, m in self.by_shard().items()},
        }
