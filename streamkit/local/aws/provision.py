"""Provisioning from the consumer config: what ``infra/consumers.json`` needs, idempotently.

:func:`provision` creates each consumer's Kinesis stream, its on-failure
destination (SQS queue, SNS topic, S3 bucket) and the stores of its
``resources`` (DynamoDB tables, buckets, queues). More resources plug in through
the :class:`Resource` protocol and ``provision(..., extra=[...])``. Any client
factory works: ``LocalAWS.client``, or ``aws_clients()`` for a real account.

Example::

    result = provision(load_consumers(), aws.client)
    result.stream_arn("clickstream")  # arn:aws:kinesis:us-east-1:123456789012:...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from botocore.exceptions import ClientError

from streamkit.errors import StreamkitError
from streamkit.local.aws.clients import ClientFactory
from streamkit.local.config import ConsumerConfig, DestinationRef

__all__ = [
    "DynamoDbTable",
    "KinesisStream",
    "ProvisionError",
    "ProvisionResult",
    "ProvisionedConsumer",
    "ProvisionedResource",
    "Resource",
    "S3Bucket",
    "SnsTopic",
    "SqsQueue",
    "destination_resource",
    "provision",
    "resources_for",
]

_WAITER_DELAY: Final = 1  # seconds between waiter polls (botocore's default is 10)
_WAITER_MAX_ATTEMPTS: Final = 300


class ProvisionError(StreamkitError, RuntimeError):
    """A resource could not be created (e.g. a bucket name owned by someone else)."""


@dataclass(frozen=True, slots=True)
class ProvisionedResource:
    """One resource that exists after :func:`provision`."""

    kind: str  # "kinesis", "sqs", "sns", "s3"; later issues add e.g. "dynamodb"
    name: str
    arn: str
    #: What API calls take: stream name, queue URL, topic ARN, bucket name.
    target: str
    #: False when it already existed (provisioning is idempotent).
    created: bool


class Resource(Protocol):
    """Something :func:`provision` creates: the extension point for new resources.

    Provisioning runs in two phases so that slow resources are created in
    parallel: ``create`` on every resource first, then ``ready`` on each.
    ``create`` must be idempotent (an existing resource is fine: return False).
    """

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    def create(self, clients: ClientFactory) -> bool:
        """Start creating; True if created now, False if it already existed."""
        ...

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        """Wait until usable (when ``wait``), converge settings, describe it."""
        ...


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True, slots=True)
class KinesisStream:
    """A provisioned-mode Kinesis stream."""

    name: str
    shard_count: int
    retention_hours: int = 24
    kind: str = field(default="kinesis", init=False)

    def create(self, clients: ClientFactory) -> bool:
        try:
            clients("kinesis").create_stream(StreamName=self.name, ShardCount=self.shard_count)
        except ClientError as exc:
            if _error_code(exc) == "ResourceInUseException":
                return False  # exists (or is being created/deleted: ready() tells)
            raise
        return True

    def _wait_active(self, clients: ClientFactory) -> None:
        clients("kinesis").get_waiter("stream_exists").wait(
            StreamName=self.name,
            WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
        )

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        kinesis = clients("kinesis")
        summary = kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        current = int(summary["RetentionPeriodHours"])
        if current != self.retention_hours:
            # Retention changes need an ACTIVE stream, so wait even when wait=False.
            self._wait_active(clients)
            if current < self.retention_hours:
                kinesis.increase_stream_retention_period(
                    StreamName=self.name, RetentionPeriodHours=self.retention_hours
                )
            else:
                kinesis.decrease_stream_retention_period(
                    StreamName=self.name, RetentionPeriodHours=self.retention_hours
                )
        if wait:
            self._wait_active(clients)
        return ProvisionedResource(
            kind=self.kind,
            name=self.name,
            arn=str(summary["StreamARN"]),
            target=self.name,
            created=created,
        )


@dataclass(frozen=True, slots=True)
class SqsQueue:
    """A standard SQS queue with default attributes."""

    name: str
    kind: str = field(default="sqs", init=False)

    def create(self, clients: ClientFactory) -> bool:
        sqs = clients("sqs")
        try:
            sqs.get_queue_url(QueueName=self.name)
        except ClientError as exc:
            if _error_code(exc) not in (
                "AWS.SimpleQueueService.NonExistentQueue",
                "QueueDoesNotExist",
            ):
                raise
        else:
            return False
        attributes = {}
        if self.name.endswith(".fifo"):
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        sqs.create_queue(QueueName=self.name, Attributes=attributes)  # idempotent
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        sqs = clients("sqs")
        url = str(sqs.get_queue_url(QueueName=self.name)["QueueUrl"])
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = str(attributes["Attributes"]["QueueArn"])
        return ProvisionedResource(self.kind, self.name, arn, url, created)


@dataclass(frozen=True, slots=True)
class SnsTopic:
    """A standard SNS topic (CreateTopic is idempotent)."""

    name: str
    kind: str = field(default="sns", init=False)

    def _find(self, clients: ClientFactory) -> str | None:
        suffix = f":{self.name}"
        for page in clients("sns").get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                if str(topic["TopicArn"]).endswith(suffix):
                    return str(topic["TopicArn"])
        return None

    def create(self, clients: ClientFactory) -> bool:
        if self._find(clients) is not None:
            return False
        clients("sns").create_topic(Name=self.name)
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        arn = str(clients("sns").create_topic(Name=self.name)["TopicArn"])  # returns existing
        return ProvisionedResource(self.kind, self.name, arn, arn, created)


@dataclass(frozen=True, slots=True)
class S3Bucket:
    """An S3 bucket in the clients' region."""

    name: str
    kind: str = field(default="s3", init=False)

    def create(self, clients: ClientFactory) -> bool:
        s3 = clients("s3")
        # CreateBucket in us-east-1 succeeds again for the owner, so look first.
        try:
            s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound", "403"):
                raise
        else:
            return False
        region = s3.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            if code == "BucketAlreadyOwnedByYou":
                return False
            if code == "BucketAlreadyExists":
                raise ProvisionError(
                    f"S3 bucket {self.name!r} exists and belongs to another account; "
                    "bucket names are global, pick another name in infra/consumers.json"
                ) from exc
            raise
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        s3 = clients("s3")
        if wait:
            s3.get_waiter("bucket_exists").wait(
                Bucket=self.name,
                WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
            )
        arn = f"arn:{s3.meta.partition}:s3:::{self.name}"
        return ProvisionedResource(self.kind, self.name, arn, self.name, created)


