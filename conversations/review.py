"""Reading back: every answer with the running result (and editing one), and the read-only
status of a submitted or approved assessment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.narratives import section_named
from conversations.questions import before, go_next
from conversations.results import describe, result_level, result_text, standing
from conversations.screen import Screen, action, show
from conversations.working import Working, answers_of, require
from rubric.answers import Answer
from rubric.scoring import PointsResult
from storage.base import EDITABLE, AnswerRecord
from templates.report import SECTION_KEYS
from templates.text import render, t


def review_text(
    loaded: Working, answers: Mapping[str, Answer], records: Mapping[str, AnswerRecord], today: date
) -> str:
    """Every answer with the running result (the review screen's body)."""
    _, assessment, q = loaded
    result = standing(loaded, answers, today).result
    return render(
        "review.j2",
        q=q,
        result=result,
        answers=answers,
        records=records,
        describe=lambda code, answer: describe(q, code, answer, result_level(result)),
        points=isinstance(result, PointsResult),
        year=assessment.year,
        missing=q.unanswered(answers),
        editable=assessment.status in EDITABLE,
    )


class Review(Screen):
    """Every answer and part III; a code or a section's name opens it to be changed. Once
    submitted it is read-only, and says how to have it returned."""

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        _, assessment, q = loaded
        records = await ctx.tx.answers(assessment.id)
        answers = q.decode(records)
        text = review_text(loaded, answers, records, ctx.today)
        if assessment.status not in EDITABLE:
            text += "\n\n" + t("review.read_only", status=t(f"status.{assessment.status}"))
            return ctx.prompt(text, [Option(t("status.menu"), "o:menu")])
        stored = await ctx.tx.narratives(assessment.id)
        own = [key for key, (_, draft) in stored.items() if not draft]
        sections = [  # not numbered: the numbered choices follow right below
            t("review.section", section=t(f"report.section.{key}"), own=key in own)
            for key in SECTION_KEYS
        ]
        text += "\n\n" + t("review.part_three", sections=sections)
        options = [Option(t("review.continue"), "o:continue")]
        if not q.unanswered(answers):
            options.append(Option(t("review.finish"), "o:finish"))
        options.append(action("pause"))
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await require(ctx)
        if value == "o:continue":
            return await go_next(ctx, before(loaded.q, loaded.assessment.cursor))
        if value == "o:finish":
            return [await show(ctx, Mode.CONFIRM_SUBMIT)]
        if value == "o:menu":
            return [await show(ctx, Mode.MENU)]
        if value == "a:pause":
            return [Reply(t("pause.done")), await show(ctx, Mode.MENU)]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await require(ctx)
        if loaded.assessment.status not in EDITABLE:
            return [Reply(t("status.locked")), await self.prompt(ctx)]
        typed = text.strip()
        for prefix in ("sửa ", "sua "):
            if typed.casefold().startswith(prefix):
                typed = typed[len(prefix) :]
        section = section_named(typed)
        if section is not None:
            return [await show(ctx, Mode.NARRATIVE, section=section, then="review")]
        code = loaded.q.resolve_code(typed)
        if code is None:
            return [
                Reply(t("review.unknown_code", typed=text.strip()[:20])),
                await self.prompt(ctx),
            ]
        return [await show(ctx, Mode.ASK, code=code)]


class Status(Screen):
    """A submitted or approved assessment: read-only result."""

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        _, assessment, q = loaded
        answers = await answers_of(ctx, assessment, q)
        text = t("status.text", year=assessment.year, status=t(f"status.{assessment.status}"))
        text += "\n\n" + result_text(q, assessment, standing(loaded, answers, ctx.today))
        return ctx.prompt(text, [Option(t("status.menu"), "o:menu")])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:menu":
            return [await show(ctx, Mode.MENU)]
        return await super().on_choice(ctx, value)
