"""The BÁO CÁO (.docx), its chat summary, the drafted sections and `python -m bot report`.

The documents are opened with python-docx and checked against the rubric engine and the real
report ../shared/seeds/002 (whose hand-typed sums say 38 and 98 where the items give 33 and 93).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from conftest import DATA, ROOT, TT22, TT24
from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from rubric.answers import parse_answers
from rubric.loader import kind, load_framework
from rubric.scoring import PointsResult, RecognitionResult
from templates.report import (
    UNIT_FIELDS,
    IssuedDate,
    Narrative,
    Narratives,
    ReportData,
    ReportUnit,
    draft_narratives,
    render_report,
    summary_text,
    with_narratives,
)

SEED_002 = next((ROOT.parent / "shared" / "seeds").glob("002_*.txt"), None)
FONT = "Times New Roman"
DRAFT_NOTE = "Dự thảo do trợ lý soạn"

KON_RAY = ReportUnit(  # the unit of seeds/002
    name="Phòng Giáo dục và Đào tạo huyện Kon Rẫy",
    kind="co-quan",
    level="cap-huyen",
    parent_agency="UBND huyện Kon Rẫy",
    supervising_name="UBND huyện Kon Rẫy",
    address="Thôn 9, xã Đăk Ruông, huyện Kon Rẫy, tỉnh Kon Tum",
    phone="02603824262",
    email="pgdkonray.kontum@moet.edu.vn",
    member_count=12,
    place_name="Kon Rẫy",
    doc_symbol="BC-PGDĐT",
    signer_authority="KT. Trưởng phòng",
    signer_title="Phó Trưởng phòng",
    signer_name="Nguyễn Thị Bích Phượng",
)
KON_RAY_BASIS = (
    "Thực hiện theo Công văn 1497/UBND-VX ngày 12/12/2022 của UBND huyện Kon Rẫy V/v Hướng dẫn "
    "triển khai thực hiện công tác đánh giá, xếp loại Đơn vị học tập;"
)
KON_RAY_TON_TAI = (
    "Kinh phí thực hiện công tác đào tạo, bồi dưỡng của đơn vị cho cán bộ, công chức còn hạn hẹp."
)
TAN_BIEN = ReportUnit(
    name="Phòng Nội vụ huyện Tân Biên",
    kind="co-quan",
    parent_agency="UBND huyện Tân Biên",
    supervising_name="Phòng Giáo dục và Đào tạo huyện Tân Biên",
    address="Khu phố 2, thị trấn Tân Biên, huyện Tân Biên, tỉnh Tây Ninh",
    phone="02763874123",
    email="pnv.tanbien@tayninh.gov.vn",
    member_count=32,
    place_name="Tân Biên",
    doc_symbol="BC-PNV",
    signer_title="Trưởng phòng",
    signer_name="Nguyễn Thanh Bình",
)
TT24_ANSWERS: dict[str, object] = {
    "1.1": "có",
    "1.2": "có",
    "1.3": "có",
    "1.4": "có",
    "1.5": "có",
    "2.1": "32/32",
    "2.2": "31/32",
    "2.3": "30/32",
    "2.4": "14/32",
    "2.5": "29/32",
    "3.1": "31/32",
    "3.2": "có",
    "3.3": "có",
}  # fmt: skip  (3.4 and 3.5 do not bind a cơ quan)
SUBMITTED_AT = datetime(2023, 12, 20, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam


# --- The real table of seeds/002 ----------------------------------------------------------------


def seed_rows() -> list[list[str]]:
    """The rows of the table in seeds/002 (STT, text, max, self-score), header rows left out."""
    if SEED_002 is None:
        pytest.skip("../shared/seeds/002_*.txt is not available")
    rows = []
    for line in SEED_002.read_text(encoding="utf-8").splitlines():
        fields = [" ".join(field.split()) for field in line.split("\t")]
        if len(fields) == 4 and fields[0] != "STT":
            rows.append(fields)
    return rows


def seed_answers() -> dict[str, object]:
    """The unit's scores per leaf: the a/b/c rows and the "-" items (not the composite 3a)."""
    rows = [row for row in seed_rows() if not row[0].startswith("Tổng")]
    leaves = []
    for index, (stt, _, _, score) in enumerate(rows):
        composite = index + 1 < len(rows) and rows[index + 1][0] == "-" and stt != "-"
        if not stt.isdigit() and not composite:
            leaves.append(int(score))
    return dict(zip(load_framework(TT22).leaf_codes(), leaves, strict=True))


