"""The endpoint under hostile input (issue 17, items 2, 4, 5 and 7): bad bytes, forged or
tampered links, bodies nested too deep, idle and trickling connections.

Everything listens on 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.logsafe import RepeatFilter
from bot.report_links import ROUTE, ReportLinks
from bot.web import Limits, WebServer
from bot.zalo_adapter import SECRET_HEADER, webhook_handler

SECRET = "s3cret-Zalo"


class _Adapter:
    """Stands in for ZaloAdapter: the endpoint's checks come before it is reached."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    async def handle(self, update: dict[str, Any]) -> None:
        self.updates.append(update)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[WebServer, ReportLinks, _Adapter]]:
    server = WebServer("127.0.0.1", 0)
    links = ReportLinks("link-secret", tmp_path / "links", "")
    adapter = _Adapter()
    server.add_get(ROUTE, links.handle)
    server.add_post("/zalo", webhook_handler(adapter, SECRET))  # type: ignore[arg-type]
    await server.start()
    links.public_url = f"http://127.0.0.1:{server.bound_port}"
    yield server, links, adapter
    await server.stop()


async def raw(port: int, request: bytes, wait: float = 5.0) -> bytes:
    """Send `request` as bytes (no client library tidying it) and read the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def post(body: bytes, secret: bytes = SECRET.encode()) -> bytes:
    head = (
        b"POST /zalo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + SECRET_HEADER.encode() + b": " + secret + b"\r\n"
        + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\n\r\n"
    )  # fmt: skip
    return head + body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.exc_info] == []


async def test_a_secret_header_with_a_byte_that_is_not_utf8_is_403_without_a_traceback(
    served: tuple[WebServer, ReportLinks, _Adapter], caplog: pytest.LogCaptureFixture
) -> None:
    server, _, adapter = served
    with caplog.at_level(logging.INFO):
        answer = await raw(server.bound_port, post(b"{}", secret=b"s3cret-\xff\xfe"))
    assert status_of(answer) == 403
    assert adapter.updates == []
    no_traceback(caplog)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe{}", b"nope"])
async def test_a_body_behind_the_secret_that_is_not_json_is_400_with_one_line(
    served: tuple[WebServer, ReportLinks, _Adapter],
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    server, _, adapter = served
    with caplog.at_level(logging.INFO):
        answer = await raw(server.bound_port, post(body))
    assert status_of(answer) == 400
    assert adapter.updates == []
    no_traceback(caplog)
    assert len([r for r in caplog.records if r.name.startswith("bot.")]) <= 1


async def test_a_link_of_nested_brackets_is_refused_before_any_decoding(
    served: tuple[WebServer, ReportLinks, _Adapter], caplog: pytest.LogCaptureFixture
) -> None:
    server, links, _ = served
    payload = base64.urlsafe_b64encode(b"[" * 2000).rstrip(b"=").decode()
    with caplog.at_level(logging.INFO):
        answer = await raw(server.bound_port, get(f"/r/{payload}.AAAA"))
    assert status_of(answer) == 403
    no_traceback(caplog)
    assert links.verify(f"{payload}.AAAA") is None


def _neighbours(char: str) -> list[str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return [c for c in alphabet if c != char]


async def test_every_other_last_character_of_a_signature_is_refused(tmp_path: Path) -> None:
    """The last base64 character of a 32-byte MAC carries 4 unused bits: a lenient decoder
    takes 4 spellings of it; only the one we wrote may pass."""
    report = tmp_path / "r.docx"
    report.write_bytes(b"PK")
    links = ReportLinks("link-secret", tmp_path / "links", "https://x")
    token = links.create(report, "r.docx").rsplit("/", 1)[1]
    assert links.verify(token) is not None
    accepted = [c for c in _neighbours(token[-1]) if links.verify(token[:-1] + c) is not None]
    assert accepted == []
    assert links.verify(token + "=") is None  # padding is another spelling, refused too


# --- Item 2: connections and time are bounded --------------------------------------------------

QUICK = Limits(head_seconds=0.5, body_seconds=0.5, keepalive_seconds=0.5, connections=20)


@pytest.fixture
async def quick() -> AsyncIterator[WebServer]:
    server = WebServer("127.0.0.1", 0, QUICK)
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), 5)
        return web.Response(text="done")

    server.add_get("/slow", slow)
    server.add_post("/zalo", webhook_handler(_Adapter(), SECRET))  # type: ignore[arg-type]
    await server.start()
    yield server
    release.set()
    await server.stop()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closed the connection within `seconds` (it sent nothing first)."""
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_a_request_head_sent_one_byte_at_a_time_is_cut_off(quick: WebServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick.bound_port)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100

    async def trickle() -> None:
        for byte in head:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.05)

    dripping = asyncio.create_task(trickle())
    try:
        assert await closed_within(reader, 3.0)
    finally:
        dripping.cancel()
        writer.close()


async def test_a_body_that_does_not_come_is_408(quick: WebServer) -> None:
    head = post(b"{}")[: -len(b"{}")].replace(b"Content-Length: 2", b"Content-Length: 100")
    answer = await raw(quick.bound_port, head + b'{"a":', wait=3.0)
    assert status_of(answer) == 408


async def test_idle_connections_beyond_the_limit_make_room_and_healthz_answers(
    quick: WebServer,
) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", quick.bound_port) for _ in range(60)]
    try:
        answer = await raw(quick.bound_port, get("/healthz"), wait=3.0)
        assert status_of(answer) == 200
        closed = await asyncio.gather(*(closed_within(r, 3.0) for r, _ in idle))
        assert all(closed)  # the oldest made room at once, the rest after the head deadline
    finally:
        for _, writer in idle:
            writer.close()


async def test_requests_at_once_are_bounded(quick: WebServer) -> None:
    limited = Limits(requests=1)
    server = WebServer("127.0.0.1", 0, limited)
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), 5)
        return web.Response(text="done")

    server.add_get("/slow", slow)
    await server.start()
    try:
        first = asyncio.create_task(raw(server.bound_port, get("/slow")))
        await asyncio.sleep(0.2)
        assert status_of(await raw(server.bound_port, get("/healthz"))) == 503
        release.set()
        assert status_of(await first) == 200
    finally:
        await server.stop()


async def test_the_server_header_names_no_software(quick: WebServer) -> None:
    answer = await raw(quick.bound_port, get("/healthz"))
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"server: dvht" in head
    assert b"aiohttp" not in head and b"python" not in head


def test_a_line_repeated_in_a_loop_is_written_a_few_times_only() -> None:
    clock = [0.0]
    repeats = RepeatFilter(burst=5, window=60.0, clock=lambda: clock[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)

    passed = [repeats.filter(record("socket.accept() out of system resource")) for _ in range(1000)]
    assert passed.count(True) == 5
    assert repeats.filter(record("another line"))
    clock[0] = 61.0
    later = record("socket.accept() out of system resource")
    assert repeats.filter(later)
    assert "[995 similar lines left out]" in later.getMessage()
