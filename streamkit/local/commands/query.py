"""``streamkit query``: a key's aggregates over a time range, as a table or one JSON document.

The command line of :mod:`streamkit.query` (the library's reader): it finds the
consumer's aggregate table in ``infra/consumers.json``, checks the aggregate against
the consumer's pipeline (its handler module's ``build_pipeline(env)``), reads the
key's items (two DynamoDB Queries, one per item layout) and prints the rows. Heavy
imports happen when the command runs, so ``streamkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from streamkit.local.commands.common import add_aws_options

_EXAMPLE = """\
examples, after `streamkit run --endpoint-url http://127.0.0.1:4566 --reset --seed 7 \\
    --start 2026-11-28T10:00:00Z --duration 120` (the endpoint keeps what it wrote):
  streamkit query --consumer clickstream --aggregate page_views --key shop.example.com/ \\
      --from 2026-11-28T10:00:00Z --to 2026-11-28T10:02:00Z --endpoint-url http://127.0.0.1:4566

  start                 end                   count  sum  min  max  mean  last  distinct
  2026-11-28T10:00:00Z  2026-11-28T10:01:00Z  719    0    -    -    -     -     561
  2026-11-28T10:01:00Z  2026-11-28T10:02:00Z  675    0    -    -    -     -     528

  streamkit query --consumer iot --aggregate metrics --key dev-0001 --field temperature \\
      --rollup hour --json --endpoint-url http://127.0.0.1:4566
"""
_WHAT = (
    "Print the aggregates of one key over a time range, whatever the item layout: each "
    "stored window (or each --rollup window) with count, exact sum/min/max/mean, the "
    "last value and the estimated distinct count; the parts of a window a multi-field "
    "aggregate spreads over several items are merged, and each field is its own row. "
    "A window is shown when it lies inside [--from, --to); windows without records "
    "have no row. The table comes from the consumer's resources.aggregate_table in "
    "infra/consumers.json (--config PATH, or --table); AWS settings from the usual "
    "environment (AWS_REGION, AWS_ENDPOINT_URL, credentials), or --region and "
    "--endpoint-url. Exit status 2 for bad arguments, an unknown consumer, aggregate, "
    "field or table; 1 when AWS cannot be reached or refuses. The library call is "
    "streamkit.query.query_aggregate."
)


def add_parser(sub: Any) -> None:
    query = sub.add_parser(
        "query",
        help="a key's aggregates over a time range (windows merged, rolled up)",
        description=textwrap.fill(_WHAT, 79),
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument(
        "--consumer", metavar="NAME", required=True, help="the consumer (a key of consumers.json)"
    )
    query.add_argument(
        "--aggregate",
        metavar="NAME",
        required=True,
        help="the aggregate, as the consumer's pipeline names it (e.g. page_views)",
    )
    query.add_argument(
        "--key", metavar="KEY", required=True, help="the aggregate key (e.g. a page or device)"
    )
    query.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="windows starting at or after this time: ISO 8601 (2026-11-28T10:00:00Z) or "
        "epoch seconds (default: the first)",
    )
    query.add_argument(
        "--to",
        dest="end",
        metavar="TIME",
        help="windows ending at or before this time (default: the last)",
    )
    query.add_argument(
        "--rollup",
        metavar="SIZE",
        help="merge the stored windows into windows of this size: minute, hour, day or "
        "seconds (a multiple of the stored window; default: as stored)",
    )
    query.add_argument("--field", metavar="NAME", help="only this field of a multi-field aggregate")
    query.add_argument(
        "--table", metavar="TABLE", help="the aggregate table (default: from the config)"
    )
    query.add_argument(
        "--config",
        metavar="PATH",
        help="consumer config (default: infra/consumers.json found from the current directory)",
    )
    query.add_argument(
        "--consistent",
        action="store_true",
        help="strongly consistent reads (every acknowledged write; twice the read units)",
    )
    add_aws_options(query, services="DynamoDB")
    query.add_argument(
        "--json",
        action="store_true",
        help="print exactly one JSON document (decimals as exact strings)",
    )
    query.set_defaults(func=run)


@dataclass(frozen=True)
class _Target:
    table: str
    #: The consumer's aggregates and their window sizes (None: all-time), when its
    #: handler module has a ``build_pipeline``; None when they cannot be known.
    aggregates: dict[str, int | None] | None


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from streamkit.query import epoch_seconds, query_aggregate, rollup_seconds

    try:
        start = None if args.start is None else epoch_seconds(args.start, "--from")
        end = None if args.end is None else epoch_seconds(args.end, "--to")
        if start is not None and end is not None and not start < end:
            raise ValueError(f"--to {args.end} must be after --from {args.start}")
        rollup = None if args.rollup is None else rollup_seconds(args.rollup)
        target = _resolve(args)
        _check_aggregate(args, rollup, target)
        dynamodb = _client(args)
        rows = query_aggregate(
            dynamodb,
            target.table,
            args.aggregate,
            args.key,
            start=start,
            end=end,
            rollup=rollup,
            field=args.field,
            consistent_read=args.consistent,
        )
    except ValueError as e:  # what to pass instead: ours and the reader's
        print(f"streamkit query: error: {e}", file=sys.stderr)
        return 2
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        where = _where(args)
        if code == "ResourceNotFoundException":
            print(f"streamkit query: error: table {target.table!r} does not exist at {where}",
                  file=sys.stderr)  # fmt: skip
            return 2
        print(f"streamkit query: error: AWS error at {where}: {e}", file=sys.stderr)
        return 1
    except BotoCoreError as e:  # no connection, no credentials: the environment's
        print(f"streamkit query: error: AWS error at {_where(args)}: {e}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(args, target, (start, end, rollup), rows, sys.stdout)
    else:
        _print_table(args, target, rows, sys.stdout)
    return 0


def _resolve(args: argparse.Namespace) -> _Target:
    """The consumer's aggregate table and aggregates, from the config."""
    from streamkit.local.config import ConfigError, default_config_path, load_consumers

    try:
        consumers = load_consumers(args.config)
    except ConfigError as e:
        raise ValueError(f"invalid consumer config {e.source or ''}:\n{e}") from None
    except OSError as e:
        raise ValueError(f"cannot read the consumer config: {e}") from None
    config = consumers.get(args.consumer)
    if config is None:
        raise ValueError(
            f"--consumer {args.consumer!r} is not in the config "
            f"(known: {', '.join(sorted(consumers))})"
        )
    table = args.table or (config.resources.aggregate_table if config.resources else None)
    if not table:
        raise ValueError(
            f"consumer {args.consumer!r} has no resources.aggregate_table in the config "
            "(or pass --table)"
        )
    env: dict[str, str] = dict(config.function.environment)
    if config.resources is not None:
        env.update(config.resources.environment(args.consumer))
    # The project the config belongs to (``<project>/infra/consumers.json``) holds the
    # handlers, so the command works from any directory given --config.
    config_path = Path(args.config) if args.config else default_config_path()
    project = str(config_path.resolve().parent.parent)
    return _Target(table, _aggregates_of(config.handler, env, project))


