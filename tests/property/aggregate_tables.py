"""What the aggregate-layout property tests share: records, planned deltas, tables.

``tests/property/test_multi_field_aggregates.py`` and ``test_window_layout.py`` plan
the same records with two layouts, apply both to in-memory tables (or moto) and
compare what the tables hold.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import orjson

from streamkit.aggregate import fields_from_item
from streamkit.ledger import LedgerState
from streamkit.local.events import kinesis_record
from streamkit.local.run.report import scan_items
from streamkit.pipeline import Pipeline
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.testing.memory import MemoryAWS
from streamkit.testing.memory.crash import CrashAfterPuts
from streamkit.writes import AggregateWrite

SHARD = "shardId-000000000000"
Clients = Callable[[str], Any]

__all__ = [
    "SHARD",
    "Clients",
    "apply_batch",
    "assert_parts_placed",
    "memory_table",
    "planned_writes",
    "records",
    "scan_items",
]


def records(docs: list[dict[str, Any]], partition: str) -> list[dict[str, Any]]:
    """Kinesis records of ``docs`` (JSON) on :data:`SHARD`, sequence numbers from
    1000, each partition key the doc's ``partition`` field."""
    return [
        kinesis_record(orjson.dumps(doc), 1000 + i, partition_key=doc[partition], shard_id=SHARD)
        for i, doc in enumerate(docs)
    ]


def planned_writes(pipeline: Pipeline, raw: list[dict[str, Any]]) -> list[AggregateWrite]:
    """The aggregate deltas ``pipeline`` plans for ``raw`` on a new shard."""
    intent = pipeline.plan(raw, LedgerState.new_shard()).intent
    return [] if intent is None else list(intent.aggregates)


def memory_table(table: str = "aggs") -> Clients:
    """Clients of fresh in-memory stores holding the aggregate table ``table``."""
    mem = MemoryAWS()
    mem.dynamodb.create_table(table, ("pk", "sk"))
    return mem.clients


def apply_batch(
    clients: Clients,
    ledger_id: str,
    writes: list[AggregateWrite],
    intent_id: str,
    crash_after: int | None,
) -> None:
    """Apply ``writes`` as intent ``intent_id`` of generation 1 of ``ledger_id``.

    With ``crash_after``, an invocation first writes that many items and dies (unless
    the batch fits in them), so the apply that follows is the retry of a half-applied
    intent; applying the intent once more then writes nothing (markers on every part).
    """
    if crash_after is not None:
        with contextlib.suppress(ConnectionError):
            AggregateTable("aggs", CrashAfterPuts(clients, crash_after)).apply(
                ledger_id, 1, writes, intent_id=intent_id
            )
    table = AggregateTable("aggs", clients)
    table.apply(ledger_id, 1, writes, intent_id=intent_id)
    assert table.apply(ledger_id, 1, writes, intent_id=intent_id) == 0


def assert_parts_placed(items: list[dict[str, Any]], max_fields: int) -> None:
    """The placement invariant of multi-field items (:meth:`AggregateTable._apply_fields`):
    at most ``max_fields`` fields a part, parts numbered from 0 without gaps, each
    field in one part of its window, and every part before the last full."""
    parts: dict[tuple[str, str], dict[int, set[str]]] = {}
    for item in items:
        window, _, n = str(item["sk"]).partition("#")
        names = set(fields_from_item(item))
        assert 1 <= len(names) <= max_fields
        parts.setdefault((item["pk"], window), {})[int(n or 0)] = names
    for by_part in parts.values():
        assert sorted(by_part) == list(range(len(by_part)))
        seen: set[str] = set()
        for n in sorted(by_part):
            assert not seen & by_part[n]
            seen |= by_part[n]
            if n + 1 in by_part:
                assert len(by_part[n]) == max_fields
