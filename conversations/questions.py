"""Answering: one question at a time (score, counts, yes/no), its evidence, and where next.

Every accepted answer is written through the transaction the engine commits before any reply
leaves, and belongs to the unit's assessment, so any member of the unit continues where the unit
stopped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cache

from conversations.cleaning import word_form
from conversations.context import Ctx, Option
from conversations.events import ChoiceKind, IncomingFile, Reply
from conversations.modes import Mode
from conversations.questionnaire import Questionnaire
from conversations.results import describe, needs_decision
from conversations.screen import Screen, action, show
from conversations.working import Working, answers_of, require, require_editable
from rubric.answers import Answer, AnswerError, Counts, LeafSpec, encode, fold, parse_answer
from rubric.model import AnswerKind, Applicability
from storage.base import EDITABLE, AnswerRecord, Unit
from templates.text import render, t


@cache
def _scores(maximum: int) -> tuple[Option, ...]:
    """The score buttons, highest first."""
    return tuple(Option(str(n), f"s:{n}", ChoiceKind.SCORE) for n in range(maximum, -1, -1))


async def go_next(ctx: Ctx, after: str | None, *, just_answered: bool = False) -> list[Reply]:
    """The next unanswered question after `after`, or the result when everything is answered.

    `just_answered`: `after` was answered by this very message, so a photo sent next belongs
    to it (`evidence_target`); resuming or going back names no such question."""
    loaded = await require(ctx)
    _, assessment, q = loaded
    answers = await answers_of(ctx, assessment, q)
    code = q.next_unanswered(after, answers)
    if code is None:  # all answered: the result with part III and the question to submit
        if needs_decision(q, loaded.unit, answers, ctx.today):
            return [await show(ctx, Mode.LEVEL1_DECISION, then="result")]
        return [await show(ctx, Mode.CONFIRM_SUBMIT)]
    known = after if after is not None and after in q.specs else None
    answered = known if just_answered else None
    if known is not None and q.position(code) <= q.position(known):
        missing = q.unanswered(answers)  # wrapped around: say why we go back
        notice = t("ask.back_to_skipped", count=len(missing), codes=", ".join(missing))
        return [prefixed(notice, await show(ctx, Mode.ASK, code=code, answered=answered))]
    return [await show(ctx, Mode.ASK, code=code, answered=answered)]


def prefixed(line: str, reply: Reply) -> Reply:
    """`reply` with `line` above its text: one message on a phone instead of two."""
    return replace(reply, text=f"{line}\n\n{reply.text}")


def before(q: Questionnaire, code: str | None) -> str | None:
    """The code just before `code`, so that "next unanswered after it" may be `code` itself."""
    if code is None or code not in q.specs:
        return None
    return q.previous(code) or q.codes[-1]


NAV = ("back", "skip", "evidence", "review", "pause")
HINTED_QUESTIONS = 2  # the first questions list the command words on a text channel

# Between an answer and its evidence in one message: "10 - Kế hoạch số 12/KH-UBND …",
# "có: Nghị quyết …", or the evidence on the next line.
_EVIDENCE_AFTER = re.compile(r"\s+[-–—]\s+|\s*[:;\n]\s*")


def split_answer(spec: LeafSpec, text: str) -> tuple[Answer, str]:
    """The answer typed in `text` and the evidence written after it ("" when none).

    The whole text is tried first ("31/32", "không áp dụng"); else the part before the first
    separator (" - ", ":", ";", a new line) must be the answer and the rest is its evidence.
    AnswerError (for the whole text) when no reading gives an answer.
    """
    try:
        return parse_answer(spec, word_form(text)), ""
    except AnswerError as whole:
        match = _EVIDENCE_AFTER.search(text)
        if match is None or match.start() == 0:
            raise whole from None
        try:
            answer = parse_answer(spec, word_form(text[: match.start()]))
        except AnswerError:
            raise whole from None
        return answer, text[match.end() :].strip()


# The answers the word choices of a question stand for (the scores' choices carry theirs).
_CHOICE_ANSWERS: dict[str, bool | str] = {"o:yes": True, "o:no": False, "o:na": "na"}


def _numbers(ctx: Ctx) -> dict[str, int]:
    """The numbers the answers of the question on screen are typed as ("yes": 1, "no": 2…;
    one more each when last year's answer is offered first)."""
    shown = ctx.shown_numbers()
    return {value[2:]: shown[value] for value in _CHOICE_ANSWERS if value in shown}


def _chosen_with_evidence(ctx: Ctx, spec: LeafSpec, text: str) -> tuple[Answer, str] | None:
    """A shown choice named by its number or words, then the evidence ("1 - Kế hoạch số
    12/KH-UBND"): the numbers the question's choices and its hint give; None otherwise."""
    match = _EVIDENCE_AFTER.search(text)
    if match is None or match.start() == 0:
        return None
    raw = _CHOICE_ANSWERS.get(ctx.shown_value(word_form(text[: match.start()])) or "")
    if raw is None:
        return None
    try:
        return parse_answer(spec, raw), text[match.end() :].strip()
    except AnswerError:
        return None


class Ask(Screen):
    """One indicator (or one item of 3a): its text, maximum or threshold, and how to answer.

    An answer moves straight to the next question (one message per answer); evidence comes in
    the same message after the answer, as a photo or file at any time, or through "Thêm minh
    chứng". `answered` in the chat's data is the question answered just before this one.
    """

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
        hinted = q.position(code) <= HINTED_QUESTIONS or bool(ctx.chat.data.get("_hint"))
        last = describe(q, code, last_year) if last_year and not current else None
        if last is None and current is None:  # a question not answered yet reads the same always
            if code not in q.texts:
                q.texts[code] = _question_text(q, code)
            text = q.texts[code]
        else:
            text = _question_text(
                q,
                code,
                last_year=last,
                current=describe(q, code, current) if current else None,
                evidence=record.evidence if record is not None else "",
            )
        if q.position(code) <= HINTED_QUESTIONS:  # an example this question accepts as typed
            hint = t(
                "ask.evidence_hint", kind=spec.answer, maximum=spec.maximum, year=assessment.year
            )
            text += "\n" + hint
        return replace(ctx.prompt(text, options), show_commands=hinted)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        loaded = await require(ctx)
        if value.startswith("a:"):
            return await navigate(ctx, value[2:], loaded.q, self._code(ctx))
        raw = _CHOICE_ANSWERS.get(value)
        if value.startswith("s:"):
            raw = value[2:]
        offer = False
        if value == "o:keep":
            records = await ctx.tx.answers(loaded.assessment.id)
            record = records.get(self._code(ctx))
            raw = record.prefill if record is not None else None
            offer = record is not None and bool(record.prefill_evidence)
        if raw is None:
            return await super().on_choice(ctx, value)
        try:
            answer = parse_answer(loaded.q.specs[self._code(ctx)], raw)
        except AnswerError as exc:
            return [Reply(exc.message(numbers=_numbers(ctx))), await self.prompt(ctx)]
        return await self._accept(ctx, answer, offer_last_year=offer)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await require(ctx)
        if fold(word_form(text)) == fold(t("word.done")):  # the old habit: nothing to finish
            return [prefixed(t("ask.no_done_needed"), await self.prompt(ctx))]
        spec = loaded.q.specs[self._code(ctx)]
        try:
            answer, evidence = split_answer(spec, text)
        except AnswerError as exc:
            chosen = _chosen_with_evidence(ctx, spec, text)
            if chosen is None:
                ctx.chat.data["_hint"] = True  # a wrong input: the command words help now
                refusal = exc.message(numbers=_numbers(ctx))
                return [prefixed(refusal, await self.prompt(ctx))]  # one message, not two
            answer, evidence = chosen
        if evidence:
            record = (await ctx.tx.answers(loaded.assessment.id)).get(self._code(ctx))
            kept = len(record.evidence) if record is not None else 0
            if kept + len(evidence) > ctx.settings.max_evidence_chars:  # nothing is saved
                limit = ctx.settings.max_evidence_chars
                return [prefixed(t("evidence.too_long", max=limit), await self.prompt(ctx))]
        return await self._accept(ctx, answer, evidence, typed=True)

    async def on_file(self, ctx: Ctx, file: IncomingFile) -> list[Reply]:
        """A photo or file at a question: evidence of the question just answered, else of the
        question on screen (the reply says which); the question stays on screen."""
        code = evidence_target(ctx)
        refused = await attach_file(ctx, code, file)
        if refused is not None:
            return [Reply(refused), await self.prompt(ctx)]
        name = file.file_name or t(f"evidence.kind.{file.kind}")
        saved = t("evidence.file_saved_at", code=code, name=name, which=_which(ctx, code))
        return [prefixed(saved, await self.prompt(ctx))]

    async def _accept(
        self,
        ctx: Ctx,
        answer: Answer,
        evidence: str = "",
        *,
        typed: bool = False,
        offer_last_year: bool = False,
    ) -> list[Reply]:
        """Save the answer (and the evidence typed with it), then the next question; last
        year's answer kept (`offer_last_year`) shows last year's evidence to reuse first."""
        loaded = await require(ctx)
        unit, assessment, q = loaded
        if assessment.status not in EDITABLE:
            return [await show(ctx, Mode.STATUS)]
        code = self._code(ctx)
        await ctx.tx.put_answer(assessment.id, code, encode(answer), ctx.person.id)
        if evidence:
            await ctx.tx.append_evidence(assessment.id, code, evidence, ctx.person.id)
        await ctx.tx.log(
            "answer.saved",
            person_id=ctx.person.id,
            unit_id=unit.id,
            assessment_id=assessment.id,
            data={"code": code, "value": encode(answer), "evidence_chars": len(evidence)},
        )
        said = describe(q, code, answer)
        key = "ask.saved_with_evidence" if evidence else "ask.saved"
        part = None
        if isinstance(answer, Counts):  # two totals that differ: ask once what the part is
            part = await part_to_ask(ctx, loaded, await answers_of(ctx, assessment, q))
        if offer_last_year:
            following = [await show(ctx, Mode.EVIDENCE, code=code)]
        elif part is not None:
            following = [await show(ctx, Mode.PART_NOTE, code=part, after=code)]
        else:
            following = await go_next(ctx, code, just_answered=True)
        if typed:  # a text channel: the confirmation heads the next question, one message
            return [prefixed(t(key, code=code, answer=said), following[0]), *following[1:]]
        # A pressed button: the pressed question keeps its text, with the answer chosen under
        # it, so scrolling back reads like the form.
        chosen = Reply(t(key, code=code, answer=said), replace_previous=True, amend=True)
        return [chosen, *following]


async def part_to_ask(ctx: Ctx, loaded: Working, answers: Mapping[str, Answer]) -> str | None:
    """The chỉ tiêu whose total is smaller than another's (or than the unit's members) and
    whose note was never asked (conversations.part_notes); None when there is none."""
    counts = {code: a for code, a in answers.items() if isinstance(a, Counts)}
    if not counts:
        return None
    largest = largest_total(loaded.unit, counts)
    notes = await ctx.tx.part_notes(loaded.assessment.id)
    smaller = [c for c in loaded.q.codes if c in counts and counts[c].total < largest]
    return next((c for c in smaller if c not in notes), None)


def largest_total(unit: Unit, counts: Mapping[str, Counts]) -> int:
    """The largest total counted (or the unit's members, when known)."""
    return max([a.total for a in counts.values()] + [unit.member_count or 0])


def evidence_target(ctx: Ctx) -> str:
    """The question evidence sent now belongs to: the one just answered, if the question on
    screen is not answered yet; else the question on screen."""
    answered = ctx.chat.data.get("answered")
    if isinstance(answered, str) and ctx.chat.data.get("code") != answered:
        return answered
    return str(ctx.chat.data.get("code"))


def _which(ctx: Ctx, code: str) -> str:
    return t(
        "evidence.just_answered" if code != ctx.chat.data.get("code") else "evidence.on_screen"
    )


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
    """Back, skip, evidence, review or pause from a question."""
    if action == "back":
        previous = q.previous(code)
        if previous is None:
            return [Reply(t("ask.at_first")), await show(ctx, Mode.ASK, code=code)]
        return [await show(ctx, Mode.ASK, code=previous)]
    if action == "skip":
        return await _skip(ctx, q, code)
    if action == "evidence":
        target, answered = evidence_target(ctx), ctx.chat.data.get("answered")
        return [await show(ctx, Mode.EVIDENCE, code=target, back=code, answered=answered)]
    if action == "review":
        return [await show(ctx, Mode.REVIEW)]
    if action == "pause":
        return [Reply(t("pause.done")), await show(ctx, Mode.MENU)]
    return [Reply(t("error.stale_button")), await show(ctx, Mode.ASK, code=code)]


async def _skip(ctx: Ctx, q: Questionnaire, code: str) -> list[Reply]:
    """Leave `code` unanswered and go to the next unanswered question after it, saying so."""
    loaded = await require(ctx)
    answers = await answers_of(ctx, loaded.assessment, q)
    target = q.next_unanswered(code, answers)
    if target is None or target == code:
        return [Reply(t("ask.skip_last", code=code)), await show(ctx, Mode.REVIEW)]
    key = "ask.skipped_answered" if code in answers else "ask.skipped"
    return [prefixed(t(key, code=code), await show(ctx, Mode.ASK, code=target))]


_LOOKS_LIKE_ANSWER = re.compile(r"^\s*\d+(\s*[/ ]\s*\d+)?\s*%?\s*$")


def looks_like_answer(text: str) -> bool:
    """A number, "31/32" or a yes/no word: an answer to a question, never evidence."""
    word = word_form(text)
    return bool(_LOOKS_LIKE_ANSWER.match(word)) or fold(word) in _ANSWER_WORDS


_ANSWER_WORDS = frozenset(
    {"co", "khong", "dat", "khong dat", "chua dat", "co dat", "khong ap dung", "yes", "no"}
)


async def attach_file(ctx: Ctx, code: str, file: IncomingFile) -> str | None:
    """Keep `file` (and its caption) as evidence of `code`; the refusal's text if it is not."""
    loaded = await require_editable(ctx)
    unit, assessment, _ = loaded
    limit = ctx.settings.max_file_bytes
    mb = limit // (1024 * 1024)
    if (file.size is None and file.kind == "document") or (file.size or 0) < 0:
        # A size we cannot trust cannot be held to the limit: the file is fetched only
        # when the report is written, too late to refuse it then.
        return t("evidence.file_size_unknown", mb=mb)
    if file.size is not None and file.size > limit:
        return t("evidence.file_too_big", mb=mb)
    count = sum(1 for a in await ctx.tx.attachments(assessment.id) if a.code == code)
    if count >= ctx.settings.max_files_per_indicator:
        return t("evidence.too_many_files", max=ctx.settings.max_files_per_indicator)
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
    return None


class Evidence(Screen):
    """Evidence for one indicator, asked for ("Thêm minh chứng"): text paragraphs, photos,
    documents, until "xong". `back`: the question to return to.

    An answer typed here (a number, "có", "không") is never kept as evidence: it ends the
    evidence and answers the question the person returns to.
    """

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        options = [action("done"), action("back")]
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

    async def _leave(self, ctx: Ctx) -> list[Reply]:
        """Back to the question the person came from (or the next unanswered one)."""
        loaded = await require(ctx)
        back, answered = ctx.chat.data.get("back"), ctx.chat.data.get("answered")
        if isinstance(back, str) and back in loaded.q.specs:
            return [await show(ctx, Mode.ASK, code=back, answered=answered)]
        return await go_next(ctx, self._code(ctx), just_answered=True)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:reuse":
            loaded = await require_editable(ctx)
            last_year = await self._last_year(ctx)
            if last_year:
                code = self._code(ctx)
                await ctx.tx.append_evidence(loaded.assessment.id, code, last_year, ctx.person.id)
                return [Reply(t("evidence.saved", code=code)), await self.prompt(ctx)]
            return [await self.prompt(ctx)]
        if value in ("a:done", "a:skip", "a:back"):
            return await self._leave(ctx)
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        loaded = await require_editable(ctx)
        unit, assessment, _ = loaded
        code = self._code(ctx)
        if looks_like_answer(text):  # the next answer, typed before "xong": answer it
            back = await self._leave(ctx)
            if ctx.chat.mode == Mode.ASK.value:
                return await Ask().on_text(ctx, text)
            return [Reply(t("evidence.looks_like_answer", code=code)), *back]
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
        code = self._code(ctx)
        refused = await attach_file(ctx, code, file)
        if refused is not None:
            return [Reply(refused), await self.prompt(ctx)]
        name = file.file_name or t(f"evidence.kind.{file.kind}")
        return [Reply(t("evidence.file_saved", code=code, name=name)), await self.prompt(ctx)]
