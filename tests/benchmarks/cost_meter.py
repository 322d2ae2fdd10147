"""What a consumer's AWS calls cost: item writes, write capacity units, requests.

Used by ``bench_cost.py``. A :class:`Meter` is attached to boto3 clients (or a boto3
session) with botocore event hooks and tallies, per call:

* requests by (service, operation), for every service (S3 and SQS included);
* DynamoDB item writes: PutItem, UpdateItem, DeleteItem one each, BatchWriteItem and
  TransactWriteItems one per item (a ConditionCheck of a transaction too);
* write capacity units by DynamoDB's rules: 1 KB per unit, rounded up per item write;
  PutItem, UpdateItem and DeleteItem cost the *larger* of the item's size before and
  after the write; a conditional write whose condition fails still costs the size of
  the existing item (at least 1 unit); transactional writes cost twice.

Item sizes (:func:`item_size`) follow "DynamoDB item sizes and formats" of the
developer guide: attribute name bytes + value; strings UTF-8 bytes, numbers
1 byte per two significant digits + 1, binary raw bytes, null/boolean 1 byte, sets the
sum of their elements, lists and maps 3 bytes + their elements + 1 byte per element.

How sizes before and after are known (the approximation): the meter keeps the last
size it saw for each item key (a fresh endpoint starts empty, and every writer of the
tables is metered). The size after a PutItem is its ``Item``; after an UpdateItem the
item DynamoDB returns: the meter adds ``ReturnValues=ALL_NEW`` to updates that ask for
no return values (it changes no write and no cost; the caller ignores the
``Attributes`` it then gets back); an update that asks for other return values, and
an update inside a transaction, is sized by reading the item back afterwards with an
unmetered client. Unprocessed BatchWriteItem items are charged as if written.
"""

from __future__ import annotations

import base64
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from streamkit.ledger import DEFAULT_INTENT_PREFIX

KB = 1024
INTENT_PREFIX = DEFAULT_INTENT_PREFIX + "/"

#: DynamoDB operations that write items.
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)


