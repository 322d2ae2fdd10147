"""`streamkit run`: what the mappings read (issue 12): enhanced fan-out through a
registered stream consumer with its own read budget (spec 0.5, 4.2, 7.2, 7.6), and
`--replay` showing the handler each record's captured identity (spec 1.1.2)."""

from __future__ import annotations

import base64
import importlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.capture import CapturedRecord, ShardCapture, load_records, write_capture
from streamkit.local.esm.limits import GET_RECORDS_PER_SECOND, READ_BYTES_PER_SECOND
from streamkit.local.run.engine import run_main
from streamkit.local.run.fan_out import register_stream_consumer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]

#: The real clickstream handler behind one that remembers every record it was given.
RECORDING_HANDLER = """
from handlers import clickstream
from handlers.clickstream import build_pipeline, pipeline, reset

SEEN = []


def handler(event, context):
    SEEN.extend(event["Records"])
    return clickstream.handler(event, context)
"""


@pytest.fixture
def recording_module(tmp_path: Path) -> Iterator[str]:
    """A module (on sys.path) wrapping the clickstream handler; its name."""
    name = f"run_recording_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(RECORDING_HANDLER)
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def clickstream_config(tmp_path: Path, *, handler: str | None = None, **stream: Any) -> Path:
    """infra/consumers.json's clickstream consumer alone, with ``stream`` fields set."""
    config = json.loads((ROOT / "infra" / "consumers.json").read_text())
    consumer = config["consumers"]["clickstream"]
    consumer["stream"].update(stream)
    if handler is not None:
        consumer["handler"] = handler
    path = tmp_path / "consumers.json"
    path.write_text(json.dumps({"consumers": {"clickstream": consumer}}))
    return path


def run_json(aws: Any, config: Path, **options: Any) -> tuple[int, dict[str, Any]]:
    """``streamkit run --json`` on the test's endpoint, handlers in this process."""
    out = io.StringIO()
    code = run_main(
        endpoint_url=aws.endpoint_url,
        config_path=str(config),
        as_json=True,
        out=out,
        err=io.StringIO(),
        execution="inline",
        **options,
    )
    return code, json.loads(out.getvalue())


def stream_arn(aws: Any, name: str) -> str:
    summary = aws.client("kinesis").describe_stream_summary(StreamName=name)
    return str(summary["StreamDescriptionSummary"]["StreamARN"])


# ------------------------------------------------------------ enhanced fan-out


def test_4_2_an_efo_consumer_reads_through_its_registered_consumer_with_its_own_budget(
    aws: Any, tmp_path: Path
) -> None:
    """Spec 0.5/4.2/7.6: `stream.enhanced_fan_out` registers a stream consumer named like
    the function; it is the mapping's source, and under --read-limits the mapping has a
    dedicated 2 MB/s per shard (no shared call rate: records are pushed)."""
    config = clickstream_config(tmp_path, enhanced_fan_out=True)
    code, summary = run_json(
        aws, config, duration=3.0, rates={"clickstream": 20.0}, read_limits=True
    )
    c = summary["consumers"]["clickstream"]
    assert code == 0 and summary["ok"] is True
    [registered] = aws.client("kinesis").list_stream_consumers(
        StreamARN=stream_arn(aws, "clickstream")
    )["Consumers"]
    assert registered["ConsumerName"] == "clickstream"
    assert c["enhanced_fan_out"] is True
    assert c["event_source_arn"] == registered["ConsumerARN"]
    reads = c["reads"]
    assert reads["budget"] == "own"
    assert reads["bytes_per_second"] == READ_BYTES_PER_SECOND
    assert reads["calls_per_second"] is None
    assert reads["get_records_calls"] > 0
    assert c["aggregates_match_reference"] is True


def test_4_1_a_standard_consumer_reads_the_stream_within_its_shared_limits(
    aws: Any, tmp_path: Path
) -> None:
    """Spec 4.1/7.2: without enhanced fan-out nothing is registered, the stream is the
    source, and the budget is the stream's per-shard limits, shared."""
    config = clickstream_config(tmp_path)
    code, summary = run_json(
        aws, config, duration=3.0, rates={"clickstream": 20.0}, read_limits=True
    )
    c = summary["consumers"]["clickstream"]
    assert code == 0 and summary["ok"] is True
    arn = stream_arn(aws, "clickstream")
    assert aws.client("kinesis").list_stream_consumers(StreamARN=arn)["Consumers"] == []
    assert (c["enhanced_fan_out"], c["event_source_arn"]) == (False, arn)
    assert c["reads"]["budget"] == "shared"
    assert c["reads"]["calls_per_second"] == GET_RECORDS_PER_SECOND
    assert c["reads"]["bytes_per_second"] == READ_BYTES_PER_SECOND


