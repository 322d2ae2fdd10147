"""Benchmark: ``streamkit run`` end to end, faster than real time (issue 13, item 4).

Run: ``.venv/bin/python tests/benchmarks/cost_speed.py`` (``--no-budgets`` to only
print); ``bench_cost.py`` runs it too.

Two runs of the real command, each a subprocess (``python -m streamkit.local.cli run
--json``: embedded endpoints, worker processes, the summary and its check), one after
the other:

* **defaults**: 30 s of traffic, clickstream 100 records/s and iot 50 records/s;
* **1000/s**: ``--rate 1000 --duration 30``, 1,000 records/s for each consumer.

Printed for each: wall seconds (the subprocess, interpreter start included), CPU
seconds of the run and every process it started and waited for (the endpoints,
worker processes, the reference; ``RUSAGE_CHILDREN``), records/s end to end (records
the consumers committed / wall seconds) and its ratio to the offered rate (above 1:
faster than real time), plus the load average when the run started (the machine is
shared, and wall time with it).

Budgets (issue 13): the default run under :data:`DEFAULT_BUDGET_S` seconds, the
1000/s run within :data:`FAST_BUDGET_X` times its traffic's duration; exit 1 when
one is missed, 2 when a run fails or its summary is not ok.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
#: The default run finishes in under this many seconds.
DEFAULT_BUDGET_S = 30.0
#: The 1000/s run finishes within this many times its traffic's duration.
FAST_BUDGET_X = 1.5
DURATION_S = 30.0
FAST_RATE = 1000.0
#: streamkit run's default rates (engine.DEFAULT_RATES), for the offered rate.
DEFAULT_RATES = {"clickstream": 100.0, "iot": 50.0}


@dataclass
class SpeedRun:
    """One ``streamkit run`` and how long it took."""

    name: str
    args: list[str]
    offered_per_s: float
    duration_s: float
    budget_s: float
    wall_s: float = 0.0
    cpu_s: float = 0.0
    load: float = 0.0
    committed: int = 0
    ok: bool = False
    problem: str | None = None

    @property
    def records_per_s(self) -> float:
        return self.committed / self.wall_s if self.wall_s else 0.0

    @property
    def keeps_up(self) -> float:
        """End-to-end records/s over the offered rate (1: exactly real time)."""
        return self.records_per_s / self.offered_per_s

    @property
    def within(self) -> bool:
        return (
            self.wall_s < self.budget_s
            if self.name == "defaults"
            else (self.wall_s <= self.budget_s)
        )


@dataclass
class SpeedResult:
    runs: list[SpeedRun]
    problems: list[str] = field(default_factory=list)


def _run(run: SpeedRun, say: Callable[[str], None]) -> None:
    say(f"speed: streamkit run {' '.join(run.args)}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "streamkit.local.cli", "run", "--json", *run.args],
        cwd=ROOT,
        capture_output=True,
        check=False,
        # the embedded endpoint, whatever the shell exports (a lasting endpoint with
        # an earlier run's output would refuse the run)
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
    )
    run.wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        summary: dict[str, Any] = orjson.loads(proc.stdout)
    except orjson.JSONDecodeError:
        tail = proc.stderr.decode(errors="replace").strip()[-1500:]
        run.problem = f"{run.name}: exit {proc.returncode}, no JSON summary: {tail}"
        return
    run.committed = sum(int(c["committed"]) for c in summary["consumers"].values())
    run.ok = bool(summary["ok"]) and proc.returncode == 0
    if not run.ok:
        run.problem = f"{run.name}: the run's check failed (exit {proc.returncode})"


def measure(
    *, duration: float = DURATION_S, fast_rate: float = FAST_RATE, say: Callable[[str], None]
) -> SpeedResult:
    """Both runs, one after the other."""
    runs = [
        SpeedRun(
            "defaults",
            [],
            offered_per_s=sum(DEFAULT_RATES.values()),
            duration_s=DURATION_S,
            budget_s=DEFAULT_BUDGET_S,
        ),
        SpeedRun(
            f"{fast_rate:g}/s",
            ["--rate", f"{fast_rate:g}", "--duration", f"{duration:g}"],
            offered_per_s=fast_rate * len(DEFAULT_RATES),
            duration_s=duration,
            budget_s=FAST_BUDGET_X * duration,
        ),
    ]
    for run in runs:
        _run(run, say)
    return SpeedResult(runs, [r.problem for r in runs if r.problem])


def report_lines(result: SpeedResult) -> list[str]:
    lines = [
        "streamkit run end to end (issue 13 item 4; wall includes interpreter start; CPU: "
        "the run and every process it waited for)",
        f"  {'run':<10} {'traffic':>8} {'offered/s':>10} {'wall s':>7} {'CPU s':>7} "
        f"{'records':>8} {'records/s':>10} {'x offered':>9} {'load':>5}",
    ]
    lines.extend(
        f"  {r.name:<10} {r.duration_s:>7g}s {r.offered_per_s:>10,.0f} {r.wall_s:>7.1f} "
        f"{r.cpu_s:>7.1f} {r.committed:>8,} {r.records_per_s:>10,.0f} {r.keeps_up:>9.2f} "
        f"{r.load:>5.2f}"
        for r in result.runs
    )
    return lines


def print_result(result: SpeedResult) -> None:
    print()
    for line in report_lines(result):
        print(line)
    for problem in result.problems:
        print(f"SPEED RUN PROBLEM: {problem}")


def verdicts(result: SpeedResult) -> list[str]:
    """One verdict line per run; a miss starts with "MISSED" (as ``cost_report``'s)."""
    out = []
    for r in result.runs:
        if r.name == "defaults":
            rule = f"< {r.budget_s:g} s"
        else:
            rule = f"<= {FAST_BUDGET_X:g} x {r.duration_s:g} s = {r.budget_s:g} s"
        out.append(
            f"{'ok' if r.within else 'MISSED'}: streamkit run {r.name} wall {r.wall_s:.1f} s "
            f"{rule} ({r.keeps_up:.2f}x real time, CPU {r.cpu_s:.1f} s)"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--duration", type=float, default=DURATION_S, help="fast run's traffic, s")
    ap.add_argument("--fast-rate", type=float, default=FAST_RATE, help="records/s (1000)")
    ap.add_argument("--no-budgets", action="store_true", help="print only, exit 0 unless wrong")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"cost_speed {time.perf_counter() - started:6.1f}s {text}", file=sys.stderr)

    result = measure(duration=args.duration, fast_rate=args.fast_rate, say=say)
    print_result(result)
    lines = verdicts(result)
    print()
    for line in lines:
        print(("budget " if not args.no_budgets else "target (not enforced) ") + line)
    if result.problems:
        return 2
    from cost_report import missed_status  # beside this script

    return missed_status(lines, enforced=not args.no_budgets)


if __name__ == "__main__":
    sys.exit(main())
