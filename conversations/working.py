"""The assessment a chat works on: the year, its framework, its questionnaire, loaded once.

Every screen of the assessment starts from `require` (or `require_editable` before a change),
so "the chat has no assessment" and "it is no longer editable" are answered in one place (the
engine turns `NoAssessment` into the menu and `Locked` into the read-only status).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import NamedTuple

from conversations.context import Ctx
from conversations.questionnaire import Questionnaire
from conversations.screen import Locked, NoAssessment
from rubric.answers import Answer
from rubric.loader import all_frameworks, kind, load_framework
from rubric.model import Framework
from storage.base import EDITABLE, Assessment, Unit


def default_year(today: date) -> int:
    """The year being assessed: reports of a year are written up to the end of its next Q1."""
    return today.year - 1 if today.month <= 3 else today.year


def framework_for(year: int, level: str) -> Framework | None:
    """The framework in force for `year`, preferring the one written for the unit's level."""
    matching = [fw for fw in all_frameworks() if year in fw.years]
    for fw in matching:
        if fw.unit_level in (None, level):
            return fw
    return matching[0] if matching else None


def questionnaire(unit: Unit, assessment: Assessment) -> Questionnaire:
    return _questionnaire(assessment.framework_id, unit.kind)


@cache
def _questionnaire(framework_id: str, kind_id: str) -> Questionnaire:
    """One questionnaire per framework and kind: it is immutable, and every turn needs it."""
    return Questionnaire(load_framework(framework_id), kind(kind_id))


class Working(NamedTuple):
    """The unit, the assessment this chat works on, and its questionnaire."""

    unit: Unit
    assessment: Assessment
    q: Questionnaire

    @classmethod
    def of(cls, unit: Unit, assessment: Assessment) -> Working:
        """An assessment of `unit` with its questionnaire (one not loaded from a chat)."""
        return cls(unit, assessment, questionnaire(unit, assessment))


async def load(ctx: Ctx) -> Working | None:
    unit = await ctx.unit()
    assessment = await ctx.assessment()
    if unit is None or assessment is None:
        return None
    return Working(unit, assessment, questionnaire(unit, assessment))


async def require(ctx: Ctx) -> Working:
    """The chat's working assessment; NoAssessment (the engine shows the menu) when it has none."""
    loaded = await load(ctx)
    if loaded is None:
        raise NoAssessment
    return loaded


async def require_editable(ctx: Ctx) -> Working:
    """The working assessment, if it may still change (draft or returned); else Locked."""
    loaded = await require(ctx)
    if loaded.assessment.status not in EDITABLE:
        raise Locked
    return loaded


async def answers_of(ctx: Ctx, assessment: Assessment, q: Questionnaire) -> dict[str, Answer]:
    return q.decode(await ctx.tx.answers(assessment.id))


async def working_year(ctx: Ctx) -> int:
    """The year this chat works on: its open (editable) assessment's, else the unit's most
    recently touched unfinished one (of any year: a colleague resumes 2023 in 2026), else the
    default year."""
    assessment = await ctx.assessment()
    if assessment is not None and assessment.status in EDITABLE:
        return assessment.year
    open_ = await unfinished(ctx)
    return open_[0].year if open_ else default_year(ctx.today)


def _touched(assessment: Assessment) -> tuple[float, int]:
    moment = assessment.updated_at or assessment.created_at
    return (moment.timestamp() if moment is not None else 0.0, assessment.id)


async def unfinished(ctx: Ctx) -> list[Assessment]:
    """The unit's assessments still in work (draft or returned), of every year, the most
    recently touched first."""
    if ctx.chat.unit_id is None:
        return []
    unit = [ctx.chat.unit_id]
    found = [a for status in EDITABLE for a in await ctx.tx.assessments_with_status(unit, status)]
    return sorted(found, key=_touched, reverse=True)


SUBMITTED = ("submitted", "approved", "returned")


async def latest_submission(ctx: Ctx) -> Assessment | None:
    """The unit's most recently submitted assessment, whatever became of it since (waiting for
    the leader, approved, or returned to be corrected)."""
    if ctx.chat.unit_id is None:
        return None
    unit = [ctx.chat.unit_id]
    found = [
        a
        for status in SUBMITTED
        for a in await ctx.tx.assessments_with_status(unit, status)
        if a.submitted_at is not None
    ]
    return max(found, key=lambda a: (a.submitted_at, a.id), default=None)


async def in_progress(ctx: Ctx) -> bool:
    """True when the chat's assessment is editable and partly answered."""
    loaded = await load(ctx)
    if loaded is None or loaded.assessment.status not in EDITABLE:
        return False
    _, assessment, q = loaded
    return len(q.unanswered(await answers_of(ctx, assessment, q))) < len(q)
