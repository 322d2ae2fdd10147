"""The exceptions the in-memory stores raise: botocore's own classes, as on AWS.

Code under test catches ``client.exceptions.ConditionalCheckFailedException`` and the
like; the in-memory services expose the very classes a boto3 client has (built once
from botocore's service models, no network), so an ``except`` clause behaves the same
on moto, on AWS and in memory.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.exceptions import ClientError


@functools.cache
def exceptions(service: str) -> Any:
    """``client.exceptions`` of a boto3 client for ``service`` (never used to call AWS)."""
    client = boto3.session.Session().client(
        service,
        region_name="us-east-1",
        aws_access_key_id="memory",
        aws_secret_access_key="memory",
    )
    return client.exceptions


def client_error(service: str, code: str, message: str, operation: str) -> ClientError:
    """The ClientError subclass boto3 raises for ``code`` (e.g. ``NoSuchKey``)."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    cls = exceptions(service).from_code(code)
    error: ClientError = cls(response, operation)
    return error
