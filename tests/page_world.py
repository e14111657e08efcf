"""A province for the supervising level's page, built through the chat once per test session.

Sở A supervises four units: one approved (93/100, Tốt), one submitted (75/100, Khá), one part
way (3 answers) and one not started, plus 60 more units written straight to the store (not
started) so that the table has two pages. Sở B supervises one unit of its own. Each test copies
the database file and serves the page over it with `serve_pages`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from bot.page_links import PageLinks
from bot.report_links import ROUTE as REPORT_ROUTE
from bot.report_links import ReportLinks
from bot.web import WebServer
from bot.webpage import PageServer
from conversations.engine import Engine
from conversations.settings import Settings
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser
from tests.test_engine import CO_QUAN, SEED_002, answer_all

TODAY = date(2024, 2, 1)  # the working year is 2023 (Thông tư 22/2020, due 31/03/2024)
NOW = datetime(2024, 2, 1, 3, 0, tzinfo=UTC)
SO_A = "Sở Giáo dục và Đào tạo tỉnh Kon Tum"
SO_B = "Sở Giáo dục và Đào tạo tỉnh Gia Lai"
APPROVED = "Trường Tiểu học Đắk Ruồng"
SUBMITTED = "Trường Mầm non Tân Lập"
DRAFT = "UBND xã Ngọk Bay"
NOT_STARTED = "Trường THCS Lê Lợi"
OTHER_SO = "Trường Tiểu học Ia Kha"
EXTRA = 60  # more units under Sở A, not started ("Đơn vị số 01" …)
KHA = {**SEED_002, "1a": 0, "1b": 2}  # 75/100
PEOPLE = (("admin", "Quản trị"), ("sup", "Chị Sáu"), ("sup2", "Anh Bảy"), ("lan", "Cô Lan"),
          ("minh", "Thầy Minh"), ("hoa", "Cô Hoa"), ("kim", "Chị Kim"), ("long", "Anh Long"),
          ("ha", "Cô Hà"))  # fmt: skip


def settings_in(folder: Path) -> Settings:
    return Settings(reports_dir=folder / "reports", admins=frozenset({"test:admin"}))


def code_in(text: str) -> str:
    match = re.search(r": ([A-Z2-9]{8}) \(dùng được", text)
    assert match, text
    return match.group(1)


async def register_under(user: ChatUser, code: str, name: str) -> None:
    await user.command(f"start {code}")
    await user.say(name)
    await user.press(CO_QUAN)
    await user.press("Cấp xã")
    await user.press("Để sau")


async def submit(user: ChatUser, answers: dict[str, int]) -> None:
    await user.command("danhgia")
    await answer_all(user, answers)
    while "Dùng bản nháp này" in [c.label for c in user.question.choices]:
        await user.press("Dùng bản nháp này")
    assert "đã nộp kết quả" in await user.press("Nộp kết quả")


@dataclass
class World:
    db: Path
    ids: dict[str, int] = field(default_factory=dict)


async def build(folder: Path) -> World:
    world = World(folder / "world.sqlite3")
    repository = await SqliteRepository.open(world.db)
    engine = Engine(repository, settings_in(folder), today=lambda: TODAY)
    people = {uid: ChatUser(engine, uid, name) for uid, name in PEOPLE}
    admin, sup, sup2, lan, minh, hoa, kim, long, ha = people.values()
    await sup.command(f"start {code_in(await admin.command(f'taocaptren {SO_A}'))}")
    await sup2.command(f"start {code_in(await admin.command(f'taocaptren {SO_B}'))}")
    for user, name in ((lan, APPROVED), (hoa, SUBMITTED), (kim, DRAFT), (long, NOT_STARTED)):
        await register_under(user, code_in(await sup.command("moi donvi")), name)
    await register_under(ha, code_in(await sup2.command("moi donvi")), OTHER_SO)
    await minh.command(f"start {code_in(await lan.command('moi lanhdao'))}")
    await submit(lan, SEED_002)
    await minh.command("duyet")
    assert "Đã duyệt" in await minh.press("✅ Duyệt")
    await submit(hoa, KHA)
    await kim.command("danhgia")
    await answer_all(kim, {code: SEED_002[code] for code in ("1a", "1b", "1c")})
    async with repository.transaction() as tx:
        units = {u.name: u.id for u in await tx.units()}
        for n in range(1, EXTRA + 1):
            unit = await tx.create_unit(f"Đơn vị số {n:02d}", "co-quan", "cap-huyen")
            await tx.update_unit(unit.id, {"supervisor_id": units[SO_A]})
        for uid, name in PEOPLE:
            world.ids[uid] = (await tx.upsert_person("test", uid, name)).id
    world.ids |= {name: unit_id for name, unit_id in units.items()}
    await repository.close()
    return world


@dataclass
class Site:
    """The page served over a copy of the world: its address, its links, the engine."""

    base: str
    links: PageLinks
    engine: Engine
    repository: SqliteRepository
    world: World
    folder: Path
    pages: PageServer

    def user(self, uid: str) -> ChatUser:
        return ChatUser(self.engine, uid, dict(PEOPLE)[uid])

    async def link_of(self, uid: str) -> str:
        """The page link /tonghop gives `uid`, read from the reply as a person reads it."""
        text = await self.user(uid).command("tonghop 2023")
        match = re.search(r"(http://127\.0\.0\.1:\d+/tonghop/\S+)", text)
        assert match, text
        return match.group(1)


@asynccontextmanager
async def serve_pages(world: World, folder: Path, in_flight: int = 4) -> AsyncIterator[Site]:
    """The page of a copy of `world` on a loopback port (its worker a thread), with an engine
    whose /tonghop gives links to it."""
    db = folder / "db.sqlite3"
    shutil.copyfile(world.db, db)
    repository = await SqliteRepository.open(db)
    secret = "page-secret-for-tests"
    links = PageLinks(secret, "")
    reports = ReportLinks(secret, folder / "links", "")
    settings = replace(settings_in(folder), page_links=links)
    server = WebServer("127.0.0.1", 0)
    pages = PageServer(
        repository.url,
        settings,
        links,
        reports,
        ThreadPoolExecutor(1),
        in_flight=in_flight,
        clock=lambda: NOW,
    )
    server.add_get(REPORT_ROUTE, reports.handle)
    pages.add_to(server)
    await server.start()
    base = f"http://127.0.0.1:{server.bound_port}"
    links.public_url = reports.public_url = base
    engine = Engine(repository, settings, today=lambda: TODAY)
    try:
        yield Site(base, links, engine, repository, world, folder, pages)
    finally:
        await server.stop()
        pages.close()
        await repository.close()
