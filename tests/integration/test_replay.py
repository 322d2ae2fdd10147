"""Replay of captures through the ESM simulator (issue 3, items 6 and 7)."""

from __future__ import annotations

import base64
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.aws import aws_clients
from streamkit.local.capture import load_records
from streamkit.local.cli import main
from streamkit.local.config import EsmSettings, load_consumers
from streamkit.local.faults import FaultPlan
from streamkit.local.replay import ReplayError, replay, resolve_handler
from tests.integration import replay_handlers

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "captures"
HANDLER = "tests.integration.replay_handlers:recording"


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    replay_handlers.SEEN.clear()


@pytest.fixture
def fast_kinesis(aws: Any) -> Any:
    return aws_clients(endpoint_url=aws.endpoint_url, region=aws.region, numeric_timestamps=True)(
        "kinesis"
    )


def test_replay_keeps_order_data_and_original_arrival_times(fast_kinesis: Any) -> None:
    shards = load_records(DATA / "capture.jsonl")
    report = replay(shards, replay_handlers.recording, kinesis_client=fast_kinesis)
    assert report.ok
    captured = [r for s in shards for r in s.records]
    assert report.stats.records_in == report.records_loaded == len(captured)
    assert report.stats.records_processed == len(captured)
    seen = replay_handlers.SEEN
    # each captured shard became one local shard, replayed in captured order
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for rec in seen:
        by_shard.setdefault(rec["eventID"].split(":")[0], []).append(rec["kinesis"])
    replayed = sorted(
        (
            [(k["partitionKey"], k["approximateArrivalTimestamp"]) for k in recs]
            for recs in by_shard.values()
        ),
    )
    expected = sorted([(r.partition_key, round(r.arrival, 3)) for r in s.records] for s in shards)
    assert replayed == expected


def test_replay_uses_the_consumers_settings(fast_kinesis: Any) -> None:
    consumer = load_consumers()["clickstream"]
    report = replay(
        [DATA / "capture.jsonl.gz"],
        replay_handlers.recording,
        kinesis_client=fast_kinesis,
        consumer=consumer,
    )
    assert report.ok
    assert report.destination == "sqs:clickstream-failures"
    assert report.stats.invocations >= 1


def test_faults_are_survived_and_every_record_resolved(fast_kinesis: Any) -> None:
    plan = FaultPlan(seed=4, crash_after_rate=0.3, partial_rate=0.2, throttle_rate=0.1)
    settings = EsmSettings(
        "TRIM_HORIZON",
        batch_size=2,
        maximum_retry_attempts=-1,
        function_response_types=("ReportBatchItemFailures",),
    )
    report = replay(
        [DATA / "capture.jsonl", DATA / "lambda-event.json"],
        replay_handlers.recording,
        kinesis_client=fast_kinesis,
        settings=settings,
        faults=plan,
    )
    assert report.ok
    assert report.stats.records_discarded == 0
    assert report.stats.records_processed == report.records_loaded
    assert report.stats.invocations > report.stats.records_processed / 2  # retries happened


def test_stuck_shard_is_reported_not_raised(fast_kinesis: Any) -> None:
    settings = EsmSettings("TRIM_HORIZON", batch_size=10)  # -1 / -1: retries forever
    report = replay(
        [DATA / "get-records.json"],
        replay_handlers.always_fails,
        kinesis_client=fast_kinesis,
        settings=settings,
    )
    assert not report.ok
    assert report.error is not None and "stuck" in report.error
    assert report.stats.unresolved == report.records_loaded


def test_cli_replay_json_summary(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "replay",
            str(DATA / "capture.jsonl"),
            str(DATA / "get-records.json"),
            "--handler",
            HANDLER,
            "--consumer",
            "iot",
            "--json",
            "--fault-seed",
            "1",
            "--fault-partial",
            "0.3",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)  # stdout is exactly one document
    for key in (
        "records_in",
        "invocations",
        "records_delivered",
        "batch_item_failures_reported",
        "records_discarded",
        "on_failure_messages",
        "filtered_out",
    ):
        assert isinstance(summary[key], int), key
    assert summary["records_in"] == summary["records_processed"] > 0
    assert summary["endpoint"] == aws.endpoint_url
    assert "records resolved" in out.err  # progress display


