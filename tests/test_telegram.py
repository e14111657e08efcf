"""The Telegram channel end to end: the real python-telegram-bot Application over HTTP.

Every test runs the Application built by `bot.telegram_adapter` against `FakeBotApi`, a Bot API
server on loopback, so requests, multipart uploads, keyboards, edits and retries are real; only
Telegram's servers are replaced. Updates reach the bot the three ways they can: handed to the
Application directly, fetched by long polling, and posted to the webhook endpoint.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import docx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import AIORateLimiter

from bot.logsafe import RedactingFilter
from bot.outbox import OutboxWorker
from bot.telegram_adapter import (
    SECRET_HEADER,
    App,
    TelegramChannel,
    api_urls,
    build_application,
    dedup_key,
    download_attachment,
    running,
    store_keyboards,
)
from bot.telegram_render import MESSAGE_LIMIT, messages
from bot.telegram_request import RetryingRequest
from bot.web import WebServer
from conversations.engine import Engine
from conversations.events import Choice, ChoiceKind, Reply
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import run_jobs
from tests.fake_telegram import TOKEN, FakeBotApi, PhoneUser
from tests.test_engine import SEED_002

ROOT = Path(__file__).resolve().parents[1]
CO_QUAN = "Cơ quan nhà nước"


@dataclass
class Harness:
    api: FakeBotApi
    app: App
    engine: Engine

    async def send(self, update: dict[str, Any]) -> None:
        """Hand one update to the Application and wait until its replies are sent."""
        await self.app.process_update(Update.de_json(update, self.app.bot))


def _application(api: FakeBotApi, engine: Engine) -> App:
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    return build_application(
        engine,
        api.token,
        api_base_url=api.base_url,
        request=RetryingRequest(backoff=0.01),
        rate_limiter=limiter,
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def _engine_factory(tmp_path: Path) -> Callable[[SqliteRepository], Engine]:
    settings = Settings(reports_dir=tmp_path / "reports")
    return lambda repo: Engine(repo, settings, today=lambda: date(2024, 2, 1))


@pytest.fixture
async def tg(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    engine = _engine_factory(tmp_path)(repository)
    application = _application(api, engine)
    async with application:
        yield Harness(api, application, engine)
    await repository.close()


async def register(tg: Harness, user: PhoneUser, name: str = "Phòng GD&ĐT huyện Kon Rẫy") -> None:
    await tg.send(user.text("/start"))
    await tg.send(user.press("Đăng ký đơn vị mới"))
    await tg.send(user.text(name))
    await tg.send(user.press(CO_QUAN))
    await tg.send(user.press("Cấp xã"))
    await tg.send(user.press("Để sau"))


def question_code(text: str, codes: Any) -> str | None:
    return next((c for c in codes if f"\n{c}. " in text or f"Nội dung {c}:" in text), None)


async def test_full_assessment_by_buttons_ends_with_the_report_document(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 501, "Lan")
    await register(tg, lan)
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    assert "1/17" in lan.keyboard_message()["text"]
    for _ in range(len(SEED_002)):
        question = lan.keyboard_message()
        code = question_code(question["text"], SEED_002)
        assert code is not None, question["text"]
        assert len(lan.keyboards()) == 1  # only the live question has buttons
        asked = question["text"]
        await tg.send(lan.press(str(SEED_002[code]), question))
        # The pressed question keeps its text, with the answer chosen; its buttons are gone,
        # and the next question comes at once (no evidence step to finish).
        assert question["text"].startswith(asked)
        assert question["text"].endswith(f"✅ Đã lưu {code}: {SEED_002[code]}/10 điểm.") or (
            f"✅ Đã lưu {code}: " in question["text"]
        )
        assert "reply_markup" not in question
        assert "Minh chứng cho" not in lan.keyboard_message()["text"]
    assert "Tổng điểm: 93/100" in lan.last_texts(2)
    await tg.send(lan.press("Nộp kết quả"))
    assert "đang được soạn" in lan.last_texts(3)
    await run_jobs(tg.engine)  # the .docx is rendered after the turn, then sent
    await OutboxWorker(tg.engine.repository, {"telegram": TelegramChannel(tg.app)}).run_once()
    [report] = lan.documents()
    assert report["document"]["file_name"].endswith(".docx")
    body = docx.Document(io.BytesIO(tg.api.files[report["document"]["file_id"]]))
    text = "\n".join(p.text for p in body.paragraphs)
    assert "Xếp loại: Tốt" in text
    assert "93/100" in lan.last_texts(4)


async def test_counts_are_typed_and_a_photo_is_kept_as_evidence(
    tg: Harness, tmp_path: Path
) -> None:
    lan = PhoneUser(tg.api, 502, "Lan")
    await register(tg, lan)
    await tg.send(lan.text("/danhgia 2024"))  # TT 24: chỉ tiêu with counts and yes/no
    first = lan.keyboard_message()["text"]
    assert "1.1" in first
    await tg.send(lan.press("Có"))
    await tg.send(lan.photo(size=350_000, caption="Kế hoạch số 12/KH-PGDĐT"))
    assert "Đã lưu “ảnh” làm minh chứng cho 1.1 (câu vừa trả lời)" in lan.last_texts(1)
    await tg.send(lan.photo(size=25 * 1024 * 1024))
    assert "Tệp quá lớn (tối đa 20 MB)" in lan.last_texts(2)
    async with tg.engine.repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        assert assessment is not None
        attachments = await tx.attachments(assessment.id)
        answers = await tx.answers(assessment.id)
    assert [(a.kind, a.file_ref, a.size, a.channel) for a in attachments] == [
        ("photo", "photo350000", 350_000, "telegram")
    ]
    assert "Kế hoạch số 12/KH-PGDĐT" in answers["1.1"].evidence
    # The stored file id is enough to fetch the photo again later (the report's annex).
    tg.api.files["photo350000"] = b"\xff\xd8jpeg bytes"
    saved = await download_attachment(tg.app, "photo350000", tmp_path / "annex.jpg")
    assert saved.read_bytes() == b"\xff\xd8jpeg bytes"
    while "Đơn vị đạt chỉ tiêu này không?" in lan.keyboard_message()["text"]:
        await tg.send(lan.press("Có"))
    assert "Nhập số thành viên đạt trên tổng số" in lan.keyboard_message()["text"]
    await tg.send(lan.text("31/32"))
    assert "31/32" in lan.last_texts(2) and "96,9%" in lan.last_texts(2)


async def test_a_stale_button_is_answered_and_changes_nothing(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 503, "Lan")
    await register(tg, lan)
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    question = lan.keyboard_message()
    old_press = lan.press("7", dict(question))  # the same button, pressed again later
    await tg.send(lan.press("8", question))
    answered = len(tg.api.calls)
    await tg.send(old_press)
    answers = [p for m, p in tg.api.calls[answered:] if m == "answerCallbackQuery"]
    assert answers and answers[0]["text"] == "Câu hỏi này đã chuyển sang câu khác."
    async with tg.engine.repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        assert assessment is not None
        stored = await tx.answers(assessment.id)
    assert {code: a.value for code, a in stored.items()} == {"1a": "8"}


async def test_sending_is_retried_without_losing_or_doubling_a_message(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 504, "Lan")
    tg.api.fail("sendMessage", 502, times=2)
    tg.api.fail("sendMessage", 429, times=1, retry_after=1)
    await tg.send(lan.text("/start"))
    assert len(lan.screen) == 1
    assert "Xin chào Lan" in lan.screen[0]["text"]
    assert [m for m, _ in tg.api.calls].count("sendMessage") == 4


async def test_a_failure_that_outlasts_the_retries_tells_the_person_nothing_was_lost(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RedactingFilter([TOKEN]))
    lan = PhoneUser(tg.api, 505, "Lan")
    tg.api.fail("sendMessage", 500, times=4)
    with caplog.at_level(logging.DEBUG):
        await tg.send(lan.text("/start"))
    assert "không mất gì" in lan.screen[-1]["text"]
    assert "Telegram update failed" in caplog.text
    assert TOKEN not in caplog.text


async def test_commands_are_registered_in_vietnamese(api: FakeBotApi, tmp_path: Path) -> None:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    application = _application(api, _engine_factory(tmp_path)(repository))
    async with running(application):
        names = {c["command"]: c["description"] for c in api.commands}
    await repository.close()
    assert names["danhgia"].startswith("Bắt đầu hoặc tiếp tục đánh giá")
    assert {"tieptuc", "xemlai", "tamdung", "huy", "trogiup"} <= set(names)


async def test_other_messages_get_a_clear_answer(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 506, "Lan")
    await tg.send(lan.sticker())
    assert "Trợ lý nhận chữ, ảnh, tệp tài liệu và video" in lan.screen[0]["text"]
    group = lan.text("/danhgia")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Tổ văn phòng"}
    await tg.send(group)
    assert "tin nhắn riêng" in tg.api.chats[-100][0]["text"]


def test_long_texts_are_split_on_paragraphs_with_the_keyboard_last() -> None:
    paragraphs = [f"Đoạn {n}: " + "minh chứng " * 60 for n in range(20)]
    reply = Reply("\n\n".join(paragraphs), choices=(Choice("Xong", "ab.x", ChoiceKind.ACTION),))
    parts = messages(reply)
    assert len(parts) > 1
    assert all(len(p.text) <= MESSAGE_LIMIT for p in parts)
    assert all(p.text.startswith("Đoạn ") for p in parts)  # each cut falls between paragraphs
    assert "\n\n".join(p.text for p in parts) == reply.text.strip()
    assert [p.keyboard is not None for p in parts] == [False] * (len(parts) - 1) + [True]


def test_the_keyboard_has_scores_in_rows_of_six_then_word_choices_then_navigation() -> None:
    choices = (
        *(Choice(str(n), f"ab12cd.s:{n}", ChoiceKind.SCORE) for n in range(10, -1, -1)),
        Choice('Có "đủ" \\ minh chứng 😀', "ab12cd.o:1"),
        Choice("Không", "ab12cd.o:2"),
        *(Choice(label, f"ab12cd.a:{n}", ChoiceKind.ACTION) for n, label in enumerate("◀⏭📋⏸✔")),
    )
    [part] = messages(Reply("Câu 1a", choices=choices))
    buttons = [InlineKeyboardButton(c.label, callback_data=c.token) for c in choices]
    rows = [buttons[0:6], buttons[6:11], buttons[11:12], buttons[12:13], buttons[13:16]]
    plain = InlineKeyboardMarkup([*rows, buttons[16:]])  # a long word choice: one to a row
    assert part.keyboard == plain.to_dict()  # the JSON sent for reply_markup
    assert InlineKeyboardMarkup.de_json(part.keyboard, None) == plain  # as PTB reads it


def test_api_base_url_is_accepted_with_or_without_bot_suffix() -> None:
    assert api_urls("http://127.0.0.1:8081") == (
        "http://127.0.0.1:8081/bot",
        "http://127.0.0.1:8081/file/bot",
    )
    assert api_urls("http://127.0.0.1:8081/bot/") == api_urls("http://127.0.0.1:8081")
    assert api_urls(None) is None


async def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_polling_survives_a_restart_and_resumes(api: FakeBotApi, tmp_path: Path) -> None:
    lan = PhoneUser(api, 507, "Lan")
    new_engine = _engine_factory(tmp_path)
    for run in range(2):
        repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
        async with running(_application(api, new_engine(repository))):
            if run == 0:
                api.push(lan.text("/start"))
                await _wait(lambda: bool(lan.keyboards()))
                for step in (
                    lambda: lan.press("Đăng ký đơn vị mới"),
                    lambda: lan.text("UBND xã Đắk Ruồng"),
                    lambda: lan.press(CO_QUAN),
                    lambda: lan.press("Cấp xã"),
                    lambda: lan.press("Để sau"),
                    lambda: lan.press("Bắt đầu đánh giá năm 2023"),
                    lambda: lan.press("9"),
                    lambda: lan.press("📎 Thêm minh chứng"),
                    lambda: lan.text("Nghị quyết số 05/NQ-ĐU"),
                ):
                    seen = len(api.calls)
                    api.push(step())
                    await _wait(lambda n=seen: any(m == "sendMessage" for m, _ in api.calls[n:]))
                    await asyncio.sleep(0.05)
                assert "Đã ghi minh chứng cho 1a" in lan.last_texts(2)
            else:
                api.push(lan.text("/tieptuc"))
                await _wait(lambda: "đã trả lời 1/17 câu" in lan.last_texts(1))
        await repository.close()
    assert any(label.startswith("Tiếp tục tại câu 2/17") for label in lan.buttons())


def _offsets(api: FakeBotApi, since: int = 0) -> list[int]:
    """The offsets of the getUpdates calls after call number `since` (0: none given yet)."""
    return [int(p.get("offset") or 0) for m, p in api.calls[since:] if m == "getUpdates"]


async def test_polling_acknowledges_a_batch_only_once_every_update_is_processed(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """Chats of one batch run at once, one chat's updates in order, and the next getUpdates
    (whose offset tells Telegram to forget the batch) is sent only when all are committed."""
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    engine = _engine_factory(tmp_path)(repository)
    handle, release = engine.handle, asyncio.Event()
    started: list[tuple[str, str]] = []

    async def held(event: Any) -> list[Reply]:
        started.append((event.chat_id, event.payload))
        await release.wait()
        return await handle(event)

    engine.handle = held  # type: ignore[method-assign]
    lan, minh = PhoneUser(api, 521, "Lan"), PhoneUser(api, 522, "Minh")
    try:
        async with running(_application(api, engine)):
            await _wait(lambda: bool(_offsets(api)))  # polling
            batch = [api.push(lan.text("/start")), api.push(minh.text("/start"))]
            batch.append(api.push(lan.text("/trogiup")))
            await _wait(lambda: len(started) == 2)
            await asyncio.sleep(0.3)  # longer than the pause between polls
            assert started == [("521", "start"), ("522", "start")]  # Lan's 2nd waits for her 1st
            assert max(_offsets(api)) <= batch[0]["update_id"]  # nothing acknowledged yet
            release.set()
            done = batch[-1]["update_id"] + 1
            await _wait(lambda: done in _offsets(api))
            assert started[2] == ("521", "trogiup")
            assert "Hướng dẫn:" in lan.last_texts(1)
            assert "Xin chào Minh" in minh.last_texts(1)
    finally:
        await repository.close()
    assert api.updates == []  # stopping told Telegram that the last batch was processed


async def test_polling_retries_a_failing_get_updates_and_stops_promptly(
    api: FakeBotApi, tmp_path: Path
) -> None:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    lan = PhoneUser(api, 523, "Lan")
    api.fail("getUpdates", 502, times=2)
    try:
        async with running(_application(api, _engine_factory(tmp_path)(repository))):
            api.push(lan.text("/start"))
            await _wait(lambda: bool(lan.screen))  # after two failed polls, 1 s then 1.5 s
            assert _offsets(api)[:3] == [0, 0, 0] and api.failures["getUpdates"] == []
            loop = asyncio.get_running_loop()
            stopping = loop.time()  # the block ends during a long poll (the fake's: 2 s)
        assert loop.time() - stopping < 1.0
    finally:
        await repository.close()


async def test_webhook_refuses_a_wrong_secret_and_handles_the_right_one(
    api: FakeBotApi, tmp_path: Path
) -> None:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    application = _application(api, _engine_factory(tmp_path)(repository))
    web = WebServer("127.0.0.1", 0)
    lan = PhoneUser(api, 508, "Lan")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(
                application, webhook=web, public_url="https://dvht.example.vn", secret="s3cret-A"
            )
        )
        await web.start()
        stack.push_async_callback(web.stop)
        assert api.webhook["url"] == "https://dvht.example.vn/telegram"
        assert api.webhook["secret_token"] == "s3cret-A"
        url = f"http://127.0.0.1:{web.bound_port}/telegram"
        async with aiohttp.ClientSession() as http:
            for headers in ({SECRET_HEADER: "wrong"}, {}):
                async with http.post(url, json=lan.text("/start"), headers=headers) as response:
                    assert response.status == 403
            assert lan.screen == []
            async with http.post(
                url, json=lan.text("/start"), headers={SECRET_HEADER: "s3cret-A"}
            ) as response:
                assert response.status == 200
        assert "Xin chào Lan" in lan.screen[0]["text"]
    await repository.close()


async def test_webhook_answers_an_update_it_cannot_read_with_400_and_one_line(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 17, item 4: behind the right secret, a date of 1e300 or JSON nested deeper than
    the parser goes is bad input (400), not a 500 with a traceback."""
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    application = _application(api, _engine_factory(tmp_path)(repository))
    web = WebServer("127.0.0.1", 0)
    lan = PhoneUser(api, 510, "Lan")
    huge_date = {**lan.text("/start")}
    huge_date["message"] = {**huge_date["message"], "date": 1e300}
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(application, webhook=web, public_url="https://x", secret="s3cret-A")
        )
        await web.start()
        stack.push_async_callback(web.stop)
        url = f"http://127.0.0.1:{web.bound_port}/telegram"
        headers = {SECRET_HEADER: "s3cret-A", "Content-Type": "application/json"}
        with caplog.at_level(logging.INFO):
            async with aiohttp.ClientSession() as http:
                for body in (json.dumps(huge_date), "[" * 100_000):
                    async with http.post(url, data=body, headers=headers) as response:
                        assert response.status == 400
        assert [r for r in caplog.records if r.exc_info] == []
        assert lan.screen == []
    await repository.close()


