"""Answers: their types, how they are read from files or typed text, and how they are stored.

One parser serves the command line (YAML/JSON values) and the chat (typed text), so "31/32",
"31 32", "có", "không áp dụng" mean the same everywhere. A bad answer raises AnswerError with a
reason key and its figures; the Vietnamese wording lives in templates/messages.vi.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from rubric.model import AnswerKind, Applicability, Framework, Indicator, Item, Kind
from templates.text import t


@dataclass(frozen=True, slots=True)
class Score:
    """A whole score given by the unit (0..max)."""

    points: int


@dataclass(frozen=True, slots=True)
class Counts:
    """How many members (or learners) achieved a chỉ tiêu, of how many."""

    achieved: int
    total: int

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.achieved, self.total)

    def meets(self, threshold: Decimal) -> bool:
        """Decided on the exact fraction: 31/32 (96.875%) meets 90, 44/49 (89.8%) does not."""
        return self.fraction * 100 >= Fraction(threshold)

    def shortfall(self, threshold: Decimal) -> int:
        """How many more achievers are needed to meet `threshold` with the same total."""
        needed = -(-(Fraction(threshold) * self.total) // 100)  # ceiling
        return max(0, int(needed) - self.achieved)


@dataclass(frozen=True, slots=True)
class YesNo:
    """Đạt (met) or không đạt."""

    met: bool


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """The chỉ tiêu does not bind this unit (không áp dụng)."""


Answer = Score | Counts | YesNo | NotApplicable


class AnswerError(ValueError):
    """An answer that cannot be accepted; `reason` names the problem, `params` its figures."""

    def __init__(self, code: str, reason: str, **params: Any) -> None:
        self.code = code
        self.reason = reason
        self.params = params
        super().__init__(self.message())

    def message(self, **context: Any) -> str:
        """The one-line Vietnamese explanation, naming the indicator and the problem;
        `context` is what the asker adds (a chat: the numbers its choices are typed as)."""
        return t(f"answer.{self.reason}", code=self.code, **self.params, **context)


_NA_WORDS = {"na", "n/a", "không áp dụng", "kad", "k/a"}
_YES_WORDS = {"có", "co", "đạt", "dat", "yes", "true"}
_NO_WORDS = {"không", "khong", "không đạt", "khong dat", "chưa", "chưa đạt", "no", "false"}
_COUNTS = re.compile(r"^\s*(\d+)\s*(?:/|\s|trên|tren|của|cua)\s*(\d+)\s*$")
_PERCENT = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*%\s*$")
_SCORE_TEXT = re.compile(r"^([+-]?\d+)(?:\s*/\s*(\d+))?(?:\s*(?:điểm|diem))?$")  # 8, 8/10, 8 điểm


def normalise(text: str) -> str:
    """Typed text made comparable: Unicode NFC (phones type NFD too), lower case, one space."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def is_not_applicable(raw: object) -> bool:
    return isinstance(raw, str) and normalise(raw) in _NA_WORDS


def parse_score(code: str, raw: object, maximum: int) -> Score:
    """A whole score between 0 and `maximum`, from an int or its digits."""
    if isinstance(raw, bool):
        raise AnswerError(code, "score_not_number", max=maximum)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and (match := _SCORE_TEXT.match(normalise(raw))):
        if match.group(2) is not None and int(match.group(2)) != maximum:
            raise AnswerError(code, "score_wrong_scale", max=maximum)
        raw = int(match.group(1))
    if isinstance(raw, float) or (isinstance(raw, str) and re.match(r"^\s*\d+[.,]\d+\s*$", raw)):
        raise AnswerError(code, "score_not_whole", max=maximum)
    if not isinstance(raw, int):
        raise AnswerError(code, "score_not_number", max=maximum)
    if not 0 <= raw <= maximum:
        raise AnswerError(code, "score_out_of_range", value=raw, max=maximum)
    return Score(raw)


def parse_counts(code: str, raw: object) -> Counts:
    """Counts "31/32", "31 32", "31 trên 32" or a pair [31, 32]; never a bare percentage."""
    pair: tuple[object, ...] | None = None
    if isinstance(raw, list | tuple) and len(raw) == 2:
        pair = tuple(raw)
    elif isinstance(raw, str):
        if _PERCENT.match(raw):
            raise AnswerError(code, "percent_not_counts")
        match = _COUNTS.match(normalise(raw))
        pair = (int(match.group(1)), int(match.group(2))) if match else None
    if pair is None or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair):
        raise AnswerError(code, "counts_format")
    achieved, total = int(pair[0]), int(pair[1])  # type: ignore[call-overload]
    if total <= 0:
        raise AnswerError(code, "counts_zero_total")
    if achieved < 0:
        raise AnswerError(code, "counts_format")
    if achieved > total:
        raise AnswerError(code, "counts_above_total", achieved=achieved, total=total)
    return Counts(achieved, total)


def parse_yes_no(code: str, raw: object, *, na: bool = False) -> YesNo:
    """Đạt / không đạt from a boolean or a word (có, không, đạt, không đạt…); `na`: the
    chỉ tiêu may also be answered "không áp dụng" (the refusal then names it too)."""
    if isinstance(raw, bool):
        return YesNo(raw)
    if isinstance(raw, str):
        word = normalise(raw)
        if word in _YES_WORDS:
            return YesNo(True)
        if word in _NO_WORDS:
            return YesNo(False)
    raise AnswerError(code, "yes_no_format", na=na)


