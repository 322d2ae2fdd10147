"""`streamkit intents show` of a pending intent with a multi-field aggregate delta.

The text form printed each delta's top-level ``count``; a multi-field delta has none
(its counts are per field), so showing such an intent raised KeyError.
"""

from __future__ import annotations

import dataclasses
import io

import orjson

from streamkit.aggregate import EMPTY, Stats, fields_to_item, window_of
from streamkit.ledger import Intent, LedgerState
from streamkit.local.intents.output import print_show
from streamkit.local.intents.store import PendingIntent
from streamkit.plan import aggregate_delta

SHARD = "shardId-000000000000"


def _pending() -> PendingIntent:
    window = window_of(61, 60)
    plain = aggregate_delta(
        "other", None, "k", window, Stats.of(3, event_time=61.0, position=(5, 0))
    )
    fields = {n: Stats.of(v, event_time=61.0, position=(5, 0)) for n, v in (("b", 2), ("a", 1))}
    multi = dataclasses.replace(
        aggregate_delta("metrics", None, "d1", window, EMPTY),
        stats={},
        fields=fields_to_item(fields),
        max_fields=2,
    )
    writes = [plain, multi]
    intent = Intent(
        consumer="iot", shard_id=SHARD, generation=3, start=(5, 0), end=(5, 0),
        watermark=61.0, aggregates=writes, objects=[], messages=[], record_count=1,
        intent_id="i-1", table="aggs", stream="s",
    )  # fmt: skip
    state = dataclasses.replace(LedgerState.new_shard(), intent=intent)
    return PendingIntent(f"iot#{SHARD}", SHARD, None, "s", state, 100, "inline")


def test_the_text_form_shows_each_field_s_count() -> None:
    out = io.StringIO()
    print_show(_pending(), out, as_json=False)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    lines = [line for line in lines if line.startswith("aggregate ")]
    assert lines == [
        "aggregate other#k / 1970-01-01T00:01:00Z  count 1",
        "aggregate metrics#d1 / 1970-01-01T00:01:00Z  fields: a 1, b 1",
    ]


def test_the_json_form_has_the_fields_counts() -> None:
    out = io.StringIO()
    print_show(_pending(), out, as_json=True)
    doc = orjson.loads(out.getvalue())
    # counts are Decimals, printed as their text (like a single-value delta's count)
    assert [a.get("fields") for a in doc["aggregates"]] == [None, {"a": "1", "b": "1"}]
    assert doc["aggregates"][0]["count"] == "1"
