"""``streamkit replay --execution``: worker processes by default, inline on request
(spec 10.1)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from streamkit.local.cli import main

pytestmark = pytest.mark.integration

CAPTURE = Path(__file__).parents[2] / "data" / "captures" / "capture.jsonl"
HANDLER = "tests.integration.runtime.runtime_handlers:stateful"


def _replay(
    tmp_path: Path, monkeypatch: Any, capsys: Any, *extra: str
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    log = tmp_path / "handler.log"
    monkeypatch.setenv("RUNTIME_TEST_LOG", str(log))
    code = main(["replay", str(CAPTURE), "--handler", HANDLER, "--json", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return json.loads(out.out), lines, out.err


def test_10_1_replay_runs_the_handler_in_one_environment_per_shard_by_default(
    aws: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """10.1: by default each captured shard's records run in an execution environment
    of its own (a worker process, one cold start each); stdout stays one document."""
    summary, lines, _ = _replay(tmp_path, monkeypatch, capsys)
    assert summary["ok"] is True and summary["records_processed"] == len(lines) == 3
    assert summary["cold_starts"] == summary["shards"] == 2
    assert os.getpid() not in {line["pid"] for line in lines}
    assert len({line["environment"] for line in lines}) == 2
    assert {line["handler_env"] for line in lines} == {HANDLER.replace(":", ".")}


def test_replay_execution_inline_calls_the_handler_in_this_process(
    aws: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    summary, lines, _ = _replay(tmp_path, monkeypatch, capsys, "--execution", "inline")
    assert summary["ok"] is True and summary["cold_starts"] == 0
    assert {line["pid"] for line in lines} == {os.getpid()}


def test_replay_worker_output_goes_to_the_logs_file(
    aws: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """What a worker's handler prints reaches --logs FILE, never stdout."""
    logs = tmp_path / "worker.log"
    monkeypatch.setenv("RUNTIME_TEST_LOG", str(tmp_path / "handler.log"))
    code = main(
        [
            "replay",
            str(CAPTURE),
            "--handler",
            "tests.integration.replay_handlers:recording",
            "--json",
            "--logs",
            str(logs),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["cold_starts"] == 2
    assert '"batch processed"' in logs.read_text()
    assert "batch processed" not in out.err
