"""The exception tree under :class:`StreamkitError`, and the ONE rule that sorts a
failure of user code into *permanent* (dead-letter it, with a reason) or *transient*
(stop, report the record to Lambda for retry).

User code is what streamkit calls per record: the ``record_handler`` of
:func:`~streamkit.batch.process_batch`, and the ``decode``/``validate``/``event_time``,
aggregate key/value/distinct/last/pairs, message and archive functions of a
:class:`~streamkit.pipeline.Pipeline`. Both run every exception of that code through
:func:`classify`:

==========================================  ==========================================
raised by user code                         outcome
==========================================  ==========================================
:class:`PermanentError` (incl. DecodeError) permanent, with the error's ``reason``
``KeyError``, ``ValueError``, ``TypeError``  permanent, reason ``invalid`` (default);
(and subclasses: ``UnicodeDecodeError``,    transient with ``invalid_input="retry"``
``json.JSONDecodeError``, ...)
:class:`TransientError`                     transient
any other streamkit error                   transient (streamkit's own signal, never a
(e.g. :class:`InvalidEventError`)           verdict on the record's data)
anything else (botocore errors, timeouts,   transient
``OSError``, ``RuntimeError``, ...)
==========================================  ==========================================

Why ``invalid`` is permanent by default: a ``KeyError`` on a missing field or a
``ValueError`` on a malformed number is a deterministic function of the record, so a
retry fails the same way and would block the shard until the record expires
(guarantee 2: poison records never block a shard), while a dead letter keeps the raw
payload and can be redriven after a fix (``streamkit dlq redrive``). Code whose
``KeyError``/``ValueError``/``TypeError`` can come from something that heals (a lookup
in a cache being filled, say) passes ``invalid_input="retry"`` (the same keyword on
``process_batch``, ``run_batch`` and ``Pipeline``), or raises :class:`TransientError`.

Exceptions streamkit raises itself outside user code (a dead-letter sink, the ledger,
the aggregate, S3 and SQS writes) are not classified: they never dead-letter a record,
the batch is reported for retry.

The tree: every exception class streamkit defines derives from :class:`StreamkitError`,
so ``except streamkit.StreamkitError`` catches all of them; the builtin bases in
parentheses are kept so that code catching those keeps working::

    StreamkitError                                   streamkit.errors
    +-- PermanentError                               streamkit.errors
    |   +-- DecodeError                              streamkit.errors
    |   |   +-- KplCorruptError                      streamkit.kpl
    |   +-- InvalidValueError (ValueError)           streamkit.aggregate
    |   +-- PrecisionError (ArithmeticError)         streamkit.aggregate
    +-- TransientError                               streamkit.errors
    |   +-- Throttled                                streamkit.local.demo
    +-- InvalidEventError (ValueError)               streamkit.errors
    +-- LedgerConflict                               streamkit.ledger
    +-- LedgerReset (RuntimeError)                   streamkit.invocation (streamkit.pipeline)
    +-- MarkerAhead (RuntimeError)                   streamkit.sinks.dynamodb
    +-- MarkerPruned (RuntimeError)                  streamkit.sinks.dynamodb
    +-- AggregateWriteError (RuntimeError)           streamkit.sinks.dynamodb
    +-- LayoutMismatch (RuntimeError)                streamkit.sinks.dynamodb
    +-- local tooling, never on the Lambda path:
        +-- ConfigError (ValueError)                 streamkit.local.config
        +-- CaptureError                             streamkit.local.capture
        |   +-- CaptureFormatError (ValueError)      streamkit.local.capture
        +-- ReplayError (ValueError)                 streamkit.local.replay
        +-- FilterError (ValueError)                 streamkit.local.filters
        +-- StuckShardError (RuntimeError)           streamkit.local.esm
        +-- ProvisionError (RuntimeError)            streamkit.local.aws
        +-- LeftoverError (ValueError)               streamkit.local.aws.leftovers
        +-- DlqCommandError                          streamkit.local.dlq.errors
        +-- DeadLetterNotFound (KeyError)            streamkit.local.dlq.store
        +-- AmbiguousDeadLetter (LookupError)        streamkit.local.dlq.store
        +-- PackagingError                           streamkit.local.packaging
        +-- InjectedFault                            streamkit.local.faults
        +-- RecoverError (ValueError)                streamkit.local.recover
        |   +-- JournalGap                           streamkit.local.recover.committed
        +-- MarshalError                             streamkit.local.runtime.marshal
        +-- TerraformError                           streamkit.local.terraform
        +-- DeployedCodeError                        streamkit.local.run.deployed
        +-- UnsupportedCondition                     streamkit.local.iam.policy

Outside on purpose, each a ``BaseException`` so that no ``except Exception`` in the code
under test can swallow it: ``streamkit.local.faults.SimulatedCrash`` (a simulated crash
passes the way a killed process would), ``streamkit.local.runtime.inline.InvocationTimeout``
(the function timeout, raised inside an in-process handler) and
``streamkit.testing.memory.dynamodb.UnsupportedExpression`` (an expression the in-memory
DynamoDB does not evaluate must stop the test, never pass as a transient failure).

Example::

    from streamkit import PermanentError

    def handle(record):
        doc = record.json()            # bad JSON raises DecodeError (permanent)
        if "user_id" not in doc:
            raise PermanentError("missing field user_id", reason="schema")
        doc["ts"] + 1                  # KeyError "ts": dead letter, reason "invalid"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

#: What to do with a ``KeyError``/``ValueError``/``TypeError`` raised by user code:
#: ``"dead_letter"`` (the default: permanent, reason ``invalid``) or ``"retry"``
#: (transient, like any other exception).
InvalidInput = Literal["dead_letter", "retry"]
INVALID_INPUT_DEFAULT: InvalidInput = "dead_letter"

#: The dead-letter reason of a ``KeyError``/``ValueError``/``TypeError`` from user code.
INVALID_REASON = "invalid"

#: The exceptions that say "this record's data is bad" (see the module docstring).
INVALID_INPUT_ERRORS = (KeyError, ValueError, TypeError)


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

    Raise it where a failure of user code is known to heal with time; see
    :func:`classify` for what else is transient.
    """


