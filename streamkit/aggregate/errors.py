"""The errors aggregation raises: both are dead letters, never a blocked shard."""

from __future__ import annotations

from streamkit.errors import PermanentError


class InvalidValueError(PermanentError, ValueError):
    """A record's value cannot be aggregated (NaN, infinite, too precise, not a number,
    not JSON). A :class:`~streamkit.PermanentError`: raised in a handler, the record is
    dead-lettered with reason ``bad_value`` instead of blocking the shard."""

    reason = "bad_value"


class PrecisionError(PermanentError, ArithmeticError):
    """A merged sum is not exactly representable in 2,000 digits (sums of DynamoDB
    numbers never get there: they need at most about 300). Raised instead of rounding;
    in a handler the record is dead-lettered with reason ``precision``."""

    reason = "precision"
