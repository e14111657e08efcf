"""The Zalo channel end to end: the real adapter and client over HTTP against a fake Zalo server.

Every test drives `bot.zalo_adapter` with `bot.zalo_client` against `FakeZaloApi`, a Zalo Bot
Platform server on loopback, so JSON bodies, 408 empty polls, the 2,000-character limit, retries
and the webhook secret are real; only Zalo's servers are replaced. Updates reach the bot the
three ways they can: handed to the adapter, fetched by long polling, and posted to the webhook.
Reports are downloaded from the assistant's own HTTP endpoint by the link the person receives.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import signal
import socket
import sys
import time
import unittest.mock
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import docx
import httpx
import pytest
from telegram import Update

from bot.config import Config
from bot.logsafe import RedactingFilter
from bot.outbox import OutboxWorker
from bot.report_links import ROUTE, ReportLinks
from bot.service import serve
from bot.textrender import file_path_text, render_text
from bot.web import WebServer
from bot.zalo_adapter import (
    MESSAGE_LIMIT,
    SECRET_HEADER,
    ZaloAdapter,
    ZaloChannel,
    file_text,
    messages,
    parse_update,
    running,
)
from bot.zalo_client import ZaloClient, ZaloError, api_root
from conversations.engine import Engine
from conversations.events import Choice, OutgoingFile, Reply
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import run_jobs
from tests.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.fake_telegram import FakeBotApi, PhoneUser
from tests.fake_zalo import TOKEN, FakeZaloApi, ZaloUser
from tests.test_engine import SEED_002
from tests.test_telegram import _application, question_code
from tests.test_telegram import register as register_on_telegram

ROOT = Path(__file__).resolve().parents[1]
CO_QUAN = "Cơ quan nhà nước"
LINK = re.compile(r"https?://\S+/r/[A-Za-z0-9_.-]+")


class Driver:
    """Delivers a user's updates to the bot and returns once the bot has answered."""

    async def send(self, update: dict[str, Any]) -> None:
        raise NotImplementedError

    async def choose(self, user: ZaloUser, label: str) -> None:
        """Type the number that the last numbered list shows for `label`."""
        await self.send(user.text(number_of(user, label)))

    async def deliver(self) -> None:
        """What the service does after the turns (jobs, then the outbox): a running service
        does it by itself."""


@dataclass
class Harness(Driver):
    api: FakeZaloApi
    adapter: ZaloAdapter
    engine: Engine
    links: ReportLinks
    clock: list[float] = field(default_factory=lambda: [time.time()])

    async def send(self, update: dict[str, Any]) -> None:
        """Hand one update to the adapter and wait until its replies are sent."""
        await self.adapter.handle(update)

    async def deliver(self) -> None:
        await run_jobs(self.engine)
        await OutboxWorker(self.engine.repository, {"zalo": self.adapter.channel}).run_once()


@dataclass
class Webhook(Driver):
    """Posts each update to the webhook, as Zalo does; the answer comes once it is handled."""

    http: aiohttp.ClientSession
    url: str
    secret: str

    async def send(self, update: dict[str, Any]) -> None:
        headers = {SECRET_HEADER: self.secret}
        async with self.http.post(self.url, json=update, headers=headers) as response:
            assert response.status == 200


def number_of(user: ZaloUser, label: str) -> str:
    for text in reversed(user.screen):
        for line in text.splitlines():
            number, sep, rest = line.partition(") ")
            if sep and number.isdigit() and rest.startswith(label):
                return number
    raise AssertionError(f"no choice {label!r} on screen; last: {user.last_texts(1)}")


def _engine(tmp_path: Path, repository: SqliteRepository) -> Engine:
    settings = Settings(reports_dir=tmp_path / "reports")
    return Engine(repository, settings, today=lambda: date(2024, 2, 1))


def _client(api: FakeZaloApi, **kwargs: Any) -> ZaloClient:
    return ZaloClient(api.token, base_url=api.base_url, backoff=0.01, **kwargs)


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloApi]:
    server = FakeZaloApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[SqliteRepository]:
    repo = await SqliteRepository.open(tmp_path / "db.sqlite3")
    yield repo
    await repo.close()


@pytest.fixture
async def endpoint() -> AsyncIterator[WebServer]:
    """The assistant's own HTTP endpoint (links are added before it starts)."""
    server = WebServer("127.0.0.1", 0)
    yield server
    await server.stop()


