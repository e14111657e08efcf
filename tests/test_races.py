"""Two worker processes on one PostgreSQL database, racing as people really do.

Each worker is a real process (`tests.race_worker`: the engine, as a channel adapter drives it)
on the same database; the events of the test are handed to one or the other, at once. What
must hold is what one process on SQLite gives: a single-use code joins one person, a submission
gets one decision, a person's answers are stored in the order sent with none lost, a worker
killed in the middle of a turn leaves nothing half-applied, and an outbox message is sent once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from conversations.engine import Engine
from conversations.events import Reply, replies_to_json
from conversations.settings import Settings
from storage import open_repository
from storage.base import Repository
from tests.chat_driver import ChatUser, register_unit
from tests.race_worker import TODAY
from tests.test_engine import CO_QUAN, SEED_002
from tests.test_leaders import code_in

ROOT = Path(__file__).resolve().parents[1]
INTERNAL_ERROR = "Đã xảy ra lỗi khi xử lý tin nhắn này"


class Worker:
    """One `tests.race_worker` process: events in on its stdin, what it says on its stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.said: dict[tuple[int, str], asyncio.Future[Any]] = {}
        self.reader = asyncio.create_task(self._read())

    def _future(self, key: tuple[int, str]) -> asyncio.Future[Any]:
        return self.said.setdefault(key, asyncio.get_running_loop().create_future())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            kind = "locking" if "locking" in message else "texts"
            future = self._future((message["id"], kind))
            if not future.done():
                future.set_result(message.get("texts"))

    def send(self, event: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(event, ensure_ascii=False) + "\n").encode())

    async def locking(self, event_id: int) -> None:
        await asyncio.wait_for(self._future((event_id, "locking")), 60)

    async def replies(self, event_id: int) -> list[str]:
        texts: list[str] = await asyncio.wait_for(self._future((event_id, "texts")), 120)
        return texts

    async def stop(self) -> None:
        if self.process.returncode is None and self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self.reader


