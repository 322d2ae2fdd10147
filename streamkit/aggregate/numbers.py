"""Exact decimal numbers within DynamoDB's range: conversion, exact sums, total order.

A record's numbers are :class:`decimal.Decimal` with at most 38 significant digits
and within DynamoDB's range. Sums are exact with as many digits as they need (up to
2,000), so no grouping of the same records can give a different total; the stored
form of a sum that needs more than 38 digits is :func:`rounded` (the item codec keeps
the exact text beside it).
"""

from __future__ import annotations

import math
import re
from decimal import (
    ROUND_HALF_EVEN,
    Clamped,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Subnormal,
    Underflow,
)
from typing import Final

from streamkit.aggregate.errors import InvalidValueError, PrecisionError

#: DynamoDB numbers: 38 significant digits. The exponent range is the intersection of
#: DynamoDB's (1E-130 .. 9.99E+125) and boto3's serializer context (Emin -128).
MAX_DIGITS: Final = 38
MAX_EXPONENT: Final = 125
MIN_EXPONENT: Final = -128

#: Exact arithmetic: anything that would round, overflow or leave the range raises.
_EXACT_CONTEXT = Context(
    prec=MAX_DIGITS,
    Emax=MAX_EXPONENT,
    Emin=MIN_EXPONENT,
    rounding=ROUND_HALF_EVEN,
    traps=[Inexact, Overflow, InvalidOperation, Underflow, Subnormal, Clamped, DivisionByZero],
)
#: Sums are exact far beyond 38 digits (values of very different magnitudes, any
#: number of them): the stored ``sum`` is then rounded and ``sum_exact`` holds the
#: text, so whether a sum fits never depends on how the records were batched.
_SUM_CONTEXT = Context(
    prec=2000,
    Emax=100_000,
    Emin=-100_000,
    rounding=ROUND_HALF_EVEN,
    traps=[Inexact, Overflow, InvalidOperation, Underflow, Subnormal, Clamped, DivisionByZero],
)
_WIDE_ROUNDING_CONTEXT = Context(
    prec=MAX_DIGITS,
    Emax=100_000,
    Emin=-100_000,
    rounding=ROUND_HALF_EVEN,
    traps=[Overflow, InvalidOperation, DivisionByZero],
)
ZERO: Final = Decimal(0)
_DECIMAL_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def to_decimal(x: int | float | str | Decimal) -> Decimal:
    """Convert ``x`` to a Decimal exactly, or raise :class:`InvalidValueError` (a ValueError).

    Floats convert through ``repr`` (``0.1`` -> ``Decimal("0.1")``), strings must be plain
    decimal numbers. NaN, infinities, booleans, values needing more than 38 significant
    digits and values outside DynamoDB's range are rejected. Zero is always ``Decimal(0)``.

    >>> to_decimal(0.1) + to_decimal(0.2) == to_decimal("0.3")
    True
    >>> to_decimal(10**40)
    Decimal('1.0000000000000000000000000000000000000E+40')
    """
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, bool):
        raise InvalidValueError(f"{x!r} is a boolean, not a number")
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, float):
        if not math.isfinite(x):
            raise InvalidValueError(f"{x!r} is not a finite number")
        d = Decimal(repr(x))
    elif isinstance(x, str):
        if not _DECIMAL_NUMBER_TEXT.fullmatch(x):
            raise InvalidValueError(f"{x!r} is not a decimal number")
        d = Decimal(x)
    else:
        raise InvalidValueError(f"{x!r} is not a number")
    if not d.is_finite():
        raise InvalidValueError(f"{x!r} is not a finite number")
    if d.is_zero():
        return ZERO
    try:
        return _EXACT_CONTEXT.plus(d)
    except (Inexact, Overflow, Underflow, Subnormal, Clamped) as exc:
        raise InvalidValueError(
            f"{x!r} does not fit a DynamoDB number "
            f"({MAX_DIGITS} significant digits, magnitude 1E{MIN_EXPONENT}..1E+{MAX_EXPONENT + 1})"
        ) from exc


def exact_sum(a: Decimal, b: Decimal) -> Decimal:
    """``a + b`` exactly, with up to 2,000 digits (far more than any sum of DynamoDB
    numbers needs); :class:`PrecisionError` beyond that.

    >>> exact_sum(Decimal("1E+20"), Decimal("1E-18"))
    Decimal('100000000000000000000.000000000000000001')
    """
    try:
        total = _SUM_CONTEXT.add(a, b)
    except DecimalException as exc:
        raise PrecisionError(
            f"{a} + {b} is not exactly representable in 2000 digits", reason="precision"
        ) from exc
    return total


def rounded_quotient(dividend: Decimal, divisor: Decimal) -> Decimal:
    """``dividend / divisor`` rounded half-even to 38 significant digits (for derived
    values such as the mean, which are never merged)."""
    return _WIDE_ROUNDING_CONTEXT.divide(dividend, divisor)


def rounded(d: Decimal) -> Decimal | None:
    """``d`` rounded half-even to 38 significant digits, or None when that is outside
    DynamoDB's range (magnitude 1E-130 .. 9.99E+125, or zero): the stored form of a
    derived or over-precise number."""
    r = _WIDE_ROUNDING_CONTEXT.plus(d)
    if r.is_zero():
        return ZERO
    if not Decimal("1E-130") <= r.copy_abs() < Decimal("1E+126"):
        return None
    return r


# compare_total orders 1.0 and 1.00 too, so min/max are commutative bit for bit


def min_in_total_order(a: Decimal, b: Decimal) -> Decimal:
    """The smaller of ``a`` and ``b`` by :meth:`Decimal.compare_total`."""
    return a if a.compare_total(b) <= 0 else b


def max_in_total_order(a: Decimal, b: Decimal) -> Decimal:
    """The larger of ``a`` and ``b`` by :meth:`Decimal.compare_total`."""
    return a if a.compare_total(b) >= 0 else b
