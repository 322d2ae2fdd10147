"""``streamkit capture``: save a stream's shards to a capture file."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from streamkit.local.commands.common import add_aws_options, positive, timestamp
from streamkit.local.console import StatusLine


def add_parser(sub: Any) -> None:
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
            "`python -m pydoc streamkit.local.capture`. "
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
        type=timestamp,
        metavar="ISO8601|EPOCH",
        help="start time for --from AT_TIMESTAMP, e.g. 2026-11-28T10:00:00Z or 1764324000",
    )
    capture.add_argument(
        "--max-records",
        type=positive,
        metavar="N",
        help="stop after N records in total over all shards (default: until caught up)",
    )
    capture.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="capture file to write; gzip-compressed when it ends in .gz",
    )
    add_aws_options(capture, services="Kinesis")
    capture.set_defaults(func=run, parser=capture)


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    if args.start == "AT_TIMESTAMP" and args.timestamp is None:
        parser.error("--timestamp is required with --from AT_TIMESTAMP")
    if args.start != "AT_TIMESTAMP" and args.timestamp is not None:
        parser.error(f"--timestamp is only allowed with --from AT_TIMESTAMP (not {args.start})")

    from streamkit.local.capture import CaptureError, capture_stream, kinesis_client

    progress = CaptureProgress()
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


class CaptureProgress:
    """The ``progress`` callback of :func:`~streamkit.local.capture.capture_stream`.

    Shows ``capturing <shard>: N records so far`` on a :class:`StatusLine`; outside a
    terminal a line is printed when a shard starts and every ``every`` records.
    """

    def __init__(
        self, stream: TextIO | None = None, *, every: int = 1000, tty: bool | None = None
    ) -> None:
        self.status = StatusLine(stream, tty=tty)
        self.every = every
        self._shard: str | None = None
        self._records_at_last_line = 0

    def __call__(self, records: int, shard_id: str) -> None:
        milestone = shard_id != self._shard or records >= self._records_at_last_line + self.every
        if milestone:
            self._records_at_last_line = records
        self._shard = shard_id
        self.status.update(f"capturing {shard_id}: {records} records so far", milestone=milestone)

    def finish(self) -> None:
        """End the status line before other output."""
        self.status.done()
