"""Reminders of unfinished assessments: every few days, and daily as the filing deadline nears.

`send_reminders` runs periodically in the service (state in the database, so a restart neither
forgets nor repeats a reminder). A unit mutes them with /tatnhac (`mute_command`). The deadline
is the framework's: the end of the first quarter for Thông tư 22/2020, 15 January of the next
year for Thông tư 24/2023.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from conversations.context import Ctx
from conversations.events import Reply
from conversations.modes import Mode
from conversations.outbox import command_choice, enqueue_for
from conversations.screen import again, show
from conversations.settings import Settings
from conversations.working import default_year, framework_for, questionnaire
from rubric.dates import last_filing_day
from rubric.loader import UnknownFramework, load_framework
from storage.base import Assessment, Transaction, Unit
from templates.text import t

ROLES = ("staff", "leader")


async def send_reminders(tx: Transaction, now: datetime, today: date, settings: Settings) -> int:
    """Queue reminders for every unit that is due one; the number of units reminded.

    An assessment is recalled until its filing deadline passes, never for a year still to
    come; a unit that has not started the year being assessed is recalled too.
    """
    reminded = 0
    working = default_year(today)
    started: set[int] = set()
    for assessment in await tx.assessments_in_progress():
        started.add(assessment.unit_id)
        unit = await tx.get_unit(assessment.unit_id)
        if unit is None or assessment.year > working:
            continue
        last_day = _last_day(assessment.framework_id, assessment.year)
        changed = assessment.updated_at or now
        if await _reminded(tx, unit, assessment.year, last_day, changed, now, today, settings):
            await _remind(tx, unit, assessment, last_day)
            reminded += 1
    reminded += await _not_started(tx, started, working, now, today, settings)
    return reminded


async def _reminded(
    tx: Transaction,
    unit: Unit,
    year: int,
    last_day: date | None,
    changed: datetime,
    now: datetime,
    today: date,
    settings: Settings,
) -> bool:
    """Whether `unit` is due a reminder for `year` now; if so, recorded as reminded."""
    if unit.reminders_muted or unit.supervises or last_day is None or today > last_day:
        return False
    last = await tx.last_reminder(unit.id, year)
    if not _due(last, changed, now, (last_day - today).days, settings):
        return False
    await tx.set_reminded(unit.id, year, now)
    await tx.log("reminder.sent", unit_id=unit.id, data={"year": year})
    return True


async def _not_started(
    tx: Transaction, started: set[int], year: int, now: datetime, today: date, settings: Settings
) -> int:
    """Units with members and no assessment of the working year at all."""
    count = 0
    units = [u for u in await tx.units() if u.id not in started and not u.supervises]
    assessed = await tx.assessments_of_units([u.id for u in units], year)  # one query for all
    for unit in units:
        framework = framework_for(year, unit.level)
        if unit.id in assessed or framework is None or not await tx.members(unit.id):
            continue
        last_day = _last_day(framework.id, year)
        changed = unit.created_at or now
        if await _reminded(tx, unit, year, last_day, changed, now, today, settings):
            text = t("reminder.not_started", unit=unit.name, year=year, deadline=_vn(last_day))
            await _send(tx, unit, text)
            count += 1
    return count


def _vn(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _last_day(framework_id: str, year: int) -> date | None:
    try:
        framework = load_framework(framework_id)
    except UnknownFramework:
        return None
    return last_filing_day(framework, year)


def _due(
    last: datetime | None, changed: datetime, now: datetime, days_left: int, settings: Settings
) -> bool:
    """Every `remind_every_days` since the later of the last reminder and the last change (work
    done after a reminder puts the next one off), and each day in the last
    `remind_before_days` before the deadline."""
    if 0 <= days_left <= settings.remind_before_days:
        return last is None or now - last >= timedelta(days=1)
    since = max(last, changed) if last is not None else changed
    return now - since >= timedelta(days=settings.remind_every_days)


async def _remind(
    tx: Transaction, unit: Unit, assessment: Assessment, last_day: date | None
) -> None:
    q = questionnaire(unit, assessment)
    answers = q.decode(await tx.answers(assessment.id))
    text = t(
        "reminder.text",
        unit=unit.name,
        year=assessment.year,
        answered=len(q) - len(q.unanswered(answers)),
        n=len(q),
        deadline=_vn(last_day),
        returned=assessment.status == "returned",
    )
    await _send(tx, unit, text)


async def _send(tx: Transaction, unit: Unit, text: str) -> None:
    """The reminder to the unit's staff and leaders, with buttons that act on this unit."""
    buttons = (
        command_choice(t("reminder.continue"), f"@{unit.id} tieptuc"),
        command_choice(t("reminder.mute"), f"@{unit.id} tatnhac"),
    )
    for person, role in await tx.members(unit.id):
        if role in ROLES:
            await enqueue_for(tx, person, [Reply(text, buttons)])


async def mute_command(ctx: Ctx, muted: bool = True) -> list[Reply]:
    """/tatnhac: reminders for the unit off (again: still off); /batnhac: back on."""
    unit = await ctx.unit()
    if unit is None or await ctx.role_in(unit.id) is None:
        return [Reply(t("error.no_unit")), await show(ctx, Mode.START)]
    await ctx.tx.update_unit(unit.id, {"reminders_muted": muted})
    await ctx.tx.log(
        "unit.reminders", person_id=ctx.person.id, unit_id=unit.id, data={"muted": muted}
    )
    return [Reply(t("reminder.muted" if muted else "reminder.unmuted")), await again(ctx)]
