"""The result of an assessment: computed here and nowhere else, and said in words.

`standing` is the one place that scores an assessment's answers: as fixed at submission once it
is submitted (so a leader, the supervisors and the unit all see the same), else as of today.
The unit's result screen, the review, the report and its summary, the leader's approval and the
supervisors' overview all read it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from conversations.questionnaire import Questionnaire
from conversations.working import Working
from rubric.answers import Answer, Counts, NotApplicable, Score, YesNo
from rubric.levels import LevelsResult
from rubric.scoring import PointsResult, RecognitionResult, Result
from storage.base import EDITABLE, Assessment, Unit
from templates.formatting import format_percent
from templates.report import level_label
from templates.text import render, t


def describe(q: Questionnaire, code: str, answer: Answer, level: int = 1) -> str:
    """An answer in words: "7/10 điểm", "31/32 = 96,9% (đạt, yêu cầu tối thiểu 90%)", judged
    against the requirement of mức độ `level`."""
    spec = q.specs[code]
    match answer:
        case Score(points):
            return t("answer_text.score", points=points, max=spec.maximum)
        case Counts():
            indicator = q.framework.indicator(spec.indicator.code)
            threshold = indicator.at_level(level).for_kind(q.kind).threshold or Decimal(0)
            return t(
                "answer_text.counts",
                achieved=answer.achieved,
                total=answer.total,
                percent=format_percent(answer.fraction),
                met=answer.meets(threshold),
                threshold=format_percent(threshold),
            )
        case YesNo(met):
            return t("answer_text.yes" if met else "answer_text.no")
        case NotApplicable():
            return t("answer_text.na")
    raise TypeError(answer)


class Standing(NamedTuple):
    """An assessment's result at the level the unit asks, and its judgement at every level
    (None for a points framework or one with a single level)."""

    result: Result
    levels: LevelsResult | None

    @property
    def level(self) -> int:
        """The mức độ the result was judged at (1 for points frameworks)."""
        return result_level(self.result)

    @property
    def submitted_level(self) -> int | None:
        """The level recorded with a submission: the mức độ asked, None for points."""
        return self.result.level if isinstance(self.result, RecognitionResult) else None


def standing(work: Working, answers: Mapping[str, Answer], today: date) -> Standing:
    """The result at the level the unit asks: as fixed at submission once submitted (so a
    leader, the supervisors and the unit all see the same), else as of `today`.

    The only place an assessment is scored: compute it once per turn and pass it on.
    """
    unit, assessment, q = work
    if assessment.status not in EDITABLE and assessment.submitted_on is not None:
        return Standing(*q.standing(answers, unit, assessment.submitted_on, assessment.level))
    return Standing(*q.standing(answers, unit, today))


def result_level(result: Result) -> int:
    """The mức độ a result was judged at (1 for points frameworks)."""
    return result.level if isinstance(result, RecognitionResult) else 1


def result_text(q: Questionnaire, assessment: Assessment, standing: Standing) -> str:
    """The result screen: total and classification, or each chỉ tiêu and recognition (at the
    level the unit asks, with what mức độ 2 needs or when it becomes possible)."""
    result = standing.result
    name = "result_points.j2" if isinstance(result, PointsResult) else "result_recognition.j2"
    return render(
        name,
        result=result,
        levels=standing.levels,
        year=assessment.year,
        framework=q.framework,
        level_label=level_label(q.framework, assessment.year),
        describe=lambda code, answer: describe(q, code, answer, standing.level),
    )


def needs_decision(
    q: Questionnaire, unit: Unit, answers: Mapping[str, Answer], today: date
) -> bool:
    """Mức độ 2 is met but the unit was never asked for its mức độ 1 decision."""
    if unit.level1_decision_number is not None:
        return False
    levels = q.levels(answers, unit, today)
    return levels is not None and levels.highest_level == 2