@dataclass(frozen=True, slots=True)
class LeafSpec:
    """What one answerable code expects, for a given unit kind."""

    code: str
    answer: AnswerKind
    maximum: int | None
    indicator: Indicator  # resolved for the unit's kind (variant wording and threshold)
    item: Item | None
    applicability: Applicability


_MOST_BINDING = (Applicability.REQUIRED, Applicability.OPTIONAL, Applicability.NOT_APPLICABLE)


def binding(framework: Framework, indicator: Indicator, kind: Kind) -> Applicability:
    """How `indicator` binds a unit of `kind` at the most binding of the framework's levels.

    One set of answers is judged at every level, so a chỉ tiêu is asked when it binds the unit at
    any level and "không áp dụng" is refused when it binds at one of them.
    """
    found = {indicator.at_level(level).applicability(kind) for level in framework.levels or [1]}
    return next(applicability for applicability in _MOST_BINDING if applicability in found)


_SPECS: dict[tuple[int, str], tuple[Framework, dict[str, LeafSpec]]] = {}


def leaf_specs(framework: Framework, kind: Kind) -> dict[str, LeafSpec]:
    """Every answerable code of `framework`, in questionnaire order, for a unit of `kind`.

    The wording is the lowest level's; the applicability covers every level (see `binding`).
    Frameworks are immutable, so the specs are worked out once per framework and kind (every
    answer in the chat needs them).
    """
    cached = _SPECS.get((id(framework), kind.id))
    if cached is not None and cached[0] is framework:
        return dict(cached[1])
    specs = _leaf_specs(framework, kind)
    _SPECS[(id(framework), kind.id)] = (framework, specs)
    return dict(specs)


def _leaf_specs(framework: Framework, kind: Kind) -> dict[str, LeafSpec]:
    specs: dict[str, LeafSpec] = {}
    for base in framework.indicators:
        indicator = base.for_kind(kind)
        applicability = binding(framework, base, kind)
        for item in indicator.items:
            specs[item.code] = LeafSpec(
                item.code, AnswerKind.SCORE, item.max, indicator, item, applicability
            )
        if not indicator.items:
            specs[indicator.code] = LeafSpec(
                indicator.code, indicator.answer, indicator.max, indicator, None, applicability
            )
    return specs


def parse_answer(spec: LeafSpec, raw: object) -> Answer:
    """The answer `raw` for the leaf `spec`, or AnswerError saying what is wrong."""
    if is_not_applicable(raw):
        if spec.applicability is Applicability.REQUIRED:
            raise AnswerError(spec.code, "na_not_allowed")
        return NotApplicable()
    if spec.answer is AnswerKind.SCORE:
        return parse_score(spec.code, raw, spec.maximum or 0)
    if spec.answer is AnswerKind.COUNTS:
        return parse_counts(spec.code, raw)
    return parse_yes_no(spec.code, raw, na=spec.applicability is Applicability.OPTIONAL)


def encode(answer: Answer) -> str:
    """The canonical stored form of an answer ("7", "31/32", "có", "không", "na")."""
    match answer:
        case Score(points):
            return str(points)
        case Counts(achieved, total):
            return f"{achieved}/{total}"
        case YesNo(met):
            return "có" if met else "không"
        case NotApplicable():
            return "na"
    raise TypeError(answer)


def to_plain(answer: Answer) -> int | str | bool | None:
    """The answer as the CLI's answers files write it (7, "31/32", true, "na")."""
    match answer:
        case Score(points):
            return points
        case Counts(achieved, total):
            return f"{achieved}/{total}"
        case YesNo(met):
            return met
        case NotApplicable():
            return "na"
    raise TypeError(answer)


def parse_answers(
    framework: Framework, kind: Kind, raw: dict[str, object], *, complete: bool = True
) -> dict[str, Answer]:
    """Validate a whole mapping of leaf code -> raw answer, in questionnaire order.

    Raises AnswerError for the first problem: an unknown or composite code, a bad value, or (when
    `complete`) a missing answer to an indicator that binds the unit. Codes whose indicator does not
    apply to the unit's kind are recorded as NotApplicable whatever they say.
    """
    specs = leaf_specs(framework, kind)
    for code in raw:
        if str(code) not in specs:
            composite = str(code) in {ind.code for ind in framework.indicators}
            raise AnswerError(str(code), "composite_code" if composite else "unknown_code")
    answers: dict[str, Answer] = {}
    for code, spec in specs.items():
        value = raw.get(code)
        if spec.applicability is Applicability.NOT_APPLICABLE:
            answers[code] = NotApplicable()
        elif value is None or value == "":
            if complete:
                raise AnswerError(code, "missing")
        else:
            answers[code] = parse_answer(spec, value)
    return answers


def fold(text: str) -> str:
    """`normalise`d text without diacritics ("Quay lại" -> "quay lai", "Hủy" -> "huy").

    People on phones without a Vietnamese keyboard type commands without accents; matching the
    folded forms accepts both.
    """
    if len(text) <= FOLD_CACHED_CHARS:
        return _fold_short(text)
    return _fold(text)


FOLD_CACHED_CHARS = 64  # labels and typed words recur every turn: kept folded; long text is not


@lru_cache(maxsize=8192)
def _fold_short(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", normalise(text).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
