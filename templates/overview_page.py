"""The supervising level's page as HTML: jinja2 templates under templates/web/, charts as SVG.

Everything is rendered here, on the server: the page needs nothing from the network and no
build step, and works without its few lines of JavaScript (which only submit the filters when
one is changed). The charts are plain inline SVG whose coordinates are worked out below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import jinja2

from conversations.overview_page import STATUS_KEYS, Progress, View
from templates.formatting import VIETNAM, format_number
from templates.text import t

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
