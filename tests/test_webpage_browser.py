"""The supervising level's page in a real browser: headless Chromium from Debian's packages,
driven by Playwright (never a browser Playwright downloads itself).

Opened from the link /tonghop gives; the table and counts checked against the database; sorted
and filtered by clicking; a report and the workbook downloaded and opened; a screenshot at a
phone's width (written to DVHT_SCREENSHOTS, or the test's folder); refused links. Skipped, with
the reason, where /usr/bin/chromium or the playwright package is missing (.ci/run installs both).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from tests.page_world import APPROVED, DRAFT, EXTRA, SO_A, SUBMITTED, World, build, serve_pages

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is not installed (pip: .[test])"
)
if os.environ.get("CI") == "true" and not CHROMIUM.exists():  # CI must run them, not skip
    raise RuntimeError("CI: /usr/bin/chromium is missing (.ci/run installs it)")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(build(tmp_path_factory.mktemp("page-browser")))


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def names_in_db(db: Path, supervisor: int) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT name FROM units WHERE supervisor_id = ? ORDER BY name", (supervisor,)
        )
        return [name for (name,) in rows]


async def saved(download: Any, folder: Path) -> Path:
    """A finished download, kept under the name the server gave it."""
    path = folder / "downloads" / download.suggested_filename
    await download.save_as(str(path))
    return path


async def rows_of(page: Any) -> list[str]:
    return [text.strip() for text in await page.locator("#units tbody td.name").all_inner_texts()]


async def test_a_supervisor_reads_sorts_filters_and_downloads_in_a_browser(
    world: World, tmp_path: Path, browser: Any
) -> None:
    async with serve_pages(world, tmp_path) as site:
        link = await site.link_of("sup")
        page = await browser.new_page(accept_downloads=True)
        await page.goto(link)
        assert await page.title() == f"Tổng hợp năm 2023 — {SO_A}"
        # The table and the counts, against the database.
        db_names = names_in_db(site.folder / "db.sqlite3", world.ids[SO_A])
        assert len(db_names) == EXTRA + 4
        shown = await rows_of(page)
        assert len(shown) == 50 and set(shown) <= set(db_names)
        counts = page.locator("#counts a")
        assert await counts.all_inner_texts() == [
            f"{EXTRA + 1}\nChưa bắt đầu", "1\nĐang làm", "0\nBị trả lại", "1\nĐã nộp",
            "1\nĐã duyệt"]  # fmt: skip
        # Sorting by result, best first: a click on the column's title, twice.
        await page.click("th a[data-sort=ketqua]")
        await page.click("th a[data-sort=ketqua]")
        assert (await rows_of(page))[:2] == [APPROVED, SUBMITTED]
        assert "93/100 — Tốt" in await page.locator("#units tbody tr").first.inner_text()
        # Filtering: choosing a state shows it at once (the page's script submits the form).
        async with page.expect_navigation():
            await page.select_option("select[name=trangthai]", "draft")
        assert await rows_of(page) == [DRAFT]
        assert "trangthai=draft" in page.url
        await page.click("#counts a[data-status=none]")  # a count card filters too
        assert len(await rows_of(page)) == 50
        await page.click("a[rel=next]")
        assert len(await rows_of(page)) == EXTRA + 1 - 50
        # The approved unit's report and the workbook, downloaded and opened.
        await page.goto(link + "&trangthai=approved")
        async with page.expect_download() as report_download:
            await page.click("a.report")
        report = await saved(await report_download.value, tmp_path)
        assert report.suffix == ".docx"
        text = "\n".join(p.text for p in docx.Document(str(report)).paragraphs)
        assert APPROVED in text and "BÁO CÁO" in text
        async with page.expect_download() as workbook_download:
            await page.click("#workbook")
        workbook = await saved(await workbook_download.value, tmp_path)
        assert workbook.name == f"tong-hop-2023-{world.ids[SO_A]}.xlsx"
        book = openpyxl.load_workbook(workbook)
        rows = list(book["Tổng hợp"].iter_rows(values_only=True))
        assert [row[1] for row in rows[4:]] == db_names  # every unit, by name
        assert rows[3][1] == "Đơn vị" and any(r[1] == APPROVED and r[9] == "Tốt" for r in rows)


async def test_the_page_fits_a_phone(world: World, tmp_path: Path, browser: Any) -> None:
    """At 390 px nothing runs off the side; the screenshot is kept to be looked at."""
    async with serve_pages(world, tmp_path) as site:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(await site.link_of("sup") + "&sapxep=ketqua&chieu=giam")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        first = page.locator("#units tbody tr").first
        assert (await first.bounding_box())["width"] <= 390
        assert "Tải báo cáo (.docx)" in await first.inner_text()
        folder = Path(os.environ.get("DVHT_SCREENSHOTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / "trang-tong-hop-390px.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000


async def test_refused_links_show_why_in_vietnamese(
    world: World, tmp_path: Path, browser: Any
) -> None:
    from conversations.overview_page import Scope

    async with serve_pages(world, tmp_path) as site:
        page = await browser.new_page()
        link = await site.link_of("sup")
        response = await page.goto(link.replace("/tonghop/e", "/tonghop/f"))
        assert response.status == 403
        assert await page.locator("h1").inner_text() == "Đường dẫn không hợp lệ"
        scope = Scope(world.ids["sup"], world.ids[SO_A], True)
        expired = site.links.sign(scope, int(time.time()) - 1)
        response = await page.goto(f"{site.base}/tonghop/{expired}")
        assert response.status == 410
        assert await page.locator("h1").inner_text() == "Đường dẫn đã hết hạn"
        other = await site.link_of("sup2")  # Sở B's link, asking for Sở A's unit's report
        response = await page.goto(f"{other.split('?')[0]}/baocao/{world.ids[APPROVED]}")
        assert response.status == 403
        assert await page.locator("h1").inner_text() == "Không xem được đơn vị này"
        assert APPROVED not in await page.content()
