"""Benchmark: the ESM simulator must not be the bottleneck of a local run.

Run: ``./dev bench`` (or ``.venv/bin/python tests/benchmarks/bench_simulator.py``).

In one run, against the embedded endpoint (moto, in a child process so the server
does not share this process's GIL): put 100,000 records of ~200 bytes on one
shard, then

* raw: read them all back with GetShardIterator + GetRecords (Limit 10,000),
* simulator: replay them through the ESM simulator (BatchSize 100, no-op handler:
  events built, handed over, responses classified, checkpoints kept),

both with the same kind of boto3 client, and print records/s and the ratio.
Budget: the simulator reaches at least 70% of the raw GetRecords rate. Exit
status 1 when the budget is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

BUDGET = 0.70


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000, help="records to put and read")
    ap.add_argument("--batch-size", type=int, default=100, help="the mapping's BatchSize")
    ap.add_argument(
        "--mode",
        choices=("process", "thread"),
        default="process",
        help="run moto in a child process (default) or a thread",
    )
    args = ap.parse_args(argv)

    from streamkit.local.aws import LocalAWS, aws_clients
    from streamkit.local.config import EsmSettings
    from streamkit.local.esm import EventSourceMapping

    with LocalAWS(mode=args.mode) as aws:
        aws.apply_env()
        kinesis = aws_clients(
            endpoint_url=aws.endpoint_url, region=aws.region, numeric_timestamps=True
        )("kinesis")
        kinesis.create_stream(StreamName="bench", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="bench", WaiterConfig={"Delay": 0.1})
        put_started = time.perf_counter()
        _put(kinesis, args.records)
        put_s = time.perf_counter() - put_started
        print(f"put {args.records:,} records in {put_s:.1f} s (setup, not compared)")

        raw_s, raw_n = _raw_read(kinesis)
        handled = 0

        def noop(event: dict[str, Any], context: Any) -> None:
            nonlocal handled
            handled += len(event["Records"])

        esm = EventSourceMapping(
            noop, EsmSettings("TRIM_HORIZON", batch_size=args.batch_size), kinesis, "bench"
        )
        started = time.perf_counter()
        stats = esm.run()
        sim_s = time.perf_counter() - started

    assert raw_n == args.records, (raw_n, args.records)
    assert stats.records_processed == handled == args.records, (stats.to_dict(), handled)
    raw_rate = raw_n / raw_s
    sim_rate = stats.records_processed / sim_s
    ratio = sim_rate / raw_rate
    print(f"raw GetRecords     {raw_rate:12,.0f} records/s  ({raw_s:.2f} s)")
    print(
        f"ESM simulator      {sim_rate:12,.0f} records/s  ({sim_s:.2f} s, "
        f"{stats.invocations:,} invocations)"
    )
    verdict = "ok" if ratio >= BUDGET else "UNDER BUDGET"
    print(f"simulator/raw = {ratio:.2f} (budget >= {BUDGET}) {verdict}")
    return 0 if ratio >= BUDGET else 1


def _put(kinesis: Any, n: int) -> None:
    payload = (
        b'{"type":"page","user_id":"u12345","session":"s-9f8e7d","page":"/products/42",'
        b'"referrer":"https://example.com/","ts":1700000000000,"ua":"Mozilla/5.0 (X11)",'
        b'"props":{"ab":"b","w":1280,"h":720}}'
    )
    for start in range(0, n, 500):
        count = min(500, n - start)
        entries = [{"Data": payload, "PartitionKey": f"u{start + i}"} for i in range(count)]
        resp = kinesis.put_records(StreamName="bench", Records=entries)
        if resp.get("FailedRecordCount"):
            raise RuntimeError(f"put_records failed: {resp['FailedRecordCount']} records")


def _raw_read(kinesis: Any) -> tuple[float, int]:
    shard = kinesis.list_shards(StreamName="bench")["Shards"][0]["ShardId"]
    started = time.perf_counter()
    it = kinesis.get_shard_iterator(
        StreamName="bench", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    n = 0
    while it:
        resp = kinesis.get_records(ShardIterator=it, Limit=10_000)
        n += len(resp["Records"])
        it = resp.get("NextShardIterator")
        if not resp["Records"] and not resp.get("MillisBehindLatest"):
            break
    return time.perf_counter() - started, n


if __name__ == "__main__":
    sys.exit(main())
