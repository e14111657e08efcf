"""The supervising level's view: how far its units are, with their results, and the workbook.

Only members of a supervising unit with the `supervisor` role see it, and only the units placed
under that supervising unit. Every figure is computed by the rubric engine from the stored
answers, exactly as the unit's own result screen computes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple

from conversations.context import Ctx
from conversations.events import OutgoingFile, Reply
from conversations.jobs import Recipient, queue_overview
from conversations.results import standing
from conversations.roles import units_where
from conversations.screen import again
from conversations.working import Working, default_year
from rubric.loader import kind
from rubric.scoring import PointsResult, RecognitionResult, Result, Status
from storage.base import AnswerRecord, Assessment, Transaction, Unit
from templates.formatting import VIETNAM
from templates.overview import OverviewRow, write_overview
from templates.text import render, t

STATUS_KEYS = ("none", "draft", "returned", "submitted", "approved")
MAX_LISTED = 40  # units listed in the chat message; the workbook has them all


async def overview_command(ctx: Ctx, argument: str) -> list[Reply]:
    """/tonghop [năm]: for each supervising unit of the person, the counts, the results and the
    .xlsx, built by a job after this turn (it reads every unit: never inside a turn), and a
    link to the page in a browser. A leader who supervises nothing gets their own unit's page."""
    supervising = [u for u in await units_where(ctx, "supervisor") if u.supervises]
    prompt = await again(ctx)
    year = default_year(ctx.today)
    if argument.strip():
        typed = argument.strip()
        if not typed.isdecimal() or not 2020 <= int(typed) <= ctx.today.year + 1:
            refusal = "error.bad_year" if supervising else "overview.not_supervisor"
            return [Reply(t(refusal, typed=typed[:20], last=ctx.today.year)), prompt]
        year = int(typed)
    if not supervising:
        led = [u for u in await units_where(ctx, "leader") if not u.supervises]
        own = [page_reply(ctx, led, whole=False, year=year)] if led else []
        return [Reply(t("overview.not_supervisor")), *own, prompt]
    to = Recipient(ctx.person.id, ctx.event.channel, ctx.event.chat_id)
    for unit in supervising:
        await queue_overview(ctx.tx, unit.id, year, ctx.today, to)
    names = ", ".join(unit.name for unit in supervising)
    page = page_reply(ctx, supervising, whole=True, year=year)
    return [Reply(t("overview.preparing", unit=names, year=year)), page, prompt]


def page_reply(ctx: Ctx, units: Sequence[Unit], whole: bool, year: int) -> Reply:
    """The page's signed link for each of `units`, or plainly why there is none."""
    linker = ctx.settings.page_links
    if linker is None:
        return Reply(t("page.no_address"))
    lines = []
    for unit in units:
        url, until = linker.link(ctx.person.id, unit.id, whole, year)
        local = until.astimezone(VIETNAM)
        key = "page.link_whole" if whole else "page.link_own"
        lines.append(
            t(key, unit=unit.name, url=url, time=f"{local:%H:%M}", day=f"{local:%d/%m/%Y}")
        )
    return Reply("\n\n".join(lines))


async def overview_reply(
    tx: Transaction, supervisor: Unit, year: int, today: date, folder: Path
) -> Reply:
    """The message for one supervising unit: the counts and rows computed from a snapshot, then
    the workbook built from them into `folder` (a job's work)."""
    units = await tx.supervised_units(supervisor.id)
    rows, columns, statuses = await overview_rows(tx, units, year, today)
    counts = {key: statuses.count(key) for key in STATUS_KEYS}
    workbook = write_workbook(folder, supervisor, year, columns, rows)
    text = render(
        "overview.j2",
        unit=supervisor.name,
        year=year,
        total=len(units),
        counts=counts,
        rows=rows[:MAX_LISTED],
        hidden=max(0, len(rows) - MAX_LISTED),
    )
    return Reply(text, files=(workbook,))


