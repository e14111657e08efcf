"""The supervising level's page over HTTP: what /tonghop links to, who is refused, and that the
page follows the database. The same page in a real browser: tests/test_webpage_browser.py."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.page_links import PageLinks, Verdict
from conversations.overview_page import CACHE, Scope
from tests.page_world import (
    APPROVED,
    DRAFT,
    EXTRA,
    OTHER_SO,
    SO_A,
    SO_B,
    SUBMITTED,
    World,
    build,
    serve_pages,
)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(build(tmp_path_factory.mktemp("page-world")))


async def fetch(url: str, redirects: bool = True) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=redirects) as r:
        return r.status, await r.text(errors="replace"), r


def unit_names(html: str) -> list[str]:
    return re.findall(r'<td class="name">([^<]*)</td>', html)


def counts_in(html: str) -> dict[str, int]:
    found = re.findall(r'data-status="(\w+)" data-count="(\d+)"', html)
    return {status: int(n) for status, n in found}


def db_counts(db: Path, supervisor: int) -> dict[str, int]:
    """Each state's number of units under `supervisor`, straight from the database."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT coalesce(a.status, 'none'), count(*) FROM units AS u LEFT JOIN assessments"
            " AS a ON a.unit_id = u.id AND a.year = 2023 WHERE u.supervisor_id = ? GROUP BY 1",
            (supervisor,),
        ).fetchall()
    found = {key: 0 for key in ("none", "draft", "returned", "submitted", "approved")}
    return found | dict(rows)


async def test_tonghop_links_to_the_page_of_its_units_with_the_counts_of_the_database(
    world: World, tmp_path: Path
) -> None:
    async with serve_pages(world, tmp_path) as site:
        text = await site.user("sup").command("tonghop 2023")
        assert "Đang tổng hợp năm 2023" in text  # the workbook still comes as before
        assert f"Xem tình hình các đơn vị trực thuộc {SO_A} trên trình duyệt" in text
        assert "dùng được đến" in text
        status, html, response = await fetch(await site.link_of("sup"))
        assert status == 200 and response.headers["Cache-Control"] == "private, no-store"
        assert "script-src 'nonce-" in response.headers["Content-Security-Policy"]
        assert "Tổng hợp “Đơn vị học tập” năm 2023" in html and SO_A in html
        assert counts_in(html) == db_counts(site.folder / "db.sqlite3", world.ids[SO_A])
        assert counts_in(html) == {"none": EXTRA + 1, "draft": 1, "returned": 0,
                                   "submitted": 1, "approved": 1}  # fmt: skip
        assert len(unit_names(html)) == 50  # the first of two pages
        assert OTHER_SO not in html  # Sở B's unit is not Sở A's
        assert re.search(r'data-result="Tốt" data-count="1"', html)
        assert re.search(r'data-result="Khá" data-count="1"', html)
        assert "Đã nộp <strong>2/64</strong> đơn vị (3,1%)" in html
        assert "Còn 59 ngày đến hạn nộp 31/03/2024" in html


async def test_giving_the_link_readies_the_page_before_it_is_opened(
    world: World, tmp_path: Path
) -> None:
    """The page worker judges every unit of the page as soon as /tonghop gives the link, so the
    person's first load finds the rows ready instead of waiting for all of them."""
    async with serve_pages(world, tmp_path) as site:
        CACHE.clear()
        await site.user("sup").command("tonghop 2023")
        await site.pages.readied()
        units = sum(db_counts(site.folder / "db.sqlite3", world.ids[SO_A]).values())
        assert len(CACHE) == units
        status, html, _ = await fetch(await site.link_of("sup"))
        assert status == 200 and len(unit_names(html)) == 50


async def test_sorting_filtering_and_pages_are_done_by_the_server(
    world: World, tmp_path: Path
) -> None:
    async with serve_pages(world, tmp_path) as site:
        link = await site.link_of("sup")
        _, best, _ = await fetch(f"{link}&sapxep=ketqua&chieu=giam")
        assert unit_names(best)[:2] == [APPROVED, SUBMITTED]
        assert "93/100 — <strong>Tốt</strong>" in best and "75/100 — <strong>Khá</strong>" in best
        _, worst, _ = await fetch(f"{link}&sapxep=ketqua")
        assert unit_names(worst)[-1] != APPROVED
        _, submitted, _ = await fetch(f"{link}&trangthai=submitted")
        assert unit_names(submitted) == [SUBMITTED]
        _, drafts, _ = await fetch(f"{link}&trangthai=draft&loai=co-quan")
        assert unit_names(drafts) == [DRAFT] and "3/17 câu" in drafts
        _, second, _ = await fetch(f"{link}&trang=2")
        assert len(unit_names(second)) == 64 - 50 and "trang 2/2" in second
        _, found, _ = await fetch(f"{link}&tim=dak+ruong")  # typed without diacritics
        assert unit_names(found) == [APPROVED]


