"""The supervising level's consolidated workbook (.xlsx): one row per unit, built with XlsxWriter.

Figures arrive already computed (by the rubric engine, in `conversations.overview`); this module
only lays them out, with the column titles from the message catalogue. XlsxWriter streams the rows
to disk (its `constant_memory` mode): ten thousand units take about half a second, a third less
than openpyxl's write-only mode took for the same rows (bench.report).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from templates.files import write_whole
from templates.formatting import VIETNAM
from templates.text import t
from templates.xmlsafe import xml_safe

_FONT = {"font_name": "Times New Roman"}
_HEADER = {**_FONT, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"}
_FIXED_COLUMNS = ("no", "unit", "kind", "status", "progress")
_END_COLUMNS = ("total", "result", "submitted_at")
_WIDTHS = {"no": 6, "unit": 42, "kind": 30, "status": 14, "progress": 11, "total": 14,
           "result": 22, "submitted_at": 17}  # fmt: skip
DATE_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True, slots=True)
class OverviewRow:
    """One unit as the supervising level sees it."""

    unit: str
    kind: str  # the kind's label
    status: str  # "Chưa bắt đầu", "Đang làm", "Đã nộp", "Đã duyệt", "Bị trả lại"
    progress: str  # "12/17"
    figures: dict[str, str] = field(default_factory=dict)  # column title -> subtotal or đạt
    total: str = ""  # "93/100", "13/13 chỉ tiêu đạt"
    result: str = ""  # "Tốt", "Mức độ 1"
    submitted_at: datetime | None = None


def headers(figure_columns: Sequence[str]) -> list[str]:
    """The header row: fixed columns, one per criterion or chỉ tiêu, then the result."""
    fixed = [t(f"overview.col.{key}") for key in _FIXED_COLUMNS]
    end = [t(f"overview.col.{key}") for key in _END_COLUMNS]
    return [*fixed, *figure_columns, *end]


def row_date(row: OverviewRow) -> datetime | None:
    """When the unit submitted, in Vietnam's time, as Excel keeps dates (without a zone)."""
    if row.submitted_at is None:
        return None
    return row.submitted_at.astimezone(VIETNAM).replace(tzinfo=None)


def row_values(number: int, row: OverviewRow, figure_columns: Sequence[str]) -> list[object]:
    """The cells of one unit in the order of `headers`, but the date (a formatted cell)."""
    figures = [row.figures.get(column, "") for column in figure_columns]
    values = [number, row.unit, row.kind, row.status, row.progress, *figures, row.total,
              row.result]  # fmt: skip
    return [xml_safe(value) if isinstance(value, str) else value for value in values]


def write_overview(
    path: Path,
    title: str,
    subtitle: str,
    figure_columns: Sequence[str],
    rows: Sequence[OverviewRow],
) -> Path:
    """Write the workbook to `path`: title, subtitle, header, then one row per unit."""
    return write_whole(path, lambda target: _write(target, title, subtitle, figure_columns, rows))


def _write(
    target: str,
    title: str,
    subtitle: str,
    figure_columns: Sequence[str],
    rows: Sequence[OverviewRow],
) -> None:
    # Rows go to disk as they are written: each row is written once, top to bottom, and the
    # strings are kept inline (no shared-string table held in memory).
    workbook = Workbook(target, {"constant_memory": True, "in_memory": False})
    plain = workbook.add_format(_FONT)
    dated = workbook.add_format({**_FONT, "num_format": DATE_FORMAT})
    sheet = workbook.add_worksheet(t("overview.sheet"))
    _widths(sheet, figure_columns)
    sheet.freeze_panes(4, 2)  # below the header, right of the unit's name ("C5")
    sheet.write_string(0, 0, xml_safe(title), workbook.add_format({**_FONT, "bold": True}))
    sheet.write_string(1, 0, xml_safe(subtitle), plain)
    header = workbook.add_format(_HEADER)
    for column, text in enumerate(headers(figure_columns)):
        sheet.write_string(3, column, xml_safe(text), header)
    for number, row in enumerate(rows, 1):
        values = row_values(number, row, figure_columns)
        _write_row(sheet, 3 + number, values, plain)
        when = row_date(row)
        if when is not None:  # the last column, after those of `row_values`
            sheet.write_datetime(3 + number, len(values), when, dated)
    workbook.close()


def _write_row(sheet: Worksheet, index: int, values: Sequence[object], plain: Format) -> None:
    for column, value in enumerate(values):
        if isinstance(value, str):
            if value:
                sheet.write_string(index, column, value, plain)
        else:
            sheet.write_number(index, column, value, plain)


def _widths(sheet: Worksheet, figure_columns: Sequence[str]) -> None:
    keys = [*_FIXED_COLUMNS, *(None for _ in figure_columns), *_END_COLUMNS]
    for index, key in enumerate(keys):
        sheet.set_column(index, index, _WIDTHS[key] if key else 11)
