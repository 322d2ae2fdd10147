"""``streamkit recover --consumer NAME``: re-process what Lambda discarded, exactly once.

This module is the command line only; the work is :mod:`streamkit.local.recover`,
imported when the command runs so that ``streamkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from streamkit.local.commands.common import add_aws_options

_HOW = (
    "With finite MaximumRetryAttempts / MaximumRecordAgeInSeconds, Lambda discards a batch "
    "that keeps failing and sends its description to the mapping's on-failure destination "
    "(DestinationConfig.OnFailure in infra/consumers.json). recover reads that destination "
    "(SQS: the message names the shard and sequence range, which are re-read from the "
    "stream while its retention allows; S3: the object holds the whole invocation event), "
    "and runs each range through the consumer's own pipeline (its handler module's "
    "build_pipeline, with the function's environment) under a ledger lane of its own, "
    "<consumer>#<shardId>#recover#<first sequence number>: every aggregate, archive "
    "object, dead letter and alert of those records is written exactly once, although "
    "the shard's later records were committed already, and running recover again changes "
    "nothing. Recovered SQS messages are deleted (--keep-messages leaves them); S3 "
    "documents stay. Pending intents of closed shards (after resharding) are rolled "
    "forward first. A range the stream no longer holds is reported as trimmed. "
)
_AWS = (
    "AWS settings come from the usual environment (AWS_REGION, AWS_ENDPOINT_URL, "
    "credentials); --region and --endpoint-url override them. Exit status 0 when every "
    "range is recovered (or was before), 1 when one is trimmed or still failing or a "
    "message at the destination is not an on-failure document (reported with its id and "
    "why, and left there), 2 for bad arguments or an unknown consumer."
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "recover",
        help="re-process the batches Lambda discarded (on-failure destination), exactly once",
        description=_HOW + _AWS,
    )
    p.add_argument(
        "--consumer", metavar="NAME", required=True, help="the consumer (a key of consumers.json)"
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help="consumer config (default: infra/consumers.json found from the current directory)",
    )
    p.add_argument(
        "--queue",
        metavar="NAME|URL",
        help="read the ranges from this SQS queue instead (e.g. one subscribed to an SNS "
        "on-failure topic)",
    )
    p.add_argument(
        "--keep-messages",
        action="store_true",
        help="leave recovered ranges' SQS messages in the queue (a second run is a no-op anyway)",
    )
    add_aws_options(p)
    p.add_argument(
        "--logs",
        metavar="PATH",
        help="where the pipeline's log lines and EMF metrics go: a file, or - for stderr "
        "(default: discarded)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from streamkit.local.console import StatusLine
    from streamkit.local.handler_output import STDERR, handler_output
    from streamkit.local.recover.consumer import RecoverError, open_consumer
    from streamkit.local.recover.engine import recover
    from streamkit.local.recover.report import write_summary

    status = StatusLine(sys.stderr, prefix="streamkit recover: ")
    try:
        consumer = open_consumer(
            args.consumer, args.config, endpoint_url=args.endpoint_url, region=args.region
        )
        status.say(f"reading {consumer.name}'s on-failure destination")
        with handler_output(STDERR if args.logs == "-" else args.logs):
            summary = recover(
                consumer, queue=args.queue, keep_messages=args.keep_messages, progress=status.say
            )
        status.done()
    except RecoverError as e:
        status.done()
        print(f"streamkit recover: error: {e}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as e:
        status.done()
        print(f"streamkit recover: AWS error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        status.done()
        print(f"streamkit recover: error: cannot write --logs: {e}", file=sys.stderr)
        return 2
    write_summary(summary, sys.stdout, as_json=args.json)
    return 0 if summary.ok else 1