# ----------------------------------------------------------------------- sizes


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: 1 per two significant digits, plus 1.

    Leading and trailing zeros do not count (``"1500"`` and ``"0.0015"`` are 2
    significant digits: 2 bytes); zero counts as one digit.
    """
    try:
        digits = Decimal(text).as_tuple().digits
    except InvalidOperation as exc:
        raise ValueError(f"not a DynamoDB number: {text!r}") from exc
    significant = "".join(map(str, digits)).strip("0")
    return math.ceil(max(len(significant), 1) / 2) + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):  # base64 text, as in a JSON request body
        return len(base64.b64decode(value))
    raise TypeError(f"not a binary value: {type(value).__name__}")


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one AttributeValue (``{"S": "x"}``, ``{"M": {...}}``, ...), name excluded."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return _binary_size(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(number_size(n) for n in v)
    if kind == "BS":
        return sum(_binary_size(b) for b in v)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(e) + 1 for k, e in v.items())
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in v)
    raise ValueError(f"unknown AttributeValue type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item in AttributeValue form: names + values."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def write_units(size_bytes: int, *, transactional: bool = False) -> int:
    """Write capacity units of one item write of ``size_bytes``: 1 per KB, rounded up,
    at least 1; doubled in a transaction."""
    units = max(1, math.ceil(size_bytes / KB))
    return 2 * units if transactional else units


# ----------------------------------------------------------------------- meter


class Meter:
    """Tallies requests, item writes and write units of the clients it is attached to.

    ``key_names(table)`` gives a table's key attribute names (to tell items apart);
    ``read_back(table, key)`` reads an item with an unmetered client (AttributeValue
    form, None when absent).
    """

    def __init__(
        self,
        key_names: Callable[[str], tuple[str, ...]],
        read_back: Callable[[str, Mapping[str, Any]], Mapping[str, Any] | None],
    ) -> None:
        self.key_names = key_names
        self.read_back = read_back
        self.requests: Counter[tuple[str, str]] = Counter()
        #: table -> item writes / write units
        self.item_writes: Counter[str] = Counter()
        self.write_units: Counter[str] = Counter()
        self.failed_conditions = 0
        #: PutObjects of ledger intents (keys under the ledger's default intent prefix).
        self.intent_puts = 0
        self._sizes: dict[tuple[str, tuple[Any, ...]], int] = {}
        self._lock = threading.Lock()

    # ---- attaching

    def attach(self, events: Any) -> None:
        """Register on a client's ``meta.events`` or a boto3 session's ``events``."""
        events.register("before-parameter-build.dynamodb.*", self._before_build)
        events.register("before-call.*.*", self._before_call)
        events.register("before-parameter-build.s3.PutObject", self._before_put_object)
        events.register("after-call.dynamodb.*", self._after_call)

    def attach_clients(self, *clients: Any) -> None:
        for client in clients:
            self.attach(client.meta.events)

    # ---- hooks

    def _before_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if model.name not in WRITE_OPERATIONS:
            return
        if model.name == "UpdateItem" and params.get("ReturnValues", "NONE") == "NONE":
            params["ReturnValues"] = "ALL_NEW"
        # The caller's parameters (Python values: bytes for binary), for after-call.
        context["cost_meter_params"] = params

    def _before_put_object(self, params: Mapping[str, Any], **_: Any) -> None:
        if str(params.get("Key", "")).startswith(INTENT_PREFIX):
            with self._lock:
                self.intent_puts += 1

    def _before_call(self, model: Any, **kwargs: Any) -> None:
        service = model.service_model.service_name
        with self._lock:
            self.requests[(service, model.name)] += 1

    def _after_call(
        self, http_response: Any, parsed: Mapping[str, Any], model: Any, context: Any, **_: Any
    ) -> None:
        params = context.get("cost_meter_params") if isinstance(context, dict) else None
        if params is None:
            return
        ok = http_response.status_code < 300
        op = model.name
        if op == "BatchWriteItem":
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        self._charge(table, self._key(table, item), after=item_size(item))
                    else:
                        self._charge(table, self._key(table, request["DeleteRequest"]["Key"]))
            return
        if op == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((kind, action),) = entry.items()
                table = action["TableName"]
                if kind == "Put":
                    key = self._key(table, action["Item"])
                    self._charge(
                        table, key, after=item_size(action["Item"]) if ok else None, tx=True
                    )
                elif kind == "Update":
                    after = self.read_back(table, action["Key"]) if ok else None
                    size = item_size(after) if after else None
                    self._charge(table, self._key(table, action["Key"]), after=size, tx=True)
                elif kind == "Delete":
                    self._charge(table, self._key(table, action["Key"]), deleted=ok, tx=True)
                else:  # ConditionCheck: charged, changes nothing
                    self._charge(table, self._key(table, action["Key"]), tx=True)
            return
        table = params["TableName"]
        if not ok:
            if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                with self._lock:
                    self.failed_conditions += 1
                key_item = params.get("Item") or params.get("Key") or {}
                self._charge(table, self._key(table, key_item))
            return  # other errors (throttling, validation) write nothing
        if op == "PutItem":
            item = params["Item"]
            self._charge(table, self._key(table, item), after=item_size(item))
        elif op == "UpdateItem":
            if params.get("ReturnValues") == "ALL_NEW":
                after = parsed.get("Attributes")
            else:
                after = self.read_back(table, params["Key"])
            size = item_size(after) if after else None
            self._charge(table, self._key(table, params["Key"]), after=size)
        elif op == "DeleteItem":
            self._charge(table, self._key(table, params["Key"]), deleted=True)

    # ---- accounting

    def _key(self, table: str, item: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        names = self.key_names(table)
        return table, tuple(tuple(sorted(item[n].items())) for n in names if n in item)

    def _charge(
        self,
        table: str,
        key: tuple[str, tuple[Any, ...]],
        *,
        after: int | None = None,
        deleted: bool = False,
        tx: bool = False,
    ) -> None:
        with self._lock:
            before = self._sizes.get(key, 0)
            units = write_units(max(before, after or 0), transactional=tx)
            if deleted:
                self._sizes.pop(key, None)
            elif after is not None:
                self._sizes[key] = after
            self.item_writes[table] += 1
            self.write_units[table] += units

    # ---- totals

    def total_item_writes(self, tables: frozenset[str] | None = None) -> int:
        return sum(n for t, n in self.item_writes.items() if tables is None or t in tables)

    def total_write_units(self, tables: frozenset[str] | None = None) -> int:
        return sum(n for t, n in self.write_units.items() if tables is None or t in tables)

    def service_requests(self, service: str) -> Counter[str]:
        return Counter({op: n for (svc, op), n in self.requests.items() if svc == service})
