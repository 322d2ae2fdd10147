"""`streamkit capture` and capture_stream against a real local Kinesis endpoint (moto server)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.capture import CaptureError, capture_stream, load_records
from streamkit.local.cli import main

pytestmark = pytest.mark.integration

SHARD_0 = "shardId-000000000000"
SHARD_1 = "shardId-000000000001"
#: ExplicitHashKeys that land in the first / second half of a 2-shard stream.
HASH_KEY = {SHARD_0: "1", SHARD_1: str(2**127 + 1)}


@dataclass(frozen=True)
class Put:
    shard_id: str
    sequence_number: str
    data: bytes
    partition_key: str


@dataclass
class Local:
    endpoint_url: str
    kinesis: Any
    stream: Callable[..., str]  # (name, shards) -> stream ARN


@pytest.fixture
def local(aws: Any, kinesis: Any, kinesis_stream: Callable[..., str]) -> Local:
    """The streamkit plugin's reset local endpoint (moto server, env applied)."""
    assert aws.region == "us-east-1"
    return Local(aws.endpoint_url, kinesis, kinesis_stream)


def _put(local: Local, stream: str, shard_id: str, n: int, tag: str = "r") -> list[Put]:
    puts = []
    for i in range(n):
        data = json.dumps({"tag": tag, "i": i, "shard": shard_id}).encode()
        pk = f"{tag}-{shard_id[-1]}-{i}"
        resp = local.kinesis.put_record(
            StreamName=stream, Data=data, PartitionKey=pk, ExplicitHashKey=HASH_KEY[shard_id]
        )
        assert resp["ShardId"] == shard_id
        puts.append(Put(shard_id, resp["SequenceNumber"], data, pk))
    return puts


def _seen(path: Path) -> dict[str, list[Put]]:
    return {
        shard.shard_id: [
            Put(r.shard_id, r.sequence_number, r.data, r.partition_key) for r in shard.records
        ]
        for shard in load_records(path)
    }


@pytest.fixture
def two_shards(local: Local) -> tuple[str, dict[str, list[Put]]]:
    arn = local.stream("clicks", shards=2)
    puts = {SHARD_0: _put(local, "clicks", SHARD_0, 12), SHARD_1: _put(local, "clicks", SHARD_1, 5)}
    return arn, puts


def test_captures_every_shard_of_a_two_shard_stream(
    local: Local, two_shards: tuple[str, dict[str, list[Put]]], tmp_path: Path
) -> None:
    arn, puts = two_shards
    calls: list[tuple[int, str]] = []
    out = tmp_path / "clicks.jsonl"
    summary = capture_stream(
        local.kinesis, "clicks", out, progress=lambda n, shard: calls.append((n, shard))
    )
    assert _seen(out) == puts
    assert summary.records_per_shard == {SHARD_0: 12, SHARD_1: 5}
    assert (summary.total, summary.stream_arn, summary.path) == (17, arn, out)
    assert summary.bytes_written == out.stat().st_size
    shards = load_records(out)
    assert {(s.stream_arn, s.region) for s in shards} == {(arn, "us-east-1")}
    assert all(s.captured_at is not None for s in shards)
    arrivals = [r.arrival for r in shards[0].records]
    assert arrivals == sorted(arrivals)
    assert abs(arrivals[0] - datetime.now(UTC).timestamp()) < 600
    assert calls[0] == (0, SHARD_0) and calls[-1] == (17, SHARD_1)
    assert not list(tmp_path.glob("*.partial"))


def test_shard_filter(
    local: Local, two_shards: tuple[str, dict[str, list[Put]]], tmp_path: Path
) -> None:
    _, puts = two_shards
    out = tmp_path / "one.jsonl.gz"
    summary = capture_stream(local.kinesis, "clicks", out, shard_ids=[SHARD_1])
    assert _seen(out) == {SHARD_1: puts[SHARD_1]}
    assert summary.records_per_shard == {SHARD_1: 5}


@pytest.mark.parametrize(("limit", "from_0", "from_1"), [(7, 7, 0), (12, 12, 0), (14, 12, 2)])
def test_max_records_counts_over_all_shards(
    local: Local,
    two_shards: tuple[str, dict[str, list[Put]]],
    tmp_path: Path,
    limit: int,
    from_0: int,
    from_1: int,
) -> None:
    _, puts = two_shards
    out = tmp_path / "max.jsonl"
    summary = capture_stream(local.kinesis, "clicks", out, max_records=limit)
    assert summary.total == limit
    assert _seen(out) == {SHARD_0: puts[SHARD_0][:from_0], SHARD_1: puts[SHARD_1][:from_1]}


