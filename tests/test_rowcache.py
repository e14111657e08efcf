"""The rows kept in memory between transactions (storage.rowcache) against the database:
random transactions (some failing, some catching storage errors, some concurrent, some with
another connection writing) must read through the kept rows exactly what a fresh read sees."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from storage.base import ChatState, StorageError
from storage.rowcache import RowCache
from storage.sqlite import SqliteRepository, SqliteTransaction

FRAMEWORK = "tt22-2020"
CODES = ["1a", "1b", "2a", "2b"]


async def _compare(repo: SqliteRepository, tx: SqliteTransaction, ids: dict) -> None:
    fresh = SqliteTransaction(repo._conn, RowCache())  # no kept rows: reads the database
    for a in ids["assessments"]:
        assert await tx.get_assessment_by_id(a) == await fresh.get_assessment_by_id(a)
        assert await tx.answers(a) == await fresh.answers(a)
    for u in ids["units"]:
        assert await tx.get_unit(u) == await fresh.get_unit(u)
    for p in ids["people"]:
        assert await tx.memberships(p) == await fresh.memberships(p)
    for key in ids["keys"]:
        assert await tx.get_chat(*key) == await fresh.get_chat(*key)
        row = repo._conn.execute(
            "SELECT display_name FROM people WHERE channel = ? AND channel_user_id = ?", key
        ).fetchone()
        if row is not None:
            assert (await tx.upsert_person(*key, row[0])).display_name == row[0]


async def _step(rng: random.Random, tx: SqliteTransaction, ids: dict) -> None:
    op = rng.randrange(14)
    a = rng.choice(ids["assessments"] + [999])
    u = rng.choice(ids["units"] + [998])
    p = rng.choice(ids["people"])
    code = rng.choice(CODES)
    if op == 0:
        await tx.put_answer(a, code, str(rng.randrange(5)), p)
    elif op == 1:
        await tx.append_evidence(a, code, rng.choice(["x", "y"]), p)
    elif op == 2:
        await tx.put_prefill(a, code, "3", "e")
    elif op == 3:
        await tx.clear_answers(a)
    elif op == 4:
        await tx.set_status(a, rng.choice(["draft", "submitted", "approved", "returned"]), p)
    elif op == 5:
        await tx.set_cursor(a, rng.choice([*CODES, None]))
    elif op == 6:
        await tx.record_submission(a, p, date(2024, 3, 1), rng.choice([None, 1, 2]))
    elif op == 7:
        await tx.set_decision(a, rng.choice(["approved", "returned"]), p, "c")
    elif op == 8:
        await tx.update_unit(u, {"name": rng.choice(["A", "B"]), "member_count": rng.randrange(9)})
    elif op == 9:
        await tx.add_membership(u, p, rng.choice(["staff", "leader", "supervisor"]))
    elif op == 10:
        key = rng.choice(ids["keys"])
        await tx.upsert_person(*key, rng.choice(["Lan", "Lan B"]))
    elif op == 11:
        unit = await tx.create_unit("U", "co-so-giao-duc", "cap-huyen")
        ids["units"].append(unit.id)
        assessment = await tx.create_assessment(unit.id, FRAMEWORK, 2023)
        ids["assessments"].append(assessment.id)
    elif op == 12:  # a turn: the chat's state read, changed, saved
        key = rng.choice(ids["keys"])
        chat = await tx.get_chat(*key) or ChatState(key[0], key[1], p)
        chat.mode = rng.choice(["ask", "evidence", "menu"])
        chat.data = {"code": code, "n": rng.randrange(9)}
        await tx.save_chat(chat)
    else:  # reads, kept afterwards (including None for ids not created yet)
        await tx.get_unit(max(ids["units"]) + 1)
        await tx.get_assessment_by_id(max(ids["assessments"]) + 1)
        await tx.answers(a)
        await tx.memberships(p)


@pytest.mark.parametrize("seed", range(16))
async def test_kept_rows_match_the_database(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "db.sqlite3"
    repo = await SqliteRepository.open(path)
    ids: dict = {"assessments": [], "units": [], "people": [], "keys": []}
    async with repo.transaction() as tx:
        for n in range(3):
            unit = await tx.create_unit(f"U{n}", "co-so-giao-duc", "cap-huyen")
            ids["units"].append(unit.id)
            ids["assessments"].append((await tx.create_assessment(unit.id, FRAMEWORK, 2023)).id)
            person = await tx.upsert_person("console", f"p{n}", "Lan")
            ids["people"].append(person.id)
            ids["keys"].append(("console", f"p{n}"))

    async def one_transaction() -> None:
        ids_before = {k: list(v) for k, v in ids.items()}
        try:
            async with repo.transaction() as tx:
                for _ in range(rng.randrange(1, 6)):
                    try:
                        await _step(rng, tx, ids)
                    except StorageError:
                        if rng.random() < 0.5:
                            raise
                await _compare(repo, tx, ids)
                if rng.random() < 0.15:
                    raise RuntimeError("turn failed")
        except (StorageError, RuntimeError):
            ids.clear()
            ids.update(ids_before)

    for _ in range(60):
        if rng.random() < 0.1 and not repo._conn.in_transaction:  # another process writes
            with sqlite3.connect(path, timeout=5) as other:
                other.execute("UPDATE answers SET value = 'z' WHERE code = '1a'")
                other.execute("UPDATE units SET name = 'other'")
                other.execute("UPDATE assessments SET status = 'draft', cursor = '2b'")
                other.execute("UPDATE people SET display_name = 'other'")
                other.execute("UPDATE chats SET mode = 'other'")
        await asyncio.gather(*(one_transaction() for _ in range(rng.randrange(1, 4))))
    async with repo.transaction() as tx:
        await _compare(repo, tx, ids)
    await repo.close()
