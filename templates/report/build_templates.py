"""Build the report templates beside this file: `points.docx` and `recognition.docx` (the báo
cáo of each framework method), `proposal.docx` (the tờ trình đề nghị công nhận) and `tally.docx`
(the bảng tổng hợp kết quả các chỉ tiêu), the last two for Thông tư 24/2023 (Điều 10).

The .docx files are the templates people edit: a clerk may open them in Word and adjust wording or
spacing, keeping the `{{ … }}` and `{%p … %}` tags (docxtpl). This script is how they were made
and how to remake them from scratch after a layout change (it overwrites both files, so port any
hand edits here first): `python templates/report/build_templates.py`.

Layout per Nghị định 30/2020/NĐ-CP (../shared/rubrics/report-format.md): A4 portrait, margins
top/bottom 20 mm, left 30 mm, right 15 mm, Times New Roman; the two-column header (cơ quan /
Quốc hiệu, Tiêu ngữ), BÁO CÁO and the trích yếu, the body at 14 pt justified with a first-line
indent, the results table, Nơi nhận and the signature block, page numbers from page 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
FONT = "Times New Roman"
TEXT_WIDTH = Mm(165)  # 210 mm less the 30 mm and 15 mm margins
HEADER_COLUMNS = (Mm(72), Mm(93))  # "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO" fits one line at 12 pt
BOTTOM_COLUMNS = (Mm(80), Mm(85))
POINTS_COLUMNS = (Mm(13), Mm(102), Mm(22), Mm(28))
# The Chỉ tiêu column takes what the figures leave, so a chỉ tiêu wraps to 2–4 lines, not 4–7.
RECOGNITION_COLUMNS = (Mm(13), Mm(84), Mm(23), Mm(25), Mm(20))

# Paragraph styles: name -> (size pt, bold, italic, alignment, first-line indent mm, after pt).
CENTER, JUSTIFY, LEFT = (
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
    WD_ALIGN_PARAGRAPH.LEFT,
)
STYLES: dict[str, tuple[float, bool, bool, WD_ALIGN_PARAGRAPH, float, float]] = {
    "BC Body": (14, False, False, JUSTIFY, 10, 6),
    "BC Heading 1": (14, True, False, JUSTIFY, 10, 6),
    "BC Heading 2": (14, True, False, JUSTIFY, 10, 6),
    "BC Title": (14, True, False, CENTER, 0, 0),
    "BC Subject": (14, True, False, CENTER, 0, 0),
    "BC Header": (13, False, False, CENTER, 0, 0),
    "BC Table": (13, False, False, LEFT, 0, 0),
    "BC Table Small": (12, False, False, LEFT, 0, 0),
    "BC Recipients": (11, False, False, LEFT, 0, 0),
    "BC Signature": (14, True, False, CENTER, 0, 0),
}


@dataclass(frozen=True)
class Run:
    """A piece of text with its own character formatting inside a paragraph."""

    text: str
    bold: bool | None = None
    italic: bool | None = None
    size: float | None = None
    highlight: bool = False


def _fonts(element: BaseOxmlElement) -> None:
    """Times New Roman for every script slot (Vietnamese needs hAnsi and cs, not only ascii)."""
    fonts = element.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        element.insert(0, fonts)
    _times(fonts)


def _times(fonts: BaseOxmlElement) -> None:
    """One w:rFonts set to Times New Roman, its theme fonts dropped (a theme font would win)."""
    for attribute in list(fonts.attrib):
        if attribute.endswith(("Theme", "theme")):
            del fonts.attrib[attribute]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _document_defaults(doc: DocumentObject) -> None:
    """Fonts, size and language for the whole document, so every style inherits them."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(r_pr)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), "vi-VN")
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    _fonts(normal.element.get_or_add_rPr())
    for name in ("Header", "Footer", "Table Grid"):
        _fonts(doc.styles[name].element.get_or_add_rPr())
    for fonts in styles.iter(qn("w:rFonts")):  # the stock headings, macro text …: one font
        _times(fonts)