async def _start(url: str, reports: Path, *mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.race_worker",
        url,
        str(reports),
        *mode,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def repo(pg_url: str) -> AsyncIterator[Repository]:
    repository = await open_repository(pg_url)
    yield repository
    await repository.close()


@pytest.fixture
def engine(repo: Repository, tmp_path: Path) -> Engine:
    """The test's own engine on the same database, to set the scene before the race."""
    settings = Settings(reports_dir=tmp_path / "reports", admins=frozenset({"test:admin"}))
    return Engine(repo, settings, today=lambda: TODAY)


@pytest.fixture
async def workers(pg_url: str, tmp_path: Path, repo: Repository) -> AsyncIterator[list[Worker]]:
    pair = [Worker(await _start(pg_url, tmp_path / "reports")) for _ in range(2)]
    yield pair
    for worker in pair:
        await worker.stop()


def _event(n: int, user: str, payload: str, kind: str = "text", **more: Any) -> dict[str, Any]:
    return {"id": n, "user": user, "kind": kind, "payload": payload, "update": f"u{n}", **more}


async def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_fifty_people_using_one_single_use_leader_code_at_once_one_joins(
    engine: Engine, workers: list[Worker], pg_url: str
) -> None:
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Trường Tiểu học Đắk Ruồng", CO_QUAN)
    code = code_in(await lan.command("moi lanhdao"))

    events = [_event(n, f"p{n}", f"start {code}", "command") for n in range(50)]
    for event in events:  # all at once, half to each worker
        workers[event["id"] % 2].send(event)
    texts = [" ".join(await workers[n % 2].replies(n)) for n in range(50)]

    joined = [t for t in texts if "Bạn đã tham gia đơn vị" in t]
    refused = [t for t in texts if "Mã mời không đúng, đã hết hạn hoặc đã bị thu hồi" in t]
    assert len(joined) == 1 and "lãnh đạo" in joined[0]
    assert len(refused) == 49
    assert not [t for t in texts if INTERNAL_ERROR in t]
    leaders = await _rows(
        pg_url,
        "SELECT p.channel_user_id FROM memberships m JOIN people p ON p.id = m.person_id"
        " WHERE m.role = 'leader'",
    )
    assert len(leaders) == 1
    [(joins,)] = await _rows(pg_url, "SELECT count(*) FROM events WHERE kind = 'unit.joined'")
    assert joins == 1


async def _submitted_with_two_leaders(engine: Engine) -> tuple[int, str]:
    """A unit whose staff member has submitted, with two leaders; the submission's id and the
    version its buttons carry."""
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Trường Tiểu học Hòa Bình", CO_QUAN)
    inviter = lan
    for leader in ("minh", "hung"):  # staff invites the first leader, a leader the next
        code = code_in(await inviter.command("moi lanhdao"))
        inviter = ChatUser(engine, leader, leader.title())
        assert "lãnh đạo" in await inviter.command(f"start {code}")
    await lan.command("danhgia 2023")
    from tests.test_engine import answer_all

    await answer_all(lan, SEED_002)
    while "Dùng bản nháp này" in [c.label for c in lan.question.choices]:
        await lan.press("Dùng bản nháp này")
    await lan.press("Nộp kết quả")
    async with engine.repository.transaction() as tx:
        [membership] = await tx.memberships((await tx.upsert_person("test", "lan", "Lan")).id)
        pending = await tx.assessments_with_status([membership.unit_id], "submitted")
    [assessment] = pending
    assert assessment.submitted_at is not None
    return assessment.id, str(int(assessment.submitted_at.timestamp() * 1_000_000))


async def test_two_leaders_approving_and_returning_one_submission_at_once_one_decides(
    engine: Engine, workers: list[Worker], pg_url: str
) -> None:
    assessment_id, version = await _submitted_with_two_leaders(engine)
    hung = ChatUser(engine, "hung", "Hung")
    await hung.command(f"tralai {assessment_id} {version}")
    assert "Góp ý để cán bộ sửa báo cáo" in hung.text  # the comment is the deciding turn

    approve = _event(1, "minh", f"!pheduyet {assessment_id} {version}", "choice")
    comment = _event(2, "hung", "Cần bổ sung minh chứng cho tiêu chí 2.")
    workers[0].send(approve)
    workers[1].send(comment)
    approved, returned = (
        " ".join(await workers[0].replies(1)),
        " ".join(await workers[1].replies(2)),
    )

    decided = ["Đã duyệt báo cáo" in approved, "Đã trả lại báo cáo" in returned]
    assert decided.count(True) == 1, (approved, returned)
    loser = returned if decided[0] else approved
    assert "không chờ bạn duyệt" in loser, loser
    [(status,)] = await _rows(pg_url, f"SELECT status FROM assessments WHERE id = {assessment_id}")
    assert status == ("approved" if decided[0] else "returned")
    [(decisions,)] = await _rows(
        pg_url,
        "SELECT count(*) FROM events WHERE kind IN ('assessment.approved', 'assessment.returned')",
    )
    assert decisions == 1


async def test_one_persons_twenty_rapid_answers_on_two_workers_are_stored_in_order(
    engine: Engine, workers: list[Worker], pg_url: str
) -> None:
    """Ten questions, each a score then "xong" (20 messages): a score handled after its "xong"
    would land on the next question, so any reordering or loss shows in the stored answers.
    Each message goes to the other worker as soon as the previous one holds the chat's lock,
    so each turn waits on the database for the one before, in the other process."""
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Trường Tiểu học Hòa Bình", CO_QUAN)
    await lan.command("danhgia 2023")
    codes = list(SEED_002)[:10]
    scores = {code: int(SEED_002[code]) - n % 2 for n, code in enumerate(codes)}  # not all alike
    messages = [text for code in codes for text in (str(scores[code]), "xong")]

    for n, text in enumerate(messages):
        workers[n % 2].send(_event(n, "lan", text))
        await workers[n % 2].locking(n)  # it holds the chat: hand on the next, which waits
    texts = [" ".join(await workers[n % 2].replies(n)) for n in range(len(messages))]

    assert not [t for t in texts if INTERNAL_ERROR in t]
    for n, code in enumerate(codes):
        assert f"Đã lưu {code}" in texts[2 * n], texts[2 * n]
    stored = await _rows(
        pg_url,
        "SELECT code, value FROM answers WHERE value IS NOT NULL ORDER BY answered_at",
    )
    assert stored == [(code, str(scores[code])) for code in codes]


async def test_a_worker_killed_mid_turn_leaves_nothing_half_done_and_the_other_goes_on(
    engine: Engine, workers: list[Worker], pg_url: str
) -> None:
    """Worker 0 dies (kill -9) after its turn's writes, before its COMMIT: nothing of it is
    stored and the chat is not left locked. The channel delivers the unanswered update again,
    to worker 1, which applies it once, then the next one."""
    lan = ChatUser(engine, "lan", "Lan")
    await register_unit(lan, "Trường Tiểu học Hòa Bình", CO_QUAN)
    await lan.command("danhgia 2023")
    first = _event(1, "lan", "10", die=True)
    workers[0].send(first)
    assert await asyncio.wait_for(workers[0].process.wait(), 60) == -9
    assert await _rows(pg_url, "SELECT count(*) FROM answers WHERE value IS NOT NULL") == [(0,)]
    assert await _rows(pg_url, "SELECT count(*) FROM processed_updates WHERE update_id = 'u1'") == [
        (0,)
    ]

    again = {**first, "die": False}
    workers[1].send(again)  # redelivered (no answer came back), to the other worker
    assert "Đã lưu 1a" in " ".join(await workers[1].replies(1))
    workers[1].send(again)  # and once more: a redelivery changes nothing
    assert await workers[1].replies(1) is not None
    workers[1].send(_event(2, "lan", "xong"))
    workers[1].send(_event(3, "lan", "9"))
    await workers[1].replies(2)
    assert "Đã lưu 1b" in " ".join(await workers[1].replies(3))
    stored = await _rows(
        pg_url, "SELECT code, value FROM answers WHERE value IS NOT NULL ORDER BY code"
    )
    assert stored == [("1a", "10"), ("1b", "9")]


async def test_two_workers_sharing_a_channel_send_every_outbox_message_once(
    repo: Repository, pg_url: str, tmp_path: Path
) -> None:
    async with repo.transaction() as tx:
        for n in range(120):
            await tx.enqueue(None, "test", f"chat-{n}", replies_to_json([Reply(f"tin {n}")]))
    senders = [await _start(pg_url, tmp_path, "outbox") for _ in range(2)]
    outputs = [await process.communicate() for process in senders]
    sent = [[json.loads(line)["sent"] for line in out.decode().splitlines()] for out, _ in outputs]
    assert sorted(sent[0] + sent[1]) == sorted(f"chat-{n}" for n in range(120))
    assert sent[0] and sent[1], "both workers took part"
    [(unsent,)] = await _rows(pg_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    assert unsent == 0


async def test_two_colleagues_opening_the_years_assessment_at_once_get_one(
    engine: Engine, workers: list[Worker], pg_url: str
) -> None:
    """Get-then-create of an assessment on two workers at once: one is created (the other
    turn collides, runs again and finds it), and both people are in the same one."""
    lan = ChatUser(engine, "lan", "Lan")
    staff_code = await register_unit(lan, "Trường Tiểu học Hòa Bình", CO_QUAN)
    await ChatUser(engine, "hoa", "Hoa").command(f"start {staff_code}")
    workers[0].send(_event(1, "lan", "danhgia 2023", "command"))
    workers[1].send(_event(2, "hoa", "danhgia 2023", "command"))
    texts = [" ".join(await workers[0].replies(1)), " ".join(await workers[1].replies(2))]
    assert not [t for t in texts if INTERNAL_ERROR in t]
    assert all("Tiêu chí 1" in t for t in texts), texts
    assert await _rows(pg_url, "SELECT count(*) FROM assessments") == [(1,)]


async def test_a_turn_that_collides_keeps_its_chats_place_for_its_run_again(
    repo: Repository, pg_url: str
) -> None:
    """A turn failing with Conflict runs again after a pause: meanwhile another process's
    event of the same chat, waiting for the chat, must not slip in before it."""
    from storage.base import Conflict

    other = await open_repository(pg_url)  # another worker process, as far as locks go
    order: list[str] = []
    try:
        with pytest.raises(Conflict):
            async with repo.transaction() as tx:
                await tx.start_turn("test", "a1", "lan", "Lan", chat_id="lan")
                raise Conflict("collided")  # as PostgreSQL's serialization failure would

        async def theirs() -> None:
            async with other.transaction() as tx:
                await tx.start_turn("test", "b1", "lan", "Lan", chat_id="lan")
                order.append("the other worker's event")

        waiting = asyncio.create_task(theirs())
        await asyncio.sleep(0.3)  # it has asked for the chat by now, and must still wait
        assert order == []
        async with repo.transaction() as tx:  # the run again takes the kept place at once
            assert await tx.start_turn("test", "a1", "lan", "Lan", chat_id="lan") is not None
            order.append("the run again")
        await asyncio.wait_for(waiting, 10)
    finally:
        await other.close()
    assert order == ["the run again", "the other worker's event"]
