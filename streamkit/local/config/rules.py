"""The rules of the consumer config that a type and a range cannot say.

Each function is a pydantic validator used by :mod:`~streamkit.local.config.models`
(or the check such a validator runs). They raise :func:`~.errors.problem` /
:func:`~.errors.problems` with the complete message, naming the bad value and what
is allowed, and cite the spec section the rule comes from.
"""

from __future__ import annotations

import importlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import ValidationInfo

from streamkit.local.config import limits
from streamkit.local.config.errors import Loc, problem, problems, show

TIMESTAMP_TEXT: Final = "Unix seconds, not in the future, only with StartingPosition AT_TIMESTAMP"
PATTERN_TEXT: Final = f"a JSON object as a string of at most {limits.MAX_PATTERN_CHARS} characters"
DESTINATION_REF_TEXT: Final = '{"type": "sqs"|"sns"|"s3", "name": "<queue, topic or bucket>"}'
_DESTINATION_NAME: Final = {
    "sqs": re.compile(limits.SQS_NAME),
    "sns": re.compile(limits.SNS_NAME),
    "s3": re.compile(limits.BUCKET_NAME),
}


# ------------------------------------------------------------- event source mapping


def not_in_future(value: float, info: ValidationInfo) -> float:
    """Spec 0.1: StartingPositionTimestamp must not be in the future.

    Checked when loading (``now`` in the validation context), not when a value
    object is built, so an ``EsmSettings`` does not change validity as time passes.
    """
    now = info.context.get("now") if isinstance(info.context, Mapping) else None
    if now is not None and value > now:
        raise problem(
            f"{show(value)} is in the future (allowed: {TIMESTAMP_TEXT}; now is {int(now)})"
        )
    return value


def finite_record_age(value: int) -> int:
    """Spec 0.1: 0..59 lie inside the API's -1..604800 but Lambda rejects them."""
    if 0 <= value < limits.MINIMUM_FINITE_RECORD_AGE:
        allowed = f"-1, or {limits.MINIMUM_FINITE_RECORD_AGE}..{limits.MAXIMUM_RECORD_AGE[1]}"
        raise problem(f"{value} is out of range (allowed: {allowed}; 0..59 are rejected, spec 0.1)")
    return value


def starting_timestamp(position: str, timestamp: float | None) -> None:
    """Spec 0.1: StartingPositionTimestamp exactly when StartingPosition is AT_TIMESTAMP."""
    at: Loc = ("StartingPositionTimestamp",)
    if timestamp is None and position == "AT_TIMESTAMP":
        message = (
            f"missing, required with StartingPosition AT_TIMESTAMP (allowed: {TIMESTAMP_TEXT})"
        )
        raise problems("StartingPositionTimestamp", [(at, message, None)])
    if timestamp is not None and position != "AT_TIMESTAMP":
        message = (
            f"{show(timestamp)} is set but StartingPosition is {show(position)} "
            f"(allowed: {TIMESTAMP_TEXT})"
        )
        raise problems("StartingPositionTimestamp", [(at, message, timestamp)])


def streamkit_esm(parallelization_factor: int, function_response_types: list[str]) -> None:
    """What streamkit's processor needs of a valid ESM, beyond what AWS accepts."""
    found: list[tuple[Loc, str, object]] = []
    if parallelization_factor != 1:
        # The exactly-once ledger keeps one position per shard and relies on Lambda
        # running one batch per shard at a time (spec 4.6); with P > 1 batches of one
        # shard run concurrently (spec 4.7).
        found.append(
            (
                ("ParallelizationFactor",),
                f"{parallelization_factor} is not supported by streamkit's exactly-once "
                "ledger, which needs one batch per shard at a time "
                "(allowed: 1; add shards to scale out)",
                parallelization_factor,
            )
        )
    if limits.REPORT_BATCH_ITEM_FAILURES not in function_response_types:
        # streamkit's processor answers with batchItemFailures; without
        # ReportBatchItemFailures Lambda ignores that answer (spec 2.2.1) and
        # checkpoints past records reported for retry: data loss.
        found.append(
            (
                ("FunctionResponseTypes",),
                f"{show(function_response_types)} loses records with streamkit: its "
                "processor reports failed records in the response, which Lambda ignores "
                f'without it (allowed: ["{limits.REPORT_BATCH_ITEM_FAILURES}"])',
                function_response_types,
            )
        )
    if found:
        raise problems("event_source_mapping", found)


def _tag_text(text: str) -> bool:
    """Botocore's TagKey/TagValue pattern ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``.

    Checked here rather than as a ``pattern``: Python's ``re`` (and so JSON Schema
    validators written in Python) has no ``\\p{...}`` classes.
    """
    return all(unicodedata.category(ch)[0] in "LZN" or ch in limits.TAG_PUNCTUATION for ch in text)


def tag_key(key: str) -> str:
    """Tags: botocore's TagKey characters; the ``aws:`` prefix is reserved for AWS."""
    if not _tag_text(key):
        raise problem(f"tag key {show(key)} is not valid (allowed: {limits.TAG_KEY_TEXT})")
    if key.lower().startswith(limits.RESERVED_TAG_PREFIX):
        raise problem(f"tag key {show(key)} is reserved for AWS (allowed: {limits.TAG_KEY_TEXT})")
    return key


def tag_value(value: str) -> str:
    """Tags: botocore's TagValue characters."""
    if not _tag_text(value):
        raise problem(f"{show(value)} is not a valid tag value (allowed: {limits.TAG_VALUE_TEXT})")
    return value


# ------------------------------------------------------------------------ filters