def _styles(doc: DocumentObject) -> None:
    """The report's paragraph styles, so a clerk can restyle a whole kind of paragraph at once."""
    for name, (size, bold, italic, align, indent, after) in STYLES.items():
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.bold = bold
        style.font.italic = italic
        _fonts(style.element.get_or_add_rPr())
        fmt = style.paragraph_format
        fmt.alignment = align
        fmt.first_line_indent = Mm(indent) if indent else None
        fmt.space_before = Pt(0)
        fmt.space_after = Pt(after)
        fmt.line_spacing = 1.0
        fmt.widow_control = True
        if name.startswith("BC Heading"):
            fmt.keep_with_next = True
            fmt.space_before = Pt(6)


def _page(doc: DocumentObject) -> None:
    """A4 portrait with the decree's margins, and the page number centred at the top from p. 2."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = CENTER
    run = paragraph.add_run()
    run.font.size = Pt(14)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
        else:
            field = OxmlElement("w:instrText")
            field.set(qn("xml:space"), "preserve")
            field.text = text
        run._r.append(field)


def _fresh_cell_paragraph(container: DocumentObject | _Cell) -> Paragraph | None:
    """The empty paragraph python-docx puts in every new cell, reused for the cell's first text."""
    if not isinstance(container, _Cell) or len(container.paragraphs) != 1:
        return None
    first = container.paragraphs[0]
    fresh = not first.runs and first._p.pPr is None
    return first if fresh else None


def para(
    container: DocumentObject | _Cell,
    *runs: Run | str,
    style: str = "BC Body",
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool | None = None,
    after: float | None = None,
    before: float | None = None,
) -> Paragraph:
    """Add a paragraph of `runs` (plain strings take the style's formatting)."""
    paragraph = _fresh_cell_paragraph(container) or container.add_paragraph()
    paragraph.style = style
    for piece in runs:
        item = Run(piece) if isinstance(piece, str) else piece
        run = paragraph.add_run(item.text)
        run.bold, run.italic = item.bold, item.italic
        if item.size is not None:
            run.font.size = Pt(item.size)
        if item.highlight:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    fmt = paragraph.paragraph_format
    if align is not None:
        fmt.alignment = align
    if indent is False:
        fmt.first_line_indent = Mm(0)
    if after is not None:
        fmt.space_after = Pt(after)
    if before is not None:
        fmt.space_before = Pt(before)
    return paragraph


def tag(container: DocumentObject | _Cell, text: str, style: str = "BC Body") -> Paragraph:
    """A docxtpl control paragraph (`{%p … %}`): it disappears from the rendered document."""
    return para(container, text, style=style)


def rule(
    container: DocumentObject | _Cell, indent: float, style: str = "BC Header", after: float = 0
) -> Paragraph:
    """The short line under the issuing body, the Tiêu ngữ and the trích yếu: the top border of
    a 2 pt paragraph, its length set by the indents."""
    paragraph = para(container, "", style=style, after=after)
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = Mm(indent)
    fmt.first_line_indent = Mm(0)
    fmt.space_before = Pt(4)
    fmt.line_spacing = Pt(2)
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        top.set(qn(key), value)
    borders.append(top)
    p_pr.append(borders)
    return paragraph


