"""Jobs after the commit, and several processes on one database (a SQLite file, or PostgreSQL:
the tests that take `backend` run on both).

A turn queues its heavy work (the report, the workbook, the reminder pass) as a job; a worker
runs it after the commit and its result reaches people through the outbox. These tests kill the
worker in the middle of a job, and run two processes on one file, as people really do.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.jobs import JobWorker
from bot.outbox import OutboxWorker
from conversations.engine import Engine
from conversations.events import Reply, replies_to_json
from conversations.jobs import Recipient, queue_report
from conversations.settings import Settings
from storage import open_repository
from storage.base import ChannelHeld
from storage.postgres import is_postgres
from storage.sqlite import SqliteRepository
from tests.chat_driver import ChatUser, register_unit, run_jobs, settle
from tests.test_engine import CO_QUAN, SEED_002, answer_all
from tests.test_leaders import code_in

ROOT = Path(__file__).resolve().parents[1]


async def _rows(where: Path | str, sql: str) -> list[tuple[object, ...]]:
    """Rows read on a connection of their own (the SQLite file or the PostgreSQL database)."""
    if is_postgres(str(where)):
        import asyncpg

        conn = await asyncpg.connect(str(where))
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    with closing(sqlite3.connect(where)) as conn:
        return conn.execute(sql).fetchall()


async def _submitted(path: Path | str, reports: Path) -> int:
    """A unit that has submitted its TT 22 assessment through the chat; its report job queued."""
    repository = await open_repository(str(path))
    engine = Engine(repository, Settings(reports_dir=reports), today=lambda: date(2024, 2, 1))
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Trường Tiểu học Hòa Bình", CO_QUAN)
    await lan.command("danhgia 2023")
    await answer_all(lan, SEED_002)
    while "Dùng bản nháp này" in [c.label for c in lan.question.choices]:
        await lan.press("Dùng bản nháp này")
    text = await lan.press("Nộp kết quả")
    assert "đang được soạn" in text  # told at once; the file follows
    await repository.close()
    [(job_id,)] = await _rows(path, "SELECT id FROM jobs WHERE kind = 'report'")
    return int(job_id)


DIES_MID_RENDER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from concurrent.futures import ThreadPoolExecutor
    from bot.jobs import JobWorker
    from conversations.settings import Settings
    from storage import open_repository

    def write_and_die(path, save):
        path.write_bytes(b"half a document")
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of writing the report

    import conversations.reporting
    conversations.reporting.write_whole = write_and_die

    async def main():
        repository = await open_repository(sys.argv[1])
        await repository.hold_channels(["test"])
        settings = Settings(reports_dir=__import__("pathlib").Path(sys.argv[2]))
        with ThreadPoolExecutor(max_workers=1) as executor:
            await JobWorker(repository, settings, ["test"], executor).drain()

    asyncio.run(main())
    """
)