def json_object(pattern: str) -> str:
    """Spec 0.4: a pattern that is not a JSON object fails ESM creation."""
    try:
        parsed = json.loads(pattern)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise problem(f"{show(pattern)} is not a JSON object (allowed: {PATTERN_TEXT})")
    return pattern


def compile_filters(patterns: list[str]) -> None:
    """Deep pattern checks by ``streamkit.local.filters``, when that module exists."""
    if not patterns:
        return
    try:
        filters = importlib.import_module("streamkit.local.filters")
    except ModuleNotFoundError as exc:
        if exc.name == "streamkit.local.filters":
            return
        raise
    compile_ = getattr(filters, "compile_filters", None)
    if compile_ is None:
        return
    error_type = getattr(filters, "FilterError", None)
    if not (isinstance(error_type, type) and issubclass(error_type, Exception)):
        error_type = ValueError
    criteria = {"Filters": [{"Pattern": p} for p in patterns]}
    try:
        compile_(criteria)
    except error_type as exc:
        # FilterError carries ``index`` / ``detail`` / ``path``; fall back to its text.
        index = getattr(exc, "index", None)
        detail = getattr(exc, "detail", None)
        inner = getattr(exc, "path", "")
        if isinstance(index, int) and 0 <= index < len(patterns) and detail:
            where = f" [at {inner}]" if inner else ""
            message = f"{show(patterns[index])} is not a valid filter pattern: {detail}{where}"
            at: Loc = ("Filters", index, "Pattern")
            raise problems("FilterCriteria", [(at, message, patterns[index])]) from None
        message = f"invalid filter criteria: {exc} (allowed: Lambda syntax, spec 5)"
        raise problems("FilterCriteria", [((), message, None)]) from None


# -------------------------------------------------------------------- destinations


def logical_destination(value: object) -> object:
    """Spec 3.2: the destination is ``{type, name}``, never an ARN (one file, every account)."""
    if isinstance(value, str):
        what = "an ARN" if value.startswith("arn:") else "a string"
        raise problem(
            f"{show(value)} is {what}, not a logical destination (allowed: {DESTINATION_REF_TEXT})"
        )
    return value


def destination_name(kind: str, name: str) -> None:
    """The name rule of the destination's type; FIFO queues and topics refused.

    Spec 3.2 / 9.11: FIFO queues and topics are not supported as destinations (whether
    AWS rejects them at creation or only at delivery is unconfirmed), so they are
    refused at load time, where the mistake is cheapest.
    """
    at: Loc = ("name",)
    if kind in ("sqs", "sns") and name.endswith(".fifo"):
        message = (
            f"{show(name)} is a FIFO {'queue' if kind == 'sqs' else 'topic'} (allowed: a "
            "standard queue or topic; FIFO destinations are unsupported, spec 3.2/9.11)"
        )
        raise problems("Destination", [(at, message, name)])
    if not _DESTINATION_NAME[kind].fullmatch(name) or (kind == "s3" and not _bucket_length(name)):
        message = (
            f"{show(name)} is not a valid {kind} name (allowed: {limits.DESTINATION_TEXT[kind]})"
        )
        raise problems("Destination", [(at, message, name)])


def _bucket_length(name: str) -> bool:
    low, high = limits.BUCKET_NAME_CHARS
    return low <= len(name) <= high


# ---------------------------------------------------------- function and resources


def not_reserved(key: str) -> str:
    """Lambda refuses to let a function set its runtime's own variables; streamkit sets
    its resource variables itself."""
    if key in limits.RESERVED_ENV:
        raise problem(f"variable name {show(key)} is reserved by Lambda")
    if key in limits.STREAMKIT_RESOURCE_ENV:
        raise problem(
            f"variable name {show(key)} is set by streamkit from the consumer's name and "
            "resources (allowed: other names, e.g. a handler setting such as "
            "STREAMKIT_IOT_THRESHOLDS)"
        )
    return key


def environment_fits(environment: dict[str, str]) -> dict[str, str]:
    """Lambda: a function's variables take at most 4 KB, names and values together."""
    size = sum(len(k.encode()) + len(v.encode()) for k, v in environment.items())
    if size > limits.MAX_ENVIRONMENT_BYTES:
        raise problem(
            f"{size} bytes of variables is too large "
            f"(allowed: at most {limits.MAX_ENVIRONMENT_BYTES})"
        )
    return environment


def not_punycode_bucket(name: str) -> str:
    """S3: bucket names must not start with ``xn--``."""
    if name.startswith("xn--"):
        allowed = f'{limits.BUCKET_TEXT}, not starting with "xn--"'
        raise problem(f"{show(name)} is not a valid name (allowed: {allowed})")
    return name


# ---------------------------------------------------------------------- consumers


def shared_streams(streams: Iterable[tuple[str, str, int, int]]) -> None:
    """Consumers reading the same stream must agree on how it is provisioned.

    ``streams`` is ``(consumer, stream name, shard_count, retention_hours)`` in file
    order; every consumer that disagrees with the first one naming the stream is
    reported.
    """
    seen: dict[str, tuple[str, list[int]]] = {}
    found: list[tuple[Loc, str, object]] = []
    for consumer, name, shard_count, retention_hours in streams:
        shape = [shard_count, retention_hours]
        first, first_shape = seen.setdefault(name, (consumer, shape))
        if first_shape != shape:
            message = (
                f"stream {show(name)} has shard_count/retention_hours {show(shape)} here but "
                f"{show(first_shape)} in consumer {show(first)} "
                "(allowed: the same settings wherever a stream appears)"
            )
            found.append((("consumers", consumer, "stream"), message, name))
    if found:
        raise problems("consumers", found)
