"""moto's JSON-protocol response serializer, compiled per shape; the same responses.

Local tooling: never imported by a Lambda handler.

moto 5.2 serializes every DynamoDB, Kinesis and SQS response by walking the
operation's output shape member by member; for each member of each structure it builds
a context object, asks six alias providers which attribute names to try (each name
also through ``botocore.xform_name``) and joins a dotted key path for the response
transformers. A GetRecords response of 10,000 records, a BatchGetItem of 100 items
or a Scan took 0.1-1.5 s of the endpoint's CPU that way, most of it spent finding the
same names again.

:func:`compiled_result` turns an output shape into a function that does the same walk
over plain values once the names are known: for a ``dict`` the alias providers'
answers depend only on the shape, the member and its parent, so they are computed
once per shape. The function reproduces moto's rules (members whose value is missing
or None are left out, a list keeps an item its member's serializer wrote nothing for,
strings through ``str``, Enums by value, integers through ``int``, floats through
``float``, blobs base64-encoded, timestamps by moto's own TimestampSerializer, document
types as they are); anything else (a value that is not a plain ``dict`` or ``list``
where moto would look for attributes, a response transformer, a serializer or picker
other than moto's JSON ones, any exception) makes :func:`install`'s replacement run
moto's own serializer instead, which then answers or fails as it always did.
``tests/integration/test_moto_serialize.py`` compares both on real responses.
"""

from __future__ import annotations

import base64
import threading
from collections import Counter
from collections.abc import Callable
from enum import Enum
from typing import Any, Final

__all__ = ["FALLBACKS", "compiled_result", "install"]

Converter = Callable[[Any], Any]

#: What a converter returns when moto's serializer would write nothing (a None structure).
_SKIP: Final = object()
_MISSING: Final = object()

_lock = threading.Lock()
# (service, shape name, serialization traits) -> converter, for finished shapes only.
_converters: dict[tuple[Any, ...], Converter] = {}
#: Operation name -> how many of its results moto's own walk serialized (a test's check).
FALLBACKS: Counter[str] = Counter()
# Output shapes moto's walk is kept for (a trait this module does not reproduce).
_uncompilable: set[tuple[Any, ...]] = set()


class _Unsupported(Exception):
    """A shape this module does not reproduce: moto's serializer handles it."""


def _key(shape: Any) -> tuple[Any, ...]:
    # Shape names are unique within a service; a member reference adds traits
    # (serialized name, timestamp format) to the shape it names.
    serialization = tuple(sorted((k, repr(v)) for k, v in shape.serialization.items()))
    return (id(shape._shape_resolver), shape.name, serialization)


def compiled_result(output_shape: Any, timestamps: Any) -> Converter | None:
    """The converter of ``output_shape`` (None: moto's own walk is needed).

    ``timestamps`` is the serializer's ``TimestampSerializer`` (its default format is
    the protocol's).
    """
    key = _key(output_shape)
    found = _converters.get(key)
    if found is not None or key in _uncompilable:
        return found
    with _lock:
        found = _converters.get(key)
        if found is not None:
            return found
        building: dict[tuple[Any, ...], list[Converter]] = {}
        try:
            converter = _compile(output_shape, timestamps, building)
        except _Unsupported:
            _uncompilable.add(key)
            return None
        _converters[key] = converter
        return converter


def _compile(
    shape: Any, timestamps: Any, building: dict[tuple[Any, ...], list[Converter]]
) -> Converter:
    key = _key(shape)
    found = _converters.get(key)
    if found is not None:
        return found
    pending = building.get(key)
    if pending is not None:  # a recursive shape (AttributeValue in a map of AttributeValues)
        return lambda value: pending[0](value)
    cell: list[Converter] = []
    building[key] = cell
    converter = _build(shape, timestamps, building)
    cell.append(converter)
    return converter


def _build(
    shape: Any, timestamps: Any, building: dict[tuple[Any, ...], list[Converter]]
) -> Converter:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return _identity
        return _structure(shape, timestamps, building)
    if kind == "list":
        return _list(shape, timestamps, building)
    if kind == "map":
        return _map(shape, timestamps, building)
    if kind == "string":
        return _string
    if kind in ("integer", "long"):
        return int
    if kind in ("float", "double"):
        return float
    if kind == "blob":
        return _blob
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", timestamps.default_format)
        convert = timestamps._convert_timestamp_to_str
        return lambda value: convert(value, fmt)
    return _identity  # boolean and the rest: moto's _default_serialize writes the value


def _identity(value: Any) -> Any:
    return value


