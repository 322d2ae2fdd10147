"""A multi-field window's parts keep the ``max_fields`` they were created with.

Writers with different ``max_fields`` (a redeploy that raises it while an intent is
pending, or two consumers writing one aggregate) used to place a field differently:
the larger one added a field to part 0 that part 1 held, and the retry of the pending
intent then merged its field into part 0 again although part 1 already counted it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from streamkit.aggregate import EMPTY, Stats, fields_to_item, item_entries, merge, window_of
from streamkit.plan import aggregate_delta
from streamkit.sinks.dynamodb import AggregateTable, LayoutMismatch, MarkerAhead
from streamkit.testing.memory import MemoryAWS
from streamkit.writes import AggregateWrite

_DE = TypeDeserializer()
Clients = Callable[[str], Any]


def _delta(max_fields: int, names: list[str], seq: int) -> AggregateWrite:
    window = window_of(61, 60)
    fields = {n: Stats.of(1, event_time=61.0, position=(seq, 0)) for n in names}
    base = aggregate_delta("m", None, "d1", window, EMPTY)
    return AggregateWrite(
        base.pk,
        base.sk,
        {},
        aggregate="m",
        key="d1",
        window_start=base.window_start,
        window_end=base.window_end,
        fields=fields_to_item(fields),
        max_fields=max_fields,
    )


def _items(clients: Clients) -> list[dict[str, Any]]:
    page = clients("dynamodb").scan(TableName="aggs", ConsistentRead=True)
    return [{k: _DE.deserialize(v) for k, v in raw.items()} for raw in page["Items"]]


def _counts(clients: Clients) -> dict[str | None, int]:
    out: dict[str | None, Stats] = {}
    for item in _items(clients):
        for name, stats in item_entries(item).items():
            out[name] = merge(out[name], stats) if name in out else stats
    return {n: s.count for n, s in out.items()}


def test_a_retry_after_a_writer_with_more_room_counts_its_field_once() -> None:
    mem = MemoryAWS()
    mem.dynamodb.create_table("aggs", ("pk", "sk"))
    sink = AggregateTable("aggs", mem.clients)
    sink.apply("c#s0", 1, [_delta(2, ["a", "b"], 1)], intent_id="seed")  # part 0 full
    pending = [_delta(2, ["f"], 2)]
    assert sink.apply("c#s1", 1, pending, intent_id="A") == 1  # f -> part 1
    # the invocation dies before its commit; a writer with max_fields=3 adds f:
    sink.apply("c#s2", 1, [_delta(3, ["f"], 3)], intent_id="B")
    sink.apply("c#s1", 1, pending, intent_id="A")  # the retry
    assert _counts(mem.clients) == {"a": 1, "b": 1, "f": 2}
    parts = {item["sk"][-2:]: sorted(item["fields"]) for item in _items(mem.clients)}
    assert parts == {"0Z": ["a", "b"], "#1": ["f"]}  # part 0 kept its 2 fields
    assert {int(item["max_fields"]) for item in _items(mem.clients)} == {2}


def _sink() -> tuple[AggregateTable, Clients]:
    mem = MemoryAWS()
    mem.dynamodb.create_table("aggs", ("pk", "sk"))
    return AggregateTable("aggs", mem.clients), mem.clients


def test_a_marker_ahead_in_a_later_part_stops_the_apply_before_any_write() -> None:
    """A reset ledger (generations restarted) whose old marker sits in part 1 only:
    the apply raises MarkerAhead with nothing written, as for a plain item, so
    neither way out of LedgerReset counts part 0's field twice."""
    sink, clients = _sink()
    sink.apply("c#K", 1, [_delta(2, ["a", "x"], 1)], intent_id="k1")  # part 0 full
    sink.apply("c#H", 50, [_delta(2, ["y", "z"], 2)], intent_id="h50")  # part 1
    before = _items(clients)
    with pytest.raises(MarkerAhead):
        sink.apply("c#H", 1, [_delta(2, ["a", "z"], 3)], intent_id="h1-new")
    assert _items(clients) == before


@pytest.mark.parametrize(
    "first_fields", [True, False], ids=["fields-then-plain", "plain-then-fields"]
)
def test_a_layout_change_under_the_same_name_is_refused_not_overwritten(
    first_fields: bool,
) -> None:
    sink, clients = _sink()
    window = window_of(61, 60)
    plain = aggregate_delta("m", None, "d1", window, Stats.of(5, event_time=61.0, position=(9, 0)))
    fields = _delta(64, ["t"], 1)
    sink.apply("c#s0", 1, [fields if first_fields else plain], intent_id="one")
    before = _items(clients)
    with pytest.raises(LayoutMismatch, match="Give the changed aggregate a new name"):
        sink.apply("c#s0", 2, [plain if first_fields else fields], intent_id="two")
    assert _items(clients) == before


def _window_delta(names: list[str], seq: int) -> AggregateWrite:
    key_delta = _delta(64, names, seq)
    return dataclasses.replace(key_delta, pk="m", key="*")


def test_a_window_part_created_with_more_than_64_keys_takes_no_new_key() -> None:
    """A window item an earlier version created with room for 256 keys (it allowed
    that without distinct=) would outgrow 400 KB once distinct= adds a sketch to each
    key: the sink treats it as holding at most 64, so a new key starts the next part
    while the keys it holds keep merging into it."""
    sink, clients = _sink()
    old = _window_delta([f"k{i:02d}" for i in range(70)], 1)
    item = {**old.attributes(0), "max_fields": 256, "fields": old.fields, "version": 1}
    serializer = TypeSerializer()
    clients("dynamodb").put_item(
        TableName="aggs", Item={k: serializer.serialize(v) for k, v in item.items()}
    )
    assert sink.apply("c#s0", 1, [_window_delta(["k00", "new"], 2)], intent_id="A") == 2
    parts = {i["sk"][-2:]: (len(i["fields"]), int(i["max_fields"])) for i in _items(clients)}
    assert parts == {"0Z": (70, 64), "#1": (1, 64)}
    assert _counts(clients)["k00"] == 2 and _counts(clients)["new"] == 1
