"""``streamkit dlq list|show|redrive``: inspect the S3 dead-letter store and redrive it.

This module is the command line only (arguments, help, dispatch, exit status); the
store and each action's output live in :mod:`streamkit.local.dlq`, imported when the
command runs so that ``streamkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from streamkit.local.commands.common import add_aws_options, timestamp

_LAYOUT = (
    "The dead-letter store is an S3 bucket (a consumer's resources.dead_letter_bucket in "
    "infra/consumers.json) holding one JSON object per dead-lettered record at "
    "<prefix>/<consumer>/<shardId>/<sequence>-<sub-sequence>.json (prefix `dlq` by "
    "default): the raw payload as base64 (data), the record identity (id = "
    "<stream>/<shardId>/<sequence>/<sub-sequence>, eventSourceARN, shardId, "
    "sequenceNumber, subSequenceNumber, partitionKey, explicitHashKey), reason, error "
    "text, handler, consumer and time. Keys are deterministic, so a record is stored "
    "once whatever Lambda retries. A redrive writes <prefix>-redriven/<same path> "
    "(state pending, with IfNoneMatch) before putting the record back into its stream "
    "and marks it done afterwards: each dead letter is redriven at most once. An object "
    "under the prefix that is not a valid dead letter (not JSON, no base64 data, no "
    "partitionKey...) is listed as MALFORMED with why, and never redriven. "
)
_AWS = (
    "AWS settings come from the usual environment (AWS_REGION, AWS_ENDPOINT_URL, "
    "credentials); --region and --endpoint-url override them. Exit status 2 for bad "
    "arguments, a missing bucket, key or stream, an invalid endpoint."
)


def add_parser(sub: Any) -> None:
    dlq = sub.add_parser(
        "dlq",
        help="list, show and redrive dead letters kept in S3",
        description=_LAYOUT
        + "`list` shows what is there, `show` one document, `redrive` puts the payloads "
        "back into their stream after a fix. " + _AWS,
    )
    actions = dlq.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)

    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("store")
    where.add_argument(
        "--consumer",
        metavar="NAME",
        help="only this consumer's dead letters; also gives the bucket "
        "(resources.dead_letter_bucket in the config) when --bucket is not given",
    )
    where.add_argument(
        "--bucket", metavar="BUCKET", help="dead-letter bucket (default: from --consumer)"
    )
    where.add_argument(
        "--prefix", default="dlq", help="key prefix of the dead-letter store (default: dlq)"
    )
    where.add_argument(
        "--config",
        metavar="PATH",
        help="consumer config (default: infra/consumers.json found from the current directory)",
    )
    add_aws_options(where, services="S3 and Kinesis")

    listing = actions.add_parser(
        "list",
        parents=[common],
        help="one line per dead letter, with a count per reason",
        description="List dead letters, one per line: key, reason, shard, sequence/sub-"
        "sequence, time, redrive state and the error (truncated), in shard order, then "
        "a count per reason. " + _LAYOUT + _AWS,
    )
    listing.add_argument("--reason", metavar="R", help="only dead letters with this reason")
    listing.add_argument(
        "--since",
        type=timestamp,
        metavar="ISO8601",
        help="only dead letters stored at or after this time, e.g. 2026-11-28T10:00:00Z "
        "(epoch seconds work too)",
    )
    listing.add_argument(
        "--json",
        action="store_true",
        help="print exactly one JSON document: the dead letters (or markers) and the counts",
    )
    listing.add_argument(
        "--redriven",
        action="store_true",
        help="list the redrive markers instead (state pending or done, time, stream, "
        "new sequence number); a pending marker means a redrive was interrupted: check "
        "the stream before deleting it",
    )
    listing.set_defaults(func=run, parser=listing)

    show = actions.add_parser(
        "show",
        parents=[common],
        help="print one dead letter, payload decoded",
        description="Print one dead letter: the stored document pretty-printed, its "
        "redrive state, and the payload decoded (as text when it is UTF-8, else a hex "
        "preview). A malformed object is shown with what is wrong with it, exit status 1. "
        + _LAYOUT
        + _AWS,
    )
    show.add_argument(
        "ref",
        metavar="KEY|RECORD_ID",
        help="the object key (dlq/<consumer>/<shardId>/<seq>-<sub>.json, or "
        "s3://BUCKET/KEY) or the record id (<stream>/<shardId>/<seq>/<sub>)",
    )
    show.add_argument(
        "--payload",
        action="store_true",
        help="write only the raw payload bytes to stdout (e.g. `> record.bin`)",
    )
    show.set_defaults(func=run, parser=show)

    redrive = actions.add_parser(
        "redrive",
        parents=[common],
        help="put dead letters back into their stream, each at most once",
        description="Put the selected dead letters' payloads back into their stream (the "
        "one in eventSourceARN, or --stream) with their partition key and explicit hash "
        "key, in shard order. Each dead letter is redriven at most once: entries "
        "redriven before are skipped and counted. Without --yes, prints the plan and "
        "asks for confirmation on a terminal; refuses when stdin is not a terminal. "
        "Exit status 1 when not confirmed, when a PutRecord failed (that entry keeps a "
        "pending marker: see `list --redriven`) or when a malformed object was skipped. "
        + _LAYOUT
        + _AWS,
    )
    redrive.add_argument("--reason", metavar="R", help="only dead letters with this reason")
    redrive.add_argument(
        "--key",
        dest="keys",
        action="append",
        metavar="KEY",
        help="only this dead letter: key, s3://BUCKET/KEY or record id (repeatable)",
    )
    redrive.add_argument(
        "--stream",
        metavar="NAME",
        help="put the records into this stream instead of the one they came from",
    )
    redrive.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be redriven and skipped; write nothing",
    )
    redrive.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (needed in scripts)"
    )
    redrive.set_defaults(func=run, parser=redrive)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from streamkit.local.dlq.errors import DlqCommandError
    from streamkit.local.dlq.listing import list_dead_letters
    from streamkit.local.dlq.redrive import redrive_dead_letters
    from streamkit.local.dlq.select import open_store
    from streamkit.local.dlq.show import show_dead_letter

    action = args.dlq_action
    try:
        store, endpoint = open_store(args)
        try:
            if action == "list":
                return list_dead_letters(args, store)
            if action == "show":
                return show_dead_letter(args, store)
            return redrive_dead_letters(args, store, endpoint)
        except ClientError as e:
            error = e.response.get("Error", {})
            if error.get("Code") == "NoSuchBucket":
                raise DlqCommandError(
                    f"bucket {store.bucket!r} does not exist at {endpoint} (check --bucket / "
                    "--consumer, or --endpoint-url / AWS_ENDPOINT_URL)"
                ) from None
            raise DlqCommandError(f"AWS error at {endpoint}: {e}") from None
        except BotoCoreError as e:
            raise DlqCommandError(f"AWS error at {endpoint}: {e}") from None
    except DlqCommandError as e:
        print(f"streamkit dlq {action}: error: {e}", file=sys.stderr)
        return 2
