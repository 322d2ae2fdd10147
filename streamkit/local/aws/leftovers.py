"""What an earlier run left on an endpoint: found before a run, and reset on request.

``streamkit run`` checks what it reads back (every aggregate item, every dead letter,
every alert) against the records it generated, so it needs the consumers' resources
empty: against an endpoint that stays (``--endpoint-url``), a second run would read the
first one's output too and fail its check for no fault of the consumers. The run asks
:func:`leftovers` first and refuses, naming each resource that holds something, unless
told to :func:`reset` them (``--reset``): streams and tables are deleted (provisioning
creates them again, empty), buckets emptied, queues purged. A ledger table other
consumers share (``--consumer`` runs one) is looked at and reset only in the run's
consumers' items; any other shared resource that holds something is named, never
reset for one consumer.

Example::

    from streamkit.local.aws import aws_clients, resources_for
    from streamkit.local.config import load_consumers

    resources = resources_for(load_consumers())
    for what in leftovers(resources, aws_clients()):
        print(what)  # "stream clickstream holds records", ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from streamkit.errors import StreamkitError
from streamkit.local.aws.clients import ClientFactory
from streamkit.local.aws.provision import (
    _WAITER_DELAY,
    _WAITER_MAX_ATTEMPTS,
    Resource,
    _error_code,
    resources_for,
)
from streamkit.local.config import ConsumerConfig
from streamkit.local.shards import KinesisShardReader

__all__ = ["LeftoverError", "Owned", "leftovers", "owned_resources", "reset", "start_clean"]

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
_WAITER: Final = {"Delay": _WAITER_DELAY, "MaxAttempts": _WAITER_MAX_ATTEMPTS}
_NOUNS: Final = {"kinesis": "stream", "dynamodb": "table", "s3": "bucket", "sqs": "queue"}
#: What :func:`leftovers` calls on each kind of resource (named when the endpoint
#: refuses one, so the user knows which permission the credentials lack).
_CHECK_ACTIONS: Final = {
    "kinesis": "kinesis:ListShards, kinesis:GetShardIterator and kinesis:GetRecords",
    "dynamodb": "dynamodb:Scan",
    "s3": "s3:ListBucket",
    "sqs": "sqs:GetQueueUrl and sqs:GetQueueAttributes",
}
#: What --reset looks at before it changes anything (:func:`_cannot_reset`): a shared
#: resource as the check does, an owned table's deletion protection.
_RESET_LOOK_ACTIONS: Final = {
    **_CHECK_ACTIONS,
    "dynamodb": "dynamodb:DescribeTable (dynamodb:Scan on a shared table)",
}


class LeftoverError(StreamkitError, ValueError):
    """The endpoint holds an earlier run's output, or a reset could not empty it; the
    message names each resource."""


@dataclass(frozen=True, slots=True)
class Owned:
    """What of one resource a run owns: all of it, or only some consumers' items."""

    resource: Resource
    #: A ledger table other consumers share: only these consumers' items
    #: (ids ``<consumer>#...``); empty: the whole resource.
    ledger_of: tuple[str, ...] = ()
    #: Other consumers using it (not a ledger table): looked at, never reset.
    shared_with: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{_NOUNS.get(self.resource.kind, self.resource.kind)} {self.resource.name}"


def owned_resources(
    consumers: Mapping[str, ConsumerConfig], selected: Sequence[str]
) -> list[Owned]:
    """The resources of the ``selected`` consumers, each with what of it they own."""
    users: dict[tuple[str, str], list[str]] = {}
    for name, consumer in consumers.items():
        for r in resources_for({name: consumer}):
            users.setdefault((r.kind, r.name), []).append(name)
    ledgers = {c.resources.ledger_table for c in consumers.values() if c.resources}
    out = []
    for r in resources_for({n: consumers[n] for n in selected}):
        others = tuple(u for u in users[(r.kind, r.name)] if u not in selected)
        if not others:
            out.append(Owned(r))
        elif r.kind == "dynamodb" and r.name in ledgers:
            out.append(Owned(r, ledger_of=tuple(selected)))
        else:
            out.append(Owned(r, shared_with=others))
    return out


def _owned(resources: Iterable[Resource | Owned]) -> list[Owned]:
    return [r if isinstance(r, Owned) else Owned(r) for r in resources]