@pytest.fixture
async def zl(
    api: FakeZaloApi, repository: SqliteRepository, endpoint: WebServer, tmp_path: Path
) -> AsyncIterator[Harness]:
    clock = [time.time()]
    links = ReportLinks("test-link-secret-0042", tmp_path / "links", "", now=lambda: clock[0])
    endpoint.add_get(ROUTE, links.handle)
    await endpoint.start()
    links.public_url = f"http://127.0.0.1:{endpoint.bound_port}"
    client = _client(api)
    engine = _engine(tmp_path, repository)
    adapter = ZaloAdapter(engine, ZaloChannel(client, file_text(links)))
    yield Harness(api, adapter, engine, links, clock)
    await client.aclose()


async def register(zl: Driver, user: ZaloUser, name: str = "Phòng GD&ĐT huyện Kon Rẫy") -> None:
    await zl.send(user.text("/start"))
    await zl.choose(user, "Đăng ký đơn vị mới")
    await zl.send(user.text(name))
    await zl.choose(user, CO_QUAN)
    await zl.send(user.text("Cấp xã"))  # a choice typed as its label
    await zl.choose(user, "Để sau")


async def answer_by_numbers(zl: Driver, user: ZaloUser, codes: list[str]) -> None:
    """Type each question's score (the number is the score itself), then "xong"."""
    for expected in codes:
        question = user.screen[-1]
        assert question_code(question, SEED_002) == expected, question
        assert "Nhập điểm từ 0 đến" in question
        await zl.send(user.text(str(SEED_002[expected])))
        assert f"✅ Đã lưu {expected}: " in user.last_texts(1)


async def submit(zl: Driver, user: ZaloUser) -> str:
    """Accept the drafted sections, submit, and return the report link the person receives."""
    while "Dùng bản nháp này" in user.screen[-1]:
        await zl.choose(user, "Dùng bản nháp này")
    await zl.choose(user, "Nộp kết quả")
    await zl.deliver()  # the report is rendered by a job after the turn, then sent
    for _ in range(200):
        found = LINK.findall(user.last_texts(3))
        if found:
            break
        await asyncio.sleep(0.05)
    assert len(found) == 1, user.last_texts(3)
    return str(found[0])


