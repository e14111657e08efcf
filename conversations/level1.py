"""The unit's mức độ 1 decision (Thông tư 24/2023), asked when its answers meet mức độ 2."""

from __future__ import annotations

from datetime import date

from conversations.context import Ctx, Option
from conversations.decision import DecisionError, parse_decision
from conversations.events import Reply
from conversations.modes import Mode
from conversations.questions import go_next
from conversations.screen import Screen, action, show
from conversations.working import load
from templates.text import t


class Level1Decision(Screen):
    """The unit's mức độ 1 decision, asked once when its answers meet mức độ 2 (or /quyetdinh).

    Thông tư 24/2023 allows mức độ 2 only 12 months after mức độ 1; the number and date are kept
    with the unit, so the next year's assessment does not ask again.
    """

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        current = ""
        if unit is not None and unit.level1_decision_date is not None:
            current = t(
                "level1.current",
                number=unit.level1_decision_number or "",
                date=unit.level1_decision_date.strftime("%d/%m/%Y"),
            )
        options = [Option(t("level1.none"), "o:none"), action("cancel")]
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
            return [await show(ctx, Mode.MENU)]
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
        if ctx.chat.data.get("then") == "result" and await load(ctx) is not None:
            return [saved, *await go_next(ctx, None)]
        return [saved, await show(ctx, Mode.MENU)]
