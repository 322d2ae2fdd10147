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
from streamkit.local.shards import KinesisShardReader

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


# ------------------------------------------------- starting position (spec 4.12)


def _kinesis_local(url: str) -> Any:
    return aws_clients(endpoint_url=url, region="us-east-1", numeric_timestamps=True, **CREDS)(
        "kinesis"
    )


def _stream_records(kinesis: Any, name: str) -> dict[bytes, tuple[str, float]]:
    """Every record of the stream: payload -> (shard, ApproximateArrivalTimestamp)."""
    out: dict[bytes, tuple[str, float]] = {}
    for s in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=name, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            resp = kinesis.get_records(ShardIterator=it)
            for r in resp["Records"]:
                out[bytes(r["Data"])] = (s["ShardId"], float(r["ApproximateArrivalTimestamp"]))
            if not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0:
                break
            it = resp.get("NextShardIterator")
    return out


def test_4_12_latest_after_a_reshard_delivers_only_records_written_after_the_start(
    kinesis_local: str,
) -> None:
    """S4.12.1: a mapping created after a split and a merge, at LATEST, never delivers the old
    records of the closed parents nor of the children: only what is written after
    it started, on the open (merged) shard."""
    kinesis = _kinesis_local(kinesis_local)
    lineage = _reshard_scenario(kinesis, "latest-after")
    delivered: list[tuple[str, bytes]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        delivered.extend(
            (r["eventID"].split(":")[0], base64.b64decode(r["kinesis"]["data"]))
            for r in event["Records"]
        )

    esm = EventSourceMapping(
        handler, EsmSettings("LATEST", batch_size=5), kinesis, "latest-after", clock=VirtualClock()
    )
    first = esm.run()
    assert delivered == []  # a, b and c were all written before the mapping started
    assert first.unresolved == 0
    _put(kinesis, "latest-after", "d")
    esm.run()
    [merged] = [s for s, parents in lineage.items() if len(parents) == 2]
    assert sorted(d for _, d in delivered) == sorted(
        f"d:{key}:{i}".encode() for i in range(3) for key in KEYS
    )
    assert {shard for shard, _ in delivered} == {merged}


def test_4_12_latest_children_of_a_shard_the_mapping_read_start_at_trim_horizon(
    kinesis_local: str,
) -> None:
    """The parent was open when the mapping started (at LATEST): the mapping reads it
    to its end, then its children from TRIM_HORIZON (4.10), so nothing written after
    the start is lost across the split, and per key the order holds."""
    kinesis = _kinesis_local(kinesis_local)
    name = "latest-then-split"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    _wait_active(kinesis, name)
    _put(kinesis, name, "old")
    delivered: list[bytes] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        delivered.extend(base64.b64decode(r["kinesis"]["data"]) for r in event["Records"])

    esm = EventSourceMapping(
        handler, EsmSettings("LATEST", batch_size=4), kinesis, name, clock=VirtualClock()
    )
    esm.run()
    assert delivered == []
    _put(kinesis, name, "a")
    [root] = _open_shards(kinesis, name)
    kinesis.split_shard(
        StreamName=name, ShardToSplit=root["ShardId"], NewStartingHashKey=str(2**127)
    )
    _wait_active(kinesis, name)
    _put(kinesis, name, "b")
    stats = esm.run()
    assert stats.unresolved == 0
    texts = [d.decode() for d in delivered]
    assert sorted(texts) == sorted(f"{p}:{k}:{i}" for p in "ab" for k in KEYS for i in range(3))
    for key in KEYS:
        mine = [t for t in texts if t.split(":")[1] == key]
        assert mine == sorted(mine, key=lambda t: ("ab".index(t[0]), int(t.split(":")[2])))


@pytest.mark.parametrize("cut_in", ["root", "split children", "merged"])
def test_4_12_at_timestamp_never_delivers_older_records_on_any_shard(
    kinesis_local: str, cut_in: str
) -> None:
    """AT_TIMESTAMP on a resharded stream: whether the timestamp falls among the
    records of the closed root, of its closed children or of the open merged shard,
    exactly the records at or after it are delivered, on every shard."""
    kinesis = _kinesis_local(kinesis_local)
    name = "at-ts-" + cut_in.replace(" ", "-")
    lineage = _reshard_scenario(kinesis, name)
    records = _stream_records(kinesis, name)
    assert len(records) == 3 * 3 * len(KEYS)
    root = next(s for s, parents in lineage.items() if not parents)
    merged = next(s for s, parents in lineage.items() if len(parents) == 2)
    phase_shards = {
        "root": {root},
        "split children": set(lineage) - {root, merged},
        "merged": {merged},
    }[cut_in]
    arrivals = sorted({arr for shard, arr in records.values() if shard in phase_shards})
    assert len(arrivals) >= 2, "the puts of one phase all got the same arrival time"
    mid = len(arrivals) // 2
    timestamp = (arrivals[mid - 1] + arrivals[mid]) / 2  # between two records, never on one
    older = {d for d, (_, arr) in records.items() if arr < timestamp}
    assert any(records[d][0] in phase_shards for d in older)  # the cut is inside the phase
    delivered: list[bytes] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        delivered.extend(base64.b64decode(r["kinesis"]["data"]) for r in event["Records"])

    settings = EsmSettings("AT_TIMESTAMP", batch_size=5, starting_position_timestamp=timestamp)
    stats = EventSourceMapping(handler, settings, kinesis, name, clock=VirtualClock()).run()
    assert sorted(delivered) == sorted(set(records) - older)
    assert stats.unresolved == 0


# ------------------------------------------ tumbling windows at shard end (spec 1.2.7)

#: Divisible by 900: every record "arrives" at the start of a 15-minute window.
WINDOW_T0 = 1_700_000_100.0


def test_1_2_7_a_shard_end_closes_its_window_at_once_and_the_children_start(
    kinesis_local: str,
) -> None:
    """When the parent ends, its window gets its final invocation right away (with the
    state of the window and isFinalInvokeForWindow), long before the window's end,
    and the children start at once: nobody waits for the window end plus 2 minutes
    (simulator rule S1.2.10 in docs/simulator.md)."""
    kinesis = _kinesis_local(kinesis_local)
    name = "window-end"
    lineage = _reshard_scenario(kinesis, name)
    root = next(s for s, parents in lineage.items() if not parents)
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        state = dict(event["state"])
        state["n"] = state.get("n", 0) + len(event["Records"])
        return {"state": state}

    settings = EsmSettings("TRIM_HORIZON", batch_size=4, tumbling_window_in_seconds=900)
    reader = KinesisShardReader(kinesis, name, arrival_override=lambda s, q, a: WINDOW_T0)
    esm = EventSourceMapping(
        handler, settings, kinesis, name, clock=VirtualClock(WINDOW_T0), reader=reader
    )
    stats = esm.run()
    assert stats.unresolved == 0
    window_end = WINDOW_T0 + 900
    [root_final] = [e for e in events if e["shardId"] == root and e["isFinalInvokeForWindow"]]
    assert root_final["state"] == {"n": 3 * len(KEYS)}  # the root's "a" records
    assert root_final["window"]["end"] == "2023-11-14T22:30:00Z"
    assert root_final["isWindowTerminatedEarly"] is False and root_final["Records"] == []
    [final_log] = [log for log in stats.log if log.shard_id == root and log.final_window]
    assert final_log.time < window_end
    for child in set(lineage) - {root}:
        first = min(log.time for log in stats.log if log.shard_id == child)
        assert first < window_end, child
