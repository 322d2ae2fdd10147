"""``streamkit generate``: realistic clickstream or IoT traffic, to a file or a stream."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from streamkit.local.commands.common import positive


def add_parser(sub: Any) -> None:
    gen = sub.add_parser(
        "generate",
        help="generate realistic clickstream or IoT traffic into a capture file or a stream",
        description=(
            "Generate traffic the consumers are built for. clickstream: many users with "
            "sessions and Zipf-skewed page popularity, in Segment, Snowplow (TSV and JSON) "
            "and streamkit.click/1 formats. iot: devices with drifting sensors, spikes "
            "that cross alert thresholds, clock skew and out-of-order readings, in flat, "
            "nested and Device Shadow shapes. Both include a small share of malformed and "
            "late records on purpose. With --out the records go to a capture file (replay "
            "it with `streamkit replay` or `streamkit run --replay`), arrival times spread "
            "over --duration seconds; with --stream they are put on a Kinesis stream of the "
            "endpoint in AWS_ENDPOINT_URL (or --endpoint-url), as fast as it takes them."
        ),
    )
    gen.add_argument("kind", choices=("clickstream", "iot"), help="what traffic to generate")
    gen.add_argument(
        "--rate", type=positive, default=100, metavar="N", help="records per second (default 100)"
    )
    gen.add_argument(
        "--duration", type=positive, default=60, metavar="S", help="seconds of traffic (default 60)"
    )
    gen.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    where = gen.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE", help="write a capture file (.gz to compress)")
    where.add_argument("--stream", metavar="NAME", help="put the records on this Kinesis stream")
    gen.add_argument("--endpoint-url", metavar="URL", help="with --stream: the AWS endpoint")
    gen.add_argument("--region", metavar="REGION", help="with --stream: the AWS region")
    gen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streamkit.local.generators.records import GeneratedRecord

    start = time.time() - args.duration
    records: list[GeneratedRecord]
    if args.kind == "clickstream":
        from streamkit.local.generators.clickstream import clickstream

        records = list(
            clickstream(seed=args.seed, rate=args.rate, duration=args.duration, start=start)
        )
    else:
        from streamkit.local.generators.iot import iot

        records = list(iot(seed=args.seed, rate=args.rate, duration=args.duration, start=start))
    kinds: dict[str, int] = {}
    for r in records:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    if args.out:
        return _to_file(args, records, mix)
    return _to_stream(args, records, mix)


def _to_file(args: argparse.Namespace, records: list[Any], mix: str) -> int:
    from streamkit.local.capture import CapturedRecord, CaptureWriter

    shard = "shardId-000000000000"
    try:
        with CaptureWriter(args.out) as writer:
            writer.start_shard(
                f"arn:aws:kinesis:us-east-1:123456789012:stream/{args.kind}",
                shard,
                "us-east-1",
                None,
            )
            for i, r in enumerate(records, 1):
                writer.write(
                    CapturedRecord(
                        str(i), r.data, r.partition_key, round(r.arrival, 3), shard_id=shard
                    )
                )
    except OSError as e:
        print(
            f"streamkit generate: error: cannot write {args.out}: {e.strerror or e}",
            file=sys.stderr,
        )
        return 2
    print(f"wrote {len(records):,} {args.kind} records ({mix}) to {args.out}")
    return 0


def _to_stream(args: argparse.Namespace, records: list[Any], mix: str) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from streamkit.local.aws import aws_clients
    from streamkit.local.replay import ReplayError, put_in_order

    try:
        kinesis = aws_clients(endpoint_url=args.endpoint_url, region=args.region)("kinesis")
        put_in_order(kinesis, args.stream, ((r.partition_key, r.data, r.arrival) for r in records))
    except (ClientError, BotoCoreError, ReplayError, ValueError) as e:
        print(f"streamkit generate: error: stream {args.stream}: {e}", file=sys.stderr)
        return 2
    print(f"put {len(records):,} {args.kind} records ({mix}) on stream {args.stream}")
    return 0
