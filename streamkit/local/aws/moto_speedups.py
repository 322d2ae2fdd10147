"""Cheaper hot paths of moto's backends for the embedded endpoint; the same answers.

Local tooling: never imported by a Lambda handler.

``streamkit run --rate 1000`` puts 60,000 records on the embedded endpoint and reads
them back; moto 5.2's in-memory backends do work there that grows with everything
stored so far, which made the endpoint the largest CPU cost of a run:

* Kinesis ``Shard.put_record`` found the last sequence number by listing every key
  of the shard (quadratic over a shard's records: ~100 ms per 500-record
  PutRecords call at 15,000 records), and ``Shard.get_records`` scanned the shard
  from its first record on every GetRecords call.
* SQS evaluated a queue's whole attribute set (three passes over its messages,
  each reading the clock per message) once per received message to check the
  retention period, three times per name in GetQueueAttributes, and four times
  per SendMessage to a FIFO queue for ``ContentBasedDeduplication``.
* A conditional DynamoDB write parsed its condition expression twice (the response
  handler to check the names used, the table to evaluate it): about a tenth of a
  conditional PutItem's CPU in moto's application.
* Every JSON-protocol response (DynamoDB, Kinesis, SQS) was serialized by a generic
  walk that asked six alias providers per member which names to try: 0.1 s per
  100-item BatchGetItem, 0.3 s per 10,000-record GetRecords
  (:mod:`~streamkit.local.aws.moto_serialize` compiles it per shape).
* The server's dispatcher listed moto's package directory (``os.listdir`` and an
  ``isdir`` per entry, ~200) on every request to tell whether a host names a backend,
  and every response class's methods (``inspect.getmembers``) to find the action's.

:func:`apply` replaces those methods with versions that compute the same results
directly (a shard's sequence numbers are consecutive integers in insertion order:
moto numbers each record after the last one and never removes one; a queue's
static attributes do not change within one request; moto's installed backends do not
change while it runs). It applies only to the moto
versions they were checked against (:data:`CHECKED_VERSIONS`); with another
version it changes nothing and the endpoint is merely slower.
``tests/integration/test_moto_speedups.py`` compares every replaced method with
moto's own on the same state.

Example::

    from streamkit.local.aws import moto_speedups

    moto_speedups.apply()  # before or after moto's backends are imported; idempotent
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from streamkit.local.aws import moto_serialize

__all__ = ["CHECKED_VERSIONS", "ORIGINALS", "applies_to", "apply"]

#: moto versions (prefixes) whose replaced methods were read and compared.
CHECKED_VERSIONS: Final = ("5.2.",)

#: (class or module, attribute name) -> moto's own implementation, once :func:`apply` ran.
ORIGINALS: dict[tuple[object, str], Any] = {}

_lock = threading.Lock()
# The attributes of the queue a SendMessage is working on, in the request's thread.
_sending = threading.local()


def applies_to(version: str) -> bool:
    """True when ``version`` of moto is one the replacements were checked against."""
    return version.startswith(CHECKED_VERSIONS)


def apply() -> bool:
    """Install the cheaper methods in moto's Kinesis and SQS models; True if installed.

    Idempotent and thread-safe. False (nothing changed) for an unchecked moto version.
    """
    import moto

    if not applies_to(moto.__version__):
        return False
    with _lock:
        if ORIGINALS:
            return True
        _patch_kinesis()
        _patch_sqs()
        _patch_dispatch()
        _patch_dynamodb()
        moto_serialize.install(_replace)
    return True


def _replace(owner: Any, name: str, new: Any) -> None:
    # An inherited method is recorded as the one the owner had (its base's).
    ORIGINALS[(owner, name)] = vars(owner)[name] if name in vars(owner) else getattr(owner, name)
    setattr(owner, name, new)


# ------------------------------------------------------------------ dispatch


def _patch_dispatch() -> None:
    import moto.backends as backends

    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    _replace(backends, "list_of_moto_modules", list_of_moto_modules)

    import moto.core.responses as responses

    original_names: Callable[[object], list[str]] = vars(responses)["method_names_from_class"]
    names_by_class: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = names_by_class.get(clazz)
        if names is None:
            names = names_by_class[clazz] = original_names(clazz)
        return names

    _replace(responses, "method_names_from_class", method_names_from_class)


# ------------------------------------------------------------------ DynamoDB

# The last condition expression parsed in this thread: (its inputs, the tree, the
# names and values it found).
_parsed = threading.local()


def _patch_dynamodb() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    def parse(self: Any) -> Any:
        # A conditional PutItem, UpdateItem or DeleteItem parses its expression
        # twice: the response handler (to check the names used) and the table (to
        # evaluate it), from the very same request objects. The second parse of the
        # same objects, right after the first in the same thread, gets the first's
        # tree (moto builds it from those inputs only and never changes it).
        inputs = (
            self.condition_expression,
            self.expression_attribute_names,
            self.expression_attribute_values,
        )
        last = getattr(_parsed, "last", None)
        _parsed.last = None
        if (
            last is not None
            and all(a is b for a, b in zip(last[0], inputs, strict=True))
            and not self.expr_attr_names_found
            and not self.expr_attr_values_found
        ):
            self.expr_attr_names_found.extend(last[2])
            self.expr_attr_values_found.extend(last[3])
            return last[1]
        tree = ORIGINALS[(ConditionExpressionParser, "parse")](self)
        found = (list(self.expr_attr_names_found), list(self.expr_attr_values_found))
        _parsed.last = (inputs, tree, *found)
        return tree

    _replace(ConditionExpressionParser, "parse", parse)


# ------------------------------------------------------------------ Kinesis


def _patch_kinesis() -> None:
    from moto.kinesis.models import Record, Shard

    original_get_records = Shard.__dict__["get_records"]

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        records = self.records
        sequence_number = (next(reversed(records)) if records else 0) + 1
        records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
        return str(sequence_number)

    def get_min_sequence_number(self: Any) -> int:
        return next(iter(self.records)) if self.records else 0

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records)) if self.records else 0

    def get_records(
        self: Any, last_sequence_id: str, limit: int | None
    ) -> tuple[list[Any], int, int]:
        records = self.records
        if not records or (limit is not None and limit < 1):
            return original_get_records(self, last_sequence_id, limit)  # type: ignore[no-any-return]
        first, last = next(iter(records)), next(reversed(records))
        if last - first + 1 != len(records):  # not consecutive: moto changed, scan as it does
            return original_get_records(self, last_sequence_id, limit)  # type: ignore[no-any-return]
        last_sequence_int = int(last_sequence_id)
        start = max(last_sequence_int + 1, first)
        stop = last + 1 if limit is None else min(last + 1, start + limit)
        results = [records[n] for n in range(start, stop)]
        if not results:
            return results, last_sequence_int, 0
        behind = records[last].created_at - results[-1].created_at
        return results, results[-1].sequence_number, int(behind * 1000)

    _replace(Shard, "put_record", put_record)
    _replace(Shard, "get_min_sequence_number", get_min_sequence_number)
    _replace(Shard, "get_max_sequence_number", get_max_sequence_number)
    _replace(Shard, "get_records", get_records)


# ------------------------------------------------------------------ SQS


class _QueueAttributes(Mapping[str, Any]):
    """A queue's ``attributes`` as moto computes them, evaluated on first use.

    A FIFO attribute is read on its own (moto's ``Queue.attributes`` adds each as
    ``getattr(queue, snake_case_name)``, a bool as ``"true"``/``"false"``, and nothing
    later in that property replaces it); any other name, iteration or length
    computes the whole set once, with moto's own property.
    """

    def __init__(self, queue: Any, compute: Callable[[Any], dict[str, Any]]) -> None:
        self._queue = queue
        self._compute = compute
        self._all: dict[str, Any] | None = None

    def _everything(self) -> dict[str, Any]:
        if self._all is None:
            self._all = self._compute(self._queue)
        return self._all

    def __getitem__(self, name: str) -> Any:
        queue = self._queue
        if self._all is None and name in queue.FIFO_ATTRIBUTES:
            if not queue.fifo_queue:
                raise KeyError(name)
            from moto.core.utils import camelcase_to_underscores

            value = getattr(queue, camelcase_to_underscores(name))
            return str(value).lower() if isinstance(value, bool) else value
        return self._everything()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())


def _patch_sqs() -> None:
    from moto.sqs.models import Queue, SQSBackend

    attributes_property: property = Queue.__dict__["attributes"]
    compute: Callable[[Any], dict[str, Any]] = attributes_property.fget  # type: ignore[assignment]
    original_send = SQSBackend.__dict__["send_message"]
    original_valid = SQSBackend.__dict__["is_message_valid_based_on_retention_period"]

    def attributes(self: Any) -> dict[str, Any]:
        held = getattr(_sending, "queue", None)
        if held is not None and held[0] is self:
            return held[1]  # type: ignore[no-any-return]
        return compute(self)

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        if queue is None:
            return original_send(self, queue_name, *args, **kwargs)
        # Within one SendMessage moto reads only static attributes
        # (ContentBasedDeduplication): each evaluated once, on first use, and the
        # FIFO ones without counting the queue's messages.
        _sending.queue = (queue, _QueueAttributes(queue, compute))
        try:
            return original_send(self, queue_name, *args, **kwargs)
        finally:
            _sending.queue = None

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        queue = self.get_queue(queue_name)
        if not attribute_names:
            return {}
        valid_names = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
        invalid_name = next((n for n in attribute_names if n not in valid_names), None)
        if invalid_name or invalid_name == "":
            from moto.sqs.exceptions import InvalidAttributeName

            raise InvalidAttributeName(invalid_name)
        snapshot = queue.attributes  # once, not three times per name
        if "All" in attribute_names:
            return snapshot
        return {
            name: snapshot[name]
            for name in attribute_names
            if name in snapshot and snapshot[name] is not None
        }

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention_period = getattr(self.get_queue(queue_name), "message_retention_period", None)
        if retention_period is None or isinstance(retention_period, bool):
            return original_valid(self, queue_name, message)  # type: ignore[no-any-return]
        from moto.core.utils import unix_time

        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    _replace(Queue, "attributes", property(attributes))
    _replace(SQSBackend, "send_message", send_message)
    _replace(SQSBackend, "get_queue_attributes", get_queue_attributes)
    _replace(
        SQSBackend,
        "is_message_valid_based_on_retention_period",
        is_message_valid_based_on_retention_period,
    )
