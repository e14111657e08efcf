"""The supervising level's page on the assistant's own HTTP endpoint (bot.web).

Three routes hang off a signed page link (bot.page_links): the page itself, the consolidated
workbook and each unit's report. The handler on the event loop only checks the link's
signature and expiry (microseconds); everything that reads the database, judges units or
renders runs in the page worker, an executor of its own (a separate process in the service,
so neither the loop nor its GIL is held; a thread in the console), through
`conversations.overview_page`. At most `in_flight` page requests are under way at once; more
get a "busy" page at once, so pages never take the endpoint's room from the webhooks.

A file (report, workbook) is handed out as a report link (bot.report_links): the browser is
sent on to it, as a Zalo user is.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.page_links import ROUTE, PageLinks, Verdict
from bot.report_links import ROUTE as REPORT_ROUTE
from bot.report_links import ReportLinks
from bot.web import WebServer
from conversations.overview_page import PageRequest, answer, warm
from conversations.settings import Settings
from templates.formatting import VIETNAM
from templates.overview_page import page_html, refusal_html

log = logging.getLogger(__name__)

WORKBOOK_ROUTE = ROUTE + "/tonghop.xlsx"
REPORT_OF_ROUTE = ROUTE + "/baocao/{unit}"
IN_FLIGHT = 4  # page requests under way at once; more are told the page is busy
TIMEOUT = 60.0  # seconds a page request may take in the worker before it is given up
_STATUS_OF = {"forged": 403, "expired": 410, "no_longer": 403, "other_unit": 403,
              "no_report": 404, "busy": 503, "failed": 503, "not_found": 404}  # fmt: skip


def page_executor() -> Executor:
    """The page worker: one separate process, started fresh ("spawn") when first needed."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


@dataclass(frozen=True, slots=True)
class Done:
    """The worker's answer, as plain values: a page, a file to link to, or a refusal."""

    status: int
    html: str = ""
    file: tuple[Path, str] | None = None
    refusal: str = ""


def work(url: str, request: PageRequest, settings: Settings, base: str, nonce: str) -> Done:
    """In the page worker: the request answered from a snapshot, the page rendered."""
    found = answer(url, request, settings)
    if found.refusal:
        return Done(found.status, refusal=found.refusal)
    if found.file is not None:
        return Done(found.status, file=found.file)
    assert found.view is not None
    return Done(200, html=page_html(found.view, base, request.expires, nonce))


