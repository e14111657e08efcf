"""Group commit under faults: nobody is told "saved" for what is not on disk.

Many transactions share one COMMIT (one fsync). These tests break that commit or the batch in the
ways a real disk does, then read the file back with a fresh connection: every transaction whose
block returned is there, and every one that raised is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.base import StorageError
from storage.sqlite import SqliteRepository

FRAMEWORK = "tt22-2020"


async def _assessment(repo: SqliteRepository) -> tuple[int, int]:
    async with repo.transaction() as tx:
        unit = await tx.create_unit("Trường Tiểu học Hòa Bình", "giao-duc-pho-thong", "cap-huyen")
        person = await tx.upsert_person("console", "lan", "Lan")
        assessment = await tx.create_assessment(unit.id, FRAMEWORK, 2023)
    return assessment.id, person.id


def _stored(path: Path) -> dict[str, str]:
    """The evidence on disk, read by an outsider after the repository is closed."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT code, evidence FROM answers").fetchall()
    return {code: evidence for code, evidence in rows}


async def _write(
    repo: SqliteRepository, assessment: int, person: int, code: str, text: str
) -> bool:
    """One answer with its evidence in its own transaction: True when confirmed."""
    try:
        async with repo.transaction() as tx:
            await tx.put_answer(assessment, code, "5", person)
            await tx.append_evidence(assessment, code, text, person)
    except StorageError:
        return False
    return True


def _interrupt_once() -> Callable[[], int]:
    """A progress handler that interrupts the statement running when it is first called."""
    calls = {"n": 0}

    def handler() -> int:
        calls["n"] += 1
        return 1 if calls["n"] == 1 else 0

    return handler


async def test_sqlite_rolling_back_the_whole_batch_fails_every_transaction_in_it(
    tmp_path: Path,
) -> None:
    """An interrupt inside a write rolls back SQLite's whole transaction, so the transactions
    released before it in the same batch are gone too: they must fail, not be confirmed."""
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    assessment, person = await _assessment(repo)

    async def poisoned() -> bool:
        try:
            async with repo.transaction() as tx:
                await tx.put_answer(assessment, "poison", "1", person)
                await repo._conn.set_progress_handler(_interrupt_once(), 1)
                await tx.append_evidence(assessment, "poison", "x" * 1000, person)
        except StorageError:
            return False
        finally:
            await repo._conn.set_progress_handler(None, 1)
        return True

    codes = [f"c{i}" for i in range(12)]
    jobs = [_write(repo, assessment, person, code, f"minh chứng {code}") for code in codes[:6]]
    jobs.append(poisoned())
    jobs += [_write(repo, assessment, person, code, f"minh chứng {code}") for code in codes[6:]]
    outcomes = await asyncio.gather(*jobs)
    await repo.close()

    confirmed = {
        code for code, ok in zip([*codes[:6], "poison", *codes[6:]], outcomes, strict=True) if ok
    }
    stored = _stored(path)
    assert "poison" not in confirmed and "poison" not in stored
    assert confirmed == set(stored)  # confirmed exactly when on disk
    assert len(confirmed) < len(codes)  # the batch the interrupt hit was lost, and said so