def test_at_timestamp_starts_at_the_first_record_at_or_after_it(
    local: Local, tmp_path: Path
) -> None:
    local.stream("s", shards=1)
    before = _put(local, "s", SHARD_0, 4, tag="before")
    after = _put(local, "s", SHARD_0, 3, tag="after")
    # The server's own arrival times (what AT_TIMESTAMP compares against).
    everything = tmp_path / "all.jsonl"
    capture_stream(local.kinesis, "s", everything)
    [shard] = load_records(everything)
    assert [r.data for r in shard.records] == [p.data for p in before + after]
    at = shard.records[len(before)].arrival  # arrival of the first "after" record
    expected = [r.data for r in shard.records if r.arrival >= at]

    out = tmp_path / "at.jsonl"
    capture_stream(local.kinesis, "s", out, start="AT_TIMESTAMP", timestamp=at)
    got = [r.data for r in load_records(out)[0].records]
    assert got == expected
    assert got[-len(after) :] == [p.data for p in after]
    assert before[0].data not in got

    iso = datetime.fromtimestamp(at, UTC).isoformat()
    assert main(["capture", "--stream", "s", "--from", "AT_TIMESTAMP", "--timestamp", iso,
                 "--out", str(tmp_path / "cli.jsonl")]) == 0  # fmt: skip
    assert [r.data for r in load_records(tmp_path / "cli.jsonl")[0].records] == expected


def test_latest_captures_only_what_arrives_after_the_start(local: Local, tmp_path: Path) -> None:
    local.stream("s", shards=1)
    _put(local, "s", SHARD_0, 3)
    summary = capture_stream(local.kinesis, "s", tmp_path / "l.jsonl", start="LATEST")
    assert summary.records_per_shard == {SHARD_0: 0}
    assert load_records(tmp_path / "l.jsonl")[0].records == []


def test_cli_end_to_end_gzip(
    local: Local,
    two_shards: tuple[str, dict[str, list[Put]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arn, puts = two_shards
    out = tmp_path / "cli.jsonl.gz"
    # --endpoint-url and --region override the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    argv = ["capture", "--stream", "clicks", "--out", str(out), "--region", "us-east-1"]
    assert main([*argv, "--endpoint-url", local.endpoint_url]) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(out.read_bytes()).startswith(b'{"streamkit_capture":1,')
    assert _seen(out) == puts
    assert {s.stream_arn for s in load_records(out)} == {arn}
    captured = capsys.readouterr()
    assert f"capturing {SHARD_0}" in captured.err and f"capturing {SHARD_1}" in captured.err
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1
    assert f"captured 17 records ({SHARD_0}: 12, {SHARD_1}: 5) to {out}" in summary[0]
    assert f"({out.stat().st_size} bytes)" in summary[0]


def test_cli_uses_the_environment_and_shard_and_max_records_options(
    local: Local,
    two_shards: tuple[str, dict[str, list[Put]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, puts = two_shards
    out = tmp_path / "env.jsonl"
    argv = ["capture", "--stream", "clicks", "--shard", SHARD_1, "--max-records", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    assert _seen(out) == {SHARD_1: puts[SHARD_1][:3]}
    assert f"captured 3 records ({SHARD_1}: 3)" in capsys.readouterr().out


def test_missing_stream_is_exit_2_naming_stream_and_endpoint(
    local: Local, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.jsonl"
    code = main(["capture", "--stream", "nope", "--out", str(out)])
    assert code == 2
    captured = capsys.readouterr()
    assert "'nope' not found" in captured.err
    assert local.endpoint_url in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unknown_shard_lists_the_shards_that_exist(
    local: Local,
    two_shards: tuple[str, dict[str, list[Put]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(CaptureError) as info:
        capture_stream(local.kinesis, "clicks", tmp_path / "x.jsonl", shard_ids=["shardId-7"])
    assert str(info.value) == (
        f"stream 'clicks' has no shard 'shardId-7'; its shards are: {SHARD_0}, {SHARD_1}"
    )
    argv = ["capture", "--stream", "clicks", "--shard", SHARD_0, "shardId-000000000009"]
    assert main([*argv, "--out", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "no shard 'shardId-000000000009'" in err and f"{SHARD_0}, {SHARD_1}" in err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())
