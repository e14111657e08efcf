"""Invite codes: create (/moi), revoke (/huymoi), join with one, place a unit under a
supervising unit, and the administrators' supervising units (/taocaptren)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from conversations.context import Ctx, Option
from conversations.events import Reply
from conversations.modes import Mode
from conversations.roles import is_admin, members_with
from conversations.screen import CANCEL, Screen, again, show
from storage.base import Invite, Unit
from templates.text import t

INVITE_ROLES = {"canbo": "staff", "lanhdao": "leader", "captren": "supervisor", "donvi": "unit"}


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_invite_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


async def create_invite(ctx: Ctx, unit_id: int, role: str = "staff") -> str:
    """A fresh invite code for `unit_id`, valid for the configured number of days."""
    code = new_invite_code()
    expires = datetime.now(UTC) + timedelta(days=ctx.settings.invite_days)
    await ctx.tx.create_invite(code, unit_id, role, ctx.person.id, expires)
    await ctx.tx.log(
        "invite.created", person_id=ctx.person.id, unit_id=unit_id, data={"role": role}
    )
    return code


async def valid_invite(ctx: Ctx, typed: str) -> Invite | None:
    """The invite `typed` names when it may still be used (not revoked, not expired)."""
    invite = await ctx.tx.get_invite(typed.strip().upper())
    now = datetime.now(UTC)
    if invite is None or invite.revoked or (invite.expires_at and invite.expires_at < now):
        return None
    return invite


async def join_with_code(ctx: Ctx, typed: str) -> list[Reply] | None:
    """Join the unit of an invite code; None when `typed` is not a valid code."""
    invite = await valid_invite(ctx, typed)
    if invite is None:
        return None
    if invite.role == "unit":  # a supervising unit's invitation to place a unit under it
        placed = await place_under(ctx, invite.unit_id)
        if placed is not None:
            await _used(ctx, invite.code)
            return [*placed, await show(ctx, Mode.MENU)]
        # The code is used up by the unit it registers (`claim_unit_code`), not here: a person
        # who gives up half-way leaves it to the unit it was meant for.
        return [await show(ctx, Mode.REG_NAME, supervisor_id=invite.unit_id, invite=invite.code)]
    held = await ctx.role_in(invite.unit_id)
    if held is not None:  # a code never changes a role already held (up or down)
        return [Reply(t("join.already", role=t(f"role.{held}"))), await show(ctx, Mode.MENU)]
    await ctx.tx.add_membership(invite.unit_id, ctx.person.id, invite.role)
    if invite.role in SINGLE_USE:
        await _used(ctx, invite.code)
    await ctx.tx.log(
        "unit.joined", person_id=ctx.person.id, unit_id=invite.unit_id, data={"role": invite.role}
    )
    ctx.chat.unit_id = invite.unit_id
    ctx.chat.data.pop("assessment_id", None)
    unit = await ctx.tx.get_unit(invite.unit_id)
    name = unit.name if unit else ""
    return [
        Reply(t("join.done", unit=name, role=t(f"role.{invite.role}"))),
        await show(ctx, Mode.MENU),
    ]


SINGLE_USE = ("leader", "supervisor", "unit")  # codes that give more than staff: one person


async def _used(ctx: Ctx, code: str) -> None:
    """A single-use code stops working once used (it may not pass on to a second person)."""
    await ctx.tx.revoke_invite(code)


async def claim_unit_code(ctx: Ctx, code: str) -> int | None:
    """Use up the 'unit' code a registration started with: the supervising unit's id, or None
    when the code no longer works (another unit registered with it meanwhile, or it expired or
    was revoked). Read and revoked in the turn's transaction, so two registrations racing for
    one code cannot both have it."""
    invite = await valid_invite(ctx, code)
    if invite is None or invite.role != "unit":
        return None
    await _used(ctx, invite.code)
    return invite.unit_id


async def place_under(ctx: Ctx, supervisor_id: int) -> list[Reply] | None:
    """A 'unit' invite used by a member of a unit: the unit is placed under the supervising
    unit. None when the person has no unit yet (the registration then sets it)."""
    unit = await ctx.unit()
    role = await ctx.role_in(unit.id) if unit else None
    supervisor = await ctx.tx.get_unit(supervisor_id)
    if unit is None or role is None or supervisor is None:
        return None
    has_leader = bool(await members_with(ctx, unit.id, ("leader",)))
    if unit.id == supervisor_id or (has_leader and role != "leader") or role == "supervisor":
        return [Reply(t("unit.place_refused"))]
    await ctx.tx.update_unit(unit.id, {"supervisor_id": supervisor_id})
    await ctx.tx.log(
        "unit.placed_under",
        person_id=ctx.person.id,
        unit_id=unit.id,
        data={"supervisor_id": supervisor_id},
    )
    return [Reply(t("unit.placed_under", unit=unit.name, supervisor=supervisor.name))]


async def _invitable(ctx: Ctx, unit: Unit, role: str) -> list[str]:
    """The roles a member with `role` may invite into `unit`: leaders invite leaders (staff
    only the first one, so that a unit can get its leader at all); a supervising unit's staff
    invite their colleagues and the units under them."""
    if role == "supervisor" and unit.supervises:
        return ["captren", "donvi"]
    if role == "leader" or not await members_with(ctx, unit.id, ("leader",)):
        return ["canbo", "lanhdao"]
    return ["canbo"]


async def invite_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/moi [canbo|lanhdao|captren|donvi]: a code (and link) for the role asked, or the choice."""
    unit = await ctx.unit()
    role = await ctx.role_in(unit.id) if unit else None
    if unit is None or role is None:
        return [Reply(t("error.no_unit")), await show(ctx, Mode.START)]
    allowed = await _invitable(ctx, unit, role)
    wanted = argument.strip().lower()
    if not wanted:
        return [await show(ctx, Mode.INVITE_ROLE)]
    if wanted not in allowed:
        words = ", ".join(allowed)
        return [Reply(t("invite.bad_role", typed=wanted[:20], words=words)), await again(ctx)]
    return [await _invite_reply(ctx, unit, INVITE_ROLES[wanted]), await again(ctx)]


