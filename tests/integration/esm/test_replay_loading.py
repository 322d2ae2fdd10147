"""`streamkit replay` loading large captures and reading within the read limits.

Spec 7.7: a PutRecords request carries at most 500 records and 5 MiB (data plus
partition keys); spec 7.2: a shard serves 5 GetRecords calls/s and 2 MB/s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.aws import aws_clients
from streamkit.local.capture import CapturedRecord, ShardCapture, write_capture
from streamkit.local.cli import main
from streamkit.local.replay import replay

pytestmark = pytest.mark.integration

RECORD = 512 * 1024
T0 = 1_764_324_000.0
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/big"


def _large_capture(count: int = 12) -> ShardCapture:
    records = [
        CapturedRecord(str(10**20 + i), bytes([65 + i]) * RECORD, f"pk-{i}", T0 + i)
        for i in range(count)
    ]
    return ShardCapture(ARN, "shardId-000000000000", "us-east-1", None, records)


def _accept(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


def test_7_7_a_capture_of_large_records_loads_in_requests_under_5_mib(aws: Any) -> None:
    """12 records of 512 KiB are 6 MiB: one PutRecords request would be refused."""
    kinesis = aws_clients(endpoint_url=aws.endpoint_url, region=aws.region)("kinesis")
    report = replay([_large_capture()], _accept, kinesis_client=kinesis)
    assert report.error is None
    assert report.records_loaded == 12
    assert report.stats.records_in == report.stats.records_processed == 12


def _cli_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    path = tmp_path / "big.jsonl"
    write_capture(path, [_large_capture()])
    code = main(
        [
            "replay",
            str(path),
            "--handler",
            "tests.integration.esm.test_replay_loading:_accept",
            "--execution",
            "inline",
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    summary: dict[str, Any] = json.loads(out.out)
    return summary


def test_7_2_replay_read_limits_flag_throttles_reads_of_a_large_shard(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--read-limits: 6 MiB on one shard exceed its 2 MB/s, so reads are refused and
    retried; without the flag no read is refused. Either way every record is processed."""
    limited = _cli_summary(tmp_path, capsys, "--read-limits")
    free = _cli_summary(tmp_path, capsys)
    assert limited["records_processed"] == free["records_processed"] == 12
    assert free["read_throttles"] == 0
    assert limited["read_throttles"] > 0


def test_replay_help_documents_read_limits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    assert "--read-limits" in capsys.readouterr().out
