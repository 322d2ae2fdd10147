"""The benchmark scripts still run (tiny sizes; timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks"


def test_bench_batch_runs_and_prints_its_ratios() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_batch.py"), "--records", "200", "--repeat", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit 1 only means a budget was missed at this toy size; 2+ would be a crash.
    assert proc.returncode in (0, 1), proc.stderr
    assert "streamkit/bare =" in proc.stdout
    assert "aws_kinesis_agg/streamkit =" in proc.stdout


def test_cost_cpu_runs_and_prints_its_ratio() -> None:
    proc = subprocess.run(
        [
            sys.executable, str(BENCH / "cost_cpu.py"), "--records", "300", "--repetitions", "1",
            "--no-budgets",
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratio pipeline / bare" in proc.stdout
    assert "of which planning" in proc.stdout
    # 300 records in two windows: layout='window' writes one item per aggregate and
    # window (2 x 2) besides a batch get and the ledger's requests; layout='key' one
    # per page and site, twice (2 x (12 + 5))
    lines = proc.stdout.splitlines()
    requests = next(line for line in lines if "requests per invocation" in line)
    assert 2 * 2 + 1 <= int(requests.split()[3]) < 2 * (12 + 5), requests
    key_layout = next(line for line in lines if "same, layout='key'" in line)
    key_requests = int(key_layout.split("window: ")[1].split()[0])
    assert key_requests - int(requests.split()[3]) == 2 * (12 + 5) - 2 * 2, key_layout
