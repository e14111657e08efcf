"""Roles, invites, the leader's approval and the messages to other people (through the outbox).

Roles are per unit: `staff` answer, `leader` also approve or return a submitted assessment,
`supervisor` (a member of a supervising unit) also sees the units placed under it. Every action
here checks the person's role for the unit it touches, from the database, never from what a
button carries: a forged "/duyet 12" gets the same refusal as one typed by a stranger.

Messages for someone other than the person whose event caused them are written to the outbox in
the same transaction as the change, and sent by the channels after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations.context import Ctx, Option
from conversations.events import Choice, ChoiceKind, OutgoingFile, Reply, replies_to_json
from conversations.onboarding import CANCEL, create_invite
from conversations.screen import Screen, current, register, show
from storage.base import Assessment, Person, Transaction, Unit
from templates.text import t

INVITE_ROLES = {"canbo": "staff", "lanhdao": "leader", "captren": "supervisor", "donvi": "unit"}
MAX_COMMENT = 1000


# --- roles ------------------------------------------------------------------------------------


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


def command_choice(label: str, command: str) -> Choice:
    """A button that runs a command, for messages sent outside the conversation (the outbox).

    It is a shortcut for typing the command, checked exactly like typing it, so it never goes
    stale and carries no right of its own.
    """
    return Choice(label, f"!{command}", ChoiceKind.ACTION, f"/{command}")


# --- the outbox -------------------------------------------------------------------------------


async def notify(ctx: Ctx, person: Person, replies: Sequence[Reply]) -> None:
    await enqueue_for(ctx.tx, person, replies)


async def enqueue_for(tx: Transaction, person: Person, replies: Sequence[Reply]) -> None:
    """Queue `replies` for `person`, one message per row so a retry never repeats another.

    A private chat's id is the person's id on Telegram and on Zalo, so that is where it goes.
    """
    for reply in replies:
        parts = [Reply(reply.text, reply.choices)] if reply.text else []
        parts += [Reply("", files=(file,)) for file in reply.files]
        for part in parts:
            payload = replies_to_json([part])
            await tx.enqueue(person.id, person.channel, person.channel_user_id, payload)


async def members_with(ctx: Ctx, unit_id: int, roles: Sequence[str]) -> list[Person]:
    return [person for person, role in await ctx.tx.members(unit_id) if role in roles]


# --- invites ----------------------------------------------------------------------------------


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
        return [Reply(t("error.no_unit")), await show(ctx, "start")]
    allowed = await _invitable(ctx, unit, role)
    wanted = argument.strip().lower()
    if not wanted:
        return [await show(ctx, "invite_role")]
    if wanted not in allowed:
        words = ", ".join(allowed)
        return [Reply(t("invite.bad_role", typed=wanted[:20], words=words)), await _back(ctx)]
    return [await _invite_reply(ctx, unit, INVITE_ROLES[wanted]), await _back(ctx)]


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


async def _back(ctx: Ctx) -> Reply:
    return await current(ctx).prompt(ctx)


@register
class InviteRole(Screen):
    """Which role the invite is for: a leader is invited differently from a colleague."""

    mode = "invite_role"

    async def prompt(self, ctx: Ctx) -> Reply:
        unit = await ctx.unit()
        role = await ctx.role_in(unit.id) if unit else None
        if unit is None or role is None:
            return await show(ctx, "menu")
        allowed = await _invitable(ctx, unit, role)
        options = [Option(t(f"invite_word.{w}"), f"r:{w}") for w in allowed]
        return ctx.prompt(t("invite.ask_role"), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        unit = await ctx.unit()
        role = await ctx.role_in(unit.id) if unit else None
        word = value.removeprefix("r:")
        if unit is None or role is None or word not in await _invitable(ctx, unit, role):
            return await super().on_choice(ctx, value)
        return [await _invite_reply(ctx, unit, INVITE_ROLES[word]), await show(ctx, "menu")]


async def revoke_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/huymoi CODE: a code of one of the person's units stops working at once."""
    code = argument.strip().upper()
    invite = await ctx.tx.get_invite(code) if code else None
    role = await ctx.role_in(invite.unit_id) if invite else None
    if invite is None or role is None:
        return [Reply(t("invite.revoke_unknown", code=code[:20])), await _back(ctx)]
    await ctx.tx.revoke_invite(code)
    await ctx.tx.log("invite.revoked", person_id=ctx.person.id, unit_id=invite.unit_id)
    return [Reply(t("invite.revoked", code=code)), await _back(ctx)]


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


