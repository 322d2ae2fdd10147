"""A full batch of the shipped batching settings is planned in one invocation.

infra/consumers.json batches for write cost (BatchSize 10000, a 60 s window; README
"The consumers"). A bigger batch plans a bigger intent: past the ledger item's inline
limit it is stored as an S3 object (the pipeline's intent bucket, by default its
dead-letter bucket: one extra PUT). Without an intent bucket the pipeline would plan
a shorter prefix and report the rest for retry (Pipeline.plan ``fit_inline``): one
full batch would become several invocations, each partial response a failed attempt
(spec 2.2.6), and more writes. Here the largest batch Lambda can deliver under those
settings, at 1,000 records/s of each consumer's own traffic (BatchSize records or the
6 MB event limit, spec 4.3 (a)/(c)), is planned with the consumer's pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from handlers import clickstream as clickstream_handler
from handlers import iot as iot_handler
from streamkit.ledger import LedgerState
from streamkit.local.config import load_consumers
from streamkit.local.esm.limits import MAX_EVENT_BYTES
from streamkit.local.events import kinesis_record
from streamkit.local.generators.clickstream import clickstream
from streamkit.local.generators.iot import iot
from streamkit.local.generators.records import GeneratedRecord

SHIPPED = Path(__file__).resolve().parents[2] / "infra" / "consumers.json"
START = 1_795_860_000.0
ENV = {
    "STREAMKIT_AGGREGATE_TABLE": "aggregates",
    "STREAMKIT_ARCHIVE_BUCKET": "archive",
    "STREAMKIT_DLQ_BUCKET": "dlq",
    "STREAMKIT_LEDGER_TABLE": "ledger",
    "STREAMKIT_ALERTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/a.fifo",
    "STREAMKIT_IOT_THRESHOLDS": "temperature>90:overheat,engine.temp>105:engine_overheat",
}

Traffic = Callable[[], Iterator[GeneratedRecord]]
CONSUMERS: dict[str, tuple[Traffic, Any]] = {
    # The traffic of `streamkit run --rate 1000` (its user and device counts).
    "clickstream": (
        lambda: clickstream(seed=7, rate=1000, duration=60, start=START),
        clickstream_handler.build_pipeline,
    ),
    "iot": (
        lambda: iot(seed=7, rate=1000, duration=60, start=START, devices=50),
        iot_handler.build_pipeline,
    ),
}


def full_batch(records: Iterator[GeneratedRecord], batch_size: int) -> list[dict[str, Any]]:
    """The first batch Lambda would cut from one shard: BatchSize records, or as many as
    fit the 6 MB invocation event (spec 4.3 (c))."""
    batch: list[dict[str, Any]] = []
    size = len(b'{"Records":[]}')
    for i, rec in enumerate(records):
        record = kinesis_record(
            rec.data, 10**20 + i, partition_key=rec.partition_key, arrival=rec.arrival
        )
        size += len(orjson.dumps(record)) + 1
        if len(batch) == batch_size or size > MAX_EVENT_BYTES:
            break
        batch.append(record)
    return batch


def planned_parts(pipeline: Any, batch: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(records, intent bytes) of each invocation the pipeline needs for ``batch``, as
    Pipeline.run plans them (``fit_inline``); the rest of a short plan is retried."""
    parts = []
    rest = batch
    while rest:
        plan = pipeline.plan(rest, LedgerState.new_shard(), fit_inline=True)
        planned = plan.succeeded + plan.dead_lettered
        assert planned > 0 and plan.intent is not None
        parts.append((planned, len(plan.intent.to_bytes())))
        rest = rest[planned:]
    return parts


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_a_full_batch_of_the_shipped_settings_is_one_invocation(consumer: str) -> None:
    settings = load_consumers(SHIPPED)[consumer].event_source_mapping
    traffic, build = CONSUMERS[consumer]
    batch = full_batch(traffic(), settings.batch_size)
    assert len(batch) > 4000  # far larger than the old settings' 500 / 200

    parts = planned_parts(build({**ENV, "STREAMKIT_CONSUMER": consumer}), batch)

    assert [n for n, _ in parts] == [len(batch)], f"{consumer}: planned in parts {parts}"
