"""``Aggregate(layout="window")``: every key of a window in one item.

The invariant: storing an aggregate's keys as fields of one item per window, with
overflow items past ``max_fields``, counts exactly what one item per (key, window)
counts, whatever the batching, the order of batches, re-applies of a batch and
crashes between an item's parts; and the readers (:func:`streamkit.query.key_items`,
:func:`~streamkit.query.buckets`, the exactly-once reference's
:func:`~streamkit.local.run.reference.stored_aggregates`) give the same rows for both
layouts. The reference is the same records planned with ``layout="key"``, applied to
a second table.

Runs on the in-memory stores (hypothesis; the seed and example counts are printed);
``test_window_layout_on_moto_matches_memory`` runs one scenario on both the in-memory
store and the embedded moto endpoint, and reads it back with ``query_aggregate``.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from streamkit.local.aws import DynamoDbTable, LocalAWS
from streamkit.local.run.reference import comparable, stored_aggregates
from streamkit.pipeline import Aggregate, Pipeline
from streamkit.plan_fast import fast_stager
from streamkit.query import buckets, key_items, query_aggregate
from streamkit.sinks.dynamodb import AggregateTable
from streamkit.testing.memory import MemoryAWS
from tests.property.aggregate_tables import (
    SHARD,
    Clients,
    apply_batch,
    assert_parts_placed,
    memory_table,
    planned_writes,
    records,
    scan_items,
)

SITES = ["a.example", "b.example", "c.example", "d.example", "é.example"]


def _pipeline(layout: str, max_fields: int = 64, *, valued: bool = True) -> Pipeline:
    """hits (counted), users (distinct, all-time) and, when ``valued``, spend (a sum):
    without it every aggregate is counted only and the planner takes its fast path
    (:func:`streamkit.plan_fast.fast_stager`), with it the general one."""
    spend = Aggregate(
        "spend",
        key=lambda d: d["site"],
        value=lambda d: d.get("v"),
        layout=layout,
        max_fields=max_fields,
    )
    return Pipeline(
        "c",
        event_time=lambda doc, record: doc["ts"],
        aggregates=[
            Aggregate("hits", key=lambda d: d["site"], layout=layout, max_fields=max_fields),
            *([spend] if valued else []),
            Aggregate(
                "users",
                key=lambda d: d["site"],
                distinct=lambda d: d["user"],
                window_s=None,  # all-time: one window item holds every site
                layout=layout,
                max_fields=max_fields,
            ),
        ],
        table="aggs",
        ledger_table="ledger",
        clients=MemoryAWS().clients,
    )


def _raw(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records(docs, "site")


def _stored(items: list[dict[str, Any]]) -> dict[Any, tuple[Any, ...]]:
    return {k: comparable(s) for k, s in stored_aggregates(items).items()}


def _rows(items: list[dict[str, Any]]) -> dict[tuple[str, str], list[Any]]:
    """What a dashboard reads per (aggregate, key): query's rows, hourly and as stored."""
    out = {}
    for (name, key), group in key_items(items).items():
        rollup = None if name == "users" else "hour"
        out[(name, key)] = [
            (b.start, b.end, b.field, b.windows, comparable(b.stats))
            for b in buckets(group, rollup=rollup)
        ]
    return out


click = st.fixed_dictionaries(
    {
        "site": st.sampled_from(SITES),
        "user": st.sampled_from([f"u{i}" for i in range(8)]),
        "ts": st.integers(0, 7_300),  # three hours of minutes: hourly rollups merge
    },
    optional={"v": st.decimals(min_value=-1000, max_value=1000, places=2).map(str)},
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
@given(
    clicks=st.lists(click, min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 29), max_size=4),
    max_fields=st.integers(1, 3),
    crash_after=st.one_of(st.none(), st.integers(0, 6)),
    valued=st.booleans(),
    data=st.data(),
)
def test_window_items_count_what_key_items_count(
    clicks: list[dict[str, Any]],
    cuts: list[int],
    max_fields: int,
    crash_after: int | None,
    valued: bool,
    data: st.DataObject,
) -> None:
    bounds = sorted({0, len(clicks), *(c for c in cuts if c < len(clicks))})
    batches = [clicks[a:b] for a, b in itertools.pairwise(bounds)]
    order = data.draw(st.permutations(range(len(batches))), label="apply order")
    note(f"{len(clicks)} records, {len(batches)} batches, max_fields={max_fields}")

    window_pipeline = _pipeline("window", max_fields, valued=valued)
    key_pipeline = _pipeline("key", valued=valued)
    # counted only: the fast path plans the window layout; with spend, the general one
    assert (fast_stager(window_pipeline) is None) == valued
    clients, reference = memory_table(), memory_table()
    for i in order:
        raw = _raw(batches[i])
        writes = planned_writes(window_pipeline, raw)
        # one delta per aggregate and window, whatever the keys
        windows = [(w.aggregate, w.sk) for w in writes]
        assert len(windows) == len(set(windows))
        assert all(w.pk == w.aggregate and w.fields is not None for w in writes)
        ledger_id = f"c#{SHARD}-{i}"  # one lane per batch: any apply order is legal
        apply_batch(clients, ledger_id, writes, f"i{i}", crash_after)
        AggregateTable("aggs", reference).apply(
            ledger_id, 1, planned_writes(key_pipeline, raw), intent_id=f"i{i}"
        )

    items, expected = scan_items(clients, "aggs"), scan_items(reference, "aggs")
    assert _stored(items) == _stored(expected)
    assert _rows(items) == _rows(expected)
    assert all("#" not in item["pk"] and item["key"] == "*" for item in items)
    assert_parts_placed(items, max_fields)


