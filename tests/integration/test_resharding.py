"""Resharding through the ESM simulator (spec 4.10, 1.2.7), on moto and kinesis-local.

moto never ends a closed shard and keeps writing to a split parent, so the same
scenario also runs against kinesis-local, which returns ChildShards and a null
iterator at a closed shard's end and routes new records to the children.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from streamkit.local.aws import aws_clients
from streamkit.local.clock import VirtualClock
from streamkit.local.config import EsmSettings
from streamkit.local.esm import EventSourceMapping

pytestmark = pytest.mark.integration

CREDS = {"access_key_id": "testing", "secret_access_key": "testing"}
KEYS = [f"device-{i}" for i in range(6)]


@pytest.fixture(params=["moto", "kinesis-local"])
def endpoint(request: pytest.FixtureRequest) -> str:
    if request.param == "moto":
        aws = request.getfixturevalue("aws")
        return str(aws.endpoint_url)
    return str(request.getfixturevalue("kinesis_local"))


def _wait_active(kinesis: Any, name: str) -> None:
    kinesis.get_waiter("stream_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )


def _put(kinesis: Any, name: str, phase: str) -> None:
    for i in range(3):
        for key in KEYS:
            kinesis.put_record(
                StreamName=name, Data=f"{phase}:{key}:{i}".encode(), PartitionKey=key
            )


def _open_shards(kinesis: Any, name: str) -> list[dict[str, Any]]:
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def _run(kinesis: Any, name: str, settings: EsmSettings) -> tuple[list[tuple[str, bytes]], Any]:
    delivered: list[tuple[str, bytes]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        for rec in event["Records"]:
            shard = rec["eventID"].split(":")[0]
            delivered.append((shard, base64.b64decode(rec["kinesis"]["data"])))

    esm = EventSourceMapping(handler, settings, kinesis, name, clock=VirtualClock())
    stats = esm.run()
    return delivered, stats


def _reshard_scenario(kinesis: Any, name: str) -> dict[str, list[str]]:
    """split, then merge the two children: returns shard -> its parents."""
    kinesis.create_stream(StreamName=name, ShardCount=1)
    _wait_active(kinesis, name)
    _put(kinesis, name, "a")
    [root] = _open_shards(kinesis, name)
    kinesis.split_shard(
        StreamName=name, ShardToSplit=root["ShardId"], NewStartingHashKey=str(2**127)
    )
    _wait_active(kinesis, name)
    _put(kinesis, name, "b")
    left, right = sorted(
        _open_shards(kinesis, name), key=lambda s: int(s["HashKeyRange"]["StartingHashKey"])
    )
    kinesis.merge_shards(
        StreamName=name, ShardToMerge=left["ShardId"], AdjacentShardToMerge=right["ShardId"]
    )
    _wait_active(kinesis, name)
    _put(kinesis, name, "c")
    lineage: dict[str, list[str]] = {}
    for s in kinesis.list_shards(StreamName=name)["Shards"]:
        lineage[s["ShardId"]] = [
            p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p
        ]
    return lineage


@pytest.mark.parametrize("batch_size", [1, 7, 100])
def test_4_10_children_start_only_after_their_parents_finish(
    endpoint: str, batch_size: int
) -> None:
    kinesis = aws_clients(
        endpoint_url=endpoint, region="us-east-1", numeric_timestamps=True, **CREDS
    )("kinesis")
    name = f"reshard-{batch_size}"
    lineage = _reshard_scenario(kinesis, name)
    settings = EsmSettings("TRIM_HORIZON", batch_size=batch_size)
    delivered, stats = _run(kinesis, name, settings)

    # every record exactly once (all invocations succeed)
    payloads = [d for _, d in delivered]
    assert len(payloads) == len(set(payloads)) == 3 * 3 * len(KEYS)
    assert stats.unresolved == 0

    # a child's first record comes after every record of each of its parents
    position = {}
    for i, (shard, _) in enumerate(delivered):
        position.setdefault(shard, []).append(i)
    for child, parents in lineage.items():
        if child not in position:
            continue
        for parent in parents:
            if parent in position:
                assert max(position[parent]) < min(position[child]), (parent, child)

    # per partition key, records arrive in the order they were written: a < b < c
    for key in KEYS:
        mine = [p.decode() for p in payloads if p.decode().split(":")[1] == key]
        assert mine == sorted(mine, key=lambda s: ("abc".index(s[0]), int(s.split(":")[2])))


def test_4_10_children_get_new_records_on_kinesis_local(kinesis_local: str) -> None:
    """The faithful emulator routes post-split records to the children, so the
    lineage rule above is exercised, not vacuous."""
    kinesis = aws_clients(
        endpoint_url=kinesis_local, region="us-east-1", numeric_timestamps=True, **CREDS
    )("kinesis")
    lineage = _reshard_scenario(kinesis, "lineage")
    delivered, _ = _run(kinesis, "lineage", EsmSettings("TRIM_HORIZON", batch_size=5))
    shards_used = {shard for shard, _ in delivered}
    assert len(shards_used) >= 3  # root, a split child, and the merged shard
    merged = [s for s, parents in lineage.items() if len(parents) == 2]
    assert merged and merged[0] in shards_used


def test_1_2_7_tumbling_window_closes_when_the_shard_ends(kinesis_local: str) -> None:
    kinesis = aws_clients(
        endpoint_url=kinesis_local, region="us-east-1", numeric_timestamps=True, **CREDS
    )("kinesis")
    _reshard_scenario(kinesis, "windows")
    finals: list[str] = []
    states: dict[str, int] = {}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        shard = event["shardId"]
        state = dict(event["state"])
        state["n"] = state.get("n", 0) + len(event["Records"])
        if event["isFinalInvokeForWindow"]:
            finals.append(shard)
            states[shard] = states.get(shard, 0) + state["n"]
        return {"state": state, "batchItemFailures": []}

    settings = EsmSettings(
        "TRIM_HORIZON",
        batch_size=4,
        tumbling_window_in_seconds=900,
        function_response_types=("ReportBatchItemFailures",),
    )
    esm = EventSourceMapping(handler, settings, kinesis, "windows", clock=VirtualClock())
    stats = esm.run()
    assert stats.unresolved == 0
    # every shard that had records closed its window with a final invoke carrying
    # the count of that shard's records (fresh state per child shard)
    assert sum(states.values()) == 3 * 3 * len(KEYS)
    assert set(finals) == set(states)