def _marks(path: Path) -> list[tuple[str, str]]:
    """Each assessment's cursor and change time, read by an outsider."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT cursor, updated_at FROM assessments ORDER BY id").fetchall()


async def test_an_answer_sent_with_its_mark_leaves_nothing_when_sqlite_rolls_back(
    tmp_path: Path,
) -> None:
    """An answer is queued with its assessment's mark (cursor and time) in one wait. SQLite
    rolling the whole transaction back at the first of the two (an interrupt here, a full disk
    elsewhere) leaves the second to run outside any transaction: neither may be stored."""
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    assessment, person = await _assessment(repo)
    assert await _write(repo, assessment, person, "1a", "Kế hoạch số 12/KH")
    before = _marks(path)
    with pytest.raises(StorageError):
        async with repo.transaction() as tx:
            await repo._conn.set_progress_handler(_interrupt_once(), 1)
            await tx.put_answer(assessment, "1b", "7", person)
    await repo._conn.set_progress_handler(None, 1)
    assert set(_stored(path)) == {"1a"} and _marks(path) == before
    assert await _write(repo, assessment, person, "2a", "sau sự cố")  # it goes on
    await repo.close()
    assert set(_stored(path)) == {"1a", "2a"} and _marks(path)[0][0] == "2a"


async def test_an_answer_rolled_back_in_a_batch_is_neither_confirmed_nor_stored(
    tmp_path: Path,
) -> None:
    """The same inside a batch: the batch fails and says so, the transactions after it
    commit normally."""
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    assessment, person = await _assessment(repo)

    async def poisoned() -> bool:
        try:
            async with repo.transaction() as tx:
                await repo._conn.set_progress_handler(_interrupt_once(), 1)
                await tx.put_answer(assessment, "poison", "1", person)
        except StorageError:
            return False
        finally:
            await repo._conn.set_progress_handler(None, 1)
        return True

    codes = [f"c{i}" for i in range(8)]
    jobs = [_write(repo, assessment, person, code, code) for code in codes[:4]]
    jobs += [poisoned(), *(_write(repo, assessment, person, code, code) for code in codes[4:])]
    outcomes = await asyncio.gather(*jobs)
    assert await _write(repo, assessment, person, "after", "sau sự cố")
    await repo.close()

    names = [*codes[:4], "poison", *codes[4:]]
    confirmed = {name for name, ok in zip(names, outcomes, strict=True) if ok}
    assert "poison" not in confirmed
    assert confirmed | {"after"} == set(_stored(path))


async def test_a_commit_that_fails_confirms_nobody_of_its_batch(tmp_path: Path) -> None:
    """A COMMIT refused by the database (a deferred foreign key here) leaves nothing behind,
    and every transaction that waited for it hears so."""
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    assessment, person = await _assessment(repo)
    await repo._conn.execute("PRAGMA defer_foreign_keys = ON")

    async def broken() -> bool:
        try:
            async with repo.transaction() as tx:
                await tx.add_membership(99_999, person, "staff")  # checked only at COMMIT
        except StorageError:
            return False
        return True

    codes = [f"c{i}" for i in range(8)]
    jobs = [_write(repo, assessment, person, code, code) for code in codes[:4]]
    jobs += [broken(), *(_write(repo, assessment, person, code, code) for code in codes[4:])]
    outcomes = await asyncio.gather(*jobs)
    # The repository goes on: the next transaction commits normally.
    assert await _write(repo, assessment, person, "after", "sau sự cố")
    await repo.close()

    names = [*codes[:4], "broken", *codes[4:]]
    confirmed = {name for name, ok in zip(names, outcomes, strict=True) if ok}
    stored = _stored(path)
    assert "broken" not in confirmed
    assert confirmed | {"after"} == set(stored)


@contextlib.contextmanager
def _small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (root only; the test is skipped elsewhere)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_a_full_disk_mid_batch_never_confirms_what_is_not_stored(tmp_path: Path) -> None:
    """The disk fills while batches of answers are being committed: every confirmed answer is
    in the file afterwards, and none of the refused ones is."""
    with _small_disk(tmp_path / "disk", "800k") as disk:
        path = disk / "db.sqlite3"
        repo = await SqliteRepository.open(path)
        assessment, person = await _assessment(repo)
        names: list[str] = []
        outcomes: list[bool] = []
        for batch in range(40):
            codes = [f"b{batch}-{i}" for i in range(8)]
            names += codes
            outcomes += await asyncio.gather(
                *(_write(repo, assessment, person, code, code + " " + "đ" * 3000) for code in codes)
            )
            if outcomes.count(False) > 16:
                break
        await repo.close()
        confirmed = {name for name, ok in zip(names, outcomes, strict=True) if ok}
        assert False in outcomes, "the disk never filled: make it smaller"
        assert confirmed, "nothing was written before the disk filled"
        assert set(_stored(path)) == confirmed


async def test_writes_held_for_the_commit_are_seen_by_the_next_transaction_of_the_batch(
    tmp_path: Path,
) -> None:
    """The update ids, the event log and the chat state are written just before COMMIT; a
    transaction later in the same batch still sees them, and a redelivery is still a no-op."""
    from storage.base import ChatState

    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    _, person = await _assessment(repo)
    seen: list[object] = []

    async def first() -> None:
        async with repo.transaction() as tx:
            assert await tx.start_turn("console", "u-1", "lan", "Lan") is not None
            await tx.save_chat(ChatState("console", "lan", person, "ask", {"code": "1b"}, "n1"))
            await tx.log("answer.saved", person_id=person, data={"code": "1a"})

    async def second() -> None:
        async with repo.transaction() as tx:  # queued behind the first: the same batch
            seen.append(await tx.start_turn("console", "u-1", "lan", "Lan"))  # redelivered
            seen.append(await tx.mark_update("console", "u-1"))
            chat = await tx.get_chat("console", "lan")
            seen.append(chat.data if chat else None)

    await asyncio.gather(first(), second())
    await repo.close()
    assert seen == [None, False, {"code": "1b"}]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM processed_updates").fetchall() == [(1,)]
        assert conn.execute("SELECT kind FROM events").fetchall() == [("answer.saved",)]
        assert conn.execute("SELECT mode, data FROM chats").fetchall() == [("ask", '{"code":"1b"}')]


async def test_held_writes_of_a_lost_batch_are_dropped_with_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    await _assessment(repo)

    async def doomed() -> None:
        async with repo.transaction() as tx:
            await tx.start_turn("console", "u-2", "lan", "Lan")
            await tx.log("answer.saved")
            raise RuntimeError("the turn failed")

    with pytest.raises(RuntimeError):
        await doomed()
    async with repo.transaction() as tx:  # the update was not recorded: it can be processed
        assert await tx.start_turn("console", "u-2", "lan", "Lan") is not None
    await repo.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchall() == [(0,)]
        assert conn.execute("SELECT update_id FROM processed_updates").fetchall() == [("u-2",)]


async def test_the_wal_is_checkpointed_beside_the_commits_not_inside_them(
    tmp_path: Path,
) -> None:
    """SQLite's own checkpoint would run inside the COMMIT that crosses its threshold, and the
    next batch would wait for it: here the WAL is copied into the database file on a connection
    of its own, every second, while transactions go on."""
    from storage import sqlite as backend

    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    assessment, person = await _assessment(repo)
    before = path.stat().st_size
    for n in range(200):
        assert await _write(repo, assessment, person, f"c{n}", "đ" * 2000)
    assert path.stat().st_size == before  # all of it still in the WAL: no checkpoint in COMMIT
    await asyncio.sleep(backend.CHECKPOINT_SECONDS * 2.5)
    grown = path.stat().st_size
    await repo.close()
    assert grown > before + 200 * 2000  # copied back by the checkpointer
