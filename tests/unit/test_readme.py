"""The README's examples run as printed."""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = [
    line.strip()
    for block in re.findall(r"```sh\n(.*?)```", TEXT, flags=re.S)
    for line in block.splitlines()
    if line.strip().startswith("streamkit ")
]


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3
    assert any(line.startswith("streamkit replay") for line in SHELL)
    assert any(line.startswith("streamkit capture") for line in SHELL)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index: int, request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": f"readme_block_{index}"}
    exec(compile(BLOCKS[index], f"README.md[python block {index}]", "exec"), namespace)
    # A block that shows a pytest test is run as one, with its fixtures.
    for name, fn in namespace.items():
        if name.startswith("test_") and callable(fn):
            args = {p: request.getfixturevalue(p) for p in inspect.signature(fn).parameters}
            fn(**args)


def _run(line: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(line)
    command: list[str] = [sys.executable, "-m", "streamkit.local.cli", *argv[1:]]
    if "|" in argv:
        # A pipeline runs in a shell (failing when any part fails), `python` as this one.
        shell_line = line.replace(
            "streamkit ", f"{shlex.quote(sys.executable)} -m streamkit.local.cli ", 1
        )
        shell_line = shell_line.replace("| python ", f"| {shlex.quote(sys.executable)} ")
        command = ["bash", "-o", "pipefail", "-c", shell_line]
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )


@pytest.mark.integration
@pytest.mark.parametrize("line", [x for x in SHELL if x.startswith("streamkit replay")])
def test_readme_replay_commands_work_as_printed(line: str, aws: Any) -> None:
    proc = _run(line)
    assert proc.returncode == 0, proc.stderr
    if "|" in line:
        assert proc.stdout.strip(), "the pipeline printed nothing"
    elif "--json" in line:
        assert json.loads(proc.stdout)["ok"] is True  # stdout is exactly one document
    else:
        assert "check: every record processed" in proc.stdout


@pytest.mark.integration
def test_readme_capture_command_works_as_printed(aws: Any, tmp_path: Path) -> None:
    [line] = [x for x in SHELL if x.startswith("streamkit capture")]
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="clickstream", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="clickstream", WaiterConfig={"Delay": 0.1})
    for i in range(20):
        kinesis.put_record(StreamName="clickstream", Data=b'{"page": "/"}', PartitionKey=f"u{i}")
    out = tmp_path / "clickstream.jsonl.gz"
    proc = _run(line.replace("--out clickstream.jsonl.gz", f"--out {out}"))
    assert proc.returncode == 0, proc.stderr
    from streamkit.local.capture import load_records

    assert sum(len(s.records) for s in load_records(out)) == 20


def test_quick_start_commands_exist() -> None:
    assert "./dev run" in TEXT and "./dev test" in TEXT
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in ci
