"""Up-front write checks: a record that would break a write is dead-lettered, not planned.

An intent is applied by retrying until every write succeeds, so a write AWS would
refuse (a key over DynamoDB's limit, an SQS FIFO group id with a space, a body over
256 KB) must never enter one: it would block the shard forever. The planner runs these
checks on everything a record would cause before adding any of it to the batch; each
raises :class:`~streamkit.errors.PermanentError` (reason ``too_large`` or
``invalid``), so the record becomes a dead letter.
"""

from __future__ import annotations

from typing import Any

import orjson

from streamkit.errors import PermanentError

#: DynamoDB key limits: partition key 2048 bytes, sort key 1024 bytes.
MAX_PK_BYTES = 2048
#: Bounds that keep an aggregate item, an SQS message and an archive line well
#: inside the AWS limits (400 KB item, 256 KB message), checked per record so that
#: a record that would break a write is dead-lettered, not written into an intent
#: that could never be applied.
MAX_LAST_VALUE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 200 * 1024
MAX_ARCHIVE_LINE_BYTES = 1024 * 1024
_FIFO_GROUP_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)


def check_key(aggregate: str, key: str) -> None:
    """The item key ``<aggregate>#<key>`` fits DynamoDB's partition key."""
    if len(f"{aggregate}#{key}".encode()) > MAX_PK_BYTES:
        raise PermanentError(
            f"aggregate {aggregate!r} key of {len(key.encode())} bytes exceeds DynamoDB's "
            f"{MAX_PK_BYTES}-byte partition key",
            reason="too_large",
        )


def check_size(what: str, value: Any, limit: int) -> None:
    """``value`` serialises to JSON of at most ``limit`` bytes."""
    try:
        size = len(orjson.dumps(value, default=str))
    except TypeError as e:
        raise PermanentError(f"{what} is not JSON-serialisable: {e}", reason="invalid") from e
    if size > limit:
        raise PermanentError(f"{what} of {size} bytes exceeds {limit}", reason="too_large")


def check_message(group: str, body: Any) -> None:
    """An SQS FIFO message SQS would accept: group id and body size."""
    # SQS FIFO: MessageGroupId is 1..128 characters of alphanumerics and punctuation.
    if (
        not isinstance(group, str)
        or not 0 < len(group) <= 128
        or not set(group) <= _FIFO_GROUP_CHARS
    ):
        raise PermanentError(
            f"message group id {group!r} is not 1..128 characters of letters, digits and "
            "punctuation (SQS FIFO)",
            reason="invalid",
        )
    if not isinstance(body, str):
        try:
            body = orjson.dumps(body).decode()
        except TypeError as e:
            raise PermanentError(f"message body is not JSON: {e}", reason="invalid") from e
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise PermanentError(
            f"message body of {len(body.encode())} bytes exceeds {MAX_MESSAGE_BYTES}",
            reason="too_large",
        )
