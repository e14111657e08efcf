"""Issue 17, item 3: control and invisible characters never reach the database, a stored one
never stops the workbook or the report, and a unit's name can be corrected (/doiten).

Each field a person fills is checked through the chat: unit name, person name, evidence, a
part III narrative, a leader's return comment, a file's caption and its file name.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from conversations.cleaning import clean_text
from conversations.engine import Engine
from conversations.events import IncomingFile
from storage.sqlite import SqliteRepository
from templates.overview import OverviewRow, write_overview
from tests import test_leaders
from tests.chat_driver import ChatUser, register_unit, settle
from tests.test_engine import CO_QUAN, SEED_002, answer_all
from tests.test_leaders import World, outbox

# The units, roles and supervising unit of test_leaders: its fixtures, used here as they are.
repo, engine, world = test_leaders.repo, test_leaders.engine, test_leaders.world

NASTY = "\x00\x01\u200b\u202e\ufeff\x7f\x9b"  # NUL, C0, zero-width, bidi, BOM, DEL, C1
DAK = unicodedata.normalize("NFD", "Đắk Rẫy")  # typed with combining marks


def clean(text: str) -> bool:
    return not any(c in text for c in NASTY) and unicodedata.is_normalized("NFC", text)


def test_clean_text_keeps_vietnamese_and_lines_and_drops_the_rest() -> None:
    assert clean_text(f"Trường{NASTY} {DAK}\r\nDòng 2\tcột") == "Trường Đắk Rẫy\nDòng 2\tcột"
    assert clean_text("a\nb\tc", multiline=False) == "a b c"
    assert clean_text("\ud800x\ufffe") == "x"  # a lone surrogate, a noncharacter
    assert clean_text("Kon Rẫy") == "Kon Rẫy"


async def test_unit_and_person_names_are_cleaned(engine: Engine, repo: SqliteRepository) -> None:
    lan = ChatUser(engine, "lan", f"Cô\u202e Lan{NASTY}")
    await lan.command("start")
    await lan.press("Đăng ký đơn vị mới")
    await lan.say("\x00\x00\x00")  # three NULs are no name: asked again
    assert "Tên đầy đủ của đơn vị" in lan.question.text
    assert "từ 3 đến 200 ký tự" in await lan.say("\x00 \x01ab\u200b")
    await lan.say("hủy")  # begin again: /start would go on with the step left
    await register_unit(lan, f"Trường \x01 Lạ {DAK}", CO_QUAN)
    async with repo.transaction() as tx:
        [unit] = await tx.units()
        [(person, _)] = await tx.members(unit.id)
    assert unit.name == "Trường Lạ Đắk Rẫy"
    assert person.display_name == "Cô Lan"


async def test_evidence_caption_and_file_name_are_cleaned(
    engine: Engine, repo: SqliteRepository
) -> None:
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say(f"9 - Kế hoạch{NASTY} số 1/KH\n{DAK}")  # the evidence with the answer
    photo = IncomingFile(
        "document", "f1", f"ke{NASTY}\nhoach.pdf", "application/pdf", 1000, f"Ảnh{NASTY}"
    )
    assert "Đã lưu “ke hoach.pdf” làm minh chứng cho 1a" in await lan.send_file(photo)
    async with repo.transaction() as tx:
        evidence = (await tx.answers(1))["1a"].evidence
        [attachment] = await tx.attachments(1)
    assert evidence.startswith("Kế hoạch số 1/KH\nĐắk Rẫy") and clean(evidence)
    assert "Ảnh" in evidence
    assert attachment.file_name == "ke hoach.pdf"


async def test_a_narrative_and_a_return_comment_are_cleaned(
    world: World, repo: SqliteRepository
) -> None:
    w = world
    await w.lan.command("danhgia")
    await answer_all(w.lan, SEED_002)
    await w.lan.press("Xem, sửa phần III")
    while "Dùng bản nháp này" in [c.label for c in w.lan.question.choices]:
        await w.lan.say(f"Ưu điểm{NASTY}: {DAK}")
    await w.lan.press("Nộp kết quả")
    [note, _] = await outbox(repo, w.minh)
    await w.minh.press_token(note.choices[1].token)  # return, with a comment
    await w.minh.say(f"Bổ sung{NASTY} tiêu chí 3")
    async with repo.transaction() as tx:
        assessment = await tx.latest_assessment(2)
        assert assessment is not None
        narratives = await tx.narratives(assessment.id)
    assert narratives and all(clean(text) for text, _ in narratives.values())
    assert any("Ưu điểm: Đắk Rẫy" in text for text, _ in narratives.values())
    assert assessment.return_comment == "Bổ sung tiêu chí 3"


async def test_an_old_row_with_a_nul_does_not_stop_the_overview(
    world: World, repo: SqliteRepository
) -> None:
    async with repo.transaction() as tx:  # stored before names were cleaned
        await tx.update_unit(2, {"name": "Trường \x01 Lạ\x00"})
    text = await world.sup.command("tonghop 2023")
    assert "tổng hợp năm" in text
    delivered = await settle(world.sup.engine)
    [workbook] = [f.path for r in delivered["sup"] for f in r.files]
    sheet = openpyxl.load_workbook(workbook).active
    assert sheet is not None
    names = [row[1] for row in sheet.iter_rows(min_row=5, values_only=True)]
    assert "Trường  Lạ" in names


def test_the_workbook_writer_takes_any_stored_text(tmp_path: Path) -> None:
    at = datetime(2024, 1, 5, tzinfo=UTC)
    row = OverviewRow(
        "\x00\x00\x00", "Cơ quan\x0b", "Đã nộp\x1f", "17/17", {"1": "9\x08"}, "93/100", "Tốt", at
    )
    path = write_overview(tmp_path / "t.xlsx", "Tổng hợp\x02", "năm\x03", ["1"], [row])
    assert openpyxl.load_workbook(path).active is not None


async def test_a_leader_renames_the_unit(world: World, repo: SqliteRepository) -> None:
    w = world
    assert "Chỉ lãnh đạo đơn vị" in await w.lan.command("doiten Trường Khác")  # staff: no
    text = await w.minh.command(f"doiten Trường Tiểu học {DAK}{NASTY}")
    assert "thành “Trường Tiểu học Đắk Rẫy”" in text
    async with repo.transaction() as tx:
        unit = await tx.get_unit(2)
    assert unit is not None and unit.name == "Trường Tiểu học Đắk Rẫy"


async def test_the_supervising_unit_renames_a_unit_under_it(
    world: World, repo: SqliteRepository, engine: Engine
) -> None:
    w = world
    async with repo.transaction() as tx:
        await tx.update_unit(3, {"name": "\x00\x00\x00"})  # an old row, unreadable
    await w.sup.command("doiten")
    assert "Đổi tên đơn vị trực thuộc nào?" in w.sup.question.text
    await w.sup.press("(đơn vị số 3")
    assert "từ 3 đến 200 ký tự" in await w.sup.say("ab")
    assert "Đã đổi tên" in await w.sup.say("Trường Mầm non Tân Lập")
    async with repo.transaction() as tx:
        unit = await tx.get_unit(3)
    assert unit is not None and unit.name == "Trường Mầm non Tân Lập"
    # Someone outside gets nothing, and an old button gives no right.
    x = ChatUser(engine, "x", "Người lạ")
    await register_unit(x, "Công ty Lạ", CO_QUAN)
    assert "Chỉ lãnh đạo đơn vị" in await x.command("doiten Công ty Mới")