async def test_python_m_bot_telegram_runs_until_sigterm(api: FakeBotApi, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DVHT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DVHT_PUBLIC_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    lan = PhoneUser(api, 509, "Lan")
    try:
        api.push(lan.text("/start"))
        await _wait(lambda: bool(lan.screen), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert "Xin chào Lan" in lan.screen[0]["text"]
    assert process.returncode == 0
    assert TOKEN not in stderr.decode()
    assert (tmp_path / "donvi-hoctap.sqlite3").exists()


async def test_without_a_token_telegram_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "telegram",
        env=env | {"PYTHONPATH": str(ROOT)}, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 2
    assert stdout == b""
    assert "TELEGRAM_BOT_TOKEN" in stderr.decode()


async def test_a_server_that_cannot_edit_still_gets_every_reply(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 510, "Lan")
    await register(tg, lan)
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    tg.api.fail("editMessageText", 404)
    tg.api.fail("editMessageReplyMarkup", 404, times=5)
    await tg.send(lan.press("8"))
    assert "✅ Đã lưu 1a: 8" in lan.last_texts(2)  # sent anew instead of edited
    assert "2/17" in lan.last_texts(1)
    assert lan.last_texts(3).count("1/17 ·") == 1  # the question is not sent again


async def test_a_button_without_its_message_is_still_answered(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 511, "Lan")
    await register(tg, lan)
    press = lan.press("Bắt đầu đánh giá năm 2023")
    del press["callback_query"]["message"]  # too old for Telegram to send it back
    await tg.send(press)
    assert "1/17" in lan.keyboard_message()["text"]


async def test_a_redelivered_update_is_ignored_but_a_new_server_reusing_its_id_is_not(
    tg: Harness,
) -> None:
    """Telegram redelivers what was not acknowledged; a new Bot API server numbers from 1 again."""
    lan = PhoneUser(tg.api, 512, "Lan")
    first = lan.text("/start")
    await tg.send(first)
    shown = len(lan.screen)
    assert shown >= 1
    await tg.send(copy.deepcopy(first))  # the exact same update, delivered again
    assert len(lan.screen) == shown
    again = lan.text("/trogiup")  # a new message that a new server gave the same update id
    again["update_id"] = first["update_id"]
    await tg.send(again)
    assert len(lan.screen) > shown

    press = copy.deepcopy(lan.press("Đăng ký đơn vị mới"))  # as sent, before the edits
    await tg.send(copy.deepcopy(press))
    shown, calls = len(lan.screen), len(tg.api.calls)
    await tg.send(press)  # the same button press, delivered again
    assert len(lan.screen) == shown  # only its (blank) toast is answered again
    assert all("text" not in params for _, params in tg.api.calls[calls:])
    other = lan.press_data(press["callback_query"]["data"], press["callback_query"]["message"])
    other["update_id"] = press["update_id"]  # the button pressed again, under a reused update id
    calls = len(tg.api.calls)
    await tg.send(other)
    toasts = [p.get("text") for m, p in tg.api.calls[calls:] if m == "answerCallbackQuery"]
    assert toasts == ["Câu hỏi này đã chuyển sang câu khác."]  # a new press: answered as stale


def test_the_dedup_key_is_telegrams_identity_of_the_content() -> None:
    lan = PhoneUser(FakeBotApi(), 513, "Lan")
    message = lan.text("8")
    key = dedup_key(Update.de_json(message, None))
    assert key == f"m:513:{message['message']['message_id']}:{message['message']['date']}"
    renumbered = copy.deepcopy(message)
    renumbered["update_id"] = 1
    assert dedup_key(Update.de_json(renumbered, None)) == key
    edited = copy.deepcopy(message)
    edited["message"]["edit_date"] = message["message"]["date"] + 5
    assert dedup_key(Update.de_json(edited, None)) == f"{key}:{message['message']['date'] + 5}"
    press = lan.press_data("t.s:8", message["message"])
    assert dedup_key(Update.de_json(press, None)) == f"q:{press['callback_query']['id']}"
    # Other kinds (an edit, a channel post…): the update id and a digest of the whole update.
    edit = {"update_id": 7, "edited_message": {**edited["message"], "text": "9"}}
    other = dedup_key(Update.de_json(edit, None))
    assert other.startswith("7:") and len(other) == 22
    edit["edited_message"]["text"] = "10"
    assert dedup_key(Update.de_json(edit, None)) != other


async def test_the_leader_approves_on_telegram_from_the_outbox(tg: Harness) -> None:

    lan, minh = PhoneUser(tg.api, 520, "Lan"), PhoneUser(tg.api, 521, "Minh")
    await register(tg, lan)
    await tg.send(lan.text("/moi lanhdao"))
    code = lan.last_texts(2).split("Mã mời lãnh đạo của ")[1].split(": ")[1].split()[0]
    await tg.send(minh.text(f"/start {code}"))
    assert "lãnh đạo" in minh.last_texts(2)
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    for _ in range(len(SEED_002)):
        code_asked = question_code(lan.keyboard_message()["text"], SEED_002)
        assert code_asked is not None
        await tg.send(lan.press(str(SEED_002[code_asked])))
    await tg.send(lan.press("Nộp kết quả"))
    assert "Đã gửi lãnh đạo đơn vị để duyệt: Minh" in lan.last_texts(3)
    await run_jobs(tg.engine)
    worker = OutboxWorker(tg.engine.repository, {"telegram": TelegramChannel(tg.app)})
    assert await worker.run_once() == 3  # the summary with its button, the report, lan's copy
    [note] = [m for m in minh.screen if "chờ lãnh đạo duyệt" in m.get("text", "")]
    assert minh.documents()[0]["document"]["file_name"].endswith(".docx")
    assert minh.buttons(note) == ["✅ Duyệt", "↩ Trả lại, kèm góp ý"]
    await tg.send(minh.press("✅ Duyệt", note))
    assert "Đã duyệt báo cáo năm 2023" in minh.last_texts(2)
    assert await worker.run_once() == 1
    assert "Minh đã duyệt báo cáo" in lan.last_texts(1)
    assert await worker.run_once() == 0


async def test_a_refused_token_is_one_clear_line_and_never_printed(
    api: FakeBotApi, tmp_path: Path
) -> None:
    wrong = "987654321:AAWrongTokenForTests_not-this-one-77"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": wrong,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DVHT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("ZALO_BOT_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "telegram", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "Telegram từ chối mã bot" in stderr.decode()
    assert wrong not in stderr.decode() + stdout.decode()
    assert "987654321" not in stderr.decode()


async def test_a_token_revoked_while_polling_is_one_clear_line_and_exit_2(
    api: FakeBotApi, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DVHT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("ZALO_BOT_TOKEN", "DVHT_PUBLIC_URL"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "telegram", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lan = PhoneUser(api, 524, "Lan")
    try:
        api.push(lan.text("/start"))
        await _wait(lambda: bool(lan.screen), timeout=30)
        api.token = "987654321:AARevokedInBotFather_new-one-is-this-88"  # the old one: 401
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 2
    assert "Telegram từ chối mã bot" in stderr.decode()
    assert TOKEN not in stderr.decode() + stdout.decode()


async def test_a_full_tt22_assessment_takes_at_most_20_taps(tg: Harness) -> None:
    lan = PhoneUser(tg.api, 530, "Lan")
    await register(tg, lan)
    sent_before, taps = len(lan.screen), 0

    async def tap(label: str) -> None:
        nonlocal taps
        taps += 1
        await tg.send(lan.press(label))

    await tap("Bắt đầu đánh giá năm 2023")
    for _ in SEED_002:
        code = question_code(lan.keyboard_message()["text"], SEED_002)
        assert code is not None
        await tap(str(SEED_002[code]))
    await tap("Nộp kết quả")
    assert "đã nộp kết quả đánh giá năm 2023" in lan.last_texts(3)
    sent = len(lan.screen) - sent_before
    print(f"\nTelegram, a TT 22 assessment without evidence: {taps} taps, {sent} bot messages")
    assert taps <= 20, taps


async def test_a_stale_press_under_the_current_question_gets_the_toast_alone(
    tg: Harness,
) -> None:
    lan = PhoneUser(tg.api, 531, "Lan")
    await register(tg, lan)
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    first = lan.keyboard_message()
    old = lan.press("7", dict(first))
    await tg.send(lan.press("8", first))
    shown = len(lan.screen)
    mark = len(tg.api.calls)
    await tg.send(old)
    toasts = [p for m, p in tg.api.calls[mark:] if m == "answerCallbackQuery"]
    assert toasts[0]["text"] == "Câu hỏi này đã chuyển sang câu khác."
    assert len(lan.screen) == shown  # no chat message, no question sent again
    assert [m for m, _ in tg.api.calls[mark:] if m == "sendMessage"] == []
    assert "2/17" in lan.keyboard_message()["text"]


async def test_invite_text_is_spaced_and_the_menu_shows_the_latest_submission(
    tg: Harness,
) -> None:
    lan = PhoneUser(tg.api, 532, "Lan")
    await register(tg, lan)
    await tg.send(lan.text("/moi canbo"))
    invite = next(m["text"] for m in reversed(lan.screen) if "Mã mời cán bộ" in m["text"])
    assert ").\nHủy mã: /huymoi" in invite or ").\nHoặc mở liên kết" in invite
    assert ").Hủy" not in invite and ").Hoặc" not in invite
    await tg.send(lan.press("Bắt đầu đánh giá năm 2023"))
    for _ in SEED_002:
        code = question_code(lan.keyboard_message()["text"], SEED_002)
        await tg.send(lan.press(str(SEED_002[code])))
    await tg.send(lan.press("Nộp kết quả"))
    await tg.send(lan.text("/menu"))
    assert "📨 Báo cáo nộp gần nhất: năm 2023, chờ lãnh đạo duyệt." in lan.last_texts(1)


async def test_after_a_restart_the_old_question_loses_its_buttons(
    api: FakeBotApi, tmp_path: Path
) -> None:
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    engine = _engine_factory(tmp_path)(repository)
    lan = PhoneUser(api, 533, "Lan")
    async with _application(api, engine) as application:
        await register(Harness(api, application, engine), lan)
        await Harness(api, application, engine).send(lan.press("Bắt đầu đánh giá năm 2023"))
        await store_keyboards(application)  # as `running` does when the service stops
    assert len(lan.keyboards()) == 1
    async with _application(api, engine) as application:  # a new process: memory is empty
        await Harness(api, application, engine).send(lan.text("8"))
    await repository.close()
    assert len(lan.keyboards()) == 1, [m["text"][:20] for m in lan.keyboards()]
    assert "2/17" in lan.keyboard_message()["text"]
