"""The pydantic models of ``infra/consumers.json``: its shape, types, ranges and rules.

One model per object of the file, fields spelled as in the file (the event source
mapping's with the AWS CreateEventSourceMapping names, as aliases of snake_case
attributes). Every model is strict (JSON ``true`` is no integer, ``"500"`` no
number) and forbids unknown fields. Ranges are ``Field`` constraints (the numbers of
:mod:`~streamkit.local.config.limits`), rules across fields are model validators
(:mod:`~streamkit.local.config.rules`), and :class:`~.errors.Allowed` markers word
the messages where the type alone cannot.

:class:`EsmModel` holds AWS's rules only (what ``EsmSettings`` may hold);
:class:`ConsumerModel` adds what streamkit's processor needs of its consumers'
mappings. The public value objects are the dataclasses of
:mod:`~streamkit.local.config.settings`, built from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import model_validator as model_rule

from streamkit.local.config import limits, rules
from streamkit.local.config.errors import Allowed, not_null

_MODEL = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)


def _ints(bounds: tuple[int, int]) -> Any:
    """The ``Field`` of an integer range (inclusive)."""
    return Field(ge=bounds[0], le=bounds[1])


# ------------------------------------------------------------------- field types

ConsumerName = Annotated[
    str,
    Field(pattern=limits.CONSUMER_NAME),
    Allowed(
        "1..64 characters of A-Z a-z 0-9 _ -",
        noun="consumer name",
        duplicate="duplicate consumer (allowed: each name once)",
    ),
]
Handler = Annotated[
    str,
    Field(max_length=limits.MAX_HANDLER_CHARS, pattern=limits.HANDLER),
    Allowed(
        f'a dotted "module.attribute" path, at most {limits.MAX_HANDLER_CHARS} characters',
        noun="handler",
    ),
]
StreamName = Annotated[
    str,
    Field(pattern=limits.STREAM_NAME),
    Allowed("1..128 characters of A-Z a-z 0-9 _ . -", noun="name"),
]
EnvKey = Annotated[
    str,
    Field(pattern=limits.ENV_KEY),
    AfterValidator(rules.not_reserved),
    Allowed(
        "a letter, then letters, digits and _; at least 2 characters",
        noun="variable name",
        duplicate="duplicate variable (allowed: each variable once)",
    ),
]
TableName = Annotated[
    str, Field(pattern=limits.TABLE_NAME), Allowed(limits.TABLE_TEXT, noun="name")
]
BucketName = Annotated[
    str,
    Field(
        min_length=limits.BUCKET_NAME_CHARS[0],
        max_length=limits.BUCKET_NAME_CHARS[1],
        pattern=limits.BUCKET_NAME,
    ),
    AfterValidator(rules.not_punycode_bucket),
    Allowed(limits.BUCKET_TEXT, noun="name"),
]
FifoQueueName = Annotated[
    str,
    Field(pattern=limits.FIFO_QUEUE),
    Allowed("an SQS FIFO queue name: 1..75 characters of A-Z a-z 0-9 _ - then .fifo", noun="name"),
]
KmsKeyArn = Annotated[
    str,
    Field(max_length=2048, pattern=limits.KMS_KEY_ARN),
    Allowed(limits.KMS_KEY_TEXT, noun="KMS key ARN"),
]
TagKey = Annotated[
    str,
    Field(min_length=limits.TAG_KEY_CHARS[0], max_length=limits.TAG_KEY_CHARS[1]),
    AfterValidator(rules.tag_key),
    Allowed(
        limits.TAG_KEY_TEXT,
        noun="tag key",
        duplicate="duplicate tag (allowed: each key once)",
    ),
]
TagValue = Annotated[
    str,
    Field(max_length=limits.TAG_VALUE_CHARS[1]),
    AfterValidator(rules.tag_value),
    Allowed(limits.TAG_VALUE_TEXT, noun="tag value"),
]
Timestamp = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False),
    AfterValidator(rules.not_in_future),
    Allowed(rules.TIMESTAMP_TEXT, noun="timestamp"),
]


# ------------------------------------------------------------ event source mapping


class DestinationModel(BaseModel):
    """A logical on-failure destination: a queue, topic or bucket by name (spec 3.2)."""

    model_config = _MODEL

    type: Literal["sqs", "sns", "s3"]
    """The kind of resource."""
    name: Annotated[str, Allowed("a queue, topic or bucket name", noun="name")]
    """The queue, topic or bucket name; Terraform and the local tooling resolve it."""

    @model_rule(mode="after")
    def _name_fits_type(self) -> DestinationModel:
        rules.destination_name(self.type, self.name)
        return self


class OnFailureModel(BaseModel):
    model_config = _MODEL

    destination: Annotated[
        DestinationModel | None,
        BeforeValidator(rules.logical_destination),
        Allowed(rules.DESTINATION_REF_TEXT),
    ] = Field(None, alias="Destination")
    """Where Lambda sends the record of a discarded batch; null: nowhere."""


class DestinationConfigModel(BaseModel):
    model_config = _MODEL
    unknown_field_hints: ClassVar[dict[str, str]] = {
        "OnSuccess": "OnSuccess is not supported for event source mappings (spec 0.1); "
        "use OnFailure",
    }

    on_failure: Annotated[OnFailureModel | None, BeforeValidator(not_null)] = Field(
        None, alias="OnFailure"
    )
    """``{}`` (what AWS echoes, spec 0.2) means no destination."""


class FilterModel(BaseModel):
    model_config = _MODEL

    pattern: Annotated[
        str,
        Field(max_length=limits.MAX_PATTERN_CHARS),
        AfterValidator(rules.json_object),
        Allowed(rules.PATTERN_TEXT),
    ] = Field(alias="Pattern")
    """A Lambda filter pattern: a JSON object, as a string (spec 5)."""


class FilterCriteriaModel(BaseModel):
    model_config = _MODEL

    filters: Annotated[
        list[FilterModel],
        Field(max_length=limits.MAX_FILTERS),
        Allowed(
            f'a list of at most {limits.MAX_FILTERS} {{"Pattern": "<JSON object>"}}',
            too_long="{count} filters are too many (allowed: at most "
            f"{limits.MAX_FILTERS}; the default quota is 5, raisable to 10, spec 0.1)",
        ),
    ] = Field(alias="Filters")
    """A record is delivered when it matches any filter; ``[]``: no filtering."""

    @model_rule(mode="after")
    def _patterns_compile(self) -> FilterCriteriaModel:
        rules.compile_filters([f.pattern for f in self.filters])
        return self


class MetricsConfigModel(BaseModel):
    """Which ESM metrics Lambda publishes (CreateEventSourceMapping ``MetricsConfig``)."""

    model_config = _MODEL

    metrics: Annotated[
        list[Literal["EventCount"]],
        Field(max_length=len(limits.KINESIS_ESM_METRICS)),
        Allowed(
            '[] or ["EventCount"]; ErrorCount and KafkaMetrics are for Kafka sources only',
            noun="value",
            whole=True,
        ),
    ] = Field(alias="Metrics")
    """``["EventCount"]``: Lambda publishes the mapping's event counts (PolledEventCount,
    FilteredOutEventCount, ...) to CloudWatch; ``[]``: none."""


class EsmModel(BaseModel):
    """A Kinesis event source mapping, as CreateEventSourceMapping takes it (spec 0.1).

    A field left out takes its AWS default (spec 0.2).
    """

    model_config = _MODEL
    unknown_field_hints: ClassVar[dict[str, str]] = {
        "EventSourceArn": "it is derived from stream.name; do not set it here",
        "FunctionName": "it is derived from the consumer; do not set it here",
    }

    batch_size: Annotated[int, _ints(limits.BATCH_SIZE)] = Field(100, alias="BatchSize")
    """The most records in one invocation. Larger batches write each aggregate item
    fewer times (README, "The consumers": batching is set for write cost)."""
    # Spec 0.3: the API reference says BatchSize > 10 needs a batching window of at
    # least 1 s, but AWS enforces that for SQS only; Kinesis accepts BatchSize 500
    # with window 0. So we deliberately do not check that combination.
    maximum_batching_window_in_seconds: Annotated[int, _ints(limits.BATCHING_WINDOW)] = Field(
        0, alias="MaximumBatchingWindowInSeconds"
    )
    """How long Lambda gathers records before invoking: the latency a record may wait,
    traded for fewer, larger batches and so fewer aggregate writes (README, "The
    consumers")."""
    starting_position: Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] = Field(
        alias="StartingPosition"
    )
    """Where a new mapping starts reading each shard."""
    starting_position_timestamp: Annotated[Timestamp | None, BeforeValidator(not_null)] = Field(
        None, alias="StartingPositionTimestamp"
    )
    """Unix seconds; only with AT_TIMESTAMP, never in the future."""
    bisect_batch_on_function_error: bool = Field(False, alias="BisectBatchOnFunctionError")
    """Split a failing batch in two and retry the halves."""
    maximum_retry_attempts: Annotated[int, _ints(limits.MAXIMUM_RETRY_ATTEMPTS)] = Field(
        -1, alias="MaximumRetryAttempts"
    )
    """Retries of a failing batch; -1: until its records expire."""
    maximum_record_age_in_seconds: Annotated[
        int,
        _ints(limits.MAXIMUM_RECORD_AGE),
        AfterValidator(rules.finite_record_age),
        Allowed(f"-1, or {limits.MINIMUM_FINITE_RECORD_AGE}..{limits.MAXIMUM_RECORD_AGE[1]}"),
    ] = Field(-1, alias="MaximumRecordAgeInSeconds")
    """Records older than this are discarded; -1: never."""
    function_response_types: Annotated[
        list[Literal["ReportBatchItemFailures"]],
        Field(max_length=1),
        Allowed(f'[] or ["{limits.REPORT_BATCH_ITEM_FAILURES}"]', noun="value", whole=True),
    ] = Field(default_factory=list, alias="FunctionResponseTypes")
    """``["ReportBatchItemFailures"]``: Lambda honours the partial-failure response."""
    filter_criteria: Annotated[FilterCriteriaModel | None, BeforeValidator(not_null)] = Field(
        None, alias="FilterCriteria"
    )
    """Event filtering (spec 5)."""
    tumbling_window_in_seconds: Annotated[int, _ints(limits.TUMBLING_WINDOW)] = Field(
        0, alias="TumblingWindowInSeconds"
    )
    """Tumbling window length; 0: none."""
    parallelization_factor: Annotated[int, _ints(limits.PARALLELIZATION_FACTOR)] = Field(
        1, alias="ParallelizationFactor"
    )
    """Concurrent batches per shard."""
    destination_config: Annotated[DestinationConfigModel | None, BeforeValidator(not_null)] = Field(
        None, alias="DestinationConfig"
    )
    """The on-failure destination, as a logical ``{type, name}`` reference."""

    enabled: bool = Field(True, alias="Enabled")
    """false: Lambda pauses polling and invoking; re-enabled, the mapping resumes from its
    checkpoint (spec 0.7)."""
    metrics_config: Annotated[MetricsConfigModel | None, BeforeValidator(not_null)] = Field(
        None, alias="MetricsConfig"
    )
    """ESM metrics Lambda publishes: ``{"Metrics": ["EventCount"]}``."""
    kms_key_arn: Annotated[KmsKeyArn | None, BeforeValidator(not_null)] = Field(
        None, alias="KMSKeyArn"
    )
    """The customer managed KMS key Lambda encrypts the filter criteria with."""
    tags: Annotated[
        dict[TagKey, TagValue],
        Field(max_length=limits.MAX_TAGS),
        Allowed(
            "an object of tag key -> value strings",
            too_long="{count} tags are too many (allowed: at most "
            f"{limits.MAX_TAGS} per resource)",
        ),
    ] = Field(default_factory=dict, alias="Tags")
    """Tags of the event source mapping itself (the resource Lambda creates)."""

    @model_rule(mode="after")
    def _timestamp_goes_with_at_timestamp(self) -> EsmModel:
        rules.starting_timestamp(self.starting_position, self.starting_position_timestamp)
        return self

    @property
    def destination(self) -> DestinationModel | None:
        """``DestinationConfig.OnFailure.Destination``, if any."""
        on_failure = self.destination_config and self.destination_config.on_failure
        return on_failure.destination if on_failure else None

    @property
    def patterns(self) -> tuple[str, ...]:
        """The ``Pattern`` strings of ``FilterCriteria.Filters``."""
        criteria = self.filter_criteria
        return tuple(f.pattern for f in criteria.filters) if criteria else ()


