"""The ``streamkit`` command.

Local tooling: never imported by a Lambda handler. Each subcommand imports what it
needs only when it runs, so ``streamkit --help`` stays fast.

Example::

    $ streamkit demo --records 2000
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamkit",
        description="Idempotent Kinesis batch processing for AWS Lambda: local tools.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="process a generated batch the way Lambda would, retry included",
        description=(
            "Build a Lambda Kinesis event of clickstream records (plain, KPL-aggregated, "
            "and some deliberately broken), process it with streamkit.process_batch, "
            "make one record fail transiently, replay Lambda's retry from the reported "
            "sequence number, and show that every record ended exactly once: handled or "
            "dead-lettered."
        ),
    )
    demo.add_argument(
        "--records", type=_positive, default=1000, help="plain records in the batch (default 1000)"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    demo.set_defaults(func=_demo)
    _add_capture(sub)
    _add_replay(sub)
    return parser


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    replay.set_defaults(func=_replay)


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


def _replay(args: argparse.Namespace) -> int:
    from streamkit.local.faults import FaultPlan
    from streamkit.replay import run_command

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


def _add_capture(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    capture = sub.add_parser(
        "capture",
        help="save the records of a Kinesis stream's shards to a capture file for replay",
        description=(
            "Read a Kinesis stream's shards with GetRecords until caught up and save what "
            "a consumer would see to a capture file: JSON Lines (gzip when FILE ends in "
            ".gz), one header line per shard (streamkit_capture, stream_arn, shard_id, "
            "region, captured_at) followed by that shard's records in the GetRecords "
            "shape (SequenceNumber, ApproximateArrivalTimestamp, Data as base64, "
            "PartitionKey). Replay also reads `aws kinesis get-records` output and saved "
            "Lambda events. The format is described in README.md (Captures) and in "
            "`python -m pydoc streamkit.capture`. "
            "AWS settings come from the usual environment (AWS_REGION, AWS_ENDPOINT_URL, "
            "credentials); --region and --endpoint-url override them."
        ),
    )
    capture.add_argument("--stream", required=True, metavar="NAME", help="stream name")
    capture.add_argument(
        "--shard",
        dest="shards",
        action="extend",
        nargs="+",
        metavar="ID",
        help="capture only these shards (repeatable; default: every shard of the stream)",
    )
    capture.add_argument(
        "--from",
        dest="start",
        choices=("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"),
        default="TRIM_HORIZON",
        help="where to start reading each shard (default TRIM_HORIZON, the oldest record)",
    )
    capture.add_argument(
        "--timestamp",
        type=_timestamp,
        metavar="ISO8601|EPOCH",
        help="start time for --from AT_TIMESTAMP, e.g. 2026-11-28T10:00:00Z or 1764324000",
    )
    capture.add_argument(
        "--max-records",
        type=_positive,
        metavar="N",
        help="stop after N records in total over all shards (default: until caught up)",
    )
    capture.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="capture file to write; gzip-compressed when it ends in .gz",
    )
    capture.add_argument("--region", help="AWS region (default: AWS_REGION, then boto3's chain)")
    capture.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="Kinesis endpoint, e.g. http://127.0.0.1:4566 (default: AWS_ENDPOINT_URL)",
    )
    capture.set_defaults(func=_capture, parser=capture)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _timestamp(text: str) -> float:
    from streamkit.records import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time or epoch seconds, got {text!r}"
        ) from None


def _demo(args: argparse.Namespace) -> int:
    from streamkit.demo import run_demo

    return run_demo(records=args.records, seed=args.seed, as_json=args.json)


def _capture(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.start == "AT_TIMESTAMP" and args.timestamp is None:
        parser.error("--timestamp is required with --from AT_TIMESTAMP")
    if args.start != "AT_TIMESTAMP" and args.timestamp is not None:
        parser.error(f"--timestamp is only allowed with --from AT_TIMESTAMP (not {args.start})")

    from streamkit.capture import CaptureError, ProgressDisplay, capture_stream, kinesis_client

    progress = ProgressDisplay(sys.stderr)
    try:
        summary = capture_stream(
            kinesis_client(region=args.region, endpoint_url=args.endpoint_url),
            args.stream,
            args.out,
            shard_ids=args.shards,
            start=args.start,
            timestamp=args.timestamp,
            max_records=args.max_records,
            progress=progress,
        )
    except (CaptureError, OSError) as e:
        progress.finish()
        print(f"streamkit capture: error: {e}", file=sys.stderr)
        return 2
    progress.finish()
    print(summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