async def create_supervising_unit(ctx: Ctx, name: str) -> list[Reply]:
    """/taocaptren NAME (administrators): a supervising unit, and a code for its first staff."""
    if not is_admin(ctx):
        return [Reply(t("admin.only")), await _back(ctx)]
    name = " ".join(name.split())
    if not 3 <= len(name) <= 200:
        return [Reply(t("admin.name_needed")), await _back(ctx)]
    same = [
        u for u in await ctx.tx.units() if u.supervises and u.name.casefold() == name.casefold()
    ]
    if same:  # it exists: a new code for its staff (e.g. its only supervisor left)
        reply = await _invite_reply(ctx, same[0], "supervisor")
        return [Reply(t("admin.exists", unit=same[0].name)), reply, await _back(ctx)]
    unit = await ctx.tx.create_unit(name, "co-quan", "cap-huyen")
    await ctx.tx.update_unit(unit.id, {"supervises": True})
    await ctx.tx.log("unit.supervising_created", person_id=ctx.person.id, unit_id=unit.id)
    reply = await _invite_reply(ctx, unit, "supervisor")
    return [Reply(t("admin.created", unit=name)), reply, await _back(ctx)]


# --- submission and approval ------------------------------------------------------------------


async def announce_submission(
    ctx: Ctx, unit: Unit, assessment: Assessment, summary: str, report: OutgoingFile
) -> str:
    """Send each leader (but the submitter) the summary and the report with the review button;
    the returned line tells the submitter who was told."""
    leaders = await members_with(ctx, unit.id, ("leader",))
    buttons = decision_buttons(assessment)
    heading = t(
        "approval.to_leader", unit=unit.name, year=assessment.year, who=ctx.person.display_name
    )
    for leader in leaders:
        if leader.id != ctx.person.id:
            await notify(ctx, leader, [Reply(f"{heading}\n\n{summary}", buttons, (report,))])
    others = [p.display_name for p in leaders if p.id != ctx.person.id]
    if others:
        return t("approval.sent_to", names=", ".join(others))
    if leaders:  # the submitter is the unit's only leader
        return t("approval.self")
    return t("approval.no_leader")


def decision_buttons(assessment: Assessment) -> tuple[Choice, ...]:
    """Approve, or return with a comment, right from the summary message.

    The buttons name the submission they belong to, so a button of an earlier submission
    (before a return and a resubmission) cannot approve a version the leader has not read.
    """
    version = f"{assessment.id} {_version(assessment)}"
    return (
        command_choice(t("approval.approve"), f"pheduyet {version}"),
        command_choice(t("approval.return"), f"tralai {version}"),
    )


def _version(assessment: Assessment) -> str:
    stamp = assessment.submitted_at
    return str(int(stamp.timestamp() * 1_000_000)) if stamp is not None else "0"


async def approve_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/pheduyet ID: approve at once (a leader of the unit, the assessment still submitted)."""
    target = await _pending(ctx, argument)
    if isinstance(target, Reply):
        return [target, await _back(ctx)]
    return await approve(ctx, *target)


async def return_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/tralai ID: ask the leader's comment, then send the assessment back to staff."""
    target = await _pending(ctx, argument)
    if isinstance(target, Reply):
        return [target, await _back(ctx)]
    return [await show(ctx, "return_comment", review_id=target[1].id)]


async def _pending(ctx: Ctx, argument: str) -> tuple[Unit, Assessment] | Reply:
    """The submission "ID [VERSION]" names, if it awaits this leader; else why not."""
    wanted, _, version = argument.strip().partition(" ")
    found = next(((u, a) for u, a in await pending_reviews(ctx) if str(a.id) == wanted), None)
    if found is None:
        return Reply(t("approval.not_pending"))
    if version.strip() and version.strip() != _version(found[1]):
        return Reply(t("approval.outdated"))
    return found


async def pending_reviews(ctx: Ctx) -> list[tuple[Unit, Assessment]]:
    """Submitted assessments of the units the person leads (every year, oldest first)."""
    led = {unit.id: unit for unit in await units_where(ctx, "leader")}
    waiting = await ctx.tx.assessments_with_status(list(led), "submitted")
    return [(led[a.unit_id], a) for a in waiting]


