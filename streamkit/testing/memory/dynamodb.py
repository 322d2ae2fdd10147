"""In-memory DynamoDB tables with the semantics the ledger and aggregate table rely on.

:class:`MemoryDynamoDB` answers the calls :class:`~streamkit.ledger.Ledger`,
:class:`~streamkit.sinks.dynamodb.AggregateTable` and the readers of
:mod:`streamkit.query` make (``get_item``, ``batch_get_item``, ``put_item``,
``update_item``, ``query``, plus ``scan`` and ``delete_item`` for tests) with
DynamoDB's behaviour, so the adapters' own logic runs unchanged on it:

* reads are strongly consistent (one process, one lock); items are stored in their
  attribute-value form and copied in and out, as over the wire;
* a failed ``ConditionExpression`` raises botocore's
  ``ConditionalCheckFailedException`` and writes nothing;
* numbers are DynamoDB numbers: at most 38 significant digits, magnitude between
  1E-130 and 9.99E+125 (else ``ValidationException``); items at most 400 KB;
* a missing table raises ``ResourceNotFoundException``.

Expressions: ``SET a = :v, b = if_not_exists(b, :w), ...`` and ``REMOVE a, ...``
updates; conditions (and scan filters) are ``AND`` of ``attribute_exists(a)``,
``attribute_not_exists(a)``, ``begins_with(a, :v)`` and ``a = :v``; key conditions are
``h = :v`` with an optional sort-key ``BETWEEN``, comparison or ``begins_with`` (names
may be ``#n`` placeholders). Anything else raises
:class:`UnsupportedExpression` naming the expression: a ``BaseException``, so that no
``except Exception`` in the code under test turns a new kind of write into a
"transient failure" and a property test passes without having written anything.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from botocore.exceptions import ClientError

from streamkit.testing.memory.errors import client_error, exceptions

#: DynamoDB's item size limit (400 KB).
MAX_ITEM_BYTES = 400 * 1024
_NAME = r"#?[A-Za-z_][A-Za-z0-9_]*"
_EXISTS = re.compile(rf"^(attribute_exists|attribute_not_exists)\(\s*({_NAME})\s*\)$")
_BEGINS_WITH = re.compile(rf"^begins_with\(\s*({_NAME})\s*,\s*(:[A-Za-z0-9_]+)\s*\)$")
_EQUALS = re.compile(rf"^({_NAME})\s*=\s*(:[A-Za-z0-9_]+)$")

_KEY_CONDITION = re.compile(
    rf"^({_NAME})\s*=\s*(:[A-Za-z0-9_]+)(?:\s+AND\s+(.+))?$", re.IGNORECASE | re.DOTALL
)
_BETWEEN = re.compile(
    rf"^({_NAME})\s+BETWEEN\s+(:[A-Za-z0-9_]+)\s+AND\s+(:[A-Za-z0-9_]+)$", re.IGNORECASE
)
_COMPARE = re.compile(rf"^({_NAME})\s*(<=|>=|<|>|=)\s*(:[A-Za-z0-9_]+)$")

_IF_NOT_EXISTS = re.compile(
    rf"^({_NAME})\s*=\s*if_not_exists\(\s*({_NAME})\s*,\s*(:[A-Za-z0-9_]+)\s*\)$"
)

Item = dict[str, Any]  # attribute name -> attribute value ({"S": ...}, {"N": ...}, ...)


class UnsupportedExpression(BaseException):
    """An expression MemoryDynamoDB does not evaluate: extend it, never ignore this."""


class MemoryDynamoDB:
    """A DynamoDB endpoint in memory: tables created with :meth:`create_table`."""

    def __init__(self) -> None:
        self.exceptions = exceptions("dynamodb")
        self._tables: dict[str, tuple[tuple[str, ...], dict[tuple[str, ...], Item]]] = {}
        self._lock = threading.RLock()
        #: Writes accepted so far (put_item and update_item), for tests and benchmarks.
        self.writes = 0

    def create_table(self, name: str, keys: tuple[str, ...]) -> None:
        """A table whose primary key is ``keys`` (hash key, optional range key)."""
        with self._lock:
            self._tables[name] = (keys, {})

    def delete_table(self, name: str) -> None:
        with self._lock:
            self._table(name, "DeleteTable")
            del self._tables[name]

    # ------------------------------------------------------------------ reads

    def get_item(self, *, TableName: str, Key: Item, **_: Any) -> dict[str, Any]:
        with self._lock:
            keys, items = self._table(TableName, "GetItem")
            item = items.get(_key_of(keys, Key, "GetItem"))
            return {"Item": copy.deepcopy(item)} if item is not None else {}

    def batch_get_item(self, *, RequestItems: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        with self._lock:
            responses: dict[str, list[Item]] = {}
            for table, request in RequestItems.items():
                keys, items = self._table(table, "BatchGetItem")
                if len(request["Keys"]) > 100:
                    raise _validation("Too many items requested for the BatchGetItem call")
                found = [items.get(_key_of(keys, k, "BatchGetItem")) for k in request["Keys"]]
                responses[table] = [copy.deepcopy(i) for i in found if i is not None]
            return {"Responses": responses, "UnprocessedKeys": {}}

    def scan(
        self,
        *,
        TableName: str,
        FilterExpression: str | None = None,
        ExpressionAttributeNames: Mapping[str, str] | None = None,
        ExpressionAttributeValues: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """All items (one page), those ``FilterExpression`` holds for if given."""
        names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
        with self._lock:
            items = self._table(TableName, "Scan")[1]
            return {
                "Items": [
                    copy.deepcopy(items[k])
                    for k in sorted(items)
                    if not FilterExpression or _holds(items[k], FilterExpression, names, values)
                ]
            }

    def query(
        self,
        *,
        TableName: str,
        KeyConditionExpression: str,
        ExpressionAttributeNames: Mapping[str, str] | None = None,
        ExpressionAttributeValues: Mapping[str, Any] | None = None,
        ScanIndexForward: bool = True,
        ConsistentRead: bool = False,
        **unsupported: Any,
    ) -> dict[str, Any]:
        """One partition's items in sort-key order, in one page: ``h = :v``, optionally
        ``AND r BETWEEN :a AND :b``, ``AND r <op> :a`` (``<``, ``<=``, ``>``, ``>=``,
        ``=``) or ``AND begins_with(r, :a)``. String sort keys compare by their UTF-8
        bytes, as DynamoDB's do. Every read is consistent here. What would change the
        answer and is not implemented (``Limit``, ``ExclusiveStartKey``,
        ``FilterExpression``, ``IndexName``, ...) raises :class:`UnsupportedExpression`."""
        if unsupported:
            raise UnsupportedExpression(
                f"MemoryDynamoDB's query does not implement {sorted(unsupported)}"
            )
        names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
        with self._lock:
            keys, items = self._table(TableName, "Query")
            match = _KEY_CONDITION.match(KeyConditionExpression.strip())
            if match is None or len(keys) != 2:
                raise UnsupportedExpression(
                    f"MemoryDynamoDB cannot query {KeyConditionExpression!r} on {TableName}"
                )
            hash_name, hash_value, range_part = match.group(1), match.group(2), match.group(3)
            if _resolve(hash_name, names) != keys[0]:
                raise _validation(f"Query condition missed key schema element: {keys[0]}", "Query")
            partition = _scalar_text(_value(values, hash_value))
            in_range = _range_test(range_part, keys[1], names, values)
            found = sorted(
                (
                    (_sort_value(item[keys[1]]), item)
                    for k, item in items.items()
                    if k[0] == partition and in_range(_sort_value(item[keys[1]]))
                ),
                key=lambda pair: pair[0],
            )
            if not ScanIndexForward:
                found.reverse()
            return {"Items": [copy.deepcopy(item) for _, item in found], "Count": len(found)}

    def get_paginator(self, operation: str) -> _OnePage:
        if operation != "scan":
            raise UnsupportedExpression(f"MemoryDynamoDB has no paginator for {operation!r}")
        return _OnePage(self.scan)

    # ----------------------------------------------------------------- writes

    def put_item(
        self,
        *,
        TableName: str,
        Item: Item,
        ConditionExpression: str | None = None,
        ExpressionAttributeNames: Mapping[str, str] | None = None,
        ExpressionAttributeValues: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        with self._lock:
            keys, items = self._table(TableName, "PutItem")
            key = _key_of(keys, Item, "PutItem")
            _check_item(Item)
            names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
            _check_condition(items.get(key), ConditionExpression, names, values)
            items[key] = copy.deepcopy(Item)
            self.writes += 1
            return {}

    def update_item(
        self,
        *,
        TableName: str,
        Key: Item,
        UpdateExpression: str,
        ConditionExpression: str | None = None,
        ExpressionAttributeNames: Mapping[str, str] | None = None,
        ExpressionAttributeValues: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        with self._lock:
            keys, items = self._table(TableName, "UpdateItem")
            key = _key_of(keys, Key, "UpdateItem")
            names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
            current = items.get(key)
            _check_condition(current, ConditionExpression, names, values)
            updated = copy.deepcopy(current) if current is not None else copy.deepcopy(Key)
            for action, name, value in _parse_update(UpdateExpression, names, values, current):
                if name in keys:
                    raise _validation(f"cannot update attribute {name}: part of the key")
                if action == "SET":
                    updated[name] = copy.deepcopy(value)
                else:
                    updated.pop(name, None)
            _check_item(updated)
            items[key] = updated
            self.writes += 1
            return {}

    def delete_item(self, *, TableName: str, Key: Item, **_: Any) -> dict[str, Any]:
        with self._lock:
            keys, items = self._table(TableName, "DeleteItem")
            items.pop(_key_of(keys, Key, "DeleteItem"), None)
            return {}

    # ---------------------------------------------------------------- helpers

    def _table(
        self, name: str, operation: str
    ) -> tuple[tuple[str, ...], dict[tuple[str, ...], Item]]:
        table = self._tables.get(name)
        if table is None:
            raise client_error(
                "dynamodb",
                "ResourceNotFoundException",
                "Requested resource not found",
                operation,
            )
        return table


def _validation(message: str, operation: str = "Write") -> ClientError:
    return client_error("dynamodb", "ValidationException", message, operation)


def _key_of(keys: tuple[str, ...], item: Mapping[str, Any], operation: str) -> tuple[str, ...]:
    try:
        return tuple(_scalar_text(item[k]) for k in keys)
    except KeyError:
        raise client_error(
            "dynamodb",
            "ValidationException",
            f"The provided key element does not match the schema (keys: {list(keys)})",
            operation,
        ) from None


def _scalar_text(value: Mapping[str, Any]) -> str:
    ((kind, v),) = value.items()
    if kind == "N":
        with localcontext(prec=200):
            return str(Decimal(v).normalize())
    return f"{kind}:{v!r}"


def _value(values: Mapping[str, Any], placeholder: str) -> Mapping[str, Any]:
    if placeholder not in values:
        raise _validation(f"expression attribute value {placeholder} is not defined")
    return values[placeholder]  # type: ignore[no-any-return]


def _sort_value(value: Mapping[str, Any]) -> Any:
    """A sort key as DynamoDB orders it: strings by UTF-8 bytes, binary by bytes,
    numbers by value."""
    ((kind, v),) = value.items()
    if kind == "S":
        return str(v).encode()
    if kind == "B":
        return bytes(v)
    return Decimal(v)


def _range_test(
    part: str | None, range_key: str, names: Mapping[str, str], values: Mapping[str, Any]
) -> Callable[[Any], bool]:
    """The sort-key test of a key condition's ``AND ...`` part (None: every key)."""
    if part is None:
        return lambda _: True
    between, compare, begins = _BETWEEN.match(part), _COMPARE.match(part), _BEGINS_WITH.match(part)
    matched = between or compare or begins
    if matched is None:
        raise UnsupportedExpression(f"MemoryDynamoDB cannot evaluate the key condition {part!r}")
    if _resolve(matched.group(1), names) != range_key:
        raise _validation(
            f"Query key condition not supported: {part} is not on {range_key}", "Query"
        )

    def bound(placeholder: str) -> Any:
        return _sort_value(_value(values, placeholder))

    if between:
        lo, hi = bound(between.group(2)), bound(between.group(3))
        if lo > hi:
            raise _validation(
                "Invalid KeyConditionExpression: the BETWEEN bounds are reversed", "Query"
            )
        return lambda key: bool(lo <= key <= hi)
    if begins:
        prefix = bound(begins.group(2))
        if not isinstance(prefix, bytes):
            raise _validation("Invalid KeyConditionExpression: begins_with on a number", "Query")
        return lambda key: isinstance(key, bytes) and key.startswith(prefix)
    assert compare is not None
    op, limit = compare.group(2), bound(compare.group(3))
    tests: dict[str, Callable[[Any], bool]] = {
        "<": lambda k: bool(k < limit),
        "<=": lambda k: bool(k <= limit),
        ">": lambda k: bool(k > limit),
        ">=": lambda k: bool(k >= limit),
        "=": lambda k: bool(k == limit),
    }
    return tests[op]


