"""streamkit: idempotent Kinesis batch processing for AWS Lambda.

The public API a Lambda handler needs::

    import streamkit

    def handle(record: streamkit.Record) -> None:
        doc = record.json()          # bad payloads raise DecodeError -> dead letter
        if "user_id" not in doc:
            raise streamkit.PermanentError("user_id missing", reason="schema")
        doc["page"]                  # KeyError/ValueError/TypeError -> dead letter "invalid"
        ...                          # anything else (throttling, timeouts): retried by Lambda

    def handler(event, context):
        return streamkit.process_batch(event, handle, context)

``import streamkit`` stays light: no boto3, botocore or local tooling, and the names
below are imported on first use (a handler built on :mod:`streamkit.pipeline` never
loads the plain batch processor, and the other way round). Reading aggregates back
(dashboards, reports): ``streamkit.query_aggregate`` (:mod:`streamkit.query`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamkit.batch import BatchCounts, BatchResult, process_batch, run_batch
    from streamkit.deadletter import DeadLetter, InMemoryDeadLetters, LoggingDeadLetters
    from streamkit.errors import (
        DecodeError,
        InvalidEventError,
        PermanentError,
        StreamkitError,
        TransientError,
    )
    from streamkit.kpl import KplCorruptError
    from streamkit.query import Bucket, query_aggregate
    from streamkit.records import Record, decode_event

_WHERE = {
    "BatchCounts": "streamkit.batch",
    "BatchResult": "streamkit.batch",
    "process_batch": "streamkit.batch",
    "run_batch": "streamkit.batch",
    "DeadLetter": "streamkit.deadletter",
    "InMemoryDeadLetters": "streamkit.deadletter",
    "LoggingDeadLetters": "streamkit.deadletter",
    "DecodeError": "streamkit.errors",
    "InvalidEventError": "streamkit.errors",
    "PermanentError": "streamkit.errors",
    "StreamkitError": "streamkit.errors",
    "TransientError": "streamkit.errors",
    "KplCorruptError": "streamkit.kpl",
    "Bucket": "streamkit.query",
    "query_aggregate": "streamkit.query",
    "Record": "streamkit.records",
    "decode_event": "streamkit.records",
}

__all__ = [
    "BatchCounts",
    "BatchResult",
    "Bucket",
    "DeadLetter",
    "DecodeError",
    "InMemoryDeadLetters",
    "InvalidEventError",
    "KplCorruptError",
    "LoggingDeadLetters",
    "PermanentError",
    "Record",
    "StreamkitError",
    "TransientError",
    "decode_event",
    "process_batch",
    "query_aggregate",
    "run_batch",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'streamkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