def _string(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


def _written_name(shape: Any, key: str) -> str:
    """The key moto's serializer writes a value of ``shape`` under, given as ``key``."""
    if shape.type_name == "structure" and shape.is_document_type:
        return key
    return str(shape.serialization.get("name", key))


def _candidates(parent: Any, member: Any, key: str) -> tuple[str, ...]:
    """The names moto's XFormedAttributePicker tries, in order, on a plain ``dict``
    (DEFAULT_ALIAS_PROVIDERS: a dict has no ``Meta`` and its class name is ``dict``)."""
    from botocore import xform_name

    names: list[str] = []

    def add(alias: str) -> None:
        names.extend((alias, xform_name(alias)))

    # ShapeNameAlias
    shaped = member.type_name in ("list", "structure") and member.name not in parent.members
    if shaped and key != member.name:
        add(member.name)
    add(key)  # NoAlias
    # ShapePrefixAlias
    if key.lower().startswith(parent.name.lower()):
        alias = key[len(parent.name) :]
        if alias not in parent.members:
            add(alias)
    if key.lower().startswith("dict"):  # ClassPrefixAlias
        add(key[len("dict") :])
    if member.serialization.get("name", key) != key:  # ModelAlias
        add(member.serialization["name"])
    if any("." in name for name in names):  # moto would follow a dotted path
        raise _Unsupported(key)
    return tuple(dict.fromkeys(names))


def _structure(
    shape: Any, timestamps: Any, building: dict[tuple[Any, ...], list[Converter]]
) -> Converter:
    members = [
        (
            _written_name(member, key),
            _candidates(shape, member, key),
            _compile(member, timestamps, building),
        )
        for key, member in shape.members.items()
    ]

    def structure(value: Any) -> Any:
        if value is None:
            return _SKIP
        if type(value) is not dict:  # an object: moto's attribute lookup decides
            raise _Unsupported(type(value).__name__)
        out: dict[str, Any] = {}
        get = value.get
        for name, candidates, convert in members:
            found = _MISSING
            for candidate in candidates:
                found = get(candidate, _MISSING)
                if found is not _MISSING:
                    break
            if found is _MISSING or found is None:
                continue
            converted = convert(found)
            if converted is not _SKIP:
                out[name] = converted
        return out

    return structure


def _list(
    shape: Any, timestamps: Any, building: dict[tuple[Any, ...], list[Converter]]
) -> Converter:
    member = shape.member
    item_key = member.name
    # moto keeps the raw item when its serializer wrote nothing under the member's name.
    keeps_raw = _written_name(member, item_key) != item_key
    convert = _compile(member, timestamps, building)

    def list_(value: Any) -> Any:
        if type(value) is not list and type(value) is not tuple:
            raise _Unsupported(type(value).__name__)
        out = []
        for item in value:
            converted = convert(item)
            out.append(item if keeps_raw or converted is _SKIP else converted)
        return out

    return list_


def _map(
    shape: Any, timestamps: Any, building: dict[tuple[Any, ...], list[Converter]]
) -> Converter:
    value_shape = shape.value
    if "name" in value_shape.serialization:
        raise _Unsupported("map value with a serialized name")
    convert = _compile(value_shape, timestamps, building)

    def map_(value: Any) -> Any:
        if type(value) is not dict:
            raise _Unsupported(type(value).__name__)
        out: dict[str, Any] = {}
        for sub_key, sub_value in value.items():
            converted = convert(sub_value)
            if converted is not _SKIP:
                out[sub_key] = converted
        return out

    return map_


def install(replace: Callable[[Any, str, Any], None]) -> None:
    """Serialize JSON-protocol results with the compiled converters.

    ``replace(owner, name, new)`` installs ``new`` and records moto's own method.
    """
    from moto.core import serialize as ms

    original = ms.ResponseSerializer._serialize_result

    def _serialize_result(self: Any, resp: Any, result: Any) -> Any:
        output_shape = self.operation_model.output_shape
        picker = self._value_picker
        if (
            output_shape is None
            or type(self) is not ms.JSONSerializer
            or type(picker) is not ms.XFormedAttributePicker
            or picker.response_transformers
            or picker.alias_providers != ms.DEFAULT_ALIAS_PROVIDERS
            or self.MAP_TYPE is not dict
        ):
            return original(self, resp, result)
        convert = compiled_result(output_shape, self._timestamp_serializer)
        if convert is None:
            FALLBACKS[self.operation_name] += 1
            return original(self, resp, result)
        try:
            serialized = convert(result)
        except Exception:  # anything unexpected: moto's own walk answers (or fails) as ever
            FALLBACKS[self.operation_name] += 1
            return original(self, resp, result)
        if serialized is _SKIP:
            serialized = {}
        return self._serialized_result_to_response(resp, result, output_shape, serialized)

    replace(ms.JSONSerializer, "_serialize_result", _serialize_result)
