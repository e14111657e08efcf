"""The questionnaire of one framework for one kind of unit: order, navigation and answers.

Pure: built from the rubric, it knows which leaf codes the unit answers (chỉ tiêu whose scope
excludes the unit are left out and count as "không áp dụng"), where "next" and "back" lead, and
how stored answers decode into rubric answers for scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from rubric.answers import Answer, AnswerError, LeafSpec, NotApplicable, leaf_specs, parse_answer
from rubric.levels import LevelsResult, judge_levels
from rubric.model import Applicability, Criterion, Framework, Kind
from rubric.scoring import Result, evaluate
from storage.base import AnswerRecord, Unit

DECODED_KEPT = 20_000  # distinct (code, stored value) pairs kept decoded per questionnaire


@dataclass(frozen=True)
class Questionnaire:
    framework: Framework
    kind: Kind

    @cached_property
    def specs(self) -> dict[str, LeafSpec]:
        """Every leaf code asked of this unit, in order."""
        all_specs = leaf_specs(self.framework, self.kind)
        return {
            code: spec
            for code, spec in all_specs.items()
            if spec.applicability is not Applicability.NOT_APPLICABLE
        }

    @cached_property
    def not_applicable(self) -> list[str]:
        """Codes whose scope excludes this kind of unit: never asked, "không áp dụng"."""
        return [
            code
            for code, spec in leaf_specs(self.framework, self.kind).items()
            if spec.applicability is Applicability.NOT_APPLICABLE
        ]

    @cached_property
    def codes(self) -> list[str]:
        return list(self.specs)

    def __len__(self) -> int:
        return len(self.codes)

    def position(self, code: str) -> int:
        """1-based position of `code` ("k" of "k/N")."""
        return self.codes.index(code) + 1

    def criterion(self, code: str) -> Criterion:
        return self.framework.criterion_of(self.specs[code].indicator.code)

    def resolve_code(self, typed: str) -> str | None:
        """The leaf code a person typed ("2b", "3A5", "2.1"), if it is asked of this unit."""
        wanted = typed.strip().casefold().rstrip(".")
        return next((code for code in self.codes if code.casefold() == wanted), None)

    def decode(self, records: Mapping[str, AnswerRecord]) -> dict[str, Answer]:
        """Stored answers as rubric answers, with "không áp dụng" for what is not asked.

        Rows with evidence but no value yet are left out (unanswered).
        """
        answers: dict[str, Answer] = {code: NotApplicable() for code in self.not_applicable}
        for code, record in records.items():
            answer = self.decode_one(code, record.value)
            if answer is not None:
                answers[code] = answer
        return answers

    def decode_one(self, code: str, value: str | None) -> Answer | None:
        """The stored `value` of `code` as a rubric answer; None when unanswered, not asked, or
        no longer accepted by the rubric (then it counts as unanswered).

        Every turn decodes the assessment's answers to find where to go next; the same stored
        values recur across units (scores 0..10), so decoded answers (immutable) are kept.
        """
        if value is None or code not in self.specs:
            return None
        key = (code, value)
        if key not in self._decoded:
            if len(self._decoded) >= DECODED_KEPT:
                self._decoded.clear()
            try:
                self._decoded[key] = parse_answer(self.specs[code], value)
            except AnswerError:
                self._decoded[key] = None
        return self._decoded[key]

    @cached_property
    def _decoded(self) -> dict[tuple[str, str], Answer | None]:
        return {}

    @cached_property
    def texts(self) -> dict[str, str]:
        """Rendered texts of this questionnaire that depend on nothing else (the question of a
        code not answered yet): rendered once, shown on every turn that reaches the code."""
        return {}

    def unanswered(self, answers: Mapping[str, Answer]) -> list[str]:
        return [code for code in self.codes if code not in answers]

    def next_unanswered(self, after: str | None, answers: Mapping[str, Answer]) -> str | None:
        """The first unanswered code after `after`, wrapping around; None when all are answered."""
        start = self.codes.index(after) + 1 if after in self.specs else 0
        ordered = self.codes[start:] + self.codes[:start]
        return next((code for code in ordered if code not in answers), None)

    def previous(self, code: str) -> str | None:
        index = self.codes.index(code)
        return self.codes[index - 1] if index > 0 else None

    def result(self, answers: Mapping[str, Answer], level: int = 1) -> Result:
        return evaluate(self.framework, self.kind, answers, level)

    @property
    def has_levels(self) -> bool:
        """True for a recognition framework with mức độ 2 (Thông tư 24/2023)."""
        return self.framework.method == "recognition" and len(self.framework.levels) > 1

    def levels(
        self, answers: Mapping[str, Answer], unit: Unit, submitted_on: date
    ) -> LevelsResult | None:
        """The answers judged at every level, mức độ 2 allowed by the unit's mức độ 1 decision."""
        if not self.has_levels:
            return None
        return judge_levels(
            self.framework,
            self.kind,
            answers,
            submitted_on=submitted_on,
            level1_decision_date=unit.level1_decision_date,
            level1_decision_number=unit.level1_decision_number or "",
        )

    def standing(
        self,
        answers: Mapping[str, Answer],
        unit: Unit,
        submitted_on: date,
        level: int | None = None,
    ) -> tuple[Result, LevelsResult | None]:
        """The result at the level the unit asks recognition at (mức độ 1 when none is met),
        or at `level` when it was fixed at submission."""
        levels = self.levels(answers, unit, submitted_on)
        if levels is None:
            return self.result(answers, level or 1), None
        chosen = level or levels.requested_level or 1
        return levels.at(chosen), levels
