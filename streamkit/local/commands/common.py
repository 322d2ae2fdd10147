"""Argument types and options shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import Any


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def timestamp(text: str) -> float:
    from streamkit.records import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time or epoch seconds, got {text!r}"
        ) from None


def add_aws_options(parser: Any, *, services: str = "AWS") -> None:
    """``--region`` and ``--endpoint-url``, which override the usual AWS environment."""
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, then boto3's chain)")
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help=f"{services} endpoint, e.g. http://127.0.0.1:4566 (default: AWS_ENDPOINT_URL)",
    )