def _resolve(name: str, names: Mapping[str, str]) -> str:
    if name.startswith("#"):
        if name not in names:
            raise _validation(f"expression attribute name {name} is not defined")
        return names[name]
    return name


class _OnePage:
    """A paginator whose every listing fits one page."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [self._call(**kwargs)]


def _holds(
    item: Item | None, expression: str, names: Mapping[str, str], values: Mapping[str, Any]
) -> bool:
    try:
        _check_condition(item, expression, names, values)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _check_condition(
    item: Item | None,
    expression: str | None,
    names: Mapping[str, str],
    values: Mapping[str, Any],
) -> None:
    if not expression:
        return
    for clause in (c.strip() for c in re.split(r"\s+AND\s+", expression.strip())):
        ok: bool
        if m := _BEGINS_WITH.match(clause):
            name, placeholder = _resolve(m.group(1), names), m.group(2)
            value = (item or {}).get(name) or {}
            ok = "S" in value and str(value["S"]).startswith(str(values[placeholder]["S"]))
        elif m := _EXISTS.match(clause):
            present = item is not None and _resolve(m.group(2), names) in item
            ok = present if m.group(1) == "attribute_exists" else not present
        elif m := _EQUALS.match(clause):
            name, expected = _resolve(m.group(1), names), _value(values, m.group(2))
            ok = item is not None and name in item and _equal(item[name], expected)
        else:
            raise UnsupportedExpression(
                f"MemoryDynamoDB does not evaluate the condition {clause!r} (of {expression!r})"
            )
        if not ok:
            raise client_error(
                "dynamodb",
                "ConditionalCheckFailedException",
                "The conditional request failed",
                "ConditionalWrite",
            )


def _equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if "N" in a and "N" in b:
        return Decimal(a["N"]) == Decimal(b["N"])
    return dict(a) == dict(b)


def _parse_update(
    expression: str, names: Mapping[str, str], values: Mapping[str, Any], item: Item | None
) -> list[tuple[str, str, Any]]:
    actions: list[tuple[str, str, Any]] = []
    parts = re.split(r"\b(SET|REMOVE)\b", expression)
    if parts[0].strip():
        raise UnsupportedExpression(f"MemoryDynamoDB does not apply the update {expression!r}")
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        for clause in _clauses(body):
            if keyword == "REMOVE":
                actions.append(("REMOVE", _resolve(clause, names), None))
                continue
            if m := _EQUALS.match(clause):
                name, source, placeholder = m.group(1), None, m.group(2)
            elif m := _IF_NOT_EXISTS.match(clause):
                name, source, placeholder = m.group(1), m.group(2), m.group(3)
            else:
                raise UnsupportedExpression(
                    f"MemoryDynamoDB does not apply the SET clause {clause!r} of {expression!r}"
                )
            value = _value(values, placeholder)
            if source is not None and item is not None and _resolve(source, names) in item:
                value = item[_resolve(source, names)]  # if_not_exists: keep what is there
            actions.append(("SET", _resolve(name, names), value))
    return actions


def _clauses(body: str) -> list[str]:
    """``a = :x, b = f(c, :y)`` -> its clauses (commas inside parentheses kept)."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            out.append(body[start:i].strip())
            start = i + 1
    out.append(body[start:].strip())
    return [c for c in out if c]


