"""Which store and which dead letters a ``streamkit dlq`` command line names.

The bucket comes from ``--bucket``, an ``s3://BUCKET/KEY`` reference or the
consumer's ``resources.dead_letter_bucket``; a dead letter is named by its key
(optionally as an ``s3://`` URL) or its record id. Every failure is a
:class:`~streamkit.local.dlq.errors.DlqCommandError` saying what to pass instead.
"""

from __future__ import annotations

import argparse

from streamkit.local.dlq.errors import DlqCommandError
from streamkit.local.dlq.store import (
    AmbiguousDeadLetter,
    DeadLetterEntry,
    DeadLetterNotFound,
    DeadLetterStore,
)


def open_store(args: argparse.Namespace) -> tuple[DeadLetterStore, str]:
    """The store the arguments name, and a description of its endpoint for messages."""
    from streamkit.local.aws import aws_clients, endpoint_from_env

    bucket = args.bucket
    ref = getattr(args, "ref", None)
    if bucket is None and ref is not None and ref.startswith("s3://"):
        bucket = ref[len("s3://") :].partition("/")[0]
    if bucket is None and args.consumer:
        bucket = consumer_bucket(args.consumer, args.config)
    if not bucket:
        raise DlqCommandError(
            "no dead-letter bucket: pass --bucket BUCKET, or --consumer NAME to use that "
            "consumer's resources.dead_letter_bucket from infra/consumers.json (--config PATH)"
        )
    try:
        clients = aws_clients(endpoint_url=args.endpoint_url, region=args.region)
    except ValueError as e:  # no region anywhere
        raise DlqCommandError(f"{e} (or pass --region)") from None
    try:  # boto3 checks the endpoint when it builds a client: fail here, not mid-command
        clients("s3")
    except ValueError as e:
        raise DlqCommandError(f"{e} (check --endpoint-url / AWS_ENDPOINT_URL)") from None
    endpoint = args.endpoint_url or endpoint_from_env("s3") or f"AWS ({clients.region})"
    return DeadLetterStore(bucket, clients, prefix=args.prefix), endpoint


def consumer_bucket(name: str, config: str | None) -> str:
    """The dead-letter bucket of consumer ``name`` in the consumer config."""
    from streamkit.local.config import ConfigError, load_consumers

    try:
        consumers = load_consumers(config)
    except ConfigError as e:
        raise DlqCommandError(f"invalid consumer config {e.source or ''}:\n{e}") from None
    except OSError as e:
        raise DlqCommandError(f"cannot read the consumer config: {e}") from None
    consumer = consumers.get(name)
    if consumer is None:
        known = ", ".join(sorted(consumers))
        raise DlqCommandError(f"--consumer {name!r} is not in the config (known: {known})")
    if consumer.resources is None:
        raise DlqCommandError(
            f"consumer {name!r} has no resources.dead_letter_bucket in the config: pass --bucket"
        )
    return consumer.resources.dead_letter_bucket


def strip_url(store: DeadLetterStore, ref: str) -> str:
    """``ref`` without its ``s3://BUCKET/`` prefix (which must name the store's bucket)."""
    if ref.startswith("s3://"):
        bucket, _, key = ref[len("s3://") :].partition("/")
        if bucket != store.bucket:
            raise DlqCommandError(
                f"{ref} is not in bucket {store.bucket!r} (given by --bucket/--consumer)"
            )
        return key
    return ref


def find(store: DeadLetterStore, ref: str, consumer: str | None) -> DeadLetterEntry:
    """The dead letter a key, ``s3://`` URL or record id names."""
    try:
        return store.find(strip_url(store, ref), consumer)
    except DeadLetterNotFound as e:
        raise DlqCommandError(str(e)) from None
    except AmbiguousDeadLetter as e:
        raise DlqCommandError(f"{e}; pass --consumer NAME or the key") from None


def selected(
    store: DeadLetterStore, consumer: str | None, reason: str | None
) -> list[DeadLetterEntry]:
    """The consumer's (or every) dead letter with ``reason`` (or any), in shard order."""
    return sorted(store.entries(consumer, reason=reason), key=lambda e: e.order)
