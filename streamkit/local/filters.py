"""Lambda ``FilterCriteria`` pattern matching for Kinesis records (spec section 5).

:func:`compile_filters` takes the AWS-shaped ``{"Filters": [{"Pattern": "<json>"}]}``
and validates it the way ``CreateEventSourceMapping`` does (spec 0.1, 0.4, 5.1),
raising :class:`FilterError` for anything AWS would reject. The result, a
:class:`FilterSet`, decides per record whether the simulator delivers it (spec 5.2).

Example::

    >>> fs = compile_filters({"Filters": [{"Pattern": '{"data": {"kind": ["order"]}}'}]})
    >>> fs.matches(b'{"kind": "order", "total": 3}')
    True
    >>> fs.matches(b'{"kind": "refund"}'), fs.matches(b"\\x00 not json")
    (False, False)
    >>> compile_filters(None).matches_all
    True

What is matched (spec 5.4, 5.5)
-------------------------------
Kinesis ESMs filter only on the ``data`` key (5.4): a pattern is matched against
``{"data": <base64-decoded, JSON-parsed payload>}``. Any JSON text counts as JSON,
including scalars (``42``, ``"x"``); payloads must be UTF-8 without a BOM.

* **Metadata keys are rejected at compile time** (5.4, 9.4, decision). A top-level
  key other than ``data`` (``partitionKey``, ``sequenceNumber``, ...) raises
  :class:`FilterError`. Current docs say only ``data`` is filterable and metadata
  filtering is undefined; accepting such a key would make it match against an
  absent field and silently drop every record, so the simulator refuses it.
* Consequence for the 5.5 table: every accepted pattern has a ``data`` pattern,
  so the "no ``data`` pattern -> filter on the other properties only" rows cannot
  occur, and a **non-JSON payload matches no filter and is dropped** (5.5), even
  a pattern such as ``{"data": {"x": [{"exists": false}]}}``.
* A pattern that is not JSON fails compilation (5.5 rows 3 and 6, 0.4).

Operators (spec 5.6)
--------------------
``null``, ``""``, exact strings/numbers/booleans (a list is an OR), and several
keys (AND), ``$or`` (at least 2 objects), ``equals-ignore-case``, ``prefix``,
``suffix``, ``anything-but`` (a string, a number, or a non-empty list of only
strings or only numbers), ``numeric`` and ``exists``. ``wildcard``, ``cidr``,
``exactly`` and the ``anything-but`` object forms (``{"anything-but": {"prefix":
...}}`` and the like) are EventBridge/event-ruler features that Lambda's operator
table omits; they are **rejected** with the allowed operator list (5.6
[UNCONFIRMED], 9.4).

Matching semantics, following event-ruler (the engine behind EventBridge and
Lambda filtering) where the docs are silent:

* **Arrays**: if the event value is an array (nested arrays are flattened), the
  condition holds when any element matches (5.6). Objects inside arrays are
  matched one element at a time, so two keys of one pattern object must match
  in the *same* element (event-ruler's "array-consistent" matching).
* **Numbers in exact match** (5.6, decision): event-ruler compiles ``[300]``
  into a literal match *and* a numeric-equality match and, when a field has a
  numeric matcher, compares event numbers numerically. So, against the doc
  sentence "300, 300.0 and 3.0e2 are different", ``[300]`` matches ``300``,
  ``300.0`` and ``3.0e2`` here. Numbers never match strings (``["300"]`` does
  not match ``300``) and ``true`` never matches ``1``. Outside event-ruler's
  numeric range (±5e9) a number pattern falls back to comparing the number's
  text as re-serialised after JSON parsing (ints keep their digits; floats use
  Python's shortest repr, so ``1e10`` and ``1.0e10`` are the same text).
* **Numeric precision** (5.6): ``numeric``, numeric ``anything-but`` and number
  equality compare values truncated to 6 decimal places in the range
  -5e9..5e9, exactly as event-ruler's ``ComparableNumber`` does (so
  ``["=", 1]`` matches ``1.0000001``). Patterns with numbers outside that range
  in ``numeric``/``anything-but`` are rejected; event numbers outside it never
  satisfy ``numeric``. ``numeric`` only applies to JSON numbers, never strings
  or booleans. Ranges are ``[op, n]`` with op in ``= < <= > >=``, or
  ``[">" | ">=", low, "<" | "<=", high]`` with ``low < high``, lower bound first.
* **exists** (5.6): applies to leaf values only. ``exists: true`` needs at least
  one non-object value at the path (``null`` counts; an empty array or an object
  does not). ``exists: false`` matches when there is none: the key is absent,
  holds an object, holds ``[]``, or an intermediate node is missing or a scalar.
* **anything-but**: needs a value at the path (an absent key never matches) and
  matches any leaf value not in the list: strings, numbers (compared
  numerically), booleans and ``null`` alike. With an array value it matches if
  *any* element differs, so ``{"anything-but": "x"}`` matches ``["x", "y"]``.
* ``prefix``, ``suffix``, ``equals-ignore-case`` apply to strings only.
  ``equals-ignore-case`` compares ``str.lower()`` forms. Strings are otherwise
  exact, case-sensitive and un-normalised.
* Not emulated: event-ruler's quirk that a dotted key ``"a.b"`` equals nested
  ``{"a": {"b": ...}}``; IP-looking exact strings being matched as addresses.

Limits (spec 0.1, 5.1): a pattern is at most 4096 characters; at most
:data:`MAX_FILTERS` = 10 filters. AWS's default quota is 5 filters per ESM,
raisable to 10, so the simulator accepts up to the raised quota.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

import orjson

__all__ = [
    "ALLOWED_OPERATORS",
    "DEFAULT_FILTER_QUOTA",
    "MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "FilterError",
    "FilterSet",
    "compile_filters",
]

#: Longest pattern string accepted, in characters (spec 0.1, 5.1).
MAX_PATTERN_LENGTH: Final = 4096
#: AWS's default quota of filters per ESM (spec 0.1, 5.1); informational.
DEFAULT_FILTER_QUOTA: Final = 5
#: Most filters accepted: the default quota of 5 raised to its maximum of 10 (spec 5.1).
MAX_FILTERS: Final = 10
#: Operators Lambda documents for ESM filters (spec 5.6), in the order AWS lists them.
ALLOWED_OPERATORS: Final = (
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "prefix",
    "suffix",
)
_ALLOWED_TEXT: Final = ", ".join(ALLOWED_OPERATORS)
#: event-ruler operators that Lambda's table omits (spec 5.6 [UNCONFIRMED], 9.4).
_EVENTBRIDGE_ONLY: Final = frozenset({"wildcard", "cidr", "exactly"})
#: Keys that event-ruler refuses as field names inside a ``$or`` branch.
_RESERVED_IN_OR: Final = frozenset(
    {
        *ALLOWED_OPERATORS,
        *_EVENTBRIDGE_ONLY,
        *("=", "<", "<=", ">", ">="),
    }
)
_OR: Final = "$or"
_DATA: Final = "data"

# event-ruler ComparableNumber: numbers in -5e9..5e9, 6 decimal places (spec 5.6).
_FIVE_BILLION: Final = 5e9
_SCALE: Final = 1e6

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class FilterError(ValueError):
    """An invalid ``FilterCriteria``; AWS fails ESM create/update the same way (spec 0.4).

    The message starts like AWS's ``InvalidParameterValueException`` text,
    ``Invalid filter pattern definition.``, then names the filter and the problem,
    e.g. ``Filters[1].Pattern: unknown operator 'wildcard' (allowed: ...) [at data.kind]``.

    Attributes: ``index`` (the filter's position, ``None`` for errors about the
    whole ``FilterCriteria``), ``path`` (dotted location inside the pattern, or
    ``""``) and ``detail`` (the problem alone).
    """

    def __init__(
        self, detail: str, *, index: int | None = None, path: str = "", field: str = "Pattern"
    ) -> None:
        if index is None:
            where = "FilterCriteria"
        else:
            where = f"Filters[{index}].{field}" if field else f"Filters[{index}]"
        location = f" [at {path}]" if path else ""
        super().__init__(f"Invalid filter pattern definition. {where}: {detail}{location}")
        self.index = index
        self.path = path
        self.detail = detail


# --------------------------------------------------------------------------- matchers


class _Missing:
    __slots__ = ()


_MISSING: Final = _Missing()


def _number_key(value: int | float) -> int | None:
    """event-ruler's comparable form of a number, or None outside -5e9..5e9 (spec 5.6)."""
    try:
        f = float(value)
    except OverflowError:
        return None
    if -_FIVE_BILLION <= f <= _FIVE_BILLION:
        # Java's (long) cast truncates; the operand is >= 0 so int() does the same.
        return int(_SCALE * (_FIVE_BILLION + f))
    return None


