"""/baocao: the unit's latest submitted report, sent again to whoever of the unit asks.

The report is rendered by a job after the turn (as at submission), from what is stored, so it
is the same document the leaders received; a member who lost it, or joined later, gets it too.
"""

from __future__ import annotations

from conversations.context import Ctx
from conversations.events import Reply
from conversations.jobs import Recipient, queue_report
from conversations.screen import again
from storage.base import Assessment, Transaction
from templates.text import t

SENT = ("submitted", "approved")


async def latest_submitted(tx: Transaction, unit_id: int) -> Assessment | None:
    """The unit's most recently submitted assessment still submitted or approved: the one the
    menu names as the latest submission (by when it was submitted, not by its year)."""
    found = [a for status in SENT for a in await tx.assessments_with_status([unit_id], status)]
    return max(found, key=lambda a: (a.submitted_at or a.created_at, a.id), default=None)


async def report_command(ctx: Ctx, argument: str = "") -> list[Reply]:
    """Queue the report of the latest submission (or of the year typed) for this chat."""
    unit = await ctx.unit()
    prompt = await again(ctx)
    if unit is None:
        return [Reply(t("error.no_unit")), prompt]
    assessment = await latest_submitted(ctx.tx, unit.id)
    typed = argument.strip()
    if typed and not typed.isdecimal():  # a mistyped year, not a year without a report
        example = assessment.year if assessment is not None else ctx.today.year - 1
        return [Reply(t("report.bad_year", typed=typed[:20], example=example)), prompt]
    if typed:
        years = [a for s in SENT for a in await ctx.tx.assessments_with_status([unit.id], s)]
        assessment = next((a for a in years if str(a.year) == typed), None)
    if assessment is None:
        return [Reply(t("report.none_yet", unit=unit.name, year=typed)), prompt]
    to = Recipient(ctx.person.id, ctx.event.channel, ctx.event.chat_id)
    await queue_report(ctx.tx, assessment.id, [to], ctx.event.channel)
    return [Reply(t("report.preparing", year=assessment.year)), prompt]
