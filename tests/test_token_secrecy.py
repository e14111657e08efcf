"""The bot token never appears in a log line, an error message or a file.

The assistant runs as in production (`python -m bot telegram`, `python -m bot zalo`, so logging
is set up by `bot.logsafe.setup_logging` from `bot.__main__`) with a recognisable fake token,
but with every logger at DEBUG, the libraries that log each request URL (httpx, httpcore) loud
again, and the fake servers failing on purpose: a 5xx poll, a send retried after a 5xx then
refused (the update fails, with its traceback), a 429, a refused edit and menu, and finally the
token refused (401) while polling. Then
stderr, stdout, what the person received and every file the program wrote are searched for the
token, its secret half and its URL-encoded form. The URL lines themselves must be there,
redacted: proof that the search looked where a token would have been.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.fake_telegram import FakeBotApi, PhoneUser
from tests.fake_zalo import FakeZaloApi, ZaloUser

ROOT = Path(__file__).resolve().parents[1]
TELEGRAM_TOKEN = "5151515151:AAHRecognisableFakeToken_do-not-LOG-0099"
ZALO_TOKEN = "7272727272727272727:RecognisableZaloToken_do-not-LOG-0099"

# `python -m bot ARGS` with production's logging set up at DEBUG, and the quieted libraries loud.
VERBOSE_MAIN = """
import logging, sys
import bot.__main__ as entry
from bot import logsafe

def verbose(secrets, level=logging.INFO):
    redacting = logsafe.setup_logging(secrets, logging.DEBUG)
    for name in ("httpx", "httpcore", "aiohttp", "telegram", "asyncio"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return redacting

entry.setup_logging = verbose
sys.exit(entry.main(sys.argv[1:]))
"""


def forms(token: str) -> list[str]:
    secret = token.split(":", 1)[1]
    return [token, secret, urllib.parse.quote(token), urllib.parse.quote(token, safe="")]


def assert_nowhere(token: str, *texts: str, folder: Path) -> None:
    for form in forms(token):
        for text in texts:
            assert form not in text, f"{form!r} in:\n{text[text.find(form) - 300 :][:600]}"
        for path in folder.rglob("*"):
            if path.is_file():
                assert form.encode() not in path.read_bytes(), f"{form!r} written to {path}"


async def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


class Bot:
    """The program running, its standard error read as it is written."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr = b""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(65536):
            self.stderr += chunk

    def logged(self, text: str) -> bool:
        return text in self.stderr.decode(errors="replace")

    async def stop(self) -> tuple[str, str]:
        """SIGTERM (unless it ended already); (stdout, stderr)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it may end on its own meanwhile
                self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            stdout = await self.process.stdout.read()
            await self._reader
            await self.process.wait()
        return stdout.decode(errors="replace"), self.stderr.decode(errors="replace")


async def start(args: list[str], env: dict[str, str], folder: Path) -> Bot:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    base.pop("DVHT_PUBLIC_URL", None)
    base |= {"DVHT_DATA_DIR": str(folder), "PYTHONPATH": str(ROOT), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", VERBOSE_MAIN, *args, env=base, cwd=folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return Bot(process)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(token=TELEGRAM_TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloApi]:
    server = FakeZaloApi(token=ZALO_TOKEN)
    await server.start()
    yield server
    await server.stop()


async def test_telegram_never_logs_or_writes_its_token(
    telegram: FakeBotApi, tmp_path: Path
) -> None:
    api, lan = telegram, PhoneUser(telegram, 701, "Lan")
    api.fail("setMyCommands", 500)
    api.fail("getUpdates", 502)
    env = {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_BASE_URL": api.base_url}
    bot = await start(["telegram"], env, tmp_path)
    try:
        api.push(lan.text("/start"))
        await wait_for(lambda: bool(lan.screen))
        api.fail("sendMessage", 502)  # retried…
        api.fail("sendMessage", 400)  # …then refused: the update fails
        api.push(lan.text("1"))
        await wait_for(lambda: "không mất gì" in lan.last_texts(1))
        api.fail("sendMessage", 429, retry_after=1)
        api.push(lan.text("Trường Tiểu học Đắk Ruồng"))  # the failed turn was saved: the name
        await wait_for(lambda: "thuộc loại hình nào" in lan.last_texts(1))
        api.fail("editMessageText", 400)  # the pressed question cannot become its answer
        api.push(lan.press("Cơ quan nhà nước"))
        await wait_for(lambda: "cấp nào" in lan.last_texts(1))
        api.fail("getUpdates", 401)  # the token refused while running: it stops by itself
        async with asyncio.timeout(30):
            await bot.process.wait()
    finally:
        stdout, stderr = await bot.stop()
    # Stopped after its token was refused while running: the one clear line, no crash.
    assert bot.process.returncode == 2, stderr[-3000:]
    assert "Telegram từ chối mã bot" in stderr.strip().splitlines()[-1]
    assert "RuntimeError" not in stderr
    assert "Telegram update failed" in stderr  # the failures were logged…
    assert "Traceback" in stderr
    assert "/bot***/getUpdates" in stderr  # …and the URLs, with the token blanked
    received = "\n".join(str(params) for _, params in api.calls)
    assert_nowhere(TELEGRAM_TOKEN, stderr, stdout, received, folder=tmp_path)


async def test_zalo_never_logs_or_writes_its_token(zalo: FakeZaloApi, tmp_path: Path) -> None:
    api, lan = zalo, ZaloUser(zalo, "4242424242eeeeeeeeee", "Lan")
    api.fail("getUpdates", 502)
    env = {"ZALO_BOT_TOKEN": ZALO_TOKEN, "ZALO_API_BASE_URL": api.base_url}
    bot = await start(["zalo"], env, tmp_path)
    try:
        api.push(lan.text("/start"))
        await wait_for(lambda: bool(lan.screen))
        api.fail("sendMessage", 502)  # retried…
        api.fail("sendMessage", 400)  # …then refused: the reply fails
        api.push(lan.text("1"))
        await wait_for(lambda: not api.failures["sendMessage"])
        api.push(lan.text("1"))
        await wait_for(lambda: "Tên đầy đủ của đơn vị" in lan.last_texts(1))
        api.fail("getUpdates", 401)
        await wait_for(lambda: bot.logged("getUpdates: 401"))
    finally:
        stdout, stderr = await bot.stop()
    assert "Zalo reply failed" in stderr
    assert "/bot***/getUpdates" in stderr
    received = "\n".join(str(params) for _, params in api.calls)
    assert_nowhere(ZALO_TOKEN, stderr, stdout, received, folder=tmp_path)