async def download(url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        disposition = response.headers.get("Content-Disposition", "")
        return response.status, await response.read(), disposition


def report_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


async def test_full_assessment_by_typed_numbers_ends_with_a_report_link(zl: Harness) -> None:
    lan = ZaloUser(zl.api, "e4ea2cd5189df1c3a88c", "Lan")
    await register(zl, lan)
    assert "Trả lời 1 hoặc 2." in lan.screen[0]  # the start screen's numbered list
    assert "Đã đăng ký đơn vị “Phòng GD&ĐT huyện Kon Rẫy”" in lan.last_texts(3)
    await zl.choose(lan, "Bắt đầu đánh giá năm 2023")
    assert "1/17" in lan.screen[-1]
    assert "1) " not in lan.screen[-1]  # scores are typed, never numbered
    await answer_by_numbers(zl, lan, list(SEED_002))
    assert "Tổng điểm: 93/100" in "\n".join(lan.screen[-8:])
    url = await submit(zl, lan)
    assert all(1 <= len(text) <= MESSAGE_LIMIT for text in lan.screen)
    assert "đã nộp kết quả đánh giá năm 2023" in lan.last_texts(3)
    assert "dùng được trong 7 ngày" in lan.last_texts(3)
    status, data, disposition = await download(url)
    assert status == 200
    # named by unit and year, not by ids (issue 20)
    assert re.search(r'filename="bao-cao-[a-z0-9-]+-2023-[0-9a-f]{6}\.docx"', disposition)
    assert data[:2] == b"PK"  # a .docx is a zip
    assert "Xếp loại: Tốt" in report_text(data)
    assert "93/100" in report_text(data)


async def test_a_links_folder_that_cannot_be_written_is_told_and_loses_nothing(
    zl: Harness, repository: SqliteRepository
) -> None:
    """Issue 17, item 6: the submission is confirmed in the turn, and the report's message says
    that the report and the submission are kept but the link could not be made, instead of
    nothing at all (the folder stands in for a read-only one: a file where it should be)."""
    zl.links.folder.parent.mkdir(parents=True, exist_ok=True)
    zl.links.folder.write_text("not a folder")
    lan = ZaloUser(zl.api, "f1", "Lan")
    await register(zl, lan)
    await zl.choose(lan, "Bắt đầu đánh giá năm 2023")
    await answer_by_numbers(zl, lan, list(SEED_002))
    while "Dùng bản nháp này" in lan.screen[-1]:
        await zl.choose(lan, "Dùng bản nháp này")
    await zl.choose(lan, "Nộp kết quả")
    assert "đã nộp kết quả đánh giá năm 2023" in lan.last_texts(3)  # in the turn
    await zl.deliver()
    assert "chưa tạo được đường dẫn tải về" in lan.last_texts(2)
    assert "bài đánh giá đã nộp vẫn được giữ nguyên" in lan.last_texts(2)
    async with repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        pending = await tx.due_messages(datetime.now(UTC) + timedelta(days=1), ["zalo"])
    assert assessment is not None and assessment.status == "submitted"
    assert pending == []  # told once, not retried for ever


async def test_a_reply_that_fails_after_the_commit_is_still_answered(zl: Harness) -> None:
    """Whatever fails after a turn was committed, the person hears that it was kept."""
    lan = ZaloUser(zl.api, "f2", "Lan")

    def broken(reply: Reply) -> list[str]:
        raise RuntimeError("rendering failed")

    with unittest.mock.patch("bot.zalo_adapter.messages", broken):
        await zl.send(lan.text("/start"))
    assert "Mọi câu trả lời đã xác nhận vẫn được lưu" in lan.last_texts(1)


async def test_counts_are_typed_and_a_photo_is_kept_as_evidence(zl: Harness) -> None:
    lan = ZaloUser(zl.api, "aa11bb22cc33dd44ee55", "Lan")
    await register(zl, lan)
    await zl.send(lan.text("/danhgia 2024"))  # TT 24: chỉ tiêu with counts and yes/no
    assert "1.1" in lan.screen[-1]
    await zl.choose(lan, "Có")
    plan = zl.api.photo_url("ke-hoach.jpg", 350_000)
    await zl.send(lan.photo(plan, caption="Kế hoạch số 12/KH-PGDĐT"))
    assert "Đã lưu “ảnh” làm minh chứng cho 1.1 (câu vừa trả lời)" in lan.last_texts(1)
    huge = zl.api.photo_url("qua-lon.jpg", 25 * 1024 * 1024)
    await zl.send(lan.photo(huge, key="photo"))  # the other field name some sources use
    assert "Tệp quá lớn (tối đa 20 MB)" in lan.last_texts(2)
    async with zl.engine.repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        assert assessment is not None
        attachments = await tx.attachments(assessment.id)
        answers = await tx.answers(assessment.id)
    assert [(a.kind, a.file_ref, a.size, a.channel) for a in attachments] == [
        ("photo", plan, 350_000, "zalo")
    ]
    assert "Kế hoạch số 12/KH-PGDĐT" in answers["1.1"].evidence
    while "Đơn vị đạt chỉ tiêu này không?" in lan.screen[-1]:
        await zl.choose(lan, "Có")
    assert "Nhập số thành viên đạt trên tổng số" in lan.screen[-1]
    await zl.send(lan.text("90%"))
    assert "hãy nhập số người đạt trên tổng số, ví dụ 31/32" in lan.last_texts(2)
    await zl.send(lan.text("31/32"))
    assert "31/32" in lan.last_texts(2) and "96,9%" in lan.last_texts(2)


async def test_a_redelivered_update_is_answered_once(zl: Harness) -> None:
    lan = ZaloUser(zl.api, "0123456789abcdef0123", "Lan")
    await register(zl, lan)
    await zl.choose(lan, "Bắt đầu đánh giá năm 2023")
    answer = lan.text("8")
    await zl.send(answer)
    seen = len(lan.screen)
    await zl.send(answer)  # Zalo delivers the same message again
    assert len(lan.screen) == seen
    async with zl.engine.repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        assert assessment is not None
        stored = await tx.answers(assessment.id)
    assert {code: a.value for code, a in stored.items()} == {"1a": "8"}


async def test_a_message_over_2000_characters_is_split_on_paragraphs(
    zl: Harness, api: FakeZaloApi
) -> None:
    paragraphs = [f"Đoạn {n}: " + "minh chứng " * 60 for n in range(20)]
    reply = Reply("\n\n".join(paragraphs), choices=(Choice("Có", "ab.y"), Choice("Không", "ab.n")))
    await zl.adapter.channel.send("chat-long", [reply])
    sent = [m["text"] for m in api.chats["chat-long"]]
    assert len(sent) > 1
    assert all(len(text) <= MESSAGE_LIMIT for text in sent)
    assert all(text.startswith("Đoạn ") for text in sent)  # each cut falls between paragraphs
    assert "\n\n".join(sent) == render_text(reply)
    assert sent[-1].endswith("1) Có\n2) Không\nTrả lời 1 hoặc 2.")  # the choices come last


def test_choices_read_the_same_on_zalo_and_in_the_console() -> None:
    reply = Reply(
        "Chọn loại hình", choices=(Choice("A", "t.a"), Choice("B", "t.b"), Choice("C", "t.c"))
    )
    assert messages(reply, file_path_text) == [render_text(reply)]
    assert render_text(reply).endswith("1) A\n2) B\n3) C\nTrả lời 1, 2 hoặc 3.")


async def test_other_messages_get_a_clear_answer_and_the_question_again(zl: Harness) -> None:
    lan = ZaloUser(zl.api, "5555aaaa6666bbbb7777", "Lan")
    await zl.send(lan.sticker())
    assert "nhận tin nhắn chữ và ảnh" in lan.screen[0]
    assert "Đăng ký đơn vị mới" in lan.screen[1]
    group = lan.text("/danhgia")
    group["message"]["chat"] = {"id": "group-9", "chat_type": "GROUP"}
    await zl.send(group)
    assert "tin nhắn riêng" in zl.api.chats["group-9"][0]["text"]


async def test_sending_is_retried_without_losing_or_doubling_a_message(zl: Harness) -> None:
    lan = ZaloUser(zl.api, "7777cccc8888dddd9999", "Lan")
    zl.api.fail("sendMessage", 502, times=2)
    zl.api.fail("sendMessage", 429, times=1)
    await zl.send(lan.text("/start"))
    assert len(lan.screen) == 1
    assert "Xin chào Lan" in lan.screen[0]
    assert [m for m, _ in zl.api.calls].count("sendMessage") == 4


async def test_a_failure_that_outlasts_the_retries_tells_the_person_nothing_was_lost(
    zl: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RedactingFilter([TOKEN]))
    lan = ZaloUser(zl.api, "1212abab3434cdcd5656", "Lan")
    zl.api.fail("sendMessage", 500, times=4)
    with caplog.at_level(logging.DEBUG):
        await zl.send(lan.text("/start"))
    assert len(lan.screen) == 1  # the welcome was lost; the person is told, not left waiting
    assert "không mất gì" in lan.screen[0]
    assert "Zalo reply failed" in caplog.text
    assert TOKEN not in caplog.text


async def _transport_calls(
    answer: Callable[[httpx.Request, int], httpx.Response],
) -> tuple[ZaloClient, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path.rsplit("/", 1)[-1])
        return answer(request, len(seen))

    client = ZaloClient(TOKEN, backoff=0.0, transport=httpx.MockTransport(handler))
    return client, seen


async def test_a_send_that_may_have_landed_is_not_repeated() -> None:
    def read_timeout(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("timed out after the request was written", request=request)

    client, seen = await _transport_calls(read_timeout)
    with pytest.raises(ZaloError) as failed:
        await client.send_message("c1", "Xin chào")
    await client.aclose()
    assert seen == ["sendMessage"]  # sent once: a second copy could reach the person
    assert TOKEN not in str(failed.value)

    def refused_then_ok(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "m1"}})

    client, seen = await _transport_calls(refused_then_ok)
    assert (await client.send_message("c1", "Xin chào"))["message_id"] == "m1"
    await client.aclose()
    assert seen == ["sendMessage", "sendMessage"]  # never reached Zalo: safe to send again