@dataclass(frozen=True, slots=True)
class DynamoDbTable:
    """An on-demand DynamoDB table with a string hash key and optional range key.

    :meth:`ledger` and :meth:`aggregates` give the two schemas streamkit's sinks use.
    """

    name: str
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None
    kind: str = field(default="dynamodb", init=False)

    @classmethod
    def ledger(cls, name: str) -> DynamoDbTable:
        return cls(name, "id", ttl_attribute="expires_at")  # commit journal entries

    @classmethod
    def aggregates(cls, name: str) -> DynamoDbTable:
        return cls(name, "pk", "sk", ttl_attribute="ttl")

    def create(self, clients: ClientFactory) -> bool:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": self.hash_key, "AttributeType": "S"}]
        if self.range_key:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": self.range_key, "AttributeType": "S"})
        try:
            clients("dynamodb").create_table(
                TableName=self.name,
                KeySchema=keys,
                AttributeDefinitions=attrs,
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _error_code(exc) == "ResourceInUseException":
                return False
            raise
        return True

    def ready(self, clients: ClientFactory, *, wait: bool, created: bool) -> ProvisionedResource:
        ddb = clients("dynamodb")
        if wait:
            ddb.get_waiter("table_exists").wait(
                TableName=self.name,
                WaiterConfig={"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS},
            )
        if self.ttl_attribute and (created or self._ttl_off(ddb)):
            # Also on a table an earlier version created without it (the ledger's
            # commit journal entries expire through it).
            ddb.update_time_to_live(
                TableName=self.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": self.ttl_attribute},
            )
        arn = str(ddb.describe_table(TableName=self.name)["Table"]["TableArn"])
        return ProvisionedResource(self.kind, self.name, arn, self.name, created)

    def _ttl_off(self, ddb: Any) -> bool:
        described = ddb.describe_time_to_live(TableName=self.name)["TimeToLiveDescription"]
        return described.get("TimeToLiveStatus") in (None, "DISABLED")


def destination_resource(ref: DestinationRef) -> Resource:
    """The resource behind an on-failure destination of the consumer config."""
    if ref.type == "sqs":
        return SqsQueue(ref.name)
    if ref.type == "sns":
        return SnsTopic(ref.name)
    return S3Bucket(ref.name)


def resources_for(consumers: Mapping[str, ConsumerConfig]) -> list[Resource]:
    """Every resource the consumers need, each once, streams first."""
    streams: dict[str, Resource] = {}
    destinations: dict[tuple[str, str], Resource] = {}
    for consumer in consumers.values():
        stream = consumer.stream
        streams.setdefault(
            stream.name, KinesisStream(stream.name, stream.shard_count, stream.retention_hours)
        )
        ref = consumer.event_source_mapping.on_failure
        if ref is not None:
            destinations.setdefault((ref.type, ref.name), destination_resource(ref))
        res = consumer.resources
        if res is not None:
            stores: list[Resource] = [
                DynamoDbTable.ledger(res.ledger_table),
                S3Bucket(res.dead_letter_bucket),
            ]
            if res.aggregate_table:
                stores.append(DynamoDbTable.aggregates(res.aggregate_table))
            if res.archive_bucket:
                stores.append(S3Bucket(res.archive_bucket))
            if res.alerts_queue:
                stores.append(SqsQueue(res.alerts_queue))
            for store in stores:
                destinations.setdefault((store.kind, store.name), store)
    return [*streams.values(), *destinations.values()]


@dataclass(frozen=True, slots=True)
class ProvisionedConsumer:
    name: str
    stream: ProvisionedResource
    on_failure: ProvisionedResource | None

    @property
    def stream_arn(self) -> str:
        return self.stream.arn

    @property
    def destination_arn(self) -> str | None:
        """The ARN for ``DestinationConfig.OnFailure.Destination``, or None."""
        return None if self.on_failure is None else self.on_failure.arn


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    """What :func:`provision` made: per consumer, and every resource by (kind, name)."""

    consumers: Mapping[str, ProvisionedConsumer]
    resources: Mapping[tuple[str, str], ProvisionedResource]

    def stream_arn(self, consumer: str) -> str:
        return self.consumers[consumer].stream.arn

    def destination(self, consumer: str) -> ProvisionedResource | None:
        return self.consumers[consumer].on_failure

    def resource(self, kind: str, name: str) -> ProvisionedResource:
        return self.resources[(kind, name)]

    @property
    def created(self) -> list[ProvisionedResource]:
        """The resources this call created (empty on an idempotent re-run)."""
        return [r for r in self.resources.values() if r.created]


def provision(
    consumers: Mapping[str, ConsumerConfig],
    clients: ClientFactory,
    *,
    wait: bool = True,
    extra: Iterable[Resource] = (),
) -> ProvisionResult:
    """Create every consumer's stream and on-failure destination, idempotently.

    ``clients`` is any client factory: ``LocalAWS.client``, ``aws_clients()``
    for a real account or another endpoint. Streams are created first (all at once,
    then waited ACTIVE with boto3's ``stream_exists`` waiter when ``wait``), then
    the destinations; ``extra`` resources (tables, buckets of later features) are
    provisioned the same way. Existing resources are left as they are, except a
    stream's retention, which is set to the configured value.
    """
    planned: list[Resource] = []
    seen: set[tuple[str, str]] = set()
    for resource in [*resources_for(consumers), *extra]:
        key = (resource.kind, resource.name)
        if key not in seen:
            seen.add(key)
            planned.append(resource)
    created = [resource.create(clients) for resource in planned]
    provisioned: dict[tuple[str, str], ProvisionedResource] = {}
    for resource, was_created in zip(planned, created, strict=True):
        provisioned[(resource.kind, resource.name)] = resource.ready(
            clients, wait=wait, created=was_created
        )
    per_consumer: dict[str, ProvisionedConsumer] = {}
    for name, consumer in consumers.items():
        ref = consumer.event_source_mapping.on_failure
        per_consumer[name] = ProvisionedConsumer(
            name=name,
            stream=provisioned[("kinesis", consumer.stream.name)],
            on_failure=None if ref is None else provisioned[(ref.type, ref.name)],
        )
    return ProvisionResult(
        consumers=MappingProxyType(per_consumer), resources=MappingProxyType(provisioned)
    )
