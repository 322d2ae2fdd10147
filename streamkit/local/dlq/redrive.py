"""``streamkit dlq redrive``: put dead letters back into their stream, each at most once.

The plan (what would be redriven, what was redriven before) is printed first; a
real run asks for confirmation on a terminal unless ``--yes``, and refuses without
one. The at-most-once guarantee itself is the store's
(:meth:`~streamkit.local.dlq.store.DeadLetterStore.redrive`). An object under the
prefix that is not a valid dead letter is reported and skipped, never redriven; the
exit status is then 1.
"""

from __future__ import annotations

import argparse
import sys

from streamkit.local.aws import endpoint_from_env
from streamkit.local.dlq.errors import DlqCommandError
from streamkit.local.dlq.select import find, selected
from streamkit.local.dlq.store import DeadLetterEntry, DeadLetterStore


def redrive_dead_letters(args: argparse.Namespace, store: DeadLetterStore, endpoint: str) -> int:
    """Print the plan, confirm it, redrive each selected dead letter at most once, report."""
    out = sys.stdout
    if args.keys:
        entries: list[DeadLetterEntry] = []
        for ref in args.keys:
            entry = find(store, ref, args.consumer)
            if args.consumer and entry.problem is None and entry.consumer != args.consumer:
                raise DlqCommandError(
                    f"{entry.key} belongs to consumer {entry.consumer!r}, not {args.consumer!r}"
                )
            if entry.key not in {e.key for e in entries}:
                entries.append(entry)
        if args.reason is not None:
            entries = [e for e in entries if e.reason == args.reason]
        entries.sort(key=lambda e: e.order)
    else:
        entries = selected(store, args.consumer, args.reason)
    if not entries:
        out.write("no dead letters match: nothing to redrive\n")
        return 0
    bad = {e.key: e.problem for e in entries if e.problem is not None}
    for key, problem in bad.items():
        out.write(f"skip     {key}: malformed, not a valid dead letter: {problem}\n")
    entries = [e for e in entries if e.problem is None]
    if bad:
        print(
            f"streamkit dlq redrive: {len(bad)} malformed object(s) skipped, never redriven "
            "(see `streamkit dlq show KEY`)",
            file=sys.stderr,
        )
    if not entries:
        out.write("no valid dead letters: nothing to redrive\n")
        return 1

    targets = {e.key: args.stream or e.stream for e in entries}
    missing = [e.key for e in entries if not targets[e.key]]
    if missing:
        raise DlqCommandError(
            f"{missing[0]} has no eventSourceARN to tell its stream: pass --stream NAME"
        )
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
        return 1 if bad else 0
    if not todo:
        out.write(f"redriven 0, skipped {len(entries)} (already redriven)\n")
        return 1 if bad else 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise DlqCommandError(
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
    return 1 if bad else 0


def _kinesis_endpoint(args: argparse.Namespace, s3_endpoint: str) -> str:
    return args.endpoint_url or endpoint_from_env("kinesis") or s3_endpoint


def _check_streams(store: DeadLetterStore, streams: list[str], endpoint: str) -> None:
    """Fail before claiming anything when a target stream does not exist."""
    kinesis = store.clients("kinesis")
    for name in streams:
        try:
            kinesis.describe_stream_summary(StreamName=name)
        except kinesis.exceptions.ResourceNotFoundException:
            raise DlqCommandError(
                f"stream {name!r} does not exist at {endpoint} (create it, or pass --stream NAME)"
            ) from None
