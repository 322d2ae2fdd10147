"""In-memory AWS with the semantics streamkit's exactly-once protocol relies on.

For fast property tests: thousands of fault schedules a minute, no HTTP. Each service
answers the boto3 calls streamkit's adapters make, with AWS's semantics (conditional
writes and botocore's exception classes, DynamoDB's number and item-size limits, S3
overwrite, SQS FIFO 5-minute deduplication), so the adapters' own logic -- the
:class:`~streamkit.ledger.Ledger`, :class:`~streamkit.sinks.dynamodb.AggregateTable`,
the S3 and SQS stores -- runs unchanged on them: what the proof checks is the code that
ships. ``tests/integration/test_store_contract.py`` runs the same scenarios here and
on moto and requires equal results.

* :class:`MemoryAWS`: the four services behind one ``clients(service)`` factory, and
  :meth:`MemoryAWS.stores` (:class:`~streamkit.stores.Stores` for a pipeline);
* :class:`~streamkit.testing.memory.dynamodb.MemoryDynamoDB`,
  :class:`~streamkit.testing.memory.s3.MemoryS3`,
  :class:`~streamkit.testing.memory.sqs.MemorySQS`;
* :class:`~streamkit.testing.memory.kinesis.MemoryStream`: a stream the ESM simulator
  reads through :class:`~streamkit.testing.memory.kinesis.MemoryShardReader`.

Example::

    aws = MemoryAWS()
    aws.dynamodb.create_table("ledger", ("id",))
    aws.dynamodb.create_table("aggs", ("pk", "sk"))
    aws.s3.create_bucket(Bucket="archive")
    pipeline = Pipeline("clicks", ..., table="aggs", ledger_table="ledger",
                        clients=aws.clients)   # or stores=aws.stores(...)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streamkit.ledger import Ledger
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.stores import Stores
from streamkit.testing.memory.dynamodb import MemoryDynamoDB
from streamkit.testing.memory.kinesis import MemoryShardReader, MemoryStream
from streamkit.testing.memory.s3 import MemoryS3
from streamkit.testing.memory.sqs import MemorySQS, SentMessage

__all__ = [
    "MemoryAWS",
    "MemoryDynamoDB",
    "MemoryS3",
    "MemorySQS",
    "MemoryShardReader",
    "MemoryStream",
    "SentMessage",
]


class MemoryAWS:
    """DynamoDB, S3 and SQS in memory; ``clock`` times SQS deduplication."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.dynamodb = MemoryDynamoDB()
        self.s3 = MemoryS3()
        self.sqs = MemorySQS(clock)

    def clients(self, service: str) -> Any:
        """The in-memory service for ``"dynamodb"``, ``"s3"`` or ``"sqs"``."""
        services = {"dynamodb": self.dynamodb, "s3": self.s3, "sqs": self.sqs}
        if service not in services:
            raise ValueError(f"MemoryAWS has no {service!r} (allowed: {sorted(services)})")
        return services[service]

    def stores(
        self,
        consumer: str,
        *,
        ledger_table: str,
        table: str | None = None,
        intent_bucket: str | None = None,
    ) -> Stores:
        """The pipeline's stores on this in-memory AWS (the shipped adapters on it)."""
        return Stores(
            ledger=Ledger(ledger_table, consumer, self.clients, intent_bucket=intent_bucket),
            aggregates=AggregateTable(table, self.clients) if table else None,
            objects=self.s3,
            queue=self.sqs,
        )
