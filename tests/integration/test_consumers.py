"""The two consumers, through replays of captures under tests/data/captures (issue 5).

Each test provisions the consumers' real resources on the embedded endpoint, gives
the handler the environment Terraform would, and replays a capture through the
ESM simulator with the consumer's settings from infra/consumers.json.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamkit.aggregate import fields_from_item, stats_from_item
from streamkit.local.aws import LocalAWS, provision
from streamkit.local.config import load_consumers
from streamkit.local.dlq.store import DeadLetterStore
from streamkit.local.faults import FaultPlan
from streamkit.query import key_items
from streamkit.sinks.s3 import read_archive

pytestmark = pytest.mark.integration
DATA = Path(__file__).parents[1] / "data" / "captures"
W = "2025-11-28T10:00:00Z"  # the minute of the edge-case captures


@pytest.fixture
def consumer(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    consumers = load_consumers()
    provisioned = provision(consumers, aws.clients)
    loaded: list[Any] = []

    def setup(name: str) -> Any:
        c = consumers[name]
        assert c.resources is not None
        queue = None
        if c.resources.alerts_queue:
            queue = provisioned.resource("sqs", c.resources.alerts_queue).target
        for k, v in {**c.function.environment, **c.resources.environment(name, queue)}.items():
            monkeypatch.setenv(k, v)
        module = importlib.import_module(c.handler.rpartition(".")[0])
        module.reset()
        loaded.append(module)
        return module

    yield setup
    for module in loaded:
        module.reset()


def items(aws: LocalAWS, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    raw = aws.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    out = {}
    for r in raw:
        item = {k: de.deserialize(v) for k, v in r.items()}
        out[(item["pk"], item["sk"])] = item
    return out


def dead_letters(aws: LocalAWS, bucket: str, consumer: str) -> dict[str, str]:
    store = DeadLetterStore(bucket, aws.clients)
    return {e.doc["sequenceNumber"]: e.reason for e in store.entries(consumer)}


def alerts(aws: LocalAWS) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="iot-alerts.fifo")["QueueUrl"]
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(orjson.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.mark.parametrize(
    "faults", [None, FaultPlan(seed=3, crash_after_rate=0.3, partial_rate=0.2)]
)
def test_clickstream_edge_cases(
    aws: LocalAWS, consumer: Any, replay: Any, faults: FaultPlan | None
) -> None:
    module = consumer("clickstream")
    report = replay(
        DATA / "clickstream-edge-cases.jsonl", module.handler, consumer="clickstream", faults=faults
    )
    assert report.ok and report.stats.records_discarded == 0
    got = items(aws, "clickstream-aggregates")
    # /cart?x=1 and the Segment page on /cart are the same page; the streamkit event
    # without a timestamp counts at its arrival time (10:00:04, same minute)
    assert got[("page_views#shop.example.com/cart", W)]["count"] == 2
    assert got[("page_views#shop.example.com/", W)]["count"] == 1
    # event types: one item per minute (layout="window"), each type a field of it
    events = fields_from_item(got[("events", W)])
    assert {name: s.count for name, s in events.items()} == {"page_view": 3, "Added to cart": 1}
    assert stats_from_item(got[("page_views#shop.example.com/cart", W)]).distinct.estimate() == 2
    reasons = dead_letters(aws, "streamkit-clickstream-dlq", "clickstream")
    assert sorted(reasons.values()) == ["bad_json", "late", "schema", "unknown_format"]
    archived = read_archive(aws.client("s3"), "streamkit-clickstream-archive", "clickstream")
    assert sorted(a["event_id"] for a in archived) == ["e1", "e3", "m-2", "m-4"]
    assert all(a["raw"] for a in archived)


@pytest.mark.parametrize(
    "faults", [None, FaultPlan(seed=5, crash_after_rate=0.4, timeout_rate=0.1)]
)
def test_iot_edge_cases(
    aws: LocalAWS, consumer: Any, replay: Any, faults: FaultPlan | None
) -> None:
    module = consumer("iot")
    report = replay(DATA / "iot-edge-cases.jsonl", module.handler, consumer="iot", faults=faults)
    assert report.ok and report.stats.records_discarded == 0
    got = items(aws, "iot-aggregates")
    # One item per device and minute, every metric a field of it.
    temp = fields_from_item(got[("metrics#dev-1", W)])["temperature"]
    assert (temp.count, temp.min, temp.max) == (3, Decimal("21"), Decimal("22"))
    assert temp.last is not None and temp.last.value == Decimal("22")  # latest by event time
    state = got[("state#dev-1", "all")]
    last = orjson.loads(state["last_value"])
    assert last["state"] == {"door.open": True}
    # id from the partition key
    assert fields_from_item(got[("metrics#dev-2", W)])["engine.temp"].count == 1
    reasons = dead_letters(aws, "streamkit-iot-dlq", "iot")
    assert sorted(reasons.values()) == ["bad_value", "late", "schema"]
    sent = alerts(aws)  # exactly once, also when the batch was retried
    assert [(a["alert"], a["device_id"], a["value"]) for a in sent] == [
        ("overheat", "dev-2", "95.5")
    ]


@pytest.mark.parametrize("name", ["clickstream", "iot"])
def test_generated_traffic_is_fully_accounted(
    aws: LocalAWS, consumer: Any, replay: Any, name: str
) -> None:
    module = consumer(name)
    report = replay(
        DATA / f"{name}-generated.jsonl.gz",
        module.handler,
        consumer=name,
        faults=FaultPlan(seed=1, crash_after_rate=0.2),
    )
    assert report.ok
    c = load_consumers()[name]
    assert c.resources is not None
    dead = dead_letters(aws, c.resources.dead_letter_bucket, name)
    got = items(aws, c.resources.aggregate_table or "")
    counted_by = {"clickstream": "events", "iot": "state"}[name]
    # clickstream's events are one item per minute (layout="window"): read per key
    counted = sum(
        int(one["count"])
        for (aggregate, _), group in key_items(got.values()).items()
        if aggregate == counted_by
        for one in group
    )
    assert counted + len(dead) == report.records_loaded
    assert len(dead) > 0  # the generators break some records on purpose
