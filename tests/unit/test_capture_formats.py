"""The capture file format and the readers for get-records output and Lambda events."""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.capture import (
    CapturedRecord,
    CaptureError,
    CaptureFormatError,
    CaptureWriter,
    ShardCapture,
    load_records,
    write_capture,
)
from streamkit.local.cli import main
from streamkit.local.commands.capture import CaptureProgress

DATA = Path(__file__).parent.parent / "data" / "captures"
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
AT = datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)
SEQ = 49590338271490256608559692538361571095921575989136588898


def _shard(shard_id: str, n: int, *, first: int = 0) -> ShardCapture:
    records = [
        CapturedRecord(
            sequence_number=str(SEQ + (first + i) * 1000),
            data=bytes([i % 256]) * i + b'{"i": %d}' % i,
            partition_key=f"pk-{i}",
            arrival=1_764_324_000.0 + i / 1000,
            explicit_hash_key="12345678901234567890" if i % 3 == 0 else None,
            shard_id=shard_id,
            encryption_type="KMS" if i % 4 == 1 else None,
        )
        for i in range(n)
    ]
    return ShardCapture(ARN, shard_id, "us-east-1", AT, records)


def _header(shard_id: str = "shardId-000000000000", **over: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "streamkit_capture": 1,
        "stream_arn": ARN,
        "shard_id": shard_id,
        "region": "us-east-1",
        "captured_at": "2026-11-28T10:00:00Z",
    }
    header.update(over)
    return header


def _line(**over: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "SequenceNumber": str(SEQ),
        "ApproximateArrivalTimestamp": 1764324000.5,
        "Data": base64.b64encode(b"hello").decode(),
        "PartitionKey": "pk",
    }
    line.update(over)
    return {k: v for k, v in line.items() if v is not _DROP}


_DROP: Any = object()


def _jsonl(path: Path, *objects: Any) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("name", ["capture.jsonl", "capture.jsonl.gz"])
def test_round_trip_keeps_every_field(tmp_path: Path, name: str) -> None:
    shards = [_shard("shardId-000000000000", 40), _shard("shardId-000000000001", 7, first=40)]
    path = tmp_path / name
    assert write_capture(path, shards) == 47
    assert load_records(path) == shards
    gz = path.read_bytes()[:2] == b"\x1f\x8b"
    assert gz == name.endswith(".gz")