@settings(max_examples=60, deadline=None, print_blob=True)
@given(
    clicks=st.lists(click, min_size=1, max_size=24),
    switch=st.integers(0, 24),
    max_fields=st.integers(1, 3),
)
def test_a_layout_change_under_the_same_name_loses_no_window(
    clicks: list[dict[str, Any]], switch: int, max_fields: int
) -> None:
    """A redeploy from layout="key" to "window" (clickstream's events and site_users
    made it) keeps the names: the records before the switch sit in per-key items,
    those after in window items, a window spanning the switch in both. The readers
    merge the two as if one layout had counted everything: the scanning readers and
    query_aggregate's two Queries (per site, minute windows and the hour rollup; the
    in-memory Query matches moto's, tests/integration/test_store_contract.py)."""
    before, after = _raw(clicks)[:switch], _raw(clicks)[switch:]
    note(f"{len(clicks)} records, switch after {switch}, max_fields={max_fields}")
    clients, reference = memory_table(), memory_table()
    old, new = _pipeline("key"), _pipeline("window", max_fields)
    ledger_id = f"c#{SHARD}"
    table = AggregateTable("aggs", clients)
    table.apply(ledger_id, 1, planned_writes(old, before) if before else [], intent_id="old")
    table.apply(ledger_id, 2, planned_writes(new, after) if after else [], intent_id="new")
    AggregateTable("aggs", reference).apply(ledger_id, 1, planned_writes(old, _raw(clicks)))
    items, expected = scan_items(clients, "aggs"), scan_items(reference, "aggs")
    assert _stored(items) == _stored(expected)
    assert _rows(items) == _rows(expected)
    ddb, want = clients("dynamodb"), reference("dynamodb")
    reads = [(n, r) for n in ("hits", "spend") for r in (None, "hour")] + [("users", None)]
    for (name, rollup), site in itertools.product(reads, SITES):  # users: all-time
        got = query_aggregate(ddb, "aggs", name, site, rollup=rollup)
        assert got == query_aggregate(want, "aggs", name, site, rollup=rollup), (name, site)


def _contract_scenario(clients: Clients) -> list[Any]:
    table = AggregateTable("aggs", clients, clock=lambda: 1_700_000_000.0)
    pipeline = _pipeline("window", max_fields=2)
    first = [{"site": s, "user": "u1", "ts": 5, "v": "1.5"} for s in SITES[:3]]
    second = [{"site": s, "user": "u2", "ts": 70, "v": "-2"} for s in SITES[2:]]
    written = [
        table.apply(f"c#{SHARD}", 1, planned_writes(pipeline, _raw(first)), intent_id="i1"),
        table.apply(f"c#{SHARD}", 2, planned_writes(pipeline, _raw(second)), intent_id="i2"),
        table.apply(f"c#{SHARD}", 2, planned_writes(pipeline, _raw(second)), intent_id="i2"),
    ]
    # first: hits and spend of minute 0 (3 sites: parts 0 and 1), users all-time
    # (parts 0, 1); second: minute 1 (3 sites: 2 parts each) and users' parts 1, 2
    assert written == [6, 6, 0]
    items = sorted(scan_items(clients, "aggs"), key=lambda i: (i["pk"], i["sk"]))
    return [(i["pk"], i["sk"], sorted(i["fields"]), _stored([i])) for i in items]


def test_window_layout_on_moto_matches_memory(local_aws: LocalAWS) -> None:
    local_aws.reset()
    DynamoDbTable.aggregates("aggs").create(local_aws.clients)
    assert _contract_scenario(memory_table()) == _contract_scenario(local_aws.clients)
    ddb = local_aws.clients("dynamodb")
    # query_aggregate finds a window-layout key without being told the layout
    [minute0] = query_aggregate(ddb, "aggs", "spend", "c.example", start=0, end=60)
    assert (minute0.count, minute0.sum, minute0.field) == (1, 1.5, None)
    [hour] = query_aggregate(ddb, "aggs", "spend", "c.example", rollup="hour")
    assert (hour.count, hour.sum, hour.windows) == (2, -0.5, 2)
    [users] = query_aggregate(ddb, "aggs", "users", "c.example", consistent_read=True)
    assert users.distinct == 2
    assert query_aggregate(ddb, "aggs", "spend", "nowhere.example") == []
    # Per-key items of the same name (written before a layout change) are read too,
    # a window that has both merged: minute 0 here.
    old = [{"site": "c.example", "user": "u3", "ts": t, "v": v} for t, v in ((10, "4"), (130, "1"))]
    AggregateTable("aggs", local_aws.clients).apply(
        f"c#{SHARD}-old", 1, planned_writes(_pipeline("key"), _raw(old)), intent_id="old"
    )
    [hour] = query_aggregate(ddb, "aggs", "spend", "c.example", rollup="hour")
    assert (hour.count, hour.sum, hour.windows) == (4, 4.5, 3)
    [minute0] = query_aggregate(ddb, "aggs", "spend", "c.example", start=0, end=60)
    assert (minute0.count, minute0.sum) == (2, 5.5)
