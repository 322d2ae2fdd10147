"""In-memory SQS FIFO queues with SQS's 5-minute deduplication.

:class:`MemorySQS` answers ``create_queue``, ``get_queue_url``, ``send_message`` and
``receive_message`` as SQS does for the FIFO queues the pipeline's alerts go to:

* a message whose ``MessageDeduplicationId`` was sent to the same queue within the
  last 5 minutes is accepted (same ``MessageId``) but not delivered again; after the
  window it is a new message (the clock is injectable: the simulator's virtual one);
* ``MessageGroupId`` is required; the deduplication id is at most 128 characters of
  alphanumerics and punctuation; the body is at most 256 KiB of the characters SQS
  allows (else ``InvalidMessageContents``);
* messages are delivered in send order (one consumer in tests: group order holds).

It is also a :class:`~streamkit.stores.MessageQueue` (``send``).
"""

from __future__ import annotations

import hashlib
import re
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from streamkit.stores import SqsQueue
from streamkit.testing.memory.errors import client_error, exceptions
from streamkit.writes import MessageWrite

#: SQS FIFO deduplication interval (seconds).
DEDUP_WINDOW_S = 300.0
#: SQS's message size limit (bytes of UTF-8).
MAX_BODY_BYTES = 262_144
_DEDUP_CHARS = set(string.ascii_letters + string.digits + string.punctuation)
# Characters SQS accepts in a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000+.
_BAD_BODY = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ACCOUNT_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A delivered message."""

    message_id: str
    body: str
    group_id: str
    dedup_id: str
    sent_at: float


class MemorySQS:
    """An SQS endpoint in memory (FIFO queues; standard queues without dedup)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.exceptions = exceptions("sqs")
        self.clock = clock
        self._queues: dict[str, list[SentMessage]] = {}
        self._dedup: dict[str, dict[str, tuple[float, str]]] = {}
        self._read: dict[str, int] = {}
        self._lock = threading.Lock()
        #: Sends accepted so far (deduplicated ones included), for tests and benchmarks.
        self.writes = 0

    def create_queue(self, *, QueueName: str, **_: Any) -> dict[str, Any]:
        url = _ACCOUNT_URL + QueueName
        with self._lock:
            self._queues.setdefault(url, [])
            self._dedup.setdefault(url, {})
            self._read.setdefault(url, 0)
        return {"QueueUrl": url}

    def get_queue_url(self, *, QueueName: str, **_: Any) -> dict[str, Any]:
        url = _ACCOUNT_URL + QueueName
        self._queue(url, "GetQueueUrl")
        return {"QueueUrl": url}

    def send_message(
        self,
        *,
        QueueUrl: str,
        MessageBody: str,
        MessageGroupId: str | None = None,
        MessageDeduplicationId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        fifo = QueueUrl.endswith(".fifo")
        _check_body(MessageBody)
        if fifo:
            if not MessageGroupId:
                raise _invalid("MissingParameter", "The request must contain MessageGroupId.")
            if not MessageDeduplicationId:
                raise _invalid(
                    "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly",
                )
            for name, value in (
                ("MessageGroupId", MessageGroupId),
                ("MessageDeduplicationId", MessageDeduplicationId),
            ):
                if len(value) > 128 or not set(value) <= _DEDUP_CHARS:
                    raise _invalid(
                        "InvalidParameterValue",
                        f"Value {value!r} for parameter {name} is invalid: at most 128 "
                        "alphanumeric or punctuation characters.",
                    )
        now = self.clock()
        with self._lock:
            queue = self._queue(QueueUrl, "SendMessage")
            self.writes += 1
            seen = self._dedup[QueueUrl]
            if fifo and MessageDeduplicationId is not None:
                earlier = seen.get(MessageDeduplicationId)
                if earlier is not None and now - earlier[0] < DEDUP_WINDOW_S:
                    return {"MessageId": earlier[1]}  # accepted, not delivered again
            message_id = hashlib.sha256(f"{QueueUrl}/{len(queue)}".encode()).hexdigest()[:32]
            if fifo and MessageDeduplicationId is not None:
                seen[MessageDeduplicationId] = (now, message_id)
            queue.append(
                SentMessage(
                    message_id, MessageBody, MessageGroupId or "", MessageDeduplicationId or "", now
                )
            )
            return {"MessageId": message_id}

    def receive_message(
        self, *, QueueUrl: str, MaxNumberOfMessages: int = 1, **_: Any
    ) -> dict[str, Any]:
        with self._lock:
            queue = self._queue(QueueUrl, "ReceiveMessage")
            start = self._read[QueueUrl]
            batch = queue[start : start + min(10, MaxNumberOfMessages)]
            self._read[QueueUrl] = start + len(batch)
        if not batch:
            return {}
        return {
            "Messages": [
                {
                    "MessageId": m.message_id,
                    "Body": m.body,
                    "Attributes": {
                        "MessageGroupId": m.group_id,
                        "MessageDeduplicationId": m.dedup_id,
                    },
                }
                for m in batch
            ]
        }

    # ------------------------------------------------------ MessageQueue, tests

    def send(self, messages: Iterable[MessageWrite]) -> int:
        """:class:`~streamkit.stores.MessageQueue`: the same calls as on SQS."""
        return SqsQueue(lambda service: self).send(messages)

    def messages(self, queue_url: str) -> list[SentMessage]:
        """Every message delivered to ``queue_url``, in order (received or not)."""
        with self._lock:
            return list(self._queue(queue_url, "ReceiveMessage"))

    def _queue(self, url: str, operation: str) -> list[SentMessage]:
        queue = self._queues.get(url)
        if queue is None:
            raise client_error(
                "sqs",
                "AWS.SimpleQueueService.NonExistentQueue",
                "The specified queue does not exist.",
                operation,
            )
        return queue


def _invalid(code: str, message: str) -> ClientError:
    return client_error("sqs", code, message, "SendMessage")


def _check_body(body: str) -> None:
    if not body:
        raise _invalid("MissingParameter", "The request must contain the parameter MessageBody.")
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise _invalid(
            "InvalidParameterValue",
            f"One or more parameters are invalid. Reason: Message must be shorter than "
            f"{MAX_BODY_BYTES} bytes.",
        )
    if _BAD_BODY.search(body):
        raise _invalid(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
            "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
