"""Dead letters: records that can never succeed, kept with everything needed to redrive.

A :class:`DeadLetter` holds the raw payload, the record's identity, the reason word
and the error text. Where it goes is pluggable: any callable taking one
DeadLetter is a sink. Two sinks ship with the core: :class:`InMemoryDeadLetters`
(tests, or to post-process a batch) and :class:`LoggingDeadLetters` (the default:
one structured ERROR log line per dead letter, so nothing is lost even with no
store configured). The S3 store lives in ``streamkit.sinks``.

Example::

    from streamkit import InMemoryDeadLetters, process_batch

    dlq = InMemoryDeadLetters()
    process_batch(event, handle, context, dead_letters=dlq)
    for letter in dlq.letters:
        print(letter.reason, letter.record.id)
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from streamkit.errors import DecodeError
from streamkit.records import Record

#: A dead-letter destination: called once per dead letter, in shard order. If it
#: raises, the record is reported for retry instead (nothing is lost).
DeadLetterSink = Callable[["DeadLetter"], object]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that failed permanently, with the reason and where it happened."""

    record: Record
    reason: str
    error: str
    handler: str
    time: float = field(default_factory=lambda: datetime.now(UTC).timestamp())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: raw payload as base64, identity, reason, error, handler, time."""
        r = self.record
        return {
            "id": r.id,
            "reason": self.reason,
            "error": self.error,
            "handler": self.handler,
            "time": datetime.fromtimestamp(self.time, UTC).isoformat(timespec="milliseconds"),
            "eventSourceARN": r.event_source_arn,
            "shardId": r.shard_id,
            "sequenceNumber": r.sequence_number,
            "subSequenceNumber": r.sub_sequence_number,
            "aggregated": r.aggregated,
            "partitionKey": r.partition_key,
            "explicitHashKey": r.explicit_hash_key,
            # the event's own value when it is not a usable timestamp (that may be
            # the very reason this record is a dead letter)
            "approximateArrivalTimestamp": _arrival_or_raw(r),
            "data": base64.b64encode(r.data).decode("ascii"),
        }


def _arrival_or_raw(record: Record) -> Any:
    try:
        return record.approximate_arrival_timestamp
    except DecodeError:
        return record.raw_arrival_timestamp


class HasReason(Protocol):
    """Anything with a dead-letter reason: a DeadLetter, a stored dead-letter entry."""

    @property
    def reason(self) -> str: ...


def count_reasons(letters: Iterable[HasReason]) -> dict[str, int]:
    """Dead letters per reason, in order of first appearance.

    The one count behind the batch log line (``dead_letter_reasons``), ``streamkit
    run``'s and ``streamkit dlq list``'s summaries and :meth:`InMemoryDeadLetters.reasons`.
    """
    return dict(Counter(letter.reason for letter in letters))


class InMemoryDeadLetters:
    """Collects dead letters in :attr:`letters` (a list, in shard order)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def __call__(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def reasons(self) -> dict[str, int]:
        """Count of dead letters per reason."""
        return count_reasons(self.letters)


class LoggingDeadLetters:
    """Default sink: one structured ERROR log line per dead letter, payload included.

    Dead letters are rare by design, so this is the one per-record log streamkit
    writes by default; configure a real store (S3) in production.
    """

    def __call__(self, letter: DeadLetter) -> None:
        from streamkit.observability import logger

        logger().error("dead letter", extra={"dead_letter": letter.to_dict()})