def test_registering_the_stream_consumer_again_finds_the_first(
    aws: Any, kinesis_stream: Any
) -> None:
    """A second run on the same endpoint reuses the consumer the first registered."""
    arn = kinesis_stream("clicks")
    first = register_stream_consumer(aws.client("kinesis"), "clicks", "clickstream")
    assert register_stream_consumer(aws.client("kinesis"), "clicks", "clickstream") == first
    assert first.startswith(f"{arn}/consumer/clickstream")
    consumers = aws.client("kinesis").list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [c["ConsumerARN"] for c in consumers] == [first]


def test_the_text_summary_names_the_source_and_the_budget(aws: Any, tmp_path: Path) -> None:
    config = clickstream_config(tmp_path, enhanced_fan_out=True)
    out = io.StringIO()
    code = run_main(
        endpoint_url=aws.endpoint_url,
        config_path=str(config),
        duration=2.0,
        rates={"clickstream": 10.0},
        out=out,
        err=io.StringIO(),
        execution="inline",
        read_limits=True,
    )
    assert code == 0
    [line] = [x for x in out.getvalue().splitlines() if x.strip().startswith("reads:")]
    assert "enhanced fan-out from arn:aws:kinesis:" in line and "/consumer/clickstream" in line
    assert "own 2 MiB/s per shard" in line


# ------------------------------------------------------ --replay: captured identities

#: Production-like 56-digit sequence numbers, increasing along each captured shard.
SHARD_SEQS = {
    "shardId-000000000004": [
        f"4959033827149025660855969253836157109592157598913{n:07d}" for n in (1, 5, 9, 40)
    ],
    "shardId-000000000007": [
        f"4959033827151255735375822316150310686963012439460{n:07d}" for n in (2, 3, 77)
    ],
}


def _click(i: int, *, ts: bool) -> bytes:
    doc: dict[str, Any] = {
        "schema": "streamkit.click/1",
        "event_id": f"e{i}",
        "type": "page",
        "user_id": f"user-{i % 3}",
        "site": "shop.example.com",
        "page": f"/p/{i % 2}",
    }
    if ts:
        doc["ts"] = 1795837500000 + i * 1000
    return json.dumps(doc).encode()


def production_capture(tmp_path: Path) -> Path:
    """Two captured shards; some clicks without a timestamp, counted at their arrival."""
    shards = []
    i = 0
    for shard_id, seqs in SHARD_SEQS.items():
        records = []
        for seq in seqs:
            records.append(
                CapturedRecord(
                    seq,
                    _click(i, ts=i % 2 == 0),
                    f"pk-{i}",
                    1795837500.25 + i * 7.5,
                    explicit_hash_key=str(2**120 + i),
                    shard_id=shard_id,
                )
            )
            i += 1
        arn = "arn:aws:kinesis:us-east-1:111122223333:stream/prod-clicks"
        shards.append(ShardCapture(arn, shard_id, "us-east-1", None, records))
    path = tmp_path / "incident.jsonl"
    write_capture(path, shards)
    return path