def points_data(**changes: Any) -> ReportData:
    framework = load_framework(TT22)
    answers = parse_answers(framework, kind("co-quan"), seed_answers())
    data = ReportData(
        unit=KON_RAY,
        framework=framework,
        year=2023,
        answers=answers,
        evidence={
            "1a": "Kế hoạch số 12/KH-PGDĐT ngày 10/01/2023.\n\nTriển khai tới 100% CBCC.",
            "3a5": "10/12 CBCC có chứng chỉ tin học & ngoại ngữ <B1>.",
        },
        narratives=Narratives(ton_tai=Narrative(KON_RAY_TON_TAI)),
        basis=KON_RAY_BASIS,
        recipients=["UBND huyện (b/c)"],
        submitted_by="Nguyễn Văn An",
        submitted_at=SUBMITTED_AT,
    )
    return replace(with_narratives(data, drafted(data)), **changes)


def recognition_data(answers: dict[str, object] | None = None) -> ReportData:
    framework = load_framework(TT24)
    parsed = parse_answers(framework, kind("co-quan"), answers or TT24_ANSWERS)
    data = ReportData(
        unit=TAN_BIEN,
        framework=framework,
        year=2024,
        answers=parsed,
        evidence={"2.4": "14 công chức có chứng chỉ ngoại ngữ."},
        issued=date(2025, 1, 5),
        submitted_by="Trần Thị Bình",
        submitted_at=datetime(2025, 1, 5, 8, 0, tzinfo=UTC),
    )
    return with_narratives(data, drafted(data))


def drafted(data: ReportData) -> Narratives:
    supervising = data.unit.supervising_name or ""
    return draft_narratives(
        data.framework, data.result(), data.narratives, year=data.year, supervising_name=supervising
    )


# --- Reading the document -----------------------------------------------------------------------


def render(data: ReportData, tmp_path: Path, name: str = "report.docx") -> Document:
    path = render_report(data, tmp_path / name)
    assert path.is_file()
    return docx.Document(str(path))


def body_texts(document: Document) -> list[str]:
    return [p.text.strip() for p in document.paragraphs if p.text.strip()]


def all_paragraphs(document: Document) -> Iterator[Paragraph]:
    yield from document.paragraphs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs
    for section in document.sections:
        yield from section.header.paragraphs
        yield from section.first_page_header.paragraphs


def paragraph_with(document: Document, text: str) -> Paragraph:
    for paragraph in all_paragraphs(document):
        if text in paragraph.text:
            return paragraph
    raise AssertionError(f"no paragraph contains {text!r}")


def table_rows(table: Table) -> list[list[str]]:
    """Cell texts, one line per non-empty paragraph, whitespace collapsed."""
    return [
        ["\n".join(" ".join(p.text.split()) for p in cell.paragraphs if p.text.strip())
         for cell in row.cells]
        for row in table.rows
    ]  # fmt: skip


def results_table(document: Document) -> Table:
    return document.tables[1]  # 0: the header block, 1: the results, 2: Nơi nhận and signature


def bold(paragraph: Paragraph) -> bool:
    """Every run with text is bold (directly or through the paragraph's style)."""
    style_bold = bool(paragraph.style and paragraph.style.font.bold)
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold or (run.bold is None and style_bold) for run in runs)


def italic(paragraph: Paragraph) -> bool:
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.italic for run in runs)


def no_leftover_tags(document: Document) -> None:
    for paragraph in all_paragraphs(document):
        assert not re.search(r"\{[{%#]|[}%#]\}", paragraph.text), paragraph.text


# --- TT 22: the seeds/002 report ----------------------------------------------------------------


def test_the_seed_table_is_the_transcribed_one() -> None:
    transcribed = yaml.safe_load((DATA / "seed002-tt22.yaml").read_text(encoding="utf-8"))
    assert seed_answers() == {str(code): score for code, score in transcribed.items()}


