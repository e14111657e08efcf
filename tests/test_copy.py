"""`python -m storage copy`: a whole store moved SQLite -> PostgreSQL and back, row for row."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import asyncpg

from conversations.engine import Engine
from conversations.settings import Settings
from storage import open_repository
from tests.chat_driver import ChatUser, run_jobs
from tests.test_jobs import _submitted

ROOT = Path(__file__).resolve().parents[1]


def _copy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storage", "copy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _everything(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the migrations' own (their dates differ), in key order."""
    with closing(sqlite3.connect(path)) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT IN ('schema_migrations', 'sqlite_sequence')"
            )
        ]
        return {
            name: conn.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall() for name in names
        }


async def _a_lived_in_store(path: Path, reports: Path) -> None:
    """A unit that submitted (its report rendered and kept as a document), a colleague, jobs,
    outbox rows, the event log; and a unit placed under a supervising unit created after it."""
    await _submitted(path, reports)
    repository = await open_repository(str(path))
    try:
        engine = Engine(repository, Settings(reports_dir=reports))
        assert await run_jobs(engine) == 1
        await ChatUser(engine, "hoa", "Cô Hoà").command("start")
        async with repository.transaction() as tx:
            later = await tx.create_unit("Sở Giáo dục và Đào tạo", "co-quan", "cap-tinh")
            await tx.update_unit(1, {"supervisor_id": later.id, "member_count": 40})
    finally:
        await repository.close()


async def test_a_store_moves_to_postgres_and_back_row_for_row(tmp_path: Path, pg_url: str) -> None:
    original, back = tmp_path / "goc.sqlite3", tmp_path / "ve.sqlite3"
    await _a_lived_in_store(original, tmp_path / "reports")

    there = _copy(str(original), pg_url)
    assert there.returncode == 0, there.stderr
    assert "documents: 1 dòng, khớp" in there.stdout
    assert "units: 2 dòng, khớp" in there.stdout and "LỆCH" not in there.stdout
    assert "Đã chép xong" in there.stdout

    # the copy is a working store: the next unit gets the next id, turns go on
    repository = await open_repository(pg_url)
    try:
        async with repository.transaction() as tx:
            assert (await tx.create_unit("Trường mới", "co-quan", "cap-huyen")).id == 3
            unit = await tx.get_unit(1)
            assert unit is not None and (unit.supervisor_id, unit.member_count) == (2, 40)
        async with repository.transaction() as tx:
            assert await tx.start_turn("test", "u-new", "lan", "Lan") is not None
        async with repository.transaction() as tx:
            await tx.log("not.copied")  # removed again below, with the unit
    finally:
        await repository.close()
    conn = await asyncpg.connect(pg_url)
    try:  # undo what was just added, so that the way back can be compared with the original
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute("DELETE FROM events WHERE kind = 'not.copied'")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
        await conn.execute("DELETE FROM units WHERE id = 3")
        await conn.execute("DELETE FROM processed_updates WHERE update_id = 'u-new'")
    finally:
        await conn.close()

    home = _copy(pg_url, str(back))
    assert home.returncode == 0, home.stderr
    assert _everything(back) == _everything(original)


async def test_a_destination_with_data_is_refused_unless_replace(
    tmp_path: Path, pg_url: str
) -> None:
    source = tmp_path / "goc.sqlite3"
    await _a_lived_in_store(source, tmp_path / "reports")
    assert _copy(str(source), pg_url).returncode == 0
    repository = await open_repository(pg_url)
    try:
        async with repository.transaction() as tx:
            await tx.create_unit("Chỉ có ở đích", "co-quan", "cap-huyen")
    finally:
        await repository.close()

    refused = _copy(str(source), pg_url)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert "đã có dữ liệu" in line and "--replace" in line
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM units") == 3  # untouched
    finally:
        await conn.close()

    replaced = _copy(str(source), pg_url, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM units") == 2
    finally:
        await conn.close()

    # and the other way: a SQLite file with data is refused too, then replaced
    target = tmp_path / "dich.sqlite3"
    await _a_lived_in_store(target, tmp_path / "reports2")
    assert _copy(pg_url, str(target)).returncode == 1
    assert _copy(pg_url, str(target), "--replace").returncode == 0
    assert _everything(target) == _everything(source)


def test_a_wrong_destination_is_one_line_without_the_password(tmp_path: Path) -> None:
    source = tmp_path / "goc.sqlite3"
    run = _copy(str(source), "postgresql://dvht:very-secret-pw@127.0.0.1:9/dvht")
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("Không chép được") and "very-secret-pw" not in run.stderr


async def test_every_table_of_the_schema_is_copied(tmp_path: Path) -> None:
    """A table a later migration adds is copied too: the copy's list is the schema's."""
    from storage.copy import KEYS, TABLES

    repository = await open_repository(tmp_path / "schema.sqlite3")
    await repository.close()
    with closing(sqlite3.connect(tmp_path / "schema.sqlite3")) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT IN ('schema_migrations', 'sqlite_sequence')"
            )
        }
        keyless = {
            name
            for name in tables
            if "id" not in {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
        }
    assert set(TABLES) == tables
    assert keyless <= set(KEYS)  # a table without an id column says how its rows are ordered


async def test_a_mistyped_source_file_is_refused_and_the_destination_kept(tmp_path: Path) -> None:
    """A SQLite source that does not exist (a typo) is not created empty and copied over the
    destination: with --replace that would erase every unit's answers and say "khớp"."""
    target = tmp_path / "dich.sqlite3"
    await _a_lived_in_store(target, tmp_path / "reports")
    before = _everything(target)
    typo = tmp_path / "donvi-hoctap.sqlite"
    run = _copy(str(typo), str(target), "--replace")
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert str(typo) in line and "không có" in line
    assert not typo.exists()
    assert _everything(target) == before


async def test_a_malformed_address_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "goc.sqlite3"
    await (await open_repository(str(source))).close()
    run = _copy(str(source), "postgresql://dvht:very-secret-pw@[::1/dvht")
    assert run.returncode == 1
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("Không chép được") and "very-secret-pw" not in run.stderr
