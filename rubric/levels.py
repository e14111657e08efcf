"""One set of answers judged at every mức độ at once, and whether mức độ 2 may be asked yet.

Thông tư 24/2023 recognises a unit at the highest level it meets ("đạt ở mức độ nào thì đề nghị
công nhận ở mức độ đó"), but mức độ 2 only at least 12 months after the unit's mức độ 1
decision. The two questions are kept apart: `highest_level` says what the answers meet,
`level2_eligible` what the calendar allows, and `requested_level` combines them for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from rubric.answers import Answer
from rubric.dates import add_months
from rubric.model import Framework, Kind
from rubric.scoring import RecognitionResult, Shortfall, judge_recognition
from templates.text import t

MONTHS_BEFORE_LEVEL2 = 12
"""Mức độ 2 is asked at least this many months after the mức độ 1 decision."""


@dataclass(frozen=True, slots=True)
class Level2Eligibility:
    """Whether mức độ 2 may be asked on `submitted_on`, and from which date it may."""

    eligible: bool
    possible_from: date | None  # the mức độ 1 decision + 12 months; None without a decision
    note: str  # one Vietnamese sentence saying why, or from which date (dd/mm/yyyy)


def _vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def level2_eligibility(
    decision_date: date | None, submitted_on: date, decision_number: str = ""
) -> Level2Eligibility:
    """Mức độ 2 is offered only when the unit's mức độ 1 decision is at least 12 months before
    the day the assessment is submitted: eligible iff `submitted_on` ≥ decision + 12 calendar
    months (29/02 + 12 months = 28/02, see `rubric.dates.add_months`). Without a decision date
    it is not eligible: nothing shows the unit holds mức độ 1."""
    if decision_date is None:
        return Level2Eligibility(False, None, t("levels.level2_no_decision"))
    possible = add_months(decision_date, MONTHS_BEFORE_LEVEL2)
    number = t("levels.decision_number", number=decision_number) if decision_number else ""
    params = {"number": number, "decided": _vn_date(decision_date), "possible": _vn_date(possible)}
    if submitted_on >= possible:
        return Level2Eligibility(True, possible, t("levels.level2_eligible", **params))
    return Level2Eligibility(False, possible, t("levels.level2_too_soon", **params))


@dataclass(frozen=True, slots=True)
class LevelsResult:
    """The unit's answers judged at every level of a recognition framework."""

    framework_id: str
    unit_kind: str
    results: tuple[RecognitionResult, ...]  # one per level of the framework, ascending
    level2: Level2Eligibility

    def at(self, level: int) -> RecognitionResult:
        """The result at mức độ `level`; KeyError when the framework has no such level."""
        for result in self.results:
            if result.level == level:
                return result
        raise KeyError(level)

    @property
    def highest_level(self) -> int | None:
        """The highest level these answers meet in full (None: not even mức độ 1).

        Each level is judged on its own chỉ tiêu, as Điều 7 and 13 list them in full.
        """
        met = [result.level for result in self.results if result.recognised]
        return max(met) if met else None

    @property
    def next_level(self) -> int | None:
        """The level above the highest met, which the shortfalls are about (None: at the top)."""
        levels = [result.level for result in self.results]
        above = [level for level in levels if level > (self.highest_level or 0)]
        return min(above) if above else None

    @property
    def shortfalls(self) -> list[Shortfall]:
        """What the unit lacks for the next level, chỉ tiêu by chỉ tiêu (empty at the top)."""
        return [] if self.next_level is None else self.at(self.next_level).shortfalls

    @property
    def level2_eligible(self) -> bool:
        return self.level2.eligible

    @property
    def level2_note(self) -> str:
        return self.level2.note

    @property
    def level2_from(self) -> date | None:
        return self.level2.possible_from

    @property
    def requested_level(self) -> int | None:
        """The level the unit asks recognition at: 2 when met at 2 and eligible, else 1 when
        met at 1, else None."""
        if self._met(2) and self.level2_eligible:
            return 2
        return 1 if self._met(1) else None

    def _met(self, level: int) -> bool:
        return any(r.level == level and r.recognised for r in self.results)


def judge_levels(
    framework: Framework,
    kind: Kind,
    answers: Mapping[str, Answer],
    *,
    submitted_on: date,
    level1_decision_date: date | None = None,
    level1_decision_number: str = "",
) -> LevelsResult:
    """`answers` judged at every level of a recognition `framework`, with mức độ 2 eligibility
    decided from the mức độ 1 decision and the day the assessment is submitted."""
    if framework.method != "recognition":
        raise ValueError(f"{framework.id} is not a recognition framework")
    results = tuple(judge_recognition(framework, kind, answers, n) for n in framework.levels)
    if 2 in framework.levels:
        level2 = level2_eligibility(level1_decision_date, submitted_on, level1_decision_number)
    else:
        level2 = Level2Eligibility(False, None, t("levels.level2_none"))
    return LevelsResult(framework.id, kind.id, results, level2)
