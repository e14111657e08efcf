"""The conversation as a clerk lives it (issue 16): one message per answer, nothing stale,
nothing hidden. Driven through the engine as a channel does (tests.chat_driver)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import docx
import pytest

from conversations.engine import Engine
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser, register_unit, settle
from tests.test_engine import CO_QUAN, SEED_002, answer_all


@pytest.fixture
async def make_engine(tmp_path: Path) -> AsyncIterator[Callable[[date], Engine]]:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    settings = Settings(reports_dir=tmp_path / "reports")
    yield lambda today: Engine(repository, settings, today=lambda: today)
    await repository.close()


@pytest.fixture
def engine(make_engine: Callable[[date], Engine]) -> Engine:
    return make_engine(date(2024, 2, 1))  # the year assessed: 2023, TT 22


async def report_body(user: ChatUser) -> str:
    [sent] = (await settle(user.engine))[user.user_id]
    [report] = sent.files
    return "\n".join(p.text for p in docx.Document(str(report.path)).paragraphs)


async def assessed(user: ChatUser, name: str = "Phòng Nội vụ huyện Tân Biên") -> None:
    await register_unit(user, name, CO_QUAN)
    await user.press("Bắt đầu đánh giá năm 2023")
    await answer_all(user, SEED_002)


# --- wrong or lost ----------------------------------------------------------------------


async def test_accepted_drafts_describe_the_answers_as_submitted(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await assessed(lan)
    await lan.press("Xem, sửa phần III")
    for _ in range(4):  # accept the four drafted sections
        await lan.press("Dùng bản nháp này")
    assert "Tổng điểm: 93/100" in lan.question.text
    await lan.press("Xem lại trước")
    await lan.say("3b")
    await lan.say("0")  # 3b: 5 -> 0
    await lan.command("xemlai")
    await lan.press("Xem kết quả và nộp")
    assert "Tổng điểm: 88/100" in lan.question.text
    await lan.press("Nộp kết quả")
    body = await report_body(lan)
    assert "Tổng điểm đạt được: 88/100 điểm." in body  # "2. Kết quả tự đánh giá" (issue 20)
    assert "93/100" not in body  # no section still quotes the total before the edit
    assert "5/10" not in body.split("Tồn tại")[-1].split("Kiến nghị")[0]


async def test_own_text_quoting_a_figure_that_changed_is_pointed_out_before_submitting(
    engine: Engine,
) -> None:
    lan = ChatUser(engine, "lan")
    await assessed(lan)
    await lan.press("Xem, sửa phần III")
    await lan.say("Đơn vị đạt 93/100 điểm, xếp loại Tốt; kế hoạch số 12/KH-UBND ngày 05/01/2023.")
    await lan.press("Xong phần III")
    assert "⚠" not in lan.question.text  # the figure is right, the date is not a figure
    await lan.press("Xem lại trước")
    await lan.say("3b")
    await lan.say("0")
    await lan.command("xemlai")
    text = await lan.press("Xem kết quả và nộp")
    assert "⚠ Mục “Ưu điểm” đơn vị tự viết có số 93/100 không còn khớp" in text
    await lan.press("Nộp kết quả")
    body = await report_body(lan)
    assert "Đơn vị đạt 93/100 điểm, xếp loại Tốt" in body  # the unit's words are kept


async def test_a_section_is_edited_from_review_and_never_takes_a_lone_number(
    engine: Engine,
) -> None:
    lan = ChatUser(engine, "lan")
    await assessed(lan)
    await lan.press("Xem, sửa phần III")
    await lan.press("Giữ nguyên, sang phần tiếp")
    await lan.press("Giữ nguyên, sang phần tiếp")
    await lan.press("Giữ nguyên, sang phần tiếp")
    assert "Phương hướng năm sau" in lan.question.text
    for typed in ("7", "xong", "bỏ qua", "ok"):  # never a section's text
        text = await lan.say(typed)
        assert "không được lưu làm nội dung báo cáo" in text or "Phần III" in text, typed
    async with engine.repository.transaction() as tx:
        assert "phuong_huong" not in await tx.narratives(1)
    await lan.command("xemlai")
    assert "– Phương hướng năm sau: bản nháp theo câu trả lời" in lan.question.text
    await lan.say("phương hướng")
    text = await lan.say("Tiếp tục duy trì.\nMở thêm lớp tin học.")
    assert "Đã lưu phần “Phương hướng năm sau”" in text
    assert "– Phương hướng năm sau: đơn vị tự viết" in lan.question.text  # back to review
    await lan.say("phuong huong")  # without accents
    assert "Tiếp tục duy trì.\nMở thêm lớp tin học." in lan.question.text
    await lan.press("Dùng bản nháp này")  # back to the draft, which follows the answers
    async with engine.repository.transaction() as tx:
        assert (await tx.narratives(1))["phuong_huong"][1] is True


async def test_a_colleague_resumes_a_past_years_assessment(
    make_engine: Callable[[date], Engine],
) -> None:
    lan = ChatUser(make_engine(date(2024, 2, 1)), "lan")
    code = await register_unit(lan, "Phòng Văn hóa huyện Sa Thầy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2023")
    for score in SEED_002.values():
        if "9/17" in lan.question.text:
            break
        await lan.say(str(score))
    hung = ChatUser(make_engine(date(2026, 6, 1)), "hung")  # years later, a new colleague
    await hung.command(f"start {code}")
    text = await hung.command("menu")
    assert "Còn đánh giá dở: năm 2023 (8/17 câu)" in text
    assert "Tiếp tục đánh giá năm 2023" in [c.label for c in hung.question.choices]
    text = await hung.command("tieptuc")
    assert "Đơn vị đang đánh giá dở năm 2023: đã trả lời 8/17 câu" in text
    await hung.command("danhgia 2026")  # a second unfinished one, touched last
    await hung.say("có")
    text = await hung.command("tieptuc")
    assert "Đơn vị đang đánh giá dở năm 2026" in text
    assert "Đơn vị còn đánh giá dở năm 2023" in text
    text = await hung.press("Chuyển sang đánh giá năm 2023")
    assert "đã trả lời 8/17 câu" in text


async def test_evidence_with_the_answer_and_answers_never_kept_as_evidence(
    make_engine: Callable[[date], Engine],
) -> None:
    lan = ChatUser(make_engine(date(2025, 2, 1)), "lan")  # 2024: TT 24, yes/no chỉ tiêu
    await register_unit(lan, "Phòng Tư pháp huyện Sa Thầy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2024")
    text = await lan.say("có - Kế hoạch số 12/KH-UBND ngày 05/01/2024")
    assert "Đã lưu 1.1: Có (đạt), kèm minh chứng" in text
    await lan.say("minh chứng")  # more evidence for 1.1, just answered
    assert "Minh chứng cho 1.1" in lan.text
    await lan.say("có")  # meant for 1.2
    await lan.say("không")  # and 1.3
    async with lan.engine.repository.transaction() as tx:
        answers = await tx.answers(1)
    assert answers["1.1"].evidence == "Kế hoạch số 12/KH-UBND ngày 05/01/2024"
    assert (answers["1.2"].value, answers["1.3"].value) == ("có", "không")


async def test_a_yes_no_answer_by_its_number_takes_the_evidence_after_it(
    make_engine: Callable[[date], Engine],
) -> None:
    """The hint says "trả lời 1 hoặc “có”": "1 - …" is "có - …", and "2 - …" is "không - …"."""
    lan = ChatUser(make_engine(date(2025, 2, 1)), "lan")
    await register_unit(lan, "Phòng Tư pháp huyện Sa Thầy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2024")
    text = await lan.say("1 - Kế hoạch số 12/KH-UBND ngày 05/01/2024")
    assert "Đã lưu 1.1: Có (đạt), kèm minh chứng" in text
    text = await lan.say("2: chưa có nghị quyết")
    assert "Đã lưu 1.2: Không (chưa đạt), kèm minh chứng" in text
    text = await lan.say("7 - Kế hoạch số 13/KH-UBND")  # no such choice: nothing saved
    assert "1 hoặc “có” (đạt), 2 hoặc “không” (chưa đạt)" in text
    async with lan.engine.repository.transaction() as tx:
        answers = await tx.answers(1)
    assert answers["1.1"].evidence == "Kế hoạch số 12/KH-UBND ngày 05/01/2024"
    assert (answers["1.2"].value, answers["1.2"].evidence) == ("không", "chưa có nghị quyết")
    assert "1.3" not in answers


# --- the shape of the flow ------------------------------------------------------------------


async def test_a_submitted_review_is_read_only_and_says_how_to_have_it_returned(
    engine: Engine,
) -> None:
    lan = ChatUser(engine, "lan")
    await assessed(lan)
    await lan.press("Nộp kết quả")
    text = await lan.command("xemlai")
    assert "Gõ mã chỉ tiêu" not in text and "Xem kết quả và nộp" not in text
    assert "chỉ xem, không sửa được" in text and "lãnh đạo đơn vị trả lại báo cáo" in text
    assert [c.label for c in lan.question.choices] == ["Về menu"]
    text = await lan.say("3b")
    assert "không sửa được nữa" in text


async def test_skip_says_what_it_did_and_empty_text_gets_a_hint(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2023")
    text = await lan.say("bỏ qua")
    assert "Đã bỏ qua 1a; câu này sẽ được hỏi lại trước khi nộp" in text
    assert "2/17" in lan.question.text
    text = await lan.say("   ")
    assert "Tin nhắn trống" in text and "2/17" in text


async def test_unknown_commands_before_joining_and_yes_no_forms(
    make_engine: Callable[[date], Engine],
) -> None:
    stranger = ChatUser(make_engine(date(2025, 2, 1)), "x")
    text = await stranger.command("xyz")
    assert "Không có lệnh /xyz" in text and "chưa thuộc đơn vị" not in text
    lan = ChatUser(make_engine(date(2025, 2, 1)), "lan")
    await register_unit(lan, "Phòng Tư pháp huyện Sa Thầy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2024")
    text = await lan.say("đúng rồi")
    assert "1 hoặc “có” (đạt), 2 hoặc “không” (chưa đạt)" in text
    assert "không áp dụng" not in text  # 1.1 binds every unit


async def test_a_wrong_yes_no_answer_names_not_applicable_where_it_may_be_chosen(
    make_engine: Callable[[date], Engine],
) -> None:
    """1.3 (the state budget for training) binds a school only if it is a public one: the
    school says so, and a wrong answer there names all three accepted forms."""
    lan = ChatUser(make_engine(date(2025, 2, 1)), "lan")
    await register_unit(lan, "Trường THCS Nguyễn Du", "Cơ sở giáo dục phổ thông (tiểu học, THCS)")
    await lan.press("Bắt đầu đánh giá năm 2024")
    await lan.say("có")  # 1.1
    await lan.say("có")  # 1.2
    text = await lan.say("đúng rồi")  # 1.3
    assert "1 hoặc “có” (đạt), 2 hoặc “không” (chưa đạt), 3 hoặc “không áp dụng”" in text


async def test_the_command_words_are_listed_where_they_help(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    lan.channel = "zalo"
    from bot.textrender import render_text

    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2023")
    assert "Lệnh: " in render_text(lan.question)  # the first questions
    for score in ("10", "10", "10"):
        await lan.say(score)
    assert "4/17" in lan.question.text
    assert "Lệnh: " not in render_text(lan.question)  # not on every message
    await lan.say("mười một")
    assert "Lệnh: " in render_text(lan.question)  # after a wrong input
    await lan.say("9")
    assert "Lệnh: " not in render_text(lan.question)
    await lan.say("lệnh")
    assert "Lệnh: “quay lại” · “bỏ qua” · “minh chứng”" in render_text(lan.question)  # on request


async def test_two_totals_that_differ_are_asked_about_once_and_noted_for_the_report(
    make_engine: Callable[[date], Engine],
) -> None:
    lan = ChatUser(make_engine(date(2025, 2, 1)), "lan")
    await register_unit(lan, "Phòng Tư pháp huyện Sa Thầy", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2024")
    for _ in range(5):
        await lan.say("có")
    assert "2.1." in lan.question.text
    await lan.say("32/32")
    assert "2.2." in lan.question.text  # one total so far: nothing to ask
    text = await lan.say("14/20")
    assert "Tổng số ở chỉ tiêu 2.2 là 20, khác 32 ở 2.1" in text
    text = await lan.say("cán bộ, công chức")
    assert "Đã ghi chú cho 2.2: tổng số là cán bộ, công chức" in text
    assert "2.3." in lan.question.text
    await lan.say("quay lại")
    text = await lan.say("15/20")  # 2.2 answered again: not asked a second time
    assert "Tổng số ở chỉ tiêu" not in text and "2.3." in lan.question.text
    text = await lan.say("30/31")
    assert "Tổng số ở chỉ tiêu 2.3 là 31" in text
    await lan.press("Đúng như vậy, không cần ghi chú")
    assert "2.4." in lan.question.text
    from conversations.reporting import report_data
    from conversations.working import Working

    async with lan.engine.repository.transaction() as tx:
        assert await tx.part_notes(1) == {"2.2": "cán bộ, công chức", "2.3": ""}
        unit, assessment = await tx.get_unit(1), await tx.get_assessment_by_id(1)
        assert unit is not None and assessment is not None
        data = await report_data(tx, Working.of(unit, assessment), date(2025, 2, 1))
    assert data.part_notes == {"2.2": "cán bộ, công chức"}


async def test_a_label_typed_whole_or_with_a_full_stop_is_its_choice(engine: Engine) -> None:
    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.command("moi")
    text = await lan.say("Cán bộ (trả lời, nộp)")  # a label with its parenthesis, typed whole
    assert "Mã mời cán bộ" in text
    await lan.command("danhgia 2023")
    text = await lan.say("１０.")  # a full-width score with a full stop
    assert "Đã lưu 1a: 10/10 điểm" in text


async def test_a_photo_after_resuming_belongs_to_the_question_on_screen(engine: Engine) -> None:
    from conversations.events import IncomingFile

    lan = ChatUser(engine, "lan")
    await register_unit(lan, "Phòng Nội vụ huyện Tân Biên", CO_QUAN)
    await lan.press("Bắt đầu đánh giá năm 2023")
    await lan.say("10")
    await lan.say("tạm dừng")
    await lan.command("tieptuc")
    await lan.press("Tiếp tục tại câu 2/17")
    photo = IncomingFile("photo", "p-1", None, "image/jpeg", 1000)
    text = await lan.send_file(photo)
    assert "minh chứng cho 1b (câu đang hỏi)" in text  # not 1a, answered in another sitting


HINT_EXAMPLE = "ví dụ “"


def _hinted_example(question: str) -> str:
    """The evidence example the question's hint offers ("gõ ngay sau câu trả lời, ví dụ “…”")."""
    hint = next(line for line in question.splitlines() if line.startswith("📎"))
    return hint.split(HINT_EXAMPLE, 1)[1].split("”", 1)[0]


