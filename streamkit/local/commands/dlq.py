"""``streamkit dlq list|show|redrive``: inspect the S3 dead-letter store and redrive it."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from streamkit.local.commands.common import timestamp

if TYPE_CHECKING:
    from streamkit.local.dlq.store import DeadLetterEntry, DeadLetterStore

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
    "and marks it done afterwards: each dead letter is redriven at most once. "
)
_AWS = (
    "AWS settings come from the usual environment (AWS_REGION, AWS_ENDPOINT_URL, "
    "credentials); --region and --endpoint-url override them. Exit status 2 for bad "
    "arguments, a missing bucket, key or stream."
)


class _Fail(Exception):
    """A user-facing error: printed as `streamkit dlq ACTION: error: ...`, exit 2."""


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
    where.add_argument("--region", help="AWS region (default: AWS_REGION, then boto3's chain)")
    where.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="AWS endpoint for S3 and Kinesis, e.g. http://127.0.0.1:4566 "
        "(default: AWS_ENDPOINT_URL)",
    )

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
        "--json", action="store_true", help="one JSON object per line instead of text"
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
        "preview). " + _LAYOUT + _AWS,
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
        "Exit status 1 when not confirmed or when a PutRecord failed (that entry keeps a "
        "pending marker: see `list --redriven`). " + _LAYOUT + _AWS,
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


# --------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    action = args.dlq_action
    try:
        store, endpoint = _store(args)
        try:
            if action == "list":
                return _list(args, store)
            if action == "show":
                return _show(args, store)
            return _redrive(args, store, endpoint)
        except ClientError as e:
            error = e.response.get("Error", {})
            if error.get("Code") == "NoSuchBucket":
                raise _Fail(
                    f"bucket {store.bucket!r} does not exist at {endpoint} (check --bucket / "
                    "--consumer, or --endpoint-url / AWS_ENDPOINT_URL)"
                ) from None
            raise _Fail(f"AWS error at {endpoint}: {e}") from None
        except BotoCoreError as e:
            raise _Fail(f"AWS error at {endpoint}: {e}") from None
    except _Fail as e:
        print(f"streamkit dlq {action}: error: {e}", file=sys.stderr)
        return 2


def _store(args: argparse.Namespace) -> tuple[DeadLetterStore, str]:
    from streamkit.local.aws import aws_clients, endpoint_from_env
    from streamkit.local.dlq.store import DeadLetterStore

    bucket = args.bucket
    ref = getattr(args, "ref", None)
    if bucket is None and ref is not None and ref.startswith("s3://"):
        bucket = ref[len("s3://") :].partition("/")[0]
    if bucket is None and args.consumer:
        bucket = _consumer_bucket(args.consumer, args.config)
    if not bucket:
        raise _Fail(
            "no dead-letter bucket: pass --bucket BUCKET, or --consumer NAME to use that "
            "consumer's resources.dead_letter_bucket from infra/consumers.json (--config PATH)"
        )
    try:
        clients = aws_clients(endpoint_url=args.endpoint_url, region=args.region)
    except ValueError as e:
        raise _Fail(f"{e} (or pass --region)") from None
    endpoint = args.endpoint_url or endpoint_from_env("s3") or f"AWS ({clients.region})"
    return DeadLetterStore(bucket, clients, prefix=args.prefix), endpoint


def _consumer_bucket(name: str, config: str | None) -> str:
    from streamkit.local.config import ConfigError, load_consumers

    try:
        consumers = load_consumers(config)
    except ConfigError as e:
        raise _Fail(f"invalid consumer config {e.source or ''}:\n{e}") from None
    except OSError as e:
        raise _Fail(f"cannot read the consumer config: {e}") from None
    consumer = consumers.get(name)
    if consumer is None:
        known = ", ".join(sorted(consumers))
        raise _Fail(f"--consumer {name!r} is not in the config (known: {known})")
    if consumer.resources is None:
        raise _Fail(
            f"consumer {name!r} has no resources.dead_letter_bucket in the config: pass --bucket"
        )
    return consumer.resources.dead_letter_bucket


def _strip_url(store: DeadLetterStore, ref: str) -> str:
    if ref.startswith("s3://"):
        bucket, _, key = ref[len("s3://") :].partition("/")
        if bucket != store.bucket:
            raise _Fail(f"{ref} is not in bucket {store.bucket!r} (given by --bucket/--consumer)")
        return key
    return ref


def _find(store: DeadLetterStore, ref: str, consumer: str | None) -> DeadLetterEntry:
    from streamkit.local.dlq.store import AmbiguousDeadLetter, DeadLetterNotFound

    try:
        return store.find(_strip_url(store, ref), consumer)
    except DeadLetterNotFound as e:
        raise _Fail(str(e)) from None
    except AmbiguousDeadLetter as e:
        raise _Fail(f"{e}; pass --consumer NAME or the key") from None


def _selected(
    store: DeadLetterStore, consumer: str | None, reason: str | None
) -> list[DeadLetterEntry]:
    return sorted(store.entries(consumer, reason=reason), key=lambda e: e.order)


# -------------------------------------------------------------------------- list


def _list(args: argparse.Namespace, store: DeadLetterStore) -> int:
    import orjson

    out = sys.stdout
    if args.redriven:
        if args.reason is not None:
            raise _Fail("--reason does not apply to --redriven (markers keep no reason)")
        return _list_markers(args, store, out)
    markers = store.redrive_markers()
    entries = _selected(store, args.consumer, args.reason)
    if args.since is not None:
        entries = [e for e in entries if e.time is not None and e.time.timestamp() >= args.since]
    if args.json:
        for e in entries:
            row = {
                "key": e.key,
                "consumer": e.consumer,
                "id": e.record_id,
                "reason": e.reason,
                "shardId": e.shard_id,
                "sequenceNumber": e.sequence_number,
                "subSequenceNumber": e.sub_sequence_number,
                "time": e.doc.get("time"),
                "handler": e.doc.get("handler"),
                "error": e.doc.get("error"),
                "stream": e.stream,
                "payloadBytes": len(e.payload),
                "redriven": markers.get(e.key),
            }
            out.write(orjson.dumps(row).decode() + "\n")
        return 0
    rows = [
        (
            e.key,
            e.reason,
            e.shard_id,
            f"{e.sequence_number}/{e.sub_sequence_number}",
            str(e.doc.get("time", "")),
            markers.get(e.key, "-"),
            _truncate(str(e.doc.get("error", "")), 80),
        )
        for e in entries
    ]
    header = ("KEY", "REASON", "SHARD", "SEQUENCE/SUB", "TIME", "REDRIVEN", "ERROR")
    _table(out, header, rows)
    counts = Counter(e.reason for e in entries)
    where = f"s3://{store.bucket}/{store.prefix}/" + (f"{args.consumer}/" if args.consumer else "")
    if not entries:
        out.write(f"no dead letters under {where}\n")
        return 0
    by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))
    out.write(f"{len(entries)} dead letter{'s' if len(entries) != 1 else ''}: {by_reason}\n")
    return 0


def _list_markers(args: argparse.Namespace, store: DeadLetterStore, out: TextIO) -> int:
    import orjson

    docs = store.redrive_marker_docs()
    start = f"{store.prefix}/{args.consumer}/" if args.consumer else f"{store.prefix}/"
    items = sorted((k, d) for k, d in docs.items() if k.startswith(start))
    if args.since is not None:
        items = [(k, d) for k, d in items if _epoch(d.get("time")) >= args.since]
    if args.json:
        for key, doc in items:
            out.write(orjson.dumps({"key": key, **doc}).decode() + "\n")
        return 0
    rows = [
        (
            key,
            str(doc.get("state", "")),
            str(doc.get("time", "")),
            str(doc.get("stream", "-")),
            str(doc.get("sequence_number", "-")),
            _truncate(str(doc.get("error", "")), 80),
        )
        for key, doc in items
    ]
    _table(out, ("KEY", "STATE", "TIME", "STREAM", "NEW SEQUENCE", "ERROR"), rows)
    states = Counter(doc.get("state") for _, doc in items)
    out.write(
        f"{len(items)} redriven: done {states.get('done', 0)}, pending {states.get('pending', 0)}"
        + (" (pending: interrupted redrives; check the stream)" if states.get("pending") else "")
        + "\n"
    )
    return 0


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return float("-inf")
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(out: TextIO, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


# -------------------------------------------------------------------------- show


def _show(args: argparse.Namespace, store: DeadLetterStore) -> int:
    import orjson

    entry = _find(store, args.ref, args.consumer)
    payload = entry.payload
    if args.payload:
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return 0
    out = sys.stdout
    out.write(f"s3://{store.bucket}/{entry.key}\n")
    out.write(orjson.dumps(entry.doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    out.write("\n")
    marker = store.redrive_marker_docs().get(entry.key)
    if marker is None:
        out.write("redriven: no\n")
    else:
        details = ", ".join(f"{k} {v}" for k, v in marker.items() if k != "state")
        out.write(f"redriven: {marker.get('state')} ({details})\n")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        preview = payload[:64].hex(" ")
        more = f" … ({len(payload) - 64} more bytes)" if len(payload) > 64 else ""
        out.write(f"payload: {len(payload)} bytes, not UTF-8; hex:\n{preview}{more}\n")
    else:
        out.write(f"payload: {len(payload)} bytes, UTF-8 text:\n{text}\n")
    return 0


# ----------------------------------------------------------------------- redrive


def _redrive(args: argparse.Namespace, store: DeadLetterStore, endpoint: str) -> int:
    out = sys.stdout
    if args.keys:
        entries: list[DeadLetterEntry] = []
        for ref in args.keys:
            entry = _find(store, ref, args.consumer)
            if args.consumer and entry.consumer != args.consumer:
                raise _Fail(
                    f"{entry.key} belongs to consumer {entry.consumer!r}, not {args.consumer!r}"
                )
            if entry.key not in {e.key for e in entries}:
                entries.append(entry)
        if args.reason is not None:
            entries = [e for e in entries if e.reason == args.reason]
        entries.sort(key=lambda e: e.order)
    else:
        entries = _selected(store, args.consumer, args.reason)
    if not entries:
        out.write("no dead letters match: nothing to redrive\n")
        return 0

    targets = {e.key: args.stream or e.stream for e in entries}
    missing = [e.key for e in entries if not targets[e.key]]
    if missing:
        raise _Fail(f"{missing[0]} has no eventSourceARN to tell its stream: pass --stream NAME")
    kinesis_endpoint = _kinesis_endpoint(args, endpoint)
    _check_streams(store, sorted(set(targets.values())), kinesis_endpoint)

    markers = store.redrive_markers()
    todo = [e for e in entries if e.key not in markers]
    verb = "would redrive" if args.dry_run else "redrive"
    for e in entries:
        if e.key in markers:
            out.write(f"skip     {e.key}: already redriven ({markers[e.key]})\n")
        else:
            out.write(f"{verb:<8} {e.key} ({e.reason}) -> stream {targets[e.key]}\n")

    if args.dry_run:
        result = store.redrive(entries, stream=args.stream, dry_run=True)
        out.write(
            f"dry run: would redrive {len(result.redriven)}, skip {len(result.skipped)} "
            "(already redriven); nothing written\n"
        )
        return 0
    if not todo:
        out.write(f"redriven 0, skipped {len(entries)} (already redriven)\n")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise _Fail(
                f"refusing to redrive {len(todo)} dead letter(s) without --yes: stdin is not "
                "a terminal (check the plan with --dry-run, then pass --yes)"
            )
        streams = ", ".join(sorted({targets[e.key] for e in todo}))
        print(
            f"Redrive {len(todo)} record(s) into {streams} at {kinesis_endpoint}? [y/N] ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            out.write("not confirmed: nothing redriven\n")
            return 1

    result = store.redrive(entries, stream=args.stream)
    for key in result.skipped:
        if key not in markers:  # claimed by a concurrent redrive since the plan
            out.write(f"skip     {key}: redriven concurrently\n")
    out.write(
        f"redriven {len(result.redriven)}, skipped {len(result.skipped)} (already redriven)\n"
    )
    if result.failed:
        for key, error in result.failed.items():
            print(
                f"streamkit dlq redrive: error: {key}: {error}; its marker stays pending "
                "(`streamkit dlq list --redriven`): check the stream before redriving it by hand",
                file=sys.stderr,
            )
        done = len(result.redriven) + len(result.skipped) + len(result.failed)
        if done < len(entries):
            print(
                f"streamkit dlq redrive: stopped: {len(entries) - done} dead letter(s) not "
                "tried; run the command again after fixing the cause",
                file=sys.stderr,
            )
        return 1
    return 0


def _kinesis_endpoint(args: argparse.Namespace, s3_endpoint: str) -> str:
    from streamkit.local.aws import endpoint_from_env

    return args.endpoint_url or endpoint_from_env("kinesis") or s3_endpoint


def _check_streams(store: DeadLetterStore, streams: list[str], endpoint: str) -> None:
    """Fail before claiming anything when a target stream does not exist."""
    kinesis = store.clients("kinesis")
    for name in streams:
        try:
            kinesis.describe_stream_summary(StreamName=name)
        except kinesis.exceptions.ResourceNotFoundException:
            raise _Fail(
                f"stream {name!r} does not exist at {endpoint} (create it, or pass --stream NAME)"
            ) from None