def _table_borders(table: Table, value: str) -> None:
    """All borders of `table` set to `value` ("nil" for the header and signature blocks)."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        if value != "nil":
            for key, setting in (("w:sz", "4"), ("w:space", "0"), ("w:color", "auto")):
                element.set(qn(key), setting)
        borders.append(element)
    tbl_pr.append(borders)


def table(doc: DocumentObject, rows: int, widths: Sequence[Mm], *, grid: bool) -> Table:
    """A fixed-layout table whose column widths Word and LibreOffice both respect."""
    result: Table = doc.add_table(rows=rows, cols=len(widths))
    result.alignment = WD_TABLE_ALIGNMENT.CENTER
    result.autofit = False
    if grid:
        result.style = doc.styles["Table Grid"]
    _table_borders(result, "single" if grid else "nil")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    result._tbl.tblPr.append(layout)
    for row in result.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for column, width in zip(result.columns, widths, strict=True):
        column.width = width
    return result


def keep_together(row: _Row) -> None:
    """A row is never split across two pages (a chỉ tiêu's text stays beside its figures)."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def repeat_header(row: _Row) -> None:
    """Repeat the column titles at the top of each page the table runs onto (as in seeds/002)."""
    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
    keep_together(row)


def cells(
    row: _Row,
    *texts: str,
    bold: bool = False,
    centre: Sequence[int] = (),
    style: str = "BC Table",
) -> None:
    """Fill a table row, one paragraph per cell; columns in `centre` are centred.

    A bold (criterion) row is left-aligned (justified, its few words would stretch apart) and
    kept with the next row, so it never ends a page on its own.
    """
    for index, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
        align = CENTER if index in centre else (JUSTIFY if text and not bold else LEFT)
        cell_text = para(cell, Run(text, bold=bold or None), style=style, align=align,
                         before=2, after=2)  # fmt: skip
        cell_text.paragraph_format.keep_with_next = bold or None
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def control_row(row: _Row, text: str, style: str = "BC Table") -> None:
    """A docxtpl row tag (`{%tr … %}`): the whole row becomes the jinja2 statement."""
    for index, cell in enumerate(row.cells):
        para(cell, text if index == 0 else "", style=style)


# --- The parts both templates share ----------------------------------------------------------


def _narrow_cells(table_: Table) -> None:
    """Cell margins of 1 mm in the header: the issuing body's lines need the whole column."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), "57")  # twentieths of a point: 1 mm
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table_._tbl.tblPr.append(margins)


def header_block(doc: DocumentObject) -> None:
    """Cơ quan chủ quản / cơ quan ban hành, Số; Quốc hiệu, Tiêu ngữ, địa danh and date.

    The issuing body's lines (`issuing`) are computed (templates.wording.header_lines): written
    out, in capitals, cut only between word groups. What is unknown is left out: no place name
    gives "Ngày … năm …", no ký hiệu gives "Số:   /BC".
    """
    block = table(doc, 2, HEADER_COLUMNS, grid=False)
    _narrow_cells(block)
    left, right = block.rows[0].cells
    tag(left, "{%p for line in parent %}", style="BC Header")
    para(left, Run("{{ line }}", size=12), style="BC Header")
    tag(left, "{%p endfor %}", style="BC Header")
    tag(left, "{%p for line in issuing %}", style="BC Header")
    para(left, Run("{{ line }}", bold=True, size=12), style="BC Header")
    tag(left, "{%p endfor %}", style="BC Header")
    rule(left, 24)
    para(right, Run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12), style="BC Header")
    para(right, Run("Độc lập - Tự do - Hạnh phúc", bold=True, size=13), style="BC Header")
    rule(right, 20)
    number, date = block.rows[1].cells
    tag(number, "{%p if symbol %}", style="BC Header")
    para(number, "Số:       /{{ symbol }}", style="BC Header", before=6)
    tag(number, "{%p endif %}", style="BC Header")
    date_line = (
        "{% if unit.place_name %}{{ unit.place_name }}, ngày{% else %}Ngày{% endif %}"
        " {{ issued.day }} tháng {{ issued.month }} năm {{ issued.year }}"
    )
    para(date, Run(date_line, italic=True, size=14), style="BC Header", before=6)


def title_block(doc: DocumentObject) -> None:
    """BÁO CÁO and the trích yếu, then the basis ("Thực hiện …") and the opening sentence."""
    para(doc, "BÁO CÁO", style="BC Title", before=18)
    para(doc, "{{ subject }}", style="BC Subject")
    rule(doc, 62, style="BC Subject", after=12)
    para(doc, "{{ basis }}")
    para(doc, "{{ unit.name }} báo cáo {{ subject_lower }}, cụ thể như sau:")


def general_info(doc: DocumentObject) -> None:
    """I. Thông tin chung: the unit's name, address, phone, email and members, each line only
    when known; "Đặc điểm tình hình" (members by kind, the unit's own paragraphs) when given."""
    para(doc, "{{ heads.info }}. Thông tin chung", style="BC Heading 1")
    para(doc, "- Tên cơ quan, đơn vị: {{ unit.name }}")
    for key, line in (
        ("address", "- Địa chỉ: {{ unit.address }}"),
        (
            "phone or unit.email",
            "- {% if unit.phone %}Số điện thoại: {{ unit.phone }}{% endif %}"
            "{% if unit.phone and unit.email %}; {% endif %}"
            "{% if unit.email %}Email: {{ unit.email }}{% endif %}",
        ),
    ):
        tag(doc, f"{{%p if unit.{key} %}}")
        para(doc, line)
        tag(doc, "{%p endif %}")
    tag(doc, "{%p if members_by_kind %}")
    para(doc, "- {{ members_by_kind }}")
    tag(doc, "{%p elif unit.member_count %}")
    para(doc, "- Tổng số thành viên của đơn vị: {{ unit.member_count }} người.")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for text in situation %}")
    para(doc, "{{ text }}")
    tag(doc, "{%p endfor %}")


def directives_block(doc: DocumentObject) -> None:
    """Công tác chỉ đạo, triển khai: the documents received and issued, when the file lists them
    (seed 000 lists seven); the part is left out otherwise."""
    tag(doc, "{%p if directives %}")
    para(doc, "{{ heads.directives }}. Công tác chỉ đạo, triển khai", style="BC Heading 1")
    para(doc, "Năm {{ year }}, đơn vị đã tiếp nhận, ban hành và tổ chức triển khai các văn bản:")
    tag(doc, "{%p for item in directives %}")
    para(doc, "- {{ item }}{{ ';' if not loop.last else '.' }}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")


def evidence_block(doc: DocumentObject) -> None:
    """II.2: every indicator under its tiêu chí: the sentence of its answer, then what the unit
    wrote (its evidence), so no chỉ tiêu is left without a word."""
    para(
        doc,
        "2. Kết quả thực hiện các {{ 'nội dung' if rows and max_total is defined "
        "else 'chỉ tiêu' }}",
        style="BC Heading 2",
    )
    tag(doc, "{%p for group in evidence %}")
    para(doc, Run("Tiêu chí {{ group.code }}. {{ group.title }}", bold=True))
    tag(doc, "{%p for block in group.blocks %}")
    para(doc, Run("{{ block.lead }} ", bold=True), Run("{{ block.parts[0].text }}"))
    tag(doc, "{%p for part in block.parts[1:] %}")
    para(doc, Run("{% if part.label %}{{ part.label }}: {% endif %}{{ part.text }}"))
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")


def training_block(doc: DocumentObject) -> None:
    """The year's training figures (lượt người, lớp, % of the plan), when given."""
    tag(doc, "{%p if training %}")
    para(doc, "{{ training }}")
    tag(doc, "{%p endif %}")


def _section(doc: DocumentObject, key: str, heading: str) -> None:
    para(doc, heading, style="BC Heading 2")
    tag(doc, f"{{%p if sections.{key}.draft %}}")
    note = "(Dự thảo do trợ lý soạn từ kết quả tự đánh giá; đề nghị rà soát, chỉnh sửa.)"
    para(doc, Run(note, italic=True, highlight=True))
    tag(doc, "{%p endif %}")
    tag(doc, f"{{%p for text in sections.{key}.paragraphs %}}")
    para(doc, "{{ text }}")
    tag(doc, "{%p endfor %}")


def assessment_block(doc: DocumentObject, result_part: Callable[[DocumentObject], None]) -> None:
    """Đánh giá chung as in seeds/002: 1. Ưu điểm; 2. Kết quả tự đánh giá (its own numbered
    item); 3. Tồn tại, hạn chế; 4. Kiến nghị, đề xuất; 5. Phương hướng năm sau."""
    para(doc, "{{ heads.assessment }}. Đánh giá chung", style="BC Heading 1")
    _section(doc, "uu_diem", "1. Ưu điểm")
    para(doc, "2. Kết quả tự đánh giá", style="BC Heading 2")
    result_part(doc)
    _section(doc, "ton_tai", "3. Tồn tại, hạn chế")
    _section(doc, "kien_nghi", "4. Kiến nghị, đề xuất")
    _section(doc, "phuong_huong", "5. Phương hướng năm {{ next_year }}")


REQUEST = (
    "đề nghị {{ decider }} xem xét, công nhận “Đơn vị học tập” {{ level_label }} mức độ "
    "{{ level }} năm {{ year }}"
)


def closing_line(doc: DocumentObject) -> None:
    """ "Trên đây là báo cáo … ./."; under TT 24, when the figures meet the level, the request
    itself ("… đề nghị [cấp có thẩm quyền] xem xét, công nhận …"), the report's purpose."""
    tag(doc, "{%p if recognised %}")
    para(
        doc, "Trên đây là báo cáo {{ subject_lower }} của {{ unit.name }}, kính " + REQUEST + "./."
    )
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    tag(doc, "{%p else %}")
    para(doc, "Trên đây là báo cáo {{ subject_lower }} của {{ unit.name }}./.")
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    tag(doc, "{%p endif %}")


def bottom_block(doc: DocumentObject, first: str = "") -> None:
    """Nơi nhận (left) and the signature block (right), side by side, borderless, unsplit.
    `first`: a recipient line before the list ("- Như trên;" in a tờ trình)."""
    para(doc, "", after=0).paragraph_format.keep_with_next = True
    block = table(doc, 1, BOTTOM_COLUMNS, grid=False)
    keep_together(block.rows[0])
    left, right = block.rows[0].cells
    para(left, Run("Nơi nhận:", bold=True, italic=True, size=12), style="BC Recipients")
    if first:  # "Như trên" is the addressee: the list below leaves it out
        para(left, first, style="BC Recipients")
    loop = (
        "{%p for name in recipients if name != addressee %}"
        if first
        else ("{%p for name in recipients %}")
    )
    tag(left, loop, style="BC Recipients")
    para(left, "- {{ name }};", style="BC Recipients")
    tag(left, "{%p endfor %}", style="BC Recipients")
    para(left, "- Lưu: VT.", style="BC Recipients")
    tag(right, "{%p if unit.signer_authority %}", style="BC Signature")
    para(right, "{{ unit.signer_authority | upper }}", style="BC Signature")
    tag(right, "{%p endif %}", style="BC Signature")
    tag(right, "{%p if unit.signer_title %}", style="BC Signature")
    para(right, "{{ unit.signer_title | upper }}", style="BC Signature")
    tag(right, "{%p endif %}", style="BC Signature")
    for _ in range(4):
        para(right, "", style="BC Signature")
    tag(right, "{%p if unit.signer_name %}", style="BC Signature")
    para(right, "{{ unit.signer_name }}", style="BC Signature")
    tag(right, "{%p endif %}", style="BC Signature")
    end = para(doc, "", style="BC Table")  # a document must not end with a table (Word)
    end.paragraph_format.line_spacing = Pt(1)


# --- The two templates ------------------------------------------------------------------------


def points_table(doc: DocumentObject) -> None:
    """TT 22: STT / Nội dung tiêu chí / Điểm tối đa / Đơn vị tự chấm, criteria rows bold."""
    para(doc, "1. Bảng tự chấm điểm", style="BC Heading 2")
    grid = table(doc, 9, POINTS_COLUMNS, grid=True)
    rows = grid.rows
    cells(rows[0], "STT", "Nội dung tiêu chí", "Điểm tối đa", "Đơn vị tự chấm",
          bold=True, centre=(0, 1, 2, 3))  # fmt: skip
    repeat_header(rows[0])
    control_row(rows[1], "{%tr for row in rows %}")
    control_row(rows[2], "{%tr if row.bold %}")
    values = ("{{ row.stt }}", "{{ row.text }}", "{{ row.max }}", "{{ row.score }}")
    keep_together(rows[3])
    cells(rows[3], *values, bold=True, centre=(0, 2, 3))
    control_row(rows[4], "{%tr else %}")
    keep_together(rows[5])
    cells(rows[5], *values, centre=(0, 2, 3))
    control_row(rows[6], "{%tr endif %}")
    control_row(rows[7], "{%tr endfor %}")
    total = rows[8]
    keep_together(total)
    merged = total.cells[0].merge(total.cells[1])
    para(merged, Run("Tổng cộng", bold=True), style="BC Table", align=CENTER, before=2, after=2)
    for cell, text in zip(total.cells[2:], ("{{ max_total }}", "{{ total }}"), strict=True):
        para(cell, Run(text, bold=True), style="BC Table", align=CENTER, before=2, after=2)
    para(doc, "", after=0)


def points_result(doc: DocumentObject) -> None:
    """The total and classification, computed (seeds/002 typed 98 for 93), as seed 002 words
    its "2. Kết quả tự đánh giá"."""
    para(doc, "- Tổng điểm đạt được: ", Run("{{ total }}/{{ max_total }} điểm.", bold=True))
    para(doc, "- Xếp loại: ", Run("{{ classification }}.", bold=True))


def recognition_table(doc: DocumentObject, heading: bool = True) -> None:
    """TT 24: STT / Chỉ tiêu / Yêu cầu / Kết quả của đơn vị / Đánh giá, at 12 pt."""
    if heading:
        para(doc, "1. Bảng đánh giá các chỉ tiêu", style="BC Heading 2")
    small = "BC Table Small"
    grid = table(doc, 9, RECOGNITION_COLUMNS, grid=True)
    rows = grid.rows
    cells(
        rows[0],
        "STT",
        "Chỉ tiêu",
        "Yêu cầu",
        "Kết quả của đơn vị",
        "Đánh giá",
        bold=True,
        centre=(0, 1, 2, 3, 4),
        style=small,
    )
    repeat_header(rows[0])
    control_row(rows[1], "{%tr for row in rows %}", small)
    control_row(rows[2], "{%tr if row.bold %}", small)
    values = ("{{ row.stt }}", "{{ row.text }}", "{{ row.requirement }}", "{{ row.result }}",
              "{{ row.status }}")  # fmt: skip
    keep_together(rows[3])
    cells(rows[3], *values, bold=True, centre=(0, 2, 3, 4), style=small)
    control_row(rows[4], "{%tr else %}", small)
    keep_together(rows[5])
    cells(rows[5], *values, centre=(0, 2, 3, 4), style=small)
    control_row(rows[6], "{%tr endif %}", small)
    control_row(rows[7], "{%tr endfor %}", small)
    total = rows[8]
    keep_together(total)
    merged = total.cells[0].merge(total.cells[2])
    para(merged, Run("Kết quả chung", bold=True), style=small, align=CENTER, before=2, after=2)
    summary = ("{{ met }}/{{ applicable }} chỉ tiêu đạt", "{{ overall }}")
    for cell, text in zip(total.cells[3:], summary, strict=True):
        para(cell, Run(text, bold=True), style=small, align=CENTER, before=2, after=2)
    para(doc, "", after=0)


LEVEL = "“Đơn vị học tập” {{ level_label }} mức độ {{ level }}"


def recognition_result(doc: DocumentObject) -> None:
    """The recognition as seed 002 words its result, and why không áp dụng does not count."""
    para(doc, "- Số chỉ tiêu đạt: ", Run("{{ met }}/{{ applicable }} chỉ tiêu áp dụng.", bold=True))
    tag(doc, "{%p if recognised %}")
    para(
        doc,
        "- Kết quả: ",
        Run(f"đạt đầy đủ các chỉ tiêu, đủ điều kiện đề nghị công nhận {LEVEL}.", bold=True),
    )
    tag(doc, "{%p else %}")
    para(
        doc,
        "- Kết quả: ",
        Run(
            f"không đạt chỉ tiêu {{{{ unmet }}}}; chưa đủ điều kiện đề nghị công nhận {LEVEL}.",
            bold=True,
        ),
    )
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if not_applicable %}")
    para(
        doc,
        Run(
            "Chỉ tiêu {{ not_applicable }} không áp dụng đối với đơn vị theo phạm vi quy định "
            "của chính chỉ tiêu đó trong {{ framework.short_title }}, nên không tính vào kết "
            "quả đánh giá.",
            italic=True,
        ),
    )
    tag(doc, "{%p endif %}")