def start_clean(
    resources: Sequence[Resource | Owned],
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
    return _error_code(exc) in _MISSING


def leftovers(resources: Iterable[Resource | Owned], clients: ClientFactory) -> list[str]:
    """One line per resource that exists and holds something, e.g. ``"table
    clickstream-aggregates holds items"``; empty when a run can start clean. Missing
    resources hold nothing. SNS topics keep no state and are not looked at.

    Raises :class:`LeftoverError` naming the resource, the endpoint's error and the
    actions the check needs when the endpoint refuses a look (``AccessDenied``)."""
    found = []
    for owned in _owned(resources):
        try:
            held = _holds(owned, clients)
        except ClientError as exc:
            if not _missing(exc):
                raise LeftoverError(
                    f"could not tell whether {owned.label} holds an earlier run's output: "
                    + _refusal(exc, _CHECK_ACTIONS.get(owned.resource.kind, "read access"))
                ) from exc
            held = None
        if held:
            shared = f" (shared with {', '.join(owned.shared_with)})" if owned.shared_with else ""
            found.append(f"{owned.label} {held}{shared}")
    return found


def _refusal(exc: ClientError, actions: str) -> str:
    """The endpoint's error, and when it is a refused permission what the call needs."""
    code = _error_code(exc)
    text = f"{code}: {exc.response.get('Error', {}).get('Message', exc)}"
    if "AccessDenied" in code or code in {"UnauthorizedOperation", "AuthorizationError"}:
        text += f"; the credentials need {actions} on it"
    return text


def _holds(owned: Owned, clients: ClientFactory) -> str | None:
    resource, name = owned.resource, owned.resource.name
    if owned.ledger_of:
        items = _ledger_items(clients("dynamodb"), name, owned.ledger_of, limit=1)
        return f"holds {', '.join(owned.ledger_of)}'s ledger items" if items else None
    if resource.kind == "kinesis":
        return "holds records" if _stream_has_records(clients("kinesis"), name) else None
    if resource.kind == "dynamodb":
        page = clients("dynamodb").scan(TableName=name, Limit=1, ConsistentRead=True)
        return "holds items" if page.get("Items") else None
    if resource.kind == "s3":
        page = clients("s3").list_objects_v2(Bucket=name, MaxKeys=1)
        return "holds objects" if page.get("KeyCount", 0) else None
    if resource.kind == "sqs":
        return "holds messages" if _queue_messages(clients("sqs"), name) else None
    return None


def _queue_messages(sqs: Any, name: str) -> int:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def _ledger_items(
    ddb: Any, table: str, consumers: Sequence[str], *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The keys of ``consumers``' items in a ledger table (ids ``<consumer>#...``)."""
    condition = " OR ".join(f"begins_with(#id, :p{i})" for i in range(len(consumers)))
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ConsistentRead": True,
        "ProjectionExpression": "#id",
        "FilterExpression": condition,
        "ExpressionAttributeNames": {"#id": "id"},
        "ExpressionAttributeValues": {f":p{i}": {"S": f"{c}#"} for i, c in enumerate(consumers)},
    }
    keys: list[dict[str, Any]] = []
    while limit is None or len(keys) < limit:
        page = ddb.scan(**kwargs)
        keys.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return keys


def _stream_has_records(kinesis: Any, stream: str) -> bool:
    """True when any shard, closed ones too, still holds a record (its TRIM_HORIZON)."""
    for shard in (s.shard_id for s in KinesisShardReader(kinesis, stream).shards()):
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


def reset(resources: Sequence[Resource | Owned], clients: ClientFactory) -> list[str]:
    """Leave every resource empty or gone (provisioning creates it again); one line per
    resource changed, e.g. ``"deleted table clickstream-ledger"``. Streams are deleted
    with their registered consumers, tables deleted (both waited for), buckets emptied
    (every object version), queues holding messages purged, a shared ledger table's
    items of the run's consumers deleted.

    Raises :class:`LeftoverError`, before anything is deleted when it can tell (a
    table with deletion protection, a shared resource that holds something), else
    naming the resource it stopped at and what was reset already; and when, after
    it, something still holds what it held (a bucket's object under legal hold)."""
    owned = _owned(resources)
    problems = _cannot_reset(owned, clients)
    if problems:
        raise LeftoverError(
            "--reset would stop halfway, nothing was changed: " + "; ".join(problems)
        )
    done: list[str] = []
    for o in owned:
        try:
            what = _reset(o, clients)
        except ClientError as exc:
            if _missing(exc):
                continue
            hint = (
                " (SQS purges a queue at most once a minute)"
                if _error_code(exc) == "PurgeQueueInProgress"
                else ""
            )
            raise LeftoverError(
                f"--reset stopped at {o.label}: {exc}{hint}; reset before it: "
                + (", ".join(done) or "nothing")
            ) from exc
        if what:
            done.append(f"{what} {o.label}")
    left = leftovers(owned, clients)
    if left:
        raise LeftoverError(f"--reset could not empty everything: {'; '.join(left)}")
    return done


def _cannot_reset(owned: Sequence[Owned], clients: ClientFactory) -> list[str]:
    problems = []
    for o in owned:
        r = o.resource
        try:
            if o.shared_with and _holds(o, clients):
                problems.append(
                    f"{o.label} is shared with {', '.join(o.shared_with)}: reset all its "
                    "consumers (no --consumer) or empty it yourself"
                )
            elif r.kind == "dynamodb" and not o.ledger_of:
                table = clients("dynamodb").describe_table(TableName=r.name)["Table"]
                if table.get("DeletionProtectionEnabled"):
                    problems.append(
                        f"{o.label} has deletion protection: turn it off (UpdateTable "
                        "DeletionProtectionEnabled=false) or use a fresh endpoint"
                    )
        except ClientError as exc:
            if not _missing(exc):
                raise LeftoverError(
                    f"--reset could not look at {o.label}, nothing was changed: "
                    + _refusal(exc, _RESET_LOOK_ACTIONS.get(r.kind, "read access"))
                ) from exc
    return problems


def _reset(owned: Owned, clients: ClientFactory) -> str | None:
    resource, name = owned.resource, owned.resource.name
    if owned.shared_with:
        return None  # empty (checked before): nothing to do
    if owned.ledger_of:
        ddb = clients("dynamodb")
        keys = _ledger_items(ddb, name, owned.ledger_of)
        for i in range(0, len(keys), 25):  # BatchWriteItem takes at most 25
            requests = {name: [{"DeleteRequest": {"Key": k}} for k in keys[i : i + 25]]}
            while requests:
                requests = ddb.batch_write_item(RequestItems=requests).get("UnprocessedItems")
        return f"deleted {', '.join(owned.ledger_of)}'s {len(keys)} items in" if keys else None
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
        if not _queue_messages(sqs, name):
            return None  # SQS allows one purge a minute: none where nothing is held
        sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
        return "purged"
    return None


def _empty_bucket(s3: Any, bucket: str) -> bool:
    """Delete every object version and delete marker; True when there were any.
    Objects S3 refuses to delete (object lock) are left: :func:`reset` says so."""
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
