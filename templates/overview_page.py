"""The supervising level's page as HTML: jinja2 templates under templates/web/, charts as SVG.

Everything is rendered here, on the server: the page needs nothing from the network and no
build step, and works without its few lines of JavaScript (which only submit the filters when
one is changed). The charts are plain inline SVG whose coordinates are worked out below.
What the page shows arrives computed (`View`, built by `conversations.overview_page`, as
`OverviewRow` is for the workbook): this module only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import jinja2

from storage.base import Unit
from templates.formatting import VIETNAM, format_number
from templates.overview import OverviewRow
from templates.text import t

STATUS_KEYS = ("none", "draft", "returned", "submitted", "approved")
DONE = ("submitted", "approved")
SORTS = ("ten", "loai", "trangthai", "capnhat", "ketqua")


@dataclass(frozen=True, slots=True)
class PageRow:
    """One unit on the page: what its row shows and what it is sorted and counted by."""

    unit_id: int
    name: str
    folded: str  # the name without diacritics, lower case: what sorting and search compare
    kind: str
    kind_label: str
    status: str  # one of STATUS_KEYS
    changed: datetime | None
    answered: int
    questions: int
    total: str  # "93/100", "13/13 chỉ tiêu đạt" ("" until submitted)
    result: str  # "Tốt", "Đạt mức độ 1", "Chưa đạt" ("" until submitted)
    rank: int  # the result's place among the results (best first), for the chart
    score: float  # what sorting by result compares (-1: no result yet)
    unmet: tuple[str, ...]
    submitted_at: datetime | None
    sheet: OverviewRow  # the unit's row of the workbook

    @property
    def done(self) -> bool:
        return self.status in DONE


@dataclass(frozen=True, slots=True)
class Query:
    """The page's query parameters, checked: anything wrong is set aside with a notice."""

    year: int
    status: str = ""  # "" or one of STATUS_KEYS
    kind: str = ""  # "" or a kind id
    search: str = ""
    sort: str = "ten"
    descending: bool = False
    page: int = 1
    notices: tuple[str, ...] = ()

    def params(self, **changes: object) -> dict[str, str]:
        """The query string of this view with `changes` (the page's links), defaults left out."""
        values: dict[str, object] = {
            "nam": self.year, "trangthai": self.status, "loai": self.kind, "tim": self.search,
            "sapxep": self.sort, "chieu": "giam" if self.descending else "", "trang": self.page,
        }  # fmt: skip
        values.update(changes)
        defaults: dict[str, object] = {"sapxep": "ten", "trang": 1}
        kept = {k: v for k, v in values.items() if v not in ("", None) and defaults.get(k) != v}
        return {k: str(v) for k, v in kept.items()}


@dataclass(frozen=True, slots=True)
class Progress:
    """Submissions over time towards the filing deadline."""

    start: date
    deadline: date | None
    today: date
    total: int
    done_by_day: tuple[tuple[date, int], ...]  # cumulative submitted, on each day one came

    @property
    def done(self) -> int:
        return self.done_by_day[-1][1] if self.done_by_day else 0

    @property
    def days_left(self) -> int | None:
        return (self.deadline - self.today).days if self.deadline else None


@dataclass(frozen=True, slots=True)
class View:
    """Everything one page shows, computed (`conversations.overview_page.view_of`)."""

    owner: Unit
    whole: bool
    query: Query
    total: int  # units in scope
    counts: dict[str, int]
    kinds: list[tuple[str, str]]  # (id, label) of the kinds present
    rows: list[PageRow]  # this page's
    matching: int  # rows after the filters
    pages: int
    results: list[tuple[str, int]]  # (result, units), best first
    progress: Progress
    read_at: datetime
    first: int = 1  # the number of this page's first row


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("templates", "web"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

CHART_W, CHART_H = 600, 240  # the progress chart's viewBox
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 16, 34  # its margins


def when(moment: datetime | None) -> str:
    """A moment in Vietnam's time, as people write it ("14:05 03/12/2026")."""
    return moment.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if moment else ""


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def percent(part: int, whole: int) -> str:
    return format_number(round(100 * part / whole, 1)) + "%" if whole else "0%"


_ENV.filters["when"] = when
_ENV.filters["day"] = day
_ENV.globals["percent"] = percent
_ENV.globals["status_label"] = lambda key: t(f"overview.status.{key}")


@dataclass(frozen=True, slots=True)
class ProgressChart:
    """The progress chart's shapes, in the viewBox's coordinates."""

    done_path: str  # the cumulative submissions, a step line
    pace_path: str  # an even pace from the start to every unit by the deadline
    today_x: float | None
    deadline_x: float | None
    top_y: float  # the line of every unit
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]


def progress_chart(progress: Progress) -> ProgressChart:
    """Cumulative submissions against time, from 1 January to the deadline (or today, if
    later), with the even pace that would have every unit in by the deadline."""
    end = max(d for d in (progress.deadline, progress.today, progress.start) if d is not None)
    span = max(1, (end - progress.start).days)
    top = max(1, progress.total)
    width, height = CHART_W - _LEFT - _RIGHT, CHART_H - _TOP - _BOTTOM

    def x(value: date) -> float:
        return round(_LEFT + width * min(span, max(0, (value - progress.start).days)) / span, 1)

    def y(count: int) -> float:
        return round(_TOP + height * (1 - count / top), 1)

    points = [f"M{x(progress.start)},{y(0)}"]
    level = 0
    for when_, count in progress.done_by_day:
        points.append(f"H{x(when_)}V{y(count)}")
        level = count
    last = min(progress.today, end)
    points.append(f"H{x(last)}V{y(level)}")
    pace = ""
    if progress.deadline is not None:
        pace = f"M{x(progress.start)},{y(0)}L{x(progress.deadline)},{y(progress.total)}"
    labels = [(x(progress.start), day(progress.start))]
    if progress.deadline is not None:
        labels.append((x(progress.deadline), day(progress.deadline)))
    return ProgressChart(
        done_path="".join(points),
        pace_path=pace,
        today_x=x(progress.today) if progress.start <= progress.today <= end else None,
        deadline_x=x(progress.deadline) if progress.deadline else None,
        top_y=y(progress.total),
        x_labels=labels,
        y_labels=[(y(0), "0"), (y(progress.total), str(progress.total))],
    )


def page_html(view: View, base: str, expires: datetime, nonce: str) -> str:
    """The whole page of `view`; `base` is the page's own path (its links hang off it),
    `nonce` lets the page's one inline script run under its Content-Security-Policy."""
    query = view.query

    def link(**changes: object) -> str:
        return f"{base}?{urlencode(query.params(**changes))}"

    return _ENV.get_template("page.html.j2").render(
        view=view,
        query=query,
        base=base,
        link=link,
        expires=expires,
        nonce=nonce,
        statuses=STATUS_KEYS,
        chart=progress_chart(view.progress),
        chart_w=CHART_W,
        chart_h=CHART_H,
        chart_left=_LEFT,
        chart_right=CHART_W - _RIGHT,
        chart_bottom=CHART_H - _BOTTOM,
        years=list(range(view.progress.today.year + 1, 2019, -1)),
    )


def refusal_html(reason: str) -> str:
    """The page a refused link opens: why, and what to do (`reason`: see refused.html.j2)."""
    return _ENV.get_template("refused.html.j2").render(reason=reason)
