"""The four stores a pipeline writes to, as interfaces: ledger, aggregates, objects, queue.

:class:`~streamkit.pipeline.Pipeline` talks to its stores only through these
protocols, so the same protocol code runs on AWS (the adapters: :class:`~streamkit.
ledger.Ledger`, :class:`~streamkit.sinks.dynamodb.AggregateTable`, :class:`S3Objects`,
:class:`SqsQueue`, built from the pipeline's boto3 ``clients``) or on in-memory stores
with the same semantics (``streamkit.testing.memory``, for fast property tests).

What each implementation must guarantee (the pipeline's exactly-once protocol relies
on it; ``tests/integration/test_store_contract.py`` runs the same scenarios on both):

* :class:`LedgerStore`: reads are consistent; ``write_intent`` and ``commit`` are
  conditional (on the generation read, on the intent id) and raise
  :class:`~streamkit.ledger.LedgerConflict` when the condition fails.
* :class:`AggregateStore`: applying generation g of a ledger id twice changes nothing
  (per-item applied markers); concurrent writers never lose an update (versioned
  items, conditional puts).
* :class:`ObjectStore`: a put overwrites (same key, same bytes: safe to repeat).
* :class:`MessageQueue`: SQS FIFO semantics: a message whose deduplication id was sent
  to the same queue within the last 5 minutes is accepted but not delivered again.

Example (an in-memory pipeline for a test)::

    from streamkit.testing.memory import MemoryAWS

    aws = MemoryAWS()
    pipeline = Pipeline("clicks", ..., ledger_table="ledger", stores=aws.stores(...))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from streamkit.ledger import Intent, LedgerState
from streamkit.sinks.s3 import put_objects
from streamkit.writes import AggregateWrite, MessageWrite, ObjectWrite


class LedgerStore(Protocol):
    """The per-(consumer, shard) ledger (:class:`streamkit.ledger.Ledger` on DynamoDB)."""

    def read(self, shard_id: str) -> LedgerState: ...
    def write_intent(self, state: LedgerState, intent: Intent) -> None: ...
    def commit(self, intent: Intent) -> None: ...


class AggregateStore(Protocol):
    """Aggregate items (:class:`streamkit.sinks.dynamodb.AggregateTable` on DynamoDB)."""

    def apply(
        self,
        ledger_id: str,
        generation: int,
        deltas: Sequence[AggregateWrite],
        intent_id: str | None = None,
        written_at: float | None = None,
    ) -> int: ...


class ObjectStore(Protocol):
    """Archive, dead-letter and large-intent objects (:class:`S3Objects` on S3)."""

    def put_objects(self, objects: Iterable[ObjectWrite]) -> int: ...


class MessageQueue(Protocol):
    """Alert messages to SQS FIFO queues (:class:`SqsQueue` on SQS)."""

    def send(self, messages: Iterable[MessageWrite]) -> int: ...


@dataclass(frozen=True)
class Stores:
    """The stores a pipeline uses; a store left None is built from its ``clients``."""

    ledger: LedgerStore | None = None
    aggregates: AggregateStore | None = None
    objects: ObjectStore | None = None
    queue: MessageQueue | None = None


class S3Objects:
    """:class:`ObjectStore` on S3."""

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self.clients = clients

    def put_objects(self, objects: Iterable[ObjectWrite]) -> int:
        return put_objects(objects, self.clients("s3"))


class SqsQueue:
    """:class:`MessageQueue` on SQS FIFO queues: each message's body text as planned."""

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self.clients = clients

    def send(self, messages: Iterable[MessageWrite]) -> int:
        n = 0
        for m in messages:
            self.clients("sqs").send_message(
                QueueUrl=m.queue_url,
                MessageBody=m.body,
                MessageGroupId=m.group_id,
                MessageDeduplicationId=m.dedup_id,
            )
            n += 1
        return n
