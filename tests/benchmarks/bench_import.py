"""Benchmark: how heavy is a handler's import (its Lambda cold start share)?

Run: ``./dev bench`` (or ``.venv/bin/python tests/benchmarks/bench_import.py``).

Measures, with ``python -X importtime`` in fresh interpreters, the cumulative import
time of ``handlers.clickstream`` and ``handlers.iot`` next to ``boto3`` alone, as
medians of interleaved runs, and prints the ratios. Budget: each handler within 1.3x
of ``import boto3`` (a handler that writes to AWS imports boto3 anyway; everything
streamkit adds must fit in the other 30%). Exit status 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

BUDGET = 1.3
ROOT = Path(__file__).parents[2]
MODULES = ("boto3", "handlers.clickstream", "handlers.iot")


def import_us(code: str) -> int:
    """Microseconds of all top-level imports ``python -X importtime -c code`` makes."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = 0
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header line
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):  # not nested
            total += int(parts[1])
    return total


def cost_us(module: str) -> int:
    """Import time of ``module`` beyond what the interpreter imports at startup."""
    return import_us(f"import {module}") - import_us("pass")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=9, help="interpreters per module (default 9)")
    args = ap.parse_args(argv)
    samples: dict[str, list[int]] = {m: [] for m in MODULES}
    for _ in range(args.repeat):
        for m in MODULES:
            samples[m].append(cost_us(m))
    med = {m: statistics.median(v) for m, v in samples.items()}
    ok = True
    print(f"import time, median of {args.repeat} fresh interpreters (python -X importtime):")
    for m in MODULES:
        ratio = med[m] / med["boto3"]
        print(f"  {m:<22} {med[m] / 1000:7.1f} ms  {ratio:4.2f}x boto3")
        if m != "boto3":
            ok &= ratio <= BUDGET
    print(f"budget: each handler <= {BUDGET}x boto3: {'ok' if ok else 'OVER BUDGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