async def review_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/duyet [id]: the submitted assessment to approve or return (leaders only)."""
    pending = await pending_reviews(ctx)
    if argument.strip():
        chosen = [(u, a) for u, a in pending if str(a.id) == argument.strip()]
        if not chosen:
            return [Reply(t("approval.not_pending")), await _back(ctx)]
        pending = chosen
    if not pending:
        return [Reply(t("approval.none")), await _back(ctx)]
    if len(pending) > 1:
        return [await show(ctx, "approvals")]
    return [await show(ctx, "approval", review_id=pending[0][1].id)]


@register
class Approvals(Screen):
    """Several units await the leader: pick one."""

    mode = "approvals"

    async def prompt(self, ctx: Ctx) -> Reply:
        pending = await pending_reviews(ctx)
        if not pending:
            return await show(ctx, "menu")
        options = [
            Option(t("approval.item", unit=u.name, year=a.year), f"v:{a.id}") for u, a in pending
        ]
        return ctx.prompt(t("approval.pick"), [*options, CANCEL])

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        if value.startswith("v:") and value[2:].isdigit():
            return await review_command(ctx, value[2:])
        return await super().on_choice(ctx, value)


async def _under_review(ctx: Ctx) -> tuple[Unit, Assessment] | None:
    """The assessment this chat reviews, if the person still leads its unit and it still waits."""
    review_id = ctx.chat.data.get("review_id")
    for unit, assessment in await pending_reviews(ctx):
        if assessment.id == review_id:
            return unit, assessment
    return None


@register
class Approval(Screen):
    """A leader reads the summary and approves, or returns it with a comment."""

    mode = "approval"

    async def prompt(self, ctx: Ctx) -> Reply:
        from conversations.assessing import report_summary  # assessing imports this module

        target = await _under_review(ctx)
        if target is None:
            return await show(ctx, "menu")
        unit, assessment = target
        summary = await report_summary(ctx, unit, assessment)
        options = [
            Option(t("approval.approve"), "o:approve"),
            Option(t("approval.return"), "o:return"),
            Option(t("approval.later"), "o:later"),
        ]
        return ctx.prompt(
            t("approval.ask", unit=unit.name, year=assessment.year) + "\n\n" + summary, options
        )

    async def on_choice(self, ctx: Ctx, value: str) -> list[Reply]:
        target = await _under_review(ctx)
        if value in ("o:approve", "o:return") and target is None:
            return [Reply(t("approval.not_pending")), await show(ctx, "menu")]
        if value == "o:approve" and target is not None:
            return await approve(ctx, *target)
        if value == "o:return" and target is not None:
            return [await show(ctx, "return_comment", review_id=target[1].id)]
        if value == "o:later":
            return [await show(ctx, "menu")]
        return await super().on_choice(ctx, value)


@register
class ReturnComment(Screen):
    """Why the report goes back: staff see this comment when they reopen the assessment."""

    mode = "return_comment"

    async def prompt(self, ctx: Ctx) -> Reply:
        return ctx.prompt(t("approval.comment_ask"), [CANCEL])

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        target = await _under_review(ctx)
        if target is None:
            return [Reply(t("approval.not_pending")), await show(ctx, "menu")]
        comment = text.strip()
        if not 3 <= len(comment) <= MAX_COMMENT:
            return [Reply(t("approval.comment_length", max=MAX_COMMENT)), await self.prompt(ctx)]
        return await return_to_staff(ctx, *target, comment)


async def approve(ctx: Ctx, unit: Unit, assessment: Assessment) -> list[Reply]:
    """Final: staff are told, and the supervising unit receives the summary and the report."""
    from conversations.assessing import report_and_summary

    await ctx.tx.set_decision(assessment.id, "approved", ctx.person.id, None)
    await ctx.tx.log(
        "assessment.approved", person_id=ctx.person.id, unit_id=unit.id, assessment_id=assessment.id
    )
    told = t(
        "approval.approved_staff",
        unit=unit.name,
        year=assessment.year,
        leader=ctx.person.display_name,
    )
    for person in await members_with(ctx, unit.id, ("staff", "leader", "supervisor")):
        if person.id != ctx.person.id:
            await notify(ctx, person, [Reply(told)])
    if unit.supervisor_id is not None:
        summary, report = await report_and_summary(ctx, unit, assessment)
        heading = t(
            "approval.to_supervisor",
            unit=unit.name,
            year=assessment.year,
            leader=ctx.person.display_name,
        )
        for person in await members_with(ctx, unit.supervisor_id, ("supervisor",)):
            await notify(ctx, person, [Reply(f"{heading}\n\n{summary}", files=(report,))])
    done = t(
        "approval.approved",
        unit=unit.name,
        year=assessment.year,
        supervised=unit.supervisor_id is not None,
    )
    return [Reply(done), await show(ctx, "menu")]


async def return_to_staff(
    ctx: Ctx, unit: Unit, assessment: Assessment, comment: str
) -> list[Reply]:
    """Back to draft with the comment; staff are told and can reopen it with one press."""
    await ctx.tx.set_decision(assessment.id, "returned", ctx.person.id, comment)
    await ctx.tx.log(
        "assessment.returned",
        person_id=ctx.person.id,
        unit_id=unit.id,
        assessment_id=assessment.id,
        data={"comment": comment},
    )
    text = t(
        "approval.returned_staff",
        unit=unit.name,
        year=assessment.year,
        leader=ctx.person.display_name,
        comment=comment,
    )
    button = command_choice(t("approval.fix_button"), "tieptuc")
    for person in await members_with(ctx, unit.id, ("staff", "leader", "supervisor")):
        if person.id != ctx.person.id:
            await notify(ctx, person, [Reply(text, (button,))])
    return [Reply(t("approval.returned", unit=unit.name)), await show(ctx, "menu")]


async def mute_command(ctx: Ctx, muted: bool = True) -> list[Reply]:
    """/tatnhac: reminders for the unit off (again: still off); /batnhac: back on."""
    unit = await ctx.unit()
    if unit is None or await ctx.role_in(unit.id) is None:
        return [Reply(t("error.no_unit")), await show(ctx, "start")]
    await ctx.tx.update_unit(unit.id, {"reminders_muted": muted})
    await ctx.tx.log(
        "unit.reminders", person_id=ctx.person.id, unit_id=unit.id, data={"muted": muted}
    )
    return [Reply(t("reminder.muted" if muted else "reminder.unmuted")), await _back(ctx)]
