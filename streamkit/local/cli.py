"""The ``streamkit`` command.

Local tooling: never imported by a Lambda handler. Each subcommand lives in its
own module under :mod:`streamkit.local.commands` and is found there, so adding one never
touches this file.

Example::

    $ streamkit demo --records 2000
    $ streamkit replay capture.jsonl.gz --handler handlers.clickstream:handler
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading
from collections.abc import Sequence

import streamkit.local.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamkit",
        description="Idempotent Kinesis batch processing for AWS Lambda: local tools.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(
        pkgutil.iter_modules(streamkit.local.commands.__path__), key=lambda m: m.name
    ):
        module = importlib.import_module(f"streamkit.local.commands.{info.name}")
        add = getattr(module, "add_parser", None)
        if add is not None:
            add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C while a command runs, so the embedded endpoints and
    # emulators it started (child processes) are stopped, not left behind.
    previous = (
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    try:
        result: int = args.func(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return result


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
