"""Logs and metrics through Powertools: one log line and one EMF document per batch.

Nothing here runs per record. After each batch the processor calls
:func:`emit_batch`, which writes a structured INFO log line (shard, sequence range,
counts) and CloudWatch EMF metrics: ``RecordsReceived``, ``RecordsSucceeded``,
``RecordsDeadLettered``, ``RecordsRetried`` (Count) and ``IteratorAge``
(Milliseconds: now minus the arrival time of the batch's last record, spec 4.11).

"Now" is the invocation's clock (:class:`InvocationClock`), which also stamps the EMF
document: on AWS the wall clock; under an emulator that runs on a clock of its own
(streamkit's simulator replaying a capture on a virtual clock) that clock, which the
emulator passes through Lambda's own channel from invoker to function, the client
context: ``context.client_context.custom["streamkit-clock-offset-ms"]`` is the
emulator's time minus the wall clock, in milliseconds (a string, as ClientContext
``custom`` values are). Kinesis event source mappings never set a client context, so
on AWS the offset is 0 and nothing here depends on local tooling.

Powertools is imported on first use, not at ``import streamkit``: Powertools'
user-agent hook imports the top-level ``botocore`` package, and ``import streamkit``
stays free of botocore. Namespace and service come from the usual Powertools
variables (``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_SERVICE_NAME``) and
default to ``streamkit``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

DEFAULT_NAMESPACE = "streamkit"

#: The client-context key through which an emulator passes its clock (module docstring).
CLOCK_OFFSET_KEY: Final = "streamkit-clock-offset-ms"


@dataclass(frozen=True, slots=True)
class InvocationClock:
    """The clock of one invocation: the wall clock shifted by ``offset_ms``.

    Example::

        clock = InvocationClock.of(context)   # offset 0 on AWS
        age_ms = iterator_age_ms(last_arrival, clock.now())
    """

    #: The invoker's time minus the wall clock, in milliseconds (0: the wall clock).
    offset_ms: float = 0.0

    @classmethod
    def of(cls, context: object) -> InvocationClock:
        """The clock the invoker passed in ``context.client_context.custom``, if any."""
        client = getattr(context, "client_context", None) if context is not None else None
        custom = getattr(client, "custom", None)
        raw = custom.get(CLOCK_OFFSET_KEY) if isinstance(custom, Mapping) else None
        try:
            offset = float(raw) if isinstance(raw, str | int | float) else 0.0
        except ValueError:
            offset = 0.0
        return cls(offset if math.isfinite(offset) else 0.0)

    def now(self) -> float:
        """Unix seconds on this invocation's clock."""
        return time.time() + self.offset_ms / 1000


def clock_client_context(invoker_now: float, wall_now: float | None = None) -> dict[str, Any]:
    """The client context an emulator whose clock reads ``invoker_now`` sends the function.

    The inverse of :meth:`InvocationClock.of`: ``{"custom": {CLOCK_OFFSET_KEY: "<ms>"}}``,
    the offset from the wall clock (``wall_now``, default now) in milliseconds.
    """
    wall = time.time() if wall_now is None else wall_now
    return {"custom": {CLOCK_OFFSET_KEY: f"{(invoker_now - wall) * 1000:.3f}"}}


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What one batch did; the input of :func:`emit_batch`."""

    stream: str
    shard_id: str
    first_sequence_number: str | None
    last_sequence_number: str | None
    kinesis_records: int
    received: int
    succeeded: int
    dead_lettered: int
    retried: int
    iterator_age_ms: int | None
    duration_ms: float
    stopped: str | None
    dead_letter_reasons: dict[str, int]
    #: When the batch finished on the invocation's clock (Unix ms): the EMF timestamp.
    #: None: the wall clock at emission.
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class BlockedIntent:
    """A pending intent that could not be rolled forward (see :func:`emit_blocked_intent`)."""

    stream: str
    shard_id: str
    #: The ledger item (``<consumer>#<shard>``) and the generation the intent creates.
    ledger_id: str
    generation: int
    intent_id: str
    #: The error code and message of the write that failed.
    cause: str


def iterator_age_ms(last_arrival: float | None, now: float | None = None) -> int | None:
    """Lambda's IteratorAge: ``now`` minus the batch's last arrival time (spec 4.11), in ms.

    ``now`` is the invocation's clock (:meth:`InvocationClock.now`); default: the wall clock.
    """
    if last_arrival is None:
        return None
    at = time.time() if now is None else now
    return max(0, int((at - last_arrival) * 1000))


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stdout`` is at emit time.

    Lambda collects stdout; resolving it late also lets test runners capture it.
    """

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