def _new_document() -> DocumentObject:
    doc = Document()
    for paragraph in doc.paragraphs:  # the default document's empty first paragraph
        doc.element.body.remove(paragraph._p)
    _document_defaults(doc)
    _styles(doc)
    _page(doc)
    return doc


def build(
    table_part: Callable[[DocumentObject], None], result_part: Callable[[DocumentObject], None]
) -> DocumentObject:
    """One báo cáo template: the shared frame around a framework method's table and result."""
    doc = _new_document()
    header_block(doc)
    title_block(doc)
    general_info(doc)
    directives_block(doc)
    para(doc, "{{ heads.results }}. Kết quả đánh giá", style="BC Heading 1")
    training_block(doc)
    table_part(doc)
    evidence_block(doc)
    assessment_block(doc, result_part)
    closing_line(doc)
    bottom_block(doc)
    return doc


def build_proposal() -> DocumentObject:
    """The TỜ TRÌNH đề nghị công nhận (TT 24 Điều 10): Kính gửi the recognising body, the basis,
    the result in one paragraph, the request, the documents attached, Nơi nhận "Như trên"."""
    doc = _new_document()
    header_block(doc)
    para(doc, "TỜ TRÌNH", style="BC Title", before=18)
    para(doc, f"Về việc đề nghị công nhận {LEVEL} năm {{{{ year }}}}", style="BC Subject")
    rule(doc, 62, style="BC Subject", after=12)
    para(doc, "Kính gửi: {{ addressee }}.", style="BC Subject", after=12)
    para(doc, "Căn cứ {{ framework.legal_basis }};")
    para(doc, "Căn cứ kết quả tự đánh giá “Đơn vị học tập” năm {{ year }} của {{ unit.name }},")
    para(
        doc,
        "{{ unit.name }} đã tổ chức tự đánh giá theo các tiêu chí, chỉ tiêu của mức độ "
        "{{ level }}. Kết quả: đơn vị đạt {{ met }}/{{ applicable }} chỉ tiêu áp dụng"
        "{% if not_applicable %} (chỉ tiêu {{ not_applicable }} không áp dụng đối với "
        "đơn vị){% endif %}, đáp ứng đầy đủ các tiêu chí của mức độ {{ level }}.",
    )
    para(doc, "{{ unit.name }} kính " + REQUEST + " đối với {{ unit.name }}.")
    para(doc, "Hồ sơ kèm theo gồm:")
    para(doc, "- Báo cáo tự đánh giá “Đơn vị học tập” năm {{ year }};")
    para(doc, "- Bảng tổng hợp kết quả các chỉ tiêu “Đơn vị học tập” năm {{ year }}.")
    para(doc, "Kính trình {{ addressee }} xem xét, quyết định./.")
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    bottom_block(doc, first="- Như trên;")
    return doc


