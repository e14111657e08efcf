"""Submitting: the last check and the result, then the submission recorded, the leaders told
and the report sent."""

from __future__ import annotations

from conversations.approval import announce_submission, decision_buttons
from conversations.context import Ctx, Option
from conversations.events import Choice, Reply
from conversations.jobs import Recipient, queue_report
from conversations.modes import Mode
from conversations.narratives import figures, section_named
from conversations.outbox import command_choice
from conversations.questionnaire import Questionnaire
from conversations.reporting import recognising_settings, report_data
from conversations.results import needs_decision, result_text, standing
from conversations.review import review_text
from conversations.screen import Screen, show
from conversations.working import Working, answers_of, require, require_editable
from rubric.authorities import named_body
from storage.base import EDITABLE, UNIT_DETAIL_FIELDS, Unit
from templates.report import SECTION_KEYS, summary_text
from templates.text import t

# The details a sent report prints and leaves out when unknown (the header's issuing body and the
# recognising body have defaults; who signs for the head is often nobody).
REPORT_DETAILS = ("address", "phone", "email", "member_count", "place_name", "doc_symbol",
                  "signer_title", "signer_name")  # fmt: skip


def report_gaps(unit: Unit, addressee_known: bool = True) -> list[str]:
    """The report details the unit has not given: the report leaves them out, so they are
    listed before submission, where staff may fill them in or submit as it is. Under TT 24,
    `addressee_known` False: no body that recognises the unit is named (by the unit or its
    supervising unit), so the tờ trình would be addressed to a kind of body, not to one."""
    gaps = [] if addressee_known else ["recognising_body"]
    return gaps + [name for name in REPORT_DETAILS if getattr(unit, name) in (None, "")]


def _lower_first(label: str) -> str:
    """ "Cơ quan xét công nhận “Đơn vị học tập”" inside a sentence: only its first letter."""
    return label[:1].lower() + label[1:]


async def gaps_of(ctx: Ctx, unit: Unit, q: Questionnaire) -> list[str]:
    """`report_gaps` of `unit`, reading its supervising unit's setting under TT 24."""
    if q.framework.method != "recognition":
        return report_gaps(unit)
    above = await ctx.tx.get_unit(unit.supervisor_id) if unit.supervisor_id else None
    named = named_body(*recognising_settings(unit, above))
    return report_gaps(unit, addressee_known=named is not None)


class ConfirmSubmit(Screen):
    """The result, what part III will say, and the question to submit."""

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        _, assessment, q = loaded
        if assessment.status not in EDITABLE:  # submitted meanwhile (by a colleague)
            return await show(ctx, Mode.STATUS)
        answers = await answers_of(ctx, assessment, q)
        if q.unanswered(answers):
            return await show(ctx, Mode.REVIEW)
        if needs_decision(q, loaded.unit, answers, ctx.today):
            return await show(ctx, Mode.LEVEL1_DECISION, then="result")
        scored = standing(loaded, answers, ctx.today)
        text = result_text(q, assessment, scored)
        text += "\n\n" + await part_three(ctx, loaded, text)
        gaps = await gaps_of(ctx, loaded.unit, q)
        if gaps:
            labels = ", ".join(_lower_first(t(f"detail.{name}")) for name in gaps)
            text += "\n\n" + t("submit.missing_details", labels=labels)
        text += "\n\n" + t("submit.ask")
        options = [
            Option(t("submit.yes"), "o:submit"),
            Option(t("submit.part_three"), "o:narratives"),
            Option(t("submit.review"), "o:review"),
            Option(t("submit.later"), "o:later"),
        ]
        if gaps:  # last, so that the numbers people type for the others stay the same
            options.append(Option(t("submit.fill_details"), "o:details"))
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:review":
            return [await show(ctx, Mode.REVIEW)]
        if value == "o:narratives":
            first = SECTION_KEYS[0]
            return [await show(ctx, Mode.NARRATIVE, section=first, then="submit", walk=True)]
        if value == "o:later":
            return [Reply(t("pause.done")), await show(ctx, Mode.MENU)]
        if value == "o:submit":
            return await submit(ctx)
        if value == "o:details":
            loaded = await require(ctx)
            gaps = await gaps_of(ctx, loaded.unit, loaded.q)
            index = UNIT_DETAIL_FIELDS.index(gaps[0]) if gaps else 0
            return [await show(ctx, Mode.DETAILS, field=index)]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        section = section_named(text)
        if section is not None:
            await require_editable(ctx)
            return [await show(ctx, Mode.NARRATIVE, section=section, then="submit")]
        return await super().on_text(ctx, text)


