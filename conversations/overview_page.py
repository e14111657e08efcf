"""The supervising level's page in a browser: what it shows, read on a snapshot and judged.

The page (served by `bot.webpage`) shows one supervising unit's units, or a leader's own unit,
with their state, result and report. Its work runs in the page worker (a separate process in
the service, a thread in the console), never on the loop that answers the chats: `answer`
opens its own connection, reads one snapshot through the storage contract and renders.

Judging 10,000 units means reading ~170,000 answers (about a second), so each unit's judged row
is kept in this worker (`RowCache`) together with the unit's `UnitStamp`: a page reads the
stamps (one cheap query), judges again only the units whose stamp changed, then filters, sorts
and cuts a page from rows in memory. The cache is only a copy: every request checks it against
the database, and a fresh worker starts with none.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from conversations.overview import judge, total_of, verdict_of, write_workbook
from conversations.reporting import report_data, write_report
from conversations.settings import Settings
from conversations.working import Working, default_year, framework_for
from rubric.answers import fold
from rubric.dates import last_filing_day
from rubric.loader import kind, load_framework
from rubric.scoring import PointsResult, RecognitionResult, Result, Status
from storage import open_repository
from storage.base import AnswerRecord, Assessment, Transaction, Unit, UnitStamp
from templates.formatting import VIETNAM
from templates.overview_page import DONE, SORTS, STATUS_KEYS, PageRow, Progress, Query, View
from templates.text import t

PER_PAGE = 50
T = TypeVar("T")
FULL_READ = 300  # more changed units than this: read them all at once rather than one by one


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose page: a person, and a supervising unit (`whole`) or the unit alone."""

    person_id: int
    unit_id: int
    whole: bool


def page_row(
    unit: Unit, assessment: Assessment | None, records: dict[str, AnswerRecord], today: date
) -> PageRow:
    """Judge one unit (`conversations.overview.judge`, as the workbook does)."""
    judged = judge(unit, assessment, records, today)
    status = assessment.status if assessment else "none"
    result = judged.result if status in DONE else None
    rank, score = _rank(assessment, result)
    return PageRow(
        unit_id=unit.id,
        name=unit.name,
        folded=fold(unit.name),
        kind=unit.kind,
        kind_label=kind(unit.kind).label,
        status=status,
        changed=(assessment.updated_at if assessment else None) or unit.created_at,
        answered=judged.answered,
        questions=judged.questions,
        total=total_of(result) if result else "",
        result=verdict_of(result) if result else "",
        rank=rank,
        score=score,
        unmet=tuple(result.unmet) if isinstance(result, RecognitionResult) else (),
        submitted_at=assessment.submitted_at if assessment and result else None,
        sheet=judged.row,
    )


def _rank(assessment: Assessment | None, result: Result | None) -> tuple[int, float]:
    """Best results first: a classification band's place (TT 22), or a mức độ recognised
    (higher first) before "chưa đạt" (TT 24); the score sorts within them."""
    if assessment is None or result is None:
        return 99, -1.0
    if isinstance(result, PointsResult):
        bands = [band.label for band in load_framework(assessment.framework_id).classification]
        place = bands.index(result.classification) if result.classification in bands else 50
        return place, float(result.total)
    assert isinstance(result, RecognitionResult)
    applicable = [j for j in result.judgements if j.status not in (None, Status.KHONG_AP_DUNG)]
    met = len(applicable) - len(result.unmet)
    share = met / len(applicable) if applicable else 0.0
    if result.recognised:
        return 10 - result.level, result.level + share
    return 20, share


