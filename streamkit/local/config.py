"""The consumer config: one file, read by Terraform and by the local simulator.

``infra/consumers.json`` describes every Kinesis consumer once (architecture, "One
consumer config, two runtimes"). Terraform reads it with ``jsondecode`` to create the
real ``aws_lambda_event_source_mapping``; the local tooling reads it through
:func:`load_consumers`, so a replay runs with exactly the production settings.

File format (JSON; JSON has no comments, so the documentation lives here)::

    {
      "consumers": {
        "clickstream": {
          "handler": "handlers.clickstream.handler",
          "stream": {"name": "clickstream", "shard_count": 2, "retention_hours": 24},
          "function": {"timeout_seconds": 60, "memory_mb": 512, "environment": {}},
          "event_source_mapping": {
            "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 1,
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": true,
            "MaximumRetryAttempts": 5,
            "MaximumRecordAgeInSeconds": 3600,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "TumblingWindowInSeconds": 0,
            "ParallelizationFactor": 1,
            "DestinationConfig": {
              "OnFailure": {"Destination": {"type": "sqs", "name": "clickstream-failures"}}
            }
          }
        }
      }
    }

Fields:

* ``consumers``: object, consumer name -> consumer. A name is 1..64 characters of
  ``A-Z a-z 0-9 _ -`` (it becomes part of the Lambda function name). At least one.
* ``handler``: dotted ``module.attribute`` path of the Lambda handler.
* ``stream``: ``name`` (1..128 of ``A-Z a-z 0-9 _ . -``), ``shard_count`` (1..500, the
  default per-account shard quota of the largest regions), ``retention_hours``
  (24..8760, default 24; spec 7.5). Two consumers may read the same stream, but must
  then agree on its shard count and retention.
* ``function``: ``timeout_seconds`` (1..900), ``memory_mb`` (128..10240),
  ``environment`` (optional string map; Lambda's key pattern, no reserved keys such
  as ``AWS_REGION``, 4 KB in total).
* ``event_source_mapping``: the ESM settings spelled exactly with the AWS
  CreateEventSourceMapping field names, so Terraform passes them through unchanged.
  Ranges and defaults are those of spec section 0.1; a field left out takes its AWS
  default. ``StartingPosition`` is required. ``FilterCriteria`` is
  ``{"Filters": [{"Pattern": "<JSON string>"}]}`` (at most 10 filters, each pattern at
  most 4096 characters and a JSON object; deeper checks by
  ``streamkit.local.filters.compile_filters`` when that module is present).
  ``StartingPositionTimestamp`` is Unix seconds (a JSON number, as the API and
  CloudFormation take it), only with ``AT_TIMESTAMP`` and never in the future.

On-failure destination: a **logical reference**, not an ARN::

    "DestinationConfig": {"OnFailure": {"Destination": {"type": "sqs", "name": "q"}}}

``type`` is ``sqs``, ``sns`` or ``s3`` (spec 3.2) and ``name`` is the queue, topic or
bucket name. Terraform resolves it to the resource it creates (or looks up) in the
deployed account; the local tooling resolves it to the resource it provisions on the
embedded endpoint (:meth:`DestinationRef.arn` builds the ARN for a given region and
account). An ARN string is rejected: the same file must work in every account.
``{}`` and ``{"OnFailure": {}}`` (what AWS echoes, spec 0.2) mean "no destination".
FIFO queues and topics (names ending in ``.fifo``) are rejected: AWS does not support
them as destinations for asynchronous invocation records and the spec assumes the
same for ESMs (3.2); whether AWS rejects them at creation or only fails at delivery is
unconfirmed (9.11), so we refuse them at load time, where the mistake is cheapest.

Validation collects every problem in the file and raises one :class:`ConfigError`
whose ``errors`` name the field path, the bad value and what is allowed, e.g.::

    consumers.clickstream.event_source_mapping.BatchSize: 20000 is out of range
    (allowed: 1..10000)

The dataclasses re-validate on construction, so an ``EsmSettings`` built in a test
holds the same invariants as one loaded from the file.

Example::

    from streamkit.local.config import load_consumers

    consumers = load_consumers()                  # infra/consumers.json of this checkout
    esm = consumers["clickstream"].event_source_mapping
    esm.batch_size, esm.to_api()["BatchSize"]     # 500, 500
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, cast

__all__ = [
    "CONFIG_RELATIVE_PATH",
    "ConfigError",
    "ConsumerConfig",
    "DestinationRef",
    "DestinationType",
    "EsmSettings",
    "FunctionSettings",
    "StartingPosition",
    "StreamSettings",
    "consumers_to_dict",
    "default_config_path",
    "load_consumers",
    "parse_consumers",
]

StartingPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
DestinationType = Literal["sqs", "sns", "s3"]

CONFIG_RELATIVE_PATH: Final = Path("infra") / "consumers.json"

REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"
STARTING_POSITIONS: Final[tuple[str, ...]] = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
DESTINATION_TYPES: Final[tuple[str, ...]] = ("sqs", "sns", "s3")

# Spec 0.1 (and the botocore shapes of CreateEventSourceMapping).
BATCH_SIZE: Final = (1, 10000)
BATCHING_WINDOW: Final = (0, 300)
PARALLELIZATION_FACTOR: Final = (1, 10)
MAXIMUM_RETRY_ATTEMPTS: Final = (-1, 10000)
MAXIMUM_RECORD_AGE: Final = (-1, 604800)
MINIMUM_FINITE_RECORD_AGE: Final = 60
TUMBLING_WINDOW: Final = (0, 900)
MAX_FILTERS: Final = 10
MAX_PATTERN_CHARS: Final = 4096
# Kinesis (spec 7.5) and Lambda limits.
SHARD_COUNT: Final = (1, 500)
RETENTION_HOURS: Final = (24, 8760)
DEFAULT_RETENTION_HOURS: Final = 24
TIMEOUT_SECONDS: Final = (1, 900)
MEMORY_MB: Final = (128, 10240)
MAX_ENVIRONMENT_BYTES: Final = 4096

_CONSUMER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
_STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
_DESTINATION_NAME: Final[Mapping[str, tuple[re.Pattern[str], str]]] = {
    "sqs": (re.compile(r"[A-Za-z0-9_-]{1,80}"), "1..80 characters of A-Z a-z 0-9 _ -"),
    "sns": (re.compile(r"[A-Za-z0-9_-]{1,256}"), "1..256 characters of A-Z a-z 0-9 _ -"),
    "s3": (
        re.compile(r"(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
        "3..63 characters of a-z 0-9 . -, starting and ending with a letter or digit",
    ),
}
# Lambda refuses to let a function set these (Lambda developer guide, "Defined
# runtime environment variables").
_RESERVED_ENV: Final = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)

_ESM_FIELDS: Final = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "StartingPosition",
    "StartingPositionTimestamp",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "FunctionResponseTypes",
    "FilterCriteria",
    "TumblingWindowInSeconds",
    "ParallelizationFactor",
    "DestinationConfig",
)
_ESM_HINTS: Final = {
    "EventSourceArn": "it is derived from stream.name; do not set it here",
    "FunctionName": "it is derived from the consumer; do not set it here",
}
_DESTINATION_CONFIG_HINTS: Final = {
    "OnSuccess": "OnSuccess is not supported for event source mappings (spec 0.1); use OnFailure",
}
_DESTINATION_REF_TEXT: Final = '{"type": "sqs"|"sns"|"s3", "name": "<queue, topic or bucket>"}'


class ConfigError(ValueError):
    """The consumer config is invalid. ``errors`` lists every problem found.

    ``str()`` gives the errors one per line; ``source`` is the file, when loaded
    from one.
    """

    def __init__(self, errors: Iterable[str], *, source: str | None = None) -> None:
        self.errors: list[str] = list(errors)
        self.source = source
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class DestinationRef:
    """A logical on-failure destination: an SQS queue, SNS topic or S3 bucket by name."""

    type: DestinationType
    name: str

    def __post_init__(self) -> None:
        _raise_if_invalid(_check_destination_ref, self.to_api(), "DestinationRef")

    def to_api(self) -> dict[str, str]:
        """The form used in the file: ``{"type": ..., "name": ...}``."""
        return {"type": self.type, "name": self.name}

    def arn(self, *, region: str, account_id: str, partition: str = "aws") -> str:
        """The ARN of this destination in ``region`` / ``account_id``."""
        if self.type == "s3":
            return f"arn:{partition}:s3:::{self.name}"
        return f"arn:{partition}:{self.type}:{region}:{account_id}:{self.name}"


@dataclass(frozen=True, slots=True)
class EsmSettings:
    """Kinesis event source mapping settings; defaults are the AWS ones (spec 0.1/0.2).

    Field names are the AWS names in snake_case, except ``filter_patterns`` (the
    ``Pattern`` strings of ``FilterCriteria.Filters``) and ``on_failure``
    (``DestinationConfig.OnFailure.Destination``).
    """

    starting_position: StartingPosition
    batch_size: int = 100
    maximum_batching_window_in_seconds: int = 0
    starting_position_timestamp: float | None = None
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_in_seconds: int = -1
    function_response_types: tuple[str, ...] = ()
    filter_patterns: tuple[str, ...] = ()
    tumbling_window_in_seconds: int = 0
    parallelization_factor: int = 1
    on_failure: DestinationRef | None = None

    def __post_init__(self) -> None:
        for name in ("function_response_types", "filter_patterns"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        # ``now=None``: the "not in the future" rule is checked when loading only,
        # so a value object does not change validity as time passes.
        _raise_if_invalid(_check_esm, self.to_api(), "EsmSettings")

    @property
    def report_batch_item_failures(self) -> bool:
        """Whether the function's partial-failure response is honoured (spec 2.2)."""
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    @property
    def retries_forever(self) -> bool:
        """``MaximumRetryAttempts == -1``: a failing batch is retried until it expires."""
        return self.maximum_retry_attempts == -1

    def to_api(self) -> dict[str, Any]:
        """The settings as CreateEventSourceMapping fields (AWS names).

        Every field is present with its effective value (defaults included), except
        ``StartingPositionTimestamp``, ``FilterCriteria`` and ``DestinationConfig``,
        which appear only when set. ``parse(to_api())`` gives back an equal object.
        """
        api: dict[str, Any] = {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.maximum_batching_window_in_seconds,
            "StartingPosition": self.starting_position,
        }
        if self.starting_position_timestamp is not None:
            api["StartingPositionTimestamp"] = self.starting_position_timestamp
        api["BisectBatchOnFunctionError"] = self.bisect_batch_on_function_error
        api["MaximumRetryAttempts"] = self.maximum_retry_attempts
        api["MaximumRecordAgeInSeconds"] = self.maximum_record_age_in_seconds
        api["FunctionResponseTypes"] = list(self.function_response_types)
        if self.filter_patterns:
            api["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filter_patterns]}
        api["TumblingWindowInSeconds"] = self.tumbling_window_in_seconds
        api["ParallelizationFactor"] = self.parallelization_factor
        if self.on_failure is not None:
            on_failure = self.on_failure
            destination = (
                on_failure.to_api() if isinstance(on_failure, DestinationRef) else on_failure
            )
            api["DestinationConfig"] = {"OnFailure": {"Destination": destination}}
        return api

    @classmethod
    def from_api(cls, doc: Mapping[str, Any], *, now: float | None = None) -> EsmSettings:
        """Validate and build from AWS-named fields; ``now`` defaults to the clock."""
        errors = _Errors()
        settings = _parse_esm(errors, doc, "event_source_mapping", _now(now))
        if settings is None:
            raise ConfigError(errors.items)
        return settings


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The Kinesis data stream a consumer reads."""

    name: str
    shard_count: int
    retention_hours: int = DEFAULT_RETENTION_HOURS

    def __post_init__(self) -> None:
        _raise_if_invalid(_check_stream, self.to_dict(), "StreamSettings")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shard_count": self.shard_count,
            "retention_hours": self.retention_hours,
        }


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    """The Lambda function's own settings."""

    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        env = self.environment
        if isinstance(env, Mapping) and not isinstance(env, MappingProxyType):
            object.__setattr__(self, "environment", MappingProxyType(dict(env)))
        _raise_if_invalid(_check_function, self.to_dict(), "FunctionSettings")

    def to_dict(self) -> dict[str, Any]:
        env = self.environment
        return {
            "timeout_seconds": self.timeout_seconds,
            "memory_mb": self.memory_mb,
            "environment": dict(env) if isinstance(env, Mapping) else env,
        }


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    """The stores a consumer writes to (its exactly-once effects).

    Handlers find them through environment variables (see :meth:`environment`),
    which both Terraform and the local runtime set from this section.
    """

    ledger_table: str
    dead_letter_bucket: str
    aggregate_table: str | None = None
    archive_bucket: str | None = None
    alerts_queue: str | None = None  # an SQS FIFO queue name (ends in .fifo)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ledger_table": self.ledger_table,
            "dead_letter_bucket": self.dead_letter_bucket,
        }
        for key in ("aggregate_table", "archive_bucket", "alerts_queue"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def environment(self, consumer: str, alerts_queue_url: str | None = None) -> dict[str, str]:
        """The ``STREAMKIT_*`` variables a handler reads."""
        env = {
            "STREAMKIT_CONSUMER": consumer,
            "STREAMKIT_LEDGER_TABLE": self.ledger_table,
            "STREAMKIT_DLQ_BUCKET": self.dead_letter_bucket,
        }
        if self.aggregate_table:
            env["STREAMKIT_AGGREGATE_TABLE"] = self.aggregate_table
        if self.archive_bucket:
            env["STREAMKIT_ARCHIVE_BUCKET"] = self.archive_bucket
        if alerts_queue_url:
            env["STREAMKIT_ALERTS_QUEUE_URL"] = alerts_queue_url
        return env


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """One consumer: handler, stream, function, event source mapping, resources."""

    name: str
    handler: str
    stream: StreamSettings
    function: FunctionSettings
    event_source_mapping: EsmSettings
    resources: ResourceSettings | None = None

    def __post_init__(self) -> None:
        errors = _Errors()
        _check_consumer_name(errors, self.name, f"consumers.{self.name}")
        _check_handler(errors, {"handler": self.handler}, f"consumers.{self.name}")
        for attr, kind in (
            ("stream", StreamSettings),
            ("function", FunctionSettings),
            ("event_source_mapping", EsmSettings),
        ):
            if not isinstance(getattr(self, attr), kind):
                errors.add(f"consumers.{self.name}.{attr}", f"is not a {kind.__name__}")
        if errors.items:
            raise ConfigError(errors.items)

    @property
    def esm(self) -> EsmSettings:
        """Short alias of ``event_source_mapping``."""
        return self.event_source_mapping

    def to_dict(self) -> dict[str, Any]:
        """The consumer as it is written in the file."""
        out = {
            "handler": self.handler,
            "stream": self.stream.to_dict(),
            "function": self.function.to_dict(),
            "event_source_mapping": self.event_source_mapping.to_api(),
        }
        if self.resources is not None:
            out["resources"] = self.resources.to_dict()
        return out


# ----------------------------------------------------------------------- public API


def default_config_path(start: str | os.PathLike[str] | None = None) -> Path:
    """``infra/consumers.json`` of the checkout we run in.

    Searches ``start`` (default: the current directory) and its parents, then the
    checkout this module lives in (an editable install). Raises FileNotFoundError.
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    candidate = Path(__file__).resolve().parents[2] / CONFIG_RELATIVE_PATH
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(
        f"no {CONFIG_RELATIVE_PATH} found in {here} or its parents (nor in the streamkit "
        "checkout); run from a checkout or pass the config path"
    )


def load_consumers(
    path: str | os.PathLike[str] | None = None, *, now: float | None = None
) -> dict[str, ConsumerConfig]:
    """Read and validate a consumer config file (default: :func:`default_config_path`).

    Raises ConfigError listing every problem (``.source`` is the file), or OSError
    when the file cannot be read.
    """
    config_path = default_config_path() if path is None else Path(path)
    text = config_path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text, object_pairs_hook=_json_object, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ConfigError(
            [f"{config_path}: not valid JSON: {exc}"], source=str(config_path)
        ) from exc
    try:
        return parse_consumers(doc, now=now)
    except ConfigError as exc:
        exc.source = str(config_path)
        raise


def parse_consumers(
    doc: Mapping[str, Any], *, now: float | None = None
) -> dict[str, ConsumerConfig]:
    """Validate a decoded config document and build the consumers, in file order.

    ``now`` (Unix seconds, default: the clock) is the instant
    ``StartingPositionTimestamp`` must not be after.
    """
    errors = _Errors()
    at = _now(now)
    root = _check_object(errors, doc, "", ("consumers",))
    consumers: dict[str, ConsumerConfig] = {}
    if root is not None:
        raw_consumers = root.get("consumers", _MISSING)
        if raw_consumers is _MISSING:
            errors.add("consumers", "missing required field (allowed: an object of consumers)")
        elif not isinstance(raw_consumers, Mapping):
            errors.add(
                "consumers",
                f"{_show(raw_consumers)} is not an object (allowed: an object of consumers)",
            )
        elif not raw_consumers:
            errors.add("consumers", "{} is empty (allowed: at least one consumer)")
        else:
            for dup in _duplicates(raw_consumers):
                errors.add(f"consumers.{dup}", "duplicate consumer (allowed: each name once)")
            for name, raw in raw_consumers.items():
                consumer = _parse_consumer(errors, str(name), raw, at)
                if consumer is not None:
                    consumers[consumer.name] = consumer
            _check_shared_streams(errors, raw_consumers)
    if errors.items:
        raise ConfigError(errors.items)
    return consumers


def consumers_to_dict(consumers: Mapping[str, ConsumerConfig]) -> dict[str, Any]:
    """The file document for ``consumers`` (inverse of :func:`parse_consumers`)."""
    return {"consumers": {name: c.to_dict() for name, c in consumers.items()}}


# ---------------------------------------------------------------------- validation


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path or '<root>'}: {message}")


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers keys it saw more than once."""

    duplicate_keys: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _JsonObject()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    if duplicates:
        obj.duplicate_keys = tuple(duplicates)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _duplicates(obj: Mapping[str, Any]) -> tuple[str, ...]:
    return cast(tuple[str, ...], getattr(obj, "duplicate_keys", ()))


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _raise_if_invalid(
    check: Callable[[_Errors, object, str], None], doc: Mapping[str, Any], path: str
) -> None:
    errors = _Errors()
    check(errors, doc, path)
    if errors.items:
        raise ConfigError(errors.items)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A value as it would appear in the JSON file, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > 100:
        text = f"{text[:80]}...({len(text)} chars)"
    return text


def _normalize(word: str) -> str:
    return word.replace("_", "").replace("-", "").replace(" ", "").lower()


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (ignoring case and ``_``), if any is close."""
    by_norm = {_normalize(c): c for c in choices}
    norm = _normalize(word)
    if norm in by_norm:
        return by_norm[norm]
    close = difflib.get_close_matches(norm, list(by_norm), n=1, cutoff=0.6)
    return by_norm[close[0]] if close else None


def _check_object(
    errors: _Errors,
    value: object,
    path: str,
    allowed: tuple[str, ...],
    hints: Mapping[str, str] | None = None,
) -> Mapping[str, Any] | None:
    """Type, unknown and duplicate fields of an object; None if it is not an object."""
    if not isinstance(value, Mapping):
        errors.add(
            path, f"{_show(value)} is not an object (allowed: an object with {', '.join(allowed)})"
        )
        return None
    for dup in _duplicates(value):
        errors.add(_join(path, dup), "duplicate field (allowed: each field once)")
    for key in value:
        if key in allowed:
            continue
        where = _join(path, str(key))
        if hints and key in hints:
            errors.add(where, f"unknown field {_show(key)}: {hints[key]}")
            continue
        suggestion = _suggest(str(key), allowed)
        did_you_mean = f"; did you mean {_show(suggestion)}?" if suggestion else ""
        errors.add(
            where, f"unknown field {_show(key)}{did_you_mean} (allowed: {', '.join(allowed)})"
        )
    return value


def _check_int(
    errors: _Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    bounds: tuple[int, int],
    *,
    required: bool = False,
    allowed: str | None = None,
) -> int | None:
    where = _join(path, key)
    lo, hi = bounds
    allowed_text = allowed or f"{lo}..{hi}"
    if key not in obj:
        if required:
            errors.add(where, f"missing required field (allowed: {allowed_text})")
        return None
    value = obj[key]
    if isinstance(value, bool):
        errors.add(where, f"{_show(value)} is a boolean, not an integer (allowed: {allowed_text})")
        return None
    if not isinstance(value, int):
        errors.add(where, f"{_show(value)} is not an integer (allowed: {allowed_text})")
        return None
    if not lo <= value <= hi:
        errors.add(where, f"{value} is out of range (allowed: {allowed_text})")
        return None
    return value


def _check_bool(errors: _Errors, obj: Mapping[str, Any], key: str, path: str) -> None:
    if key in obj and not isinstance(obj[key], bool):
        errors.add(_join(path, key), f"{_show(obj[key])} is not a boolean (allowed: true, false)")


def _check_enum(
    errors: _Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    choices: tuple[str, ...],
    *,
    required: bool = False,
) -> str | None:
    where = _join(path, key)
    allowed = ", ".join(choices)
    if key not in obj:
        if required:
            errors.add(where, f"missing required field (allowed: {allowed})")
        return None
    value = obj[key]
    if isinstance(value, str) and value in choices:
        return value
    suggestion = _suggest(value, choices) if isinstance(value, str) else None
    did_you_mean = f"; did you mean {_show(suggestion)}?" if suggestion else ""
    errors.add(where, f"{_show(value)} is not a valid value{did_you_mean} (allowed: {allowed})")
    return None


def _check_name(
    errors: _Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    pattern: re.Pattern[str],
    allowed: str,
) -> str | None:
    where = _join(path, key)
    if key not in obj:
        errors.add(where, f"missing required field (allowed: {allowed})")
        return None
    value = obj[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        errors.add(where, f"{_show(value)} is not a valid name (allowed: {allowed})")
        return None
    return value


def _check_consumer_name(errors: _Errors, name: object, path: str) -> None:
    if not isinstance(name, str) or not _CONSUMER_NAME.fullmatch(name):
        errors.add(
            path,
            f"consumer name {_show(name)} is not valid "
            "(allowed: 1..64 characters of A-Z a-z 0-9 _ -)",
        )


def _check_handler(errors: _Errors, obj: Mapping[str, Any], path: str) -> None:
    allowed = 'a dotted "module.attribute" path, at most 128 characters'
    where = _join(path, "handler")
    if "handler" not in obj:
        errors.add(where, f"missing required field (allowed: {allowed})")
        return
    value = obj["handler"]
    if not isinstance(value, str) or len(value) > 128 or not _HANDLER.fullmatch(value):
        errors.add(where, f"{_show(value)} is not a valid handler (allowed: {allowed})")


def _check_stream(errors: _Errors, obj: object, path: str) -> None:
    stream = _check_object(errors, obj, path, ("name", "shard_count", "retention_hours"))
    if stream is None:
        return
    _check_name(
        errors, stream, "name", path, _STREAM_NAME, "1..128 characters of A-Z a-z 0-9 _ . -"
    )
    _check_int(errors, stream, "shard_count", path, SHARD_COUNT, required=True)
    _check_int(errors, stream, "retention_hours", path, RETENTION_HOURS)


def _check_function(errors: _Errors, obj: object, path: str) -> None:
    function = _check_object(errors, obj, path, ("timeout_seconds", "memory_mb", "environment"))
    if function is None:
        return
    _check_int(errors, function, "timeout_seconds", path, TIMEOUT_SECONDS, required=True)
    _check_int(errors, function, "memory_mb", path, MEMORY_MB, required=True)
    if "environment" not in function:
        return
    where = _join(path, "environment")
    env = function["environment"]
    if not isinstance(env, Mapping):
        errors.add(where, f"{_show(env)} is not an object (allowed: an object of strings)")
        return
    for dup in _duplicates(env):
        errors.add(_join(where, dup), "duplicate variable (allowed: each variable once)")
    size = 0
    for key, value in env.items():
        item = _join(where, str(key))
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            errors.add(
                item,
                f"variable name {_show(key)} is not valid "
                "(allowed: a letter, then letters, digits and _; at least 2 characters)",
            )
        elif key in _RESERVED_ENV:
            errors.add(item, f"variable name {_show(key)} is reserved by Lambda")
        if not isinstance(value, str):
            errors.add(item, f"{_show(value)} is not a string (allowed: a string)")
        else:
            size += len(str(key).encode()) + len(value.encode())
    if size > MAX_ENVIRONMENT_BYTES:
        errors.add(
            where,
            f"{size} bytes of variables is too large (allowed: at most {MAX_ENVIRONMENT_BYTES})",
        )


def _check_esm(errors: _Errors, obj: object, path: str, now: float | None = None) -> None:
    esm = _check_object(errors, obj, path, _ESM_FIELDS, _ESM_HINTS)
    if esm is None:
        return
    _check_int(errors, esm, "BatchSize", path, BATCH_SIZE)
    # Spec 0.3: the API reference says BatchSize > 10 needs a batching window of at
    # least 1 s, but AWS enforces that for SQS only; Kinesis accepts BatchSize 500
    # with window 0. So we deliberately do not check that combination.
    _check_int(errors, esm, "MaximumBatchingWindowInSeconds", path, BATCHING_WINDOW)
    position = _check_enum(errors, esm, "StartingPosition", path, STARTING_POSITIONS, required=True)
    _check_starting_timestamp(errors, esm, path, position, now)
    _check_bool(errors, esm, "BisectBatchOnFunctionError", path)
    _check_int(errors, esm, "MaximumRetryAttempts", path, MAXIMUM_RETRY_ATTEMPTS)
    age_allowed = f"-1, or {MINIMUM_FINITE_RECORD_AGE}..{MAXIMUM_RECORD_AGE[1]}"
    age = _check_int(
        errors, esm, "MaximumRecordAgeInSeconds", path, MAXIMUM_RECORD_AGE, allowed=age_allowed
    )
    if age is not None and 0 <= age < MINIMUM_FINITE_RECORD_AGE:
        # Spec 0.1: 0..59 lie inside the API's -1..604800 but Lambda rejects them.
        errors.add(
            _join(path, "MaximumRecordAgeInSeconds"),
            f"{age} is out of range (allowed: {age_allowed}; 0..59 are rejected, spec 0.1)",
        )
    _check_response_types(errors, esm, path)
    _check_filter_criteria(errors, esm, path)
    _check_int(errors, esm, "TumblingWindowInSeconds", path, TUMBLING_WINDOW)
    _check_int(errors, esm, "ParallelizationFactor", path, PARALLELIZATION_FACTOR)
    _check_destination_config(errors, esm, path)


def _check_starting_timestamp(
    errors: _Errors,
    esm: Mapping[str, Any],
    path: str,
    position: str | None,
    now: float | None,
) -> None:
    key = "StartingPositionTimestamp"
    where = _join(path, key)
    allowed = "Unix seconds, not in the future, only with StartingPosition AT_TIMESTAMP"
    if key not in esm:
        if position == "AT_TIMESTAMP":
            errors.add(
                where, f"missing, required with StartingPosition AT_TIMESTAMP (allowed: {allowed})"
            )
        return
    value = esm[key]
    if position is not None and position != "AT_TIMESTAMP":
        errors.add(
            where,
            f"{_show(value)} is set but StartingPosition is {_show(position)} (allowed: {allowed})",
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        errors.add(where, f"{_show(value)} is not a valid timestamp (allowed: {allowed})")
    elif now is not None and value > now:
        errors.add(
            where, f"{_show(value)} is in the future (allowed: {allowed}; now is {int(now)})"
        )


def _check_response_types(errors: _Errors, esm: Mapping[str, Any], path: str) -> None:
    key = "FunctionResponseTypes"
    if key not in esm:
        return
    value = esm[key]
    if value == [] or value == [REPORT_BATCH_ITEM_FAILURES]:
        return
    errors.add(
        _join(path, key),
        f'{_show(value)} is not a valid value (allowed: [] or ["{REPORT_BATCH_ITEM_FAILURES}"])',
    )


def _check_filter_criteria(errors: _Errors, esm: Mapping[str, Any], path: str) -> None:
    if "FilterCriteria" not in esm:
        return
    where = _join(path, "FilterCriteria")
    before = len(errors.items)
    criteria = _check_object(errors, esm["FilterCriteria"], where, ("Filters",))
    if criteria is None:
        return
    allowed = f'a list of at most {MAX_FILTERS} {{"Pattern": "<JSON object>"}}'
    filters_at = _join(where, "Filters")
    if "Filters" not in criteria:
        errors.add(filters_at, f"missing required field (allowed: {allowed})")
        return
    filters = criteria["Filters"]
    if not isinstance(filters, list):
        errors.add(filters_at, f"{_show(filters)} is not a list (allowed: {allowed})")
        return
    if len(filters) > MAX_FILTERS:
        errors.add(
            filters_at,
            f"{len(filters)} filters are too many (allowed: at most {MAX_FILTERS}; "
            "the default quota is 5, raisable to 10, spec 0.1)",
        )
    patterns: list[str] = []
    for index, item in enumerate(filters):
        item_at = f"{filters_at}[{index}]"
        entry = _check_object(errors, item, item_at, ("Pattern",))
        if entry is None:
            continue
        pattern_at = _join(item_at, "Pattern")
        pattern_allowed = f"a JSON object as a string of at most {MAX_PATTERN_CHARS} characters"
        if "Pattern" not in entry:
            errors.add(pattern_at, f"missing required field (allowed: {pattern_allowed})")
            continue
        pattern = entry["Pattern"]
        if not isinstance(pattern, str):
            errors.add(pattern_at, f"{_show(pattern)} is not a string (allowed: {pattern_allowed})")
            continue
        if len(pattern) > MAX_PATTERN_CHARS:
            errors.add(
                pattern_at,
                f"{_show(pattern)} is {len(pattern)} characters, too long "
                f"(allowed: {pattern_allowed})",
            )
            continue
        try:
            parsed = json.loads(pattern)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            # Spec 0.4: "Invalid filter pattern definition." at creation.
            errors.add(
                pattern_at, f"{_show(pattern)} is not a JSON object (allowed: {pattern_allowed})"
            )
            continue
        patterns.append(pattern)
    if len(errors.items) == before and patterns:
        _compile_filters(errors, {"Filters": [{"Pattern": p} for p in patterns]}, where)


def _compile_filters(errors: _Errors, criteria: dict[str, Any], path: str) -> None:
    """Deep pattern checks by ``streamkit.local.filters``, when that module exists."""
    try:
        filters = importlib.import_module("streamkit.local.filters")
    except ModuleNotFoundError as exc:
        if exc.name == "streamkit.local.filters":
            return
        raise
    compile_filters = getattr(filters, "compile_filters", None)
    if compile_filters is None:
        return
    error_type = getattr(filters, "FilterError", None)
    if not (isinstance(error_type, type) and issubclass(error_type, Exception)):
        error_type = ValueError
    try:
        compile_filters(criteria)
    except error_type as exc:
        # FilterError carries ``index`` / ``detail`` / ``path``; fall back to its text.
        index = getattr(exc, "index", None)
        detail = getattr(exc, "detail", None)
        inner = getattr(exc, "path", "")
        if isinstance(index, int) and 0 <= index < len(criteria["Filters"]) and detail:
            pattern = criteria["Filters"][index]["Pattern"]
            at = f" [at {inner}]" if inner else ""
            errors.add(
                f"{path}.Filters[{index}].Pattern",
                f"{_show(pattern)} is not a valid filter pattern: {detail}{at}",
            )
        else:
            errors.add(path, f"invalid filter criteria: {exc} (allowed: Lambda syntax, spec 5)")


def _check_destination_config(errors: _Errors, esm: Mapping[str, Any], path: str) -> None:
    if "DestinationConfig" not in esm:
        return
    where = _join(path, "DestinationConfig")
    config = _check_object(
        errors, esm["DestinationConfig"], where, ("OnFailure",), _DESTINATION_CONFIG_HINTS
    )
    if config is None or "OnFailure" not in config:
        return
    on_failure_at = _join(where, "OnFailure")
    on_failure = _check_object(errors, config["OnFailure"], on_failure_at, ("Destination",))
    if on_failure is None or on_failure.get("Destination") is None:
        return  # {"OnFailure": {}}: no destination, as AWS echoes it (spec 0.2)
    _check_destination_ref(errors, on_failure["Destination"], _join(on_failure_at, "Destination"))


def _check_destination_ref(errors: _Errors, value: object, path: str) -> None:
    if isinstance(value, str):
        what = "an ARN" if value.startswith("arn:") else "a string"
        errors.add(
            path,
            f"{_show(value)} is {what}, not a logical destination "
            f"(allowed: {_DESTINATION_REF_TEXT})",
        )
        return
    ref = _check_object(errors, value, path, ("type", "name"))
    if ref is None:
        return
    kind = _check_enum(errors, ref, "type", path, DESTINATION_TYPES, required=True)
    name_at = _join(path, "name")
    if "name" not in ref:
        errors.add(name_at, "missing required field (allowed: a queue, topic or bucket name)")
        return
    name = ref["name"]
    if kind in ("sqs", "sns") and isinstance(name, str) and name.endswith(".fifo"):
        # Spec 3.2 / 9.11: FIFO queues and topics are not supported as destinations.
        errors.add(
            name_at,
            f"{_show(name)} is a FIFO {'queue' if kind == 'sqs' else 'topic'} (allowed: a "
            "standard queue or topic; FIFO destinations are unsupported, spec 3.2/9.11)",
        )
        return
    if kind is None:
        return
    pattern, allowed = _DESTINATION_NAME[kind]
    if not isinstance(name, str) or not pattern.fullmatch(name):
        errors.add(name_at, f"{_show(name)} is not a valid {kind} name (allowed: {allowed})")


# ------------------------------------------------------------------------- parsing


def _parse_consumer(errors: _Errors, name: str, raw: object, now: float) -> ConsumerConfig | None:
    path = f"consumers.{name}"
    before = len(errors.items)
    _check_consumer_name(errors, name, path)
    consumer = _check_object(
        errors, raw, path, ("handler", "stream", "function", "event_source_mapping", "resources")
    )
    stream: StreamSettings | None = None
    function: FunctionSettings | None = None
    esm: EsmSettings | None = None
    if consumer is not None:
        _check_handler(errors, consumer, path)
        for section in ("stream", "function", "event_source_mapping"):
            where = _join(path, section)
            if section not in consumer:
                errors.add(where, "missing required field (allowed: an object)")
            elif section == "stream":
                stream = _parse_stream(errors, consumer[section], where)
            elif section == "function":
                function = _parse_function(errors, consumer[section], where)
            else:
                esm = _parse_esm(errors, consumer[section], where, now)
                if esm is not None and esm.parallelization_factor != 1:
                    # The exactly-once ledger keeps one position per shard and relies
                    # on Lambda running one batch per shard at a time (spec 4.6); with
                    # P > 1 batches of one shard run concurrently (spec 4.7).
                    errors.add(
                        _join(where, "ParallelizationFactor"),
                        f"{esm.parallelization_factor} is not supported by streamkit's "
                        "exactly-once ledger, which needs one batch per shard at a time "
                        "(allowed: 1; add shards to scale out)",
                    )
                if esm is not None and not esm.report_batch_item_failures:
                    # streamkit's processor answers with batchItemFailures; without
                    # ReportBatchItemFailures Lambda ignores that answer (spec 2.2.1)
                    # and checkpoints past records reported for retry: data loss.
                    errors.add(
                        _join(where, "FunctionResponseTypes"),
                        f"{_show(list(esm.function_response_types))} loses records with "
                        "streamkit: its processor reports failed records in the response, "
                        "which Lambda ignores without it "
                        f'(allowed: ["{REPORT_BATCH_ITEM_FAILURES}"])',
                    )
    resources = None
    if consumer is not None and "resources" in consumer:
        resources = _parse_resources(errors, consumer["resources"], _join(path, "resources"))
    if len(errors.items) != before or consumer is None:
        return None
    assert stream is not None and function is not None and esm is not None
    return ConsumerConfig(
        name=name,
        handler=consumer["handler"],
        stream=stream,
        function=function,
        event_source_mapping=esm,
        resources=resources,
    )


_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_BUCKET_NAME = re.compile(r"(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_FIFO_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")


def _parse_resources(errors: _Errors, raw: object, path: str) -> ResourceSettings | None:
    before = len(errors.items)
    obj = _check_object(
        errors,
        raw,
        path,
        ("ledger_table", "dead_letter_bucket", "aggregate_table", "archive_bucket", "alerts_queue"),
    )
    if obj is None:
        return None
    table = "3..255 characters of A-Z a-z 0-9 _ . -"
    bucket = "3..63 characters of a-z 0-9 . -, starting and ending with a letter or digit"
    _check_name(errors, obj, "ledger_table", path, _TABLE_NAME, table)
    _check_name(errors, obj, "dead_letter_bucket", path, _BUCKET_NAME, bucket)
    if "aggregate_table" in obj:
        _check_name(errors, obj, "aggregate_table", path, _TABLE_NAME, table)
    if "archive_bucket" in obj:
        _check_name(errors, obj, "archive_bucket", path, _BUCKET_NAME, bucket)
    if "alerts_queue" in obj:
        _check_name(
            errors,
            obj,
            "alerts_queue",
            path,
            _FIFO_QUEUE,
            "an SQS FIFO queue name: 1..75 characters of A-Z a-z 0-9 _ - then .fifo",
        )
    if len(errors.items) != before:
        return None
    return ResourceSettings(
        ledger_table=obj["ledger_table"],
        dead_letter_bucket=obj["dead_letter_bucket"],
        aggregate_table=obj.get("aggregate_table"),
        archive_bucket=obj.get("archive_bucket"),
        alerts_queue=obj.get("alerts_queue"),
    )


def _parse_stream(errors: _Errors, raw: object, path: str) -> StreamSettings | None:
    before = len(errors.items)
    _check_stream(errors, raw, path)
    if len(errors.items) != before:
        return None
    obj = cast(Mapping[str, Any], raw)
    return StreamSettings(
        name=obj["name"],
        shard_count=obj["shard_count"],
        retention_hours=obj.get("retention_hours", DEFAULT_RETENTION_HOURS),
    )


def _parse_function(errors: _Errors, raw: object, path: str) -> FunctionSettings | None:
    before = len(errors.items)
    _check_function(errors, raw, path)
    if len(errors.items) != before:
        return None
    obj = cast(Mapping[str, Any], raw)
    return FunctionSettings(
        timeout_seconds=obj["timeout_seconds"],
        memory_mb=obj["memory_mb"],
        environment=dict(obj.get("environment", {})),
    )


def _parse_esm(errors: _Errors, raw: object, path: str, now: float) -> EsmSettings | None:
    before = len(errors.items)
    _check_esm(errors, raw, path, now)
    if len(errors.items) != before:
        return None
    obj = cast(Mapping[str, Any], raw)
    on_failure: DestinationRef | None = None
    destination = obj.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if destination is not None:
        on_failure = DestinationRef(type=destination["type"], name=destination["name"])
    filters = obj.get("FilterCriteria", {}).get("Filters", [])
    return EsmSettings(
        starting_position=obj["StartingPosition"],
        batch_size=obj.get("BatchSize", 100),
        maximum_batching_window_in_seconds=obj.get("MaximumBatchingWindowInSeconds", 0),
        starting_position_timestamp=obj.get("StartingPositionTimestamp"),
        bisect_batch_on_function_error=obj.get("BisectBatchOnFunctionError", False),
        maximum_retry_attempts=obj.get("MaximumRetryAttempts", -1),
        maximum_record_age_in_seconds=obj.get("MaximumRecordAgeInSeconds", -1),
        function_response_types=tuple(obj.get("FunctionResponseTypes", ())),
        filter_patterns=tuple(f["Pattern"] for f in filters),
        tumbling_window_in_seconds=obj.get("TumblingWindowInSeconds", 0),
        parallelization_factor=obj.get("ParallelizationFactor", 1),
        on_failure=on_failure,
    )


def _check_shared_streams(errors: _Errors, raw_consumers: Mapping[str, Any]) -> None:
    """Consumers reading the same stream must agree on how it is provisioned."""
    seen: dict[str, tuple[str, tuple[object, object]]] = {}
    for name, raw in raw_consumers.items():
        stream = raw.get("stream") if isinstance(raw, Mapping) else None
        if not isinstance(stream, Mapping) or not isinstance(stream.get("name"), str):
            continue
        shape = (stream.get("shard_count"), stream.get("retention_hours", DEFAULT_RETENTION_HOURS))
        first = seen.setdefault(stream["name"], (str(name), shape))
        if first[1] != shape:
            errors.add(
                f"consumers.{name}.stream",
                f"stream {_show(stream['name'])} has shard_count/retention_hours "
                f"{_show(list(shape))} here but {_show(list(first[1]))} in consumer "
                f"{_show(first[0])} (allowed: the same settings wherever a stream appears)",
            )