async def test_a_worker_killed_mid_render_runs_the_job_again_and_one_report_is_sent(
    tmp_path: Path, backend: str
) -> None:
    path, reports = backend, tmp_path / "reports"
    job_id = await _submitted(path, reports)
    died = subprocess.run(
        [sys.executable, "-c", DIES_MID_RENDER, str(path), str(reports)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert died.returncode == -9, died.stderr.decode()
    jobs = f"SELECT state, attempts FROM jobs WHERE id = {job_id}"
    assert await _rows(path, jobs) == [("running", 1)]
    assert await _rows(path, "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%.docx%'") == [(0,)]

    # The next process to take the channel takes the job back at once and finishes it.
    repository = await open_repository(path)
    await repository.hold_channels(["test"])  # the dead process's lock went with it
    settings = Settings(reports_dir=reports)
    with ThreadPoolExecutor(max_workers=1) as executor:
        worker = JobWorker(repository, settings, ["test"], executor)
        assert await worker.start() == 1
        assert await worker.drain() == 1
        assert await worker.drain() == 0
    await repository.close()
    assert await _rows(path, jobs) == [("done", 2)]
    sent = await _rows(path, "SELECT chat_id FROM outbox WHERE payload LIKE '%.docx%'")
    assert sent == [("lan",)]  # one report, to the submitter (the unit has no leader yet)
    import docx

    [report] = reports.glob("*.docx")
    body = "\n".join(p.text for p in docx.Document(str(report)).paragraphs)
    assert "Xếp loại: Tốt" in body  # the whole document, not the half one


async def test_a_job_that_keeps_failing_tells_the_person_and_stops(
    tmp_path: Path, backend: str
) -> None:
    repository = await open_repository(backend)
    to = Recipient(None, "test", "lan")
    async with repository.transaction() as tx:
        await queue_report(tx, 999, [to], "test")  # no such assessment: every run fails
    clock = [datetime.now(UTC)]
    with ThreadPoolExecutor(max_workers=1) as executor:
        settings = Settings(reports_dir=tmp_path)
        worker = JobWorker(repository, settings, ["test"], executor, clock=lambda: clock[0])
        runs = 0
        for _ in range(20):
            runs += await worker.drain()
            clock[0] += timedelta(hours=1)
    async with repository.transaction() as tx:
        due = await tx.due_messages(clock[0], ["test"])
    await repository.close()
    assert runs == 5
    [message] = due
    assert "chưa soạn được báo cáo" in message.payload["replies"][0]["text"]


async def test_a_second_process_on_a_running_channel_is_refused_with_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    repository = await SqliteRepository.open(path)
    await repository.hold_channels(["telegram"])  # "the first process"
    try:
        line = _start_on({"DVHT_DB_PATH": str(path)}, tmp_path)
    finally:
        await repository.close()
    assert line.startswith("Kênh telegram đang được một tiến trình khác")
    other = await SqliteRepository.open(path)  # once the first is gone, the channel is free
    await other.hold_channels(["telegram"])
    with pytest.raises(ChannelHeld):
        third = await SqliteRepository.open(path)
        try:
            await third.hold_channels(["zalo", "telegram"])
        finally:
            await third.close()
    await other.close()


class Recorded:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[str] = []

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        self.sent += [chat_id for _ in replies]


async def test_two_processes_deliver_each_their_own_channel_every_message_once(
    backend: str,
) -> None:
    """Telegram and Zalo started separately on one database: each outbox worker takes only its
    own channel's rows, so all 16 leader messages go out at once, each exactly once."""
    path = backend
    telegram_process = await open_repository(path)
    zalo_process = await open_repository(path)
    await telegram_process.hold_channels(["telegram"])
    await zalo_process.hold_channels(["zalo"])
    async with telegram_process.transaction() as tx:
        for n in range(16):
            channel = ("telegram", "zalo")[n % 2]
            payload = replies_to_json([Reply(f"tin {n}")])
            await tx.enqueue(None, channel, f"{channel}-{n}", payload)
    telegram, zalo = Recorded("telegram"), Recorded("zalo")
    workers = [
        OutboxWorker(telegram_process, {"telegram": telegram}),
        OutboxWorker(zalo_process, {"zalo": zalo}),
    ]
    for _ in range(3):
        await asyncio.gather(*(worker.run_once() for worker in workers))
    await telegram_process.close()
    await zalo_process.close()
    assert sorted(telegram.sent) == sorted(f"telegram-{n}" for n in range(0, 16, 2))
    assert sorted(zalo.sent) == sorted(f"zalo-{n}" for n in range(1, 16, 2))
    unsent = "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL OR attempts > 0"
    assert await _rows(path, unsent) == [(0,)]


async def test_the_overview_is_a_job_and_the_turn_only_queues_it(
    tmp_path: Path, backend: str
) -> None:
    """/tonghop answers at once and reads no unit; the workbook follows from the job."""
    repository = await open_repository(backend)
    settings = Settings(reports_dir=tmp_path / "reports", admins=frozenset({"test:admin"}))
    engine = Engine(repository, settings, today=lambda: date(2024, 2, 1))
    admin, sup = ChatUser(engine, "admin"), ChatUser(engine, "sup")
    text = await admin.command("taocaptren Sở Giáo dục và Đào tạo tỉnh Kon Tum")
    await sup.command(f"start {code_in(text)}")
    assert "cán bộ cấp trên" in sup.text
    text = await sup.command("tonghop 2023")
    assert "Đang tổng hợp năm 2023" in text
    assert await _rows(backend, "SELECT kind, state FROM jobs") == [("overview", "pending")]
    assert await run_jobs(engine) == 1
    await repository.close()


async def test_the_reminder_pass_is_a_job_replayed_in_short_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """The pass reads every unit in the job's process and its writes come back in steps of a
    few units (one here), each unit whole; a pass the next hour reminds nobody again."""
    from conversations import background
    from conversations.jobs import queue_reminders

    monkeypatch.setattr(background, "WRITES_PER_STEP", 1)
    repository = await open_repository(backend)
    engine = Engine(repository, Settings(reports_dir=tmp_path / "reports"))
    for n in range(3):
        await register_unit(ChatUser(engine, f"u{n}", f"Người {n}"), f"Trường số {n}", CO_QUAN)
    later = datetime.now(UTC) + timedelta(days=8)  # a week after the units registered
    async with repository.transaction() as tx:
        await queue_reminders(tx, later, 60)
        await queue_reminders(tx, later, 60)  # a second process asking in the same hour
    assert await run_jobs(engine) == 1
    async with repository.transaction() as tx:
        await queue_reminders(tx, later + timedelta(hours=1), 60)
    assert await run_jobs(engine) == 1
    delivered = await settle(engine)
    await repository.close()
    reminded = {chat: [r.text for r in replies] for chat, replies in delivered.items()}
    assert sorted(reminded) == ["u0", "u1", "u2"]
    for chat, texts in reminded.items():
        assert len(texts) == 1 and "chưa bắt đầu tự đánh giá" in texts[0], (chat, texts)
    rows = await _rows(backend, "SELECT COUNT(*) FROM events WHERE kind = 'reminder.sent'")
    assert rows == [(3,)]


def test_a_read_only_data_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        env = {**os.environ, "DVHT_DATA_DIR": str(folder), "TELEGRAM_BOT_TOKEN": "1:never-shown"}
        env["TELEGRAM_API_BASE_URL"] = "http://127.0.0.1:9"
        for command in (["telegram"], ["console"]):
            run = subprocess.run(
                [sys.executable, "-m", "bot", *command],
                cwd=ROOT,
                env=env,
                input="",
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert run.returncode == 2, (command, run.stderr)
            [line] = run.stderr.strip().splitlines()
            assert line.startswith("Không mở hoặc không ghi được cơ sở dữ liệu"), line
            assert "never-shown" not in run.stderr
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_a_failed_turn_in_the_batch_of_a_sent_mark_does_not_send_it_twice(
    tmp_path: Path,
) -> None:
    """The outbox marks a row sent in a transaction that may share its commit with a turn that
    fails: the mark is then run again, never lost (a lost mark would send the message twice)."""
    repository = await SqliteRepository.open(tmp_path / "db.sqlite3")
    async with repository.transaction() as tx:
        person = await tx.upsert_person("telegram", "lan", "Lan")
        await tx.enqueue(person.id, "telegram", "lan", replies_to_json([Reply("xin chào")]))
    sent: list[str] = []
    background: list[asyncio.Task[None]] = []

    async def slow_turn() -> None:
        async with repository.transaction() as tx:
            await tx.upsert_person("telegram", "x", "X")
            await asyncio.sleep(0.05)  # holds the connection while the mark queues behind

    async def failing_turn() -> None:
        await asyncio.sleep(0.01)
        async with repository.transaction() as tx:
            await tx.upsert_person("telegram", "y", "Y")
            raise RuntimeError("a bug in a handler")

    class Channel:
        name = "telegram"

        async def send(self, chat_id: str, replies: list[Reply]) -> None:
            sent.append(chat_id)
            if len(sent) == 1:
                background.append(asyncio.create_task(slow_turn()))
                await asyncio.sleep(0)
                background.append(asyncio.create_task(failing_turn()))

    worker = OutboxWorker(repository, {"telegram": Channel()})
    assert await worker.run_once() == 1
    await asyncio.gather(*background, return_exceptions=True)
    assert await worker.run_once() == 0
    await repository.close()
    assert sent == ["lan"]


async def test_a_job_process_that_dies_is_replaced_and_later_jobs_run(
    tmp_path: Path, backend: str
) -> None:
    """kill -9 of the job process itself: that run fails (and is tried again), a new process
    is started, and the next jobs are done; nobody is told the jobs failed."""
    import multiprocessing
    import signal

    from bot.jobs import process_executor

    path = backend
    await _submitted(path, tmp_path / "reports")
    repository = await open_repository(path)
    settings = Settings(reports_dir=tmp_path / "reports")
    clock = [datetime.now(UTC)]
    worker = JobWorker(
        repository,
        settings,
        ["test"],
        process_executor(),
        clock=lambda: clock[0],
        new_executor=process_executor,
    )
    try:
        worker.executor.submit(int).result(timeout=60)  # the process is up
        for child in multiprocessing.active_children():
            os.kill(child.pid or 0, signal.SIGKILL)
        assert await worker.drain() == 1  # the report job: its run fails on the dead process
        clock[0] += timedelta(minutes=5)  # its retry is due
        assert await worker.drain() == 1
    finally:
        worker.executor.shutdown(wait=True)
    await repository.close()
    assert await _rows(path, "SELECT state, attempts FROM jobs") == [("done", 2)]
    docx = "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%.docx%'"
    assert await _rows(path, docx) == [(1,)]
    sorry = "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%Rất tiếc%'"
    assert await _rows(path, sorry) == [(0,)]


async def test_on_postgres_a_second_poller_is_refused_and_webhook_workers_share(
    pg_url: str, tmp_path: Path
) -> None:
    """A poller holds its channel alone: a second `python -m bot telegram` on the same database
    says so in one line. Webhook workers share the channel, and a poller beside them is refused
    too; once the holders are gone, the channel is free again (PostgreSQL drops the lock with
    the connection)."""
    first = await open_repository(pg_url)
    await first.hold_channels(["telegram"])  # a poller
    try:
        line = _start_on({"DVHT_DB_URL": pg_url}, tmp_path)
    finally:
        await first.close()
    assert line.startswith("Kênh telegram đang được một tiến trình khác")

    workers = [await open_repository(pg_url) for _ in range(2)]
    for worker in workers:
        await worker.hold_channels(["telegram"], shared=True)
    poller = await open_repository(pg_url)
    try:
        with pytest.raises(ChannelHeld):
            await poller.hold_channels(["telegram"])
        for worker in workers:
            await worker.close()
        await poller.hold_channels(["telegram"])  # the workers are gone: free
    finally:
        await poller.close()


def _start_on(db: dict[str, str], tmp_path: Path) -> str:
    """`python -m bot telegram` on the store `db` names (DVHT_DB_PATH or DVHT_DB_URL):
    refused (exit 2) in one line that shows neither a password nor the token; that line."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token-never-printed",
        **db,
        "DVHT_DATA_DIR": str(tmp_path),
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot", "telegram"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert "very-secret-pw" not in run.stderr and "TEST-token" not in run.stderr
    return line


def test_an_unreachable_postgres_is_one_line_without_its_password(tmp_path: Path) -> None:
    line = _start_on({"DVHT_DB_URL": "postgresql://dvht:very-secret-pw@127.0.0.1:9/dvht"}, tmp_path)
    assert line.startswith("Không kết nối được cơ sở dữ liệu PostgreSQL"), line


def test_a_malformed_postgres_address_is_one_line_without_its_password(tmp_path: Path) -> None:
    """A DVHT_DB_URL that urlsplit cannot parse (an unclosed [ of an IPv6 host) is refused in
    one line, not with a traceback at the logging filter's set-up."""
    line = _start_on({"DVHT_DB_URL": "postgresql://dvht:very-secret-pw@[::1/dvht"}, tmp_path)
    assert "DVHT_DB_URL" in line, line
