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

    A measured fraction always shows one decimal (31/32 -> "96,9%", 16/32 -> "50,0%"), as the
    circular's figures are compared at that precision; a threshold from the rubric shows as
    written (90 -> "90%").
    """
    if isinstance(value, Fraction):
        return format(percent_value(value), "f").replace(".", ",") + "%"
    return format_number(value) + "%"
