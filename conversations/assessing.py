"""The assessment itself: menu, resume, each question, evidence, review, result and submission.

Every accepted answer is written through the transaction the engine commits before any reply
leaves, and belongs to the unit's assessment, so any member of the unit continues where the unit
stopped.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from conversations import leaders
from conversations.context import Ctx, Option
from conversations.decision import DecisionError, parse_decision
from conversations.events import Choice, ChoiceKind, IncomingFile, OutgoingFile, Reply
from conversations.questionnaire import Questionnaire
from conversations.screen import Locked, NoAssessment, Screen, register, show
from rubric.answers import (
    Answer,
    AnswerError,
    Counts,
    NotApplicable,
    Score,
    YesNo,
    encode,
    parse_answer,
)
from rubric.levels import LevelsResult
from rubric.loader import all_frameworks, kind, load_framework
from rubric.model import AnswerKind, Applicability, Framework
from rubric.scoring import PointsResult, RecognitionResult, Result
from storage.base import EDITABLE, AnswerRecord, Assessment, Unit
from templates.formatting import format_percent
from templates.report import (
    SECTION_KEYS,
    Narrative,
    Narratives,
    ReportData,
    draft_message,
    draft_narratives,
    render_report,
    summary_text,
)
from templates.text import render, t


@cache
def _action(name: str) -> Option:
    return Option(t(f"action.{name}"), f"a:{name}", ChoiceKind.ACTION, t(f"word.{name}"))


@cache
def _scores(maximum: int) -> tuple[Option, ...]:
    """The score buttons, highest first."""
    return tuple(Option(str(n), f"s:{n}", ChoiceKind.SCORE) for n in range(maximum, -1, -1))


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


async def _loaded(ctx: Ctx) -> Working | None:
    unit = await ctx.unit()
    assessment = await ctx.assessment()
    if unit is None or assessment is None:
        return None
    return Working(unit, assessment, questionnaire(unit, assessment))


async def _require(ctx: Ctx) -> Working:
    """The chat's working assessment; NoAssessment (the engine shows the menu) when it has none."""
    loaded = await _loaded(ctx)
    if loaded is None:
        raise NoAssessment
    return loaded


async def _require_editable(ctx: Ctx) -> Working:
    """The working assessment, if it may still change (draft or returned); else Locked."""
    loaded = await _require(ctx)
    if loaded.assessment.status not in EDITABLE:
        raise Locked
    return loaded


async def _answers(ctx: Ctx, assessment: Assessment, q: Questionnaire) -> dict[str, Answer]:
    return q.decode(await ctx.tx.answers(assessment.id))


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


async def working_year(ctx: Ctx) -> int:
    """The year this chat works on: its open (editable) assessment's, else the default year."""
    assessment = await ctx.assessment()
    if assessment is not None and assessment.status in EDITABLE:
        return assessment.year
    return default_year(ctx.today)


async def in_progress(ctx: Ctx) -> bool:
    """True when the chat's assessment is editable and partly answered."""
    loaded = await _loaded(ctx)
    if loaded is None or loaded.assessment.status not in EDITABLE:
        return False
    _, assessment, q = loaded
    return len(q.unanswered(await _answers(ctx, assessment, q))) < len(q)


async def open_assessment(ctx: Ctx, year: int) -> list[Reply]:
    """Start or resume the unit's assessment of `year` (one per unit, framework and year)."""
    unit = await ctx.unit()
    if unit is None:
        return [await show(ctx, "start")]
    framework = framework_for(year, unit.level)
    if framework is None:
        return [Reply(t("assess.no_framework", year=year)), await show(ctx, "menu")]
    assessment = await ctx.tx.get_assessment(unit.id, framework.id, year)
    if assessment is None:
        assessment = await ctx.tx.create_assessment(unit.id, framework.id, year)
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
        return [intro, await show(ctx, "prefill", previous=offer.id)]
    if assessment.status not in EDITABLE:
        return [await show(ctx, "status")]
    answers = await _answers(ctx, assessment, q)
    if len(q.unanswered(answers)) == len(q):
        return [intro, await show(ctx, "ask", code=q.codes[0])]
    return [await show(ctx, "resume")]