def test_points_report_header_title_and_sections(tmp_path: Path) -> None:
    document = render(points_data(), tmp_path)
    header = table_rows(document.tables[0])
    # the cơ quan chủ quản as written; the issuing body written out, cut between word groups
    assert header[0][0].split("\n") == [
        "UBND HUYỆN KON RẪY",
        "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO",
        "HUYỆN KON RẪY",
    ]
    assert bold(paragraph_with(document, "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO"))
    assert not bold(paragraph_with(document, "UBND HUYỆN KON RẪY"))
    assert re.fullmatch(r"Số:\s+/BC-PGDĐT", header[1][0])
    assert bold(paragraph_with(document, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"))
    assert bold(paragraph_with(document, "Độc lập - Tự do - Hạnh phúc"))
    date_line = paragraph_with(document, "Kon Rẫy, ngày")
    assert italic(date_line)
    assert re.fullmatch(r"Kon Rẫy, ngày\s+tháng\s+năm 2023", date_line.text.strip())

    texts = body_texts(document)
    assert texts[0] == "BÁO CÁO" and bold(paragraph_with(document, "BÁO CÁO"))
    assert texts[1] == "Kết quả tự đánh giá, xếp loại “Đơn vị học tập” năm 2023"
    assert texts[2] == KON_RAY_BASIS
    headings = [
        "I. Thông tin chung",
        "II. Kết quả đánh giá",
        "III. Đánh giá chung",
        "1. Ưu điểm",
        "2. Kết quả tự đánh giá",
        "3. Tồn tại, hạn chế",
        "4. Kiến nghị, đề xuất",
        "5. Phương hướng năm 2024",
    ]
    positions = [texts.index(heading) for heading in headings]
    assert positions == sorted(positions)
    for heading in headings:
        assert bold(paragraph_with(document, heading)), heading
    assert "- Địa chỉ: Thôn 9, xã Đăk Ruông, huyện Kon Rẫy, tỉnh Kon Tum" in texts
    assert "- Tổng số thành viên của đơn vị: 12 người." in texts
    assert not any(text.startswith("- Loại hình") for text in texts)  # a product word
    assert not any("……" in text for text in texts)
    assert texts[-1] == (
        "Trên đây là báo cáo kết quả tự đánh giá, xếp loại “Đơn vị học tập” năm 2023 của "
        "Phòng Giáo dục và Đào tạo huyện Kon Rẫy./."
    )
    no_leftover_tags(document)


def test_points_table_is_the_seed_table_with_computed_sums(tmp_path: Path) -> None:
    """Every cell equals the real report's, except the two it summed by hand (38, 98)."""
    document = render(points_data(), tmp_path)
    rows = table_rows(results_table(document))
    assert rows[0] == ["STT", "Nội dung tiêu chí", "Điểm tối đa", "Đơn vị tự chấm"]
    body, total = rows[1:-1], rows[-1]
    seed = seed_rows()
    assert len(body) == len(seed) - 1
    differences = [
        (mine[0], mine[3], theirs[3])
        for mine, theirs in zip(body, seed, strict=False)
        if mine != theirs
    ]
    assert differences == [("3", "33", "38")]
    assert [stt for stt, *_ in body] == list("1abc2abcd3a") + ["-"] * 8 + ["b", "c"]
    assert total[0].startswith("Tổng cộng") and total[2:] == ["100", "93"]
    assert seed[-1][2:] == ["100", "98"]  # what the clerk typed


def test_points_table_figures_match_the_rubric_engine(tmp_path: Path) -> None:
    data = points_data()
    result = data.result()
    assert isinstance(result, PointsResult)
    document = render(data, tmp_path)
    table = results_table(document)
    rows = table_rows(table)[1:-1]
    criteria = {row[0]: row for row in rows if row[0].isdigit()}
    for criterion in result.criteria:
        assert criteria[criterion.code][2:] == [str(criterion.max), str(criterion.score)]
    criterion_rows = [table.rows[i + 1] for i, row in enumerate(rows) if row[0].isdigit()]
    for row in criterion_rows:
        assert all(bold(p) for cell in row.cells for p in cell.paragraphs if p.text.strip())
    assert not bold(table.rows[2].cells[1].paragraphs[0])  # indicator rows are regular
    scores = [int(row[3]) for row in rows if not row[0].isdigit() and row[0] != "-"]
    assert sum(scores) == result.total == 93
    assert table_rows(table)[-1][3] == "93" and result.classification == "Tốt"
    texts = body_texts(document)
    result_at = texts.index("2. Kết quả tự đánh giá")
    assert texts[result_at + 1 : result_at + 3] == [
        "- Tổng điểm đạt được: 93/100 điểm.",
        "- Xếp loại: Tốt.",
    ]
    assert all("98" not in text for text in body_texts(document))


def test_evidence_is_printed_per_indicator_and_escaped(tmp_path: Path) -> None:
    texts = body_texts(render(points_data(), tmp_path))
    heading = texts.index("2. Kết quả thực hiện các nội dung")
    assert texts[heading + 1] == "Tiêu chí 1. Các điều kiện để xây dựng Đơn vị học tập"
    assert texts[heading + 2 : heading + 5] == [
        "Nội dung 1a. Đơn vị tự chấm 10/10 điểm, đạt điểm tối đa.",
        "Kế hoạch số 12/KH-PGDĐT ngày 10/01/2023.",
        "Triển khai tới 100% CBCC.",
    ]
    at_3a = texts.index("Nội dung 3a. Đơn vị tự chấm 25/25 điểm, đạt điểm tối đa.")
    assert texts[at_3a + 1] == (
        "Biết sử dụng ngoại ngữ và công nghệ thông tin đáp ứng yêu cầu công việc: "
        "10/12 CBCC có chứng chỉ tin học & ngoại ngữ <B1>."
    )
    # every indicator has its sentence, evidence or not (3b had none)
    assert "Nội dung 3b. Đơn vị tự chấm 5/10 điểm, chưa đạt điểm tối đa." in texts


def test_control_characters_in_typed_text_do_not_break_the_document(tmp_path: Path) -> None:
    data = points_data(
        evidence={"1b": "Quy chế\tsố 3\a/QĐ\f ngày\x0b 5/1"},
        basis="Thực hiện\x07 Công văn\n số 9",
        recipients=["Phòng GD&ĐT;", "Lưu: VT."],
    )
    document = render(data, tmp_path)
    texts = body_texts(document)
    assert "Quy chế số 3/QĐ ngày 5/1" in texts
    assert texts[2] == "Thực hiện Công văn số 9"
    assert table_rows(document.tables[2])[0][0].split("\n") == [
        "Nơi nhận:",
        "- Phòng GD&ĐT;",
        "- Lưu: VT.",
    ]


def test_drafted_sections_are_flagged_and_the_written_one_is_kept(tmp_path: Path) -> None:
    data = points_data()
    assert data.narratives.ton_tai == Narrative(KON_RAY_TON_TAI, draft=False)
    assert data.narratives.drafts() == ["uu_diem", "kien_nghi", "phuong_huong"]
    uu_diem = data.narratives.uu_diem.text
    assert (
        "- Về các điều kiện để xây dựng Đơn vị học tập, đơn vị đạt điểm tối đa (30/30 điểm)."
        in (uu_diem)
    )
    assert "- Về kết quả học tập của thành viên, đơn vị đạt điểm tối đa (30/30 điểm)." in uu_diem
    # criterion 3 (33/40) is not a strength in full; its full-mark 3a is said without a list
    assert (
        "- Về đánh giá hiệu quả, tác động của xây dựng Đơn vị học tập, đơn vị đạt điểm tối đa ở "
        "một trong số ba nội dung." in uu_diem
    )
    assert "93/100" not in uu_diem  # the total is item 2, not a strength repeated
    assert "(3b, 3c)" in data.narratives.kien_nghi.text
    assert "UBND huyện Kon Rẫy" in data.narratives.kien_nghi.text
    texts = body_texts(render(data, tmp_path))
    notes = [text for text in texts if DRAFT_NOTE in text]
    assert len(notes) == 3
    assert texts.index(KON_RAY_TON_TAI) == texts.index("3. Tồn tại, hạn chế") + 1


def test_ton_tai_draft_lists_what_fell_short_with_figures() -> None:
    data = points_data(narratives=Narratives())
    draft = drafted(data).ton_tai
    assert draft.draft
    lines = draft.paragraphs()
    assert lines == [
        "- Về đánh giá hiệu quả, tác động của xây dựng Đơn vị học tập, nội dung 3b (đạt từ "
        "danh hiệu “Tập thể lao động tiên tiến” trở lên) đạt 5/10 điểm; nội dung 3c (góp phần "
        "tạo lập môi trường chia sẻ tri thức với các đơn vị khác) đạt 3/5 điểm."
    ]


def test_a_composite_indicator_lists_its_items_below_maximum() -> None:
    answers = {**seed_answers(), "3a5": 1}
    framework = load_framework(TT22)
    parsed = parse_answers(framework, kind("co-quan"), answers)
    data = points_data(answers=parsed, narratives=Narratives())
    (line,) = drafted(data).ton_tai.paragraphs()
    assert (
        "nội dung 3a (thành viên trong đơn vị đáp ứng đầy đủ các năng lực và phẩm chất của Công "
        "dân học tập) đạt 23/25 điểm, trong đó chưa đạt điểm tối đa ở các yêu cầu: biết sử dụng "
        "ngoại ngữ và công nghệ thông tin đáp ứng yêu cầu công việc (1/3 điểm)"
    ) in line


def test_an_unfinished_assessment_has_no_report(tmp_path: Path) -> None:
    framework = load_framework(TT22)
    partial = parse_answers(framework, kind("co-quan"), {"1a": 10}, complete=False)
    with pytest.raises(ValueError):
        render_report(points_data(answers=partial), tmp_path / "partial.docx")


# --- TT 24 --------------------------------------------------------------------------------------


def test_recognition_report_table_and_sentence(tmp_path: Path) -> None:
    data = recognition_data()
    result = data.result()
    assert isinstance(result, RecognitionResult)
    document = render(data, tmp_path)
    texts = body_texts(document)
    assert texts[1] == "Đánh giá công nhận “Đơn vị học tập” mức độ 1 năm 2024"
    rows = table_rows(results_table(document))
    assert rows[0] == ["STT", "Chỉ tiêu", "Yêu cầu", "Kết quả của đơn vị", "Đánh giá"]
    by_code = {row[0]: row for row in rows[1:-1]}
    assert by_code["1"][4] == "Đạt" and by_code["2"][4] == "Không đạt" and by_code["3"][4] == "Đạt"
    assert by_code["2.1"][3] == "32/32 (100%)"  # no ",0"
    assert by_code["2.2"][2:] == ["Tối thiểu 90% thành viên", "31/32 (96,9%)", "Đạt"]
    assert by_code["2.4"][2:] == ["Tối thiểu 50% thành viên", "14/32 (43,8%)", "Không đạt"]
    assert by_code["2.5"][3:] == ["29/32 (90,6%)", "Đạt"]
    assert by_code["1.1"][2:] == ["Thực hiện", "Đã thực hiện", "Đạt"]  # not "Có | Có"
    assert by_code["3.4"][4] == by_code["3.5"][4] == "Không áp dụng"
    for judgement in result.judgements:
        assert by_code[judgement.code][4].lower() == str(judgement.status)
    assert rows[-1][0] == "Kết quả chung" and rows[-1][3:] == ["12/13 chỉ tiêu đạt", "Không đạt"]
    assert "- Số chỉ tiêu đạt: 12/13 chỉ tiêu áp dụng." in texts
    sentence = paragraph_with(document, "- Kết quả: ").text
    assert "không đạt chỉ tiêu 2.4" in sentence
    assert "chưa đủ điều kiện đề nghị công nhận “Đơn vị học tập” cấp huyện mức độ 1" in sentence
    assert texts[-1] == (  # no request when the figures do not meet the level
        "Trên đây là báo cáo đánh giá công nhận “Đơn vị học tập” mức độ 1 năm 2024 của "
        "Phòng Nội vụ huyện Tân Biên./."
    )
    note = paragraph_with(document, "nên không tính vào kết quả").text
    assert note.startswith("Chỉ tiêu 3.4, 3.5") and "Thông tư 24/2023/TT-BGDĐT" in note
    assert re.fullmatch(
        r"Tân Biên, ngày 05 tháng 01 năm 2025", table_rows(document.tables[0])[1][1]
    )
    signature = table_rows(document.tables[2])[0][1].split("\n")
    assert signature[0] == "TRƯỞNG PHÒNG" and signature[-1] == "Nguyễn Thanh Bình"
    no_leftover_tags(document)


def test_recognised_unit_and_its_drafts(tmp_path: Path) -> None:
    data = recognition_data({**TT24_ANSWERS, "2.4": "16/32"})
    assert data.result().complete
    document = render(data, tmp_path)
    sentence = paragraph_with(document, "- Kết quả: ").text
    assert "đạt đầy đủ các chỉ tiêu, đủ điều kiện đề nghị công nhận" in sentence
    # 2024: the bodies of the time (a cấp huyện unit, the Chủ tịch UBND cấp huyện decides)
    assert body_texts(document)[-1] == (
        "Trên đây là báo cáo đánh giá công nhận “Đơn vị học tập” mức độ 1 năm 2024 của "
        "Phòng Nội vụ huyện Tân Biên, kính đề nghị Chủ tịch Ủy ban nhân dân cấp huyện xem "
        "xét, công nhận “Đơn vị học tập” cấp huyện mức độ 1 năm 2024./."
    )
    (ton_tai,) = data.narratives.ton_tai.paragraphs()  # nothing fell short: no false shortcoming
    assert ton_tai.startswith("- Các chỉ tiêu áp dụng đều đạt; tuy vậy")
    assert "đạt tất cả" not in ton_tai


def test_recognition_ton_tai_draft_gives_counts_and_shortfall() -> None:
    lines = recognition_data().narratives.ton_tai.paragraphs()
    assert lines == [
        "- Về kết quả học tập của Thành viên trong đơn vị, chỉ tiêu 2.4 chưa đạt: mới có 14/32 "
        "thành viên trong đơn vị có chứng nhận hoặc chứng chỉ ngoại ngữ hoặc tiếng dân tộc thiểu "
        "số đáp ứng yêu cầu công việc hoặc vị trí việc làm (không bao gồm thành viên trong đơn vị "
        "là tổ chức kinh tế), đạt tỷ lệ 43,8%, thấp hơn yêu cầu tối thiểu 50% (còn thiếu 2 thành "
        "viên)."
    ]


# --- Fonts, page, margins -----------------------------------------------------------------------


def mm(length: Length | None) -> float:
    assert length is not None
    return float(length.mm)


@pytest.mark.parametrize("which", ["points", "recognition"])
def test_times_new_roman_a4_and_the_decree_margins(tmp_path: Path, which: str) -> None:
    data = points_data() if which == "points" else recognition_data()
    document = render(data, tmp_path)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults is not None
    fonts = defaults.find(".//" + qn("w:rFonts"))
    assert fonts is not None
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        assert fonts.get(qn(slot)) == FONT
    parts = [document.styles.element, document.element]
    parts += [section.header._element for section in document.sections]
    for part in parts:  # no theme font (it would win over the named one), no other font
        for element in part.iter(qn("w:rFonts")):
            assert not [name for name in element.attrib if name.lower().endswith("theme")]
            assert set(element.attrib.values()) == {FONT}
    for paragraph in all_paragraphs(document):
        assert paragraph.style is not None
        assert paragraph.style.font.name in (None, FONT)
        for run in paragraph.runs:
            assert run.font.name in (None, FONT)
    body_style = paragraph_with(document, "- Địa chỉ:").style
    assert body_style is not None and body_style.font.size == Pt(14)
    for section in document.sections:
        assert abs(mm(section.page_width) - 210) < 0.5
        assert abs(mm(section.page_height) - 297) < 0.5  # A4 portrait
        margins = (section.top_margin, section.bottom_margin, section.left_margin,
                   section.right_margin)  # fmt: skip
        for got, want in zip(margins, (20, 20, 30, 15), strict=True):
            assert abs(mm(got) - want) < 0.5
        assert section.different_first_page_header_footer  # page numbers from page 2
        assert "PAGE" in section.header._element.xml


# --- The chat summary ---------------------------------------------------------------------------


def test_summary_of_the_seed_report() -> None:
    text = summary_text(points_data())
    assert len(text) <= 2000
    assert "Phòng Giáo dục và Đào tạo huyện Kon Rẫy" in text
    assert "Thông tư 22/2020/TT-BGDĐT" in text and "2023" in text
    assert "Tổng điểm: 93/100" in text and "Xếp loại: Tốt" in text
    for subtotal in ("30/30 điểm", "33/40 điểm"):
        assert subtotal in text
    assert "3b. " in text and "5/10 điểm" in text and "3c. " in text
    assert "Nguyễn Văn An" in text and "09:30 ngày 20/12/2023" in text
    assert "98" not in text


def test_summary_of_a_recognition() -> None:
    text = summary_text(recognition_data())
    assert len(text) <= 2000
    assert "12/13 chỉ tiêu áp dụng" in text and "chưa đủ điều kiện" in text
    assert "2.4. " in text and "còn thiếu 2 thành viên" in text


def test_summary_shortens_the_shortfall_list_to_fit() -> None:
    framework = load_framework(TT22)
    zeros = parse_answers(framework, kind("co-quan"), dict.fromkeys(framework.leaf_codes(), 0))
    data = points_data(answers=zeros)
    full = summary_text(data, limit=10_000)
    assert full.count("\n– ") == 10 and "chỉ tiêu khác" not in full
    short = summary_text(data, limit=len(full) - 100)
    assert len(short) <= len(full) - 100
    match = re.search(r"…và (\d+) chỉ tiêu khác", short)
    assert match is not None
    assert short.count("\n– ") + int(match.group(1)) == 10
    assert "Tổng điểm: 0/100" in short and "Xếp loại: Không đạt" in short


def test_summary_never_exceeds_2000_characters() -> None:
    huge = ReportUnit(name="Trường " * 600, kind="co-quan")
    text = summary_text(points_data(unit=huge))
    assert len(text) <= 2000 and text.endswith("…")


def test_issued_date_has_the_decree_leading_zeros() -> None:
    assert IssuedDate.of(date(2024, 1, 5), None) == IssuedDate("05", "01", "2024")
    assert IssuedDate.of(date(2024, 12, 9), None) == IssuedDate("09", "12", "2024")
    assert IssuedDate.of(date(2024, 3, 15), None) == IssuedDate("15", "3", "2024")
    blank = IssuedDate.of(None, SUBMITTED_AT)
    assert blank.year == "2023" and not blank.day.strip() and not blank.month.strip()


# --- python -m bot report -----------------------------------------------------------------------


def report_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.report_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
        check=False,
        env=env,
    )


def full_file(tmp_path: Path, **changes: Any) -> Path:
    content: dict[str, Any] = {
        "framework": TT24,
        "year": 2024,
        "unit": {field: getattr(TAN_BIEN, field) for field in UNIT_FIELDS},
        "basis": "Thực hiện Công văn số 45/UBND-VX ngày 05/12/2024 của UBND huyện Tân Biên.",
        "recipients": ["Phòng GD&ĐT huyện (b/c)", "Trưởng phòng"],
        "evidence": {"1.1": "Kế hoạch số 218/KH-PNV ngày 20/3/2024."},
        "narratives": {"kien_nghi": "Đề nghị tổ chức lớp bồi dưỡng ngoại ngữ."},
        "answers": TT24_ANSWERS,
        **changes,
    }
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def assert_refused(run: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_cli_renders_a_full_answers_file(tmp_path: Path) -> None:
    out = tmp_path / "bao-cao.docx"
    run = report_cli(str(full_file(tmp_path)), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(out) and run.stderr == ""
    document = docx.Document(str(out))
    texts = body_texts(document)
    assert "Đề nghị tổ chức lớp bồi dưỡng ngoại ngữ." in texts
    assert sum(DRAFT_NOTE in text for text in texts) == 3  # the other three sections
    assert table_rows(results_table(document))[-1][3] == "12/13 chỉ tiêu đạt"


def test_cli_renders_the_seed_table_from_a_flat_file(tmp_path: Path) -> None:
    out = tmp_path / "flat.docx"
    run = report_cli(str(DATA / "seed002-tt22.yaml"), "--framework", TT22, "--out", str(out))
    assert run.returncode == 0, run.stderr
    document = docx.Document(str(out))
    assert table_rows(results_table(document))[-1][2:] == ["100", "93"]
    assert "- Tổng điểm đạt được: 93/100 điểm." in body_texts(document)
    assert "Kết quả tự đánh giá, xếp loại “Đơn vị học tập” năm 2023" in body_texts(document)


def test_cli_summary_option(tmp_path: Path) -> None:
    run = report_cli(str(full_file(tmp_path)), "--out", str(tmp_path / "r.docx"), "--summary")
    assert run.returncode == 0, run.stderr
    assert "12/13 chỉ tiêu áp dụng" in run.stdout


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"answers": {**TT24_ANSWERS, "2.1": "95%"}}, ("2.1", "phần trăm")),
        ({"answers": {**TT24_ANSWERS, "2.2": "33/32"}}, ("2.2", "33", "32")),
        ({"answers": {k: v for k, v in TT24_ANSWERS.items() if k != "3.3"}}, ("3.3",)),
        ({"narrative": {}}, ("narrative",)),
        ({"year": 2022}, ("2022",)),
        ({"framework": "tt99"}, ("tt99",)),
        ({"evidence": {"9.9": "x"}}, ("9.9",)),
        ({"unit": {"name": "X", "kind": "truong-hoc"}}, ("truong-hoc",)),
        ({"unit": {"name": "X", "member_count": "ba mươi"}}, ("member_count",)),
        ({"recipients": "UBND huyện"}, ("recipients",)),
    ],
)
def test_cli_refuses_bad_input_with_one_line(
    tmp_path: Path, changes: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    out = tmp_path / "never.docx"
    assert_refused(report_cli(str(full_file(tmp_path, **changes)), "--out", str(out)), *fragments)
    assert not out.exists()


def test_cli_flat_file_needs_a_framework(tmp_path: Path) -> None:
    run = report_cli(str(DATA / "seed002-tt22.yaml"), "--out", str(tmp_path / "x.docx"))
    assert_refused(run, "--framework")


def test_cli_pdf_without_libreoffice_keeps_the_docx(tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}  # no soffice on the PATH
    run = report_cli(str(full_file(tmp_path)), "--out", str(out), "--pdf", env=env)
    assert run.returncode == 0, run.stderr
    assert out.is_file() and not out.with_suffix(".pdf").exists()
    assert "LibreOffice" in run.stderr and len(run.stderr.splitlines()) == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_cli_pdf_with_libreoffice(tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    run = report_cli(str(full_file(tmp_path)), "--out", str(out), "--pdf")
    assert run.returncode == 0, run.stderr
    pdf = out.with_suffix(".pdf")
    assert run.stdout.splitlines() == [str(out), str(pdf)]
    assert pdf.read_bytes().startswith(b"%PDF")


LEVEL2_ANSWERS = {
    "1.1": "có", "1.2": "có", "1.3": "có", "1.4": "có", "1.5": "có",
    "2.1": "19/20", "2.2": "19/20", "2.3": "20/20", "2.4": "14/20", "2.5": "19/20",
    "3.1": "19/20", "3.2": "có", "3.3": "có",
}  # fmt: skip


@pytest.mark.parametrize(
    ("decided", "level", "requirement"),
    [("2024-01-10", 2, "95%"), ("2024-02-11", 1, "90%"), (None, 1, "90%")],
)
def test_cli_writes_the_report_at_the_level_the_unit_may_ask(
    tmp_path: Path, decided: str | None, level: int, requirement: str
) -> None:
    extra = {"submitted_on": "2025-01-10", "answers": LEVEL2_ANSWERS}
    if decided:
        extra["level1_decision_date"] = decided
    out = tmp_path / "bao-cao.docx"
    run = report_cli(str(full_file(tmp_path, **extra)), "--out", str(out))
    assert run.returncode == 0, run.stderr
    document = docx.Document(str(out))
    assert body_texts(document)[1] == f"Đánh giá công nhận “Đơn vị học tập” mức độ {level} năm 2024"
    rows = table_rows(results_table(document))
    assert any(requirement in " ".join(row) for row in rows)


def test_cli_level_options_are_checked(tmp_path: Path) -> None:
    path = full_file(tmp_path, answers=LEVEL2_ANSWERS)
    out = tmp_path / "x.docx"
    assert_refused(report_cli(str(path), "--out", str(out), "--level", "3"), "mức độ “3”")
    assert_refused(
        report_cli(str(path), "--out", str(out), "--submitted-on", "10/01/2025"),
        "--submitted-on",
        "YYYY-MM-DD",
    )
    assert not out.exists()
    run = report_cli(str(path), "--out", str(out), "--level", "2")
    assert run.returncode == 0, run.stderr
    assert "mức độ 2" in body_texts(docx.Document(str(out)))[1]
