"""Number formatting the Vietnamese way: decimal comma, one decimal, rounded half up."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

VIETNAM = timezone(timedelta(hours=7))  # the units' dates: a report, a submission, today


def percent_value(fraction: Fraction) -> Decimal:
    """`fraction` as a percentage with one decimal, rounded half up (31/32 -> 96.9)."""
    exact = Decimal(fraction.numerator * 100) / Decimal(fraction.denominator)
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_number(value: Decimal | int | float) -> str:
    """A number with a decimal comma and no useless trailing zero ("96,9", "90")."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text.replace(".", ",")


def format_percent(value: Fraction | Decimal | int | float) -> str:
    """A percentage for people.

    A measured fraction shows one decimal, rounded half up, and none when it is zero, as real
    reports write them (31/32 -> "96,9%", 14/20 -> "70%", 32/32 -> "100%"); a threshold from
    the rubric shows as written (90 -> "90%"). The decision never uses this text: it compares
    the exact fraction.
    """
    if isinstance(value, Fraction):
        return format_number(percent_value(value)) + "%"
    return format_number(value) + "%"
