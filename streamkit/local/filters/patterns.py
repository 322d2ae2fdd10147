"""Parsing and validating ``FilterCriteria`` patterns into their compiled form.

A pattern string is checked the way ``CreateEventSourceMapping`` checks it (spec
0.1, 0.4, 5.4, 5.6) and compiled into an :class:`ObjectPattern` (see
:mod:`streamkit.local.filters.matching`). Anything AWS would reject raises
:class:`FilterError`, naming the filter, the problem and where in the pattern.
"""

from __future__ import annotations

from typing import Any, Final, TypeGuard

import orjson

from streamkit.errors import StreamkitError
from streamkit.local.filters.matching import (
    NumericRange,
    ObjectPattern,
    ValueList,
    comparable_number,
    number_text,
)

#: Longest pattern string accepted, in characters (spec 0.1, 5.1).
MAX_PATTERN_LENGTH: Final = 4096
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
#: The only top-level key a Kinesis ESM pattern may have (spec 5.4).
DATA_KEY: Final = "data"


class FilterError(StreamkitError, ValueError):
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


def type_name(value: object) -> str:
    """The JSON type of a parsed value, as error messages name it."""
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


class ValueListBuilder:
    """Mutable accumulator for one value list; frozen into a :class:`ValueList`."""

    def __init__(self) -> None:
        self.strings: set[str] = set()
        #: ``true``, ``false`` and ``null`` entries of the list.
        self.literals: set[bool | None] = set()
        self.number_keys: set[int] = set()
        self.number_texts: set[str] = set()
        self.prefixes: list[str] = []
        self.suffixes: list[str] = []
        self.ignore_case_lowered: set[str] = set()
        self.ranges: list[NumericRange] = []
        self.anything_but_strings: list[frozenset[str]] = []
        self.anything_but_numbers: list[frozenset[int]] = []
        self.exists_true = False
        self.exists_false = False

    def build(self) -> ValueList:
        return ValueList(
            strings=frozenset(self.strings),
            match_true=True in self.literals,
            match_false=False in self.literals,
            match_null=None in self.literals,
            number_keys=frozenset(self.number_keys),
            number_texts=frozenset(self.number_texts),
            prefixes=tuple(self.prefixes),
            suffixes=tuple(self.suffixes),
            ignore_case_lowered=frozenset(self.ignore_case_lowered),
            ranges=tuple(self.ranges),
            anything_but_strings=tuple(self.anything_but_strings),
            anything_but_numbers=tuple(self.anything_but_numbers),
            exists_true=self.exists_true,
            exists_false=self.exists_false,
        )