def _aggregates_of(handler: str, env: dict[str, str], project: str) -> dict[str, int | None] | None:
    """The aggregates of the consumer's pipeline (``build_pipeline(env)`` of its handler
    module), or None when the module has none (a plain ``process_batch`` handler)."""
    module_name = handler.rpartition(".")[0]
    for root in (project, os.getcwd()):  # the project's handlers/, then the current directory
        if root not in sys.path:
            sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"cannot import the handler module {module_name!r}: {e}") from None
    build = getattr(module, "build_pipeline", None)
    if build is None:
        return None
    try:
        pipeline = build(env)
    except KeyError as e:
        raise ValueError(
            f"the consumer's environment lacks {e} (resources in the config)"
        ) from None
    return {a.name: a.window_s for a in getattr(pipeline, "aggregates", ())}


def _where(args: argparse.Namespace) -> str:
    return args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "AWS"


def _check_aggregate(args: argparse.Namespace, rollup: int | None, target: _Target) -> None:
    if target.aggregates is None:
        return  # unknown to us: the query itself says what is there
    name = args.aggregate
    if name not in target.aggregates:
        known = ", ".join(sorted(target.aggregates)) or "none"
        raise ValueError(f"--aggregate {name!r} is not one of the consumer's ({known})")
    window_s = target.aggregates[name]
    if window_s is None:
        given = [o for o, v in (("--from", args.start), ("--to", args.end), ("--rollup", rollup))
                 if v is not None]  # fmt: skip
        if given:
            raise ValueError(
                f"{'/'.join(given)}: aggregate {name!r} is all-time (window_s=None, no "
                f"windows): leave {' and '.join(given)} out"
            )
        return
    if rollup is None:
        return
    if rollup % window_s:
        raise ValueError(
            f"--rollup {rollup} s is not a multiple of aggregate {name!r}'s {window_s} s window"
        )


def _client(args: argparse.Namespace) -> Any:
    from streamkit.local.aws import aws_clients

    try:
        return aws_clients(endpoint_url=args.endpoint_url, region=args.region)("dynamodb")
    except ValueError as e:  # no region anywhere, or an invalid endpoint
        raise ValueError(f"{e} (pass --region / --endpoint-url)") from None


def _print_json(
    args: argparse.Namespace,
    target: _Target,
    query: tuple[float | None, float | None, int | None],
    rows: list[Any],
    out: TextIO,
) -> None:
    from datetime import UTC, datetime

    import orjson

    def iso(t: float | None) -> str | None:
        if t is None:
            return None
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")

    start, end, rollup = query
    doc = {
        "consumer": args.consumer,
        "table": target.table,
        "aggregate": args.aggregate,
        "key": args.key,
        "from": iso(start),
        "to": iso(end),
        "rollup_s": rollup,
        "field": args.field,
        "buckets": [row.to_json() for row in rows],
    }
    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode(), file=out)


_COLUMNS = ("start", "end", "field", "count", "sum", "min", "max", "mean", "last", "distinct")


def _print_table(args: argparse.Namespace, target: _Target, rows: list[Any], out: TextIO) -> None:
    import orjson

    if not rows:
        print(
            f"no windows of aggregate {args.aggregate!r} for key {args.key!r} in "
            f"{target.table} in that range",
            file=out,
        )
        return
    named = any(row.field is not None for row in rows)
    columns = [c for c in _COLUMNS if named or c != "field"]
    cells = []
    for row in rows:
        doc = row.to_json()
        last = doc["last"]
        doc["last"] = last if isinstance(last, str) or last is None else orjson.dumps(last).decode()
        doc["start"] = doc["start"] or "all time"
        doc["end"] = doc["end"] or ""
        cells.append(["-" if doc[c] is None else str(doc[c]) for c in columns])
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)
