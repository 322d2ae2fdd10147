"""The consumer config as the local tooling uses it: frozen, hashable value objects.

The simulator, provisioning, replay and the run engine take these dataclasses. Each
re-validates on construction through its pydantic model
(:mod:`~streamkit.local.config.models`), so an ``EsmSettings`` built in a test holds
the same invariants as one loaded from the file; a bad value raises ConfigError
naming the class and field, e.g. ``EsmSettings.BatchSize: 0 is out of range
(allowed: 1..10000)``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from streamkit.local.config import limits
from streamkit.local.config.errors import ConfigError, validated
from streamkit.local.config.models import (
    ConsumerHeads,
    ConsumerModel,
    DestinationModel,
    EsmModel,
    FunctionModel,
    StreamModel,
)

StartingPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
DestinationType = Literal["sqs", "sns", "s3"]


@dataclass(frozen=True, slots=True)
class DestinationRef:
    """A logical on-failure destination: an SQS queue, SNS topic or S3 bucket by name."""

    type: DestinationType
    name: str

    def __post_init__(self) -> None:
        validated(DestinationModel, self.to_api(), where="DestinationRef")

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
    ``Pattern`` strings of ``FilterCriteria.Filters``), ``on_failure``
    (``DestinationConfig.OnFailure.Destination``) and ``metrics``
    (``MetricsConfig.Metrics``; None: no ``MetricsConfig``).
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
    enabled: bool = True
    metrics: tuple[str, ...] | None = None
    kms_key_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("function_response_types", "filter_patterns", "metrics"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        tags = self.tags
        if isinstance(tags, Mapping) and not isinstance(tags, MappingProxyType):
            object.__setattr__(self, "tags", MappingProxyType(dict(tags)))
        # No ``now``: "not in the future" is checked when loading only, so a value
        # object does not change validity as time passes.
        validated(EsmModel, self.to_api(), where="EsmSettings")

    @property
    def report_batch_item_failures(self) -> bool:
        """Whether the function's partial-failure response is honoured (spec 2.2)."""
        return limits.REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    @property
    def retries_forever(self) -> bool:
        """``MaximumRetryAttempts == -1``: a failing batch is retried until it expires."""
        return self.maximum_retry_attempts == -1

    def to_api(self) -> dict[str, Any]:
        """The settings as CreateEventSourceMapping fields (AWS names).

        Every field is present with its effective value (defaults included), except
        ``StartingPositionTimestamp``, ``FilterCriteria``, ``DestinationConfig``,
        ``MetricsConfig``, ``KMSKeyArn`` and ``Tags``, which appear only when set.
        ``parse(to_api())`` gives back an equal object.
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
        api["Enabled"] = self.enabled
        if self.metrics is not None:
            api["MetricsConfig"] = {"Metrics": list(self.metrics)}
        if self.kms_key_arn is not None:
            api["KMSKeyArn"] = self.kms_key_arn
        if self.tags:
            tags = self.tags
            api["Tags"] = dict(tags) if isinstance(tags, Mapping) else tags
        return api

    @classmethod
    def from_api(cls, doc: Mapping[str, Any], *, now: float | None = None) -> EsmSettings:
        """Validate and build from AWS-named fields; ``now`` defaults to the clock."""
        model = validated(EsmModel, doc, where="event_source_mapping", now=clock(now))
        return esm_settings(model)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The Kinesis data stream a consumer reads."""

    name: str
    shard_count: int
    retention_hours: int = limits.DEFAULT_RETENTION_HOURS
    #: Read through a registered stream consumer of this consumer's own (spec 4.2).
    enhanced_fan_out: bool = False

    def __post_init__(self) -> None:
        validated(StreamModel, self.to_dict(), where="StreamSettings")

    def to_dict(self) -> dict[str, Any]:
        """The section as written in the file (``enhanced_fan_out`` only when true)."""
        out: dict[str, Any] = {
            "name": self.name,
            "shard_count": self.shard_count,
            "retention_hours": self.retention_hours,
        }
        if self.enhanced_fan_out:
            out["enhanced_fan_out"] = self.enhanced_fan_out
        return out


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
        validated(FunctionModel, self.to_dict(), where="FunctionSettings")

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
        heads = {"consumers": {self.name: {"handler": self.handler}}}
        try:
            validated(ConsumerHeads, heads)
            errors = []
        except ConfigError as exc:
            errors = exc.errors
        for attr, kind in (
            ("stream", StreamSettings),
            ("function", FunctionSettings),
            ("event_source_mapping", EsmSettings),
        ):
            if not isinstance(getattr(self, attr), kind):
                errors.append(f"consumers.{self.name}.{attr}: is not a {kind.__name__}")
        if errors:
            raise ConfigError(errors)

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


# ------------------------------------------------------------- from the models


def clock(now: float | None) -> float:
    """``now``, or the current Unix time."""
    return time.time() if now is None else now


def esm_settings(model: EsmModel) -> EsmSettings:
    """The value object of a validated event source mapping."""
    destination = model.destination
    return EsmSettings(
        starting_position=model.starting_position,
        batch_size=model.batch_size,
        maximum_batching_window_in_seconds=model.maximum_batching_window_in_seconds,
        starting_position_timestamp=model.starting_position_timestamp,
        bisect_batch_on_function_error=model.bisect_batch_on_function_error,
        maximum_retry_attempts=model.maximum_retry_attempts,
        maximum_record_age_in_seconds=model.maximum_record_age_in_seconds,
        function_response_types=tuple(model.function_response_types),
        filter_patterns=model.patterns,
        tumbling_window_in_seconds=model.tumbling_window_in_seconds,
        parallelization_factor=model.parallelization_factor,
        on_failure=None
        if destination is None
        else DestinationRef(destination.type, destination.name),
        enabled=model.enabled,
        metrics=None if model.metrics_config is None else tuple(model.metrics_config.metrics),
        kms_key_arn=model.kms_key_arn,
        tags=dict(model.tags),
    )


def consumer_config(name: str, model: ConsumerModel) -> ConsumerConfig:
    """The value object of a validated consumer."""
    resources = model.resources
    return ConsumerConfig(
        name=name,
        handler=model.handler,
        stream=StreamSettings(**model.stream.model_dump()),
        function=FunctionSettings(
            timeout_seconds=model.function.timeout_seconds,
            memory_mb=model.function.memory_mb,
            environment=dict(model.function.environment),
        ),
        event_source_mapping=esm_settings(model.event_source_mapping),
        resources=None if resources is None else ResourceSettings(**resources.model_dump()),
    )