class PageServer:
    """The page's routes; `add_to` puts them on a `WebServer`."""

    def __init__(
        self,
        url: str,
        settings: Settings,
        links: PageLinks,
        reports: ReportLinks,
        executor: Executor,
        *,
        new_executor: Callable[[], Executor] | None = None,
        in_flight: int = IN_FLIGHT,
        timeout: float = TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = url
        self.settings = settings
        self.links = links
        self.reports = reports
        self.executor = executor
        self.new_executor = new_executor
        self.timeout = timeout
        self.clock = clock
        self._room = asyncio.Semaphore(in_flight)
        self._warming: set[asyncio.Future[int]] = set()
        links.on_link = self.warm

    def add_to(self, server: WebServer) -> None:
        server.add_get(ROUTE, self.page)
        server.add_get(WORKBOOK_ROUTE, self.workbook)
        server.add_get(REPORT_OF_ROUTE, self.report)

    async def page(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "page")

    async def workbook(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "workbook")

    async def report(self, request: web.Request) -> web.StreamResponse:
        unit = request.match_info.get("unit", "")
        if not unit.isdecimal() or len(unit) > 12:
            return refused("not_found")
        return await self._serve(request, "report", int(unit))

    async def _serve(
        self, request: web.Request, action: str, unit_id: int | None = None
    ) -> web.StreamResponse:
        token = request.match_info.get("token", "")
        checked = self.links.check(token)
        if checked.verdict is not Verdict.GOOD or checked.scope is None:
            reason = "expired" if checked.verdict is Verdict.EXPIRED else "forged"
            log.info("page link refused (%s)", reason)
            return refused(reason)
        if self._room.locked():
            return refused("busy")
        now = self.clock()
        page = PageRequest(
            checked.scope,
            action,
            dict(request.query),
            today=now.astimezone(VIETNAM).date(),
            now=now,
            expires=checked.expires or now,
            unit_id=unit_id,
        )
        nonce = secrets.token_urlsafe(12)
        async with self._room:
            done = await self._run(page, f"/tonghop/{token}", nonce)
        if done.refusal:
            return refused(done.refusal)
        if done.file is not None:
            path, name = done.file
            try:
                url = self.reports.create(path, name)
            except OSError as exc:  # the links folder cannot be written: say so, keep serving
                log.warning("download link for %s not made: %s", name, exc)
                return refused("failed")
            raise web.HTTPSeeOther(url, headers=_PRIVATE)
        return web.Response(text=done.html, content_type="text/html", headers=_headers(nonce))

    async def _run(self, page: PageRequest, base: str, nonce: str) -> Done:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(
                self.executor, work, self.url, page, self.settings, base, nonce
            )
            return await asyncio.wait_for(future, self.timeout)
        except BrokenExecutor:  # the worker's process died: a new one for the next request
            log.warning("the page worker died; a new one is started")
            if self.new_executor is not None:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.executor = self.new_executor()
        except TimeoutError:
            log.warning("page request given up after %.0f s", self.timeout)
        except Exception:
            log.exception("page request failed")
        return Done(503, refusal="failed")

    def warm(self, unit_id: int, whole: bool, year: int) -> asyncio.Future[int] | None:
        """Ready the rows of a page a link was just given for, in the page worker (a read of a
        snapshot: nothing is written, and a link given twice only finds the rows kept). The
        rows readied, to wait for, or None when there is no worker to ask."""
        today = self.clock().astimezone(VIETNAM).date()
        try:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self.executor, warm, self.url, unit_id, whole, year, today
            )
        except (RuntimeError, BrokenExecutor) as exc:  # no loop, or the worker is gone
            log.info("page rows not readied: %s", exc)
            return None
        self._warming.add(future)
        future.add_done_callback(self._warmed)
        return future

    async def readied(self) -> None:
        """Wait until the rows of every link given so far are readied (tests, benchmarks)."""
        await asyncio.gather(*self._warming, return_exceptions=True)

    def _warmed(self, future: asyncio.Future[int]) -> None:
        self._warming.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.info("page rows not readied: %s", future.exception())

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


_PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def _headers(nonce: str) -> dict[str, str]:
    """Nothing from elsewhere, nothing kept, nothing told to another site (the link is in
    the address), the page's one script allowed by its nonce."""
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        **_PRIVATE,
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
    }


def refused(reason: str) -> web.Response:
    """The Vietnamese page of a refusal (403 forged or not allowed, 410 expired …)."""
    status = _STATUS_OF[reason]
    headers = {**_headers("-"), **({"Retry-After": "2"} if status == 503 else {})}
    return web.Response(
        status=status, text=refusal_html(reason), content_type="text/html", headers=headers
    )


class LocalPages:
    """The page on this machine only, for the console: its own thread and event loop (the
    console's loop waits on a line of input), on a loopback port the system picks, with a new
    signing secret each run. `start` gives the `PageLinks` whose links open it."""

    def __init__(self, url: str, settings: Settings, data_dir: Path, hours: int = 24) -> None:
        self.url = url
        self.settings = settings
        self.data_dir = data_dir
        self.hours = hours
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.links: PageLinks | None = None
        self.failed: BaseException | None = None

    def start(self) -> PageLinks | None:
        """Listen; the links, or None when the page cannot be served here (said in the log)."""
        self._thread = threading.Thread(target=self._main, name="page-server", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return self.links

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # the console goes on without the page
            self.failed = exc
            log.warning("the local page server stopped: %r", exc)
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = WebServer("127.0.0.1", 0)
        secret = secrets.token_urlsafe(32)
        reports = ReportLinks(secret, self.data_dir / "links", "", days=1)
        links = PageLinks(secret, "", self.hours)
        pages = PageServer(self.url, self.settings, links, reports, ThreadPoolExecutor(1))
        server.add_get(REPORT_ROUTE, reports.handle)
        pages.add_to(server)  # routes before listening (aiohttp fixes them then) …
        await server.start()
        base = f"http://127.0.0.1:{server.bound_port}"  # … the address only once listening
        links.public_url = reports.public_url = base
        self.links = links
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()
            pages.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
