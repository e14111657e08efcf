"""The leader's approval: the submission announced to the leaders, approved or returned with a
comment, and everyone concerned told (through the outbox, in the decision's transaction)."""

from __future__ import annotations

from conversations.context import Ctx, Option
from conversations.events import Choice, Reply
from conversations.jobs import Recipient, queue_report
from conversations.modes import Mode
from conversations.outbox import command_choice, notify
from conversations.reporting import report_data
from conversations.roles import members_with, pending_reviews
from conversations.screen import CANCEL, Screen, again, show
from conversations.working import Working
from storage.base import Assessment, Person, Unit
from templates.report import summary_text
from templates.text import t

MAX_COMMENT = 1000


async def announce_submission(
    ctx: Ctx, unit: Unit, assessment: Assessment, summary: str
) -> tuple[str, list[Recipient]]:
    """Send each leader (but the submitter) the summary with the review buttons; the line that
    tells the submitter who was told, and the leaders' chats, where the report follows."""
    leaders = await members_with(ctx, unit.id, ("leader",))
    buttons = decision_buttons(assessment)
    heading = t(
        "approval.to_leader", unit=unit.name, year=assessment.year, who=ctx.person.display_name
    )
    others = [p for p in leaders if p.id != ctx.person.id]
    for leader in others:
        await notify(ctx, leader, [Reply(f"{heading}\n\n{summary}", buttons)])
    chats = [private_chat(p) for p in others]
    if others:
        return t("approval.sent_to", names=", ".join(p.display_name for p in others)), chats
    if leaders:  # the submitter is the unit's only leader
        return t("approval.self"), chats
    return t("approval.no_leader"), chats


def private_chat(person: Person) -> Recipient:
    """A person's private chat: on Telegram and on Zalo its id is the person's own id."""
    return Recipient(person.id, person.channel, person.channel_user_id)


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
        return [target, await again(ctx)]
    return await approve(ctx, *target)


async def return_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/tralai ID: ask the leader's comment, then send the assessment back to staff."""
    target = await _pending(ctx, argument)
    if isinstance(target, Reply):
        return [target, await again(ctx)]
    return [await show(ctx, Mode.RETURN_COMMENT, review_id=target[1].id)]


async def _pending(ctx: Ctx, argument: str) -> tuple[Unit, Assessment] | Reply:
    """The submission "ID [VERSION]" names, if it awaits this leader; else why not."""
    wanted, _, version = argument.strip().partition(" ")
    found = next(((u, a) for u, a in await pending_reviews(ctx) if str(a.id) == wanted), None)
    if found is None:
        return Reply(t("approval.not_pending"))
    if version.strip() and version.strip() != _version(found[1]):
        return Reply(t("approval.outdated"))
    return found


async def review_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/duyet [id]: the submitted assessment to approve or return (leaders only)."""
    pending = await pending_reviews(ctx)
    if argument.strip():
        chosen = [(u, a) for u, a in pending if str(a.id) == argument.strip()]
        if not chosen:
            return [Reply(t("approval.not_pending")), await again(ctx)]
        pending = chosen
    if not pending:
        return [Reply(t("approval.none")), await again(ctx)]
    if len(pending) > 1:
        return [await show(ctx, Mode.APPROVALS)]
    return [await show(ctx, Mode.APPROVAL, review_id=pending[0][1].id)]


class Approvals(Screen):
    """Several units await the leader: pick one."""

    async def prompt(self, ctx: Ctx) -> Reply:
        pending = await pending_reviews(ctx)
        if not pending:
            return await show(ctx, Mode.MENU)
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


class Approval(Screen):
    """A leader reads the summary and approves, or returns it with a comment."""

    async def prompt(self, ctx: Ctx) -> Reply:
        target = await _under_review(ctx)
        if target is None:
            return await show(ctx, Mode.MENU)
        unit, assessment = target
        work = Working.of(unit, assessment)
        summary = summary_text(await report_data(ctx.tx, work, ctx.today))
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
            return [Reply(t("approval.not_pending")), await show(ctx, Mode.MENU)]
        if value == "o:approve" and target is not None:
            return await approve(ctx, *target)
        if value == "o:return" and target is not None:
            return [await show(ctx, Mode.RETURN_COMMENT, review_id=target[1].id)]
        if value == "o:later":
            return [await show(ctx, Mode.MENU)]
        return await super().on_choice(ctx, value)


class ReturnComment(Screen):
    """Why the report goes back: staff see this comment when they reopen the assessment."""

    async def prompt(self, ctx: Ctx) -> Reply:
        return ctx.prompt(t("approval.comment_ask"), [CANCEL])

    async def on_text(self, ctx: Ctx, text: str) -> list[Reply]:
        target = await _under_review(ctx)
        if target is None:
            return [Reply(t("approval.not_pending")), await show(ctx, Mode.MENU)]
        comment = text.strip()
        if not 3 <= len(comment) <= MAX_COMMENT:
            return [Reply(t("approval.comment_length", max=MAX_COMMENT)), await self.prompt(ctx)]
        return await return_to_staff(ctx, *target, comment)


async def approve(ctx: Ctx, unit: Unit, assessment: Assessment) -> list[Reply]:
    """Final: staff are told, and the supervising unit receives the summary and the report."""
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
        data = await report_data(ctx.tx, Working.of(unit, assessment), ctx.today)
        summary = summary_text(data)
        heading = t(
            "approval.to_supervisor",
            unit=unit.name,
            year=assessment.year,
            leader=ctx.person.display_name,
        )
        supervisors = await members_with(ctx, unit.supervisor_id, ("supervisor",))
        for person in supervisors:
            await notify(ctx, person, [Reply(f"{heading}\n\n{summary}")])
        chats = [private_chat(p) for p in supervisors]
        await queue_report(ctx.tx, assessment.id, chats, ctx.event.channel)
    done = t(
        "approval.approved",
        unit=unit.name,
        year=assessment.year,
        supervised=unit.supervisor_id is not None,
    )
    return [Reply(done), await show(ctx, Mode.MENU)]


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
    return [Reply(t("approval.returned", unit=unit.name)), await show(ctx, Mode.MENU)]