def test_multi_shard_capture_is_header_and_records_sections(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write_capture(path, [_shard("shardId-000000000000", 2), _shard("shardId-000000000003", 1)])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [("streamkit_capture" in o, o.get("shard_id")) for o in lines] == [
        (True, "shardId-000000000000"),
        (False, None),
        (False, None),
        (True, "shardId-000000000003"),
        (False, None),
    ]
    assert lines[0] == _header(captured_at="2026-11-28T10:00:00.123456Z")
    assert set(lines[1]) == {
        "SequenceNumber",
        "ApproximateArrivalTimestamp",
        "Data",
        "PartitionKey",
        "ExplicitHashKey",
    }
    assert base64.b64decode(lines[2]["Data"]) == b'\x01{"i": 1}'
    assert lines[2]["EncryptionType"] == "KMS"


def test_concatenated_captures_and_gzip_members_are_one_capture(tmp_path: Path) -> None:
    a, b = _shard("shardId-000000000000", 3), _shard("shardId-000000000001", 2, first=3)
    write_capture(tmp_path / "a.jsonl.gz", [a])
    write_capture(tmp_path / "b.jsonl.gz", [b])
    both = tmp_path / "both.jsonl.gz"
    both.write_bytes(
        (tmp_path / "a.jsonl.gz").read_bytes() + (tmp_path / "b.jsonl.gz").read_bytes()
    )
    assert load_records(both) == [a, b]


def test_an_empty_shard_section_round_trips(tmp_path: Path) -> None:
    shards = [_shard("shardId-000000000000", 0), _shard("shardId-000000000001", 1)]
    write_capture(tmp_path / "c.jsonl", shards)
    assert load_records(tmp_path / "c.jsonl") == shards


def test_unknown_capture_time_is_null(tmp_path: Path) -> None:
    shard = ShardCapture("", "shardId-000000000000", "", None, [])
    write_capture(tmp_path / "c.jsonl", [shard])
    assert json.loads(tmp_path.joinpath("c.jsonl").read_text())["captured_at"] is None
    assert load_records(tmp_path / "c.jsonl") == [shard]


def test_writer_streams_and_reports_size(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl.gz"
    with CaptureWriter(path) as writer:
        writer.start_shard(ARN, "shardId-000000000000", "us-east-1", AT)
        for rec in _shard("shardId-000000000000", 100).records:
            writer.write(rec)
    assert writer.records_written == 100
    assert writer.bytes_written == path.stat().st_size > 0
    [shard] = load_records(path)
    assert len(shard.records) == 100


def test_writer_refuses_records_before_a_header(tmp_path: Path) -> None:
    with CaptureWriter(tmp_path / "w.jsonl") as writer, pytest.raises(CaptureError):
        writer.write(_shard("shardId-000000000000", 1).records[0])


# ------------------------------------------------------------------ sample files


def test_reads_the_sample_capture() -> None:
    first, second = load_records(DATA / "capture.jsonl")
    assert (first.stream_arn, first.shard_id, first.region) == (
        "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
        "shardId-000000000000",
        "us-east-1",
    )
    assert first.captured_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert [r.data for r in first.records] == [b'{"page": "/"}', b'{"page": "/cart"}']
    assert [r.partition_key for r in first.records] == ["user-1", "user-2"]
    assert first.records[1].explicit_hash_key == "170141183460469231731687303715884105728"
    assert first.records[0].arrival == 1764323990.125
    assert second.shard_id == "shardId-000000000001"
    [rec] = second.records
    assert (rec.shard_id, rec.encryption_type, rec.data) == (
        "shardId-000000000001",
        "KMS",
        b'{"page": "/checkout"}',
    )


def test_reads_the_sample_gzip_capture() -> None:
    [shard] = load_records(DATA / "capture.jsonl.gz")
    assert (shard.shard_id, shard.region) == ("shardId-000000000007", "eu-west-1")
    assert [json.loads(r.data) for r in shard.records] == [{"order": i} for i in range(5)]
    assert [r.partition_key for r in shard.records] == [f"order-{i}" for i in range(5)]
    assert [r.arrival for r in shard.records] == [1764329400 + i / 10 for i in range(5)]


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    disguised = tmp_path / "capture.txt"
    shutil.copy(DATA / "capture.jsonl.gz", disguised)
    assert load_records(disguised) == load_records(DATA / "capture.jsonl.gz")
    plain = tmp_path / "plain.jsonl.gz"  # named .gz but not compressed
    shutil.copy(DATA / "capture.jsonl", plain)
    assert load_records(plain) == load_records(DATA / "capture.jsonl")


def test_reads_aws_cli_get_records_output() -> None:
    [shard] = load_records(DATA / "get-records.json")
    assert (shard.shard_id, shard.stream_arn, shard.captured_at) == (
        "shardId-000000000000",
        "",
        None,
    )
    assert [r.data for r in shard.records] == [b'{"page": "/"}', b"plain text"]
    assert [r.sequence_number for r in shard.records] == [
        "49654431892017365528190402273651883106327117504830390322",
        "49654431892017365528190402274860808925941746679536566322",
    ]
    expected = datetime(2026, 11, 28, 9, 59, 50, 123000, tzinfo=UTC).timestamp()
    assert shard.records[0].arrival == expected
    assert shard.records[1].encryption_type == "KMS"


def test_get_records_output_takes_the_given_shard_id() -> None:
    [shard] = load_records(DATA / "get-records.json", shard_id="shardId-000000000009")
    assert shard.shard_id == "shardId-000000000009"
    assert {r.shard_id for r in shard.records} == {"shardId-000000000009"}


def test_get_records_output_with_epoch_timestamps_and_no_records(tmp_path: Path) -> None:
    doc = json.loads((DATA / "get-records.json").read_text())
    doc["Records"][0]["ApproximateArrivalTimestamp"] = 1764323990.123
    path = tmp_path / "epoch.json"
    path.write_text(json.dumps(doc))  # one line, like --output json | jq -c
    assert load_records(path)[0].records[0].arrival == 1764323990.123
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"Records": [], "NextShardIterator": "x", "MillisBehindLatest": 0}))
    assert load_records(empty) == [ShardCapture("", "shardId-000000000000", "", None, [])]


def test_reads_a_saved_lambda_event_one_capture_per_shard() -> None:
    shards = load_records(DATA / "lambda-event.json")
    assert [s.shard_id for s in shards] == ["shardId-000000000004", "shardId-000000000005"]
    four, five = shards
    assert four.stream_arn == "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
    assert four.region == "us-east-2"
    assert [r.data for r in four.records] == [b'{"page": "/"}', b'{"page": "/cart"}']
    assert [r.arrival for r in four.records] == [1764323990.987, 1764323992.0]
    assert [r.sequence_number for r in five.records] == [
        "49652184937102836584012237746301644182632354643993968706"
    ]
    assert five.records[0].arrival == 1764323991.12  # exponent form
    assert five.records[0].shard_id == "shardId-000000000005"


