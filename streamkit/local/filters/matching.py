"""Matching a parsed record payload against compiled filter patterns (spec 5.6).

The compiled form is built by :mod:`streamkit.local.filters.patterns`: one
:class:`ObjectPattern` per pattern object, holding a :class:`ValueList` per leaf
key. Matching follows event-ruler where Lambda's docs are silent; the package
docstring (:mod:`streamkit.local.filters`) lists each rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

# event-ruler ComparableNumber: numbers in -5e9..5e9, 6 decimal places (spec 5.6).
_FIVE_BILLION: Final = 5e9
_SCALE: Final = 1e6


class _Missing:
    """Type of :data:`MISSING`."""

    __slots__ = ()


#: Stands for "no value at this key" (distinct from a JSON ``null``).
MISSING: Final = _Missing()


def comparable_number(value: int | float) -> int | None:
    """event-ruler's comparable form of a number, or None outside -5e9..5e9 (spec 5.6)."""
    try:
        as_float = float(value)
    except OverflowError:
        return None
    if -_FIVE_BILLION <= as_float <= _FIVE_BILLION:
        # Java's (long) cast truncates; the operand is >= 0 so int() does the same.
        return int(_SCALE * (_FIVE_BILLION + as_float))
    return None


def number_text(value: int | float) -> str:
    """Text of a parsed JSON number, for exact match outside the numeric range."""
    return str(value) if type(value) is int else repr(value)


def _leaf_values(values: list[Any]) -> Iterator[Any]:
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


def _objects_in(values: list[Any]) -> list[dict[str, Any]]:
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
class NumericRange:
    """A ``numeric`` condition on comparable numbers; ``None`` bounds are unbounded."""

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
class ValueList:
    """The compiled value list of one pattern key: its entries are OR-ed (spec 5.6)."""

    strings: frozenset[str] = frozenset()
    match_true: bool = False
    match_false: bool = False
    match_null: bool = False
    #: Exact numbers in comparable form (see :func:`comparable_number`).
    number_keys: frozenset[int] = frozenset()
    #: Exact numbers outside the comparable range, as text (see :func:`number_text`).
    number_texts: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    #: ``equals-ignore-case`` operands, lower-cased.
    ignore_case_lowered: frozenset[str] = frozenset()
    ranges: tuple[NumericRange, ...] = ()
    #: One set per ``anything-but`` of strings.
    anything_but_strings: tuple[frozenset[str], ...] = ()
    #: One set per ``anything-but`` of numbers, in comparable form.
    anything_but_numbers: tuple[frozenset[int], ...] = ()
    exists_true: bool = False
    exists_false: bool = False

    def matches(self, value: Any) -> bool:
        """Whether the event value at this key (or ``MISSING``) satisfies the list."""
        kind = type(value)
        if kind is list:
            present = False
            for item in _leaf_values(value):
                present = True
                if self.exists_true or self._matches_scalar(item):
                    return True
            # A present leaf value rules exists:false out; [] has none (spec 5.6).
            return not present and self.exists_false
        if value is MISSING or kind is dict:
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
            if self.ignore_case_lowered and value.lower() in self.ignore_case_lowered:
                return True
            if self.anything_but_numbers:
                return True  # a string is never one of the excluded numbers
            return any(value not in excluded for excluded in self.anything_but_strings)
        if kind is int or kind is float:
            key = comparable_number(value)
            if key is None:
                if self.number_texts and number_text(value) in self.number_texts:
                    return True
            else:
                if key in self.number_keys:
                    return True
                for numeric in self.ranges:
                    if numeric.contains(key):
                        return True
            if self.anything_but_strings:
                return True  # a number is never one of the excluded strings
            return any(key is None or key not in excluded for excluded in self.anything_but_numbers)
        # true / false / null (orjson yields nothing else for a scalar)
        if value is True:
            hit = self.match_true
        elif value is False:
            hit = self.match_false
        else:
            hit = self.match_null
        return hit or bool(self.anything_but_strings) or bool(self.anything_but_numbers)


@dataclass(frozen=True, slots=True)
class ObjectPattern:
    """A compiled pattern object: every key must match (AND), each ``$or`` group once."""

    value_lists: tuple[tuple[str, ValueList], ...]
    nested: tuple[tuple[str, ObjectPattern], ...]
    or_groups: tuple[tuple[ObjectPattern, ...], ...]
    #: Whether the pattern matches where the event has no object at all (absent
    #: key, scalar, ``[]``): true only if every condition is satisfiable by absence.
    matches_absent: bool

    def matches(self, obj: dict[str, Any]) -> bool:
        for key, value_list in self.value_lists:
            if not value_list.matches(obj.get(key, MISSING)):
                return False
        for key, child in self.nested:
            value = obj.get(key, MISSING)
            kind = type(value)
            if kind is dict:
                if not child.matches(value):
                    return False
            elif kind is list:
                candidates = _objects_in(value)
                if candidates:
                    # Array-consistent: one element must satisfy the whole sub-pattern.
                    if not any(child.matches(item) for item in candidates):
                        return False
                elif not child.matches_absent:
                    return False
            elif not child.matches_absent:
                return False
        return all(any(branch.matches(obj) for branch in group) for group in self.or_groups)
