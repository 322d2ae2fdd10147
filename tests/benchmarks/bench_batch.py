"""Benchmark: streamkit's batch processor and KPL de-aggregation against baselines.

Run: ``./dev bench`` (or ``.venv/bin/python tests/benchmarks/bench_batch.py``).

In one run, on the same 10,000 records of ~300-byte JSON payloads:

* batch: (a) a bare loop of base64 decode + orjson.loads + the record handler,
  (b) Powertools' BatchProcessor with the same handler, (c) streamkit.process_batch.
  Budget: (c) at most 1.3x (a).
* KPL: the same 10,000 user records aggregated with aws_kinesis_agg's own
  aggregator, de-aggregated by aws_kinesis_agg.deaggregate_records (payloads
  base64-decoded, as a consumer must) vs streamkit.decode_event.
  Budget: streamkit at least 3x faster.

Timings are medians of interleaved repetitions; only ratios within this run are
compared, because absolute times on shared machines are noise. Exit status 1 when
a budget is missed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

BATCH_BUDGET = 1.3
KPL_BUDGET = 3.0


def make_payloads(n: int, seed: int = 7) -> list[bytes]:
    """~300-byte clickstream-like JSON documents."""
    rnd = random.Random(seed)
    pages = [f"/products/{i}" for i in range(200)]
    out = []
    for i in range(n):
        doc = {
            "type": "page",
            "event_id": f"{rnd.getrandbits(64):016x}",
            "user_id": f"u{rnd.randrange(50_000)}",
            "session_id": "".join(rnd.choices(string.ascii_lowercase, k=16)),
            "page": rnd.choice(pages),
            "referrer": "https://www.example.com/search?q=" + "".join(rnd.choices("abcdef", k=12)),
            "ts": 1_700_000_000_000 + i,
            "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120",
            "props": {"ab": rnd.choice(["a", "b"]), "w": 1280, "h": 720},
        }
        out.append(orjson.dumps(doc))
    return out


def lambda_event(datas: list[bytes], partition_keys: list[str] | None = None) -> dict[str, Any]:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/clickstream"
    records = []
    for i, data in enumerate(datas):
        seq = str(49590338271490256608559692538361571095921575989136588898 + i)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_keys[i] if partition_keys else f"pk-{i % 97}",
                    "sequenceNumber": seq,
                    "data": base64.b64encode(data).decode("ascii"),
                    "approximateArrivalTimestamp": 1_700_000_000.123 + i / 1000,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000003:{seq}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/consumer",
                "awsRegion": "us-east-1",
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


def timeit(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds per case, repetitions interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():  # warm-up
        fn()
    for _ in range(repeat):
        for name, fn in cases.items():
            samples[name].append(timeit(fn))
    return {k: statistics.median(v) for k, v in samples.items()}


def bench_batch(n: int, repeat: int) -> tuple[dict[str, float], float]:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    import streamkit

    payloads = make_payloads(n)
    event = lambda_event(payloads)
    views: dict[str, int] = {}

    def count(doc: Any) -> None:  # the record handler's business logic
        views[doc["page"]] = views.get(doc["page"], 0) + 1

    def bare() -> None:
        b64 = base64.b64decode
        loads = orjson.loads
        for r in event["Records"]:
            count(loads(b64(r["kinesis"]["data"])))

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

    def pt_handler(record: Any) -> None:
        count(orjson.loads(record.kinesis.data_as_bytes()))

    def powertools() -> None:
        process_partial_response(
            event=event, record_handler=pt_handler, processor=processor, context=None
        )

    def sk_handler(record: streamkit.Record) -> None:
        count(record.json())

    def sk() -> None:
        streamkit.process_batch(event, sk_handler)

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):  # EMF + log lines go to stdout in Lambda
        times = measure({"bare": bare, "powertools": powertools, "streamkit": sk}, repeat)
    expected = n * (repeat * 3 + 3)
    assert sum(views.values()) == expected, (sum(views.values()), expected)
    return times, times["streamkit"] / times["bare"]


def bench_kpl(n: int, repeat: int) -> tuple[dict[str, float], float]:
    from aws_kinesis_agg.aggregator import RecordAggregator
    from aws_kinesis_agg.deaggregator import deaggregate_records

    import streamkit

    payloads = make_payloads(n, seed=11)
    agg = RecordAggregator()
    blobs: list[bytes] = []
    pks: list[str] = []
    for i, p in enumerate(payloads):
        full = agg.add_user_record(f"user-{i % 500}", p)
        if full is not None:
            pk, _ehk, blob = full.get_contents()
            blobs.append(blob)
            pks.append(pk)
    rest = agg.clear_and_get()
    if rest is not None and rest.get_num_user_records():
        pk, _ehk, blob = rest.get_contents()
        blobs.append(blob)
        pks.append(pk)
    event = lambda_event(blobs, pks)

    def reference() -> list[bytes]:
        return [
            base64.b64decode(r["kinesis"]["data"]) for r in deaggregate_records(event["Records"])
        ]

    def sk() -> list[bytes]:
        return [r.data for r in streamkit.decode_event(event)]

    assert reference() == sk() == payloads, "decoders disagree"
    times = measure({"aws_kinesis_agg": reference, "streamkit": sk}, repeat)
    return times, times["aws_kinesis_agg"] / times["streamkit"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000, help="records per batch")
    ap.add_argument("--repeat", type=int, default=15, help="timed repetitions per case")
    args = ap.parse_args(argv)

    ok = True
    times, ratio = bench_batch(args.records, args.repeat)
    print(f"batch of {args.records} records, median of {args.repeat}:")
    for name, t in times.items():
        print(f"  {name:<12} {t * 1000:8.2f} ms  {t / times['bare']:5.2f}x bare")
    verdict = "ok" if ratio <= BATCH_BUDGET else "OVER BUDGET"
    print(f"  streamkit/bare = {ratio:.2f} (budget <= {BATCH_BUDGET}) {verdict}")
    ok &= ratio <= BATCH_BUDGET

    times, speedup = bench_kpl(args.records, args.repeat)
    print(f"KPL de-aggregation of {args.records} user records, median of {args.repeat}:")
    for name, t in times.items():
        print(f"  {name:<16} {t * 1000:8.2f} ms")
    verdict = "ok" if speedup >= KPL_BUDGET else "UNDER BUDGET"
    print(f"  aws_kinesis_agg/streamkit = {speedup:.2f}x (budget >= {KPL_BUDGET}x) {verdict}")
    ok &= speedup >= KPL_BUDGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
