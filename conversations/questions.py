"""Answering: one question at a time (score, counts, yes/no), its evidence, and where next.

Every accepted answer is written through the transaction the engine commits before any reply
leaves, and belongs to the unit's assessment, so any member of the unit continues where the unit
stopped.
"""

from __future__ import annotations

import re
from functools import cache

from conversations.context import Ctx, Option
from conversations.events import ChoiceKind, IncomingFile, Reply
from conversations.modes import Mode
from conversations.questionnaire import Questionnaire
from conversations.results import describe, needs_decision, result_text, standing
from conversations.screen import Screen, action, show
from conversations.working import answers_of, require, require_editable
from rubric.answers import Answer, AnswerError, encode, parse_answer
from rubric.model import AnswerKind, Applicability
from storage.base import EDITABLE, AnswerRecord
from templates.report import SECTION_KEYS
from templates.text import render, t


@cache
def _scores(maximum: int) -> tuple[Option, ...]:
    """The score buttons, highest first."""
    return tuple(Option(str(n), f"s:{n}", ChoiceKind.SCORE) for n in range(maximum, -1, -1))


async def go_next(ctx: Ctx, after: str | None) -> list[Reply]:
    """The next unanswered question after `after`, or the result when everything is answered."""
    loaded = await require(ctx)
    _, assessment, q = loaded
    answers = await answers_of(ctx, assessment, q)
    code = q.next_unanswered(after, answers)
    if code is None:  # all answered: the result first, then part III's drafts, then submit
        unit = loaded.unit
        if needs_decision(q, unit, answers, ctx.today):
            return [await show(ctx, Mode.LEVEL1_DECISION, then="result")]
        stored = await ctx.tx.narratives(assessment.id)
        if all(key in stored for key in SECTION_KEYS):
            return [await show(ctx, Mode.CONFIRM_SUBMIT)]
        result = Reply(result_text(q, assessment, standing(loaded, answers, ctx.today)))
        return [result, await show(ctx, Mode.CONFIRM_SUBMIT)]
    if after is not None and after in q.specs and q.position(code) <= q.position(after):
        missing = q.unanswered(answers)  # wrapped around: say why we go back
        notice = Reply(t("ask.back_to_skipped", count=len(missing), codes=", ".join(missing)))
        return [notice, await show(ctx, Mode.ASK, code=code)]
    return [await show(ctx, Mode.ASK, code=code)]


def before(q: Questionnaire, code: str | None) -> str | None:
    """The code just before `code`, so that "next unanswered after it" may be `code` itself."""
    if code is None or code not in q.specs:
        return None
    return q.previous(code) or q.codes[-1]


NAV = ("back", "skip", "review", "pause")


class Ask(Screen):
    """One indicator (or one item of 3a): its text, maximum or threshold, and how to answer."""

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        if self._code(ctx) not in loaded.q.specs:
            return await show(ctx, Mode.MENU)
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
        options += [action(name) for name in NAV]
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
        loaded = await require(ctx)
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
        loaded = await require(ctx)
        unit, assessment, q = loaded
        if assessment.status not in EDITABLE:
            return [await show(ctx, Mode.STATUS)]
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
        return [saved, await show(ctx, Mode.EVIDENCE, code=code)]


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
            return [Reply(t("ask.at_first")), await show(ctx, Mode.ASK, code=code)]
        return [await show(ctx, Mode.ASK, code=previous)]
    if action == "skip":
        return await _skip(ctx, q, code)
    if action == "review":
        return [await show(ctx, Mode.REVIEW)]
    if action == "pause":
        return [Reply(t("pause.done")), await show(ctx, Mode.MENU)]
    return [Reply(t("error.stale_button")), await show(ctx, Mode.ASK, code=code)]


async def _skip(ctx: Ctx, q: Questionnaire, code: str) -> list[Reply]:
    """Leave `code` unanswered and go to the next unanswered question after it."""
    loaded = await require(ctx)
    target = q.next_unanswered(code, await answers_of(ctx, loaded.assessment, q))
    if target is None or target == code:
        return [Reply(t("ask.skip_last")), await show(ctx, Mode.REVIEW)]
    return [await show(ctx, Mode.ASK, code=target)]


_LOOKS_LIKE_ANSWER = re.compile(r"^\s*\d+(\s*[/ ]\s*\d+)?\s*%?\s*$")


class Evidence(Screen):
    """Optional evidence for the indicator just answered: text paragraphs, photos, documents."""

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        options = [action("done"), action("skip"), action("back")]
        text = t("evidence.ask", code=self._code(ctx))
        last_year = await self._last_year(ctx)
        if last_year:
            options.insert(0, Option(t("prefill.reuse"), "o:reuse"))
            text += "\n\n" + t("prefill.evidence_offer", text=last_year[:1500])
        return ctx.prompt(text, options)

    async def _last_year(self, ctx: Ctx) -> str | None:
        """Last year's evidence for this indicator, if offered and not reused yet."""
        loaded = await require(ctx)
        record = (await ctx.tx.answers(loaded.assessment.id)).get(self._code(ctx))
        if record is None or not record.prefill_evidence:
            return None
        return None if record.prefill_evidence in record.evidence else record.prefill_evidence

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:reuse":
            loaded = await require_editable(ctx)
            last_year = await self._last_year(ctx)
            if last_year:
                code = self._code(ctx)
                await ctx.tx.append_evidence(loaded.assessment.id, code, last_year, ctx.person.id)
                return [Reply(t("evidence.saved", code=code)), await self.prompt(ctx)]
            return [await self.prompt(ctx)]
        if value in ("a:done", "a:skip"):
            return await go_next(ctx, self._code(ctx))
        if value == "a:back":
            return [await show(ctx, Mode.ASK, code=self._code(ctx))]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await require_editable(ctx)
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
        loaded = await require_editable(ctx)
        unit, assessment, _ = loaded
        code = self._code(ctx)
        limit = ctx.settings.max_file_bytes
        if (file.size is None and file.kind == "document") or (file.size or 0) < 0:
            # A size we cannot trust cannot be held to the limit: the file is fetched only
            # when the report is written, too late to refuse it then.
            mb = limit // (1024 * 1024)
            return [Reply(t("evidence.file_size_unknown", mb=mb)), await self.prompt(ctx)]
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
