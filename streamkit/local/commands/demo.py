"""``streamkit demo``: one batch through the processor, Lambda's retry included."""

from __future__ import annotations

import argparse
from typing import Any

from streamkit.local.commands.common import positive


def add_parser(sub: Any) -> None:
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
        "--records", type=positive, default=1000, help="plain records in the batch (default 1000)"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument(
        "--json", action="store_true", help="print the summary as exactly one JSON document"
    )
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streamkit.local.demo import run_demo

    return run_demo(records=args.records, seed=args.seed, as_json=args.json)
