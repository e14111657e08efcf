"""Calendar arithmetic the circulars need: months after a decision, a year's filing deadline.

Kept apart from scoring so the rules about dates are written once: the chat's reminders, the
report and the command line all ask the same functions.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from rubric.model import Framework


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day when it has none.

    29/02/2024 + 12 months is 28/02/2025, as Bộ luật Dân sự 2015 (Điều 148) ends a period in
    months whose last month lacks the day: on that month's last day.
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def deadline_for(framework: Framework, year: int) -> date:
    """The day the circular names for filing the hồ sơ of assessment year `year`.

    TT 24/2023: 15/01 of the next year (the hồ sơ must arrive before it, see `last_filing_day`);
    TT 22/2020: 31/03 of the next year.
    """
    due = framework.report.due
    return date(year + 1 if due.next_year else year, due.month, due.day)


def last_filing_day(framework: Framework, year: int) -> date:
    """The last day a unit can still file for `year`: the deadline itself, or the day before
    it when the circular says "trước ngày …" (TT 24/2023: 14/01 of the next year)."""
    deadline = deadline_for(framework, year)
    return deadline - timedelta(days=1) if framework.report.due.before else deadline