@pytest.mark.parametrize(
    ("today", "year", "first"),
    [(date(2026, 2, 1), 2025, "1.1"), (date(2024, 2, 1), 2023, "1a")],
)
async def test_the_evidence_example_of_a_question_is_one_it_accepts(
    make_engine: Callable[[date], Engine], today: date, year: int, first: str
) -> None:
    """The hint's example, typed as it stands, is saved with its evidence (a score example at a
    yes/no chỉ tiêu of TT 24 was refused), and is dated in the year assessed."""
    lan = ChatUser(make_engine(today), "lan")
    await register_unit(lan, "Trường Tiểu học Nghĩa Lộ", "Cơ sở giáo dục phổ thông")
    await lan.press(f"Bắt đầu đánh giá năm {today.year - 1}")
    example = _hinted_example(lan.question.text)
    assert example.endswith(f"/{year}")
    text = await lan.say(example)
    assert f"Đã lưu {first}:" in text and "kèm minh chứng" in text


async def test_report_again_with_a_year_that_is_not_one_says_so(engine: Engine) -> None:
    """/baocao abc is a mistyped year, not "chưa nộp báo cáo năm abc"; /baocao 2023 after the
    submission sends that year's report."""
    lan = ChatUser(engine, "lan")
    await assessed(lan)
    await lan.press("Nộp kết quả")
    text = await lan.command("baocao abc")
    assert "Năm “abc” không hợp lệ" in text and "/baocao 2023" in text
    assert "năm abc" not in text
    assert "chưa nộp báo cáo năm 2022" in await lan.command("baocao 2022")
    assert "Hồ sơ năm 2023 (.docx) đang được soạn" in await lan.command("baocao 2023")


