"""Reminders of unfinished assessments: every few days, and daily as the filing deadline nears.

Run periodically by the service (state in the database, so a restart neither forgets nor
repeats a reminder). A unit can mute them (/tatnhac). The deadline is the framework's: the end
of the first quarter for Thông tư 22/2020, 15 January of the next year for Thông tư 24/2023.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from conversations.assessing import questionnaire
from conversations.events import Reply
from conversations.leaders import command_choice, enqueue_for
from conversations.settings import Settings
from rubric.dates import last_filing_day
from rubric.loader import UnknownFramework, load_framework
from storage.base import Assessment, Transaction, Unit
from templates.text import t

STALE_AFTER = timedelta(days=60)  # no reminders for a year whose deadline is long past
ROLES = ("staff", "leader")


async def send_reminders(tx: Transaction, now: datetime, today: date, settings: Settings) -> int:
    """Queue reminders for every unit that is due one; the number of units reminded."""
    reminded = 0
    for assessment in await tx.assessments_in_progress():
        unit = await tx.get_unit(assessment.unit_id)
        if unit is None or unit.reminders_muted:
            continue
        last_day = _last_day(assessment)
        if last_day is None or today > last_day + STALE_AFTER:
            continue
        last = await tx.last_reminder(unit.id, assessment.year)
        if not _due(assessment, last, now, (last_day - today).days, settings):
            continue
        await _remind(tx, unit, assessment, last_day)
        await tx.set_reminded(unit.id, assessment.year, now)
        await tx.log("reminder.sent", unit_id=unit.id, assessment_id=assessment.id)
        reminded += 1
    return reminded


def _last_day(assessment: Assessment) -> date | None:
    try:
        framework = load_framework(assessment.framework_id)
    except UnknownFramework:
        return None
    return last_filing_day(framework, assessment.year)


def _due(
    assessment: Assessment,
    last: datetime | None,
    now: datetime,
    days_left: int,
    settings: Settings,
) -> bool:
    """Every `remind_every_days` since the last reminder (or the last change), and each day in
    the last `remind_before_days` before the deadline."""
    since = last or assessment.updated_at or now
    if 0 <= days_left <= settings.remind_before_days:
        return last is None or now - last >= timedelta(days=1)
    return now - since >= timedelta(days=settings.remind_every_days)


async def _remind(tx: Transaction, unit: Unit, assessment: Assessment, last_day: date) -> None:
    q = questionnaire(unit, assessment)
    answers = q.decode(await tx.answers(assessment.id))
    text = t(
        "reminder.text",
        unit=unit.name,
        year=assessment.year,
        answered=len(q) - len(q.unanswered(answers)),
        n=len(q),
        deadline=last_day.strftime("%d/%m/%Y"),
        returned=assessment.status == "returned",
    )
    buttons = (
        command_choice(t("reminder.continue"), f"@{unit.id} tieptuc"),
        command_choice(t("reminder.mute"), f"@{unit.id} tatnhac"),
    )
    for person, role in await tx.members(unit.id):
        if role in ROLES:
            await enqueue_for(tx, person, [Reply(text, buttons)])
