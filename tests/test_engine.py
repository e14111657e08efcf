"""The dialogue engine end to end on a real SQLite file: what staff see and what is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from pathlib import Path

import pytest

from conversations.engine import Engine
from conversations.events import ChoiceKind, IncomingFile
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser, register_unit, settle

# The 2002 seed's table (../shared/seeds/002): stated total 98, real total 93.
SEED_002 = {
    "1a": 10, "1b": 10, "1c": 10, "2a": 10, "2b": 5, "2c": 10, "2d": 5,
    "3a1": 3, "3a2": 3, "3a3": 3, "3a4": 3, "3a5": 3, "3a6": 3, "3a7": 3, "3a8": 4,
    "3b": 5, "3c": 3,
}  # fmt: skip
CO_QUAN = "Cơ quan nhà nước"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
async def engine(db_path: Path) -> AsyncIterator[Engine]:
    repository = await SqliteRepository.open(db_path)
    settings = Settings(reports_dir=db_path.parent / "reports")
    yield Engine(repository, settings, today=lambda: date(2024, 2, 1))  # default year 2023: TT 22
    await repository.close()


async def answer_all(user: ChatUser, answers: Mapping[str, object]) -> None:
    """Answer each question the engine asks, reading its code from the question text."""
    for _ in range(len(answers) + 5):
        question = user.question.text
        code = next(
            (c for c in answers if f"\n{c}. " in question or f"Nội dung {c}:" in question), None
        )
        if code is None:
            return
        await user.say(str(answers[code]))
        assert "Đã lưu" in user.text, user.text


async def test_full_tt22_assessment_gives_computed_total(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Giáo dục và Đào tạo huyện Kon Rẫy", CO_QUAN)
    text = await lan.press("Bắt đầu đánh giá năm 2023")
    assert "1/17 · Tiêu chí 1: Các điều kiện để xây dựng Đơn vị học tập" in text
    assert "Điểm tối đa: 10" in text
    assert lan.question.scores[0].label == "10"
    await answer_all(lan, SEED_002)
    assert "Tổng điểm: 93/100" in lan.text
    assert "Xếp loại: Tốt" in lan.text
    assert "Tiêu chí 3. Đánh giá hiệu quả, tác động của xây dựng Đơn vị học tập: 33/40" in lan.text
    assert "Ưu điểm: bản nháp của trợ lý" in lan.question.text  # section III drafted
    await lan.press("Xem, sửa phần III")
    assert "Ưu điểm" in lan.question.text
    await lan.press("Dùng bản nháp này")
    assert "Tồn tại, hạn chế" in lan.question.text and "3b" in lan.question.text
    await lan.say("Kinh phí đào tạo, bồi dưỡng còn hạn hẹp.")
    await lan.press("Dùng bản nháp này")
    await lan.press("Dùng bản nháp này")
    assert "Tổng điểm: 93/100" in lan.question.text
    assert "Tồn tại, hạn chế: đơn vị tự viết" in lan.question.text
    text = await lan.press("Nộp kết quả")
    assert "đã nộp kết quả đánh giá năm 2023" in text
    assert "93/100" in text
    assert "đang được soạn" in text  # the .docx is a job after the commit
    [sent] = (await settle(lan.engine))["lan"]
    report = sent.files[0]
    assert report.path.exists() and report.name.endswith(".docx")
    import docx

    body = "\n".join(p.text for p in docx.Document(str(report.path)).paragraphs)
    assert "Kinh phí đào tạo, bồi dưỡng còn hạn hẹp." in body
    assert "Xếp loại: Tốt" in body


async def test_full_tt24_assessment_by_counts(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "UBND xã Đăk Ruồng", CO_QUAN)
    text = await lan.command("danhgia 2024")
    assert "1/13" in text and "1.1." in text
    answers: dict[str, object] = {f"1.{i}": "có" for i in range(1, 6)}
    answers |= {
        "2.1": "31/32",
        "2.2": "32 32",
        "2.3": "30/32",
        "2.4": "16/32",
        "2.5": "28/32",
        "3.1": "31/32",
        "3.2": "có",
        "3.3": "có",
    }
    for code, value in answers.items():
        assert f"\n{code}. " in lan.question.text, (code, lan.question.text)
        await lan.say(str(value))
        if code == "2.1":
            assert "31/32 = 96,9% (đạt, yêu cầu tối thiểu 90%)" in lan.text
        if code == "2.5":
            assert "28/32 = 87,5% (chưa đạt" in lan.text
    assert "2.5 không đạt" in lan.text
    assert "cần thêm 1 thành viên đạt" in lan.text
    assert "Chưa đủ điều kiện công nhận: không đạt 2.5" in lan.text
    assert "Không áp dụng với loại hình đơn vị: 3.4, 3.5" in lan.text


async def test_bad_input_changes_nothing_and_repeats_the_question(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    for bad, expected in [
        ("mười", "cần nhập điểm là số nguyên từ 0 đến 10"),
        ("11", "điểm 11 nằm ngoài thang điểm, chỉ được từ 0 đến 10"),
        ("7,5", "điểm phải là số nguyên"),
        ("x" * 5000, "Tin nhắn quá dài"),
    ]:
        text = await lan.say(bad)
        assert expected in text
        assert "1/17" in lan.question.text  # the same question again
    await lan.command("danhgia 2024")
    for _ in range(5):
        await lan.say("có")
    for bad, expected in [
        ("33/32", "số người đạt (33) không thể lớn hơn tổng số (32)"),
        ("90%", "không nhập tỷ lệ phần trăm"),
        ("0/0", "tổng số người phải lớn hơn 0"),
        ("nhiều", "cần nhập số người đạt trên tổng số"),
        ("không áp dụng", "không thể chọn “không áp dụng”"),
    ]:
        text = await lan.say(bad)
        assert expected in text, text
        assert "6/13" in lan.question.text and "2.1." in lan.question.text
    await lan.command("xemlai")
    assert "2.1: — chưa trả lời" in lan.text


async def test_stale_button_gets_moved_on_and_changes_nothing(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    old_seven = lan.choice("7")
    await lan.say("10")
    assert "2/17" in lan.question.text
    await lan.press_token(old_seven.token)
    replies = lan.replies
    assert "đã chuyển sang câu khác" in replies[0].text
    assert replies[0].notice
    assert "2/17" in replies[-1].text
    await lan.command("xemlai")
    assert "1a: 10/10" in lan.text  # not 7


async def test_forged_token_is_refused(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    nonce = lan.choice("7").token.split(".")[0]
    for forged in ("s:99", "o:submit", "x", "zzzzzz.s:7", "not a token"):
        text = await lan.press_token(forged if "." in forged else f"{nonce}.{forged}")
        assert "1/17" in lan.question.text, text
    await lan.command("xemlai")
    assert "0/17 câu đã trả lời" in lan.text


async def test_redelivered_event_is_not_applied_twice(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("9")
    await lan.say("minh chứng")  # "Thêm minh chứng": for 1a, just answered
    await lan.say("Kế hoạch số 1/KH")
    assert await lan.redeliver() == []
    await lan.say("xong")
    await lan.command("xemlai")
    assert "1a: 9/10 📎" in lan.text
    repository = engine.repository
    async with repository.transaction() as tx:
        answers = await tx.answers(1)
    assert answers["1a"].evidence == "Kế hoạch số 1/KH"


async def test_resume_after_restart_and_two_people_in_turn(db_path: Path) -> None:
    repository = await SqliteRepository.open(db_path)
    engine = Engine(repository, today=lambda: date(2024, 2, 1))
    lan = ChatUser(engine, "lan", "Lan")
    code = await register_unit(lan, "Phòng Giáo dục và Đào tạo huyện Kon Rẫy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    for score in ("10", "9", "8"):
        await lan.say(score)
    await repository.close()  # the process stops mid-way

    repository = await SqliteRepository.open(db_path)
    engine = Engine(repository, today=lambda: date(2024, 2, 1))
    hung = ChatUser(engine, "hung", "Hùng")
    await hung.command("start")
    await hung.press("Tham gia đơn vị")
    text = await hung.say(code.lower())
    assert "đã tham gia đơn vị “Phòng Giáo dục và Đào tạo huyện Kon Rẫy”" in text
    text = await hung.press("Tiếp tục đánh giá năm 2023")
    assert "đã trả lời 3/17" in text
    text = await hung.press("Tiếp tục tại câu 4/17")
    assert "4/17" in text and "2a." in text
    await hung.say("10")

    lan = ChatUser(engine, "lan", "Lan")
    text = await lan.command("start")
    assert "đã trả lời 4/17" in text
    text = await lan.press("Tiếp tục tại câu 5/17")
    assert "2b." in text
    await lan.command("xemlai")
    assert "Tiêu chí 1. Các điều kiện để xây dựng Đơn vị học tập: 27/30 điểm" in lan.text
    assert "2a: 10/10" in lan.text
    await repository.close()


async def test_navigation_back_skip_review_edit_pause(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("10")
    text = await lan.say("quay lại")
    assert "1/17" in text and "Câu trả lời hiện tại: 10/10 điểm" in text
    text = await lan.press("⏭ Bỏ qua")
    assert "2/17" in text
    text = await lan.say("bo qua")  # without accents
    assert "3/17" in text
    text = await lan.say("xem lại")
    assert "1b: — chưa trả lời" in text
    text = await lan.say("1b")
    assert "2/17" in text and "1b." in text
    await lan.say("6")
    text = await lan.say("tạm dừng")
    assert "Đã lưu toàn bộ" in text
    text = await lan.command("tieptuc")
    assert "đã trả lời 2/17" in text
    await lan.command("xemlai")
    assert "1b: 6/10" in lan.text


async def test_start_over_needs_confirmation(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("10")
    await lan.command("tieptuc")
    await lan.press("Làm lại từ đầu")
    await lan.press("Không, giữ nguyên")
    await lan.command("xemlai")
    assert "1a: 10/10" in lan.text
    await lan.command("tieptuc")
    await lan.press("Làm lại từ đầu")
    text = await lan.press("Xóa và làm lại")
    assert "1/17" in text
    await lan.command("xemlai")
    assert "1a: — chưa trả lời" in lan.text


async def test_text_channel_numbers_pick_word_options_not_scores(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await lan.command("start")
    text = await lan.say("1")  # 1) Đăng ký đơn vị mới
    assert "Tên đầy đủ của đơn vị" in text
    await lan.say("Phòng Nội vụ huyện Tân Biên")
    await lan.say("1")
    await lan.say("1")
    await lan.say("2")  # Để sau
    await lan.say("1")  # Bắt đầu đánh giá
    assert all(c.kind is ChoiceKind.SCORE for c in lan.question.scores)
    await lan.say("2")  # a score, not option 2
    assert "Đã lưu 1a: 2/10 điểm" in lan.text


async def test_evidence_file_is_size_checked_and_kept(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("10")
    big = IncomingFile("document", "file-big", "ke-hoach.pdf", "application/pdf", 50 * 1024 * 1024)
    text = await lan.send_file(big)
    assert "Tệp quá lớn" in text
    photo = IncomingFile("photo", "file-1", None, "image/jpeg", 120_000, caption="Ảnh kế hoạch")
    text = await lan.send_file(photo)
    assert "Đã lưu “ảnh” làm minh chứng cho 1a (câu vừa trả lời)" in text
    assert "2/17" in lan.question.text  # the next question stays on screen
    async with engine.repository.transaction() as tx:
        files = await tx.attachments(1)
        answers = await tx.answers(1)
    assert [(f.code, f.file_ref) for f in files] == [("1a", "file-1")]
    assert answers["1a"].evidence == "Ảnh kế hoạch"


async def test_a_document_of_unknown_or_negative_size_is_refused_with_the_reason(
    engine: Engine,
) -> None:
    """Issue 17, item 7: no size skipped the 20 MB limit; a negative one was a generic error."""
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("10")
    for size in (None, -5):
        document = IncomingFile("document", f"f{size}", "a.pdf", "application/pdf", size)
        assert "Không biết được kích thước của tệp" in await lan.send_file(document)
    async with engine.repository.transaction() as tx:
        assert await tx.attachments(1) == []


async def test_unit_details_are_validated(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.command("thongtin")
    await lan.say("UBND HUYỆN TÂN BIÊN")
    await lan.say("bỏ qua")
    await lan.say("Khu phố 1, thị trấn Tân Biên")
    text = await lan.say("không có số")
    assert "chưa đúng định dạng" in text
    await lan.say("0276 3874 123")
    await lan.say("pnv@tayninh.gov.vn")
    text = await lan.say("ba mươi")
    assert "Số thành viên chưa đúng định dạng" in text
    await lan.say("12")
    async with engine.repository.transaction() as tx:
        unit = await tx.get_unit(1)
    assert unit is not None
    assert (unit.parent_agency, unit.member_count) == ("UBND HUYỆN TÂN BIÊN", 12)
    assert unit.phone == "0276 3874 123"


async def test_stranger_cannot_join_with_a_wrong_code(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    stranger = ChatUser(engine, "mallory")
    await stranger.command("start")
    await stranger.press("Tham gia đơn vị")
    text = await stranger.say("AAAAAAAA")
    assert "Mã mời không đúng" in text
    text = await stranger.command("xemlai")
    assert "Bạn chưa thuộc đơn vị nào" in text


async def test_the_evidence_step_never_swallows_the_next_answer(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    await lan.say("10")  # 1a
    await lan.press("📎 Thêm minh chứng")
    assert "Minh chứng cho 1a" in lan.text
    text = await lan.say("8")  # meant for 1b: answered there, not kept as evidence
    assert "Đã lưu 1b: 8/10 điểm" in text
    assert "3/17" in lan.question.text
    for done in ("Xong.", "xong\u200b", "ｘｏｎｇ", " XONG "):
        await lan.say("minh chứng")
        assert "Minh chứng cho 1b" in lan.text
        await lan.say(done)
        assert "3/17" in lan.question.text, done
    async with engine.repository.transaction() as tx:
        answers = await tx.answers(1)
    assert answers["1a"].evidence == "" and answers["1b"].evidence == ""
    assert answers["1b"].value == "8"


async def test_cancel_leaves_registration_and_details_without_saving(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await lan.command("start")
    await lan.press("Đăng ký đơn vị mới")
    await lan.say("Phòng Nội vụ huyện Tân Biên")
    text = await lan.say("hủy")
    assert "Đơn vị của bạn đã có trên hệ thống chưa?" in text  # back to the start screen
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.command("thongtin")
    text = await lan.press("✖ Hủy")
    assert "Đơn vị: Phòng Nội vụ huyện Tân Biên" in text  # the menu
    async with engine.repository.transaction() as tx:
        unit = await tx.get_unit(1)
        assert unit is not None and unit.parent_agency is None
        assert await tx.get_unit(2) is None  # the cancelled registration created nothing


async def test_a_chat_whose_assessment_is_gone_gets_the_menu(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá")
    async with engine.repository.transaction() as tx:
        chat = await tx.get_chat("test", "lan")
        assert chat is not None and chat.mode == "ask"
        chat.data["assessment_id"] = 999  # not this unit's: never trusted
        await tx.save_chat(chat)
    text = await lan.say("7")
    assert "Đơn vị: Phòng Nội vụ huyện Tân Biên" in text and "Bạn muốn làm gì?" in text
    async with engine.repository.transaction() as tx:
        assert await tx.answers(1) == {}
