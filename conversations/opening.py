"""Opening a year's assessment: create or resume it, start from last year's answers, restart."""

from __future__ import annotations

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.questionnaire import Questionnaire
from conversations.questions import before, go_next, prefixed
from conversations.screen import Screen, show
from conversations.working import (
    Working,
    answers_of,
    default_year,
    framework_for,
    questionnaire,
    require,
    require_editable,
    unfinished,
)
from rubric.answers import AnswerError, parse_answer
from storage.base import EDITABLE, Assessment, Conflict, Duplicate, Unit
from templates.text import t


async def open_assessment(ctx: Ctx, year: int) -> list[Reply]:
    """Start or resume the unit's assessment of `year` (one per unit, framework and year)."""
    unit = await ctx.unit()
    if unit is None:
        return [await show(ctx, Mode.START)]
    framework = framework_for(year, unit.level)
    if framework is None:
        return [Reply(t("assess.no_framework", year=year)), await show(ctx, Mode.MENU)]
    assessment = await ctx.tx.get_assessment(unit.id, framework.id, year)
    if assessment is None:
        try:
            assessment = await ctx.tx.create_assessment(unit.id, framework.id, year)
        except Duplicate:  # a colleague's turn created it meanwhile (another worker): this
            raise Conflict("assessment created meanwhile") from None  # turn runs again, finds it
        await ctx.tx.log(
            "assessment.created",
            person_id=ctx.person.id,
            unit_id=unit.id,
            assessment_id=assessment.id,
            data={"framework": framework.id, "year": year},
        )
    ctx.chat.data["assessment_id"] = assessment.id
    q = questionnaire(unit, assessment)
    offer = None if await ctx.tx.answers(assessment.id) else await _previous(ctx, unit, year, q)
    intro = Reply(t("assess.intro", framework=framework.short_title, year=year, n=len(q)))
    if offer is not None:
        return [intro, await show(ctx, Mode.PREFILL, previous=offer.id)]
    if assessment.status not in EDITABLE:
        return [await show(ctx, Mode.STATUS)]
    answers = await answers_of(ctx, assessment, q)
    if len(q.unanswered(answers)) == len(q):  # the intro heads the first question: one message
        return [prefixed(intro.text, await show(ctx, Mode.ASK, code=q.codes[0]))]
    return [await show(ctx, Mode.RESUME)]


async def _previous(ctx: Ctx, unit: Unit, year: int, q: Questionnaire) -> Assessment | None:
    """The unit's assessment of the year before, if it answered questions asked again now."""
    previous = (await ctx.tx.assessments_of_units([unit.id], year - 1)).get(unit.id)
    if previous is None:
        return None
    records = await ctx.tx.answers(previous.id)
    return (
        previous if any(r.value is not None and c in q.specs for c, r in records.items()) else None
    )


class Prefill(Screen):
    """A new year's assessment may start from last year's answers, each offered for review."""

    async def prompt(self, ctx: Ctx) -> Reply:
        previous = await self._previous(ctx)
        if previous is None:
            return await _first_question(ctx)
        options = [Option(t("prefill.yes"), "o:yes"), Option(t("prefill.no"), "o:no")]
        return ctx.prompt(t("prefill.ask", year=previous.year), options)

    async def _previous(self, ctx: Ctx) -> Assessment | None:
        unit = await ctx.unit()
        previous_id = ctx.chat.data.get("previous")
        if unit is None or not isinstance(previous_id, int):
            return None
        previous = await ctx.tx.get_assessment_by_id(previous_id)
        return previous if previous is not None and previous.unit_id == unit.id else None

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value not in ("o:yes", "o:no"):
            return await super().on_choice(ctx, value)
        previous = await self._previous(ctx)
        loaded = await require_editable(ctx)
        copied = 0
        if value == "o:yes" and previous is not None:
            copied = await _copy_answers(ctx, previous, loaded)
        replies = [Reply(t("prefill.done", count=copied))] if value == "o:yes" else []
        return [*replies, await _first_question(ctx)]


async def _copy_answers(ctx: Ctx, previous: Assessment, loaded: Working) -> int:
    """Offer last year's answers that fit this year's questions; evidence as a marked draft."""
    old = await ctx.tx.answers(previous.id)
    copied = 0
    for code, spec in loaded.q.specs.items():
        record = old.get(code)
        if record is None or record.value is None:
            continue
        try:
            parse_answer(spec, record.value)
        except AnswerError:
            continue
        await ctx.tx.put_prefill(loaded.assessment.id, code, record.value, record.evidence)
        copied += 1
    await ctx.tx.log(
        "assessment.prefilled",
        person_id=ctx.person.id,
        unit_id=loaded.unit.id,
        assessment_id=loaded.assessment.id,
        data={"from": previous.id, "count": copied},
    )
    return copied


async def _first_question(ctx: Ctx) -> Reply:
    loaded = await require(ctx)
    return await show(ctx, Mode.ASK, code=loaded.q.codes[0])


class Resume(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        _, assessment, q = loaded
        answers = await answers_of(ctx, assessment, q)
        code = q.next_unanswered(assessment.cursor, answers)
        k = q.position(code) if code else len(q)
        answered = len(q) - len(q.unanswered(answers))
        comment = assessment.return_comment if assessment.status == "returned" else None
        text = t("resume.text", year=assessment.year, answered=answered, n=len(q), comment=comment)
        options = [
            Option(
                t("resume.continue", k=k, n=len(q)) if code else t("resume.finish"), "o:continue"
            ),
            Option(t("resume.review"), "o:review"),
        ]
        others = [a.year for a in await unfinished(ctx) if a.id != assessment.id]
        options += [Option(t("resume.other_year", year=year), f"o:year:{year}") for year in others]
        options.append(Option(t("resume.restart"), "o:restart"))
        if others:
            text += "\n" + t("resume.others", years=", ".join(map(str, others)))
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await require(ctx)
        if value == "o:continue":
            return await go_next(ctx, before(loaded.q, loaded.assessment.cursor))
        if value == "o:review":
            return [await show(ctx, Mode.REVIEW)]
        if value == "o:restart":
            return [await show(ctx, Mode.CONFIRM_RESTART)]
        if value.startswith("o:year:") and value[7:].isdecimal():
            return await open_assessment(ctx, int(value[7:]))
        return await super().on_choice(ctx, value)


class ConfirmRestart(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        options = [Option(t("restart.yes"), "o:yes"), Option(t("restart.no"), "o:no")]
        assessment = await ctx.assessment()
        year = assessment.year if assessment else default_year(ctx.today)
        return ctx.prompt(t("restart.ask", year=year), options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await require_editable(ctx) if value == "o:yes" else await require(ctx)
        _, assessment, q = loaded
        if value == "o:yes":
            await ctx.tx.clear_answers(assessment.id)
            await ctx.tx.set_cursor(assessment.id, None)
            await ctx.tx.log(
                "assessment.restarted",
                person_id=ctx.person.id,
                unit_id=assessment.unit_id,
                assessment_id=assessment.id,
            )
            return [Reply(t("restart.done")), await show(ctx, Mode.ASK, code=q.codes[0])]
        if value == "o:no":
            return [await show(ctx, Mode.RESUME)]
        return await super().on_choice(ctx, value)