async def part_three(ctx: Ctx, loaded: Working, shown: str) -> str:
    """Part III in one line per section (whose words, and how to change them), and a warning
    for each figure the unit's own text quotes that the answers no longer give."""
    _, assessment, q = loaded
    stored = await ctx.tx.narratives(assessment.id)
    records = await ctx.tx.answers(assessment.id)
    answers = q.decode(records)
    current = figures(shown) | figures(review_text(loaded, answers, records, ctx.today))
    lines = []
    for key in SECTION_KEYS:
        text, draft = stored.get(key, ("", True))
        own = key in stored and not draft
        name = t(f"report.section.{key}")
        lines.append(t("submit.section_own" if own else "submit.section_draft", section=name))
        stale = sorted(figures(text) - current) if own else []
        if stale:
            lines.append(t("submit.stale_figures", section=name, figures=", ".join(stale)))
    return t("submit.part_three_text", lines=lines)


async def submit(ctx: Ctx) -> list[Reply]:
    """Mark the assessment submitted; the summary now, the report (.docx) from a job after the
    commit, to this chat and to the leaders (who get the summary and its buttons at once).

    The result is scored once, as of today: that is the level recorded with the submission,
    and the same standing makes the report and the summary the leaders receive.
    """
    loaded = await require(ctx)
    unit, assessment, q = loaded
    answers = await answers_of(ctx, assessment, q)
    if q.unanswered(answers):
        return [await show(ctx, Mode.REVIEW)]
    if assessment.status not in EDITABLE:
        return [await show(ctx, Mode.STATUS)]
    scored = standing(loaded, answers, ctx.today)
    level = scored.submitted_level
    stored = await ctx.tx.narratives(assessment.id)
    for key in SECTION_KEYS:  # submitting with a draft accepts it (it follows the answers)
        if key not in stored:
            await ctx.tx.put_narrative(assessment.id, key, "", True, ctx.person.id)
    await ctx.tx.record_submission(assessment.id, ctx.person.id, ctx.today, level)
    await ctx.tx.log(
        "assessment.submitted",
        person_id=ctx.person.id,
        unit_id=unit.id,
        assessment_id=assessment.id,
        data={"level": level},
    )
    assessment = await ctx.tx.get_assessment_by_id(assessment.id) or assessment
    data = await report_data(ctx.tx, loaded._replace(assessment=assessment), ctx.today, scored)
    summary = summary_text(data)
    told, leaders = await announce_submission(ctx, unit, assessment, summary)
    here = Recipient(ctx.person.id, ctx.event.channel, ctx.event.chat_id)
    await queue_report(ctx.tx, assessment.id, [here, *leaders], ctx.event.channel)
    heading = t("submit.done", unit=unit.name, year=assessment.year, who=ctx.person.display_name)
    choices: tuple[Choice, ...] = (command_choice(t("report.again"), "baocao"),)
    if await ctx.role_in(unit.id) == "leader":
        choices = (*decision_buttons(assessment), *choices)
    preparing = t("report.preparing", year=assessment.year)
    done = Reply(f"{heading}\n\n{summary}\n\n{told}\n\n{preparing}", choices)
    return [done, await show(ctx, Mode.MENU)]