#: The event source mapping fields the file may set (AWS names, in file order).
ESM_FIELDS = tuple(f.alias or name for name, f in EsmModel.model_fields.items())


# ------------------------------------------------------------------ the consumer


class StreamModel(BaseModel):
    """The Kinesis data stream a consumer reads."""

    model_config = _MODEL

    name: StreamName
    shard_count: Annotated[int, _ints(limits.SHARD_COUNT)]
    """Shards to create (the default per-account quota of the largest regions)."""
    retention_hours: Annotated[int, _ints(limits.RETENTION_HOURS)] = limits.DEFAULT_RETENTION_HOURS
    """How long Kinesis keeps records (spec 7.5)."""
    enhanced_fan_out: bool = False
    """true: this consumer reads through its own registered stream consumer (enhanced
    fan-out, spec 0.5/4.2), named like its function, with a dedicated 2 MB/s per shard;
    false: it shares the shards' reads with every other standard consumer (spec 4.1).
    Per consumer: two consumers of one stream may differ."""


class FunctionModel(BaseModel):
    """The Lambda function's own settings."""

    model_config = _MODEL

    timeout_seconds: Annotated[int, _ints(limits.TIMEOUT_SECONDS)]
    memory_mb: Annotated[int, _ints(limits.MEMORY_MB)]
    environment: Annotated[
        dict[EnvKey, Annotated[str, Allowed("a string")]],
        AfterValidator(rules.environment_fits),
        Allowed("an object of strings"),
    ] = Field(default_factory=dict)
    """Extra variables; Lambda's name rules, no reserved names, 4 KB in total."""


