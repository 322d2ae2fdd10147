"""`streamkit run`, the main job, end to end (issue 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def run(*args: str) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "streamkit.local.cli", "run", "--json", "--duration", "6", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("faults", [False, True])
def test_run_json_counts_every_record_once(faults: bool) -> None:
    code, summary, err = run(*(["--faults"] if faults else []))
    assert code == 0, err
    assert summary["ok"] is True
    assert summary["endpoint"] == "embedded"
    assert summary["faults"] is faults
    assert set(summary["consumers"]) == {"clickstream", "iot"}
    for name, c in summary["consumers"].items():
        assert c["records_in"] > 0, name
        assert c["counted"] + sum(c["dead_letters"].values()) == c["records_in"], name
        assert c["aggregates_match_reference"] is True, name
        assert c["discarded"] == 0
        if faults:
            assert c["faults_injected"], name
            assert c["records_delivered"] >= c["records_in"]  # re-deliveries happened
    click = summary["consumers"]["clickstream"]
    assert click["top_pages"] and click["unique_users"]
    iot = summary["consumers"]["iot"]
    assert iot["devices"] > 0 and "temperature" in iot["metrics"]
    assert "committed" in err  # the live progress line


def test_same_seed_same_aggregates_with_and_without_faults() -> None:
    # A fixed --start: with the default (now), two runs can fall on different sides of
    # a minute boundary and so write different numbers of per-minute items.
    start = "2026-06-01T12:00:20Z"
    _, calm, _ = run("--seed", "9", "--start", start)
    _, stormy, _ = run("--seed", "9", "--start", start, "--faults")
    for name in ("clickstream", "iot"):
        a, b = calm["consumers"][name], stormy["consumers"][name]
        for key in ("records_in", "counted", "dead_letters", "aggregate_items"):
            assert a[key] == b[key], (name, key)
    assert (
        calm["consumers"]["clickstream"]["top_pages"]
        == stormy["consumers"]["clickstream"]["top_pages"]
    )
    assert calm["consumers"]["iot"]["metrics"] == stormy["consumers"]["iot"]["metrics"]


def test_bad_replay_input_is_exit_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamkit.local.cli",
            "run",
            "--replay",
            "/nonexistent.jsonl",
            "--consumer",
            "iot",
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "/nonexistent.jsonl" in proc.stderr


#: The real clickstream handler behind one that also writes to stdout every way a
#: handler does: a Powertools Logger built at import (it keeps that sys.stdout),
#: Powertools Metrics (EMF documents) and print().
LOUD_HANDLER = """
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handlers import clickstream
from handlers.clickstream import build_pipeline, pipeline, reset

logger = Logger(service="run-test")
metrics = Metrics(namespace="run-test", service="run-test")
print("handler module imported")


@metrics.log_metrics
def handler(event, context):
    logger.info("batch seen", extra={"records": len(event["Records"])})
    metrics.add_metric(name="Records", unit=MetricUnit.Count, value=len(event["Records"]))
    print("handled", len(event["Records"]), "records")
    return clickstream.handler(event, context)
"""


@pytest.mark.parametrize("logs_to_file", [False, True])
def test_json_is_one_document_while_the_handler_logs_and_logs_go_to_the_file(
    tmp_path: Path, logs_to_file: bool
) -> None:
    """Issue 12: `run --json` stdout is exactly one JSON document whatever the
    handler writes; `--logs FILE` receives the handler's output, else (stderr is no
    terminal here) stderr does."""
    (tmp_path / "loud_handler.py").write_text(LOUD_HANDLER)
    config = json.loads((ROOT / "infra" / "consumers.json").read_text())
    consumer = {**config["consumers"]["clickstream"], "handler": "loud_handler.handler"}
    (tmp_path / "consumers.json").write_text(json.dumps({"consumers": {"clickstream": consumer}}))
    logs = tmp_path / "handler.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "streamkit.local.cli", "run", "--json"),
            *("--replay", str(ROOT / "tests" / "data" / "captures" / "capture.jsonl")),
            *("--consumer", "clickstream", "--config", str(tmp_path / "consumers.json")),
            *(["--logs", str(logs)] if logs_to_file else []),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True
    assert summary["consumers"]["clickstream"]["records_in"] > 0
    if logs_to_file:
        assert "batch seen" not in proc.stderr and "handler module imported" not in proc.stderr
        text = logs.read_text()
        assert "handler module imported" in text and "batch seen" in text
        assert '"_aws"' in text  # the EMF documents, the handler's and the pipeline's
        assert '"batch processed"' in text  # streamkit's own log line
    else:
        assert not logs.exists()
        assert "handler module imported" in proc.stderr and "batch seen" in proc.stderr
        assert '"batch processed"' in proc.stderr


def test_on_a_terminal_the_handlers_output_stays_off_stderr(tmp_path: Path) -> None:
    """Issue 12: on a terminal the live progress line stands in for the handlers'
    output (it would break the line); stdout is still the one summary."""
    import pty

    (tmp_path / "loud_handler.py").write_text(LOUD_HANDLER)
    config = json.loads((ROOT / "infra" / "consumers.json").read_text())
    consumer = {**config["consumers"]["clickstream"], "handler": "loud_handler.handler"}
    (tmp_path / "consumers.json").write_text(json.dumps({"consumers": {"clickstream": consumer}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    main_fd, terminal_fd = pty.openpty()
    try:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "streamkit.local.cli", "run", "--json"),
                *("--replay", str(ROOT / "tests" / "data" / "captures" / "capture.jsonl")),
                *("--consumer", "clickstream", "--config", str(tmp_path / "consumers.json")),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=terminal_fd,
            text=True,
            timeout=300,
            check=False,
        )
        os.close(terminal_fd)
        terminal = b""
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(main_fd)
    assert proc.returncode == 0, terminal.decode(errors="replace")
    assert json.loads(proc.stdout)["ok"] is True
    text = terminal.decode(errors="replace")
    assert "streamkit run" in text  # the progress line is there
    assert "batch seen" not in text and "handler module imported" not in text