@cache
def logger() -> Logger:
    """streamkit's Powertools logger (service ``streamkit`` unless configured)."""
    from aws_lambda_powertools import Logger

    return Logger(
        service=os.environ.get("POWERTOOLS_SERVICE_NAME", "streamkit"),
        logger_handler=_Stdout(),
    )


def emit_batch(
    summary: BatchSummary, *, namespace: str | None = None, metrics: bool = True
) -> None:
    """Log the batch summary and, unless ``metrics`` is False, flush its EMF metrics."""
    fields: dict[str, Any] = {
        "stream": summary.stream,
        "shard_id": summary.shard_id,
        "first_sequence_number": summary.first_sequence_number,
        "last_sequence_number": summary.last_sequence_number,
        "kinesis_records": summary.kinesis_records,
        "received": summary.received,
        "succeeded": summary.succeeded,
        "dead_lettered": summary.dead_lettered,
        "retried": summary.retried,
        "iterator_age_ms": summary.iterator_age_ms,
        "duration_ms": round(summary.duration_ms, 3),
    }
    if summary.stopped:
        fields["stopped"] = summary.stopped
    if summary.dead_letter_reasons:
        fields["dead_letter_reasons"] = summary.dead_letter_reasons
    logger().info("batch processed", extra={"batch": fields})
    if metrics:
        _flush_metrics(summary, namespace)


def _flush_metrics(summary: BatchSummary, namespace: str | None) -> None:
    # EphemeralMetrics keeps its own metric set, so a user's own Metrics instance
    # (whose state Powertools shares across instances) is never flushed by us.
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    ns = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    m = EphemeralMetrics(namespace=ns)
    # One dimension per stream, not per shard: every distinct dimension set is a
    # billed custom metric, and shards come and go with resharding.
    m.add_dimension(name="Stream", value=summary.stream or "unknown")
    m.add_metadata(key="shard_id", value=summary.shard_id)
    if summary.timestamp_ms is not None:
        with warnings.catch_warnings():
            # A replayed batch is stamped on its virtual clock, often older than the
            # 14 days CloudWatch accepts: right for the replay, never sent to AWS.
            warnings.simplefilter("ignore")
            m.set_timestamp(summary.timestamp_ms)
    m.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=summary.received)
    m.add_metric(name="RecordsSucceeded", unit=MetricUnit.Count, value=summary.succeeded)
    m.add_metric(name="RecordsDeadLettered", unit=MetricUnit.Count, value=summary.dead_lettered)
    m.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=summary.retried)
    if summary.iterator_age_ms is not None:
        m.add_metric(
            name="IteratorAge", unit=MetricUnit.Milliseconds, value=summary.iterator_age_ms
        )
    m.flush_metrics()


def emit_blocked_intent(
    blocked: BlockedIntent, *, namespace: str | None = None, metrics: bool = True
) -> None:
    """ERROR log line and ``PendingIntentBlocked`` metric (once per invocation).

    The shard makes no progress until the intent applies: alarm on this metric
    (``streamkit intents list --consumer NAME`` shows the intent, ``resolve`` settles it).
    """
    fields = {
        "stream": blocked.stream,
        "shard_id": blocked.shard_id,
        "ledger_id": blocked.ledger_id,
        "generation": blocked.generation,
        "intent_id": blocked.intent_id,
        "cause": blocked.cause,
    }
    logger().error(
        "pending intent cannot be applied; the shard is blocked", extra={"intent": fields}
    )
    if not metrics:
        return
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    ns = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    m = EphemeralMetrics(namespace=ns)
    m.add_dimension(name="Stream", value=blocked.stream or "unknown")
    for key in ("shard_id", "ledger_id", "generation", "intent_id", "cause"):
        m.add_metadata(key=key, value=fields[key])
    m.add_metric(name="PendingIntentBlocked", unit=MetricUnit.Count, value=1)
    m.flush_metrics()
