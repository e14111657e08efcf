"""/doiten: a unit's name corrected by its leader or by its supervising unit's staff.

A name is typed once, at registration, and everything the unit sends carries it (the report's
header, the supervising level's overview). A typo, or a name stored before text was cleaned
(`conversations.cleaning`), must be correctable without an administrator: by the people who
answer for the unit (its leaders) or for the units under them (the supervising unit's staff).
"""

from __future__ import annotations

from conversations.cleaning import clean_text
from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.screen import CANCEL, Screen, again, show
from storage.base import Unit
from templates.text import t


def unit_name(text: str) -> str | None:
    """A typed unit name with its spaces tidied; None when it is not 3 to 200 characters."""
    name = " ".join(text.split())
    return name if 3 <= len(name) <= 200 else None


def shown_name(unit: Unit) -> str:
    """The unit's name as a label, even when the stored one is empty or unreadable."""
    name = " ".join(clean_text(unit.name, multiline=False).split())
    return name or t("rename.unnamed", id=unit.id)


async def may_rename(ctx: Ctx, unit_id: object) -> Unit | None:
    """The unit when the person may rename it (checked at every step: a button carries no
    right); None otherwise."""
    unit = await ctx.tx.get_unit(unit_id) if isinstance(unit_id, int) else None
    if unit is None:
        return None
    if await ctx.role_in(unit.id) == "leader":
        return unit
    over = unit.supervisor_id
    return unit if over is not None and await ctx.role_in(over) == "supervisor" else None


async def rename_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/doiten [tên mới]: a leader renames the unit; a supervising unit's staff pick the unit."""
    unit = await ctx.unit()
    if unit is None:
        return [Reply(t("error.no_unit")), await show(ctx, Mode.START)]
    role = await ctx.role_in(unit.id)
    if role == "supervisor" and unit.supervises:
        return [await show(ctx, Mode.RENAME_PICK)]
    if role != "leader":
        return [Reply(t("rename.not_allowed")), await again(ctx)]
    if argument:
        return await _rename(ctx, unit.id, argument)
    return [await show(ctx, Mode.RENAME_NAME, target=unit.id)]


async def _rename(ctx: Ctx, unit_id: object, typed: str) -> list[Reply]:
    unit = await may_rename(ctx, unit_id)
    if unit is None:
        return [Reply(t("rename.not_allowed")), await show(ctx, Mode.MENU)]
    name = unit_name(typed)
    if name is None:
        return [Reply(t("reg.name_invalid")), await show(ctx, Mode.RENAME_NAME, target=unit.id)]
    await ctx.tx.update_unit(unit.id, {"name": name})
    await ctx.tx.log(
        "unit.renamed",
        person_id=ctx.person.id,
        unit_id=unit.id,
        data={"old": unit.name, "new": name},
    )
    return [Reply(t("rename.done", old=shown_name(unit), new=name)), await show(ctx, Mode.MENU)]


class RenamePick(Screen):
    """Which unit under the supervising unit is renamed."""

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        units = await ctx.tx.supervised_units(unit.id) if unit else []
        if not units:
            return ctx.prompt(t("rename.no_units"), [CANCEL])
        options = [Option(shown_name(u), f"u:{u.id}") for u in units]
        return ctx.prompt(t("rename.pick"), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        picked = value.removeprefix("u:")
        unit = await may_rename(ctx, int(picked)) if picked.isdecimal() else None
        if not value.startswith("u:") or unit is None:
            return await super().on_choice(ctx, value)
        return [await show(ctx, Mode.RENAME_NAME, target=unit.id)]


class RenameName(Screen):
    """The new name of the unit picked (or of the leader's own unit)."""

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await may_rename(ctx, ctx.chat.data.get("target"))
        if unit is None:
            return await show(ctx, Mode.MENU)
        return ctx.prompt(t("rename.ask", unit=shown_name(unit)), [CANCEL])

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        return await _rename(ctx, ctx.chat.data.get("target"), text)
