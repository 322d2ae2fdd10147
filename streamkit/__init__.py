"""streamkit: idempotent Kinesis batch processing for AWS Lambda.

The public API a Lambda handler needs::

    import streamkit

    def handle(record: streamkit.Record) -> None:
        doc = record.json()          # bad payloads raise DecodeError -> dead letter
        if "user_id" not in doc:
            raise streamkit.PermanentError("user_id missing", reason="schema")
        ...                          # any other exception: retried by Lambda

    def handler(event, context):
        return streamkit.process_batch(event, handle, context)

``import streamkit`` stays light: no boto3, botocore or local tooling.
"""

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
from streamkit.records import Record, decode_event

__all__ = [
    "BatchCounts",
    "BatchResult",
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
    "run_batch",
]
__version__ = "0.1.0"
