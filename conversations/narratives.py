"""Part III of the report (ưu điểm, tồn tại, kiến nghị, phương hướng), one section at a time."""

from __future__ import annotations

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.reporting import report_data
from conversations.screen import Screen, action, show
from conversations.working import require, require_editable
from templates.report import SECTION_KEYS, Narrative, draft_message
from templates.text import t


class NarrativeSection(Screen):
    """Section III drafted from the answers: staff accept the draft or type their own text."""

    def _section(self, ctx: Ctx) -> str:
        section = str(ctx.chat.data.get("section"))
        return section if section in SECTION_KEYS else SECTION_KEYS[0]

    async def _draft(self, ctx: Ctx) -> Narrative:
        loaded = await require(ctx)
        data = await report_data(ctx.tx, loaded, ctx.today)
        return data.narratives.get(self._section(ctx))

    async def prompt(self, ctx: Ctx) -> Reply:
        draft = await self._draft(ctx)
        text = draft_message(self._section(ctx), draft) + "\n\n" + t("narrative.ask")
        return ctx.prompt(text, [Option(t("narrative.accept"), "o:accept"), action("review")])

    async def _save(self, ctx: Ctx, text: str) -> list[Reply]:
        assessment = (await require_editable(ctx)).assessment
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
        return [saved, await show(ctx, Mode.CONFIRM_SUBMIT)]

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:accept":
            draft = await self._draft(ctx)
            return await self._save(ctx, draft.text)
        if value == "a:review":
            return [await show(ctx, Mode.REVIEW)]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        if len(text) > ctx.settings.max_evidence_chars:
            return [
                Reply(t("evidence.too_long", max=ctx.settings.max_evidence_chars)),
                await self.prompt(ctx),
            ]
        return await self._save(ctx, text.strip())
