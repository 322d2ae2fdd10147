"""What an AWS request asks IAM for: its actions, resources and condition keys.

:func:`calls_of` turns one signed HTTP request (as a proxy in front of the endpoint
sees it) into the :class:`~streamkit.local.iam.policy.Call` values AWS authorises
it as (Service Authorization Reference):

* the service is the SigV4 signing name of the ``Authorization`` header;
* DynamoDB, Kinesis, SQS (JSON), KMS, CloudWatch Logs: the operation of
  ``X-Amz-Target`` on the ARN its body names (``GetRecords``: the stream its shard
  iterator came from, as the caller learnt it); ``TransactWriteItems`` and
  ``TransactGetItems`` are authorised item by item as ``PutItem``, ``UpdateItem``,
  ``DeleteItem``, ``ConditionCheckItem`` and ``GetItem``; ``dynamodb:LeadingKeys``
  holds the partition key values of the items a call touches;
* SQS's query protocol: ``Action=`` on the queue of ``QueueUrl``;
* S3 (path-style): ``PutObject`` / ``GetObject`` / ``DeleteObject`` on
  ``arn:aws:s3:::bucket/key``, ``ListBucket`` on ``arn:aws:s3:::bucket``;
* ``sts:GetCallerIdentity`` needs no permission (AWS allows it always): no call.

A request it cannot map becomes a call of action ``<service>:<unmapped ...>``, which
no policy allows: the run fails on it visibly instead of letting it through.

Example::

    calls_of("POST", "/", headers, body, region="us-east-1", account="123456789012",
             partition_key=lambda table: "id")
    # [Call('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/ledger',
    #       {'dynamodb:LeadingKeys': ('iot#shardId-000000000000',)})]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from streamkit.local.iam.policy import Call

__all__ = ["calls_of", "signing_key"]

#: One transaction item's kind -> the IAM action it is authorised as.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def signing_key(headers: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(access key id, region, service) of a SigV4 ``Authorization`` header."""
    auth = headers.get("authorization", "")
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) < 4:
        return None
    return scope[0], scope[2], scope[3]


def _scalar(value: Mapping[str, Any]) -> str:
    """A key attribute value as IAM compares it: its string form."""
    for kind in ("S", "N", "B"):
        if kind in value:
            return str(value[kind])
    return orjson.dumps(value).decode()


def _dynamodb(
    operation: str,
    body: Mapping[str, Any],
    arn: Callable[[str], str],
    partition_key: Callable[[str], str | None],
) -> list[Call]:
    def call(action: str, table: str, items: list[Mapping[str, Any]]) -> Call:
        key = partition_key(table)
        context: dict[str, tuple[str, ...]] = {}
        if key is not None and items:
            context["dynamodb:LeadingKeys"] = tuple(
                sorted({_scalar(i[key]) for i in items if key in i})
            )
        return Call(f"dynamodb:{action}", arn(table), context)

    if operation in ("TransactWriteItems", "TransactGetItems"):
        calls = []
        for item in body.get("TransactItems", []):
            for kind, part in item.items():
                action = _TRANSACT_ACTIONS.get(kind, f"unmapped {kind}")
                calls.append(call(action, part["TableName"], [part.get("Key") or part["Item"]]))
        return calls
    if operation == "BatchGetItem":
        return [
            call(operation, table, list(request.get("Keys", [])))
            for table, request in body.get("RequestItems", {}).items()
        ]
    if operation == "BatchWriteItem":
        return [
            call(
                operation,
                table,
                [r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"] for r in writes],
            )
            for table, writes in body.get("RequestItems", {}).items()
        ]
    table = str(body.get("TableName", "*"))
    items = [body[k] for k in ("Key", "Item") if k in body]
    return [call(operation, table, items)]


def _s3(method: str, path: str) -> list[Call]:
    parts = urlsplit(path)
    bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
    query = parse_qs(parts.query, keep_blank_values=True)
    if not bucket:
        return [Call("s3:ListAllMyBuckets", "*")]
    if key:
        resource = f"arn:aws:s3:::{bucket}/{key}"
        action = {"PUT": "PutObject", "POST": "PutObject", "GET": "GetObject", "HEAD": "GetObject"}
        if method == "DELETE":
            return [Call("s3:DeleteObject", resource)]
        if method in action and (not query or set(query) <= {"uploadId", "partNumber", "uploads"}):
            return [Call(f"s3:{action[method]}", resource)]
        return [Call(f"s3:unmapped {method} object ?{'&'.join(sorted(query))}", resource)]
    if method in ("GET", "HEAD") and set(query) <= {
        "list-type",
        "prefix",
        "continuation-token",
        "delimiter",
        "max-keys",
        "start-after",
        "encoding-type",
        "marker",
    }:
        return [Call("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    return [
        Call(f"s3:unmapped {method} bucket ?{'&'.join(sorted(query))}", f"arn:aws:s3:::{bucket}")
    ]


def _queue_arn(url: str, region: str, account: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{url.rstrip('/').rsplit('/', 1)[-1]}"


def calls_of(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    region: str,
    account: str,
    partition_key: Callable[[str], str | None],
    iterator_stream: Callable[[str], str | None] = lambda iterator: None,
) -> list[Call]:
    """The IAM calls of one request (see the module doc); ``headers`` lower-cased.

    ``partition_key(table)`` names a table's partition key attribute (None: unknown,
    no ``dynamodb:LeadingKeys``). ``iterator_stream(iterator)`` names the stream ARN
    a shard iterator reads (``GetRecords`` names only the iterator; None: unknown).
    """
    signed = signing_key(headers)
    service = signed[2] if signed else "unsigned"
    target = headers.get("x-amz-target", "")
    operation = target.rsplit(".", 1)[-1]
    if service == "s3":
        return _s3(method, path)
    doc: dict[str, Any] = {}
    if target and body:
        doc = orjson.loads(body)
    elif body and service in ("sqs", "sts", "sns", "iam"):  # query protocol
        form = parse_qs(body.decode(), keep_blank_values=True)
        doc = {k: v[0] for k, v in form.items()}
        operation = doc.get("Action", "")
    if service == "sts" and operation == "GetCallerIdentity":
        return []
    if service == "dynamodb":
        return _dynamodb(
            operation,
            doc,
            lambda table: f"arn:aws:dynamodb:{region}:{account}:table/{table}",
            partition_key,
        )
    if service == "sqs":
        queue = doc.get("QueueUrl")
        resource = _queue_arn(queue, region, account) if queue else "*"
        return [Call(f"sqs:{operation}", resource)]
    if service == "kinesis":
        stream = doc.get("StreamARN") or doc.get("ConsumerARN")
        if stream is None and "ShardIterator" in doc:
            stream = iterator_stream(str(doc["ShardIterator"]))
        if stream is None and "StreamName" in doc:
            stream = f"arn:aws:kinesis:{region}:{account}:stream/{doc['StreamName']}"
        return [Call(f"kinesis:{operation}", str(stream or "*"))]
    if service == "kms":
        key = str(doc.get("KeyId", "*"))
        if not key.startswith("arn:") and key != "*":
            key = f"arn:aws:kms:{region}:{account}:key/{key}"
        return [Call(f"kms:{operation}", key)]
    if service == "logs":
        group = doc.get("logGroupName")
        resource = f"arn:aws:logs:{region}:{account}:log-group:{group}" if group else "*"
        if group and doc.get("logStreamName"):
            resource += f":log-stream:{doc['logStreamName']}"
        return [Call(f"logs:{operation}", resource)]
    return [Call(f"{service}:{operation or 'unmapped ' + method + ' ' + path}", "*")]
