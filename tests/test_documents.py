"""Generated documents kept in the store, so any worker sends or serves them (both backends).

A report rendered by one worker's job process is copied into the store with its id in the
outbox row; the worker that delivers the row, or answers the download link, may be another one
on another machine, where the rendered file does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from bot.outbox import OutboxWorker
from bot.report_links import ROUTE, ReportLinks
from bot.service import stored_document
from bot.web import WebServer
from conversations.engine import Engine
from conversations.events import OutgoingFile, Reply, replies_from_json, replies_to_json
from conversations.settings import Settings
from storage import open_repository
from storage.base import Repository
from tests.chat_driver import run_jobs
from tests.test_jobs import _submitted

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
async def repo(backend: str) -> AsyncIterator[Repository]:
    repository = await open_repository(backend)
    yield repository
    await repository.close()


async def test_a_document_is_kept_whole_under_a_random_id(repo: Repository) -> None:
    data = bytes(range(256)) * 1000  # every byte value, NUL included
    async with repo.transaction() as tx:
        first = await tx.put_document("Báo cáo 2023.docx", data)
        second = await tx.put_document("Báo cáo 2023.docx", b"")
    async with repo.snapshot() as tx:
        stored = await tx.get_document(first)
        empty = await tx.get_document(second)
        assert await tx.get_document("no-such-document-id-at-all") is None
    assert first != second and len(first) >= 32  # not a counter: a link's key
    assert stored is not None and (stored.name, stored.data) == ("Báo cáo 2023.docx", data)
    assert stored.created_at is not None and stored.created_at.tzinfo is not None
    assert empty is not None and empty.data == b""


async def test_the_report_job_keeps_its_docx_in_the_store(backend: str, tmp_path: Path) -> None:
    await _submitted(backend, tmp_path / "reports")
    repository = await open_repository(backend)
    try:
        engine = Engine(repository, Settings(reports_dir=tmp_path / "reports"))
        assert await run_jobs(engine) == 1
        async with repository.snapshot() as tx:
            due = await tx.due_messages(_later(), ["test"], limit=100)
            [file] = [f for m in due for r in replies_from_json(m.payload) for f in r.files]
            assert file.document is not None
            stored = await tx.get_document(file.document)
    finally:
        await repository.close()
    assert stored is not None and stored.name == file.name
    assert stored.data == file.path.read_bytes() and stored.data[:2] == b"PK"  # a .docx (zip)


class Kept:
    name = "test"

    def __init__(self) -> None:
        self.files: list[tuple[str, bytes]] = []

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        self.files += [(f.name, f.path.read_bytes()) for r in replies for f in r.files]


async def test_a_file_rendered_on_another_machine_is_sent_from_the_store(
    repo: Repository, tmp_path: Path
) -> None:
    async with repo.transaction() as tx:
        document = await tx.put_document("Báo cáo.docx", b"PK the report")
        elsewhere = OutgoingFile(Path("/nonexistent/other-machine/bao-cao.docx"), "Báo cáo.docx")
        file = OutgoingFile(elsewhere.path, elsewhere.name, "Báo cáo năm 2023", document)
        await tx.enqueue(None, "test", "lan", replies_to_json([Reply("", files=(file,))]))
    channel = Kept()
    worker = OutboxWorker(repo, {"test": channel}, documents_dir=tmp_path / "documents")
    assert await worker.run_once() == 1
    assert channel.files == [("Báo cáo.docx", b"PK the report")]


async def test_a_report_link_is_served_from_the_store_by_any_worker(
    repo: Repository, tmp_path: Path
) -> None:
    """The worker that made the link and the one that serves it share only the store and the
    secret: no links folder, no file on disk."""
    async with repo.transaction() as tx:
        document = await tx.put_document("Báo cáo Trường Hòa Bình.docx", b"PK the report")
    maker = ReportLinks("shared-secret", tmp_path / "a" / "links", "https://dvht.example")
    maker.documents = partial(stored_document, repo)
    url = maker.create(Path("/nonexistent/a.docx"), "Báo cáo Trường Hòa Bình.docx", document)
    assert not (tmp_path / "a").exists()

    server = WebServer("127.0.0.1", 0)
    other = ReportLinks("shared-secret", tmp_path / "b" / "links", "https://dvht.example")
    other.documents = partial(stored_document, repo)
    server.add_get(ROUTE, other.handle)
    await server.start()
    try:
        local = url.replace("https://dvht.example", f"http://127.0.0.1:{server.bound_port}")
        async with aiohttp.ClientSession() as http:
            async with http.get(local) as response:
                assert response.status == 200
                assert await response.read() == b"PK the report"
                assert response.headers["Content-Type"] == DOCX
                assert "filename*=UTF-8''B%C3%A1o" in response.headers["Content-Disposition"]
            forged = local[:-3] + ("AAA" if not local.endswith("AAA") else "BBB")
            async with http.get(forged) as response:
                assert response.status == 403
            unknown = other.sign("x" * 32, 2**40)
            async with http.get(f"http://127.0.0.1:{server.bound_port}/r/{unknown}") as response:
                assert response.status == 404
    finally:
        await server.stop()


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)