async def test_report_again_sends_the_latest_submission_the_menu_names(tmp_path: Path) -> None:
    """2025 submitted, then 2023 (late): the menu names 2023 as the latest submission, and
    /baocao without a year (the menu's "Tải báo cáo đã nộp") sends that one, not the later year."""
    from conversations.report_again import latest_submitted
    from storage.sqlite import SqliteRepository

    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    try:
        async with repository.transaction() as tx:
            unit = await tx.create_unit(
                "Trường Tiểu học Nghĩa Lộ", "giao-duc-pho-thong", "cap-huyen"
            )
            person = await tx.upsert_person("console", "lan", "Lan")
            later_year = await tx.create_assessment(unit.id, "tt24-2023-cap-huyen", 2025)
            earlier_year = await tx.create_assessment(unit.id, "tt22-2020", 2023)
            await tx.record_submission(later_year.id, person.id, date(2026, 1, 5), 1)
        async with repository.transaction() as tx:
            await tx.record_submission(earlier_year.id, person.id, date(2026, 1, 9), None)
        async with repository.transaction() as tx:
            found = await latest_submitted(tx, unit.id)
        assert found is not None and found.year == 2023
    finally:
        await repository.close()


async def test_the_level_is_chosen_by_todays_name_or_the_circulars(
    make_engine: Callable[[date], Engine],
) -> None:
    """Registration reads "Cấp xã (trước 01/7/2025: cấp huyện)": typed "cấp xã" or the
    circular's "cấp huyện", both choose it."""
    for typed in ("cấp xã", "Cấp huyện"):
        lan = ChatUser(make_engine(date(2026, 2, 1)), f"lan-{typed}")
        await lan.command("start")
        await lan.press("Đăng ký đơn vị mới")
        await lan.say("Trường Tiểu học Nghĩa Lộ")
        assert "cấp nào" in await lan.say("3")
        assert lan.question.choices[0].label == "Cấp xã (trước 01/7/2025: cấp huyện)"
        after = await lan.say(typed)
        assert "cấp nào" not in lan.question.text, after


async def test_a_detail_given_by_mistake_can_be_taken_out(
    make_engine: Callable[[date], Engine],
) -> None:
    """/thongtin: a field that holds a value offers "Xoá thông tin này" (typed "xoá"); the
    field is then empty and the report leaves it out. An empty field offers no such choice."""
    lan = ChatUser(make_engine(date(2026, 2, 1)), "lan")
    await register_unit(lan, "Trường Tiểu học Nghĩa Lộ", "Cơ sở giáo dục phổ thông")
    await lan.command("thongtin")
    assert "Xoá thông tin này" not in [c.label.split(" ", 1)[-1] for c in lan.question.choices]
    await lan.say("Sở Giáo dục và Đào tạo tỉnh Quảng Ngãi")  # the first field, now given
    await lan.command("thongtin")
    assert "Hiện tại: Sở Giáo dục và Đào tạo tỉnh Quảng Ngãi" in lan.question.text
    text = await lan.say("xoá")
    assert "Đã xoá" in text
    await lan.command("thongtin")
    assert "Hiện chưa có." in lan.question.text
