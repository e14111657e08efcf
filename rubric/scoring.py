"""Scoring as pure functions: answers in, results out, every figure computed from the items.

Hand-written reports get the arithmetic wrong (a criterion stated as 38 whose items add up to 33);
here a subtotal is always the sum of what the unit answered, a composite indicator (3a) the sum of
its items, and a percentage chỉ tiêu is decided on the exact fraction, never on a rounded figure.
Partial answers are allowed so the chat can show subtotals "so far"; `complete` says when the
result is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rubric.answers import Answer, Counts, NotApplicable, Score, YesNo
from rubric.model import AnswerKind, Applicability, Framework, Indicator, Kind
from templates.formatting import format_percent, percent_value
from templates.text import t


class Status(StrEnum):
    """The judgement of a chỉ tiêu or tiêu chí under Thông tư 24/2023."""

    DAT = "đạt"
    KHONG_DAT = "không đạt"
    KHONG_AP_DUNG = "không áp dụng"


@dataclass(frozen=True, slots=True)
class ItemScore:
    code: str
    text: str
    max: int
    score: int | None  # None: not answered yet


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    code: str
    text: str
    max: int
    score: int  # what is answered so far (a composite: the sum of its answered items)
    complete: bool
    items: tuple[ItemScore, ...] = ()


@dataclass(frozen=True, slots=True)
class CriterionScore:
    code: str
    title: str
    max: int
    score: int
    complete: bool
    indicators: tuple[IndicatorScore, ...]


@dataclass(frozen=True, slots=True)
class PointsResult:
    framework_id: str
    criteria: tuple[CriterionScore, ...]
    total: int
    max_total: int
    classification: str | None  # None until every indicator is answered
    complete: bool

    def below_maximum(self) -> list[IndicatorScore]:
        """The answered indicators that did not get full marks (for "tồn tại, hạn chế")."""
        return [
            ind
            for criterion in self.criteria
            for ind in criterion.indicators
            if ind.complete and ind.score < ind.max
        ]


def _indicator_score(indicator: Indicator, answers: Mapping[str, Answer]) -> IndicatorScore:
    def points(code: str) -> int | None:
        answer = answers.get(code)
        return answer.points if isinstance(answer, Score) else None

    if indicator.items:
        items = tuple(ItemScore(i.code, i.text, i.max, points(i.code)) for i in indicator.items)
        answered = [item.score for item in items if item.score is not None]
        complete = len(answered) == len(items)
        return IndicatorScore(
            indicator.code, indicator.text, indicator.max or 0, sum(answered), complete, items
        )
    score = points(indicator.code)
    return IndicatorScore(
        indicator.code, indicator.text, indicator.max or 0, score or 0, score is not None
    )


def score_points(framework: Framework, answers: Mapping[str, Answer]) -> PointsResult:
    """Subtotals, total and classification of a points framework (TT 22/2020)."""
    criteria = []
    for criterion in framework.criteria:
        indicators = tuple(_indicator_score(ind, answers) for ind in criterion.indicators)
        criteria.append(
            CriterionScore(
                criterion.code,
                criterion.title,
                criterion.max or 0,
                sum(ind.score for ind in indicators),
                all(ind.complete for ind in indicators),
                indicators,
            )
        )
    total = sum(criterion.score for criterion in criteria)
    complete = all(criterion.complete for criterion in criteria)
    return PointsResult(
        framework.id,
        tuple(criteria),
        total,
        framework.max_total or 0,
        framework.classify(total) if complete else None,
        complete,
    )


@dataclass(frozen=True, slots=True)
class Judgement:
    """One chỉ tiêu for one unit: its wording for the unit's kind, the answer and the verdict."""

    code: str
    indicator: Indicator  # resolved for the unit's kind
    answer: Answer | None
    status: Status | None  # None: not answered yet

    @property
    def threshold(self) -> Decimal | None:
        return self.indicator.threshold

    @property
    def percent(self) -> Decimal | None:
        """The measured percentage, one decimal, rounded half up (for display only)."""
        return percent_value(self.answer.fraction) if isinstance(self.answer, Counts) else None

    @property
    def shortfall(self) -> int:
        """How many more people would have met the threshold (0 when met or not counts)."""
        if isinstance(self.answer, Counts) and self.threshold is not None:
            return self.answer.shortfall(self.threshold)
        return 0

    def gap(self) -> Shortfall | None:
        """What this chỉ tiêu lacks, in people where it counts them; None unless không đạt."""
        if self.status is not Status.KHONG_DAT:
            return None
        if isinstance(self.answer, Counts) and self.threshold is not None:
            message = t(
                "levels.gap_people",
                people=self.shortfall,
                subject=self.indicator.subject,
                achieving=self.indicator.achieving or t("levels.gap_achieving", code=self.code),
                threshold=format_percent(self.threshold),
            )
            return Shortfall(self.code, self.shortfall, message)
        return Shortfall(self.code, None, t("levels.gap_yes_no", text=self.indicator.text))


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A chỉ tiêu not met, and what it lacks: people for a counts one, else its requirement."""

    code: str
    people: int | None  # more achievers needed, the total unchanged; None: not a counts chỉ tiêu
    message: str  # "cần thêm 2 thành viên đạt danh hiệu “Lao động tiên tiến” để đạt 95%"


@dataclass(frozen=True, slots=True)
class CriterionJudgement:
    code: str
    title: str
    status: Status | None  # đạt only when every chỉ tiêu that applies is đạt
    judgements: tuple[Judgement, ...]


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    framework_id: str
    level: int
    unit_kind: str
    criteria: tuple[CriterionJudgement, ...]
    complete: bool

    @property
    def judgements(self) -> list[Judgement]:
        return [j for criterion in self.criteria for j in criterion.judgements]

    @property
    def unmet(self) -> list[str]:
        return [j.code for j in self.judgements if j.status is Status.KHONG_DAT]

    @property
    def recognised(self) -> bool:
        """Recognised only when complete and every chỉ tiêu that applies is đạt (Điều 8)."""
        return self.complete and not self.unmet

    @property
    def shortfalls(self) -> list[Shortfall]:
        """Every chỉ tiêu không đạt, in questionnaire order, with what it lacks."""
        return [gap for j in self.judgements if (gap := j.gap()) is not None]


def _status(indicator: Indicator, answer: Answer | None) -> Status | None:
    match answer:
        case None:
            return None
        case NotApplicable():
            return Status.KHONG_AP_DUNG
        case Counts() if indicator.answer is AnswerKind.COUNTS and indicator.threshold is not None:
            return Status.DAT if answer.meets(indicator.threshold) else Status.KHONG_DAT
        case YesNo(met):
            return Status.DAT if met else Status.KHONG_DAT
    raise ValueError(f"{indicator.code}: answer {answer!r} does not fit {indicator.answer}")


def _criterion_status(judgements: tuple[Judgement, ...]) -> Status | None:
    statuses = [j.status for j in judgements]
    if Status.KHONG_DAT in statuses:
        return Status.KHONG_DAT
    if None in statuses:
        return None
    if all(status is Status.KHONG_AP_DUNG for status in statuses):
        return Status.KHONG_AP_DUNG
    return Status.DAT


def _judgement(base: Indicator, kind: Kind, level: int, answers: Mapping[str, Answer]) -> Judgement:
    """One chỉ tiêu at one level. One set of answers serves every level, so a chỉ tiêu whose
    scope at this level leaves the unit out is không áp dụng whatever was answered for another
    level (cấp huyện 3.3 at mức độ 2 for a tổ chức kinh tế)."""
    at_level = base.at_level(level)
    indicator = at_level.for_kind(kind)
    answer = answers.get(indicator.code)
    if at_level.applicability(kind) is Applicability.NOT_APPLICABLE:
        answer = NotApplicable()
    return Judgement(indicator.code, indicator, answer, _status(indicator, answer))


def judge_recognition(
    framework: Framework, kind: Kind, answers: Mapping[str, Answer], level: int = 1
) -> RecognitionResult:
    """Each chỉ tiêu đạt / không đạt / không áp dụng at mức độ `level`, and recognition."""
    if level not in framework.levels:
        raise ValueError(f"{framework.id} has no level {level} (levels: {framework.levels})")
    criteria = []
    for criterion in framework.criteria:
        frozen = tuple(_judgement(base, kind, level, answers) for base in criterion.indicators)
        criteria.append(
            CriterionJudgement(criterion.code, criterion.title, _criterion_status(frozen), frozen)
        )
    complete = all(j.status is not None for c in criteria for j in c.judgements)
    return RecognitionResult(framework.id, level, kind.id, tuple(criteria), complete)


Result = PointsResult | RecognitionResult


def evaluate(
    framework: Framework, kind: Kind, answers: Mapping[str, Answer], level: int = 1
) -> Result:
    """The result of `answers` under `framework`, whichever method it uses (a points framework
    has no levels: `level` is for recognition ones, mức độ 1 unless said)."""
    if framework.method == "points":
        return score_points(framework, answers)
    return judge_recognition(framework, kind, answers, level)