def write_workbook(
    folder: Path, supervisor: Unit, year: int, columns: Sequence[str], rows: Sequence[OverviewRow]
) -> OutgoingFile:
    """Build the consolidated .xlsx of `rows` in `folder`, as the file to send.

    No database: only the file (slow for thousands of units), from rows already computed by
    `overview_rows`, so it can run apart from the turn that asked for it.
    """
    title = t("overview.title", year=year)
    subtitle = t(
        "overview.subtitle", unit=supervisor.name, at=datetime.now(UTC).strftime("%d/%m/%Y")
    )
    name = t("overview.file_name", year=year, unit=supervisor.id)
    path = write_overview(folder / name, title, subtitle, columns, rows)
    return OutgoingFile(path, name, t("overview.caption", year=year))


async def overview_rows(
    tx: Transaction, units: Sequence[Unit], year: int, today: date
) -> tuple[list[OverviewRow], list[str], list[str]]:
    """One row per unit, the figure columns in order, and each unit's status key: database
    reads (two queries for all units) and scoring, nothing rendered."""
    assessments = await tx.assessments_of_units([u.id for u in units], year)
    answers = await tx.answers_of_assessments([a.id for a in assessments.values()])
    rows, statuses, columns = [], [], []
    for unit in units:
        assessment = assessments.get(unit.id)
        row = _row(unit, assessment, answers.get(assessment.id, {}) if assessment else {}, today)
        rows.append(row)
        statuses.append(assessment.status if assessment else "none")
        columns += [column for column in row.figures if column not in columns]
    return rows, columns, statuses


class Judged(NamedTuple):
    """A unit's row of the workbook, with the result it was made from (None: not started) and
    how many of its questions are answered."""

    row: OverviewRow
    result: Result | None
    answered: int
    questions: int


def _row(
    unit: Unit, assessment: Assessment | None, records: dict[str, AnswerRecord], today: date
) -> OverviewRow:
    return judge(unit, assessment, records, today).row


def judge(
    unit: Unit, assessment: Assessment | None, records: dict[str, AnswerRecord], today: date
) -> Judged:
    """One unit as the supervising level sees it: scored by `standing`, as its own screen is."""
    label = kind(unit.kind).label
    if assessment is None:
        return Judged(OverviewRow(unit.name, label, t("overview.status.none"), ""), None, 0, 0)
    work = Working.of(unit, assessment)
    q = work.q
    answers = q.decode(records)
    answered = len(q) - len(q.unanswered(answers))
    result = standing(work, answers, today).result
    done = assessment.status in ("submitted", "approved")
    row = OverviewRow(
        unit=unit.name,
        kind=label,
        status=t(f"overview.status.{assessment.status}"),
        progress=f"{answered}/{len(q)}",
        figures=_figures(result),
        total=total_of(result) if done else "",
        result=verdict_of(result) if done else "",
        submitted_at=assessment.submitted_at if done else None,
    )
    return Judged(row, result, answered, len(q))


def _figures(result: Result) -> dict[str, str]:
    """Per-criterion subtotals (TT 22) or each chỉ tiêu's đạt / không đạt (TT 24)."""
    if isinstance(result, PointsResult):
        return {_criterion(c.code): f"{c.score}/{c.max}" for c in result.criteria}
    return {_indicator(j.code): _status(j.status) for j in result.judgements}


@cache
def _indicator(code: str) -> str:
    return t("overview.indicator", code=code)


@cache
def _criterion(code: str) -> str:
    """A criterion's column title ("Tiêu chí 1"), worked out once: 10,000 rows ask for it."""
    return t("overview.criterion", code=code)


def _status(status: Status | None) -> str:
    return str(status).capitalize() if status is not None else ""


def total_of(result: Result) -> str:
    if isinstance(result, PointsResult):
        return f"{result.total}/{result.max_total}"
    assert isinstance(result, RecognitionResult)
    applicable = [j for j in result.judgements if j.status is not Status.KHONG_AP_DUNG]
    met = [j for j in applicable if j.status is Status.DAT]
    return t("overview.met", met=len(met), applicable=len(applicable))


def verdict_of(result: Result) -> str:
    if isinstance(result, PointsResult):
        return result.classification or ""
    assert isinstance(result, RecognitionResult)
    if result.recognised:
        return t("overview.recognised", level=result.level)
    return t("overview.not_recognised")
