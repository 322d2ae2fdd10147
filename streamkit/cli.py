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
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _demo(args: argparse.Namespace) -> int:
    from streamkit.demo import run_demo

    return run_demo(records=args.records, seed=args.seed, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
