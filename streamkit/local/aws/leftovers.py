"""What an earlier run left on an endpoint: found before a run, and reset on request.

``streamkit run`` checks what it reads back (every aggregate item, every dead letter,
every alert) against the records it generated, so it needs the consumers' resources
empty: against an endpoint that stays (``--endpoint-url``), a second run would read the
first one's output too and fail its check for no fault of the consumers. The run asks
:func:`leftovers` first and refuses, naming each resource that holds something, unless
told to :func:`reset` them (``--reset``): streams and tables are deleted (provisioning
creates them again, empty), buckets emptied, queues purged.

Example::

    from streamkit.local.aws import aws_clients, resources_for
    from streamkit.local.config import load_consumers

    resources = resources_for(load_consumers())
    for what in leftovers(resources, aws_clients()):
        print(what)  # "stream clickstream holds records", ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from botocore.exceptions import ClientError

from streamkit.errors import StreamkitError
from streamkit.local.aws.clients import ClientFactory
from streamkit.local.aws.provision import Resource

__all__ = ["LeftoverError", "leftovers", "reset", "start_clean"]

#: Error codes meaning "there is no such resource" (nothing left, nothing to reset).
_MISSING: Final = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchBucket",
        "NotFound",
        "404",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)
_WAITER: Final = {"Delay": 1, "MaxAttempts": 120}


class LeftoverError(StreamkitError, ValueError):
    """The endpoint holds an earlier run's output; the message names each resource."""


def start_clean(
    resources: Sequence[Resource],
    clients: ClientFactory,
    *,
    reset_first: bool,
    endpoint: str,
    say: Callable[[str], None] = lambda text: None,
) -> None:
    """Reset ``resources`` (``reset_first``) or make sure they hold nothing: raises
    :class:`LeftoverError` naming what they hold and what to do (``--reset``)."""
    if reset_first:
        done = reset(resources, clients)
        say(f"reset on {endpoint}: " + (", ".join(done) if done else "nothing to reset"))
        return
    found = leftovers(resources, clients)
    if found:
        raise LeftoverError(
            f"the endpoint {endpoint} holds an earlier run's output ({'; '.join(found)}); "
            "streamkit run checks everything it reads back against the records it "
            "generates, so these must start empty: pass --reset to delete the streams and "
            "tables and empty the buckets and queues first, or use a fresh endpoint"
        )


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


def leftovers(resources: Iterable[Resource], clients: ClientFactory) -> list[str]:
    """One line per resource that exists and holds something, e.g. ``"table
    clickstream-aggregates holds items"``; empty when a run can start clean. Missing
    resources hold nothing. SNS topics keep no state and are not looked at."""
    found = []
    for resource in resources:
        try:
            held = _holds(resource, clients)
        except ClientError as exc:
            if not _missing(exc):
                raise
            held = None
        if held:
            found.append(f"{_NOUNS.get(resource.kind, resource.kind)} {resource.name} {held}")
    return found


_NOUNS: Final = {"kinesis": "stream", "dynamodb": "table", "s3": "bucket", "sqs": "queue"}


def _holds(resource: Resource, clients: ClientFactory) -> str | None:
    name = resource.name
    if resource.kind == "kinesis":
        return "holds records" if _stream_has_records(clients("kinesis"), name) else None
    if resource.kind == "dynamodb":
        page = clients("dynamodb").scan(TableName=name, Limit=1, ConsistentRead=True)
        return "holds items" if page.get("Items") else None
    if resource.kind == "s3":
        page = clients("s3").list_objects_v2(Bucket=name, MaxKeys=1)
        return "holds objects" if page.get("KeyCount", 0) else None
    if resource.kind == "sqs":
        sqs = clients("sqs")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return "holds messages" if any(int(attributes.get(n, 0)) for n in names) else None
    return None


def _stream_has_records(kinesis: Any, stream: str) -> bool:
    """True when any shard, closed ones too, still holds a record (its TRIM_HORIZON)."""
    for shard in _shards(kinesis, stream):
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        # An iterator at TRIM_HORIZON may return no records before reaching them;
        # a few calls reach the first on the local endpoints (one on moto).
        for _ in range(5):
            page = kinesis.get_records(ShardIterator=iterator, Limit=1)
            if page.get("Records"):
                return True
            iterator = page.get("NextShardIterator")
            if not iterator or not page.get("MillisBehindLatest"):
                break
    return False


def _shards(kinesis: Any, stream: str) -> Iterator[str]:
    kwargs: dict[str, Any] = {"StreamName": stream}
    while True:
        page = kinesis.list_shards(**kwargs)
        for shard in page.get("Shards", []):
            yield str(shard["ShardId"])
        token = page.get("NextToken")
        if not token:
            return
        kwargs = {"NextToken": token}


def reset(resources: Sequence[Resource], clients: ClientFactory) -> list[str]:
    """Leave every resource empty or gone (provisioning creates it again); one line per
    resource changed, e.g. ``"deleted table clickstream-ledger"``. Streams are deleted
    with their registered consumers, tables deleted (both waited for), buckets emptied
    (every object version), queues purged."""
    done = []
    for resource in resources:
        try:
            what = _reset(resource, clients)
        except ClientError as exc:
            if not _missing(exc):
                raise
            what = None
        if what:
            done.append(f"{what} {_NOUNS.get(resource.kind, resource.kind)} {resource.name}")
    return done


def _reset(resource: Resource, clients: ClientFactory) -> str | None:
    name = resource.name
    if resource.kind == "kinesis":
        kinesis = clients("kinesis")
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=_WAITER)
        return "deleted"
    if resource.kind == "dynamodb":
        ddb = clients("dynamodb")
        ddb.delete_table(TableName=name)
        ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=_WAITER)
        return "deleted"
    if resource.kind == "s3":
        return "emptied" if _empty_bucket(clients("s3"), name) else None
    if resource.kind == "sqs":
        sqs = clients("sqs")
        sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
        return "purged"
    return None


def _empty_bucket(s3: Any, bucket: str) -> bool:
    """Delete every object version and delete marker; True when there were any."""
    deleted = False
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[i : i + 1000], "Quiet": True})
            deleted = True
    return deleted