def test_lambda_events_of_the_existing_event_samples_are_readable() -> None:
    for path in sorted((DATA.parent / "events").glob("*.json")):
        shards = load_records(path)
        assert shards and all(s.records for s in shards), path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1764324000.5, 1764324000.5),
        (1764324000, 1764324000.0),
        ("1764324000.25", 1764324000.25),
        ("2025-11-28T10:00:00Z", datetime(2025, 11, 28, 10, tzinfo=UTC).timestamp()),
        ("2025-11-28T11:00:00.500+01:00", datetime(2025, 11, 28, 10, tzinfo=UTC).timestamp() + 0.5),
    ],
)
def test_timestamps_in_iso_or_epoch(tmp_path: Path, value: object, expected: float) -> None:
    path = _jsonl(tmp_path / "c.jsonl", _header(), _line(ApproximateArrivalTimestamp=value))
    assert load_records(path)[0].records[0].arrival == expected


def test_unpadded_base64_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n" + json.dumps(_header()) + "\n\n" + json.dumps(_line(Data="aGk")) + "\n\n")
    assert load_records(path)[0].records[0].data == b"hi"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        (_line(Data="not base64!"), "Data", "is not valid base64"),
        (_line(Data=_DROP), "Data", "is missing"),
        (_line(Data=12), "Data", "must be a base64 string"),
        (_line(SequenceNumber="12a"), "SequenceNumber", "must be a decimal string"),
        (_line(SequenceNumber=12), "SequenceNumber", "must be a decimal string"),
        (_line(ApproximateArrivalTimestamp="yesterday"), "ApproximateArrivalTimestamp", "is not"),
        (_line(ApproximateArrivalTimestamp=-5), "ApproximateArrivalTimestamp", "is not"),
        (_line(ApproximateArrivalTimestamp=_DROP), "ApproximateArrivalTimestamp", "is missing"),
        (_line(PartitionKey=_DROP), "PartitionKey", "must be a string"),
        (_line(ExplicitHashKey="0x12"), "ExplicitHashKey", "must be a decimal string"),
        (_line(EncryptionType=1), "EncryptionType", "must be a string"),
    ],
)
def test_bad_record_names_file_line_and_field(
    tmp_path: Path, line: dict[str, Any], field: str, problem: str
) -> None:
    path = _jsonl(tmp_path / "capture.jsonl", _header(), _line(), line)
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), 3, field)
    assert str(err).startswith(f"{path}:3: {field} {problem}")


def test_the_example_message(tmp_path: Path) -> None:
    lines = [_header()] + [_line()] * 15 + [_line(Data="%%%")]
    path = _jsonl(tmp_path / "capture.jsonl", *lines)
    with pytest.raises(CaptureFormatError, match=r"capture\.jsonl:17: Data is not valid base64"):
        load_records(path)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (_header(streamkit_capture=2), "streamkit_capture"),
        (_header(streamkit_capture=True), "streamkit_capture"),
        (_header(shard_id=None), "shard_id"),
        (_header(shard_id=""), "shard_id"),
        (_header(stream_arn=5), "stream_arn"),
        (_header(region=["us-east-1"]), "region"),
        (_header(captured_at="last tuesday"), "captured_at"),
        (_header(captured_at=1764324000), "captured_at"),
    ],
)
def test_bad_header_names_file_line_and_field(
    tmp_path: Path, header: dict[str, Any], field: str
) -> None:
    path = _jsonl(tmp_path / "c.jsonl", _header(), _line(), header, _line())
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    assert (info.value.line, info.value.field) == (3, field)
    assert str(info.value).startswith(f"{path}:3: {field} ")


