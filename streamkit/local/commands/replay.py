"""``streamkit replay``: captures through a handler with Lambda's ESM rules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from streamkit.local.console import StatusLine
from streamkit.local.handler_output import STDERR, HandlerOutput, handler_output

if TYPE_CHECKING:
    from streamkit.local.capture import ShardCapture
    from streamkit.local.config import ConsumerConfig
    from streamkit.local.esm import EsmStats, Handler
    from streamkit.local.faults import FaultPlan


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
            "The handler sees each record's captured sequence number, partition key and "
            "arrival time, and reports failures by them. stdout carries only the summary "
            "(with --json exactly one JSON document); what the handler writes (print, "
            "logging, Powertools logs and EMF metrics) goes to stderr, or to --logs FILE. "
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
    replay.add_argument(
        "--json", action="store_true", help="print the summary as exactly one JSON document"
    )
    replay.add_argument(
        "--logs",
        default=STDERR,
        metavar="FILE",
        help="write the handler's output (print, logging, Powertools logs, EMF metrics) "
        "to FILE instead of stderr (default: -, stderr)",
    )
    replay.add_argument(
        "--execution",
        choices=("process", "inline"),
        default="process",
        help="process (default): the handler runs in Lambda-like execution environments, "
        "one worker process per shard under AWS's runtime interface client (awslambdaric), "
        "killed at the function timeout; inline: in this process",
    )
    replay.add_argument(
        "--read-limits",
        action="store_true",
        help="read each shard within Kinesis's per-shard limits, 5 GetRecords calls/s and "
        "2 MB/s (spec 7.2); a refused read backs off and polls again, counted in "
        "read_throttles (default: reads are unlimited)",
    )
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
    """``streamkit replay``: 0 when every record was resolved, 1 when some was not,
    2 for bad input (handler, config, files, fault rates)."""
    import os

    from streamkit.local.faults import FaultPlan

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
        return _fail(f"--fault-*: {e}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # so `--handler handlers.clickstream:handler` imports
    try:
        redirect = handler_output(args.logs)
    except OSError as e:
        return _fail(f"--logs {args.logs}: cannot write: {e.strerror or e}")
    with redirect as output:  # from the handler's import on, its output stays off stdout
        summary = _load_and_replay(args, faults, output)
    if isinstance(summary, int):
        return summary
    if args.json:
        print(orjson.dumps(summary).decode())
    else:
        _print_summary(summary, sys.stdout)
    return 0 if summary["ok"] else 1


def _load_and_replay(
    args: argparse.Namespace, faults: FaultPlan, output: HandlerOutput
) -> dict[str, Any] | int:
    """Import the handler, load the config and files, replay: the summary, or exit
    status 2 after printing what was wrong."""
    from streamkit.local.capture import CaptureError
    from streamkit.local.config import ConfigError, load_consumers
    from streamkit.local.replay import ReplayError, load_sources, resolve_handler

    try:
        handler = resolve_handler(args.handler)
        consumer = None
        if args.consumer:
            consumers = load_consumers(args.config)
            if args.consumer not in consumers:
                known = ", ".join(sorted(consumers))
                return _fail(f"--consumer {args.consumer!r} is not in the config (known: {known})")
            consumer = consumers[args.consumer]
        sources = load_sources(args.files)
    except (ReplayError, ConfigError, CaptureError) as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"cannot read {e.filename or 'input'}: {e.strerror or e}")
    try:
        return _replay_on_endpoint(args, handler, consumer, sources, faults, output)
    except ReplayError as e:
        return _fail(str(e))


def _fail(message: str) -> int:
    print(f"streamkit replay: error: {message}", file=sys.stderr)
    return 2


def _replay_on_endpoint(
    args: argparse.Namespace,
    handler: Handler,
    consumer: ConsumerConfig | None,
    sources: list[ShardCapture],
    faults: FaultPlan,
    output: HandlerOutput,
) -> dict[str, Any]:
    """Replay on ``--endpoint-url``, AWS_ENDPOINT_URL or an embedded endpoint; the summary."""
    import os

    from streamkit.local.aws import LocalAWS, aws_clients, endpoint_from_env
    from streamkit.local.replay import replay
    from streamkit.local.runtime import handler_reference

    local: LocalAWS | None = None
    endpoint = args.endpoint_url or endpoint_from_env()
    if endpoint is None:
        local = LocalAWS().start()
        local.apply_env()
        endpoint = local.endpoint_url
    progress = _ReplayProgress(sum(len(s.records) for s in sources))
    try:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        kinesis = aws_clients(endpoint_url=endpoint, region=region, numeric_timestamps=True)(
            "kinesis"
        )
        report = replay(
            sources,
            handler if args.execution == "inline" else handler_reference(handler),
            kinesis_client=kinesis,
            consumer=consumer,
            stream_name=args.stream,
            faults=faults,
            progress=progress,
            # Worker processes get the handler by name (imported here only to check it).
            execution=args.execution,
            log_sink=output.line,
            read_limits=args.read_limits,
        )
    finally:
        progress.finish()  # before any error message, which would share the status line
        if local is not None:
            local.stop()
    summary = report.to_dict()
    summary["endpoint"] = "embedded" if local is not None else endpoint
    return summary


class _ReplayProgress:
    """The replay's ``progress`` callback: records resolved so far, on a StatusLine.

    Outside a terminal a line is printed every tenth of the records (at least every
    1000) and when all are resolved.
    """

    def __init__(self, total: int) -> None:
        self.status = StatusLine()
        self.total = total
        self._resolved_at_last_line = 0

    def __call__(self, stats: EsmStats) -> None:
        resolved = len(stats.outcomes)
        milestone = (
            resolved - self._resolved_at_last_line >= max(1000, self.total // 10)
            or resolved == self.total
        )
        if milestone:
            self._resolved_at_last_line = resolved
        self.status.update(
            f"replay: {resolved:,}/{self.total:,} records resolved, "
            f"{stats.invocations:,} invocations, {stats.records_discarded:,} discarded",
            milestone=milestone,
        )

    def finish(self) -> None:
        self.status.done()


def _print_summary(s: Mapping[str, Any], out: TextIO) -> None:
    """The human summary: counts, destination, and whether every record was resolved."""
    rows = [
        ("records in", s["records_in"]),
        ("invocations", s["invocations"]),
        ("records delivered (with re-deliveries)", s["records_delivered"]),
        ("batch item failures reported", s["batch_item_failures_reported"]),
        ("records discarded", s["records_discarded"]),
        ("on-failure messages", s["on_failure_messages"]),
        ("filtered out", s["filtered_out"]),
        ("records processed", s["records_processed"]),
        ("unresolved", s["unresolved"]),
    ]
    print(f"replayed {s['records_loaded']} records from {s['shards']} shard(s)", file=out)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v:>8,}", file=out)
    if s["destination"]:
        print(f"  on-failure destination: {s['destination']}", file=out)
    verdict = (
        "every record processed, filtered or sent to the destination"
        if s["ok"]
        else (f"{s['unresolved']} record(s) ended nowhere")
    )
    print(f"  check: {verdict}", file=out)
    if s.get("error"):
        print(f"  stopped: {s['error']}", file=out)
