"""Error classes and the rule that sorts failures into permanent and transient.

A record handler signals *permanent* failure (the record can never succeed: bad
payload, schema violation) by raising :class:`PermanentError`; the record is
dead-lettered and the batch goes on. Any other exception is *transient*
(throttling, timeouts, 5xx): the batch stops there and the record is reported to
Lambda for retry.

Example::

    from streamkit import PermanentError

    def handle(record):
        doc = record.json()            # bad JSON raises DecodeError (permanent)
        if "user_id" not in doc:
            raise PermanentError("missing field user_id", reason="schema")
"""

from __future__ import annotations


class StreamkitError(Exception):
    """Base class of every error streamkit raises."""


class PermanentError(StreamkitError):
    """The record can never succeed; dead-letter it with ``reason`` and continue.

    ``reason`` is a short machine-readable word (``schema``, ``bad_json``, ...)
    used for metrics and for filtering dead letters; the message is the detail.
    """

    reason: str = "permanent"

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class DecodeError(PermanentError):
    """A record's payload could not be decoded (base64, KPL, compression, JSON)."""

    reason = "decode"


class TransientError(StreamkitError):
    """Explicitly transient: report the record for retry.

    Any exception that is not a :class:`PermanentError` is already treated as
    transient; raising this one just says so in the code.
    """


class InvalidEventError(StreamkitError, ValueError):
    """The invocation event is not a Lambda Kinesis event.

    Raised (never dead-lettered) when a record cannot be identified, because a
    record without a sequence number can be neither retried nor dead-lettered
    with an identity. The message names the offending field, e.g.
    ``Records[3].kinesis.sequenceNumber``.
    """


def is_permanent(exc: BaseException) -> bool:
    """True when ``exc`` means the record can never succeed."""
    return isinstance(exc, PermanentError)


def reason_of(exc: BaseException) -> str:
    """The dead-letter reason of a permanent error."""
    return exc.reason if isinstance(exc, PermanentError) else "transient"