def test_bad_header_in_first_line(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", _header(streamkit_capture="1"))
    with pytest.raises(CaptureFormatError, match=r"c\.jsonl:1: streamkit_capture is '1'"):
        load_records(path)


def test_records_without_a_header(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", _line(), _line())
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    assert (info.value.line, info.value.field) == (1, "streamkit_capture")
    assert "header is missing" in str(info.value)


def test_invalid_json_and_non_object_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(_header()) + "\n" + json.dumps(_line()) + "\n{oops\n")
    with pytest.raises(CaptureFormatError, match=r"c\.jsonl:3: not valid JSON"):
        load_records(path)
    _jsonl(path, _header(), [1, 2])
    with pytest.raises(CaptureFormatError, match=r"c\.jsonl:2: expected a JSON object, got list"):
        load_records(path)


def test_errors_in_gzip_captures_have_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    text = "".join(json.dumps(o) + "\n" for o in (_header(), _line(), _line(PartitionKey=3)))
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(CaptureFormatError, match=r"c\.jsonl\.gz:3: PartitionKey must be"):
        load_records(path)


def test_corrupt_and_truncated_gzip(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(CaptureFormatError, match=r"corrupt\.gz: not a valid gzip file"):
        load_records(corrupt)
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes((DATA / "capture.jsonl.gz").read_bytes()[:-20])
    with pytest.raises(CaptureFormatError, match=r"truncated\.jsonl\.gz: not a valid gzip file"):
        load_records(truncated)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(CaptureFormatError, match=r"empty\.jsonl: file is empty"):
        load_records(path)


def test_unknown_json_document(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{\n  "Items": []\n}\n')
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    assert info.value.field == "Records"
    assert "not a streamkit capture" in str(info.value)
    path.write_text('{\n  "Records": [\n    1,\n  ]\n}\n')
    with pytest.raises(CaptureFormatError, match=r"other\.json:4: not a streamkit capture"):
        load_records(path)
    path.write_text('{"Records": {"a": 1}}')
    with pytest.raises(CaptureFormatError, match=r"other\.json:1: Records must be a list"):
        load_records(path)


def test_get_records_error_names_the_line_of_the_record(tmp_path: Path) -> None:
    doc = json.loads((DATA / "get-records.json").read_text())
    doc["Records"][1]["Data"] = "***"
    path = tmp_path / "gr.json"
    path.write_text(json.dumps(doc, indent=4))
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    assert (info.value.line, info.value.field) == (9, "Records[1].Data")
    assert str(info.value) == f"{path}:9: Records[1].Data is not valid base64"
    doc["Records"][1] = "x"
    path.write_text(json.dumps(doc, indent=4))
    with pytest.raises(CaptureFormatError, match=r"gr\.json:9: Records\[1\] must be a JSON object"):
        load_records(path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eventID": None}, "Records[2].eventID"),
        ({"eventID": "no-colon"}, "Records[2].eventID"),
        ({"kinesis": None}, "Records[2].kinesis"),
        ({"kinesis.data": "@@@"}, "Records[2].kinesis.data"),
        ({"kinesis.sequenceNumber": None}, "Records[2].kinesis.sequenceNumber"),
        ({"kinesis.approximateArrivalTimestamp": "soon"}, "Records[2].kinesis.approximate"),
        ({"kinesis.partitionKey": 7}, "Records[2].kinesis.partitionKey"),
    ],
)
def test_lambda_event_errors_name_line_and_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    doc = json.loads((DATA / "lambda-event.json").read_text())
    [(key, value)] = change.items()
    target = doc["Records"][2]
    if key.startswith("kinesis."):
        target = target["kinesis"]
        key = key.removeprefix("kinesis.")
    target[key] = value
    path = tmp_path / "event.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(CaptureFormatError) as info:
        load_records(path)
    assert info.value.line == 35  # where Records[2] starts
    assert info.value.field is not None and info.value.field.startswith(field)
    assert str(info.value).startswith(f"{path}:35: {field}")


def test_format_error_is_a_value_error() -> None:
    err = CaptureFormatError("x.jsonl", 2, "Data", "is not valid base64")
    assert isinstance(err, ValueError)
    assert str(err) == "x.jsonl:2: Data is not valid base64"
    assert str(CaptureFormatError("x.json", None, None, "file is empty")) == "x.json: file is empty"


# ------------------------------------------------------------------ progress, CLI usage


def test_progress_on_a_terminal_is_one_updating_line() -> None:
    out = io.StringIO()
    progress = CaptureProgress(out, tty=True)
    progress(0, "shardId-000000000000")
    progress(500, "shardId-000000000000")
    progress(900, "shardId-000000000001")
    progress.finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 3
    assert "shardId-000000000001: 900 records" in text


def test_progress_in_a_log_is_a_line_per_shard_and_every_n_records() -> None:
    out = io.StringIO()
    progress = CaptureProgress(out, every=1000, tty=False)
    for n in range(0, 2600, 500):
        progress(n, "shardId-000000000000")
    progress(2600, "shardId-000000000001")
    progress.finish()
    assert out.getvalue().splitlines() == [
        "capturing shardId-000000000000: 0 records so far",
        "capturing shardId-000000000000: 1000 records so far",
        "capturing shardId-000000000000: 2000 records so far",
        "capturing shardId-000000000001: 2600 records so far",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["--from", "AT_TIMESTAMP"],
        ["--timestamp", "2026-11-28T10:00:00Z"],
        ["--from", "LATEST", "--timestamp", "1764324000"],
    ],
)
def test_timestamp_goes_with_at_timestamp_only(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["capture", "--stream", "s", "--out", str(tmp_path / "o.jsonl"), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--timestamp" in err and "--from AT_TIMESTAMP" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--from", "AT_TIMESTAMP", "--timestamp", "noon"], "--timestamp"),
        (["--max-records", "0"], "--max-records"),
        (["--from", "EARLIEST"], "--from"),
    ],
)
def test_bad_capture_options_are_usage_errors(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["capture", "--stream", "s", "--out", "o.jsonl", *argv])
    assert info.value.code == 2
    assert option in capsys.readouterr().err


def test_capture_help_explains_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["capture", "--help"])
    out = capsys.readouterr().out
    assert "JSON Lines" in out and "README" in out