def test_1_1_2_run_replay_shows_the_handler_the_captured_identities(
    aws: Any, tmp_path: Path, recording_module: str
) -> None:
    """Issue 12: `run --replay` gives the handler each record's captured sequence number,
    partition key and arrival time (not the emulator's), each captured shard on its own
    shard in its captured order; the exactly-once reference compares by the same
    identities, so the run checks out."""
    capture = production_capture(tmp_path)
    config = clickstream_config(tmp_path, handler=f"{recording_module}.handler")
    code, summary = run_json(
        aws, config, replay_files=[str(capture)], replay_consumer="clickstream"
    )
    seen = importlib.import_module(recording_module).SEEN
    first: dict[str, dict[str, Any]] = {}
    for r in seen:
        first.setdefault(r["kinesis"]["sequenceNumber"], r)
    captured = {r.sequence_number: r for s in load_records(capture) for r in s.records}
    assert set(first) == set(captured)
    local_shards = {}
    for seq, rec in first.items():
        want = captured[seq]
        assert rec["kinesis"]["partitionKey"] == want.partition_key
        assert rec["kinesis"]["approximateArrivalTimestamp"] == want.arrival
        assert base64.b64decode(rec["kinesis"]["data"]) == want.data
        assert "explicitHashKey" not in rec["kinesis"]  # Lambda's event has none (1.1.2)
        local_shard, _, event_seq = rec["eventID"].rpartition(":")
        assert event_seq == seq
        local_shards.setdefault(want.shard_id, set()).add(local_shard)
    # One local shard per captured shard, and each captured shard's records in order.
    assert all(len(v) == 1 for v in local_shards.values())
    assert len({next(iter(v)) for v in local_shards.values()}) == len(SHARD_SEQS)
    for seqs in SHARD_SEQS.values():
        order = [s for s in first if s in seqs]
        assert order == seqs
    c = summary["consumers"]["clickstream"]
    assert c["records_in"] == len(captured)
    assert c["aggregates_match_reference"] is True
    assert code == 0 and summary["ok"] is True


def test_run_replay_of_more_shards_than_the_stream_has_is_a_clear_error(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A local shard must not mix two captured shards (their sequence numbers would not
    increase along it): more captured shards than the stream's is exit 2, named."""
    arn = "arn:aws:kinesis:us-east-1:111122223333:stream/prod-clicks"
    shards = [
        ShardCapture(
            arn,
            f"shardId-00000000000{n}",
            "us-east-1",
            None,
            [CapturedRecord(str(100 + n), _click(n, ts=True), "pk", 1795837500.0 + n)],
        )
        for n in range(3)
    ]
    path = tmp_path / "three.jsonl"
    write_capture(path, shards)
    from streamkit.local.cli import main

    config = clickstream_config(tmp_path)  # 2 shards
    code = main(
        [
            *("run", "--replay", str(path), "--consumer", "clickstream"),
            *("--config", str(config), "--endpoint-url", aws.endpoint_url),
            *("--execution", "inline", "--json"),
        ]
    )
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert "the captures hold 3 shards" in out.err and "stream.shard_count" in out.err


def iot_capture(tmp_path: Path) -> tuple[Path, set[str]]:
    """Two captured shards of device readings, production sequence numbers."""
    shards, seqs = [], set()
    for s, (shard_id, base) in enumerate(SHARD_SEQS.items()):
        records = []
        for i, seq in enumerate(base):
            reading = {"deviceId": f"dev-{s}", "ts": 1795837500 + i, "temperature": 20.0 + i}
            data = json.dumps(reading).encode()
            records.append(
                CapturedRecord(seq, data, f"dev-{s}", 1795837500.5 + i, shard_id=shard_id)
            )
            seqs.add(seq)
        arn = "arn:aws:kinesis:us-east-1:111122223333:stream/prod-iot"
        shards.append(ShardCapture(arn, shard_id, "us-east-1", None, records))
    path = tmp_path / "iot-incident.jsonl"
    write_capture(path, shards)
    return path, seqs


def test_run_replay_writes_and_checks_by_the_captured_sequence_numbers(
    aws: Any, tmp_path: Path
) -> None:
    """The IoT consumer's `last` reading keeps the position (sequence number) it came
    from: written with the captured numbers, and the exactly-once reference, built from
    the same identities, equals what was written."""
    capture, seqs = iot_capture(tmp_path)
    config = json.loads((ROOT / "infra" / "consumers.json").read_text())
    path = tmp_path / "iot.json"
    path.write_text(json.dumps({"consumers": {"iot": config["consumers"]["iot"]}}))
    code, summary = run_json(aws, path, replay_files=[str(capture)], replay_consumer="iot")
    items = aws.client("dynamodb").scan(TableName="iot-aggregates", ConsistentRead=True)["Items"]
    positions = {i["last_position"]["S"].partition("/")[0] for i in items if "last_position" in i}
    assert positions and positions <= seqs
    c = summary["consumers"]["iot"]
    assert c["aggregates_match_reference"] is True
    assert code == 0 and summary["ok"] is True