class PatternCompiler:
    """Compiles one parsed pattern; every error names the filter ``index``."""

    def __init__(self, index: int) -> None:
        self.index = index

    def fail(self, detail: str, path: str) -> FilterError:
        return FilterError(detail, index=self.index, path=path)

    # ---- objects

    def object_pattern(
        self, obj: dict[str, Any], path: str, *, root: bool, in_or: bool
    ) -> ObjectPattern:
        if not obj:
            raise self.fail("empty objects are not allowed", path)
        value_lists: list[tuple[str, ValueList]] = []
        nested: list[tuple[str, ObjectPattern]] = []
        or_groups: list[tuple[ObjectPattern, ...]] = []
        for key, value in obj.items():
            if key == _OR:
                or_groups.append(self.or_group(value, path, root=root))
                continue
            if root and key != DATA_KEY:
                raise self.fail(
                    f"key {key!r} is not filterable: Kinesis ESMs filter only on 'data' "
                    "(spec 5.4; metadata filtering is unsupported, 9.4)",
                    path,
                )
            if in_or and key in _RESERVED_IN_OR:
                raise self.fail(f"{key!r} is a reserved word and cannot be a key inside $or", path)
            child_path = _join(path, key)
            if isinstance(value, dict):
                nested.append(
                    (key, self.object_pattern(value, child_path, root=False, in_or=in_or))
                )
            elif isinstance(value, list):
                value_lists.append((key, self.value_list(value, child_path)))
            else:
                hint = (
                    ' (operators go inside an array, e.g. [{"prefix": "x"}])'
                    if key in _RESERVED_IN_OR
                    else ""
                )
                raise self.fail(
                    f"value of {key!r} must be an array or an object, got {type_name(value)}; "
                    f"leaf values must be arrays (spec 5.6){hint}",
                    child_path,
                )
        matches_absent = (
            all(value_list.exists_false for _, value_list in value_lists)
            and all(child.matches_absent for _, child in nested)
            and all(any(branch.matches_absent for branch in group) for group in or_groups)
        )
        return ObjectPattern(tuple(value_lists), tuple(nested), tuple(or_groups), matches_absent)

    def or_group(self, value: Any, path: str, *, root: bool) -> tuple[ObjectPattern, ...]:
        # 5.6: "$or" takes an array of at least 2 objects.
        or_path = _join(path, _OR)
        if not isinstance(value, list) or len(value) < 2:
            got = f"{len(value)} element(s)" if isinstance(value, list) else type_name(value)
            raise self.fail(f"$or must be an array of at least 2 objects, got {got}", or_path)
        branches: list[ObjectPattern] = []
        for position, branch in enumerate(value):
            branch_path = f"{or_path}[{position}]"
            if not isinstance(branch, dict):
                raise self.fail(
                    f"$or elements must be objects, got {type_name(branch)}", branch_path
                )
            branches.append(self.object_pattern(branch, branch_path, root=root, in_or=True))
        return tuple(branches)

    # ---- value lists

    def value_list(self, values: list[Any], path: str) -> ValueList:
        if not values:
            raise self.fail("empty arrays are not allowed", path)
        builder = ValueListBuilder()
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
                    f"operator objects, got {type_name(value)}",
                    item_path,
                )
        return builder.build()

    @staticmethod
    def add_number(builder: ValueListBuilder, value: int | float) -> None:
        # 5.6 decision: literal text and numeric equality, like event-ruler.
        key = comparable_number(value)
        if key is None:
            builder.number_texts.add(number_text(value))
        else:
            builder.number_keys.add(key)

    def operator(self, builder: ValueListBuilder, expression: dict[str, Any], path: str) -> None:
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
                    f"{name} needs a string, got {type_name(argument)} (spec 5.6)", path
                )
            if name == "prefix":
                builder.prefixes.append(argument)
            elif name == "suffix":
                builder.suffixes.append(argument)
            else:
                builder.ignore_case_lowered.add(argument.lower())
        elif name == "exists":
            if not isinstance(argument, bool):
                raise self.fail(f"exists needs true or false, got {type_name(argument)}", path)
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
                f"numeric: value after {operator!r} must be a number, got {type_name(value)}",
                path,
            )
        key = comparable_number(value)
        if key is None:
            raise self.fail(
                f"numeric: {value!r} is outside the supported range -5e9..5e9 (spec 5.6)", path
            )
        return key

    def numeric(self, builder: ValueListBuilder, argument: object, path: str) -> None:
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
                builder.ranges.append(NumericRange(None, False, first, operator == "<"))
            else:
                builder.ranges.append(NumericRange(first, operator == ">", None, False))
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
        builder.ranges.append(NumericRange(first, operator == ">", second, upper == "<"))

    def anything_but(self, builder: ValueListBuilder, argument: object, path: str) -> None:
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
            builder.anything_but_strings.append(frozenset(strings))
        elif len(numbers) == len(items):
            keys: set[int] = set()
            for item in numbers:
                key = comparable_number(item)
                if key is None:
                    raise self.fail(
                        f"anything-but: {item!r} is outside the supported range "
                        "-5e9..5e9 (spec 5.6)",
                        path,
                    )
                keys.add(key)
            builder.anything_but_numbers.append(frozenset(keys))
        else:
            kinds = sorted({type_name(item) for item in items})
            raise self.fail(
                f"anything-but values must be all strings or all numbers, got {', '.join(kinds)}",
                path,
            )


def _dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # pragma: no cover - values come from orjson.loads
        return repr(value)


def compile_pattern(pattern: str, index: int) -> ObjectPattern:
    compiler = PatternCompiler(index)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise compiler.fail(
            f"pattern is {len(pattern)} characters, more than the maximum of "
            f"{MAX_PATTERN_LENGTH} (spec 0.1)",
            "",
        )
    try:
        document = orjson.loads(pattern)
    except orjson.JSONDecodeError as exc:
        raise compiler.fail(f"pattern is not valid JSON ({exc}) (spec 0.4)", "") from None
    if not isinstance(document, dict):
        raise compiler.fail(
            f"pattern must be a JSON object, got {type_name(document)} (spec 0.4)", ""
        )
    return compiler.object_pattern(document, "", root=True, in_or=False)
