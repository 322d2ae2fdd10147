"""What ``bench_cost.py`` measured, and how it is printed and judged.

The records of one run (:class:`Scenario`, :class:`Side`, :class:`Result`), the table
per 1,000 input records with the ratios Powertools / streamkit, and the budgets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cost_meter import Meter

CONSUMERS = ("clickstream", "iot")
IMPLEMENTATIONS = ("streamkit", "powertools")

DEFAULT_WRITES_BUDGET = 0.25
FAST_WRITES_BUDGET = 0.1
WCU_RATIO_BUDGET = 15.0


@dataclass(frozen=True)
class Scenario:
    name: str
    rates: Mapping[str, float]
    duration: float
    writes_budget: float
    #: The Powertools baseline reads only the first this many seconds of the traffic
    #: (None: all of it); its figures are per 1,000 of the records it read.
    baseline_duration: float | None = None


@dataclass
class Side:
    """One implementation of one consumer in one scenario: what it cost."""

    #: records put on the stream this side read
    records: int
    meter: Meter
    aggregate_table: str
    tables: frozenset[str]
    cpu_s: float = 0.0
    invocations: int = 0
    records_seen: int = 0
    wall_s: float = 0.0


@dataclass
class Result:
    scenario: Scenario
    records: dict[str, int] = field(default_factory=dict)
    sides: dict[tuple[str, str], Side] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: consumer -> its shipped mapping settings, as run
    settings: dict[str, str] = field(default_factory=dict)
    #: epoch seconds of the first arrival
    start: float = 0.0


# ------------------------------------------------------------------ report


def per_k(n: float, records: int) -> float:
    return 1000.0 * n / records if records else math.nan


def _ops(counter: Counter[str]) -> str:
    return ", ".join(f"{op} {n:,}" for op, n in sorted(counter.items())) or "-"


def print_result(result: Result) -> None:
    sc = result.scenario
    total = sum(result.records.values())
    rates = ", ".join(f"{n} {sc.rates[n]:g}/s" for n in CONSUMERS)
    phase = int(result.start) % 60
    print(
        f"\n== scenario {sc.name}: {rates}, {sc.duration:g} s from second {phase} of a "
        f"minute, {total:,} records"
    )
    head = (
        f"  {'per 1,000 records':<24}{'agg writes':>11}{'item writes':>12}{'WCU':>9}"
        f"{'S3 req':>8}{'SQS req':>8}{'CPU ms':>9}"
    )
    for name in CONSUMERS:
        print(f"  {name}: {result.settings.get(name, '?')}")
    if sc.baseline_duration is not None:
        baseline = {n: s.records for (n, i), s in result.sides.items() if i == "powertools"}
        print(
            f"  powertools baseline: the first {sc.baseline_duration:g} s of the traffic "
            f"({', '.join(f'{n} {k:,}' for n, k in baseline.items())} records), per 1,000 "
            "of those"
        )
    print(head)
    rows: dict[tuple[str, str], tuple[float, ...]] = {}
    for (name, impl), side in _ordered(result.sides):
        n = side.records
        m = side.meter
        row = (
            per_k(m.total_item_writes(frozenset({side.aggregate_table})), n),
            per_k(m.total_item_writes(), n),
            per_k(m.total_write_units(), n),
            per_k(sum(m.service_requests("s3").values()), n),
            per_k(sum(m.service_requests("sqs").values()), n),
            per_k(side.cpu_s * 1000, n),
        )
        rows[(name, impl)] = row
        cells = "".join(f"{v:>{w},.1f}" for v, w in zip(row, _WIDTHS, strict=True))
        print(f"  {name + ' ' + impl:<24}{cells}")
    for name in CONSUMERS:
        sk, pt = rows.get((name, "streamkit")), rows.get((name, "powertools"))
        if sk and pt:
            ratios = "".join(
                f"{_ratio(p, s):>{w}}" for p, s, w in zip(pt, sk, _WIDTHS, strict=True)
            )
            print(f"  {name + ' pt/sk':<24}{ratios}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    for (name, impl), side in _ordered(result.sides):
        m = side.meter
        print(
            f"  {name}/{impl}: {side.invocations} invocations; DynamoDB "
            f"{_ops(m.service_requests('dynamodb'))}; item writes by table "
            f"{dict(m.item_writes)}; WCU by table {dict(m.write_units)}; "
            f"S3 {_ops(m.service_requests('s3'))} (intent objects {m.intent_puts}); "
            f"SQS {_ops(m.service_requests('sqs'))}; "
            f"failed conditions {m.failed_conditions}"
        )


_WIDTHS = (11, 12, 9, 8, 8, 9)


def _ordered(sides: Mapping[tuple[str, str], Side]) -> list[tuple[tuple[str, str], Side]]:
    return sorted(sides.items(), key=lambda kv: (kv[0][0], IMPLEMENTATIONS.index(kv[0][1])))


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "-" if a == 0 else "inf"
    return f"{a / b:.1f}x"


def overall(result: Result) -> dict[str, float]:
    """Both consumers together: aggregate writes per record, WCU per side, ratio."""
    total = sum(result.records.values())
    sk_agg = sum(
        s.meter.total_item_writes(frozenset({s.aggregate_table}))
        for (n, impl), s in result.sides.items()
        if impl == "streamkit"
    )
    # Each side's write units scaled to the whole traffic (the baseline may have read
    # only its first seconds): units per record of that side x the consumer's records.
    wcu = {
        impl: sum(
            s.meter.total_write_units() * result.records[n] / s.records
            for (n, i), s in result.sides.items()
            if i == impl and s.records
        )
        for impl in IMPLEMENTATIONS
    }
    return {
        "records": total,
        "sk_agg_per_record": sk_agg / total if total else math.nan,
        "sk_wcu": wcu["streamkit"],
        "pt_wcu": wcu["powertools"],
        "wcu_ratio": wcu["powertools"] / wcu["streamkit"] if wcu["streamkit"] else math.inf,
    }


def check_budgets(result: Result, wcu_budget: float) -> list[str]:
    """Lines saying each budget's verdict; misses start with "MISSED"."""
    o = overall(result)
    sc = result.scenario
    lines = []
    ok = o["sk_agg_per_record"] <= sc.writes_budget
    lines.append(
        f"{'ok' if ok else 'MISSED'}: [{sc.name}] streamkit aggregate item writes per record "
        f"{o['sk_agg_per_record']:.3f} <= {sc.writes_budget:g}"
    )
    ok = o["wcu_ratio"] >= wcu_budget
    lines.append(
        f"{'ok' if ok else 'MISSED'}: [{sc.name}] Powertools / streamkit write units "
        f"{o['pt_wcu']:,.0f} / {o['sk_wcu']:,.0f} = {o['wcu_ratio']:.1f}x >= {wcu_budget:g}x"
    )
    return lines


def missed_status(verdicts: Sequence[str], *, enforced: bool = True) -> int:
    """1 (after saying which) when a verdict line starts with "MISSED" and budgets are
    enforced, else 0: the exit status of a benchmark whose runs were right."""
    missed = [v for v in verdicts if v.startswith("MISSED")]
    if missed and enforced:
        print(f"{len(missed)} budget(s) missed: " + " | ".join(missed))
        return 1
    return 0