async def _previous(ctx: Ctx, unit: Unit, year: int, q: Questionnaire) -> Assessment | None:
    """The unit's assessment of the year before, if it answered questions asked again now."""
    previous = (await ctx.tx.assessments_of_units([unit.id], year - 1)).get(unit.id)
    if previous is None:
        return None
    records = await ctx.tx.answers(previous.id)
    return (
        previous if any(r.value is not None and c in q.specs for c, r in records.items()) else None
    )


@register
class Prefill(Screen):
    """A new year's assessment may start from last year's answers, each offered for review."""

    mode = "prefill"

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
        loaded = await _require_editable(ctx)
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
    loaded = await _require(ctx)
    return await show(ctx, "ask", code=loaded.q.codes[0])


async def go_next(ctx: Ctx, after: str | None) -> list[Reply]:
    """The next unanswered question after `after`, or the result when everything is answered."""
    loaded = await _require(ctx)
    _, assessment, q = loaded
    answers = await _answers(ctx, assessment, q)
    code = q.next_unanswered(after, answers)
    if code is None:  # all answered: the result first, then part III's drafts, then submit
        unit = loaded.unit
        if needs_decision(q, unit, answers, ctx.today):
            return [await show(ctx, "level1_decision", then="result")]
        stored = await ctx.tx.narratives(assessment.id)
        if all(key in stored for key in SECTION_KEYS):
            return [await show(ctx, "confirm_submit")]
        result = Reply(result_text(q, assessment, *standing(ctx, loaded, answers)))
        return [result, await show(ctx, "confirm_submit")]
    if after is not None and after in q.specs and q.position(code) <= q.position(after):
        missing = q.unanswered(answers)  # wrapped around: say why we go back
        notice = Reply(t("ask.back_to_skipped", count=len(missing), codes=", ".join(missing)))
        return [notice, await show(ctx, "ask", code=code)]
    return [await show(ctx, "ask", code=code)]


@register
class Menu(Screen):
    mode = "menu"

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        if unit is None:
            return await show(ctx, "start")
        year = await working_year(ctx)
        framework = framework_for(year, unit.level)
        existing = framework and await ctx.tx.get_assessment(unit.id, framework.id, year)
        status = existing.status if existing else None
        options = [Option(t("menu.assess", year=year, status=status), "o:assess")]
        if await leaders.pending_reviews(ctx):
            options.append(Option(t("menu.review"), "o:review"))
        if any(u.supervises for u in await leaders.units_where(ctx, "supervisor")):
            options.append(Option(t("menu.overview"), "o:overview"))
        options += [
            Option(t("menu.details"), "o:details"),
            Option(t("menu.invite"), "o:invite"),
            Option(t("menu.help"), "o:help"),
        ]
        status_text = t(f"status.{status}") if status else None
        comment = existing.return_comment if existing and status == "returned" else None
        text = t("menu.text", unit=unit.name, year=year, status_text=status_text, comment=comment)
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        unit = await ctx.unit()
        if value == "o:assess":
            return await open_assessment(ctx, await working_year(ctx))
        if value == "o:details":
            return [await show(ctx, "details", field=0)]
        if value == "o:invite" and unit is not None:
            return [await show(ctx, "invite_role")]
        if value == "o:review":
            return await leaders.review_command(ctx, "")
        if value == "o:overview":
            from conversations import overview

            return await overview.overview_command(ctx, "")
        if value == "o:help":
            return [Reply(t("help")), await self.prompt(ctx)]
        return await super().on_choice(ctx, value)


@register
class Resume(Screen):
    mode = "resume"

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await _require(ctx)
        _, assessment, q = loaded
        answers = await _answers(ctx, assessment, q)
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
            Option(t("resume.restart"), "o:restart"),
        ]
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await _require(ctx)
        if value == "o:continue":
            return await go_next(ctx, _before(loaded.q, loaded.assessment.cursor))
        if value == "o:review":
            return [await show(ctx, "review")]
        if value == "o:restart":
            return [await show(ctx, "confirm_restart")]
        return await super().on_choice(ctx, value)


def _before(q: Questionnaire, code: str | None) -> str | None:
    """The code just before `code`, so that "next unanswered after it" may be `code` itself."""
    if code is None or code not in q.specs:
        return None
    return q.previous(code) or q.codes[-1]


