"""What one pipeline invocation did, and how it is reported.

:class:`PipelineResult` is what :meth:`streamkit.pipeline.Pipeline.run` returns; the
report is one log line and one EMF document per invocation (Powertools), never per
record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streamkit.deadletter import DeadLetter, count_reasons
from streamkit.errors import StreamkitError
from streamkit.ledger import Intent
from streamkit.observability import BatchSummary, InvocationClock, emit_batch, iterator_age_ms
from streamkit.records import BatchBounds


@dataclass
class PipelineResult:
    """What one invocation did."""

    response: dict[str, Any]
    received: int = 0
    already_committed: int = 0
    succeeded: int = 0
    dead_lettered: int = 0
    retried: int = 0
    rolled_forward: bool = False
    intent: Intent | None = None
    stopped: str | None = None
    failure: BaseException | None = None
    dead_letters: list[DeadLetter] = field(default_factory=list)


class LedgerReset(StreamkitError, RuntimeError):
    """The ledger restarted its generations (a recreated or restored ledger table)
    while aggregate items still carry markers of the old ones."""


def ledger_id_of(intent: Intent) -> str:
    """The intent's ledger item id, which is also its applied-marker key."""
    return f"{intent.consumer}#{intent.shard_id}"


def cause_of(error: BaseException) -> str:
    """What made a write fail, e.g. ``ResourceNotFoundException: table not found``."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{code or type(error).__name__}: {error}"


def report_invocation(
    raw: list[Mapping[str, Any]],
    result: PipelineResult,
    bounds: BatchBounds,
    started: float,
    clock: InvocationClock,
    *,
    metrics: bool,
) -> None:
    """One log line and one EMF document for the invocation (never per record)."""
    now = clock.now()
    emit_batch(
        BatchSummary(
            stream=bounds.stream,
            shard_id=bounds.shard_id,
            first_sequence_number=bounds.first_sequence_number,
            last_sequence_number=bounds.last_sequence_number,
            kinesis_records=len(raw),
            # Records an earlier invocation committed are not part of this batch's
            # work: received = succeeded + dead-lettered + retried holds.
            received=result.received - result.already_committed,
            succeeded=result.succeeded,
            dead_lettered=result.dead_lettered,
            retried=result.retried,
            iterator_age_ms=iterator_age_ms(bounds.last_arrival, now),
            duration_ms=(time.perf_counter() - started) * 1000,
            stopped=result.stopped,
            dead_letter_reasons=count_reasons(result.dead_letters),
            timestamp_ms=int(now * 1000),
        ),
        metrics=metrics,
    )