async def _invite_reply(ctx: Ctx, unit: Unit, role: str) -> Reply:
    code = await create_invite(ctx, unit.id, role)
    links = [template.replace("{code}", code) for template in ctx.settings.invite_links.values()]
    return Reply(
        t(
            "invite.created",
            unit=unit.name,
            role=t(f"invite_role.{role}"),
            code=code,
            days=ctx.settings.invite_days,
            links=links,
            for_unit=role == "unit",
        )
    )


class InviteRole(Screen):
    """Which role the invite is for: a leader is invited differently from a colleague."""

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        role = await ctx.role_in(unit.id) if unit else None
        if unit is None or role is None:
            return await show(ctx, Mode.MENU)
        allowed = await _invitable(ctx, unit, role)
        options = [Option(t(f"invite_word.{w}"), f"r:{w}") for w in allowed]
        return ctx.prompt(t("invite.ask_role"), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        unit = await ctx.unit()
        role = await ctx.role_in(unit.id) if unit else None
        word = value.removeprefix("r:")
        if unit is None or role is None or word not in await _invitable(ctx, unit, role):
            return await super().on_choice(ctx, value)
        return [await _invite_reply(ctx, unit, INVITE_ROLES[word]), await show(ctx, Mode.MENU)]


async def revoke_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/huymoi CODE: a code of one of the person's units stops working at once."""
    code = argument.strip().upper()
    invite = await ctx.tx.get_invite(code) if code else None
    role = await ctx.role_in(invite.unit_id) if invite else None
    if invite is None or role is None:
        return [Reply(t("invite.revoke_unknown", code=code[:20])), await again(ctx)]
    await ctx.tx.revoke_invite(code)
    await ctx.tx.log("invite.revoked", person_id=ctx.person.id, unit_id=invite.unit_id)
    return [Reply(t("invite.revoked", code=code)), await again(ctx)]


async def create_supervising_unit(ctx: Ctx, name: str) -> list[Reply]:
    """/taocaptren NAME (administrators): a supervising unit, and a code for its first staff."""
    if not is_admin(ctx):
        return [Reply(t("admin.only")), await again(ctx)]
    name = " ".join(name.split())
    if not 3 <= len(name) <= 200:
        return [Reply(t("admin.name_needed")), await again(ctx)]
    same = [
        u for u in await ctx.tx.units() if u.supervises and u.name.casefold() == name.casefold()
    ]
    if same:  # it exists: a new code for its staff (e.g. its only supervisor left)
        reply = await _invite_reply(ctx, same[0], "supervisor")
        return [Reply(t("admin.exists", unit=same[0].name)), reply, await again(ctx)]
    unit = await ctx.tx.create_unit(name, "co-quan", "cap-huyen")
    await ctx.tx.update_unit(unit.id, {"supervises": True})
    await ctx.tx.log("unit.supervising_created", person_id=ctx.person.id, unit_id=unit.id)
    reply = await _invite_reply(ctx, unit, "supervisor")
    return [Reply(t("admin.created", unit=name)), reply, await again(ctx)]