class ResourcesModel(BaseModel):
    """The stores a consumer writes to; handlers find them in ``STREAMKIT_*`` variables."""

    model_config = _MODEL

    ledger_table: TableName
    dead_letter_bucket: BucketName
    aggregate_table: Annotated[TableName | None, BeforeValidator(not_null)] = None
    archive_bucket: Annotated[BucketName | None, BeforeValidator(not_null)] = None
    alerts_queue: Annotated[FifoQueueName | None, BeforeValidator(not_null)] = None


class ConsumerHead(BaseModel):
    """What identifies a consumer's code: the handler (the name is the map's key)."""

    model_config = _MODEL

    handler: Handler
    """Dotted ``module.attribute`` path of the Lambda handler."""


class ConsumerHeads(BaseModel):
    """Consumer names and handlers alone: what a ``ConsumerConfig`` checks."""

    model_config = _MODEL

    consumers: dict[ConsumerName, ConsumerHead]


class ConsumerModel(ConsumerHead):
    """One consumer: handler, stream, function, event source mapping, resources."""

    stream: StreamModel
    function: FunctionModel
    event_source_mapping: EsmModel
    resources: Annotated[ResourcesModel | None, BeforeValidator(not_null)] = None

    @field_validator("event_source_mapping")
    @classmethod
    def _fits_streamkit(cls, esm: EsmModel) -> EsmModel:
        rules.streamkit_esm(esm.parallelization_factor, list(esm.function_response_types))
        return esm


class ConsumersModel(BaseModel):
    """The whole of ``infra/consumers.json``."""

    model_config = _MODEL

    schema_uri: Annotated[
        Annotated[str, Allowed("the path or URL of this file's JSON Schema")] | None,
        BeforeValidator(not_null),
    ] = Field(None, alias="$schema")
    """The JSON Schema of this file, for editors: ``./consumers.schema.json``."""
    consumers: Annotated[
        dict[ConsumerName, ConsumerModel],
        Field(min_length=1),
        Allowed(
            "an object of consumers",
            too_short="{show} is empty (allowed: at least one consumer)",
        ),
    ]
    """Consumer name (part of the Lambda function's name) -> consumer; at least one."""

    @model_rule(mode="after")
    def _streams_agree(self) -> ConsumersModel:
        rules.shared_streams(
            (name, c.stream.name, c.stream.shard_count, c.stream.retention_hours)
            for name, c in self.consumers.items()
        )
        return self
