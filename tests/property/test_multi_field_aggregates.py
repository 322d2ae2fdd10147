"""Multi-field aggregates (``Aggregate(fields=...)``): one item per key and window.

The invariant: storing a device's metrics as fields of one item per (device, minute),
with overflow items past ``max_fields``, counts exactly what one item per (device,
metric, minute) counts, whatever the batching, the order of batches, re-applies of a
batch and crashes between an item's parts. The reference is the same records planned
with ``pairs=`` (the separate-items layout), applied to a second table.

Runs on the in-memory stores (hypothesis; the seed and example counts are printed);
``test_fields_on_moto_match_memory`` runs one scenario on both the in-memory store and
the embedded moto endpoint (the store contract for nested maps and overflow parts).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from streamkit.aggregate import Stats, fields_from_item, item_entries, merge
from streamkit.ledger import LedgerState
from streamkit.local.aws import DynamoDbTable, LocalAWS
from streamkit.local.run.reference import comparable
from streamkit.pipeline import Aggregate, Pipeline
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

METRICS = ["battery", "engine.temp", "humidity", "rpm", "temperature", "v"]


def _pipeline(*, fields: bool, max_fields: int = 64, table: str = "aggs") -> Pipeline:
    if fields:
        agg = Aggregate(
            "metrics",
            key=lambda d: d["device"],
            fields=lambda d: sorted(d["m"].items()),
            max_fields=max_fields,
        )
    else:
        agg = Aggregate(
            "metrics",
            pairs=lambda d: [(f"{d['device']}/{k}", v) for k, v in sorted(d["m"].items())],
        )
    return Pipeline(
        "c",
        event_time=lambda doc, record: doc["ts"],
        aggregates=[agg],
        table=table,
        ledger_table="ledger",
        clients=MemoryAWS().clients,
    )


def _raw(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records(docs, "device")


def _by_metric(items: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """(device, window, metric) -> comparable stats, from either layout, parts merged."""
    out: dict[tuple[str, str, str], Stats] = {}
    for item in items:
        window = str(item["sk"]).split("#")[0]
        for name, stats in item_entries(item).items():
            if name is None:  # the separate-items layout: key "<device>/<metric>"
                device, _, metric = str(item["key"]).partition("/")
            else:
                device, metric = str(item["key"]), name
            k = (device, window, metric)
            out[k] = merge(out[k], stats) if k in out else stats
    return {k: comparable(v) for k, v in out.items()}


reading = st.fixed_dictionaries(
    {
        "device": st.sampled_from(["d1", "d2"]),
        "ts": st.integers(0, 179),
        "m": st.dictionaries(
            st.sampled_from(METRICS),
            st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
            max_size=len(METRICS),
        ),
    }
)


def _doc(r: dict[str, Any]) -> dict[str, Any]:
    return {"device": r["device"], "ts": r["ts"], "m": {k: str(v) for k, v in r["m"].items()}}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
@given(
    readings=st.lists(reading, min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 29), max_size=4),
    max_fields=st.integers(1, 4),
    crash_after=st.one_of(st.none(), st.integers(0, 6)),
    data=st.data(),
)
def test_fields_count_what_separate_items_count(
    readings: list[dict[str, Any]],
    cuts: list[int],
    max_fields: int,
    crash_after: int | None,
    data: st.DataObject,
) -> None:
    docs = [_doc(r) for r in readings]
    bounds = sorted({0, len(docs), *(c for c in cuts if c < len(docs))})
    batches = [docs[a:b] for a, b in itertools.pairwise(bounds)]
    order = data.draw(st.permutations(range(len(batches))), label="apply order")
    note(f"{len(docs)} records, {len(batches)} batches, max_fields={max_fields}")

    fields_pipeline, pairs_pipeline = (
        _pipeline(fields=True, max_fields=max_fields),
        _pipeline(fields=False),
    )
    clients = memory_table()
    reference = memory_table()
    for generation, i in enumerate(order, start=1):
        raw = _raw(batches[i])
        writes = planned_writes(fields_pipeline, raw)
        assert all(w.fields is not None and not w.stats for w in writes)
        ledger_id = f"c#{SHARD}-{i}"  # one lane per batch: any apply order is legal
        apply_batch(clients, ledger_id, writes, f"i{i}", crash_after if generation == 1 else None)
        AggregateTable("aggs", reference).apply(
            ledger_id, 1, planned_writes(pairs_pipeline, raw), intent_id=f"i{i}"
        )

    items = scan_items(clients, "aggs")
    assert _by_metric(items) == _by_metric(scan_items(reference, "aggs"))
    assert_parts_placed(items, max_fields)


def test_one_write_per_device_and_minute() -> None:
    """Five metrics of one device in one minute: one item, not five."""
    docs = [{"device": "d1", "ts": i, "m": {m: str(i) for m in METRICS[:5]}} for i in range(10)]
    writes = planned_writes(_pipeline(fields=True), _raw(docs))
    assert len(writes) == 1 and writes[0].pk == "metrics#d1"
    assert sorted(writes[0].fields or {}) == sorted(METRICS[:5])
    assert len(planned_writes(_pipeline(fields=False), _raw(docs))) == 5


def test_a_record_with_a_bad_field_name_is_dead_lettered() -> None:
    pipeline = _pipeline(fields=True)
    raw = _raw([{"device": "d1", "ts": 1, "m": {"x" * 300: "1", "ok": "2"}}])
    plan = pipeline.plan(raw, LedgerState.new_shard())
    assert plan.dead_lettered == 1 and plan.succeeded == 0
    reasons = [d.reason for d in plan.dead_letters]
    assert reasons == ["too_large"], reasons


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": lambda d: 1}, "fields= goes without value"),
        ({"distinct": lambda d: "u"}, "fields= goes without distinct"),
        ({"max_fields": 0}, "max_fields must be an integer from 1 to 256, got 0"),
        ({"max_fields": 257}, "max_fields must be an integer from 1 to 256, got 257"),
    ],
)
def test_bad_multi_field_settings_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    agg = Aggregate("metrics", key=lambda d: "k", fields=lambda d: [], **kwargs)
    with pytest.raises(ValueError, match=message):
        Pipeline("c", aggregates=[agg], table="aggs", ledger_table="ledger")


def _contract_scenario(clients: Clients) -> list[Any]:
    table = AggregateTable("aggs", clients, clock=lambda: 1_700_000_000.0)
    pipeline = _pipeline(fields=True, max_fields=2)
    first = [{"device": "d1", "ts": 5, "m": {"a": "1.5", "b": "2", "c": "3"}}]
    second = [{"device": "d1", "ts": 7, "m": {"c": "-4", "d": "10", "e": "1E+3"}}]
    written = [
        table.apply(f"c#{SHARD}", 1, planned_writes(pipeline, _raw(first)), intent_id="i1"),
        table.apply(f"c#{SHARD}", 2, planned_writes(pipeline, _raw(second)), intent_id="i2"),
        table.apply(f"c#{SHARD}", 2, planned_writes(pipeline, _raw(second)), intent_id="i2"),
    ]
    items = sorted(scan_items(clients, "aggs"), key=lambda i: i["sk"])
    assert [i["sk"] for i in items] == [
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z#1",
        "1970-01-01T00:00:00Z#2",
    ]
    # second: part 0 is full without c, d, e (no write); c merges into part 1, d joins
    # it, e starts part 2; the re-apply writes nothing
    assert written == [2, 2, 0]
    got = {n: s for i in items for n, s in fields_from_item(i).items()}
    assert got["c"].count == 2 and got["c"].sum == Decimal("-1")
    return [
        (i["sk"], sorted(i["fields"]), {n: comparable(s) for n, s in got.items()}) for i in items
    ]


def test_fields_on_moto_match_memory(local_aws: LocalAWS) -> None:
    local_aws.reset()
    DynamoDbTable.aggregates("aggs").create(local_aws.clients)
    assert _contract_scenario(memory_table()) == _contract_scenario(local_aws.clients)