async def test_get_updates_accepts_every_shape_the_sources_describe() -> None:
    update = {"event_name": "message.text.received", "message": {"text": "a"}}
    answers = [
        httpx.Response(
            408, json={"ok": False, "error_code": 408, "description": "Request timeout"}
        ),
        httpx.Response(
            200, json={"ok": False, "error_code": 408, "description": "Request timeout"}
        ),
        httpx.Response(200, json={"ok": True, "result": update}),
        httpx.Response(200, json={"ok": True, "result": [update]}),
        httpx.Response(200, json=update),  # no envelope at all
    ]
    client, _ = await _transport_calls(lambda request, n: answers[n - 1])
    got = [await client.get_updates() for _ in answers]
    await client.aclose()
    assert got == [[], [], [update], [update], [update]]


def test_updates_of_either_shape_become_the_same_event() -> None:
    docs_sample: dict[
        str, Any
    ] = {  # the docs' getUpdates sample: no event_name, the sender's first_name
        "message": {
            "chat": {"id": "e4ea2cd5189df1c3a88c", "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "16f6366b3f02645a3d15",
            "date": 1766619597466,
            "from": {"id": "e4ea2cd5189df1c3a88c", "first_name": "Nguyen Van A"},
        }
    }
    measured: dict[str, Any] = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "16f6366b3f02645a3d15",
            "chat": {"id": "e4ea2cd5189df1c3a88c", "chat_type": "PRIVATE"},
            "sender": {"id": "e4ea2cd5189df1c3a88c", "display_name": "Nguyen Van A"},
            "text": "Xin chào",
        },
    }
    assert parse_update(docs_sample) == parse_update(measured)
    parsed = parse_update(measured)
    assert parsed is not None and parsed.sender.name == "Nguyen Van A"
    message = {k: v for k, v in measured["message"].items() if k != "text"}
    message["photo"] = [{"url": "https://f.zdn.vn/a.jpg"}]  # a list of objects, in some sources
    image = {"event_name": "message.image.received", "message": message}
    photo = parse_update(image)
    assert photo is not None and (photo.kind, photo.photo_url) == (
        "photo",
        "https://f.zdn.vn/a.jpg",
    )
    assert parse_update({"event_name": "user.follow"}) is None


