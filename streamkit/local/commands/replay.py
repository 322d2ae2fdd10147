"""``streamkit replay``: captures through a handler with Lambda's ESM rules."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    replay = sub.add_parser(
        "replay",
        help="replay captured records through a handler with Lambda's Kinesis ESM rules",
        description=(
            "Load captures (streamkit capture files, `aws kinesis get-records` JSON "
            "output, or saved Lambda Kinesis events) into a stream on the local endpoint, "
            "one local shard per captured shard, and run them through the handler with "
            "the ESM simulator: batching, partial batch responses, retries, bisection, "
            "record age, filters and on-failure destinations as Lambda applies them, on "
            "a virtual clock that starts at the first captured arrival time. Without "
            "AWS_ENDPOINT_URL or --endpoint-url an embedded AWS endpoint is started. "
            "Exit status: 0 when every record ended processed, filtered or in the "
            "on-failure destination; 1 when some record ended nowhere; 2 for bad input."
        ),
    )
    replay.add_argument(
        "files", nargs="+", metavar="FILE", help="capture / get-records / Lambda event files"
    )
    replay.add_argument(
        "--handler",
        required=True,
        metavar="MODULE:FUNCTION",
        help="the Lambda handler to run, e.g. handlers.clickstream:handler",
    )
    replay.add_argument(
        "--config",
        metavar="PATH",
        help="consumer config (default: infra/consumers.json found from the current directory)",
    )
    replay.add_argument(
        "--consumer",
        metavar="NAME",
        help="use this consumer's event source mapping settings, timeout and destination "
        "(default: Lambda's defaults with ReportBatchItemFailures and 10 retries)",
    )
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument(
        "--stream", metavar="NAME", help="name of the local stream to create (default: random)"
    )
    replay.add_argument(
        "--endpoint-url", metavar="URL", help="use this AWS endpoint instead of the embedded one"
    )
    faults = replay.add_argument_group(
        "fault injection",
        "Make invocations fail the ways Lambda invocations fail, to watch the handler "
        "survive Lambda's retry rules. Rates are per invocation, between 0 and 1.",
    )
    faults.add_argument(
        "--fault-seed", type=int, default=0, metavar="N", help="seed of the fault draws"
    )
    faults.add_argument(
        "--fault-raise",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="the invocation raises before the handler runs",
    )
    faults.add_argument(
        "--fault-crash-after",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="the handler runs, then the invocation fails and its response is lost",
    )
    faults.add_argument(
        "--fault-timeout",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="the handler runs, then the invocation times out",
    )
    faults.add_argument(
        "--fault-partial",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="the response reports a random record of the batch as failed",
    )
    faults.add_argument(
        "--fault-throttle",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="Lambda throttles the invocation (retried, not counted as an attempt)",
    )
    replay.set_defaults(func=run)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from streamkit.local.faults import FaultPlan
    from streamkit.local.replay import run_command

    try:
        faults = FaultPlan(
            seed=args.fault_seed,
            crash_rate=args.fault_raise,
            crash_after_rate=args.fault_crash_after,
            timeout_rate=args.fault_timeout,
            partial_rate=args.fault_partial,
            throttle_rate=args.fault_throttle,
        )
    except ValueError as e:
        print(f"streamkit replay: error: --fault-*: {e}", file=sys.stderr)
        return 2
    return run_command(
        args.files,
        args.handler,
        config_path=args.config,
        consumer_name=args.consumer,
        as_json=args.json,
        faults=faults,
        endpoint_url=args.endpoint_url,
        stream_name=args.stream,
    )
