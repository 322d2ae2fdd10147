"""The handler's return value, marshalled as Lambda's Python runtime does it (spec 10.3).

In-process invocations use the runtime interface client's own marshaller
(``awslambdaric.lambda_runtime_marshaller``), so the rules are Lambda's and not an
imitation: ``Decimal`` and integers of any size serialise, a top-level ``bytes``
value is sent as is, bytes inside the value are written as a string when they are
UTF-8, and anything else JSON cannot represent (``datetime``, ``set``, bytes that
are not UTF-8) is ``Runtime.MarshalError``, a function error.

Example::

    body, content_type = marshal_response({"total": Decimal("1.10"), "big": 2**70})
    response = parse_response(body, content_type)   # what the event source sees
"""

from __future__ import annotations

import json
from typing import Any

from awslambdaric.lambda_runtime_exception import FaultException
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

from streamkit.errors import StreamkitError

_MARSHALLER = LambdaMarshaller()


class MarshalError(StreamkitError):
    """The return value cannot be serialised: ``Runtime.MarshalError``."""

    error_type = "Runtime.MarshalError"


def marshal_response(value: Any) -> tuple[bytes, str]:
    """(body, content type) of ``value``; MarshalError when the runtime cannot send it."""
    try:
        body, content_type = _MARSHALLER.marshal_response(value)
    except FaultException as e:
        raise MarshalError(e.msg) from None
    data = body if isinstance(body, bytes) else str(body).encode("utf-8")
    return data, str(content_type)


def parse_response(body: bytes, content_type: str) -> Any:
    """The response as the event source reads it back.

    JSON is parsed with the standard library, which keeps integers of any size
    (orjson stops at 64 bits). A body that is not JSON (a handler returning raw
    ``bytes``) is handed on as text: with ReportBatchItemFailures a non-empty string
    is a failed batch (spec 2.2.4), without it the body is ignored (spec 2.2.1).
    """
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
