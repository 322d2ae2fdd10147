"""Bounded and reset state of the applied markers (issue 10, class 8), against the
local endpoint: an item's markers age out after the horizon, and a ledger that
restarted its generations blocks the shard loudly instead of skipping silently."""

from __future__ import annotations

import contextlib
import io
import json
import time
from typing import Any

import orjson
import pytest

from streamkit.ledger import LedgerState
from streamkit.local.aws import DynamoDbTable
from streamkit.pipeline import Aggregate, Archive, LedgerReset, Pipeline
from streamkit.sinks.dynamodb import AggregateTable, MarkerPruned
from streamkit.sinks.s3 import read_archive
from streamkit.stores import Stores
from streamkit.testing import FakeContext, kinesis_event

pytestmark = pytest.mark.integration

DAY = 24 * 3600.0
SHARD = "shardId-000000000000"


def pipeline(clients: Any, window_s: int | None = 60, **kw: Any) -> Pipeline:
    return Pipeline(
        "clicks",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=window_s)],
        table="aggs",
        archive=Archive("archive-bucket", "raw"),
        dead_letter_bucket="dlq-bucket",
        ledger_table="ledger",
        clients=clients,
        **{"metrics": False, **kw},
    )


def docs(n: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps({"page": "/home", "ts": 1_764_000_000 + i}) for i in range(start, n)]


def item(clients: Any, sk: str) -> dict[str, Any]:
    got = clients("dynamodb").get_item(
        TableName="aggs", Key={"pk": {"S": "views#/home"}, "sk": {"S": sk}}
    )
    return dict(got["Item"])


def run_logged(p: Pipeline, event: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = p.run(event, FakeContext(60_000))
    return result, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_an_all_time_item_written_by_300_shards_keeps_markers_of_the_horizon_only(
    stores: Any,
) -> None:
    # 300 shards (an on-demand stream resharding for weeks), one an hour, each adding
    # one record to the same all-time item.
    now = [1_800_000_000.0]
    table = AggregateTable("aggs", stores, marker_horizon_s=DAY, clock=lambda: now[0])
    p = pipeline(stores, window_s=None, stores=Stores(aggregates=table))
    for i in range(300):
        event = kinesis_event(docs(i + 1, start=i), shard_id=f"shardId-{i:012d}")
        result, _ = run_logged(p, event)
        assert result.failure is None and result.succeeded == 1
        now[0] += 3600
    stored = item(stores, "all")
    assert int(stored["count"]["N"]) == 300  # every record counted once
    applied = stored["applied"]["M"]
    # Markers of the last day only (24 hours + the latest writer), not 300.
    assert len(applied) <= 25
    assert "clicks#shardId-000000000299" in applied
    assert "clicks#shardId-000000000000" not in applied
    assert set(stored["applied_at"]["M"]) == set(applied)


def test_an_overtaken_zombie_re_applying_an_old_intent_changes_nothing(stores: Any) -> None:
    # Markers ahead of the intent are fine when the ledger committed them: a zombie
    # still applying generation 1 after the retry committed generations 1 and 2.
    p = pipeline(stores)
    first, _ = run_logged(p, kinesis_event(docs(3)))
    second, _ = run_logged(p, kinesis_event(docs(6, start=3), first_sequence=7 * 10**55))
    assert first.intent is not None and second.intent is not None
    p.roll_forward(first.intent)  # the zombie
    assert int(item(stores, "2025-11-24T16:00:00Z")["count"]["N"]) == 6


def test_a_recreated_ledger_table_blocks_the_shard_loudly_instead_of_skipping(
    stores: Any,
) -> None:
    p = pipeline(stores)
    first, _ = run_logged(p, kinesis_event(docs(3)))
    assert first.failure is None
    # The ledger table is deleted and created again (or restored from an old backup):
    # its generations restart at 1 while the item still carries generation 1's marker.
    ddb = stores("dynamodb")
    ddb.delete_table(TableName="ledger")
    DynamoDbTable.ledger("ledger").create(stores)
    later = kinesis_event(docs(6, start=3), first_sequence=7 * 10**55)

    result, _ = run_logged(p, later)

    # Not silently skipped: the apply fails naming the ledger and the generations...
    assert isinstance(result.failure, LedgerReset)
    assert "clicks#" + SHARD in str(result.failure)
    assert "generation 1" in str(result.failure)
    assert int(item(stores, "2025-11-24T16:00:00Z")["count"]["N"]) == 3  # not half-counted
    assert len(read_archive(stores("s3"), "archive-bucket", "raw")) == 3  # nothing written
    # ...and the intent stays pending: every later invocation blocks loudly.
    state = p.ledger.read(SHARD)
    assert state.intent is not None and state.intent.generation == 1
    loud = pipeline(stores, metrics=True)
    again, lines = run_logged(loud, later)
    assert isinstance(again.failure, LedgerReset)
    errors = [line for line in lines if line.get("level") == "ERROR"]
    assert len(errors) == 1
    blocked = errors[0]["intent"]
    assert blocked["ledger_id"] == f"clicks#{SHARD}" and blocked["generation"] == 1
    assert blocked["cause"].startswith("LedgerReset")
    metrics = [line for line in lines if "_aws" in line and "PendingIntentBlocked" in line]
    assert len(metrics) == 1
    assert int(item(stores, "2025-11-24T16:00:00Z")["count"]["N"]) == 3


def test_an_intent_pending_beyond_the_horizon_never_re_applies_a_pruned_item(
    stores: Any,
) -> None:
    # An intent applied to its item but not committed (the commit failed), then left
    # blocked for longer than the horizon while another consumer wrote the item and
    # dropped the intent's marker: rolling it forward must not count it twice.
    now = [time.time()]
    table = AggregateTable("aggs", stores, marker_horizon_s=DAY, clock=lambda: now[0])
    p = pipeline(stores, stores=Stores(aggregates=table))
    event = kinesis_event(docs(3))
    intent = p.plan(event["Records"], LedgerState.new_shard()).intent
    assert intent is not None
    p.ledger.write_intent(LedgerState.new_shard(), intent)  # written now (real time)
    table.apply(f"clicks#{SHARD}", 1, intent.aggregates, intent.intent_id)
    now[0] += 2 * DAY
    other = Pipeline(
        "other",
        event_time=lambda d, r: d["ts"],
        aggregates=[Aggregate("views", key=lambda d: d["page"], window_s=60)],
        table="aggs",
        ledger_table="ledger",
        clients=stores,
        metrics=False,
        stores=Stores(aggregates=table),
    )
    assert run_logged(other, kinesis_event(docs(1)))[0].failure is None
    stored = item(stores, "2025-11-24T16:00:00Z")
    assert set(stored["applied"]["M"]) == {f"other#{SHARD}"}  # clicks' marker aged out

    result, _ = run_logged(p, event)

    assert isinstance(result.failure, MarkerPruned)
    assert int(item(stores, "2025-11-24T16:00:00Z")["count"]["N"]) == 4  # 3 + 1, once
    state = p.ledger.read(SHARD)
    assert state.intent is not None and state.intent.intent_id == intent.intent_id
