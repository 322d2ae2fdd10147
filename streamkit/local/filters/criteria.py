"""``FilterCriteria`` as a whole: validation of its shape and the compiled set (spec 5.1).

:func:`compile_filters` checks the AWS-shaped ``{"Filters": [{"Pattern": "<json>"}]}``
(at most :data:`MAX_FILTERS` filters, each an object with one ``Pattern`` string)
and compiles each pattern; :class:`FilterSet` delivers a record when any of them
matches its payload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from streamkit.local.filters.matching import ObjectPattern
from streamkit.local.filters.patterns import DATA_KEY, FilterError, compile_pattern, type_name

#: AWS's default quota of filters per ESM (spec 0.1, 5.1); informational.
DEFAULT_FILTER_QUOTA: Final = 5
#: Most filters accepted: the default quota of 5 raised to its maximum of 10 (spec 5.1).
MAX_FILTERS: Final = 10

# Bound once: FilterSet.matches runs for every record read.
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


@dataclass(frozen=True, slots=True)
class FilterSet:
    """Compiled ``FilterCriteria``: a record is delivered if any filter matches (spec 5.1).

    Build it with :func:`compile_filters`; it is immutable and safe to share.
    """

    #: The compiled patterns, in ``Filters`` order.
    _filters: tuple[ObjectPattern, ...] = ()
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
        event = {DATA_KEY: document}
        return any(pattern.matches(event) for pattern in self._filters)


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
    compiled: list[ObjectPattern] = []
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
                f"Pattern must be a JSON string, got {type_name(pattern)}", index=index
            )
        compiled.append(compile_pattern(pattern, index))
        patterns.append(pattern)
    return FilterSet(tuple(compiled), tuple(patterns))
