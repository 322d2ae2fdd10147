"""Replay of captures through the ESM simulator (issue 3, items 6 and 7)."""

from __future__ import annotations

import json
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

DATA = Path(__file__).parents[1] / "data" / "captures"
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
    summary = json.loads(out.out.strip().splitlines()[-1])
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
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
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
