"""The unit's home: its assessment of the working year, and what else the person may do."""

from __future__ import annotations

from conversations.approval import review_command
from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.opening import open_assessment
from conversations.overview import overview_command
from conversations.report_again import latest_submitted, report_command
from conversations.roles import pending_reviews, units_where
from conversations.screen import Screen, show
from conversations.working import (
    answers_of,
    default_year,
    framework_for,
    latest_submission,
    questionnaire,
    unfinished,
)
from storage.base import Assessment, Unit
from templates.text import t


class Menu(Screen):
    """The unit's home: every unfinished assessment (of any year), the year being assessed
    now, and the unit's latest submission with what became of it."""

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        if unit is None:
            return await show(ctx, Mode.START)
        year = default_year(ctx.today)
        framework = framework_for(year, unit.level)
        existing = framework and await ctx.tx.get_assessment(unit.id, framework.id, year)
        status = existing.status if existing else None
        open_ = await unfinished(ctx)
        options = [
            Option(t("menu.assess", year=a.year, status=a.status), f"o:year:{a.year}")
            for a in open_
        ]
        if not any(a.year == year for a in open_):
            options.append(Option(t("menu.assess", year=year, status=status), "o:assess"))
        if await pending_reviews(ctx):
            options.append(Option(t("menu.review"), "o:review"))
        if any(u.supervises for u in await units_where(ctx, "supervisor")):
            options.append(Option(t("menu.overview"), "o:overview"))
        if await latest_submitted(ctx.tx, unit.id) is not None:
            options.append(Option(t("menu.report"), "o:report"))
        options += [
            Option(t("menu.details"), "o:details"),
            Option(t("menu.invite"), "o:invite"),
            Option(t("menu.help"), "o:help"),
        ]
        returned = next((a for a in open_ if a.status == "returned"), None)
        submission = await latest_submission(ctx)
        text = t(
            "menu.text",
            unit=unit.name,
            year=year,
            status_text=t(f"status.{status}") if status else None,
            unfinished=[await _progress(ctx, unit, a) for a in open_ if a.year != year],
            comment=returned.return_comment if returned else None,
            submitted_year=submission.year if submission else None,
            submitted_state=t(f"menu.state.{submission.status}") if submission else None,
        )
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        unit = await ctx.unit()
        if value == "o:assess":
            return await open_assessment(ctx, default_year(ctx.today))
        if value.startswith("o:year:") and value[7:].isdecimal():
            return await open_assessment(ctx, int(value[7:]))
        if value == "o:details":
            return [await show(ctx, Mode.DETAILS, field=0)]
        if value == "o:invite" and unit is not None:
            return [await show(ctx, Mode.INVITE_ROLE)]
        if value == "o:review":
            return await review_command(ctx, "")
        if value == "o:overview":
            return await overview_command(ctx, "")
        if value == "o:report":
            return await report_command(ctx)
        if value == "o:help":
            return [Reply(t("help")), await self.prompt(ctx)]
        return await super().on_choice(ctx, value)


async def _progress(ctx: Ctx, unit: Unit, assessment: Assessment) -> str:
    """ "năm 2023: 8/17 câu" for the menu's list of unfinished assessments."""
    q = questionnaire(unit, assessment)
    answered = len(q) - len(q.unanswered(await answers_of(ctx, assessment, q)))
    return t("menu.progress", year=assessment.year, answered=answered, n=len(q))
