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

from streamkit.local.filters.criteria import (
    DEFAULT_FILTER_QUOTA,
    MAX_FILTERS,
    FilterSet,
    compile_filters,
)
from streamkit.local.filters.patterns import ALLOWED_OPERATORS, MAX_PATTERN_LENGTH, FilterError

__all__ = [
    "ALLOWED_OPERATORS",
    "DEFAULT_FILTER_QUOTA",
    "MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "FilterError",
    "FilterSet",
    "compile_filters",
]
