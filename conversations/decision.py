"""Reading a recognition decision as staff type it: "125/QĐ-UBND ngày 20/01/2024".

Thông tư 24/2023 allows mức độ 2 only 12 months after the unit's mức độ 1 decision, so the
assistant needs that decision's number and date. People write dates many ways (20/01/2024,
20-1-2024, "ngày 20 tháng 01 năm 2024", 2024-01-20); all are read, and anything ambiguous or
impossible is refused with the reason rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from rubric.answers import fold

_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)")
_WORDS = re.compile(r"(?<!\d)(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_FILLER = re.compile(r"^(quyet dinh|qd)?\s*(so)?\s*[:.]?\s*", re.IGNORECASE)
FIRST_YEAR = 2020


@dataclass(frozen=True, slots=True)
class Decision:
    number: str  # "125/QĐ-UBND"
    decided_on: date


class DecisionError(ValueError):
    """Why a typed decision was refused: `code` names the message in the templates."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_decision(text: str, today: date) -> Decision:
    """The decision's number and date, or DecisionError("no_date" | "bad_date" | "future" |
    "too_old" | "no_number")."""
    text = unicodedata.normalize("NFC", text)
    folded = _fold_each(text)  # same length as `text`: positions found here cut the original
    found = _find_date(folded)
    if found is None:
        raise DecisionError("no_date")
    start, end, (year, month, day) = found
    try:
        decided_on = date(year, month, day)
    except ValueError:
        raise DecisionError("bad_date") from None
    if decided_on > today:
        raise DecisionError("future")
    if decided_on.year < FIRST_YEAR:
        raise DecisionError("too_old")
    number = _number(text[:start] + " " + text[end:])
    if not any(ch.isdigit() for ch in number):
        raise DecisionError("no_number")
    return Decision(number, decided_on)


def _fold_each(text: str) -> str:
    """`text` lower-cased without diacritics, one character for each character."""
    return "".join(_plain(ch) for ch in text)


def _plain(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch.lower().replace("đ", "d"))[:1]
    return base if base and not unicodedata.combining(base) else " "


def _find_date(folded: str) -> tuple[int, int, tuple[int, int, int]] | None:
    for pattern, order in ((_ISO, (0, 1, 2)), (_DMY, (2, 1, 0)), (_WORDS, (2, 1, 0))):
        match = pattern.search(folded)
        if match:
            parts = [int(g) for g in match.groups()]
            ymd = (parts[order[0]], parts[order[1]], parts[order[2]])
            return match.start(), match.end(), ymd
    return None


_SYMBOL = re.compile(r"\d+\s*/\s*[^\s,;:]+")  # 125/QĐ-UBND, 07/2024/QĐ-SGDĐT


def _number(rest: str) -> str:
    """The decision's number from what is left once the date is cut out: the first "số/ký
    hiệu" when there is one (other words, "của UBND huyện", are not part of it)."""
    symbol = _SYMBOL.search(rest)
    if symbol is not None:
        return re.sub(r"\s+", "", symbol.group(0)).rstrip(".")[:100]
    words = rest.split()
    while words and fold(words[-1]).strip(",;:.") in ("ngay", ""):
        words.pop()
    number = " ".join(words).strip(" ,;:.")
    folded = fold(number)
    filler = _FILLER.match(folded)
    if filler:
        number = number[filler.end() :]
    return number.strip(" ,;:.")[:100]