@register
class ConfirmRestart(Screen):
    mode = "confirm_restart"

    async def prompt(self, ctx: Ctx) -> Reply:
        options = [Option(t("restart.yes"), "o:yes"), Option(t("restart.no"), "o:no")]
        assessment = await ctx.assessment()
        year = assessment.year if assessment else default_year(ctx.today)
        return ctx.prompt(t("restart.ask", year=year), options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await _require_editable(ctx) if value == "o:yes" else await _require(ctx)
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
            return [Reply(t("restart.done")), await show(ctx, "ask", code=q.codes[0])]
        if value == "o:no":
            return [await show(ctx, "resume")]
        return await super().on_choice(ctx, value)


NAV = ("back", "skip", "review", "pause")


@register
class Ask(Screen):
    """One indicator (or one item of 3a): its text, maximum or threshold, and how to answer."""

    mode = "ask"

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await _require(ctx)
        if self._code(ctx) not in loaded.q.specs:
            return await show(ctx, "menu")
        _, assessment, q = loaded
        code = self._code(ctx)
        spec = q.specs[code]
        records = await ctx.tx.answers(assessment.id)
        record = records.get(code)
        current = q.decode_one(code, record.value) if record is not None else None
        options: list[Option] = []
        if spec.answer is AnswerKind.SCORE:
            options += _scores(spec.maximum or 0)
        elif spec.answer is AnswerKind.YES_NO:
            options += [
                Option(t("answer_choice.yes"), "o:yes"),
                Option(t("answer_choice.no"), "o:no"),
            ]
        if spec.applicability is Applicability.OPTIONAL:
            options.append(Option(t("answer_choice.na"), "o:na"))
        last_year = _prefilled(q, code, records)
        if current is None and last_year is not None:
            options.insert(
                0, Option(t("prefill.keep", answer=describe(q, code, last_year)), "o:keep")
            )
        options += [_action(name) for name in NAV]
        last = describe(q, code, last_year) if last_year and not current else None
        if last is None and current is None:  # a question not answered yet reads the same always
            if code not in q.texts:
                q.texts[code] = _question_text(q, code)
            return ctx.prompt(q.texts[code], options)
        text = _question_text(
            q,
            code,
            last_year=last,
            current=describe(q, code, current) if current else None,
            evidence=record.evidence if record is not None else "",
        )
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await _require(ctx)
        if value.startswith("a:"):
            return await navigate(ctx, value[2:], loaded.q, self._code(ctx))
        raw = {"o:yes": True, "o:no": False, "o:na": "na"}.get(value)
        if value.startswith("s:"):
            raw = value[2:]
        if value == "o:keep":
            records = await ctx.tx.answers(loaded.assessment.id)
            record = records.get(self._code(ctx))
            raw = record.prefill if record is not None else None
        if raw is None:
            return await super().on_choice(ctx, value)
        return await self._accept(ctx, raw, from_button=True)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        return await self._accept(ctx, text, from_button=False)

    async def _accept(self, ctx: Ctx, raw: object, *, from_button: bool) -> list[Reply]:
        loaded = await _require(ctx)
        unit, assessment, q = loaded
        if assessment.status not in EDITABLE:
            return [await show(ctx, "status")]
        code = self._code(ctx)
        try:
            answer = parse_answer(q.specs[code], raw)
        except AnswerError as exc:
            return [Reply(exc.message()), await self.prompt(ctx)]
        await ctx.tx.put_answer(assessment.id, code, encode(answer), ctx.person.id)
        await ctx.tx.log(
            "answer.saved",
            person_id=ctx.person.id,
            unit_id=unit.id,
            assessment_id=assessment.id,
            data={"code": code, "value": encode(answer)},
        )
        saved = Reply(
            t("ask.saved", code=code, answer=describe(q, code, answer)),
            replace_previous=from_button,
        )
        return [saved, await show(ctx, "evidence", code=code)]


def _question_text(
    q: Questionnaire,
    code: str,
    last_year: str | None = None,
    current: str | None = None,
    evidence: str = "",
) -> str:
    spec = q.specs[code]
    return render(
        "question.j2",
        last_year=last_year,
        k=q.position(code),
        n=len(q),
        criterion=q.criterion(code),
        spec=spec,
        items=spec.indicator.items,
        current=current,
        evidence=evidence,
    )


def _prefilled(q: Questionnaire, code: str, records: dict[str, AnswerRecord]) -> Answer | None:
    """Last year's answer offered for `code`, if it still fits this year's question."""
    record = records.get(code)
    if record is None or record.prefill is None:
        return None
    try:
        return parse_answer(q.specs[code], record.prefill)
    except AnswerError:
        return None


async def navigate(ctx: Ctx, action: str, q: Questionnaire, code: str) -> list[Reply]:
    """Back, skip, review or pause from a question."""
    if action == "back":
        previous = q.previous(code)
        if previous is None:
            return [Reply(t("ask.at_first")), await show(ctx, "ask", code=code)]
        return [await show(ctx, "ask", code=previous)]
    if action == "skip":
        return await _skip(ctx, q, code)
    if action == "review":
        return [await show(ctx, "review")]
    if action == "pause":
        return [Reply(t("pause.done")), await show(ctx, "menu")]
    return [Reply(t("error.stale_button")), await show(ctx, "ask", code=code)]


async def _skip(ctx: Ctx, q: Questionnaire, code: str) -> list[Reply]:
    """Leave `code` unanswered and go to the next unanswered question after it."""
    loaded = await _require(ctx)
    target = q.next_unanswered(code, await _answers(ctx, loaded.assessment, q))
    if target is None or target == code:
        return [Reply(t("ask.skip_last")), await show(ctx, "review")]
    return [await show(ctx, "ask", code=target)]


_LOOKS_LIKE_ANSWER = re.compile(r"^\s*\d+(\s*[/ ]\s*\d+)?\s*%?\s*$")


@register
class Evidence(Screen):
    """Optional evidence for the indicator just answered: text paragraphs, photos, documents."""

    mode = "evidence"

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        options = [_action("done"), _action("skip"), _action("back")]
        text = t("evidence.ask", code=self._code(ctx))
        last_year = await self._last_year(ctx)
        if last_year:
            options.insert(0, Option(t("prefill.reuse"), "o:reuse"))
            text += "\n\n" + t("prefill.evidence_offer", text=last_year[:1500])
        return ctx.prompt(text, options)

    async def _last_year(self, ctx: Ctx) -> str | None:
        """Last year's evidence for this indicator, if offered and not reused yet."""
        loaded = await _require(ctx)
        record = (await ctx.tx.answers(loaded.assessment.id)).get(self._code(ctx))
        if record is None or not record.prefill_evidence:
            return None
        return None if record.prefill_evidence in record.evidence else record.prefill_evidence

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:reuse":
            loaded = await _require_editable(ctx)
            last_year = await self._last_year(ctx)
            if last_year:
                code = self._code(ctx)
                await ctx.tx.append_evidence(loaded.assessment.id, code, last_year, ctx.person.id)
                return [Reply(t("evidence.saved", code=code)), await self.prompt(ctx)]
            return [await self.prompt(ctx)]
        if value in ("a:done", "a:skip"):
            return await go_next(ctx, self._code(ctx))
        if value == "a:back":
            return [await show(ctx, "ask", code=self._code(ctx))]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await _require_editable(ctx)
        unit, assessment, _ = loaded
        code = self._code(ctx)
        if _LOOKS_LIKE_ANSWER.match(text):  # a score typed too early is not evidence
            return [Reply(t("evidence.looks_like_answer", code=code)), await self.prompt(ctx)]
        records = await ctx.tx.answers(assessment.id)
        existing = records[code].evidence if code in records else ""
        if len(existing) + len(text) > ctx.settings.max_evidence_chars:
            return [
                Reply(t("evidence.too_long", max=ctx.settings.max_evidence_chars)),
                await self.prompt(ctx),
            ]
        await ctx.tx.append_evidence(assessment.id, code, text.strip(), ctx.person.id)
        await ctx.tx.log(
            "evidence.added",
            person_id=ctx.person.id,
            unit_id=unit.id,
            assessment_id=assessment.id,
            data={"code": code, "chars": len(text)},
        )
        return [Reply(t("evidence.saved", code=code)), await self.prompt(ctx)]

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> list[Reply]:
        loaded = await _require_editable(ctx)
        unit, assessment, _ = loaded
        code = self._code(ctx)
        limit = ctx.settings.max_file_bytes
        if file.size is not None and file.size > limit:
            return [
                Reply(t("evidence.file_too_big", mb=limit // (1024 * 1024))),
                await self.prompt(ctx),
            ]
        count = sum(1 for a in await ctx.tx.attachments(assessment.id) if a.code == code)
        if count >= ctx.settings.max_files_per_indicator:
            return [
                Reply(t("evidence.too_many_files", max=ctx.settings.max_files_per_indicator)),
                await self.prompt(ctx),
            ]
        await ctx.tx.add_attachment(
            assessment.id,
            code,
            file.kind,
            ctx.event.channel,
            file.file_ref,
            file.file_name,
            file.mime_type,
            file.size,
            ctx.person.id,
        )
        if file.caption:
            await ctx.tx.append_evidence(assessment.id, code, file.caption.strip(), ctx.person.id)
        await ctx.tx.log(
            "attachment.added",
            person_id=ctx.person.id,
            unit_id=unit.id,
            assessment_id=assessment.id,
            data={"code": code, "kind": file.kind},
        )
        return [
            Reply(t("evidence.file_saved", code=code, name=file.file_name or file.kind)),
            await self.prompt(ctx),
        ]


def result_text(
    q: Questionnaire, assessment: Assessment, result: Result, levels: LevelsResult | None = None
) -> str:
    """The result screen: total and classification, or each chỉ tiêu and recognition (at the
    level the unit asks, with what mức độ 2 needs or when it becomes possible)."""
    name = "result_points.j2" if isinstance(result, PointsResult) else "result_recognition.j2"
    return render(
        name,
        result=result,
        levels=levels,
        year=assessment.year,
        framework=q.framework,
        describe=lambda code, answer: describe(q, code, answer, result_level(result)),
    )


def result_level(result: Result) -> int:
    """The mức độ a result was judged at (1 for points frameworks)."""
    return result.level if isinstance(result, RecognitionResult) else 1


def standing(
    ctx: Ctx, loaded: Working, answers: dict[str, Answer]
) -> tuple[Result, LevelsResult | None]:
    """The result at the level the unit asks: as fixed at submission once submitted (so a
    leader, the supervisors and the unit all see the same), else as of today."""
    return standing_of(ctx, loaded.unit, loaded.assessment, loaded.q, answers)


def standing_of(
    ctx: Ctx, unit: Unit, assessment: Assessment, q: Questionnaire, answers: dict[str, Answer]
) -> tuple[Result, LevelsResult | None]:
    if assessment.status not in EDITABLE and assessment.submitted_on is not None:
        return q.standing(answers, unit, assessment.submitted_on, assessment.level)
    return q.standing(answers, unit, ctx.today)


def needs_decision(q: Questionnaire, unit: Unit, answers: dict[str, Answer], today: date) -> bool:
    """Mức độ 2 is met but the unit was never asked for its mức độ 1 decision."""
    if unit.level1_decision_number is not None:
        return False
    levels = q.levels(answers, unit, today)
    return levels is not None and levels.highest_level == 2


@register
class Review(Screen):
    mode = "review"

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await _require(ctx)
        _, assessment, q = loaded
        records = await ctx.tx.answers(assessment.id)
        answers = q.decode(records)
        result, _ = standing(ctx, loaded, answers)
        text = render(
            "review.j2",
            q=q,
            result=result,
            answers=answers,
            records=records,
            describe=lambda code, answer: describe(q, code, answer, result_level(result)),
            points=isinstance(result, PointsResult),
            year=assessment.year,
            missing=q.unanswered(answers),
        )
        options = [Option(t("review.continue"), "o:continue")]
        if not q.unanswered(answers):
            options.append(Option(t("review.finish"), "o:finish"))
        options.append(_action("pause"))
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await _require(ctx)
        if value == "o:continue":
            return await go_next(ctx, _before(loaded.q, loaded.assessment.cursor))
        if value == "o:finish":
            return [await show(ctx, "confirm_submit")]
        if value == "a:pause":
            return [Reply(t("pause.done")), await show(ctx, "menu")]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await _require(ctx)
        typed = text.strip()
        for prefix in ("sửa ", "sua "):
            if typed.casefold().startswith(prefix):
                typed = typed[len(prefix) :]
        code = loaded.q.resolve_code(typed)
        if code is None:
            return [
                Reply(t("review.unknown_code", typed=text.strip()[:20])),
                await self.prompt(ctx),
            ]
        return [await show(ctx, "ask", code=code)]


@register
class ConfirmSubmit(Screen):
    mode = "confirm_submit"

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await _require(ctx)
        _, assessment, q = loaded
        answers = await _answers(ctx, assessment, q)
        if q.unanswered(answers):
            return await show(ctx, "review")
        if needs_decision(q, loaded.unit, answers, ctx.today):
            return await show(ctx, "level1_decision", then="result")
        stored = await ctx.tx.narratives(assessment.id)
        missing = [key for key in SECTION_KEYS if key not in stored]
        if missing:
            return await show(ctx, "narrative", section=missing[0])
        text = result_text(q, assessment, *standing(ctx, loaded, answers))
        text += "\n\n" + t("submit.ask")
        options = [
            Option(t("submit.yes"), "o:submit"),
            Option(t("submit.review"), "o:review"),
            Option(t("submit.later"), "o:later"),
        ]
        return ctx.prompt(text, options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:review":
            return [await show(ctx, "review")]
        if value == "o:later":
            return [Reply(t("pause.done")), await show(ctx, "menu")]
        if value == "o:submit":
            return await submit(ctx)
        return await super().on_choice(ctx, value)


async def submit(ctx: Ctx) -> list[Reply]:
    """Mark the assessment submitted; send the summary and the report (.docx) in the chat."""
    loaded = await _require(ctx)
    unit, assessment, q = loaded
    answers = await _answers(ctx, assessment, q)
    if q.unanswered(answers):
        return [await show(ctx, "review")]
    if assessment.status not in EDITABLE:
        return [await show(ctx, "status")]
    result, _ = q.standing(answers, unit, ctx.today)
    level = result.level if isinstance(result, RecognitionResult) else None
    await ctx.tx.record_submission(assessment.id, ctx.person.id, ctx.today, level)
    await ctx.tx.log(
        "assessment.submitted",
        person_id=ctx.person.id,
        unit_id=unit.id,
        assessment_id=assessment.id,
        data={"level": level},
    )
    assessment = await ctx.tx.get_assessment_by_id(assessment.id) or assessment
    summary, report = await report_and_summary(ctx, unit, assessment)
    told = await leaders.announce_submission(ctx, unit, assessment, summary, report)
    heading = t("submit.done", unit=unit.name, year=assessment.year, who=ctx.person.display_name)
    choices: tuple[Choice, ...] = ()
    if await ctx.role_in(unit.id) == "leader":
        choices = leaders.decision_buttons(assessment)
    done = Reply(f"{heading}\n\n{summary}\n\n{told}", choices, (report,))
    return [done, await show(ctx, "menu")]


async def report_and_summary(
    ctx: Ctx, unit: Unit, assessment: Assessment
) -> tuple[str, OutgoingFile]:
    """The one-message summary and the report (.docx) of an assessment, from what is stored."""
    data = await report_data(ctx, unit, assessment, questionnaire(unit, assessment))
    folder = ctx.settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = t("report.file_name", year=assessment.year, unit=unit.id, id=assessment.id)
    path = render_report(data, folder / name)
    return summary_text(data), OutgoingFile(path, name, t("report.caption", year=assessment.year))


async def report_summary(ctx: Ctx, unit: Unit, assessment: Assessment) -> str:
    """The one-message summary of a submitted assessment (the leader's approval screen)."""
    q = questionnaire(unit, assessment)
    return summary_text(await report_data(ctx, unit, assessment, q))


async def report_data(ctx: Ctx, unit: Unit, assessment: Assessment, q: Questionnaire) -> ReportData:
    """Everything the report needs, with drafts for the sections the unit did not write; who
    submitted it and when, once it is submitted."""
    records = await ctx.tx.answers(assessment.id)
    answers = q.decode(records)
    stored = await ctx.tx.narratives(assessment.id)
    written = Narratives(
        **{
            key: Narrative(text, draft)
            for key, (text, draft) in stored.items()
            if key in SECTION_KEYS
        }
    )
    result, _ = standing_of(ctx, unit, assessment, q, answers)
    submitter = (
        await ctx.tx.get_person(assessment.submitted_by) if assessment.submitted_by else None
    )
    narratives = draft_narratives(
        q.framework,
        result,
        written,
        year=assessment.year,
        supervising_name=unit.supervising_name or "",
    )
    return ReportData(
        unit=unit,
        framework=q.framework,
        year=assessment.year,
        answers=answers,
        evidence={code: r.evidence for code, r in records.items() if r.evidence},
        narratives=narratives,
        submitted_by=submitter.display_name if submitter else "",
        submitted_at=assessment.submitted_at,
        level=result_level(result),
    )


@register
class NarrativeSection(Screen):
    """Section III drafted from the answers: staff accept the draft or type their own text."""

    mode = "narrative"

    def _section(self, ctx: Ctx) -> str:
        section = str(ctx.chat.data.get("section"))
        return section if section in SECTION_KEYS else SECTION_KEYS[0]

    async def _draft(self, ctx: Ctx) -> Narrative:
        loaded = await _require(ctx)
        data = await report_data(ctx, *loaded)
        return data.narratives.get(self._section(ctx))

    async def prompt(self, ctx: Ctx) -> Reply:
        draft = await self._draft(ctx)
        text = draft_message(self._section(ctx), draft) + "\n\n" + t("narrative.ask")
        return ctx.prompt(text, [Option(t("narrative.accept"), "o:accept"), _action("review")])

    async def _save(self, ctx: Ctx, text: str) -> list[Reply]:
        assessment = (await _require_editable(ctx)).assessment
        section = self._section(ctx)
        await ctx.tx.put_narrative(assessment.id, section, text, False, ctx.person.id)
        await ctx.tx.log(
            "narrative.saved",
            person_id=ctx.person.id,
            unit_id=assessment.unit_id,
            assessment_id=assessment.id,
            data={"section": section},
        )
        saved = Reply(t("narrative.saved", section=t(f"report.section.{section}")))
        return [saved, await show(ctx, "confirm_submit")]

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:accept":
            draft = await self._draft(ctx)
            return await self._save(ctx, draft.text)
        if value == "a:review":
            return [await show(ctx, "review")]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        if len(text) > ctx.settings.max_evidence_chars:
            return [
                Reply(t("evidence.too_long", max=ctx.settings.max_evidence_chars)),
                await self.prompt(ctx),
            ]
        return await self._save(ctx, text.strip())


@register
class Status(Screen):
    """A submitted or approved assessment: read-only result."""

    mode = "status"

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await _require(ctx)
        _, assessment, q = loaded
        answers = await _answers(ctx, assessment, q)
        text = t("status.text", year=assessment.year, status=t(f"status.{assessment.status}"))
        text += "\n\n" + result_text(q, assessment, *standing(ctx, loaded, answers))
        return ctx.prompt(text, [Option(t("status.menu"), "o:menu")])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:menu":
            return [await show(ctx, "menu")]
        return await super().on_choice(ctx, value)


@register
class Level1Decision(Screen):
    """The unit's mức độ 1 decision, asked once when its answers meet mức độ 2 (or /quyetdinh).

    Thông tư 24/2023 allows mức độ 2 only 12 months after mức độ 1; the number and date are kept
    with the unit, so the next year's assessment does not ask again.
    """

    mode = "level1_decision"

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        current = ""
        if unit is not None and unit.level1_decision_date is not None:
            current = t(
                "level1.current",
                number=unit.level1_decision_number or "",
                date=unit.level1_decision_date.strftime("%d/%m/%Y"),
            )
        options = [Option(t("level1.none"), "o:none"), _action("cancel")]
        return ctx.prompt(t("level1.ask", current=current), options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:none":
            return await self._save(ctx, "", None)
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        try:
            decision = parse_decision(text, ctx.today)
        except DecisionError as exc:
            return [Reply(t(f"level1.error.{exc.code}")), await self.prompt(ctx)]
        return await self._save(ctx, decision.number, decision.decided_on)

    async def _save(self, ctx: Ctx, number: str, decided_on: date | None) -> list[Reply]:
        unit = await ctx.unit()
        if unit is None:
            return [await show(ctx, "menu")]
        fields = {"level1_decision_number": number, "level1_decision_date": decided_on}
        await ctx.tx.update_unit(unit.id, fields)
        await ctx.tx.log(
            "unit.level1_decision",
            person_id=ctx.person.id,
            unit_id=unit.id,
            data={"number": number, "date": decided_on.isoformat() if decided_on else None},
        )
        saved = Reply(
            t("level1.saved", number=number, date=decided_on.strftime("%d/%m/%Y"))
            if decided_on
            else t("level1.saved_none")
        )
        if ctx.chat.data.get("then") == "result" and await _loaded(ctx) is not None:
            return [saved, *await go_next(ctx, None)]
        return [saved, await show(ctx, "menu")]
