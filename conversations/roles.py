"""Roles, read from the database for the unit an action touches, never from a button.

Roles are per unit: `staff` answer, `leader` also approve or return a submitted assessment,
`supervisor` (a member of a supervising unit) also sees the units placed under it. A forged
"/duyet 12" gets the same refusal as one typed by a stranger.
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations.context import Ctx
from storage.base import Assessment, Person, Unit


async def units_where(ctx: Ctx, role: str) -> list[Unit]:
    """The units in which the person holds `role`."""
    found = []
    for membership in await ctx.tx.memberships(ctx.person.id):
        if membership.role == role:
            unit = await ctx.tx.get_unit(membership.unit_id)
            if unit is not None:
                found.append(unit)
    return found


def is_admin(ctx: Ctx) -> bool:
    return f"{ctx.event.channel}:{ctx.event.sender.id}" in ctx.settings.admins


async def members_with(ctx: Ctx, unit_id: int, roles: Sequence[str]) -> list[Person]:
    return [person for person, role in await ctx.tx.members(unit_id) if role in roles]


async def pending_reviews(ctx: Ctx) -> list[tuple[Unit, Assessment]]:
    """Submitted assessments of the units the person leads (every year, oldest first)."""
    led = {unit.id: unit for unit in await units_where(ctx, "leader")}
    waiting = await ctx.tx.assessments_with_status(list(led), "submitted")
    return [(led[a.unit_id], a) for a in waiting]