def _check_item(item: Item) -> None:
    size = 0
    for name, value in item.items():
        size += len(name.encode()) + _value_size(value)
    if size > MAX_ITEM_BYTES:
        raise _validation("Item size has exceeded the maximum allowed size")


def _value_size(value: Mapping[str, Any]) -> int:
    """DynamoDB's item-size accounting (close enough to decide the 400 KB limit)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(v)
    if kind == "N":
        return _number_size(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_value_size(x) + 1 for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(_number_size(x) for x in v)
    if kind == "BS":
        return sum(len(x) for x in v)
    raise _validation(f"unknown attribute value type {kind}")


def _number_size(text: str) -> int:
    """Size of a DynamoDB number, after checking it is one (38 digits, 1E-130..1E126)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _validation(f"The parameter cannot be converted to a numeric value: {text}") from None
    if not number.is_finite():
        raise _validation(f"The parameter cannot be converted to a numeric value: {text}")
    if number == 0:
        return 1
    # Significant digits without rounding (normalize() would round to the context's 28).
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > 38:
        raise _validation("Attempting to store more than 38 significant digits in a Number")
    magnitude = number.copy_abs()  # abs() would round to the context's 28 digits
    if magnitude < Decimal("1E-130"):
        raise _validation(
            "Number underflow. Attempting to store a number with magnitude smaller than "
            "supported range"
        )
    if magnitude >= Decimal("1E126"):
        raise _validation(
            "Number overflow. Attempting to store a number with magnitude larger than "
            "supported range"
        )
    return (len(digits) + 1) // 2 + 1
