"""ConfigError, and the wording of every config problem.

pydantic finds the problems (types, ranges, patterns, unknown fields, the rules of
:mod:`~streamkit.local.config.rules`); this module says them the way a person
editing ``infra/consumers.json`` needs them: one line per problem, naming the field
path (consumer included), the bad value as written in JSON and what is allowed::

    consumers.clickstream.event_source_mapping.BatchSize: 20000 is out of range
    (allowed: 1..10000)

What a field allows is read from the model itself: integer bounds from its ``ge`` /
``le`` constraints, choices from its ``Literal``, fields from the model, and, where
that is not enough, from an :class:`Allowed` marker in the field's ``Annotated``
metadata. Rules raise :func:`problem` (one message, at the validated value) or
:func:`problems` (several, at paths below it); their messages are used as written.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from streamkit.errors import StreamkitError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

RULE: Final = "streamkit_config"  # the pydantic error type of our own rules
NULL: Final = "streamkit_null"  # an explicit null where the field may only be left out
_KEY: Final = "[key]"  # pydantic's loc element for a dict key
_OBJECT_ERRORS: Final = frozenset({"model_type", "model_attributes_type", "dict_type"})
_RANGE_ERRORS: Final = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_FIELD_DUPLICATE: Final = "duplicate field (allowed: each field once)"


class ConfigError(StreamkitError, ValueError):
    """The consumer config is invalid. ``errors`` lists every problem found.

    ``str()`` gives the errors one per line; ``source`` is the file, when loaded
    from one.
    """

    def __init__(self, errors: Iterable[str], *, source: str | None = None) -> None:
        self.errors: list[str] = list(errors)
        self.source = source
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


class Allowed:
    """``Annotated`` metadata: how messages describe a field or a map's keys.

    ``text`` is what goes in "(allowed: ...)" when the type cannot say it. ``noun``
    words every bad value as "<value> is not a valid <noun>" (for a map's keys:
    "<noun> <key> is not valid"). ``whole`` reports problems inside the value (list
    items) once, at the field, with the whole value. ``duplicate`` is the message
    for a key given twice (for a map's keys). Other keywords override the message
    of one pydantic error type; they may use ``{show}``, ``{count}``, ``{allowed}``.
    """

    def __init__(
        self,
        text: str | None = None,
        *,
        noun: str | None = None,
        whole: bool = False,
        duplicate: str = _FIELD_DUPLICATE,
        **templates: str,
    ) -> None:
        self.text, self.noun, self.whole, self.duplicate = text, noun, whole, duplicate
        self.templates: Mapping[str, str] = types.MappingProxyType(templates)

    def __repr__(self) -> str:
        return f"Allowed({self.text!r}, noun={self.noun!r})"


_PLAIN: Final = Allowed()


def show(value: object) -> str:
    """A value as it would appear in the JSON file, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > 100:
        text = f"{text[:80]}...({len(text)} chars)"
    return text


def problem(message: str) -> PydanticCustomError:
    """A rule's error at the value being validated; ``message`` is used as written."""
    return PydanticCustomError(RULE, "{message}", {"message": message})


def problems(title: str, found: Iterable[tuple[Loc, str, object]]) -> ValidationError:
    """Several rule errors at once, each ``(loc below the validated value, message,
    value)``; pydantic prefixes the locs with where the validator runs."""
    details = [InitErrorDetails(type=problem(m), loc=loc, input=v) for loc, m, v in found]
    return ValidationError.from_exception_data(title, details)


def not_null(value: object) -> object:
    """Before-validator of optional fields: leaving one out is fine, ``null`` is not."""
    if value is None:
        raise PydanticCustomError(NULL, "null is not allowed")
    return value


def validated(model: type[M], doc: object, *, where: str = "", now: float | None = None) -> M:
    """``model`` validated from ``doc``, or ConfigError naming every problem.

    ``where`` prefixes the paths (``""`` for the file); ``now`` is the instant
    ``StartingPositionTimestamp`` must not be after (``None``: not checked).
    """
    try:
        return model.model_validate(doc, context={"now": now})
    except ValidationError as exc:
        raise ConfigError(describe(exc, model, doc, where=where)) from None


def describe(exc: ValidationError, root: type[BaseModel], doc: object, *, where: str) -> list[str]:
    """The messages for pydantic's errors of validating ``doc`` as ``root``."""
    messages: list[str] = []
    for error in exc.errors(include_url=False):
        spot = _locate(root, error["loc"])
        value = _at(doc, spot.loc) if spot.truncated else error["input"]
        line = f"{_path(where, spot.loc)}: {_phrase(error, spot, value)}"
        if line not in messages:  # a ``whole`` field reports once
            messages.append(line)
    return messages


def duplicate_message(root: type[BaseModel], loc: Loc, *, where: str = "") -> str:
    """The message for key ``loc[-1]`` given twice in the object at ``loc[:-1]``."""
    spot = _locate(root, (*loc, _KEY))
    marker = spot.allowed if spot.is_key else _PLAIN
    return f"{_path(where, loc)}: {marker.duplicate}"


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (ignoring case, ``_``, ``-``), if close."""
    by_norm = {_normalize(c): c for c in choices}
    norm = _normalize(word)
    if norm in by_norm:
        return by_norm[norm]
    close = difflib.get_close_matches(norm, list(by_norm), n=1, cutoff=0.6)
    return by_norm[close[0]] if close else None


# ------------------------------------------------------------- locating a field


@dataclass(frozen=True, slots=True)
class _Spot:
    """What an error's loc points at: the field's type and markers, its model."""

    loc: Loc  # the loc to report (without "[key]"; cut at a ``whole`` field)
    kind: Any  # the field's type, without Annotated and Optional
    constraints: tuple[Any, ...]
    allowed: Allowed
    model: type[BaseModel] | None  # the model the last name was looked up in
    known: bool  # False: the last name is no field of ``model``
    is_key: bool  # the error is about a map's key
    truncated: bool  # cut at a ``whole`` field: the error's input is an inner value


def _locate(root: type[BaseModel], loc: tuple[int | str, ...]) -> _Spot:
    kind, meta = _unwrap(root)
    model: type[BaseModel] | None = None
    key_kind: Any = None
    out: list[str | int] = []
    known, is_key = True, False
    for index, part in enumerate(loc):
        if _marker(meta).whole:
            return _spot(out, kind, meta, model, known, is_key, truncated=index < len(loc))
        if part == _KEY:
            kind, meta = _unwrap(key_kind)
            is_key = True
            continue
        out.append(part)
        key_kind = None
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            model = kind
            field = _field(kind, str(part))
            if field is None:
                known = False
                break
            kind, inner = _unwrap(field.annotation)
            meta = (*field.metadata, *inner)
        elif get_origin(kind) in (dict, Mapping):
            key_kind, value_kind = get_args(kind)
            kind, meta = _unwrap(value_kind)
        elif get_origin(kind) in (list, tuple):
            kind, meta = _unwrap(get_args(kind)[0])
        else:
            break
    return _spot(out, kind, meta, model, known, is_key, truncated=False)


def _spot(
    loc: list[str | int],
    kind: Any,
    meta: tuple[Any, ...],
    model: type[BaseModel] | None,
    known: bool,
    is_key: bool,
    *,
    truncated: bool,
) -> _Spot:
    return _Spot(tuple(loc), kind, meta, _marker(meta), model, known, is_key, truncated)


def _unwrap(kind: Any) -> tuple[Any, tuple[Any, ...]]:
    """``kind`` without ``Annotated`` and ``| None``, and the metadata found on the way."""
    meta: list[Any] = []
    while True:
        if get_origin(kind) is Annotated:
            kind, *extra = get_args(kind)
            for item in extra:
                meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind):
            rest = [a for a in get_args(kind) if a is not type(None)]
            if len(rest) != 1:
                break
            kind = rest[0]
        else:
            break
    return kind, tuple(meta)


def _marker(meta: tuple[Any, ...]) -> Allowed:
    return next((m for m in meta if isinstance(m, Allowed)), _PLAIN)


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    for attribute, field in model.model_fields.items():
        if (field.alias or attribute) == name:
            return field
    return None


def _fields(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _at(doc: object, loc: Loc) -> object:
    """The value at ``loc`` in the raw document (None where there is none)."""
    for part in loc:
        if isinstance(doc, list) and isinstance(part, int):
            doc = doc[part] if 0 <= part < len(doc) else None
        else:
            doc = doc.get(part) if isinstance(doc, Mapping) else None
    return doc


def _path(where: str, loc: Loc) -> str:
    text = where
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text or "<root>"


# ------------------------------------------------------------------ wording


def _phrase(error: ErrorDetails, spot: _Spot, value: object) -> str:
    kind = error["type"]
    if kind == RULE:
        return str(error["msg"])
    if kind == "extra_forbidden" or not spot.known:
        return _unknown_field(spot)
    marker = spot.allowed
    if kind == "missing":
        return f"missing required field (allowed: {_allowed(spot, missing=True)})"
    if kind == NULL:
        kind = _type_error_of(spot.kind)
    shown, allowed = show(value), _allowed(spot)
    if kind in marker.templates:
        count = len(value) if isinstance(value, str | list | dict) else 0
        return marker.templates[kind].format(show=shown, count=count, allowed=allowed)
    if spot.is_key:
        return f"{marker.noun or 'key'} {shown} is not valid (allowed: {allowed})"
    if marker.noun:
        return f"{shown} is not a valid {marker.noun} (allowed: {allowed})"
    return f"{_what_is_wrong(kind, value, spot, error['msg'])} (allowed: {allowed})"


def _what_is_wrong(kind: str, value: object, spot: _Spot, msg: str) -> str:
    shown = show(value)
    if kind == "int_type" and isinstance(value, bool):
        return f"{shown} is a boolean, not an integer"
    wording = {
        "int_type": "is not an integer",
        "bool_type": "is not a boolean",
        "list_type": "is not a list",
        "string_type": "is not a string",
        "too_short": "is empty",
        **dict.fromkeys(_OBJECT_ERRORS, "is not an object"),
        **dict.fromkeys(_RANGE_ERRORS, "is out of range"),
    }
    if kind in wording:
        return f"{shown} {wording[kind]}"
    if kind == "literal_error":
        choices = [str(c) for c in get_args(spot.kind)]
        match = suggest(value, choices) if isinstance(value, str) else None
        did_you_mean = f"; did you mean {show(match)}?" if match else ""
        return f"{shown} is not a valid value{did_you_mean}"
    if kind == "string_too_long" and isinstance(value, str):
        return f"{shown} is {len(value)} characters, too long"
    if kind == "too_long" and isinstance(value, list | dict):
        return f"{len(value)} items are too many"
    return f"{shown} is not valid: {msg}"


def _allowed(spot: _Spot, *, missing: bool = False) -> str:
    kind = spot.kind
    if spot.allowed.text is not None:
        return spot.allowed.text
    if get_origin(kind) is Literal:
        return ", ".join(str(c) for c in get_args(kind))
    if kind is bool:
        return "true, false"
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return "an object" if missing else f"an object with {', '.join(_fields(kind))}"
    low = next((c.ge for c in spot.constraints if isinstance(c, annotated_types.Ge)), None)
    high = next((c.le for c in spot.constraints if isinstance(c, annotated_types.Le)), None)
    if low is not None and high is not None:
        return f"{low}..{high}"
    return "see infra/consumers.schema.json"


def _type_error_of(kind: Any) -> str:
    """The pydantic error type a wrong value of ``kind`` gives (for an explicit null)."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return "model_type"
    if kind is float:
        return "float_type"
    if kind is str:
        return "string_type"
    return "dict_type" if get_origin(kind) in (dict, Mapping) else "list_type"


def _unknown_field(spot: _Spot) -> str:
    name = str(spot.loc[-1]) if spot.loc else ""
    model = spot.model
    fields = _fields(model) if model is not None else []
    hints: Mapping[str, str] = getattr(model, "unknown_field_hints", {})
    if name in hints:
        return f"unknown field {show(name)}: {hints[name]}"
    match = suggest(name, fields)
    did_you_mean = f"; did you mean {show(match)}?" if match else ""
    return f"unknown field {show(name)}{did_you_mean} (allowed: {', '.join(fields)})"


def _normalize(word: str) -> str:
    return word.replace("_", "").replace("-", "").replace(" ", "").lower()
