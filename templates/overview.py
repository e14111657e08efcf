"""The supervising level's consolidated workbook (.xlsx): one row per unit, built with openpyxl.

Figures arrive already computed (by the rubric engine, in `conversations.overview`); this module
only lays them out, with the column titles from the message catalogue. The workbook is written in
openpyxl's write-only mode so that ten thousand units take a second, not a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from templates.files import write_whole
from templates.formatting import VIETNAM
from templates.text import t
from templates.xmlsafe import xml_safe

_BOLD = Font(name="Times New Roman", bold=True)
_PLAIN = Font(name="Times New Roman")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
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
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(t("overview.sheet"))
    columns = headers(figure_columns)
    _widths(sheet, figure_columns)
    sheet.freeze_panes = "C5"
    sheet.append([_cell(sheet, title, _BOLD)])
    sheet.append([_cell(sheet, subtitle, _PLAIN)])
    sheet.append([])
    sheet.append([_cell(sheet, text, _BOLD, header=True) for text in columns])
    for number, row in enumerate(rows, 1):
        date_cell = WriteOnlyCell(sheet, value=row_date(row))
        date_cell.number_format = DATE_FORMAT
        sheet.append([*row_values(number, row, figure_columns), date_cell])
    return write_whole(path, workbook.save)


def _cell(sheet: WriteOnlyWorksheet, value: str, font: Font, header: bool = False) -> Any:
    cell = WriteOnlyCell(sheet, value=xml_safe(value))
    cell.font = font
    if header:
        cell.fill = _HEADER_FILL
        cell.alignment = _WRAP
    return cell


def _widths(sheet: WriteOnlyWorksheet, figure_columns: Sequence[str]) -> None:
    from openpyxl.utils import get_column_letter

    keys = [*_FIXED_COLUMNS, *(None for _ in figure_columns), *_END_COLUMNS]
    for index, key in enumerate(keys, 1):
        width = _WIDTHS[key] if key else 11
        # Write-only sheets do take column widths (openpyxl's stubs do not say so).
        dimensions: Any = sheet.column_dimensions  # type: ignore[attr-defined]
        dimensions[get_column_letter(index)].width = width