class InvalidEventError(StreamkitError, ValueError):
    """The invocation event is not a Lambda Kinesis event.

    Raised (never dead-lettered) when a record cannot be identified, because a
    record without a sequence number can be neither retried nor dead-lettered
    with an identity. The message names the offending field, e.g.
    ``Records[3].kinesis.sequenceNumber``.
    """


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`classify` decided about one exception of user code."""

    permanent: bool
    #: The dead-letter reason when permanent, else ``"transient"``.
    reason: str
    #: The dead letter's error text: the message of a PermanentError, else
    #: ``"<type>: <message>"`` (a bare ``KeyError('user')`` says little on its own).
    detail: str


def classify(exc: BaseException, *, invalid_input: InvalidInput = INVALID_INPUT_DEFAULT) -> Verdict:
    """Sort an exception raised by user code into permanent (with reason) or transient.

    The one rule of streamkit (module docstring): PermanentError -> its reason;
    KeyError/ValueError/TypeError -> ``invalid`` unless ``invalid_input="retry"``;
    everything else, streamkit's other errors included -> transient.
    """
    if isinstance(exc, PermanentError):
        return Verdict(True, exc.reason, _message(exc))
    detail = f"{type(exc).__name__}: {_message(exc)}"
    if (
        invalid_input == "dead_letter"
        and isinstance(exc, INVALID_INPUT_ERRORS)
        and not isinstance(exc, StreamkitError)
    ):
        return Verdict(True, INVALID_REASON, detail)
    return Verdict(False, "transient", detail)


def _message(exc: BaseException) -> str:
    """``str(exc)``, which never raises: user code's ``__str__`` may (a broken
    ``__str__`` must not crash the invocation), so fall back to ``repr`` and then to
    ``"<unprintable TypeName>"``.
    """
    try:
        return str(exc)
    except Exception:
        pass
    try:
        return f"<unprintable {type(exc).__name__}: {exc!r}>"
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def check_invalid_input(value: object) -> InvalidInput:
    """``value`` as an :data:`InvalidInput`, or ValueError naming the option."""
    choices = get_args(InvalidInput)
    if value not in choices:
        raise ValueError(f"invalid_input must be one of {choices}, got {value!r}")
    return cast(InvalidInput, value)
