"""A note on a chỉ tiêu whose total is only a part of the members, asked once.

Two chỉ tiêu counted over different totals (14/20 beside 32/32 in a unit of 32 members) read as
a mistake, and may be one; often the smaller total is a group of the members (only the 20 cán
bộ, công chức are trained). So when an answer makes two totals differ, the person is asked once,
for the smaller one, whether it is such a part: the group's name is kept as the chỉ tiêu's note
(`Transaction.put_part_note`) for the report to print beside the figure, "" when no note is
wanted; or the total is corrected.
"""

from __future__ import annotations

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.questions import go_next, largest_total
from conversations.screen import Screen, show
from conversations.working import require, require_editable
from rubric.answers import Counts
from templates.text import t


class PartNote(Screen):
    """Is the total of `code` a part of the members? `after`: the question just answered."""

    def _code(self, ctx: Ctx) -> str:
        return str(ctx.chat.data.get("code"))

    async def prompt(self, ctx: Ctx) -> Reply:
        loaded = await require(ctx)
        answers = loaded.q.decode(await ctx.tx.answers(loaded.assessment.id))
        code = self._code(ctx)
        answer = answers.get(code)
        if not isinstance(answer, Counts):
            return (await self._next(ctx))[0]
        counts = {c: a for c, a in answers.items() if isinstance(a, Counts)}
        largest = largest_total(loaded.unit, counts)
        others = [c for c, a in counts.items() if a.total == largest]
        text = t(
            "part.ask",
            code=code,
            total=answer.total,
            largest=largest,
            others=", ".join(others),
            members=loaded.unit.member_count,
        )
        options = [Option(t("part.no_note"), "o:none"), Option(t("part.fix", code=code), "o:fix")]
        return ctx.prompt(text, options)

    async def _next(self, ctx: Ctx) -> list[Reply]:
        after = ctx.chat.data.get("after")
        code = after if isinstance(after, str) else self._code(ctx)
        return await go_next(ctx, code, just_answered=True)

    async def _keep(self, ctx: Ctx, note: str) -> list[Reply]:
        assessment = (await require_editable(ctx)).assessment
        code = self._code(ctx)
        await ctx.tx.put_part_note(assessment.id, code, note, ctx.person.id)
        await ctx.tx.log(
            "part_note.saved",
            person_id=ctx.person.id,
            unit_id=assessment.unit_id,
            assessment_id=assessment.id,
            data={"code": code, "chars": len(note)},
        )
        said = t("part.saved", code=code, note=note) if note else t("part.saved_none", code=code)
        following = await self._next(ctx)
        return [Reply(said), *following]

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:none":
            return await self._keep(ctx, "")
        if value == "o:fix":
            return [await show(ctx, Mode.ASK, code=self._code(ctx))]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        note = " ".join(text.split())
        if not any(ch.isalpha() for ch in note) or len(note) > 200:
            return [Reply(t("part.bad_note")), await self.prompt(ctx)]
        return await self._keep(ctx, note)
