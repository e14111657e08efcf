"""The dossier a unit files (Thông tư 24/2023 Điều 10) and the báo cáo's wording (issue 20).

Each document is opened with python-docx and read as a clerk would: the header's lines, the
request for recognition and the body it goes to, Nơi nhận, every chỉ tiêu in part II.2, the drafts'
sentences, the table's cells; for both levels of the circular and both mức độ, for 2025 (the
two-level government) and for 2024 (the bodies of its time).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import docx
import pytest
import yaml
from conftest import ROOT, TT22, TT24
from docx.document import Document

from conversations.reporting import _recognising
from rubric.answers import parse_answers
from rubric.authorities import authority
from rubric.loader import kind, load_framework
from storage.base import Unit
from templates.report import (
    Extras,
    ReportData,
    ReportUnit,
    Training,
    draft_narratives,
    render_dossier,
    render_report,
)
from templates.wording import header_lines

TT24_TINH = "tt24-2023-cap-tinh"
SCHOOL = ReportUnit(
    name="Trường Tiểu học Phổ Ninh",
    kind="co-quan",
    level="cap-huyen",
    supervising_name="Ủy ban nhân dân phường Phổ Ninh",
    address="Tổ dân phố Phước Hòa, phường Phổ Ninh, tỉnh Quảng Ngãi",
    phone="02553859123",
    email="thphoninh@quangngai.edu.vn",
    member_count=32,
    place_name="Phổ Ninh",
    doc_symbol="BC-THPN",
    signer_title="Hiệu trưởng",
    signer_name="Nguyễn Văn An",
    recognising_body="Ủy ban nhân dân phường Phổ Ninh",
)
DEPARTMENT = ReportUnit(
    name="Ban Dân tộc",
    kind="co-quan",
    level="cap-tinh",
    parent_agency="UBND tỉnh Quảng Ngãi",
    supervising_name="Ủy ban nhân dân tỉnh Quảng Ngãi",
    member_count=32,
    place_name="Quảng Ngãi",
    doc_symbol="BC-BDT",
    signer_authority="KT. Trưởng ban",
    signer_title="Phó Trưởng ban",
    signer_name="Trần Thị Bình",
    recognising_body="Sở Giáo dục và Đào tạo tỉnh Quảng Ngãi",
)
# Meets mức độ 2 (95%, 2.4 at 70%) and so mức độ 1; a cơ quan: the school-only chỉ tiêu do not bind.
MET = {"1.1": "có", "1.2": "có", "1.3": "có", "1.4": "có", "1.5": "có", "2.1": "32/32",
       "2.2": "31/32", "2.3": "31/32", "2.4": "14/20", "2.5": "31/32", "3.1": "31/32",
       "3.2": "có", "3.3": "có"}  # fmt: skip
LEVELS = [
    pytest.param(TT24, SCHOOL, 1, id="cap-xa-muc-do-1"),
    pytest.param(TT24, SCHOOL, 2, id="cap-xa-muc-do-2"),
    pytest.param(TT24_TINH, DEPARTMENT, 1, id="cap-tinh-muc-do-1"),
    pytest.param(TT24_TINH, DEPARTMENT, 2, id="cap-tinh-muc-do-2"),
]
UPPER_AFTER_COLON = re.compile(r":\s+(\w)")


def report_data(
    framework_id: str = TT24,
    unit: ReportUnit = SCHOOL,
    level: int = 1,
    year: int = 2025,
    answers: dict[str, object] | None = None,
    **changes: object,
) -> ReportData:
    framework = load_framework(framework_id)
    parsed = parse_answers(framework, kind(unit.kind), answers or MET)
    data = ReportData(
        unit=unit,
        framework=framework,
        year=year,
        answers=parsed,
        level=level,
        part_notes={"2.4": "cán bộ, công chức"},
        evidence={"1.1": "Kế hoạch số 15/KH-THPN ngày 10/01/2025 về học tập thường xuyên."},
    )
    data = replace(data, **changes)  # type: ignore[arg-type]
    drafts = draft_narratives(
        framework, data.result(), year=year, supervising_name=unit.supervising_name or ""
    )
    return replace(data, narratives=drafts)


def opened(content: bytes) -> Document:
    return docx.Document(io.BytesIO(content))


def texts(document: Document) -> list[str]:
    return [" ".join(p.text.split()) for p in document.paragraphs if p.text.strip()]


def cell_lines(document: Document, table: int, row: int, column: int) -> list[str]:
    cell = document.tables[table].rows[row].cells[column]
    return [" ".join(p.text.split()) for p in cell.paragraphs if p.text.strip()]


def table_texts(document: Document, table: int) -> list[list[str]]:
    return [[" ".join(c.text.split()) for c in row.cells] for row in document.tables[table].rows]


def dossier(data: ReportData) -> dict[str, Document]:
    return {d.kind: opened(d.content) for d in render_dossier(data, "a1b2c3")}


# --- The three documents -------------------------------------------------------------------------


@pytest.mark.parametrize(("framework_id", "unit", "level"), LEVELS)
def test_the_dossier_is_three_documents_in_the_same_layout(
    framework_id: str, unit: ReportUnit, level: int
) -> None:
    data = report_data(framework_id, unit, level)
    documents = render_dossier(data, "a1b2c3")
    slug = "truong-tieu-hoc-pho-ninh" if unit is SCHOOL else "ban-dan-toc"
    assert [d.name for d in documents] == [
        f"to-trinh-{slug}-2025-a1b2c3.docx",
        f"bao-cao-{slug}-2025-a1b2c3.docx",
        f"bang-tong-hop-{slug}-2025-a1b2c3.docx",
    ]
    label = "cấp xã" if unit is SCHOOL else "cấp tỉnh"
    body = unit.recognising_body or ""
    decider = "Chủ tịch Ủy ban nhân dân phường Phổ Ninh" if unit is SCHOOL else body
    request = (
        f"đề nghị {decider} xem xét, công nhận “Đơn vị học tập” {label} mức độ {level} năm 2025"
    )
    for document in (opened(d.content) for d in documents):
        section = document.sections[0]
        assert round(section.page_width.mm) == 210 and round(section.left_margin.mm) == 30
        date_line = cell_lines(document, 0, 1, 1)
        assert re.fullmatch(r"(Phổ Ninh|Quảng Ngãi), ngày\s+tháng\s+năm 2026", date_line[0])
        assert "……" not in "\n".join(texts(document))
        signature = cell_lines(document, -1, 0, 1)  # the last table: Nơi nhận, signature
        assert signature[-1] == unit.signer_name

    proposal, report, tally = (opened(d.content) for d in documents)
    lines = texts(proposal)
    assert lines[:3] == [
        "TỜ TRÌNH",
        f"Về việc đề nghị công nhận “Đơn vị học tập” {label} mức độ {level} năm 2025",
        f"Kính gửi: {body}.",
    ]
    assert f"{unit.name} kính {request} đối với {unit.name}." in lines
    assert lines[-1] == f"Kính trình {body} xem xét, quyết định./."
    symbol = (unit.doc_symbol or "").removeprefix("BC-")
    assert cell_lines(proposal, 0, 1, 0) == [f"Số: /TTr-{symbol}"]
    recipients = cell_lines(proposal, -1, 0, 0)
    assert recipients[:2] == ["Nơi nhận:", "- Như trên;"]
    assert f"- {body};" not in recipients  # "Như trên" is the addressee

    closing = texts(report)[-1]
    assert closing.endswith(f", kính {request}./.")
    assert f"- {body};" in cell_lines(report, -1, 0, 0)  # the recognising body in Nơi nhận

    assert texts(tally)[:2] == [
        "BẢNG TỔNG HỢP",
        f"Kết quả đánh giá các chỉ tiêu “Đơn vị học tập” {label} mức độ {level} năm 2025",
    ]
    assert table_texts(tally, 1) == table_texts(report, 1)  # the same table from the same answers
    assert cell_lines(tally, 0, 1, 0) == []  # attached to the báo cáo: no number
    conclusion = next(t for t in texts(tally) if t.startswith("Kết luận:"))
    assert f"đủ điều kiện đề nghị công nhận “Đơn vị học tập” {label} mức độ {level}" in conclusion


def test_a_unit_short_of_the_level_files_no_request() -> None:
    data = report_data(answers={**MET, "2.4": "8/20"})
    assert [d.kind for d in render_dossier(data, "x")] == ["bao-cao", "bang-tong-hop"]
    report = dossier(data)["bao-cao"]
    assert texts(report)[-1] == (
        "Trên đây là báo cáo đánh giá công nhận “Đơn vị học tập” mức độ 1 năm 2025 của "
        "Trường Tiểu học Phổ Ninh./."
    )


def test_under_tt22_the_dossier_is_the_report_alone() -> None:
    framework = load_framework(TT22)
    answers = parse_answers(framework, kind("co-quan"), dict.fromkeys(framework.leaf_codes(), 1))
    data = ReportData(unit=SCHOOL, framework=framework, year=2023, answers=answers)
    assert [d.kind for d in render_dossier(data, "x")] == ["bao-cao"]


# --- Who recognises: data per year, settings per unit and supervising unit ---------------------


def test_the_recognising_body_follows_the_two_level_government() -> None:
    # From 2025 there is no district: the units of TT 24's "cấp huyện" go to the UBND cấp xã.
    assert authority("cap-huyen", 2025).addressee == "Ủy ban nhân dân cấp xã"
    assert authority("cap-huyen", 2025).decider == "Chủ tịch Ủy ban nhân dân cấp xã"
    assert authority("cap-huyen", 2025).level_label == "cấp xã"
    # Reports for 2024 and earlier keep the bodies of their time.
    assert authority("cap-huyen", 2024).addressee == "Phòng Giáo dục và Đào tạo"
    assert authority("cap-huyen", 2024).decider == "Chủ tịch Ủy ban nhân dân cấp huyện"
    assert authority("cap-tinh", 2025).addressee == "Sở Giáo dục và Đào tạo"
    # A setting names the actual body; an Ủy ban nhân dân is asked through its Chủ tịch.
    named = authority("cap-huyen", 2025, None, "UBND phường Phổ Ninh")
    assert named.addressee == "Ủy ban nhân dân phường Phổ Ninh"
    assert named.decider == "Chủ tịch Ủy ban nhân dân phường Phổ Ninh"


def test_the_unit_setting_wins_over_its_supervising_unit_then_the_default() -> None:
    supervisor = Unit(1, "Ủy ban nhân dân phường Phổ Ninh", "co-quan", "cap-huyen",
                      recognising_body="Ủy ban nhân dân phường Phổ Ninh")  # fmt: skip
    unit = Unit(2, "Trường Tiểu học Phổ Ninh", "co-quan", "cap-huyen", supervisor_id=1)
    assert _recognising(unit, supervisor, "cap-huyen", 2025).addressee == (
        "Ủy ban nhân dân phường Phổ Ninh"
    )
    own = replace(unit, recognising_body="Sở Giáo dục và Đào tạo tỉnh Quảng Ngãi")
    assert _recognising(own, supervisor, "cap-huyen", 2025).decider == (
        "Sở Giáo dục và Đào tạo tỉnh Quảng Ngãi"
    )
    assert _recognising(unit, None, "cap-huyen", 2025).addressee == "Ủy ban nhân dân cấp xã"


def test_a_2025_dossier_without_a_setting_names_no_district() -> None:
    unit = replace(SCHOOL, recognising_body=None, supervising_name=None)
    documents = dossier(report_data(unit=unit))
    proposal = texts(documents["to-trinh"])
    assert "Kính gửi: Ủy ban nhân dân cấp xã." in proposal
    # "huyện" only where the circular itself is quoted (its title in the Căn cứ line)
    assert [line for line in proposal if "huyện" in line] == [proposal[3]]
    assert proposal[3].startswith("Căn cứ Thông tư số 24/2023/TT-BGDĐT")
    closing = texts(documents["bao-cao"])[-1]
    assert "huyện" not in closing and "Chủ tịch Ủy ban nhân dân cấp xã" in closing


# --- The báo cáo: header, date, blanks, part II.2, the table -----------------------------------


def test_the_header_writes_the_issuing_body_out_on_whole_word_groups() -> None:
    assert header_lines("UBND phường Phổ Ninh") == ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHỔ NINH"]
    assert header_lines("Phòng GD&ĐT huyện Tân Biên") == [
        "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO",
        "HUYỆN TÂN BIÊN",
    ]
    assert header_lines("Trung tâm Văn hóa - Truyền thanh - Truyền hình huyện Tủa Chùa") == [
        "TRUNG TÂM VĂN HÓA -",
        "TRUYỀN THANH - TRUYỀN HÌNH",
        "HUYỆN TỦA CHÙA",
    ]
    assert header_lines("Ủy ban nhân dân / Phường Phổ Ninh") == [
        "ỦY BAN NHÂN DÂN",
        "PHƯỜNG PHỔ NINH",
    ]
    report = dossier(report_data(TT24_TINH, DEPARTMENT))["bao-cao"]
    assert cell_lines(report, 0, 0, 0) == ["UBND TỈNH QUẢNG NGÃI", "BAN DÂN TỘC"]
    issuing = replace(SCHOOL, issuing_name="Trường Tiểu học / Phổ Ninh")
    header = cell_lines(dossier(report_data(unit=issuing))["bao-cao"], 0, 0, 0)
    assert header == ["TRƯỜNG TIỂU HỌC", "PHỔ NINH"]


def test_a_flat_file_report_has_the_year_and_no_blanks_nor_product_words(tmp_path: Path) -> None:
    framework = load_framework(TT24)
    answers = parse_answers(framework, kind("co-quan"), MET)
    data = ReportData(unit=ReportUnit(), framework=framework, year=2025, answers=answers)
    document = docx.Document(str(render_report(data, tmp_path / "flat.docx")))
    lines = texts(document)
    assert not any("……" in line or "Loại hình" in line for line in lines)
    assert not any(line.startswith(("- Địa chỉ", "- Số điện thoại")) for line in lines)
    assert re.fullmatch(r"Ngày\s+tháng\s+năm 2026", cell_lines(document, 0, 1, 1)[0])
    assert cell_lines(document, 0, 1, 0) == ["Số: /BC"]


def test_every_chi_tieu_has_its_sentence_in_part_ii_2() -> None:
    lines = texts(dossier(report_data())["bao-cao"])
    start = lines.index("2. Kết quả thực hiện các chỉ tiêu")
    part = lines[start : lines.index("III. Đánh giá chung")]
    framework = load_framework(TT24)
    for indicator in framework.indicators:
        assert any(line.startswith(f"Chỉ tiêu {indicator.code}. ") for line in part), indicator
    assert "Chỉ tiêu 1.1. Năm 2025, đơn vị đã ban hành kế hoạch hằng năm cho Thành viên" in (
        "\n".join(part)
    )
    assert (
        "Chỉ tiêu 2.4. Năm 2025, có 14/20 thành viên trong đơn vị có chứng nhận hoặc chứng chỉ "
        "ngoại ngữ"
    ) in "\n".join(part)
    assert "(tính trên 20 cán bộ, công chức), đạt tỷ lệ 70%, đáp ứng yêu cầu tối thiểu 50%." in (
        "\n".join(part)
    )
    assert "Kế hoạch số 15/KH-THPN ngày 10/01/2025 về học tập thường xuyên." in part


def test_the_result_is_its_own_numbered_item() -> None:
    lines = texts(dossier(report_data())["bao-cao"])
    order = ["1. Ưu điểm", "2. Kết quả tự đánh giá", "3. Tồn tại, hạn chế",
             "4. Kiến nghị, đề xuất", "5. Phương hướng năm 2026"]  # fmt: skip
    positions = [lines.index(heading) for heading in order]
    assert positions == sorted(positions)
    at = positions[1]
    assert lines[at + 1] == "- Số chỉ tiêu đạt: 13/13 chỉ tiêu áp dụng."
    assert lines[at + 2].startswith("- Kết quả: đạt đầy đủ các chỉ tiêu, đủ điều kiện")


def test_the_tt24_table_says_yes_no_once_and_percentages_without_a_zero_decimal() -> None:
    rows = {row[0]: row for row in table_texts(dossier(report_data())["bao-cao"], 1)}
    assert rows["1.1"][2:] == ["Thực hiện", "Đã thực hiện", "Đạt"]
    assert rows["2.1"][3] == "32/32 (100%)"
    assert rows["2.2"][3] == "31/32 (96,9%)"
    assert rows["2.4"][3] == "14/20 (70%), tính trên 20 cán bộ, công chức"
    table = dossier(report_data())["bao-cao"].tables[1]
    criterion = next(row for row in table.rows if row.cells[0].text == "1")
    assert criterion.cells[1].paragraphs[0].alignment != 3  # a bold criterion row: not justified
    widths = [round(cell.width.mm) for cell in table.rows[0].cells]
    assert widths[1] >= 80 and sum(widths) == 165  # the Chỉ tiêu column wraps less


def test_the_optional_parts_are_printed_when_given() -> None:
    extras = Extras(
        directives=("Kế hoạch số 15/KH-THPN ngày 10/01/2025 về học tập thường xuyên",
                    "Công văn số 120/UBND-VHXH ngày 20/02/2025 của Ủy ban nhân dân phường"),
        members_by_kind=(("cán bộ quản lý", 3), ("giáo viên", 20), ("nhân viên", 9)),
        training=Training(classes=6, attendances=45, planned=50),
    )  # fmt: skip
    lines = texts(dossier(report_data(extras=extras))["bao-cao"])
    headings = ["I. Thông tin chung", "II. Công tác chỉ đạo, triển khai", "III. Kết quả đánh giá",
                "IV. Đánh giá chung"]  # fmt: skip
    assert [lines.index(h) for h in headings] == sorted(lines.index(h) for h in headings)
    assert "- Tổng số thành viên của đơn vị: 32 người, gồm: 3 cán bộ quản lý, 20 giáo viên, " \
        "9 nhân viên." in lines  # fmt: skip
    assert "- Kế hoạch số 15/KH-THPN ngày 10/01/2025 về học tập thường xuyên;" in lines
    assert (
        "Năm 2025, đơn vị đã tổ chức và cử thành viên tham gia 6 lớp đào tạo, bồi dưỡng với 45 "
        "lượt người, đạt 90% kế hoạch (50 lượt người)."
    ) in lines
    without = texts(dossier(report_data())["bao-cao"])
    assert "II. Kết quả đánh giá" in without and not any(
        "chỉ đạo, triển khai" in t for t in without
    )


# --- The drafts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [MET, {**MET, "2.4": "8/20", "3.3": "không"}],
    ids=["all-met", "two-short"],
)
def test_drafts_are_whole_sentences_grouped_by_tieu_chi(answers: dict[str, object]) -> None:
    narratives = report_data(answers=answers).narratives
    for key in ("uu_diem", "ton_tai", "kien_nghi", "phuong_huong"):
        for line in narratives.get(key).paragraphs():
            assert line.startswith("- ") and line.endswith("."), line
            for letter in UPPER_AFTER_COLON.findall(line):
                assert not letter.isupper(), line  # no capital after a colon
    uu_diem = narratives.uu_diem.paragraphs()
    assert len(uu_diem) <= 4  # one lead and one per tiêu chí, never the table line by line
    assert not any(re.search(r"\b\d\.\d\b", line) for line in uu_diem)
    ton_tai = narratives.ton_tai.paragraphs()
    if answers is MET:
        assert ton_tai[0].startswith("- Các chỉ tiêu áp dụng đều đạt; tuy vậy")
    else:
        assert ton_tai == [
            "- Về kết quả học tập của Thành viên trong đơn vị, chỉ tiêu 2.4 chưa đạt: mới có "
            "8/20 thành viên trong đơn vị có chứng nhận hoặc chứng chỉ ngoại ngữ hoặc tiếng dân "
            "tộc thiểu số đáp ứng yêu cầu công việc hoặc vị trí việc làm (không bao gồm thành "
            "viên trong đơn vị là tổ chức kinh tế), đạt tỷ lệ 40%, thấp hơn yêu cầu tối thiểu "
            "50% (còn thiếu 2 thành viên).",
            "- Về tác dụng của việc xây dựng “Đơn vị học tập”, chỉ tiêu 3.3 chưa đạt: đơn vị "
            "chưa đạt danh hiệu thi đua từ “Tập thể lao động tiên tiến” (theo Luật Thi đua, "
            "Khen thưởng số 06/2022/QH15) trở lên.",
        ]
        remedies = narratives.phuong_huong.text
        assert "nâng tỷ lệ thành viên trong đơn vị có chứng nhận" in remedies
        assert "lên tối thiểu 50%" in remedies and "phấn đấu đạt danh hiệu thi đua" in remedies


# --- The command line --------------------------------------------------------------------------


def bot_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def full_file(tmp_path: Path, answers: dict[str, object] | None = None) -> Path:
    fields = {name: getattr(SCHOOL, name) for name in ("name", "kind", "level", "address",
              "member_count", "place_name", "doc_symbol", "signer_title", "signer_name",
              "recognising_body")}  # fmt: skip
    data = {"framework": TT24, "year": 2025, "unit": fields, "answers": answers or MET,
            "part_notes": {"2.4": "cán bộ, công chức"},
            "directives": ["Kế hoạch số 15/KH-THPN ngày 10/01/2025"],
            "members_by_kind": {"giáo viên": 20, "nhân viên": 12},
            "training": {"classes": 6, "attendances": 45}}  # fmt: skip
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_cli_dossier_writes_the_three_files_into_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "ho-so"
    done = bot_report(str(full_file(tmp_path)), "--dossier", "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.split()]
    assert [p.name.split("-truong-")[0] for p in written] == ["to-trinh", "bao-cao",
                                                                "bang-tong-hop"]  # fmt: skip
    assert all(p.parent == out and p.is_file() and "-2025-" in p.name for p in written)
    proposal = docx.Document(str(written[0]))
    assert texts(proposal)[0] == "TỜ TRÌNH"
    report = docx.Document(str(written[1]))
    assert "II. Công tác chỉ đạo, triển khai" in texts(report)
    single = bot_report(str(full_file(tmp_path)), "--out", str(tmp_path / "bc.docx"))
    assert single.returncode == 0 and single.stdout.split() == [str(tmp_path / "bc.docx")]


def test_cli_dossier_short_of_the_level_says_there_is_no_request(tmp_path: Path) -> None:
    out = tmp_path / "ho-so"
    done = bot_report(str(full_file(tmp_path, {**MET, "3.3": "không"})), "--dossier", "--out",
                      str(out))  # fmt: skip
    assert done.returncode == 0
    assert len(done.stdout.split()) == 2 and "không có tờ trình" in done.stderr


def test_cli_dossier_into_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a.docx"
    target.write_bytes(b"x")
    done = bot_report(str(full_file(tmp_path)), "--dossier", "--out", str(target))
    assert done.returncode == 2 and done.stdout == ""
    assert "--out là một thư mục" in done.stderr


def test_cli_flat_tt24_file_says_which_year_and_prints_no_empty_unit(tmp_path: Path) -> None:
    flat = tmp_path / "flat.yaml"
    flat.write_text(yaml.safe_dump(MET, allow_unicode=True), encoding="utf-8")
    done = bot_report(str(flat), "--framework", TT24, "--out", str(tmp_path / "r.docx"),
                      "--summary")  # fmt: skip
    assert done.returncode == 0, done.stderr
    year = max(2024, date.today().year - 1)
    assert f"báo cáo lấy năm {year}" in done.stderr
    assert "Đơn vị:" not in done.stdout


def test_cli_dossier_converts_to_pdf_when_libreoffice_is_here(tmp_path: Path) -> None:
    import shutil

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice is not installed")
    out = tmp_path / "ho-so"
    done = bot_report(str(full_file(tmp_path)), "--dossier", "--out", str(out), "--pdf")
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("*.pdf"))) == 3


# --- In the chat: the missing details before submission; the dossier sent on submission ---------


async def test_submission_lists_the_missing_details_then_sends_the_dossier(tmp_path: Path) -> None:
    from conversations.engine import Engine
    from conversations.settings import Settings
    from storage.sqlite import SqliteRepository
    from tests.chat_driver import ChatUser, register_unit, settle
    from tests.test_engine import CO_QUAN, answer_all

    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    engine = Engine(repository, Settings(reports_dir=tmp_path / "reports"),
                    today=lambda: date(2026, 1, 10))  # fmt: skip
    try:
        lan = ChatUser(engine, "lan")
        await register_unit(lan, "Trường Tiểu học Phổ Ninh", CO_QUAN)
        await lan.command("danhgia 2025")
        # mức độ 1, not 2; every total the same (no question about a part of the members)
        await answer_all(lan, {**MET, "2.4": "23/32", "2.5": "29/32"})
        while "Dùng bản nháp này" in [c.label for c in lan.question.choices]:
            await lan.press("Dùng bản nháp này")
        question = lan.question
        # 2025: the level as the two-level government names it, in the chat as in the documents
        assert "đủ điều kiện đề nghị công nhận “Đơn vị học tập” cấp xã mức độ 1" in question.text
        # no body named by the unit or a supervising unit: the tờ trình would go to a kind of
        # body ("Ủy ban nhân dân cấp xã"), so it is asked first
        assert "Báo cáo chưa có: cơ quan xét công nhận" in question.text
        assert "địa chỉ, số điện thoại, email, số thành viên" in question.text
        labels = [c.label for c in question.choices]
        assert labels[0] == "Nộp kết quả" and "Để sau" in labels
        assert labels[-1] == "Nhập thông tin còn thiếu"  # last: the others keep their numbers
        asked = await lan.press("Nhập thông tin còn thiếu")
        assert "Cơ quan xét công nhận “Đơn vị học tập”" in asked
        await lan.say("Ủy ban nhân dân phường Phổ Ninh")
        await lan.command("danhgia 2025")
        await lan.press("Xem kết quả và nộp")  # back to the submission, the body now known
        gaps = lan.question.text.split("Báo cáo chưa có: ")[1].split(".")[0]
        assert gaps.startswith("địa chỉ") and "cơ quan xét" not in gaps
        await lan.press("Nộp kết quả")
        sent = (await settle(engine))["lan"]
        names = [f.name for reply in sent for f in reply.files]
        assert [n.split("-truong-")[0] for n in names] == ["to-trinh", "bao-cao", "bang-tong-hop"]
        assert all(re.fullmatch(r"[a-z-]+-truong-tieu-hoc-pho-ninh-2025-[0-9a-f]{6}\.docx", n)
                   for n in names)  # fmt: skip
        folders = {f.path.parent for reply in sent for f in reply.files}
        assert folders == {tmp_path / "reports"}
        proposal = docx.Document(str(next(f.path for r in sent for f in r.files)))
        assert "Kính gửi: Ủy ban nhân dân phường Phổ Ninh." in texts(proposal)
    finally:
        await repository.close()


def test_a_total_below_the_members_says_it_counts_a_part_even_without_a_note() -> None:
    data = report_data(part_notes={})
    rows = {row[0]: row for row in table_texts(dossier(data)["bao-cao"], 1)}
    assert rows["2.4"][3] == "14/20 (70%), tính trên 20/32 thành viên"  # the unit has 32
    assert rows["2.1"][3] == "32/32 (100%)"  # all the members: nothing to add


async def test_the_settings_are_kept_by_the_storage(tmp_path: Path) -> None:
    from storage.sqlite import SqliteRepository

    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    try:
        async with repository.transaction() as tx:
            unit = await tx.create_unit("Ủy ban nhân dân phường Phổ Ninh", "co-quan", "cap-huyen")
            fields = {"issuing_name": "Ủy ban nhân dân / phường Phổ Ninh",
                      "recognising_body": "Ủy ban nhân dân phường Phổ Ninh"}  # fmt: skip
            await tx.update_unit(unit.id, fields)
        async with repository.transaction() as tx:
            kept = await tx.get_unit(unit.id)
        assert kept is not None
        assert (kept.issuing_name, kept.recognising_body) == tuple(fields.values())
    finally:
        await repository.close()


def test_a_signing_authority_typed_as_the_title_is_printed_once() -> None:
    """ "Thẩm quyền ký" is for "KT. HIỆU TRƯỞNG"; a clerk who typed the title there too gets the
    title once above the signature, not "HIỆU TRƯỞNG / HIỆU TRƯỞNG"."""
    unit = replace(SCHOOL, signer_authority="hiệu trưởng", signer_title="Hiệu trưởng")
    document = dossier(report_data(unit=unit))["bao-cao"]
    cells = [cell for table in document.tables for row in table.rows for cell in row.cells]
    blocks = [[" ".join(p.text.split()) for p in cell.paragraphs] for cell in cells]
    [signature, *_] = [lines for lines in blocks if "HIỆU TRƯỞNG" in lines]
    assert signature.count("HIỆU TRƯỞNG") == 1