def build_tally() -> DocumentObject:
    """The BẢNG TỔNG HỢP kết quả các chỉ tiêu (TT 24 Điều 10): the same table as the báo cáo,
    its conclusion, and the signature; it is attached to the báo cáo, so it has no number."""
    doc = _new_document()
    header_block(doc)
    para(doc, "BẢNG TỔNG HỢP", style="BC Title", before=18)
    para(doc, f"Kết quả đánh giá các chỉ tiêu {LEVEL} năm {{{{ year }}}}", style="BC Subject")
    para(
        doc,
        Run(
            "(Kèm theo Báo cáo tự đánh giá “Đơn vị học tập” năm {{ year }} của {{ unit.name }})",
            bold=False,
            italic=True,
        ),
        style="BC Subject",
    )
    rule(doc, 62, style="BC Subject", after=12)
    recognition_table(doc, heading=False)
    para(
        doc,
        "Kết luận: ",
        Run(
            "đơn vị đạt {{ met }}/{{ applicable }} chỉ tiêu áp dụng; "
            "{% if recognised %}đủ điều kiện{% else %}chưa đủ điều kiện"
            "{% endif %} đề nghị công nhận " + LEVEL + ".",
            bold=True,
        ),
    ).paragraph_format.keep_with_next = True  # the conclusion stays with the signature
    tag(doc, "{%p if not_applicable %}")
    para(
        doc,
        Run(
            "Chỉ tiêu {{ not_applicable }} không áp dụng đối với đơn vị theo phạm vi quy "
            "định của chính chỉ tiêu đó, nên không tính vào kết quả.",
            italic=True,
        ),
    ).paragraph_format.keep_with_next = True
    tag(doc, "{%p endif %}")
    bottom_block(doc)
    return doc


def main() -> None:
    """Write the four templates: the báo cáo of each method, the tờ trình and the bảng."""
    build(points_table, points_result).save(str(HERE / "points.docx"))
    build(recognition_table, recognition_result).save(str(HERE / "recognition.docx"))
    build_proposal().save(str(HERE / "proposal.docx"))
    build_tally().save(str(HERE / "tally.docx"))


if __name__ == "__main__":
    main()