async def test_bad_query_values_are_said_and_the_defaults_shown(
    world: World, tmp_path: Path
) -> None:
    async with serve_pages(world, tmp_path) as site:
        link = await site.link_of("sup")
        status, html, _ = await fetch(f"{link}&trangthai=xoa&trang=-3&sapxep=%3Cscript%3E")
        assert status == 200
        assert "Trạng thái “xoa” không hợp lệ: đã bỏ qua" in html
        assert "Số trang “-3” không hợp lệ" in html
        assert "Cách sắp xếp “&lt;script&gt;” không hợp lệ" in html  # escaped, never run
        assert len(unit_names(html)) == 50
        for odd in ("&nam=%FF%FE", "&tim=%00%FF" + "x" * 3000, "&trang=99999", "&loai=%22%3E"):
            status, html, _ = await fetch(link + odd)
            assert status == 200, odd
            assert "<table" in html or "Không có đơn vị nào khớp bộ lọc" in html, odd


async def test_the_page_follows_each_change_in_the_database(world: World, tmp_path: Path) -> None:
    """Rows are kept by the worker only while their unit's stamp is the same."""
    async with serve_pages(world, tmp_path) as site:
        link = await site.link_of("sup")
        _, before, _ = await fetch(f"{link}&trangthai=draft")
        assert "3/17 câu" in before
        async with site.repository.transaction() as tx:  # one more answer, and a new name
            [draft] = (await tx.assessments_of_units([world.ids[DRAFT]], 2023)).values()
            await tx.put_answer(draft.id, "2a", "5", world.ids["kim"])
            await tx.update_unit(world.ids[DRAFT], {"name": "UBND xã Ngọk Bay (mới)"})
        _, after, _ = await fetch(f"{link}&trangthai=draft")
        assert "4/17 câu" in after and unit_names(after) == ["UBND xã Ngọk Bay (mới)"]


async def test_forged_tampered_expired_and_foreign_links_are_refused(
    world: World, tmp_path: Path
) -> None:
    async with serve_pages(world, tmp_path) as site:
        link = await site.link_of("sup")
        path, _, query = link.partition("?")
        payload, _, signature = path.rsplit("/", 1)[1].partition(".")
        forged = f"{site.base}/tonghop/{payload}.{signature[:-2]}AA?{query}"
        status, html, _ = await fetch(forged)
        assert status == 403 and "Đường dẫn không hợp lệ" in html and SO_A not in html
        status, html, _ = await fetch(f"{site.base}/tonghop/abc")
        assert status == 403 and "không do trợ lý cấp" in html
        # Signed by another secret, for the same scope: not ours.
        other = PageLinks("another-secret", site.base).sign(scope(world, "sup", SO_A), 2**31)
        assert (await fetch(f"{site.base}/tonghop/{other}"))[0] == 403
        # Ours, but its time is up.
        past = int(time.time()) - 60
        expired = site.links.sign(scope(world, "sup", SO_A), past)
        status, html, _ = await fetch(f"{site.base}/tonghop/{expired}")
        assert status == 410 and "Đường dẫn đã hết hạn" in html and "/tonghop" in html
        # Sở B's supervisor with Sở A's unit, or a report of Sở A's unit on Sở B's link.
        crossed = site.links.sign(scope(world, "sup2", SO_A), 2**31)
        status, html, _ = await fetch(f"{site.base}/tonghop/{crossed}")
        assert status == 403 and "không còn quyền" in html and APPROVED not in html
        theirs = (await site.link_of("sup2")).split("?")[0]
        status, html, _ = await fetch(f"{theirs}/baocao/{world.ids[APPROVED]}?nam=2023")
        assert status == 403 and "Không xem được đơn vị này" in html
        status, html, _ = await fetch(f"{theirs}?nam=2023")
        assert status == 200 and OTHER_SO in html and APPROVED not in html and SO_B in html
        status, _, _ = await fetch(f"{theirs}/baocao/abc")
        assert status == 404


async def test_a_leader_gets_the_page_of_their_unit_alone(world: World, tmp_path: Path) -> None:
    async with serve_pages(world, tmp_path) as site:
        text = await site.user("minh").command("tonghop 2023")
        assert "dành cho cán bộ đơn vị cấp trên" in text
        assert f"Xem tình hình của {APPROVED} trên trình duyệt" in text
        own = await site.link_of("minh")
        status, html, _ = await fetch(own)
        assert status == 200 and unit_names(html) == [APPROVED]
        base = own.split("?")[0]
        status, _, response = await fetch(f"{base}/baocao/{world.ids[APPROVED]}", False)
        assert status == 303 and "/r/" in response.headers["Location"]
        status, html, _ = await fetch(f"{base}/baocao/{world.ids[SUBMITTED]}")
        assert status == 403 and SUBMITTED not in html
        # Staff who lead nothing get no link.
        text = await site.user("hoa").command("tonghop")
        assert "dành cho cán bộ đơn vị cấp trên" in text and "http" not in text


async def test_a_unit_without_a_report_yet_says_so(world: World, tmp_path: Path) -> None:
    async with serve_pages(world, tmp_path) as site:
        base = (await site.link_of("sup")).split("?")[0]
        status, html, _ = await fetch(f"{base}/baocao/{world.ids[DRAFT]}?nam=2023")
        assert status == 404 and "Chưa có báo cáo" in html