def test_api_base_url_is_accepted_with_or_without_bot_suffix() -> None:
    assert api_root(None, "1:x") == "https://bot-api.zaloplatforms.com/bot1:x"
    assert api_root("http://127.0.0.1:9/bot/", "1:x") == "http://127.0.0.1:9/bot1:x"
    assert api_root("http://127.0.0.1:9", "1:x") == "http://127.0.0.1:9/bot1:x"
    assert repr(ZaloClient("1:secret-token")) == "ZaloClient(token=***)"


async def _wait(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_an_empty_poll_is_normal_and_the_next_message_is_answered(
    api: FakeZaloApi,
    repository: SqliteRepository,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.result_as_list = True  # the other shape of getUpdates' result
    api.poll_cap = 0.05
    lan = ZaloUser(api, "9999eeee8888ffff7777", "Lan", name_field="first_name")
    with caplog.at_level(logging.INFO):
        async with running(_engine(tmp_path, repository), _client(api, poll_seconds=1)):
            await _wait(lambda: api.empty_polls >= 2)  # two polls ended empty (HTTP 408)
            api.push(lan.text("/start"))
            await _wait(lambda: bool(lan.screen))
    assert "Xin chào Lan" in lan.screen[0]
    assert "getUpdates failed" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert ("deleteWebhook", {}) in api.calls  # polling needs no webhook set


async def test_polling_waits_out_a_failing_server(
    api: FakeZaloApi, repository: SqliteRepository, tmp_path: Path
) -> None:
    api.fail("getUpdates", 502, times=5)
    lan = ZaloUser(api, "4444aaaa4444bbbb4444", "Lan")
    api.push(lan.text("/start"))
    async with running(_engine(tmp_path, repository), _client(api), pause=0.01):
        await _wait(lambda: bool(lan.screen))
    assert "Xin chào Lan" in lan.screen[0]


async def test_webhook_refuses_a_wrong_secret_and_handles_the_right_one(
    api: FakeZaloApi, repository: SqliteRepository, endpoint: WebServer, tmp_path: Path
) -> None:
    lan = ZaloUser(api, "abcdefabcdefabcdef00", "Lan")
    async with running(
        _engine(tmp_path, repository),
        _client(api),
        webhook=endpoint,
        public_url="https://dvht.example.vn",
        secret="s3cret-Zalo",
    ):
        await endpoint.start()
        assert api.webhook == {"url": "https://dvht.example.vn/zalo", "secret_token": "s3cret-Zalo"}
        url = f"http://127.0.0.1:{endpoint.bound_port}/zalo"
        async with aiohttp.ClientSession() as http:
            for headers in ({SECRET_HEADER: "wrong"}, {}):
                async with http.post(url, json=lan.text("/start"), headers=headers) as response:
                    assert response.status == 403
            assert lan.screen == []
            good = {SECRET_HEADER: "s3cret-Zalo"}
            update = lan.text("/start")
            async with http.post(url, json=update, headers=good) as response:
                assert response.status == 200
            assert "Xin chào Lan" in lan.screen[0]
            wrapped = {"ok": True, "result": update}  # the same update, in the other shape
            async with http.post(url, json=wrapped, headers=good) as response:
                assert response.status == 200
            assert len(lan.screen) == 1  # redelivered: not answered twice
            async with http.post(url, json=lan.text("1"), headers=good) as response:
                assert response.status == 200
            assert "Tên đầy đủ của đơn vị" in lan.screen[-1]


async def test_report_links_refuse_forged_and_expired_tokens(zl: Harness, tmp_path: Path) -> None:
    report = tmp_path / "reports" / "bao-cao-don-vi-hoc-tap-2023-1-1.docx"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"PK\x03\x04 report bytes")
    url = zl.links.create(report, report.name)
    assert "-1-1" not in url and "bao-cao" not in url  # nothing a stranger could count through
    status, data, _ = await download(url)
    assert (status, data) == (200, b"PK\x03\x04 report bytes")
    token = url.rsplit("/", 1)[1]
    payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    longer = {**claims, "e": claims["e"] + 365 * 86_400}  # a stranger extends the expiry
    stretched = base64.urlsafe_b64encode(json.dumps(longer).encode()).decode().rstrip("=")
    base = url.rsplit("/", 1)[0]
    for forged in (f"{payload}.{flipped}", f"{stretched}.{signature}", "x.y", "garbage"):
        assert (await download(f"{base}/{forged}"))[0] == 403
    zl.clock[0] += 7 * 86_400 + 1  # a week and a second later
    assert (await download(url))[0] == 403


async def test_without_a_public_url_the_person_is_told_the_report_is_kept_not_where(
    api: FakeZaloApi, tmp_path: Path
) -> None:
    report = tmp_path / "bao-cao.docx"
    report.write_bytes(b"PK")
    client = _client(api)
    channel = ZaloChannel(client, file_text(None))
    done = Reply("📨 Đã nộp.", files=(OutgoingFile(report, report.name, "Báo cáo năm 2023"),))
    await channel.send("chat-nolink", [done])
    await client.aclose()
    [text] = [m["text"] for m in api.chats["chat-nolink"]]
    assert "📄 Báo cáo năm 2023" in text
    assert "Báo cáo đã được soạn và lưu trên máy chủ" in text
    assert str(tmp_path) not in text and "python -m bot" not in text  # nothing of the server
    assert "/r/" not in text


async def test_one_unit_answered_half_on_telegram_and_half_on_zalo(zl: Harness) -> None:
    telegram = FakeBotApi()
    await telegram.start()
    application = _application(telegram, zl.engine)
    lan = PhoneUser(telegram, 601, "Lan")
    minh = ZaloUser(zl.api, "0f0f0f0f0f0f0f0f0f0f", "Minh")
    async with application:
        on_telegram = _TelegramHarness(application)
        await register_on_telegram(on_telegram, lan)  # type: ignore[arg-type]
        await on_telegram.send(lan.text("/moi canbo"))
        invite = next(m["text"] for m in reversed(lan.screen) if "Mã mời cán bộ" in m["text"])
        code = invite.split("Mã mời cán bộ của ")[1].split(": ")[1].split()[0]
        await zl.send(minh.text("/start"))
        await zl.choose(minh, "Tham gia đơn vị")
        await zl.send(minh.text(code))  # the invite code, typed as text
        assert "Bạn đã tham gia đơn vị “Phòng GD&ĐT huyện Kon Rẫy”" in minh.last_texts(3)
        await on_telegram.send(lan.press("Bắt đầu đánh giá năm 2023"))
        for code_ in list(SEED_002)[:8]:
            await on_telegram.send(lan.press(str(SEED_002[code_])))
        await zl.send(minh.text("/tieptuc"))
        assert "đã trả lời 8/17 câu" in minh.last_texts(1)
        await zl.choose(minh, "Tiếp tục tại câu 9/17")
        await answer_by_numbers(zl, minh, list(SEED_002)[8:])
        assert "Tổng điểm: 93/100" in "\n".join(minh.screen[-8:])
        url = await submit(zl, minh)
    await telegram.stop()
    async with zl.engine.repository.transaction() as tx:
        assessment = await tx.latest_assessment(1)
        assert assessment is not None
        stored = await tx.answers(assessment.id)
    by = [stored[code_].answered_by for code_ in SEED_002]
    assert by[:8] == [by[0]] * 8 and by[8:] == [by[8]] * 9 and by[0] != by[8]
    status, data, _ = await download(url)
    assert status == 200
    assert "Xếp loại: Tốt" in report_text(data)


@dataclass
class _TelegramHarness:
    """What the Telegram tests' `register` needs: an Application sharing Zalo's engine."""

    application: Any

    async def send(self, update: dict[str, Any]) -> None:
        await self.application.process_update(Update.de_json(update, self.application.bot))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZALO_", "TELEGRAM_"))}
    env.pop("DVHT_PUBLIC_URL", None)
    return {**env, "DVHT_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **extra}


async def _run_until(
    env: dict[str, str], args: list[str], done: Callable[[], bool], tmp_path: Path
) -> tuple[int | None, str]:
    """`python -m bot ARGS` until `done()`, then SIGTERM; (exit status, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    try:
        await _wait(done, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, stderr.decode()


async def test_python_m_bot_zalo_runs_until_sigterm(api: FakeZaloApi, tmp_path: Path) -> None:
    env = _env(tmp_path, ZALO_BOT_TOKEN=TOKEN, ZALO_API_BASE_URL=f"{api.base_url}/bot")
    lan = ZaloUser(api, "1010101010aaaaaaaaaa", "Lan")
    api.push(lan.text("/start"))
    status, stderr = await _run_until(env, ["zalo"], lambda: bool(lan.screen), tmp_path)
    assert "Xin chào Lan" in lan.screen[0]
    assert status == 0
    assert TOKEN not in stderr
    assert (tmp_path / "donvi-hoctap.sqlite3").exists()


async def test_both_tokens_run_both_channels_in_one_process(
    api: FakeZaloApi, tmp_path: Path
) -> None:
    telegram = FakeBotApi()
    await telegram.start()
    env = _env(
        tmp_path,
        ZALO_BOT_TOKEN=TOKEN,
        ZALO_API_BASE_URL=api.base_url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
    )
    on_zalo = ZaloUser(api, "2020202020bbbbbbbbbb", "Minh")
    on_telegram = PhoneUser(telegram, 602, "Lan")
    api.push(on_zalo.text("/start"))
    telegram.push(on_telegram.text("/start"))
    try:
        status, stderr = await _run_until(
            env, [], lambda: bool(on_zalo.screen and on_telegram.screen), tmp_path
        )
    finally:
        await telegram.stop()
    assert "Xin chào Minh" in on_zalo.screen[0]
    assert "Xin chào Lan" in on_telegram.screen[0]["text"]
    assert status == 0
    assert TOKEN not in stderr and TELEGRAM_TOKEN not in stderr
    assert "telegram, zalo" in stderr


async def test_without_a_token_zalo_says_what_to_set(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "zalo",
        env=_env(tmp_path), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 2
    assert stdout == b""
    assert len(stderr.decode().strip().splitlines()) == 1
    assert "ZALO_BOT_TOKEN" in stderr.decode()


async def test_a_restart_continues_where_the_chat_stopped(api: FakeZaloApi, tmp_path: Path) -> None:
    lan = ZaloUser(api, "3030303030cccccccccc", "Lan")
    for step in ("/start", "1"):
        # Zalo has no acknowledgement: a long poll the last run gave up on could still take
        # the next message, so the person writes once that poll has ended on Zalo's side.
        await _wait(lambda: api.polls_waiting == 0)
        repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
        seen = len(lan.screen)
        async with running(_engine(tmp_path, repository), _client(api)):
            api.push(lan.text(step))
            await _wait(lambda n=seen: len(lan.screen) > n)  # type: ignore[misc]
        await repository.close()
    assert "Xin chào Lan" in lan.screen[0]
    assert "Tên đầy đủ của đơn vị" in lan.screen[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_with_a_public_url_zalo_uses_the_webhook_and_the_report_link_downloads(
    api: FakeZaloApi, tmp_path: Path
) -> None:
    """The service as configured from the environment: one endpoint for webhook and links."""
    port = _free_port()
    config = Config(
        db_path=tmp_path / "db.sqlite3",
        data_dir=tmp_path,
        zalo_token=TOKEN,
        zalo_api_base_url=api.base_url,
        zalo_webhook_secret="s3cret-Zalo",
        public_url="https://dvht.example.vn",
        http_host="127.0.0.1",
        http_port=port,
        link_secret="link-secret-for-tests-0042",
    )
    stop = asyncio.Event()
    service = asyncio.create_task(serve(config, stop))
    local = f"http://127.0.0.1:{port}"
    lan = ZaloUser(api, "4040404040dddddddddd", "Lan")
    try:
        await _wait(lambda: bool(api.webhook))
        assert api.webhook["url"] == "https://dvht.example.vn/zalo"
        async with aiohttp.ClientSession() as http:
            await _wait_http(http, f"{local}/healthz")
            hook = Webhook(http, f"{local}/zalo", "s3cret-Zalo")
            await register(hook, lan)
            await hook.send(lan.text("/danhgia 2023"))
            await answer_by_numbers(hook, lan, list(SEED_002))
            url = await submit(hook, lan)
    finally:
        stop.set()
        await service
    assert url.startswith("https://dvht.example.vn/r/")
    assert "getUpdates" not in [method for method, _ in api.calls]
    stop = asyncio.Event()
    service = asyncio.create_task(serve(config, stop))  # a restart keeps links working
    try:
        async with aiohttp.ClientSession() as http:
            await _wait_http(http, f"{local}/healthz")
        status, data, _ = await download(url.replace("https://dvht.example.vn", local))
    finally:
        stop.set()
        await service
    assert status == 200
    assert "Xếp loại: Tốt" in report_text(data)


async def _wait_http(http: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(15):
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.02)


async def test_a_token_zalo_refuses_is_one_clear_line(api: FakeZaloApi, tmp_path: Path) -> None:
    wrong = "1459232241454765289:NotTheRightTokenAtAll-0042"
    env = _env(tmp_path, ZALO_BOT_TOKEN=wrong, ZALO_API_BASE_URL=api.base_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "zalo", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    lines = [line for line in stderr.decode().splitlines() if "INFO" not in line]
    assert process.returncode == 2
    assert stdout == b""
    assert len(lines) == 1 and "không nhận mã bot trong ZALO_BOT_TOKEN" in lines[0], lines
    assert wrong not in stderr.decode()


async def test_a_full_tt22_assessment_costs_few_messages_on_zalo(zl: Harness) -> None:
    """Counted from the menu to the report link, every choice typed, no evidence: the free
    plan's ~3,000 messages a month must last for many assessments (issue 16)."""
    lan = ZaloUser(zl.api, "c0c0c0c0c0c0c0c0c0c0", "Lan")
    await register(zl, lan)
    shown_before, typed = len(lan.screen), 0

    async def say(text: str) -> None:
        nonlocal typed
        typed += 1
        await zl.send(lan.text(text))

    await say(number_of(lan, "Bắt đầu đánh giá năm 2023"))
    for _ in SEED_002:
        code = question_code(lan.screen[-1], SEED_002)
        assert code is not None, lan.screen[-1]
        await say(str(SEED_002[code]))
    assert "Tổng điểm: 93/100" in lan.screen[-1]
    await say(number_of(lan, "Nộp kết quả"))
    await zl.deliver()
    assert LINK.search(lan.last_texts(1)), lan.last_texts(2)
    sent = len(lan.screen) - shown_before
    print(f"\nZalo, a TT 22 assessment without evidence: {typed} messages from the person, "
          f"{sent} from the bot (targets: ≤ 20 and ≤ 25)")  # fmt: skip
    assert typed <= 20 and sent <= 25, (typed, sent)


async def test_the_zalo_report_message_without_a_public_address_shows_no_server_path(
    api: FakeZaloApi, repository: SqliteRepository, tmp_path: Path
) -> None:
    client = _client(api)
    engine = _engine(tmp_path, repository)
    adapter = ZaloAdapter(engine, ZaloChannel(client, file_text(None)))
    zl = Harness(api, adapter, engine, ReportLinks("s" * 20, tmp_path / "links", ""))
    lan = ZaloUser(api, "d0d0d0d0d0d0d0d0d0d0", "Lan")
    await register(zl, lan)
    await zl.choose(lan, "Bắt đầu đánh giá năm 2023")
    for _ in SEED_002:
        code = question_code(lan.screen[-1], SEED_002)
        await zl.send(lan.text(str(SEED_002[code])))
    await zl.choose(lan, "Nộp kết quả")
    await zl.deliver()
    await client.aclose()
    told = "\n".join(lan.screen[-3:])
    assert "Báo cáo đã được soạn và lưu trên máy chủ" in told
    assert str(tmp_path) not in told and "/reports/" not in told
    assert "chưa có lãnh đạo" in told  # the unit has no leader on the assistant …
    assert "gửi kèm tin nhắn cho lãnh đạo" not in told  # … so nothing claims one got it
