"""``streamkit run``: the main job, the whole system on one machine."""

from __future__ import annotations

import argparse
from typing import Any

from streamkit.local.commands.common import positive, timestamp


def add_parser(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run both consumers end to end on a local AWS endpoint and print a summary",
        description=(
            "Start an embedded AWS endpoint (moto on 127.0.0.1), create the streams, "
            "tables, buckets and queues of infra/consumers.json, generate realistic "
            "clickstream and IoT traffic (or load a capture with --replay), drive the real "
            "handlers (handlers/clickstream.py, handlers/iot.py) through the Lambda ESM "
            "simulator with their real settings on a virtual clock, show live progress, "
            "and print what they wrote: top pages, unique users, device stats, alerts, "
            "dead letters by reason, and a check that input counts equal output counts "
            "and that the aggregates equal an exactly-once reference. Exit status 0 when "
            "every check holds. With AWS_ENDPOINT_URL or --endpoint-url it runs against "
            "that endpoint instead: resources are created if missing and must hold nothing "
            "from an earlier run (the check reads them all back; --reset empties them). "
            "stdout carries only "
            "the summary (with --json exactly one JSON document); what the handlers print "
            "and log goes to stderr, except on a terminal, where the live progress line "
            "stands in for it unless --logs says where it goes."
        ),
    )
    run.add_argument(
        "--duration",
        type=positive,
        default=30,
        metavar="S",
        help="seconds of traffic to generate (default 30; replayed on a virtual clock: "
        "the run takes about as long as there are batching windows to invoke)",
    )
    run.add_argument(
        "--rate",
        type=positive,
        default=None,
        metavar="N",
        help="records per second for each consumer (default: clickstream 100, iot 50)",
    )
    run.add_argument("--seed", type=int, default=1, help="random seed of the traffic (default 1)")
    run.add_argument(
        "--start",
        type=timestamp,
        default=None,
        metavar="TIME",
        help="event time of the first generated record, ISO 8601 or epoch seconds "
        "(default: now minus --duration); with --seed it makes a run exactly repeatable, "
        "minute windows included",
    )
    run.add_argument(
        "--faults",
        action="store_true",
        help="inject crashes, throttles, timeouts and duplicate deliveries; the aggregates "
        "must still equal the exactly-once reference",
    )
    run.add_argument(
        "--replay",
        nargs="+",
        metavar="FILE",
        help="replay these captures (or get-records / Lambda event files) instead of "
        "generating traffic; use with --consumer",
    )
    run.add_argument(
        "--consumer",
        metavar="NAME",
        help="with --replay: the consumer that receives the records (default: every one)",
    )
    run.add_argument(
        "--config", metavar="PATH", help="consumer config (default: infra/consumers.json)"
    )
    run.add_argument(
        "--endpoint-url", metavar="URL", help="use this AWS endpoint, not an embedded one"
    )
    run.add_argument(
        "--reset",
        action="store_true",
        help="with --endpoint-url or AWS_ENDPOINT_URL: delete the consumers' streams and "
        "tables and empty their buckets and queues before the run (with --consumer, only "
        "that consumer's items of a ledger table others share); without it, a run "
        "refuses an endpoint where an earlier run left output, naming what it found",
    )
    run.add_argument(
        "--json", action="store_true", help="print the summary as exactly one JSON document"
    )
    run.add_argument(
        "--execution",
        choices=("process", "inline"),
        default="process",
        help="process (default): each consumer's handler runs in Lambda-like execution "
        "environments, one worker process per shard under AWS's runtime interface client "
        "(awslambdaric), killed at the function timeout; inline: in this process",
    )
    run.add_argument(
        "--read-limits",
        action="store_true",
        help="enforce Kinesis's per-shard read limits on the virtual clock (5 GetRecords "
        "calls/s and 2 MB/s, shared by a stream's standard consumers; a consumer with "
        "stream.enhanced_fan_out has its own 2 MB/s); the summary shows each consumer's "
        "reads and throttles",
    )
    run.add_argument(
        "--terraform",
        action="store_true",
        help="deploy infra/ with Terraform to the endpoint first (the zip of streamkit "
        "package; init, plan and apply with progress on stderr), then drive the deployed "
        "functions: code unpacked from the deployed zip, deployed environment, mapping "
        "settings read back from the Lambda API, each function with its own execution "
        "role's credentials and every AWS call checked against that role's policies; "
        "destroyed at the end. Needs the Terraform CLI and the hashicorp/aws provider in "
        "a filesystem mirror (./dev setup)",
    )
    run.add_argument(
        "--keep-deployed",
        action="store_true",
        help="with --terraform and --endpoint-url: leave the deployment in place (working "
        "copy and state in .streamkit/run-terraform) instead of destroying it",
    )
    run.add_argument(
        "--logs",
        metavar="FILE",
        help="write what the handlers print and log (Powertools logs, EMF metrics) to FILE, "
        "or to stderr with `-` (default: stderr, or nowhere when stderr is a terminal, "
        "where the live progress line counts their batches instead)",
    )
    run.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from streamkit.errors import StreamkitError
    from streamkit.local.capture import CaptureError
    from streamkit.local.config import ConfigError
    from streamkit.local.handler_output import handler_output
    from streamkit.local.replay import ReplayError
    from streamkit.local.run.engine import run_main

    rates = None
    if args.rate is not None:
        rates = {"clickstream": float(args.rate), "iot": float(args.rate)}
    logs = args.logs
    if logs is None and not sys.stderr.isatty():
        logs = "-"  # scripts and CI see the handlers' logs on stderr, never on stdout
    try:
        redirect = handler_output(logs)
    except OSError as e:
        print(
            f"streamkit run: error: --logs {logs}: cannot write: {e.strerror or e}",
            file=sys.stderr,
        )
        return 2
    try:
        # The handlers' own output never reaches stdout: it goes to stderr, --logs or
        # (on a terminal, by default) nowhere.
        with redirect as output:
            return run_main(
                seed=args.seed,
                start=args.start,
                duration=float(args.duration),
                rates=rates,
                faults=args.faults,
                endpoint_url=args.endpoint_url,
                replay_files=args.replay,
                replay_consumer=args.consumer,
                config_path=args.config,
                as_json=args.json,
                out=output.result,
                logs=output.logs if logs else None,
                execution=args.execution,
                read_limits=args.read_limits,
                terraform=args.terraform,
                keep_deployed=args.keep_deployed,
                reset=args.reset,
            )
    except (ConfigError, CaptureError, ReplayError, ValueError) as e:
        print(f"streamkit run: error: {e}", file=sys.stderr)
        return 2
    except StreamkitError as e:  # Terraform, packaging, the deployed code (--terraform)
        if not args.terraform:
            raise
        print(f"streamkit run: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"streamkit run: error: cannot read {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2