class RowCache:
    """Judged rows by unit and year, each with the stamp it was judged at (and the day: a
    draft's standing is as of today). Bounded; shared by the worker's threads."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._rows: dict[tuple[int, int], tuple[UnitStamp, date, PageRow]] = {}
        self._lock = threading.Lock()

    def get(self, stamp: UnitStamp, year: int, today: date) -> PageRow | None:
        with self._lock:
            kept = self._rows.get((stamp.unit_id, year))
        if kept is None or kept[0] != stamp or kept[1] != today:
            return None
        return kept[2]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def clear(self) -> None:
        """Forget every row (they are only a copy: the next page judges its units again)."""
        with self._lock:
            self._rows.clear()

    def put(self, stamp: UnitStamp, year: int, today: date, row: PageRow) -> None:
        with self._lock:
            if len(self._rows) >= self.limit:  # the oldest entries go first
                for key in list(self._rows)[: self.limit // 10]:
                    del self._rows[key]
            self._rows[(stamp.unit_id, year)] = (stamp, today, row)


CACHE = RowCache()


def stamp_of(unit: Unit, assessment: Assessment | None) -> UnitStamp:
    """A unit's stamp from its records (a leader's page reads one unit, not a list)."""
    return UnitStamp(
        unit.id,
        unit.name,
        unit.kind,
        unit.level,
        unit.level1_decision_number,
        unit.level1_decision_date,
        assessment.id if assessment else None,
        assessment.status if assessment else None,
        assessment.updated_at if assessment else None,
    )


async def page_rows(
    tx: Transaction, owner: Unit, whole: bool, year: int, today: date, cache: RowCache = CACHE
) -> list[PageRow]:
    """Every unit of the page, by name: kept rows whose stamp is unchanged, the others judged
    again from this snapshot."""
    if whole:
        stamps = await tx.unit_stamps(owner.id, year)
    else:
        own = (await tx.assessments_of_units([owner.id], year)).get(owner.id)
        stamps = [stamp_of(owner, own)]
    found = {s.unit_id: row for s in stamps if (row := cache.get(s, year, today)) is not None}
    stale = [s for s in stamps if s.unit_id not in found]
    if stale:
        found |= await _judge(tx, owner, whole, stale, year, today, cache)
    return [found[s.unit_id] for s in stamps if s.unit_id in found]


async def _judge(
    tx: Transaction,
    owner: Unit,
    whole: bool,
    stale: Sequence[UnitStamp],
    year: int,
    today: date,
    cache: RowCache,
) -> dict[int, PageRow]:
    ids = [s.unit_id for s in stale]
    if not whole:
        units = {owner.id: owner}
    elif len(ids) > FULL_READ:
        units = {u.id: u for u in await tx.supervised_units(owner.id)}
    else:
        units = {i: u for i in ids if (u := await tx.get_unit(i)) is not None}
    assessments = await tx.assessments_of_units(ids, year)
    answers = await tx.answers_of_assessments([a.id for a in assessments.values()])
    judged = {}
    for stamp in stale:
        unit = units.get(stamp.unit_id)
        if unit is None:
            continue
        assessment = assessments.get(unit.id)
        row = page_row(unit, assessment, answers.get(assessment.id, {}) if assessment else {},
                       today)  # fmt: skip
        cache.put(stamp, year, today, row)
        judged[unit.id] = row
    return judged


# --- what the person asked: filter, sort, page ------------------------------------------------


def parse_query(params: Mapping[str, str], today: date) -> Query:
    """The query of `params` (the URL's): a bad value is replaced by its default and said."""
    notices: list[str] = []

    def bad(name: str, value: str) -> None:
        notices.append(t("page.bad_param", name=name, value=value[:30]))

    year = default_year(today)
    typed = params.get("nam", "").strip()
    if typed:
        if typed.isdecimal() and 2020 <= int(typed) <= today.year + 1:
            year = int(typed)
        else:
            bad(t("page.param.year"), typed)
    status = params.get("trangthai", "").strip()
    if status and status not in STATUS_KEYS:
        bad(t("page.param.status"), status)
        status = ""
    kind_id = params.get("loai", "").strip()
    if kind_id:
        try:
            kind(kind_id)
        except KeyError:
            bad(t("page.param.kind"), kind_id)
            kind_id = ""
    sort = params.get("sapxep", "ten").strip() or "ten"
    if sort not in SORTS:
        bad(t("page.param.sort"), sort)
        sort = "ten"
    page = params.get("trang", "1").strip() or "1"
    if not page.isdecimal() or not 1 <= int(page) <= 1_000_000:
        bad(t("page.param.page"), page)
        page = "1"
    return Query(
        year=year,
        status=status,
        kind=kind_id,
        search=params.get("tim", "").strip()[:100],
        sort=sort,
        descending=params.get("chieu", "") == "giam",
        page=int(page),
        notices=tuple(notices),
    )


# --- what the page shows ----------------------------------------------------------------------


def view_of(
    owner: Unit, whole: bool, rows: Sequence[PageRow], query: Query, today: date, now: datetime
) -> View:
    """Counts, charts and the page of rows `query` asks for, from every row of the scope."""
    counts = Counter(row.status for row in rows)
    kinds = sorted({(row.kind, row.kind_label) for row in rows}, key=lambda k: k[1])
    chosen = filtered(rows, query)
    pages = max(1, -(-len(chosen) // PER_PAGE))
    page = min(query.page, pages)
    start = (page - 1) * PER_PAGE
    ranked = Counter((row.rank, row.result) for row in rows if row.result)
    return View(
        owner=owner,
        whole=whole,
        query=replace(query, page=page),
        total=len(rows),
        counts={key: counts.get(key, 0) for key in STATUS_KEYS},
        kinds=kinds,
        rows=chosen[start : start + PER_PAGE],
        matching=len(chosen),
        pages=pages,
        results=[(label, n) for (_, label), n in sorted(ranked.items())],
        progress=progress_of(owner, rows, query.year, today),
        read_at=now,
        first=start + 1,
    )


def filtered(rows: Sequence[PageRow], query: Query) -> list[PageRow]:
    """The rows the filters keep, in the order asked (ties by name, always ascending)."""
    found = [
        row
        for row in rows
        if (not query.status or row.status == query.status)
        and (not query.kind or row.kind == query.kind)
    ]
    if query.search:
        needle = fold(query.search)
        found = [row for row in found if needle in row.folded]
    found.sort(key=lambda row: (row.folded, row.unit_id))
    if query.sort != "ten" or query.descending:
        found.sort(key=_SORT_KEYS[query.sort], reverse=query.descending)
    return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SORT_KEYS = {
    "ten": lambda row: row.folded,
    "loai": lambda row: row.kind_label,
    "trangthai": lambda row: STATUS_KEYS.index(row.status),
    "capnhat": lambda row: row.changed or _EPOCH,
    "ketqua": lambda row: row.score,
}


def progress_of(owner: Unit, rows: Sequence[PageRow], year: int, today: date) -> Progress:
    """Cumulative submissions by day, from 1 January of `year` to its filing deadline."""
    framework = framework_for(year, "cap-huyen" if owner.supervises else owner.level)
    deadline = last_filing_day(framework, year) if framework else None
    days = Counter(  # a clock set back (tests, a wrong host clock) never draws the future
        min(today, row.submitted_at.astimezone(VIETNAM).date())
        for row in rows
        if row.done and row.submitted_at is not None
    )
    running, cumulative = 0, []
    for day in sorted(days):
        running += days[day]
        cumulative.append((day, running))
    start = min([date(year, 1, 1), *days])
    return Progress(start, deadline, today, len(rows), tuple(cumulative))


# --- the worker's entry -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A checked link's request, as the worker gets it (plain values: it crosses processes)."""

    scope: Scope
    action: str  # "page" | "report" | "workbook"
    params: dict[str, str]
    today: date
    now: datetime
    expires: datetime  # when the link stops working (the page says it)
    unit_id: int | None = None  # the report asked for


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """What the worker found: a page's view, a file to hand out, or a refusal (its reason)."""

    status: int
    view: View | None = None
    file: tuple[Path, str] | None = None
    refusal: str = ""


def answer(url: str, request: PageRequest, settings: Settings) -> PageAnswer:
    """Do `request` on a snapshot of the store at `url` (its own connection and event loop:
    this runs in the page worker, never on the service's loop)."""
    return asyncio.run(_answer(url, request, settings))


async def _answer(url: str, request: PageRequest, settings: Settings) -> PageAnswer:
    return await _on_snapshot(url, partial(_answer_in, request=request, settings=settings))


async def _answer_in(tx: Transaction, request: PageRequest, settings: Settings) -> PageAnswer:
    owner = await allowed(tx, request.scope)
    if owner is None:
        return PageAnswer(403, refusal="no_longer")
    query = parse_query(request.params, request.today)
    if request.action == "report":
        return await _report(tx, owner, request, query.year, settings)
    rows = await page_rows(tx, owner, request.scope.whole, query.year, request.today)
    if request.action == "workbook":
        return _workbook(owner, rows, query.year, settings)
    return PageAnswer(200, view_of(owner, request.scope.whole, rows, query,
                                   request.today, request.now))  # fmt: skip


async def _on_snapshot(url: str, read: Callable[[Transaction], Awaitable[T]]) -> T:
    """`read` on a snapshot of the store at `url`, on a connection of the page worker's own."""
    repository = await open_repository(url, migrate=False)
    try:
        async with repository.snapshot() as tx:
            return await read(tx)
    finally:
        await repository.close()


def warm(url: str, unit_id: int, whole: bool, year: int, today: date) -> int:
    """In the page worker: judge the units of a page that a link was just given for, so that
    the person's first load finds its rows kept (judging 10,000 units takes a second or two;
    a page of kept rows well under a tenth of that). How many rows are now kept."""
    return asyncio.run(_warm(url, unit_id, whole, year, today))


async def _warm(url: str, unit_id: int, whole: bool, year: int, today: date) -> int:
    async def ready(tx: Transaction) -> int:
        owner = await tx.get_unit(unit_id)
        return 0 if owner is None else len(await page_rows(tx, owner, whole, year, today))

    return await _on_snapshot(url, ready)


async def allowed(tx: Transaction, scope: Scope) -> Unit | None:
    """The scope's unit if its person still holds the role the link was given for (read now:
    a link stops working when its person leaves the unit or loses the role)."""
    unit = await tx.get_unit(scope.unit_id)
    if unit is None or unit.supervises != scope.whole:
        return None
    role = "supervisor" if scope.whole else "leader"
    held = any(
        m.unit_id == unit.id and m.role == role for m in await tx.memberships(scope.person_id)
    )
    return unit if held else None


async def _report(
    tx: Transaction, owner: Unit, request: PageRequest, year: int, settings: Settings
) -> PageAnswer:
    """The submitted report of a unit of the scope, rendered from what is stored (as the
    report job renders it); a unit outside the scope is refused like a forged link."""
    unit = await tx.get_unit(request.unit_id) if request.unit_id is not None else None
    inside = unit is not None and (
        unit.supervisor_id == owner.id if request.scope.whole else unit.id == owner.id
    )
    if unit is None or not inside:
        return PageAnswer(403, refusal="other_unit")
    assessment = (await tx.assessments_of_units([unit.id], year)).get(unit.id)
    if assessment is None or assessment.status not in DONE:
        return PageAnswer(404, refusal="no_report")
    day = assessment.submitted_on or request.today
    data = await report_data(tx, Working.of(unit, assessment), day)
    file = write_report(settings.reports_dir, assessment, data)
    return PageAnswer(200, file=(file.path, file.name))


def _workbook(owner: Unit, rows: Sequence[PageRow], year: int, settings: Settings) -> PageAnswer:
    """The consolidated .xlsx of the scope, from the judged rows (as `/tonghop` sends it)."""
    columns: list[str] = []
    for row in rows:
        columns += [column for column in row.sheet.figures if column not in columns]
    file = write_workbook(settings.reports_dir, owner, year, columns, [r.sheet for r in rows])
    return PageAnswer(200, file=(file.path, file.name))
