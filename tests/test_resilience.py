"""Resilience of the engine: redelivered updates, old buttons pressed late, people acting at once.

Each test drives the real engine on a real SQLite file through `ChatUser`s (one drives the real
Telegram Application against the fake Bot API), then reads what was kept (answers, statuses, the
outbox, the event log), so a duplicate or a lost change shows up as a user would notice it: a
paragraph of evidence twice, two notes to the leader, an answer silently back to an older value.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from conversations.engine import Engine
from conversations.events import Event, EventKind, IncomingFile, Sender
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser, register_unit, run_jobs
from tests.fake_telegram import FakeBotApi, PhoneUser
from tests.test_engine import CO_QUAN, SEED_002, answer_all
from tests.test_telegram import Harness, _application
from tests.test_telegram import register as register_on_telegram

TODAY = date(2024, 2, 1)  # the working year is 2023 (Thông tư 22/2020: 17 scored questions)
UNIT = "Trường Tiểu học Đắk Ruồng"
SAVED = re.compile(r"✅ Đã lưu (\w+): (\d+)/\d+ điểm")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
async def engine(db_path: Path) -> AsyncIterator[Engine]:
    repository = await SqliteRepository.open(db_path)
    yield Engine(repository, Settings(reports_dir=db_path.parent / "reports"), today=lambda: TODAY)
    await repository.close()


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database as another process would (the engine's commits are durable)."""
    conn = sqlite3.connect(db_path)
    try:
        return [tuple(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def events(db_path: Path, kind: str) -> list[dict[str, Any]]:
    """The data of each logged event of `kind`, in the order they were committed."""
    found = rows(db_path, "SELECT data FROM events WHERE kind = ? ORDER BY id", (kind,))
    return [json.loads(data) for (data,) in found]


def answers(db_path: Path) -> dict[str, tuple[str | None, str]]:
    """code -> (value, evidence) of the unit's only assessment."""
    found = rows(db_path, "SELECT code, value, evidence FROM answers ORDER BY code")
    return {code: (value, evidence) for code, value, evidence in found}


def code_of(text: str) -> str | None:
    """The TT 22 code a question asks ("…\\n1a. …")."""
    return next((c for c in SEED_002 if f"\n{c}. " in text or f"Nội dung {c}:" in text), None)


async def unit_with(engine: Engine, *names: str) -> list[ChatUser]:
    """The first person registers the unit; the others join it as staff."""
    first, *others = [ChatUser(engine, name.lower(), name) for name in names]
    code = await register_unit(first, UNIT, CO_QUAN)
    for user in others:
        await user.command(f"start {code}")
        assert "Bạn đã tham gia đơn vị" in user.text, user.text
    return [first, *others]


async def with_leader(
    engine: Engine, staff: ChatUser, name: str, inviter: ChatUser | None = None
) -> ChatUser:
    """A leader for the unit: staff invite the first, a leader the next ones."""
    leader = ChatUser(engine, name.lower(), name)
    text = await (inviter or staff).command("moi lanhdao")
    code = re.search(r": ([A-Z2-9]{8}) \(dùng được", text)
    assert code, text
    await leader.command(f"start {code.group(1)}")
    assert "lãnh đạo" in leader.text
    return leader


async def to_confirm_submit(user: ChatUser) -> None:
    await user.command("danhgia")
    await answer_all(user, SEED_002)
    while "Dùng bản nháp này" in [c.label for c in user.question.choices]:
        await user.press("Dùng bản nháp này")
    assert "Nộp kết quả" in [c.label for c in user.question.choices], user.text


# --- redelivered updates -------------------------------------------------------------------


async def test_every_kind_of_update_redelivered_is_applied_once(
    engine: Engine, db_path: Path
) -> None:
    """A channel may deliver an update again (a restart before its offset was acknowledged):
    registration, invites, answers, evidence, files, submission and approval happen once."""
    lan = ChatUser(engine, "lan", "Lan")

    async def twice(step: Awaitable[str]) -> str:
        text = await step
        assert lan.last_event is not None
        assert await engine.handle(lan.last_event) == [], "a redelivery must change nothing"
        return text

    await lan.command("start")
    await lan.press("Đăng ký đơn vị mới")
    await twice(lan.say(UNIT))
    await lan.press(CO_QUAN)
    await twice(lan.press("Cấp xã"))  # creates the unit
    await lan.press("Để sau")
    text = await twice(lan.command("moi lanhdao"))
    code = re.search(r": ([A-Z2-9]{8}) \(dùng được", text)
    assert code
    minh = ChatUser(engine, "minh", "Minh")
    await minh.command(f"start {code.group(1)}")
    await lan.command("danhgia")
    await twice(lan.say("9 - Kế hoạch số 12/KH-UBND"))  # the evidence with the answer
    photo = IncomingFile("photo", "file-1", None, "image/jpeg", 120_000, caption="Ảnh hội nghị")
    await twice(lan.send_file(photo))  # for 1a, the question just answered
    rest = {code: score for code, score in SEED_002.items() if code != "1a"}
    await answer_all(lan, rest)
    await twice(lan.press("Xem, sửa phần III"))
    while "Dùng bản nháp này" in [c.label for c in lan.question.choices]:
        await twice(lan.press("Dùng bản nháp này"))
    await twice(lan.press("Nộp kết quả"))
    note = pending_note(db_path, minh)
    await minh.press_token(note)
    await twice(minh.press("✅ Duyệt"))

    assert rows(db_path, "SELECT COUNT(*) FROM units") == [(1,)]
    assert rows(db_path, "SELECT role, COUNT(*) FROM invites GROUP BY role ORDER BY role") == [
        ("leader", 1),
        ("staff", 1),  # the one registration gives
    ]
    value, evidence = answers(db_path)["1a"]
    assert value == "9"
    assert evidence == "Kế hoạch số 12/KH-UBND\n\nẢnh hội nghị"
    assert rows(db_path, "SELECT COUNT(*) FROM attachments") == [(1,)]
    assert rows(db_path, "SELECT COUNT(*) FROM narratives") == [(4,)]
    assert len(events(db_path, "assessment.submitted")) == 1
    assert len(events(db_path, "assessment.approved")) == 1
    assert rows(db_path, "SELECT status FROM assessments") == [("approved",)]
    assert rows(db_path, "SELECT kind, COUNT(*) FROM jobs GROUP BY kind") == [("report", 1)]
    await run_jobs(engine)  # the report the one submission queued
    to_minh = rows(db_path, "SELECT COUNT(*) FROM outbox WHERE chat_id = 'minh'")
    assert to_minh == [(2,)]  # the note with its button and the report, once
    to_lan = rows(db_path, "SELECT payload FROM outbox WHERE chat_id = 'lan'")
    assert len(to_lan) == 2 and sum("đã duyệt" in payload for (payload,) in to_lan) == 1


def pending_note(db_path: Path, leader: ChatUser) -> str:
    """A button opening the review of the submission the outbox told `leader` about (the
    summary message carries "Duyệt" / "Trả lại"; this opens the screen with both)."""
    found = rows(
        db_path, "SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id", (leader.user_id,)
    )
    for (payload,) in reversed(found):
        for reply in json.loads(payload)["replies"]:
            for _label, token, _kind, _typed in reply["choices"]:
                if str(token).startswith("!pheduyet "):
                    return "!duyet " + str(token).split()[1]
    raise AssertionError(f"no review button for {leader.user_id}")


async def test_an_old_update_redelivered_after_newer_ones_does_not_undo_them(
    engine: Engine, db_path: Path
) -> None:
    [lan] = await unit_with(engine, "Lan")
    await lan.command("danhgia")
    await lan.say("7")
    first = lan.last_event
    await lan.say("quay lại")
    await lan.say("9")
    await lan.say("xong")
    assert first is not None
    assert await engine.handle(first) == []
    assert answers(db_path)["1a"][0] == "9"
    assert [e["value"] for e in events(db_path, "answer.saved")] == ["7", "9"]


async def test_a_redelivery_racing_its_original_is_applied_once(
    engine: Engine, db_path: Path
) -> None:
    """Two workers (or a webhook retry) handle the same update at the same moment."""
    [lan] = await unit_with(engine, "Lan")
    await lan.command("danhgia")
    await lan.say("8")
    await lan.press("📎 Thêm minh chứng")
    sender = Sender("lan", "Lan")
    for n, paragraph in enumerate(("Nghị quyết số 05/NQ-ĐU", "Kế hoạch số 7/KH")):
        event = Event("test", "lan", sender, EventKind.TEXT, paragraph, update_id=f"race-{n}")
        results = await asyncio.gather(*(engine.handle(event) for _ in range(3)))
        [handled] = [replies for replies in results if replies]  # the others change nothing
        assert "Đã ghi minh chứng cho 1a" in handled[0].text
    assert answers(db_path)["1a"][1] == "Nghị quyết số 05/NQ-ĐU\n\nKế hoạch số 7/KH"
    assert len(events(db_path, "evidence.added")) == 2


# --- old buttons, pressed late and out of order --------------------------------------------


async def test_old_buttons_pressed_out_of_order_are_stale_and_change_nothing(
    engine: Engine, db_path: Path
) -> None:
    [lan] = await unit_with(engine, "Lan")
    await lan.command("danhgia")
    old: dict[str, str] = {}
    for code in ("1a", "1b", "1c", "2a"):
        assert code_of(lan.question.text) == code
        old[f"{code}: 0"] = lan.choice("0").token
        old[f"{code}: skip"] = lan.choice("⏭").token
        old[f"{code}: evidence"] = lan.choice("📎").token
        await lan.press(str(SEED_002[code]))
    await lan.command("tieptuc")
    old["resume: restart"] = lan.choice("Làm lại từ đầu").token
    await lan.press("Làm lại từ đầu")
    old["restart: yes"] = lan.choice("Xóa và làm lại").token  # the destructive one
    await lan.press("Không, giữ nguyên")
    await lan.press("Tiếp tục tại câu 5/17")
    before = answers(db_path)
    assert {code: value for code, (value, _) in before.items()} == {
        "1a": "10", "1b": "10", "1c": "10", "2a": "10",
    }  # fmt: skip
    order = list(old)
    random.Random(7).shuffle(order)
    for name in order:
        await lan.press_token(old[name])
        assert "đã chuyển sang câu khác" in lan.replies[0].text, name
        assert lan.replies[0].notice, name
        assert code_of(lan.question.text) == "2b", (name, lan.question.text)
        assert answers(db_path) == before, name
    assert not events(db_path, "assessment.restarted")
    await lan.press("5")  # the live button still works
    assert answers(db_path)["2b"][0] == "5"


async def test_a_leaders_old_approve_button_is_stale_after_the_report_came_back(
    engine: Engine, db_path: Path
) -> None:
    [lan] = await unit_with(engine, "Lan")
    minh = await with_leader(engine, lan, "Minh")
    await to_confirm_submit(lan)
    await lan.press("Nộp kết quả")
    await minh.press_token(pending_note(db_path, minh))
    old_approve = minh.choice("✅ Duyệt").token
    await minh.press("↩ Trả lại")
    await minh.say("Bổ sung minh chứng cho tiêu chí 3.")
    await minh.press_token(old_approve)
    assert "đã chuyển sang câu khác" in minh.text
    assert rows(db_path, "SELECT status FROM assessments") == [("returned",)]
    await lan.command("tieptuc")
    await lan.press("Xem kết quả và nộp")
    await lan.press("Nộp kết quả")
    await minh.press_token(old_approve)  # pending again, but this is the first review's button
    assert "đã chuyển sang câu khác" in minh.text
    assert rows(db_path, "SELECT status FROM assessments") == [("submitted",)]
    assert not events(db_path, "assessment.approved")


# --- people acting at the same time ------------------------------------------------------


async def test_two_staff_answer_the_same_indicator_at_once(engine: Engine, db_path: Path) -> None:
    lan, hung = await unit_with(engine, "Lan", "Hung")
    await lan.command("danhgia")
    await hung.command("danhgia")
    assert code_of(lan.question.text) == code_of(hung.question.text) == "1a"
    await asyncio.gather(lan.say("7"), hung.say("9"))
    assert "✅ Đã lưu 1a: 7/10 điểm." in lan.text  # each is told what they typed was saved
    assert "✅ Đã lưu 1a: 9/10 điểm." in hung.text
    logged = [e["value"] for e in events(db_path, "answer.saved")]
    assert sorted(logged) == ["7", "9"]
    assert answers(db_path)["1a"][0] == logged[-1]  # the answer committed last is kept
    # Both add evidence to 1a at once: both paragraphs are kept, once each.
    await lan.say("minh chứng")
    await hung.say("minh chứng")
    await asyncio.gather(lan.say("Kế hoạch số 1/KH"), hung.say("Quyết định số 2/QĐ"))
    evidence = answers(db_path)["1a"][1].split("\n\n")
    assert sorted(evidence) == ["Kế hoạch số 1/KH", "Quyết định số 2/QĐ"]
    # Either one reviewing now sees the stored answer, not the one they typed.
    await lan.command("xemlai")
    assert f"1a: {logged[-1]}/10" in lan.text


async def test_two_staff_racing_through_the_whole_assessment_keep_it_consistent(
    engine: Engine, db_path: Path
) -> None:
    """Both answer whatever question they are shown until none is left, concurrently."""
    lan, hung = await unit_with(engine, "Lan", "Hung")
    scores = {"lan": dict(SEED_002), "hung": {code: 1 for code in SEED_002}}
    confirmed: list[tuple[str, str]] = []

    async def run(user: ChatUser) -> None:
        await user.command("danhgia")
        if user.question.choices and user.question.choices[0].label.startswith("Tiếp tục"):
            await user.press("Tiếp tục")
        for _ in range(60):
            code = code_of(user.question.text)
            if code is None:
                return
            await user.say(str(scores[user.user_id][code]))
            confirmed.extend(SAVED.findall(user.text))
            await user.say("xong")

    await asyncio.gather(run(lan), run(hung))
    stored = {code: value for code, (value, _) in answers(db_path).items()}
    assert set(stored) == set(SEED_002)  # every question answered by one of them
    logged = [(e["code"], e["value"]) for e in events(db_path, "answer.saved")]
    assert sorted(logged) == sorted(confirmed)  # one event per confirmation, none lost or doubled
    for code, value in stored.items():
        assert value in (str(scores["lan"][code]), str(scores["hung"][code]))
        assert value == [v for c, v in logged if c == code][-1]


async def test_two_staff_submitting_at_once_submit_once(engine: Engine, db_path: Path) -> None:
    lan, hung = await unit_with(engine, "Lan", "Hung")
    minh = await with_leader(engine, lan, "Minh")
    await to_confirm_submit(lan)
    await hung.command("tieptuc")
    await hung.press("Xem kết quả và nộp")
    assert "Nộp kết quả" in [c.label for c in hung.question.choices]
    await asyncio.gather(lan.press("Nộp kết quả"), hung.press("Nộp kết quả"))
    texts = [lan.text, hung.text]
    assert sum("đã nộp kết quả đánh giá năm 2023" in text for text in texts) == 1
    assert all("lỗi" not in text for text in texts), texts
    assert len(events(db_path, "assessment.submitted")) == 1
    assert rows(db_path, "SELECT COUNT(*) FROM jobs WHERE kind = 'report'") == [(1,)]
    await run_jobs(engine)
    notes = rows(db_path, "SELECT payload FROM outbox WHERE chat_id = ?", (minh.user_id,))
    assert len(notes) == 2  # one note with its button, one report
    assert rows(db_path, "SELECT status FROM assessments") == [("submitted",)]


async def test_two_leaders_deciding_at_once_make_one_decision(
    engine: Engine, db_path: Path
) -> None:
    [lan] = await unit_with(engine, "Lan")
    minh = await with_leader(engine, lan, "Minh")
    thu = await with_leader(engine, lan, "Thu", inviter=minh)
    await to_confirm_submit(lan)
    await lan.press("Nộp kết quả")
    for leader in (minh, thu):
        await leader.press_token(pending_note(db_path, leader))
    await thu.press("↩ Trả lại")
    await asyncio.gather(minh.press("✅ Duyệt"), thu.say("Cần bổ sung số liệu tiêu chí 2."))
    approved = events(db_path, "assessment.approved")
    returned = events(db_path, "assessment.returned")
    assert len(approved) + len(returned) == 1
    [(status,)] = rows(db_path, "SELECT status FROM assessments")
    assert status == ("approved" if approved else "returned")
    loser = thu if approved else minh
    assert "không chờ bạn duyệt" in loser.text
    told = rows(db_path, "SELECT payload FROM outbox WHERE chat_id = 'lan'")
    assert len(told) == 1  # staff hear of the one decision only


async def test_a_submitted_report_can_be_approved_after_staff_start_the_next_year(
    engine: Engine, db_path: Path
) -> None:
    """Staff may open next year's assessment before the leader has read last year's report:
    the leader's "Xem và duyệt" button and /duyet still find the report waiting."""
    [lan] = await unit_with(engine, "Lan")
    minh = await with_leader(engine, lan, "Minh")
    await to_confirm_submit(lan)
    await lan.press("Nộp kết quả")
    await lan.command("danhgia 2024")
    await lan.say("có")
    await minh.command("duyet")
    assert "chờ bạn duyệt" in minh.question.text and "năm 2023" in minh.question.text
    await minh.press_token(pending_note(db_path, minh))
    text = await minh.press("✅ Duyệt")
    assert "Đã duyệt báo cáo năm 2023" in text
    assert rows(db_path, "SELECT year, status FROM assessments ORDER BY year") == [
        (2023, "approved"),
        (2024, "draft"),
    ]


async def test_digits_that_are_not_decimal_get_an_answer_not_an_internal_error(
    engine: Engine, db_path: Path
) -> None:
    """A "²" is a digit to Python's isdigit() but not a number int() reads (found by the fuzz
    test): on every screen it is refused like any other text, and nothing is saved."""
    lan = ChatUser(engine, "lan", "Lan")
    internal = "Đã xảy ra lỗi khi xử lý tin nhắn này"
    await lan.command("start")
    assert internal not in await lan.say("²")
    await register_unit(lan, UNIT, CO_QUAN)
    assert internal not in await lan.say("³")  # the menu
    assert "Năm “²” không hợp lệ" in await lan.command("danhgia ²")
    await lan.command("thongtin")
    for _ in range(6):
        assert internal not in await lan.say("¹")
    await lan.command("danhgia")
    assert "cần nhập điểm là số nguyên từ 0 đến 10" in await lan.say("²")
    assert "✅ Đã lưu 1a: 3/10 điểm." in await lan.say("٣")  # an Arabic-Indic 3 is a number
    assert {code: value for code, (value, _) in answers(db_path).items()} == {"1a": "3"}


async def test_screens_left_open_cannot_change_a_submitted_report(
    engine: Engine, db_path: Path
) -> None:
    """Colleagues left a question, an evidence step and "start over?" open while the report
    was submitted: whatever they do there afterwards, the locked report stays as submitted."""
    lan, hung, tuan, vy, thu = await unit_with(engine, "Lan", "Hung", "Tuan", "Vy", "Thu")
    await to_confirm_submit(lan)
    for colleague in (hung, tuan, vy, thu):
        await colleague.command("tieptuc")
    await hung.press("Xem lại các câu trả lời")
    await hung.say("1b")  # Hùng opens 1b to change it
    stale_score = hung.choice("3").token
    await tuan.press("Xem lại các câu trả lời")
    await tuan.say("1c")
    await tuan.say("9")  # Tuấn changes 1c and is at the submit screen, Vy too
    await vy.press("Xem lại các câu trả lời")
    await vy.say("1a")
    await vy.say("10")
    await thu.press("Làm lại từ đầu")  # Thu is asked whether to erase everything
    await lan.press("Nộp kết quả")  # Lan submits meanwhile
    before = answers(db_path)
    await hung.say("4")
    assert "Đánh giá năm 2023: đã nộp" in hung.text
    await hung.press_token(stale_score)
    await tuan.say("Biên bản họp số 9/BB")
    assert "Đánh giá năm 2023: đã nộp" in tuan.text
    await vy.send_file(IncomingFile("photo", "p1", None, "image/jpeg", 1000, caption="Ảnh"))
    assert "Đánh giá năm 2023: đã nộp" in vy.text
    await thu.press("Xóa và làm lại")
    assert "Đánh giá năm 2023: đã nộp" in thu.text
    assert answers(db_path) == before
    assert rows(db_path, "SELECT COUNT(*) FROM attachments") == [(0,)]
    assert rows(db_path, "SELECT COUNT(*) FROM narratives") == [(4,)]
    assert not events(db_path, "assessment.restarted")
    assert not events(db_path, "evidence.added")


async def test_telegram_updates_delivered_twice_are_answered_once(tmp_path: Path) -> None:
    """The real Application: a text answer, a button press and a file sent twice each (as
    Telegram resends what was not acknowledged) give one confirmation and one change each."""
    api = FakeBotApi()
    await api.start()
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    engine = Engine(repository, Settings(reports_dir=tmp_path / "reports"), today=lambda: TODAY)
    lan = PhoneUser(api, 801, "Lan")
    try:
        app = _application(api, engine)
        async with app:

            async def twice(update: dict[str, Any]) -> str:
                sent = len(api.calls)
                for _ in range(2):
                    await app.process_update(Update.de_json(update, app.bot))
                return "\n".join(str(p.get("text")) for _, p in api.calls[sent:])

            await register_on_telegram(Harness(api, app, engine), lan, UNIT)
            await twice(lan.press("Bắt đầu đánh giá năm 2023"))
            assert (await twice(lan.press("8"))).count("✅ Đã lưu 1a: 8/10 điểm.") == 1
            await twice(lan.press("📎 Thêm minh chứng"))
            assert (await twice(lan.text("Kế hoạch số 3/KH"))).count("Đã ghi minh chứng") == 1
            shown = await twice(lan.photo(size=100_000, caption="Ảnh hội nghị"))
            assert shown.count("Đã lưu tệp") == 1
            await twice(lan.text("xong"))
            assert (await twice(lan.text("7"))).count("✅ Đã lưu 1b: 7/10 điểm.") == 1
    finally:
        await repository.close()
        await api.stop()
    db = tmp_path / "db.sqlite3"
    assert answers(db)["1a"] == ("8", "Kế hoạch số 3/KH\n\nẢnh hội nghị")
    assert answers(db)["1b"][0] == "7"
    assert rows(db, "SELECT COUNT(*) FROM attachments") == [(1,)]
    assert [e["code"] for e in events(db, "answer.saved")] == ["1a", "1b"]