async def test_without_a_public_address_tonghop_says_so_plainly(
    world: World, tmp_path: Path
) -> None:
    from dataclasses import replace

    async with serve_pages(world, tmp_path) as site:
        site.engine.settings = replace(site.engine.settings, page_links=None)
        text = await site.user("sup").command("tonghop 2023")
        assert "chưa có địa chỉ công khai" in text and "DVHT_PUBLIC_URL" in text
        assert "http" not in text


async def test_more_page_requests_than_the_worker_takes_are_told_it_is_busy(
    world: World, tmp_path: Path
) -> None:
    async with serve_pages(world, tmp_path, in_flight=0) as site:
        status, html, response = await fetch(await site.link_of("sup"))
        assert status == 503 and "Trang đang bận" in html
        assert response.headers["Retry-After"] == "2"


def test_a_page_token_says_what_it_is() -> None:
    now = [1_000_000.0]
    links = PageLinks("s", "https://dvht.example", hours=2, now=lambda: now[0])
    url, until = links.link(7, 3, True, 2024)
    assert url.startswith("https://dvht.example/tonghop/") and url.endswith("?nam=2024")
    assert until == datetime.fromtimestamp(1_000_000 + 7200, UTC)
    token = url.split("/tonghop/")[1].split("?")[0]
    assert links.check(token).scope == Scope(7, 3, True)
    now[0] += 7201
    assert links.check(token).verdict is Verdict.EXPIRED
    assert links.check(token + "x").verdict is Verdict.FORGED
    assert links.check("").verdict is Verdict.FORGED


def scope(world: World, person: str, unit: str) -> Scope:
    return Scope(world.ids[person], world.ids[unit], True)


async def test_recognition_results_show_the_level_and_the_unmet_chi_tieu(
    world: World, tmp_path: Path
) -> None:
    """Thông tư 24/2023 (2024): recognised at mức độ 1, or not, with the chỉ tiêu not met."""
    from datetime import date

    from tests.test_engine_levels import LEVEL1

    async with serve_pages(world, tmp_path) as site:
        async with site.repository.transaction() as tx:
            for name, answers in (("Trường A", LEVEL1), ("Trường B", LEVEL1 | {"2.1": "10/20"})):
                unit = await tx.create_unit(name, "co-quan", "cap-huyen")
                await tx.update_unit(unit.id, {"supervisor_id": world.ids[SO_A]})
                assessment = await tx.create_assessment(unit.id, "tt24-2023-cap-huyen", 2024)
                for code, value in answers.items():
                    await tx.put_answer(assessment.id, code, str(value), world.ids["sup"])
                await tx.record_submission(assessment.id, world.ids["sup"], date(2024, 12, 20), 1)
        link = (await site.link_of("sup")).replace("nam=2023", "nam=2024")
        _, html, _ = await fetch(f"{link}&trangthai=submitted")
        assert unit_names(html) == ["Trường A", "Trường B"]
        assert "13/13 chỉ tiêu đạt — <strong>Đạt mức độ 1</strong>" in html
        assert "12/13 chỉ tiêu đạt — <strong>Chưa đạt</strong>" in html
        assert re.search(r'<td data-label="Chỉ tiêu chưa đạt">2\.1</td>', html)
        assert re.search(r'data-result="Đạt mức độ 1" data-count="1"', html)
        assert re.search(r'data-result="Chưa đạt" data-count="1"', html)
        assert "hạn nộp 14/01/2025" in html


async def test_the_service_serves_the_page_on_its_public_endpoint(
    world: World, tmp_path: Path
) -> None:
    """`python -m bot` as configured (Zalo, a public URL): the page's routes on the same port
    as the webhook, its worker a process of its own, links signed with DVHT_LINK_SECRET."""
    import shutil
    import socket

    from bot.config import Config
    from bot.service import serve
    from tests.fake_zalo import TOKEN, FakeZaloApi

    shutil.copyfile(world.db, tmp_path / "db.sqlite3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    api = FakeZaloApi()
    await api.start()
    config = Config(
        db_path=tmp_path / "db.sqlite3", data_dir=tmp_path, zalo_token=TOKEN,
        zalo_api_base_url=api.base_url, public_url="https://dvht.example.vn",
        http_host="127.0.0.1", http_port=port, link_secret="link-secret-for-tests-0042",
    )  # fmt: skip
    stop = asyncio.Event()
    service = asyncio.create_task(serve(config, stop))
    local = f"http://127.0.0.1:{port}"
    token = PageLinks(config.link_secret or "", "").sign(scope(world, "sup", SO_A), 2**31)
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    status, html, _ = await fetch(
                        f"{local}/tonghop/{token}?nam=2023&trangthai=approved"
                    )
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        assert status == 200 and APPROVED in html and SO_A in html
        status, _, response = await fetch(f"{local}/tonghop/{token}/tonghop.xlsx", False)
        assert status == 303
        assert response.headers["Location"].startswith("https://dvht.example.vn/r/")
        assert (await fetch(f"{local}/tonghop/{token[:-3]}abc"))[0] == 403
    finally:
        stop.set()
        await service
        await api.stop()