def _number_text(value: int | float) -> str:
    """Text of a parsed JSON number, for exact match outside the numeric range."""
    return str(value) if type(value) is int else repr(value)


def _scalars(values: list[Any]) -> Iterator[Any]:
    """Leaf (non-object) values of an event array, flattening nested arrays iteratively."""
    stack: list[Iterator[Any]] = [iter(values)]
    while stack:
        for item in stack[-1]:
            kind = type(item)
            if kind is list:
                stack.append(iter(item))
                break
            if kind is not dict:
                yield item
        else:
            stack.pop()


def _objects(values: list[Any]) -> list[dict[str, Any]]:
    """Objects inside an event array, flattening nested arrays iteratively."""
    found: list[dict[str, Any]] = []
    stack: list[list[Any]] = [values]
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is dict:
                found.append(item)
            elif kind is list:
                stack.append(item)
    return found


@dataclass(frozen=True, slots=True)
class _Range:
    """A ``numeric`` condition on comparable keys; ``None`` bounds are unbounded."""

    low: int | None
    low_open: bool
    high: int | None
    high_open: bool

    def contains(self, key: int) -> bool:
        low, high = self.low, self.high
        if low is not None and (key <= low if self.low_open else key < low):
            return False
        return high is None or (key < high if self.high_open else key <= high)


