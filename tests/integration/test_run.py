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
