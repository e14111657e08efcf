"""Kill -9 at random points while a person answers; after each restart the person continues.

The program runs as people run it (`python -m bot console`, `python -m bot telegram` against the
fake Bot API) and is killed with SIGKILL at seeded random points: in the middle of a turn (the
line or update just sent), right after a confirmation, or while it starts. A driver plays the
person: it answers whatever question it is shown, sometimes with a paragraph of evidence after
the answer, and records what it saw confirmed ("✅ Đã lưu 1a: 8/10 điểm.", "✅ Đã lưu 1a: 8/10
điểm, kèm minh chứng.").

At the end the database must hold every answer the person saw confirmed, with the value
confirmed last (or a value typed after it whose confirmation the kill swallowed), every
confirmed paragraph of evidence exactly once, nothing applied twice (one "answer.saved" event per
committed answer, at most one per answer typed) and one unit, one assessment.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conversations.questionnaire import Questionnaire
from rubric.loader import kind, load_framework
from tests.fake_telegram import TOKEN, FakeBotApi, PhoneUser

ROOT = Path(__file__).resolve().parents[1]
UNIT = "Trường Tiểu học Đắk Ruồng"
MAXIMA = {
    code: spec.maximum or 0
    for code, spec in Questionnaire(load_framework("tt22-2020"), kind("co-quan")).specs.items()
}
SAVED = re.compile(r"✅ Đã lưu (\w+): (\d+)/\d+ điểm(?:, kèm minh chứng)?\.")
WITH_EVIDENCE = re.compile(r"✅ Đã lưu (\w+): \d+/\d+ điểm, kèm minh chứng\.")
TURN_END = re.compile(r"(?:^|\n)(?:Lệnh: |Trả lời |Nhập điểm từ )[^\n]*\n\n$")  # a question's end


def code_asked(text: str) -> str | None:
    """The TT 22 code the question in `text` asks (its last occurrence)."""
    found = [(text.rfind(f"\n{c}. "), c) for c in MAXIMA] + [
        (text.rfind(f"Nội dung {c}:"), c) for c in MAXIMA
    ]
    position, code = max(found)
    return code if position >= 0 else None


# --- what the person did and saw ---------------------------------------------------------


@dataclass
class Attempt:
    code: str
    value: str  # a score as typed, or a paragraph of evidence
    confirmed: bool = False


@dataclass
class Ledger:
    answers: list[Attempt] = field(default_factory=list)
    evidence: list[Attempt] = field(default_factory=list)

    def score_for(self, code: str, rng: random.Random) -> str:
        """A score not typed for `code` before, when one is left: each attempt is recognisable."""
        tried = {a.value for a in self.answers if a.code == code}
        fresh = [str(n) for n in range(MAXIMA[code] + 1) if str(n) not in tried]
        return rng.choice(fresh or sorted(tried))

    def saw(self, text: str) -> None:
        """Mark the answers whose confirmation `text` shows."""
        for code, value in SAVED.findall(text):
            waiting = [a for a in self.answers if (a.code, a.value) == (code, value)]
            assert waiting, f"a confirmation of something never typed: {code}={value}"
            waiting[-1].confirmed = True

    def check(self, db: Path) -> None:
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM units").fetchone() == (1,)
            [(assessment_id,)] = conn.execute("SELECT id FROM assessments WHERE year = 2023")
            stored = {
                code: (value, evidence)
                for code, value, evidence in conn.execute(
                    "SELECT code, value, evidence FROM answers WHERE assessment_id = ?",
                    (assessment_id,),
                )
            }
            events = conn.execute("SELECT data FROM events WHERE kind = 'answer.saved' ORDER BY id")
            logged = [(data["code"], data["value"]) for data in (json.loads(e) for (e,) in events)]
        assert any(a.confirmed for a in self.answers), "the driver saw no confirmation at all"
        for code in {a.code for a in self.answers}:
            attempts = [a for a in self.answers if a.code == code]
            confirmed = [i for i, a in enumerate(attempts) if a.confirmed]
            value = stored.get(code, (None, ""))[0]
            if confirmed:  # the last value seen saved, or one typed after it
                allowed = {a.value for a in attempts[confirmed[-1] :]}
                assert value in allowed, (code, value, attempts)
            else:
                assert value is None or value in {a.value for a in attempts}, (code, attempts)
            for typed in {a.value for a in attempts}:
                times = logged.count((code, typed))
                seen = sum(a.confirmed for a in attempts if a.value == typed)
                tried = sum(1 for a in attempts if a.value == typed)
                assert seen <= times <= tried, (code, typed, seen, times, tried)
        assert {c for c, _ in logged} <= {a.code for a in self.answers}
        paragraphs = [p for _, evidence in stored.values() for p in evidence.split("\n\n") if p]
        sent = {a.value for a in self.evidence}
        assert set(paragraphs) <= sent, set(paragraphs) - sent
        for attempt in self.evidence:
            times = paragraphs.count(attempt.value)
            assert times == 1 if attempt.confirmed else times <= 1, (attempt, times)


def next_line(screen: str, ledger: Ledger, rng: random.Random, counter: list[int]) -> str | None:
    """What the person types on `screen` (a text channel's question); None when finished."""
    block = screen.rstrip("\n").split("\n\n")[-1]
    if "Dùng bản nháp này" in block or "Tổng điểm" in screen:
        return None
    if "Đơn vị của bạn đã có trên hệ thống chưa?" in block:
        return "1"
    if "Tên đầy đủ của đơn vị" in block:
        return UNIT
    if "thuộc loại hình nào" in block or "đánh giá, công nhận ở cấp nào" in block:
        return "1"
    if "Nhập ngay hay để sau?" in block:
        return "2"
    if "Đơn vị đang đánh giá dở năm 2023" in block:
        return "1"  # Tiếp tục tại câu k/17
    if "Bạn muốn làm gì?" in block:
        return "/danhgia 2023"
    code = code_asked(block)
    if code is not None:
        score = ledger.score_for(code, rng)
        ledger.answers.append(Attempt(code, score))
        if rng.random() < 0.4:  # evidence in the same message, after the answer
            counter[0] += 1
            paragraph = f"Minh chứng {code} số {counter[0]}/KH"
            ledger.evidence.append(Attempt(code, paragraph))
            return f"{score} - {paragraph}"
        return score
    raise AssertionError(f"an unexpected screen:\n{screen}")


# --- the console ---------------------------------------------------------------------------


class Console:
    """`python -m bot console` with piped standard input and output."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.process: asyncio.subprocess.Process | None = None
        self.pending = b""

    async def start(self) -> None:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DVHT_DATA_DIR": str(self.db.parent)}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "console", "--db", str(self.db), "--user", "lan",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
        )  # fmt: skip
        self.pending = b""

    @property
    def proc(self) -> asyncio.subprocess.Process:
        assert self.process is not None
        return self.process

    async def turn(self) -> str:
        """Everything printed until the next question is complete."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(30):
            while not TURN_END.search(self.pending.decode(errors="replace")):
                chunk = await self.proc.stdout.read(65536)
                if not chunk:
                    stderr = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise AssertionError(f"the console ended: {stderr.decode()}")
                self.pending += chunk
        text, self.pending = self.pending.decode(), b""
        return text

    async def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()

    async def kill(self) -> str:
        """SIGKILL; what it had printed (and the person read) until then."""
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.stdout is not None
        async with asyncio.timeout(30):
            rest = await self.proc.stdout.read()
            await self.proc.wait()
        text, self.pending = (self.pending + rest).decode(errors="replace"), b""
        return text

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        async with asyncio.timeout(30):
            _, stderr = await self.proc.communicate()
        assert self.proc.returncode == 0, stderr.decode()
        assert stderr == b"", stderr.decode()


@pytest.mark.parametrize("seed", [7, 2024])
async def test_console_killed_at_random_points_loses_and_doubles_nothing(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    db = tmp_path / "unit.sqlite3"
    ledger, counter = Ledger(), [0]
    kills = sorted(rng.sample(range(2, 22), 4))  # one message per answer: ~24 lines in all
    console = Console(db)
    await console.start()
    if rng.random() < 0.5:  # once while it starts: opening, migrating, the first screen
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        await console.kill()
        await console.start()
    screen = await console.turn()
    for step in range(200):
        line = next_line(screen, ledger, rng, counter)
        if line is None:
            break
        await console.type(line)
        if kills and step == kills[0]:
            kills.pop(0)
            if rng.random() < 0.7:  # mid-turn: the line may or may not have been handled
                await asyncio.sleep(rng.choice([0.0, rng.uniform(0.0, 0.01)]))
                seen = await console.kill()
            else:  # right after the confirmation was printed
                seen = await console.turn()
                await console.kill()
            see(ledger, seen, line)
            await console.start()
            screen = await console.turn()
            continue
        screen = await console.turn()
        see(ledger, screen, line)
    else:
        raise AssertionError("the assessment never ended")
    await console.close()
    assert not kills, "every planned kill happened"
    ledger.check(db)


def see(ledger: Ledger, text: str, line: str) -> None:
    """Record what a turn showed the person: a saved answer, or the paragraph just sent."""
    ledger.saw(text)
    last = ledger.evidence[-1] if ledger.evidence else None
    if (
        last is not None
        and line.endswith(f" - {last.value}")
        and last.code in WITH_EVIDENCE.findall(text)
    ):
        last.confirmed = True


# --- Telegram ------------------------------------------------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


class TelegramBot:
    """`python -m bot telegram` polling the fake Bot API."""

    def __init__(self, api: FakeBotApi, folder: Path) -> None:
        self.api = api
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "DVHT_DATA_DIR": str(self.folder),
            "PYTHONPATH": str(ROOT),
        }
        for name in ("ZALO_BOT_TOKEN", "DVHT_PUBLIC_URL", "DVHT_DB_PATH"):
            env.pop(name, None)
        self.runs += 1
        with (self.folder / f"stderr-{self.runs}.txt").open("wb") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "telegram",
                env=env, cwd=self.folder, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip

    @property
    def proc(self) -> asyncio.subprocess.Process:
        assert self.process is not None
        return self.process

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        async with asyncio.timeout(30):
            await self.proc.wait()

    async def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await self.proc.wait()
        assert self.proc.returncode == 0, (self.folder / f"stderr-{self.runs}.txt").read_text()


def texts_since(api: FakeBotApi, mark: int) -> str:
    """What the phone received after call number `mark`: new messages and edits."""
    methods = ("sendMessage", "editMessageText")
    return "\n".join(str(p.get("text", "")) for m, p in api.calls[mark:] if m in methods)


async def until(api: FakeBotApi, mark: int, done: Callable[[int], bool]) -> None:
    """Wait until `done(call index)` holds for a call after `mark` that sent a question."""
    async with asyncio.timeout(60):
        while True:
            for index in range(mark, len(api.calls)):
                method, params = api.calls[index]
                has_keyboard = "inline_keyboard" in str(params.get("reply_markup") or "")
                if method == "sendMessage" and has_keyboard and done(index):
                    return
            await asyncio.sleep(0.01)


async def answered(api: FakeBotApi, mark: int) -> None:
    """The turn started at `mark` is over: its next question has been sent."""
    await until(api, mark, lambda _: True)


async def synced(api: FakeBotApi, lan: PhoneUser) -> None:
    """After a restart: "/trogiup", answered after anything redelivered (the updates of one chat
    are handled in order), so the question on screen afterwards is the current one."""
    mark = len(api.calls)
    api.push(lan.text("/trogiup"))

    def after_help(index: int) -> bool:
        return any("Hướng dẫn:" in str(p.get("text")) for _, p in api.calls[mark : index + 1])

    await until(api, mark, after_help)


def phone_update(lan: PhoneUser, line: str, rng: random.Random) -> dict[str, Any]:
    """The person's action for `line`: a score is often a button press instead."""
    question = lan.keyboard_message()
    rows = question["reply_markup"]["inline_keyboard"]
    buttons = {button["text"]: button["callback_data"] for row in rows for button in row}
    if line in buttons and line.isdecimal() and rng.random() < 0.5:
        return lan.press_data(buttons[line], question)  # exactly "1", not "10"
    return lan.text(line)


@pytest.mark.parametrize("seed", [14])
async def test_telegram_killed_at_random_points_loses_and_doubles_nothing(
    api: FakeBotApi, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    ledger, counter = Ledger(), [0]
    lan = PhoneUser(api, 601, "Lan")
    kills = sorted(rng.sample(range(3, 21), 4))
    bot = TelegramBot(api, tmp_path)
    await bot.start()
    try:
        mark = len(api.calls)
        api.push(lan.text("/start"))
        await answered(api, mark)
        for step in range(36):
            screen = lan.keyboard_message()["text"]
            line = next_line(screen + "\n\n", ledger, rng, counter)
            if line is None:
                break
            mark = len(api.calls)
            api.push(phone_update(lan, line, rng))
            if kills and step == kills[0]:
                kills.pop(0)
                if rng.random() < 0.7:  # mid-turn: fetched or not, handled or not
                    await asyncio.sleep(rng.choice([0.0, rng.uniform(0.0, 0.15)]))
                else:
                    await answered(api, mark)
                await bot.kill()
                await bot.start()
                await synced(api, lan)
            else:
                await answered(api, mark)
            see(ledger, texts_since(api, mark), line)
    finally:
        await bot.stop()
    assert not kills, "every planned kill happened"
    ledger.check(tmp_path / "donvi-hoctap.sqlite3")


def processed_keys(db: Path) -> set[str]:
    """The dedup keys of the Telegram updates whose turn was committed."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT update_id FROM processed_updates WHERE channel = 'telegram'")
        return {key for (key,) in rows}


def message_key(update: dict[str, Any]) -> str:
    """`bot.telegram_adapter.dedup_key` of a new message, written out from its JSON."""
    message = update["message"]
    return f"m:{message['chat']['id']}:{message['message_id']}:{message['date']}"


@pytest.mark.parametrize("seed", [5, 31])
async def test_telegram_killed_with_updates_pending_processes_every_update_handed_out(
    api: FakeBotApi, tmp_path: Path, seed: int
) -> None:
    """Kill -9 just after getUpdates handed out a burst from several chats, five times.

    Whatever the server handed out must end up processed: either before the kill, or
    redelivered after the restart because it had not been acknowledged (a polling loop that
    asks for the next offset before the batch is committed loses those updates for good).
    """
    rng = random.Random(seed)
    people = [PhoneUser(api, 700 + n, f"Người {n}") for n in range(6)]
    lines = ["/trogiup", "/start", "xin chào", "/xemlai"]
    bot = TelegramBot(api, tmp_path)
    await bot.start()
    try:
        for _ in range(5):
            batches = api.batches
            for _ in range(rng.randint(20, 40)):
                api.push(rng.choice(people).text(rng.choice(lines)))
            async with asyncio.timeout(60):
                while api.batches == batches:  # the process fetched (part of) the burst
                    await asyncio.sleep(0.002)
            await asyncio.sleep(rng.uniform(0.0, 0.25))
            await bot.kill()
            await bot.start()
        last = PhoneUser(api, 799, "Cuối")
        mark = len(api.calls)
        api.push(last.text("/trogiup"))  # handed out after everything pushed before it
        async with asyncio.timeout(60):
            while not any(
                m == "sendMessage" and p.get("chat_id") in (799, "799") for m, p in api.calls[mark:]
            ):
                await asyncio.sleep(0.01)
    finally:
        await bot.stop()  # SIGTERM: the batch in hand is finished before the process ends
    processed = processed_keys(tmp_path / "donvi-hoctap.sqlite3")
    lost = [u for u in api.handed_out.values() if message_key(u) not in processed]
    assert not lost, f"{len(lost)} of {len(api.handed_out)} updates handed out, never processed"
    assert api.deliveries > len(api.handed_out), "no kill caught a batch before it was done"


async def test_telegram_stopped_by_sigterm_mid_batch_finishes_and_acknowledges_it(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """SIGTERM right after a burst was handed out: the process finishes that batch before it
    ends (no restart here to redeliver it) and tells Telegram, which keeps only the rest."""
    people = [PhoneUser(api, 710 + n, f"Người {n}") for n in range(4)]
    bot = TelegramBot(api, tmp_path)
    await bot.start()
    await synced(api, people[0])  # polling, warmed up
    batches = api.batches
    for n in range(30):
        api.push(people[n % 4].text("/trogiup"))
    async with asyncio.timeout(30):
        while api.batches == batches:
            await asyncio.sleep(0.002)
    await bot.stop()
    processed = processed_keys(tmp_path / "donvi-hoctap.sqlite3")
    assert all(message_key(u) in processed for u in api.handed_out.values())
    assert api.updates == []  # the burst came in one batch, acknowledged on the way out