@dataclass(frozen=True, slots=True)
class _Leaf:
    """The compiled value list of one pattern key: its entries are OR-ed (spec 5.6)."""

    strings: frozenset[str] = frozenset()
    match_true: bool = False
    match_false: bool = False
    match_null: bool = False
    number_keys: frozenset[int] = frozenset()
    number_texts: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    ignore_case: frozenset[str] = frozenset()
    ranges: tuple[_Range, ...] = ()
    but_strings: tuple[frozenset[str], ...] = ()
    but_numbers: tuple[frozenset[int], ...] = ()
    exists_true: bool = False
    exists_false: bool = False

    def matches(self, value: Any) -> bool:
        """Whether the event value at this key (or ``_MISSING``) satisfies the list."""
        kind = type(value)
        if kind is list:
            present = False
            for item in _scalars(value):
                present = True
                if self.exists_true or self._matches_scalar(item):
                    return True
            # A present leaf value rules exists:false out; [] has none (spec 5.6).
            return not present and self.exists_false
        if value is _MISSING or kind is dict:
            # 5.6: exists applies to leaf nodes only; an object is not a leaf.
            return self.exists_false
        return self.exists_true or self._matches_scalar(value)

    def _matches_scalar(self, value: Any) -> bool:
        kind = type(value)
        if kind is str:
            if value in self.strings:
                return True
            if self.prefixes and value.startswith(self.prefixes):
                return True
            if self.suffixes and value.endswith(self.suffixes):
                return True
            if self.ignore_case and value.lower() in self.ignore_case:
                return True
            if self.but_numbers:
                return True  # a string is never one of the excluded numbers
            return any(value not in excluded for excluded in self.but_strings)
        if kind is int or kind is float:
            key = _number_key(value)
            if key is None:
                if self.number_texts and _number_text(value) in self.number_texts:
                    return True
            else:
                if key in self.number_keys:
                    return True
                for numeric in self.ranges:
                    if numeric.contains(key):
                        return True
            if self.but_strings:
                return True  # a number is never one of the excluded strings
            return any(key is None or key not in excluded for excluded in self.but_numbers)
        # true / false / null (orjson yields nothing else for a scalar)
        if value is True:
            hit = self.match_true
        elif value is False:
            hit = self.match_false
        else:
            hit = self.match_null
        return hit or bool(self.but_strings) or bool(self.but_numbers)


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled pattern object: every key must match (AND), each ``$or`` group once."""

    leaves: tuple[tuple[str, _Leaf], ...]
    children: tuple[tuple[str, _Node], ...]
    ors: tuple[tuple[_Node, ...], ...]
    #: Whether the pattern matches where the event has no object at all (absent
    #: key, scalar, ``[]``): true only if every condition is satisfiable by absence.
    absent_ok: bool

    def matches(self, obj: dict[str, Any]) -> bool:
        for key, leaf in self.leaves:
            if not leaf.matches(obj.get(key, _MISSING)):
                return False
        for key, child in self.children:
            value = obj.get(key, _MISSING)
            kind = type(value)
            if kind is dict:
                if not child.matches(value):
                    return False
            elif kind is list:
                candidates = _objects(value)
                if candidates:
                    # Array-consistent: one element must satisfy the whole sub-pattern.
                    if not any(child.matches(item) for item in candidates):
                        return False
                elif not child.absent_ok:
                    return False
            elif not child.absent_ok:
                return False
        return all(any(branch.matches(obj) for branch in group) for group in self.ors)


# --------------------------------------------------------------------------- compiler


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _LeafBuilder:
    """Mutable accumulator for one value list; frozen into a :class:`_Leaf`."""

    def __init__(self) -> None:
        self.strings: set[str] = set()
        self.literals: set[bool | None] = set()
        self.number_keys: set[int] = set()
        self.number_texts: set[str] = set()
        self.prefixes: list[str] = []
        self.suffixes: list[str] = []
        self.ignore_case: set[str] = set()
        self.ranges: list[_Range] = []
        self.but_strings: list[frozenset[str]] = []
        self.but_numbers: list[frozenset[int]] = []
        self.exists_true = False
        self.exists_false = False

    def build(self) -> _Leaf:
        return _Leaf(
            strings=frozenset(self.strings),
            match_true=True in self.literals,
            match_false=False in self.literals,
            match_null=None in self.literals,
            number_keys=frozenset(self.number_keys),
            number_texts=frozenset(self.number_texts),
            prefixes=tuple(self.prefixes),
            suffixes=tuple(self.suffixes),
            ignore_case=frozenset(self.ignore_case),
            ranges=tuple(self.ranges),
            but_strings=tuple(self.but_strings),
            but_numbers=tuple(self.but_numbers),
            exists_true=self.exists_true,
            exists_false=self.exists_false,
        )


class _Compiler:
    """Compiles one parsed pattern; every error names the filter ``index``."""

    def __init__(self, index: int) -> None:
        self.index = index

    def fail(self, detail: str, path: str) -> FilterError:
        return FilterError(detail, index=self.index, path=path)

    # ---- objects

    def node(self, obj: dict[str, Any], path: str, *, root: bool, in_or: bool) -> _Node:
        if not obj:
            raise self.fail("empty objects are not allowed", path)
        leaves: list[tuple[str, _Leaf]] = []
        children: list[tuple[str, _Node]] = []
        ors: list[tuple[_Node, ...]] = []
        for key, value in obj.items():
            if key == _OR:
                ors.append(self.or_group(value, path, root=root))
                continue
            if root and key != _DATA:
                raise self.fail(
                    f"key {key!r} is not filterable: Kinesis ESMs filter only on 'data' "
                    "(spec 5.4; metadata filtering is unsupported, 9.4)",
                    path,
                )
            if in_or and key in _RESERVED_IN_OR:
                raise self.fail(f"{key!r} is a reserved word and cannot be a key inside $or", path)
            child_path = _join(path, key)
            if isinstance(value, dict):
                children.append((key, self.node(value, child_path, root=False, in_or=in_or)))
            elif isinstance(value, list):
                leaves.append((key, self.leaf(value, child_path)))
            else:
                hint = (
                    ' (operators go inside an array, e.g. [{"prefix": "x"}])'
                    if key in _RESERVED_IN_OR
                    else ""
                )
                raise self.fail(
                    f"value of {key!r} must be an array or an object, got {_type_name(value)}; "
                    f"leaf values must be arrays (spec 5.6){hint}",
                    child_path,
                )
        absent_ok = (
            all(leaf.exists_false for _, leaf in leaves)
            and all(child.absent_ok for _, child in children)
            and all(any(branch.absent_ok for branch in group) for group in ors)
        )
        return _Node(tuple(leaves), tuple(children), tuple(ors), absent_ok)

    def or_group(self, value: Any, path: str, *, root: bool) -> tuple[_Node, ...]:
        # 5.6: "$or" takes an array of at least 2 objects.
        or_path = _join(path, _OR)
        if not isinstance(value, list) or len(value) < 2:
            got = f"{len(value)} element(s)" if isinstance(value, list) else _type_name(value)
            raise self.fail(f"$or must be an array of at least 2 objects, got {got}", or_path)
        branches: list[_Node] = []
        for position, branch in enumerate(value):
            branch_path = f"{or_path}[{position}]"
            if not isinstance(branch, dict):
                raise self.fail(
                    f"$or elements must be objects, got {_type_name(branch)}", branch_path
                )
            branches.append(self.node(branch, branch_path, root=root, in_or=True))
        return tuple(branches)

    # ---- value lists

    def leaf(self, values: list[Any], path: str) -> _Leaf:
        if not values:
            raise self.fail("empty arrays are not allowed", path)
        builder = _LeafBuilder()
        for position, value in enumerate(values):
            item_path = f"{path}[{position}]"
            if isinstance(value, str):
                builder.strings.add(value)
            elif value is None or isinstance(value, bool):
                builder.literals.add(value)
            elif _is_number(value):
                self.add_number(builder, value)
            elif isinstance(value, dict):
                self.operator(builder, value, item_path)
            else:
                raise self.fail(
                    "match values must be strings, numbers, true, false, null or "
                    f"operator objects, got {_type_name(value)}",
                    item_path,
                )
        return builder.build()

    @staticmethod
    def add_number(builder: _LeafBuilder, value: int | float) -> None:
        # 5.6 decision: literal text and numeric equality, like event-ruler.
        key = _number_key(value)
        if key is None:
            builder.number_texts.add(_number_text(value))
        else:
            builder.number_keys.add(key)

    def operator(self, builder: _LeafBuilder, expression: dict[str, Any], path: str) -> None:
        if len(expression) != 1:
            keys = ", ".join(repr(key) for key in expression) or "none"
            raise self.fail(
                f"an operator object must have exactly one key, got {keys} "
                f"(allowed: {_ALLOWED_TEXT})",
                path,
            )
        ((name, argument),) = expression.items()
        if name in {"prefix", "suffix", "equals-ignore-case"}:
            if not isinstance(argument, str):
                raise self.fail(
                    f"{name} needs a string, got {_type_name(argument)} (spec 5.6)", path
                )
            if name == "prefix":
                builder.prefixes.append(argument)
            elif name == "suffix":
                builder.suffixes.append(argument)
            else:
                builder.ignore_case.add(argument.lower())
        elif name == "exists":
            if not isinstance(argument, bool):
                raise self.fail(f"exists needs true or false, got {_type_name(argument)}", path)
            if argument:
                builder.exists_true = True
            else:
                builder.exists_false = True
        elif name == "numeric":
            self.numeric(builder, argument, path)
        elif name == "anything-but":
            self.anything_but(builder, argument, path)
        elif name in _EVENTBRIDGE_ONLY:
            raise self.fail(
                f"unknown operator {name!r} (allowed: {_ALLOWED_TEXT}); {name!r} exists in "
                "EventBridge but is unsupported for Lambda ESM filters (spec 5.6, 9.4)",
                path,
            )
        else:
            raise self.fail(f"unknown operator {name!r} (allowed: {_ALLOWED_TEXT})", path)

    def numeric_bound(self, operator: str, value: object, path: str) -> int:
        if not _is_number(value):
            raise self.fail(
                f"numeric: value after {operator!r} must be a number, got {_type_name(value)}",
                path,
            )
        key = _number_key(value)
        if key is None:
            raise self.fail(
                f"numeric: {value!r} is outside the supported range -5e9..5e9 (spec 5.6)", path
            )
        return key

    def numeric(self, builder: _LeafBuilder, argument: object, path: str) -> None:
        usage = (
            'expected [op, n] with op one of "=", "<", "<=", ">", ">=", '
            'or [">" | ">=", low, "<" | "<=", high]'
        )
        if not isinstance(argument, list) or len(argument) not in (2, 4):
            raise self.fail(f"malformed numeric range {_dumps(argument)}: {usage}", path)
        operator = argument[0]
        if not isinstance(operator, str) or operator not in {"=", "<", "<=", ">", ">="}:
            raise self.fail(f"numeric: unknown operator {_dumps(operator)}: {usage}", path)
        first = self.numeric_bound(operator, argument[1], path)
        if len(argument) == 2:
            if operator == "=":
                builder.number_keys.add(first)
            elif operator in {"<", "<="}:
                builder.ranges.append(_Range(None, False, first, operator == "<"))
            else:
                builder.ranges.append(_Range(first, operator == ">", None, False))
            return
        upper = argument[2]
        if operator not in {">", ">="} or not isinstance(upper, str) or upper not in {"<", "<="}:
            raise self.fail(
                f"malformed numeric range {_dumps(argument)}: a two-sided range is "
                '[">" | ">=", low, "<" | "<=", high], lower bound first',
                path,
            )
        second = self.numeric_bound(upper, argument[3], path)
        if not argument[1] < argument[3]:
            raise self.fail(
                f"malformed numeric range {_dumps(argument)}: low must be less than high", path
            )
        builder.ranges.append(_Range(first, operator == ">", second, upper == "<"))

    def anything_but(self, builder: _LeafBuilder, argument: object, path: str) -> None:
        if isinstance(argument, dict):
            inner = ", ".join(repr(key) for key in argument) or "empty object"
            raise self.fail(
                f"anything-but with an object ({inner}) is unsupported for Lambda ESM "
                "filters; use a string, a number or an array of them (spec 5.6, 9.4)",
                path,
            )
        items: list[object] = list(argument) if isinstance(argument, list) else [argument]
        if not items:
            raise self.fail("anything-but needs a non-empty array", path)
        strings = [item for item in items if isinstance(item, str)]
        numbers = [item for item in items if _is_number(item)]
        if len(strings) == len(items):
            builder.but_strings.append(frozenset(strings))
        elif len(numbers) == len(items):
            keys: set[int] = set()
            for item in numbers:
                key = _number_key(item)
                if key is None:
                    raise self.fail(
                        f"anything-but: {item!r} is outside the supported range "
                        "-5e9..5e9 (spec 5.6)",
                        path,
                    )
                keys.add(key)
            builder.but_numbers.append(frozenset(keys))
        else:
            kinds = sorted({_type_name(item) for item in items})
            raise self.fail(
                f"anything-but values must be all strings or all numbers, got {', '.join(kinds)}",
                path,
            )


def _dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # pragma: no cover - values come from orjson.loads
        return repr(value)


def _compile_pattern(pattern: str, index: int) -> _Node:
    compiler = _Compiler(index)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise compiler.fail(
            f"pattern is {len(pattern)} characters, more than the maximum of "
            f"{MAX_PATTERN_LENGTH} (spec 0.1)",
            "",
        )
    try:
        document = _loads(pattern)
    except _JSONDecodeError as exc:
        raise compiler.fail(f"pattern is not valid JSON ({exc}) (spec 0.4)", "") from None
    if not isinstance(document, dict):
        raise compiler.fail(
            f"pattern must be a JSON object, got {_type_name(document)} (spec 0.4)", ""
        )
    return compiler.node(document, "", root=True, in_or=False)


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True)
class FilterSet:
    """Compiled ``FilterCriteria``: a record is delivered if any filter matches (spec 5.1).

    Build it with :func:`compile_filters`; it is immutable and safe to share.
    """

    _filters: tuple[_Node, ...] = ()
    #: The pattern strings, in ``Filters`` order.
    patterns: tuple[str, ...] = ()

    @property
    def matches_all(self) -> bool:
        """True when no filter is configured: every record is delivered (fast path)."""
        return not self._filters

    def __len__(self) -> int:
        return len(self._filters)

    def matches(self, data: bytes) -> bool:
        """Whether a record with this raw (base64-decoded) payload is delivered.

        The payload is JSON-parsed once and matched as ``{"data": <payload>}`` (5.4)
        against each filter, OR-ed (5.1). A payload that is not JSON matches no
        filter (5.5: non-JSON data with a ``data`` pattern is dropped; every
        accepted pattern has one). Never raises, whatever the bytes.
        """
        if not self._filters:
            return True
        try:
            document = _loads(data)
        except _JSONDecodeError:
            return False  # 5.5: non-JSON record, data pattern -> dropped
        return self.matches_document(document)

    def matches_document(self, document: Any) -> bool:
        """Like :meth:`matches` for an already-parsed JSON payload (orjson types)."""
        if not self._filters:
            return True
        event = {_DATA: document}
        return any(node.matches(event) for node in self._filters)


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> FilterSet:
    """Validate and compile AWS-shaped ``FilterCriteria`` (spec 0.1, 0.4, 5.1, 5.6).

    ``None``, ``{}`` and ``{"Filters": []}`` give a :class:`FilterSet` that matches
    everything. Raises :class:`FilterError` for more than :data:`MAX_FILTERS`
    filters, a pattern over 4096 characters, a pattern that is not a JSON object,
    or any invalid pattern content (see the module docstring).
    """
    if filter_criteria is None:
        return FilterSet()
    if not isinstance(filter_criteria, Mapping):
        raise FilterError(
            f'must be an object like {{"Filters": [...]}}, got {type(filter_criteria).__name__}'
        )
    unknown = sorted(str(key) for key in filter_criteria if key != "Filters")
    if unknown:
        raise FilterError(f"unknown key(s) {', '.join(map(repr, unknown))} (expected 'Filters')")
    filters = filter_criteria.get("Filters")
    if filters is None:
        return FilterSet()
    if isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
        raise FilterError(f"Filters must be an array, got {type(filters).__name__}")
    if len(filters) > MAX_FILTERS:
        raise FilterError(
            f"{len(filters)} filters exceed the maximum of {MAX_FILTERS} per event source "
            f"mapping (default quota {DEFAULT_FILTER_QUOTA}, raisable to {MAX_FILTERS}; "
            "spec 0.1, 5.1)"
        )
    nodes: list[_Node] = []
    patterns: list[str] = []
    for index, entry in enumerate(filters):
        if not isinstance(entry, Mapping):
            raise FilterError(
                f'must be an object like {{"Pattern": "..."}}, got {type(entry).__name__}',
                index=index,
                field="",
            )
        extra = sorted(str(key) for key in entry if key != "Pattern")
        if extra:
            raise FilterError(
                f"unknown key(s) {', '.join(map(repr, extra))} (expected 'Pattern')",
                index=index,
                field="",
            )
        pattern = entry.get("Pattern")
        if not isinstance(pattern, str):
            raise FilterError(
                f"Pattern must be a JSON string, got {_type_name(pattern)}", index=index
            )
        nodes.append(_compile_pattern(pattern, index))
        patterns.append(pattern)
    return FilterSet(tuple(nodes), tuple(patterns))
