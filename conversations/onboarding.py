"""First contact and the unit: register a unit, join one with an invite code, fill its details."""

from __future__ import annotations

import re

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.invites import claim_unit_code, create_invite, join_with_code
from conversations.modes import Mode
from conversations.rename import unit_name
from conversations.screen import CANCEL, Screen, action, show
from rubric.loader import load_kinds
from storage.base import UNIT_DETAIL_FIELDS, Unit
from templates.text import t

LEVELS = ("cap-huyen", "cap-tinh")


SKIP = action("skip")
CLEAR = action("clear")  # a detail given by mistake, taken out


class Start(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        options = [Option(t("start.register"), "o:register"), Option(t("start.join"), "o:join")]
        return ctx.prompt(t("start.welcome", name=ctx.person.display_name), options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:register":
            return [await show(ctx, Mode.REG_NAME)]
        if value == "o:join":
            return [await show(ctx, Mode.JOIN)]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        joined = await join_with_code(ctx, text)
        return joined if joined is not None else await super().on_text(ctx, text)


_INVITED = ("supervisor_id", "invite")  # a registration started with a 'unit' code


def _kept(ctx: Ctx, *keys: str) -> dict[str, object]:
    """The registration's answers so far, carried from one step to the next."""
    return {k: v for k, v in ctx.chat.data.items() if k in keys}


async def same_name_under(ctx: Ctx, supervisor_id: object, name: str) -> Unit | None:
    """A unit already under `supervisor_id` with this name (letter case aside), if any."""
    if not isinstance(supervisor_id, int):
        return None
    units = await ctx.tx.supervised_units(supervisor_id)
    return next((u for u in units if u.name.casefold() == name.casefold()), None)


class RegisterName(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        return ctx.prompt(t("reg.name"), [CANCEL])

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        name = unit_name(text)
        if name is None:
            return [Reply(t("reg.name_invalid")), await self.prompt(ctx)]
        keep = _kept(ctx, *_INVITED)
        if await same_name_under(ctx, keep.get("supervisor_id"), name):
            return [await show(ctx, Mode.REG_SAME_NAME, name=name, **keep)]
        return [await show(ctx, Mode.REG_KIND, name=name, **keep)]


class RegisterSameName(Screen):
    """The supervising unit already has a unit of that name: most likely the person's own unit,
    which they should join with its staff's code rather than register a second time."""

    async def prompt(self, ctx: Ctx) -> Reply:
        supervisor_id = ctx.chat.data.get("supervisor_id")
        supervisor = (
            await ctx.tx.get_unit(supervisor_id) if isinstance(supervisor_id, int) else None
        )
        text = t(
            "reg.same_name",
            name=ctx.chat.data.get("name", ""),
            supervisor=supervisor.name if supervisor else "",
        )
        options = [
            Option(t("reg.same_name_anyway"), "o:anyway"),
            Option(t("reg.same_name_other"), "o:other"),
        ]
        return ctx.prompt(text, [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:anyway":
            return [await show(ctx, Mode.REG_KIND, **_kept(ctx, "name", *_INVITED))]
        if value == "o:other":
            return [await show(ctx, Mode.REG_NAME, **_kept(ctx, *_INVITED))]
        return await super().on_choice(ctx, value)

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        """Another name typed here: taken as the answer to the name question."""
        return await RegisterName().on_text(ctx, text)


class RegisterKind(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        options = [Option(kind.label, f"k:{kind.id}") for kind in load_kinds()]
        return ctx.prompt(t("reg.kind", name=ctx.chat.data.get("name", "")), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        kinds = {kind.id for kind in load_kinds()}
        if value.startswith("k:") and value[2:] in kinds:
            keep = _kept(ctx, "name", *_INVITED)
            return [await show(ctx, Mode.REG_LEVEL, kind=value[2:], **keep)]
        return await super().on_choice(ctx, value)


class RegisterLevel(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        options = [  # typed also as the circular's own name of the level ("cấp huyện")
            Option(t(f"level.choice.{level}"), f"l:{level}", typed=t(f"level.{level}"))
            for level in LEVELS
        ]
        return ctx.prompt(t("reg.level"), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if not (value.startswith("l:") and value[2:] in LEVELS):
            return await super().on_choice(ctx, value)
        name, kind = str(ctx.chat.data.get("name")), str(ctx.chat.data.get("kind"))
        supervisor_id = None
        code = ctx.chat.data.get("invite")
        if isinstance(code, str):  # started with a supervising unit's code: it is used up now
            supervisor_id = await claim_unit_code(ctx, code)
            if supervisor_id is None:
                return [Reply(t("reg.code_used")), await show(ctx, Mode.START)]
        unit = await ctx.tx.create_unit(name, kind, value[2:])
        if supervisor_id is not None:
            await ctx.tx.update_unit(unit.id, {"supervisor_id": supervisor_id})
        await ctx.tx.add_membership(unit.id, ctx.person.id, "staff")
        await ctx.tx.log(
            "unit.registered",
            person_id=ctx.person.id,
            unit_id=unit.id,
            data={"name": name, "kind": kind, "level": value[2:]},
        )
        ctx.chat.unit_id = unit.id
        code = await create_invite(ctx, unit.id)
        done = Reply(t("reg.done", unit=unit.name, code=code, days=ctx.settings.invite_days))
        return [done, await show(ctx, Mode.REG_MORE)]


class RegisterMore(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        options = [Option(t("reg.details_now"), "o:now"), Option(t("reg.details_later"), "o:later")]
        return ctx.prompt(t("reg.more"), options)

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "o:now":
            return [await show(ctx, Mode.DETAILS, field=0)]
        if value == "o:later":
            return [await show(ctx, Mode.MENU)]
        return await super().on_choice(ctx, value)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_PHONE = re.compile(r"^[0-9 +().-]{8,20}$")


def clean_detail(field: str, text: str) -> str | int | None:
    """The typed value of a unit detail, or None when it does not fit the field."""
    value = " ".join(text.split())
    if field == "member_count":
        return int(value) if value.isdecimal() and 0 < int(value) <= 1_000_000 else None
    if field == "email":
        return value if _EMAIL.match(value) else None
    if field == "phone":
        return value if _PHONE.match(value) else None
    return value if 0 < len(value) <= 300 else None


class Details(Screen):
    """The unit's details for the report, one at a time; each can be skipped and filled later."""

    def _field(self, ctx: Ctx) -> str:
        index = ctx.chat.data.get("field", 0)
        return UNIT_DETAIL_FIELDS[index if isinstance(index, int) else 0]

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        field = self._field(ctx)
        current = getattr(unit, field, None) if unit else None
        index = UNIT_DETAIL_FIELDS.index(field) + 1
        text = t(
            "details.ask",
            label=t(f"detail.{field}"),
            hint=t(f"detail_hint.{field}"),
            current=current,
            k=index,
            n=len(UNIT_DETAIL_FIELDS),
        )
        options = [SKIP, *([CLEAR] if current not in (None, "") else []), CANCEL]
        return ctx.prompt(text, options)

    async def _advance(self, ctx: Ctx) -> list[Reply]:
        index = UNIT_DETAIL_FIELDS.index(self._field(ctx)) + 1
        if index < len(UNIT_DETAIL_FIELDS):
            return [await show(ctx, Mode.DETAILS, field=index)]
        return [Reply(t("details.done")), await show(ctx, Mode.MENU)]

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value == "a:skip":
            return await self._advance(ctx)
        if value == "a:clear":
            return await self._clear(ctx)
        return await super().on_choice(ctx, value)

    async def _clear(self, ctx: Ctx) -> list[Reply]:
        """A detail typed by mistake is taken out (the report then leaves it out), not only
        kept as it was ("bỏ qua")."""
        field = self._field(ctx)
        unit = await ctx.unit()
        if unit is None:
            return [await show(ctx, Mode.START)]
        await _set_detail(ctx, unit, field, None)
        return [Reply(t("details.cleared", label=t(f"detail.{field}"))), *await self._advance(ctx)]

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        field = self._field(ctx)
        value = clean_detail(field, text)
        unit = await ctx.unit()
        if value is None or unit is None:
            return [
                Reply(
                    t("details.invalid", label=t(f"detail.{field}"), hint=t(f"detail_hint.{field}"))
                ),
                await self.prompt(ctx),
            ]
        await _set_detail(ctx, unit, field, value)
        return await self._advance(ctx)


async def _set_detail(ctx: Ctx, unit: Unit, field: str, value: object) -> None:
    """A report detail of `unit` given (or taken out: None), with its event."""
    await ctx.tx.update_unit(unit.id, {field: value})
    await ctx.tx.log(
        "unit.updated",
        person_id=ctx.person.id,
        unit_id=unit.id,
        data={"field": field, "value": value},
    )


class Join(Screen):
    async def prompt(self, ctx: Ctx) -> Reply:
        return ctx.prompt(t("join.ask"), [CANCEL])

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        joined = await join_with_code(ctx, text)
        return joined if joined is not None else [Reply(t("join.invalid")), await self.prompt(ctx)]


def unit_missing_details(unit: Unit) -> list[str]:
    """Labels of the report details the unit has not filled in yet."""
    return [
        t(f"detail.{f}")
        for f in UNIT_DETAIL_FIELDS
        if f != "signer_authority" and getattr(unit, f) in (None, "")
    ]
