"""``streamkit intents list|show|resolve``: a consumer's pending intents, settled on purpose.

This module is the command line only; listing and resolving live in
:mod:`streamkit.local.intents`, imported when the command runs so that
``streamkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from streamkit.local.commands.common import add_aws_options

_WHAT = (
    "A pending intent is a batch whose writes are decided and recorded in the consumer's "
    "ledger table but not yet applied. Normally the shard's next invocation rolls it "
    "forward; one that cannot be applied (a table deleted, permissions changed) blocks "
    "its shard, logging an ERROR and a PendingIntentBlocked metric per invocation. "
)
_AWS = (
    "The consumer comes from infra/consumers.json (--config PATH); AWS settings from the "
    "usual environment (AWS_REGION, AWS_ENDPOINT_URL, credentials), or --region and "
    "--endpoint-url. Exit status 2 for bad arguments, an unknown consumer or intent."
)


def add_parser(sub: Any) -> None:
    intents = sub.add_parser(
        "intents",
        help="list, show and resolve a consumer's pending (blocked) intents",
        description=_WHAT
        + "`list` shows a consumer's pending intents, `show` one, `resolve` settles one "
        "(--reapply or --dead-letter). " + _AWS,
    )
    actions = intents.add_subparsers(dest="intents_action", metavar="ACTION", required=True)

    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("consumer")
    where.add_argument(
        "--consumer", metavar="NAME", required=True, help="the consumer (a key of consumers.json)"
    )
    where.add_argument(
        "--config",
        metavar="PATH",
        help="consumer config (default: infra/consumers.json found from the current directory)",
    )
    add_aws_options(where)
    where.add_argument("--json", action="store_true", help="print one JSON document")

    listing = actions.add_parser(
        "list",
        parents=[common],
        help="one line per pending intent",
        description="List the consumer's pending intents: ledger id, generation, stream, "
        "age, records covered, stored size and what applying it writes. " + _WHAT + _AWS,
    )
    listing.set_defaults(func=run)

    show = actions.add_parser(
        "show",
        parents=[common],
        help="print one pending intent and every write it holds",
        description="Print one pending intent: its records' sequence range, the committed "
        "position before it, and each aggregate item, object and message it writes. " + _AWS,
    )
    show.add_argument(
        "ref",
        metavar="LEDGER_ID",
        help="the ledger id from `list` (<consumer>#<shardId>[#recover#<seq>]), or the "
        "part after <consumer>#",
    )
    show.set_defaults(func=run)

    resolve = actions.add_parser(
        "resolve",
        parents=[common],
        help="settle one pending intent: --reapply or --dead-letter",
        description="Settle one pending intent deliberately. --reapply applies its writes "
        "now (each idempotent) and commits it: for a closed shard, or once the cause is "
        "fixed. --dead-letter gives up on it: each record it covers gets a dead letter "
        "(reason unappliable_intent; records it already dead-letters keep their reason), "
        "re-read from the stream while retention allows, and the ledger commits past it "
        "without applying its other writes; `streamkit dlq redrive --reason "
        "unappliable_intent` puts the records back later. Run it while the shard is "
        "blocked (the intent keeps failing), not while a Lambda may roll it forward. " + _AWS,
    )
    resolve.add_argument("ref", metavar="LEDGER_ID", help="the ledger id from `list`")
    how = resolve.add_mutually_exclusive_group(required=True)
    how.add_argument("--reapply", action="store_true", help="roll it forward now")
    how.add_argument(
        "--dead-letter",
        action="store_true",
        help="dead-letter its records (reason unappliable_intent) and commit past it",
    )
    resolve.add_argument(
        "--generation",
        type=int,
        metavar="G",
        help="only if the pending intent is still generation G (as listed)",
    )
    resolve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from streamkit.local.intents.output import print_list, print_resolution, print_show
    from streamkit.local.intents.resolve import dead_letter, reapply
    from streamkit.local.intents.store import find_intent, pending_intents
    from streamkit.local.recover.consumer import RecoverError, open_consumer

    action = args.intents_action
    try:
        consumer = open_consumer(
            args.consumer, args.config, endpoint_url=args.endpoint_url, region=args.region
        )
        if action == "list":
            print_list(consumer.name, pending_intents(consumer), sys.stdout, as_json=args.json)
            return 0
        if action == "show":
            print_show(find_intent(consumer, args.ref), sys.stdout, as_json=args.json)
            return 0
        pending = find_intent(consumer, args.ref, args.generation)
        try:
            resolution = (
                reapply(consumer, pending) if args.reapply else dead_letter(consumer, pending)
            )
        except (ClientError, BotoCoreError) as e:
            print(
                f"streamkit intents resolve: {pending.ledger_id} generation "
                f"{pending.intent.generation} still cannot be applied: {e}",
                file=sys.stderr,
            )
            return 1
        print_resolution(resolution, sys.stdout, as_json=args.json)
        return 0
    except RecoverError as e:
        print(f"streamkit intents {action}: error: {e}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as e:
        print(f"streamkit intents {action}: AWS error: {e}", file=sys.stderr)
        return 2