def test_cli_replay_json_reports_per_shard_esm_metrics_on_the_virtual_clock(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Spec 4.11: replay --json gives each shard's ESM metrics; IteratorAge is measured
    on the replay's virtual clock (seconds after the captured arrivals of Nov 2025),
    not against the wall clock (a year later)."""
    code = main(["replay", str(DATA / "capture.jsonl"), "--handler", HANDLER, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    shards = summary["by_shard"]
    assert shards and all(s.startswith("shardId-") for s in shards)
    assert sum(m["records_in"] for m in shards.values()) == summary["records_in"] > 0
    assert sum(m["records_processed"] for m in shards.values()) == summary["records_processed"]
    assert sum(m["invocations"] for m in shards.values()) == summary["invocations"]
    for m in shards.values():
        assert (m["records_filtered"], m["records_discarded"]) == (0, 0)
        assert 0 <= m["iterator_age_ms_last"] <= m["iterator_age_ms_max"] < 3_600_000


def test_cli_replay_exit_1_when_records_end_nowhere(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "replay",
            str(DATA / "get-records.json"),
            "--handler",
            "tests.integration.replay_handlers:always_fails",
        ]
    )
    assert code == 0  # default settings retry 10 times, then the records are discarded
    assert "check: every record processed" in capsys.readouterr().out
    code = main(
        [
            "replay",
            str(DATA / "get-records.json"),
            "--handler",
            "tests.integration.replay_handlers:always_fails",
            "--consumer",
            "clickstream",
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["records_discarded"] == summary["records_in"]
    assert summary["on_failure_messages"] >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--handler", "nope"], "module:function"),
        (["--handler", "no_such_module_xyz:handler"], "cannot import"),
        (["--handler", "tests.integration.replay_handlers:missing"], "has no function"),
        (["--handler", HANDLER, "--consumer", "nobody"], "known: clickstream, iot"),
    ],
)
def test_cli_replay_bad_input_is_exit_2_with_a_message(
    aws: Any, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["replay", str(DATA / "capture.jsonl"), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_replay_missing_file_is_exit_2(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent/capture.jsonl", "--handler", HANDLER]) == 2
    assert "/nonexistent/capture.jsonl" in capsys.readouterr().err


def test_resolve_handler_accepts_dotted_form() -> None:
    assert (
        resolve_handler("tests.integration.replay_handlers.recording") is replay_handlers.recording
    )
    with pytest.raises(ReplayError):
        resolve_handler("")


def test_replay_fixture_runs_a_capture_in_a_few_lines(replay: Any) -> None:
    """Issue 3 (7): the documented Python API for a regression test."""
    report = replay(DATA / "capture.jsonl.gz", replay_handlers.recording, consumer="clickstream")
    assert report.ok
    assert report.stats.records_discarded == 0
    assert len(replay_handlers.SEEN) == report.records_loaded


# ------------------------------------------------ the handler sees the captured identity

#: Production-like sequence numbers (56 digits, increasing, not consecutive) of one
#: captured shard, and the record the regression test expects to be dead-lettered.
PROD_SEQS = [
    f"4959033827149025660855969253836157109592157598913658{n:04d}" for n in (1898, 2898, 7001, 9898)
]
POISON_SEQ = PROD_SEQS[2]


def _production_capture(tmp_path: Path) -> Path:
    from streamkit.local.capture import CapturedRecord, ShardCapture, write_capture

    records = [
        CapturedRecord(
            seq,
            b'{"poison": true}' if seq == POISON_SEQ else b'{"page": "/"}',
            f"user-{i}",
            1764323990.0 + i * 0.125,  # one batch, whatever the batching window
            explicit_hash_key=str(2**127 + i),
            shard_id="shardId-000000000003",
        )
        for i, seq in enumerate(PROD_SEQS)
    ]
    path = tmp_path / "incident.jsonl"
    write_capture(
        path,
        [
            ShardCapture(
                "arn:aws:kinesis:us-east-1:1:stream/s",
                "shardId-000000000003",
                "us-east-1",
                None,
                records,
            )
        ],
    )
    return path


def fail_poison_by_its_sequence_number(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports the poison record by the sequence number it was delivered with."""
    replay_handlers.SEEN.extend(event["Records"])
    return {
        "batchItemFailures": [
            {"itemIdentifier": r["kinesis"]["sequenceNumber"]}
            for r in event["Records"]
            if b"poison" in base64.b64decode(r["kinesis"]["data"])
        ]
    }


def test_the_handler_sees_the_captured_sequence_numbers_and_partition_keys(
    replay: Any, tmp_path: Path
) -> None:
    report = replay(_production_capture(tmp_path), fail_poison_by_its_sequence_number)
    first = {r["kinesis"]["sequenceNumber"]: r for r in replay_handlers.SEEN}
    assert list(first) == PROD_SEQS  # in order, each with its captured number
    for i, seq in enumerate(PROD_SEQS):
        rec = first[seq]
        assert rec["kinesis"]["partitionKey"] == f"user-{i}"
        assert rec["kinesis"]["approximateArrivalTimestamp"] == 1764323990.0 + i * 0.125
        assert rec["eventID"].endswith(f":{seq}")
    # Lambda's event has no explicitHashKey (spec 1.1.2): the handler sees none.
    assert all("explicitHashKey" not in r["kinesis"] for r in replay_handlers.SEEN)
    assert report.ok


def test_a_record_failed_by_its_captured_number_is_the_one_dead_lettered(
    replay: Any, tmp_path: Path, aws: Any
) -> None:
    """Spec 2.2.2 / 2.2.5 / 3.3: the handler reports the captured sequence number;
    the simulator retries from that record, and once its retries are spent the
    on-failure record names it by the captured number, as do the stats."""
    report = replay(
        _production_capture(tmp_path), fail_poison_by_its_sequence_number, consumer="clickstream"
    )
    assert report.ok
    stats = report.stats
    [shard] = {shard for shard, _ in stats.outcomes}
    assert stats.outcomes == {
        (shard, PROD_SEQS[0]): "processed",
        (shard, PROD_SEQS[1]): "processed",
        (shard, POISON_SEQ): "discarded",
        (shard, PROD_SEQS[3]): "discarded",  # re-delivered after the poison, spec 2.2.5
    }
    [doc] = stats.failure_documents
    info = doc["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (POISON_SEQ, PROD_SEQS[3])
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # The message in the consumer's on-failure queue names the captured number too.
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="clickstream-failures")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["KinesisBatchInfo"]["startSequenceNumber"] == POISON_SEQ
    partial = [e for e in stats.log if e.outcome == "partial"]
    assert partial and all(e.detail == f"lowest failed {POISON_SEQ}" for e in partial)
    assert all(set(e.sequence_numbers) <= set(PROD_SEQS) for e in stats.log)


# ------------------------------------------------ stdout is the summary, logs go elsewhere

#: A handler that writes to stdout every way a real one does: a Powertools Logger
#: (which keeps the sys.stdout of its construction, the module's import), Powertools
#: Metrics (an EMF document per invocation), and print().
POWERTOOLS_HANDLER = """
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="replay-test")
metrics = Metrics(namespace="replay-test", service="replay-test")
print("handler module imported")


@metrics.log_metrics
def handler(event, context):
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    logger.info("batch seen", extra={"seqs": seqs})
    metrics.add_metric(name="Records", unit=MetricUnit.Count, value=len(seqs))
    print("handled", len(seqs), "records")
    return {"batchItemFailures": []}
"""


def _powertools_handler(tmp_path: Path, name: str) -> str:
    (tmp_path / f"{name}.py").write_text(POWERTOOLS_HANDLER)
    return f"{name}:handler"


def _cli(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in a shell, from the repository root, with ``tmp_path`` importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _logged_sequence_numbers(text: str) -> list[str]:
    return [
        seq
        for line in text.splitlines()
        if line.startswith("{") and '"batch seen"' in line
        for seq in json.loads(line)["seqs"]
    ]


@pytest.mark.parametrize("execution", ["process", "inline"])
def test_json_is_one_document_on_stdout_while_the_handler_logs_through_powertools(
    aws: Any, tmp_path: Path, execution: str
) -> None:
    """Issue 12: `replay --json | python -c 'json.load(sys.stdin)'` succeeds for a
    handler that logs with Powertools and prints, in worker processes or in the
    replay's own; its logs go to stderr."""
    handler = _powertools_handler(tmp_path, "pt_handler_pipe")
    streamkit = Path(sys.executable).parent / "streamkit"
    proc = _cli(
        tmp_path,
        f"{streamkit} replay {DATA / 'capture.jsonl'} --handler {handler} --json"
        f" --execution {execution}"
        f" | {sys.executable} -c 'import json, sys; print(json.load(sys.stdin)[\"records_in\"])'",
    )
    assert proc.returncode == 0, proc.stderr
    captured = [r for s in load_records(DATA / "capture.jsonl") for r in s.records]
    assert proc.stdout.strip() == str(len(captured))
    err = proc.stderr
    assert "handler module imported" in err and "handled" in err
    assert '"_aws"' in err  # the EMF documents
    # The records the handler saw carry the captured (56-digit) sequence numbers.
    seen = _logged_sequence_numbers(err)
    assert sorted(seen) == sorted(r.sequence_number for r in captured)
    assert all(len(seq) == 56 for seq in seen)


def test_logs_file_receives_the_handler_output_and_stdout_only_the_document(
    aws: Any, tmp_path: Path
) -> None:
    handler = _powertools_handler(tmp_path, "pt_handler_logs")
    logs = tmp_path / "handler.log"
    streamkit = Path(sys.executable).parent / "streamkit"
    proc = _cli(
        tmp_path,
        f"{streamkit} replay {DATA / 'capture.jsonl'} --handler {handler} --json --logs {logs}",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # the whole of stdout is one document
    assert summary["ok"] is True
    text = logs.read_text()
    assert "handler module imported" in text and '"_aws"' in text
    assert len(_logged_sequence_numbers(text)) == summary["records_in"]
    assert "batch seen" not in proc.stderr and "handled" not in proc.stderr
    assert "records resolved" in proc.stderr  # progress stays on stderr


def test_without_json_the_summary_is_on_stdout_and_the_logs_on_stderr(
    aws: Any, tmp_path: Path
) -> None:
    handler = _powertools_handler(tmp_path, "pt_handler_text")
    streamkit = Path(sys.executable).parent / "streamkit"
    proc = _cli(tmp_path, f"{streamkit} replay {DATA / 'capture.jsonl'} --handler {handler}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("replayed ")
    assert "check: every record processed" in proc.stdout
    assert "batch seen" not in proc.stdout and "_aws" not in proc.stdout
    assert "batch seen" in proc.stderr and "handler module imported" in proc.stderr


@pytest.mark.parametrize("imported_before", [False, True])
def test_in_process_json_stays_one_document_whatever_stdout_the_logger_kept(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], imported_before: bool
) -> None:
    """A Logger built before the command ran (the module imported earlier) and one
    built during it (imported by --handler) both write to stderr, not stdout."""
    name = f"pt_handler_in_process_{imported_before}"
    handler = _powertools_handler(tmp_path, name)
    sys.path.insert(0, str(tmp_path))
    try:
        if imported_before:
            importlib.import_module(name)
        capsys.readouterr()
        code = main(["replay", str(DATA / "capture.jsonl"), "--handler", handler, "--json"])
        out = capsys.readouterr()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    assert code == 0, out.err
    assert json.loads(out.out)["ok"] is True
    assert "batch seen" in out.err and '"_aws"' in out.err


def test_unwritable_logs_file_is_exit_2_naming_the_option(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "no-such-dir" / "handler.log"
    code = main(["replay", str(DATA / "capture.jsonl"), "--handler", HANDLER, "--logs", str(logs)])
    assert code == 2
    assert f"--logs {logs}" in capsys.readouterr().err
