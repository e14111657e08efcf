"""The repositories against real databases, the same tests on both backends (a SQLite file and a
database on a real PostgreSQL, see the `backend` fixture): schema, durability, constraints,
semantics. A few tests are about one backend's own machinery (SQLite's WAL and file locks)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from storage import open_repository
from storage.base import (
    Assessment,
    ChatState,
    ConstraintError,
    Duplicate,
    NotFound,
    Person,
    Repository,
    StorageError,
    Transaction,
    Unit,
    retrying,
)
from storage.migrate import (
    POSTGRES_DIRECTORY,
    Migration,
    apply_migrations,
    apply_postgres_migrations,
    load_migrations,
    split_statements,
)
from storage.postgres import is_postgres
from storage.sqlite import SqliteRepository

FRAMEWORK = "tt22-2020"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "folder" / "hoctap.sqlite3"


@pytest.fixture
async def sqlite_repo(db_path: Path) -> AsyncIterator[SqliteRepository]:
    repository = await SqliteRepository.open(db_path)
    yield repository
    await repository.close()


@pytest.fixture
async def repo(backend: str) -> AsyncIterator[Repository]:
    """The repository on each backend in turn (a SQLite file, a PostgreSQL database)."""
    repository = await open_repository(backend)
    yield repository
    await repository.close()


async def _setup(tx: Transaction) -> tuple[Unit, Person, Assessment]:
    unit = await tx.create_unit("Trường THCS Kim Đồng", "co-so-giao-duc", "cap-huyen")
    person = await tx.upsert_person("console", "lan", "Nguyễn Thị Lan")
    assessment = await tx.create_assessment(unit.id, FRAMEWORK, 2023)
    return unit, person, assessment


async def _seeded(repo: Repository) -> tuple[Unit, Person, Assessment]:
    async with repo.transaction() as tx:
        return await _setup(tx)


def _query(path: Path | str, sql: str) -> list[tuple[object, ...]]:
    """Read the file with the plain sqlite3 module, as an outsider would."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


class Refused(Exception):
    """An outsider's statement that the database refused."""


async def _outside(where: str, sql: str) -> list[tuple[object, ...]]:
    """Run `sql` on its own connection, as another process (or a person at psql) would: the
    plain sqlite3 module, or asyncpg. Refused when the database rejects it."""
    if is_postgres(where):
        conn = await asyncpg.connect(where)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        except asyncpg.PostgresError as error:
            raise Refused(str(error)) from error
        finally:
            await conn.close()
    try:
        return _query(where, sql)
    except sqlite3.Error as error:
        raise Refused(str(error)) from error


# --- schema and migrations --------------------------------------------------------------------


async def test_migrations_apply_once_and_reopen_is_idempotent(db_path: Path) -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations][:1] == [1]
    assert migrations[0].name == "0001_initial.sql"

    for _ in range(3):
        repository = await SqliteRepository.open(db_path)
        await repository.close()

    rows = _query(db_path, "SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(m.version,) for m in migrations]
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        assert await apply_migrations(conn) == []


def test_both_backends_have_the_same_numbered_migrations() -> None:
    sqlite = [(m.version, m.name) for m in load_migrations()]
    postgres = [(m.version, m.name) for m in load_migrations(directory=POSTGRES_DIRECTORY)]
    assert sqlite == postgres


async def test_postgres_migrations_apply_once_and_reopen_is_idempotent(pg_url: str) -> None:
    for _ in range(3):
        repository = await open_repository(pg_url)
        await repository.close()
    versions = await _outside(pg_url, "SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(m.version,) for m in load_migrations()]
    conn = await asyncpg.connect(pg_url)
    try:
        assert await apply_postgres_migrations(conn) == []
    finally:
        await conn.close()


async def test_two_processes_migrating_one_postgres_database_at_once(pg_url: str) -> None:
    first, second = await asyncio.gather(open_repository(pg_url), open_repository(pg_url))
    await first.close()
    await second.close()
    versions = await _outside(pg_url, "SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(m.version,) for m in load_migrations()]


async def test_a_failing_postgres_migration_leaves_no_trace(pg_url: str) -> None:
    good = load_migrations(directory=POSTGRES_DIRECTORY)[0]
    bad = Migration(2, "0002_bad.sql", "CREATE TABLE half (x INTEGER);\nNOT SQL AT ALL;\n")
    conn = await asyncpg.connect(pg_url)
    try:
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await apply_postgres_migrations(conn, [good, bad])
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
    finally:
        await conn.close()


async def test_open_creates_the_parent_folders_and_every_table(
    sqlite_repo: SqliteRepository, db_path: Path
) -> None:
    assert db_path.is_file()
    tables = {row[0] for row in _query(db_path, "SELECT name FROM sqlite_master")}
    expected = {
        "schema_migrations", "units", "people", "memberships", "invites", "assessments",
        "answers", "attachments", "narratives", "chats", "processed_updates", "events",
        "memberships_by_person", "assessments_by_unit_updated", "events_by_assessment",
        "events_no_update", "events_no_delete",
    }  # fmt: skip
    assert expected <= tables


async def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    good = load_migrations()[0]
    bad = Migration(2, "0002_bad.sql", "CREATE TABLE half (x INTEGER);\nNOT SQL AT ALL;\n")
    async with aiosqlite.connect(tmp_path / "m.sqlite3", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, [good, bad])
        assert not conn.in_transaction
        half = "SELECT name FROM sqlite_master WHERE name = 'half'"
        assert list(await conn.execute_fetchall(half)) == []
        versions = await conn.execute_fetchall("SELECT version FROM schema_migrations")
        assert [tuple(row) for row in versions] == [(1,)]


def test_split_statements_keeps_triggers_whole() -> None:
    sql = (
        "-- a comment; with a semicolon\nCREATE TABLE t (x);\n"
        "CREATE TRIGGER t_no BEFORE DELETE ON t\nBEGIN\n  SELECT RAISE(ABORT, 'no; never');\nEND;\n"
        "-- trailing comment\n"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (x)")


async def test_wal_mode_and_pragmas(sqlite_repo: SqliteRepository, db_path: Path) -> None:
    assert _query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_foreign_keys_are_enforced(repo: Repository) -> None:
    with pytest.raises(ConstraintError):
        async with repo.transaction() as tx:
            await tx.add_membership(999, 999, "staff")


async def test_synchronous_must_be_a_known_level(db_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        await SqliteRepository.open(db_path, synchronous="FULL; DROP TABLE units")


async def test_in_memory_database_works() -> None:
    repository = await SqliteRepository.open(":memory:", synchronous="normal")
    try:
        unit, _, assessment = await _seeded(repository)
        async with repository.transaction() as tx:
            assert await tx.latest_assessment(unit.id) == assessment
    finally:
        await repository.close()


# --- constraints --------------------------------------------------------------------------


async def test_one_assessment_per_unit_framework_and_year(repo: Repository) -> None:
    unit, _, first = await _seeded(repo)
    with pytest.raises(Duplicate):
        async with repo.transaction() as tx:
            await tx.create_assessment(unit.id, FRAMEWORK, 2023)
    async with repo.transaction() as tx:
        other_year = await tx.create_assessment(unit.id, FRAMEWORK, 2022)
        other_framework = await tx.create_assessment(unit.id, "tt24-2023-cap-huyen", 2023)
    async with repo.transaction() as tx:
        assert await tx.get_assessment(unit.id, FRAMEWORK, 2023) == first
        assert await tx.get_assessment_by_id(other_year.id) == other_year
        assert await tx.get_assessment_by_id(other_framework.id) == other_framework


async def test_on_sqlite_a_failed_statement_does_not_spoil_the_transaction(
    sqlite_repo: SqliteRepository,
) -> None:
    """(On PostgreSQL a failed statement ends the transaction; the engine never goes on after
    one: the turn fails and is rolled back.)"""
    unit, _, _ = await _seeded(sqlite_repo)
    async with sqlite_repo.transaction() as tx:
        with pytest.raises(Duplicate):
            await tx.create_assessment(unit.id, FRAMEWORK, 2023)
        other_year = await tx.create_assessment(unit.id, FRAMEWORK, 2022)
    async with sqlite_repo.transaction() as tx:
        assert await tx.get_assessment_by_id(other_year.id) == other_year


async def test_roles_and_statuses_are_checked(repo: Repository) -> None:
    unit, person, assessment = await _seeded(repo)
    with pytest.raises(ConstraintError):
        async with repo.transaction() as tx:
            await tx.add_membership(unit.id, person.id, "boss")
    with pytest.raises(ConstraintError):
        async with repo.transaction() as tx:
            await tx.set_status(assessment.id, "finished", person.id)
    with pytest.raises(NotFound):
        async with repo.transaction() as tx:
            await tx.set_status(assessment.id + 100, "submitted", person.id)


async def test_a_submitted_assessment_keeps_its_answers_and_its_cursor(repo: Repository) -> None:
    """The answer and the assessment's mark are sent together: refused, neither is written,
    even when the caller goes on with its transaction."""
    _, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.put_answer(assessment.id, "1a", "10", person.id)
        await tx.set_status(assessment.id, "submitted", person.id)
    async with repo.transaction() as tx:
        before = await tx.get_assessment_by_id(assessment.id)
        with pytest.raises(ConstraintError, match="not editable"):
            await tx.put_answer(assessment.id, "1a", "3", person.id)
        with pytest.raises(ConstraintError, match="not editable"):
            await tx.put_answer(assessment.id, "1b", "3", person.id)
    async with repo.transaction() as tx:
        answers = await tx.answers(assessment.id)
        after = await tx.get_assessment_by_id(assessment.id)
    assert {code: answer.value for code, answer in answers.items()} == {"1a": "10"}
    assert before is not None and after is not None
    assert (after.cursor, after.updated_at) == (before.cursor, before.updated_at)


async def test_live_keyboards_of_many_chats_are_kept_and_forgotten_together(
    repo: Repository,
) -> None:
    async with repo.transaction() as tx:
        await tx.set_live_keyboards("telegram", {str(chat): 100 + chat for chat in range(300)})
    async with repo.transaction() as tx:
        await tx.set_live_keyboards("telegram", {"0": None, "1": 7, "unknown": None})
    async with repo.snapshot() as tx:
        kept = [await tx.live_keyboard("telegram", chat) for chat in ("0", "1", "2", "299")]
        other = await tx.live_keyboard("zalo", "2")
    assert kept == [None, 7, 102, 399] and other is None


# --- durability and transactions ----------------------------------------------------------


async def test_answers_survive_closing_and_reopening(backend: str) -> None:
    repository = await open_repository(backend)
    _, person, assessment = await _seeded(repository)
    async with repository.transaction() as tx:
        await tx.put_answer(assessment.id, "1a", "10", person.id)
        await tx.append_evidence(assessment.id, "1a", "Kế hoạch số 12/KH-THCS", person.id)
        await tx.set_cursor(assessment.id, "1b")
    await repository.close()

    reopened = await open_repository(backend)
    try:
        async with reopened.transaction() as tx:
            answers = await tx.answers(assessment.id)
            again = await tx.get_assessment_by_id(assessment.id)
    finally:
        await reopened.close()
    assert answers["1a"].value == "10"
    assert answers["1a"].evidence == "Kế hoạch số 12/KH-THCS"
    assert answers["1a"].answered_by == person.id
    assert again is not None and again.cursor == "1b"


async def test_rollback_on_exception_leaves_nothing(repo: Repository, backend: str) -> None:
    with pytest.raises(RuntimeError, match="crash"):
        async with repo.transaction() as tx:
            assert await tx.mark_update("telegram", "42")
            _, person, assessment = await _setup(tx)
            await tx.put_answer(assessment.id, "1a", "10", person.id)
            await tx.log("answer", person_id=person.id, assessment_id=assessment.id)
            raise RuntimeError("crash before commit")

    for table in ("units", "people", "assessments", "answers", "events", "processed_updates"):
        assert await _outside(backend, f"SELECT count(*) FROM {table}") == [(0,)], table
    async with repo.transaction() as tx:  # the redelivered update is processed afresh
        assert await tx.mark_update("telegram", "42")


async def test_the_transaction_object_is_dead_after_the_block(repo: Repository) -> None:
    async with repo.transaction() as tx:
        pass
    with pytest.raises(StorageError):
        await tx.get_person(1)


async def test_rows_kept_in_memory_are_not_read_after_the_block(repo: Repository) -> None:
    """A transaction object kept past its block must fail, not answer from memory unlocked."""
    unit, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.get_unit(unit.id)
        await tx.answers(assessment.id)
    for read in (
        tx.get_unit(unit.id),
        tx.get_assessment_by_id(assessment.id),
        tx.answers(assessment.id),
        tx.memberships(person.id),
        tx.upsert_person("console", "lan", "Nguyễn Thị Lan"),
    ):
        with pytest.raises(StorageError):
            await read


async def test_a_failed_transaction_does_not_keep_the_database_locked(
    sqlite_repo: SqliteRepository, db_path: Path
) -> None:
    """Another process (the console, a report) can write once our failed turn is over."""
    await _seeded(sqlite_repo)
    with pytest.raises(RuntimeError):
        async with sqlite_repo.transaction() as tx:
            await tx.mark_update("telegram", "7")
            raise RuntimeError("the turn failed")
    await asyncio.sleep(0.05)  # the commit that ends SQLite's transaction runs in the background
    with closing(sqlite3.connect(db_path, timeout=0.5)) as other:
        other.execute("INSERT INTO processed_updates VALUES ('console', 'x', '2024-01-01')")
        other.commit()


async def test_transactions_are_serialised(repo: Repository) -> None:
    _, person, assessment = await _seeded(repo)

    async def answer(tx: Transaction, code: str) -> None:
        await tx.put_answer(assessment.id, code, "1", person.id)
        await asyncio.sleep(0)  # let the others try to start their transactions
        await tx.append_evidence(assessment.id, code, f"evidence {code}", person.id)

    # PostgreSQL runs them at once and fails those that collide (Conflict: run again)
    await asyncio.gather(
        *(retrying(repo, partial(answer, code=f"c{i}"), attempts=20) for i in range(10))
    )
    async with repo.transaction() as tx:
        answers = await tx.answers(assessment.id)
    assert sorted(answers) == sorted(f"c{i}" for i in range(10))


async def test_closed_repository_refuses_transactions(backend: str) -> None:
    repository = await open_repository(backend)
    await repository.close()
    await repository.close()  # harmless
    with pytest.raises(StorageError, match="closed"):
        async with repository.transaction():
            pass


# --- semantics ----------------------------------------------------------------------------


async def test_mark_update_detects_redelivery(repo: Repository, backend: str) -> None:
    async with repo.transaction() as tx:
        assert await tx.mark_update("telegram", "1001") is True
        assert await tx.mark_update("telegram", "1001") is False
        assert await tx.mark_update("zalo", "1001") is True  # another channel's ids are apart
    async with repo.transaction() as tx:
        assert await tx.mark_update("telegram", "1001") is False
    assert await _outside(backend, "SELECT count(*) FROM events") == [(0,)]  # no auto logging


async def test_evidence_is_kept_when_the_answer_changes(repo: Repository) -> None:
    _, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        other = await tx.upsert_person("telegram", "77", "Trần Văn Bình")
        await tx.append_evidence(assessment.id, "2a", "Quyết định 15/QĐ", person.id)
        first = (await tx.answers(assessment.id))["2a"]
        await tx.put_answer(assessment.id, "2a", "8", person.id)
        await tx.append_evidence(assessment.id, "2a", "  Ảnh hội nghị  ", person.id)
        await tx.append_evidence(assessment.id, "2a", "   ", person.id)  # blank: ignored
        await tx.put_answer(assessment.id, "2a", "9", other.id)
        final = (await tx.answers(assessment.id))["2a"]
    assert (first.value, first.evidence, first.answered_by) == (None, "Quyết định 15/QĐ", None)
    assert final.value == "9"
    assert final.answered_by == other.id
    assert final.evidence == "Quyết định 15/QĐ\n\nẢnh hội nghị"


async def test_writes_move_updated_at_and_latest_assessment(repo: Repository) -> None:
    unit, person, older = await _seeded(repo)
    async with repo.transaction() as tx:
        newer = await tx.create_assessment(unit.id, FRAMEWORK, 2024)
        assert await tx.latest_assessment(unit.id) == newer
        await tx.put_answer(older.id, "1a", "5", person.id)
        latest = await tx.latest_assessment(unit.id)
    assert latest is not None and latest.id == older.id
    assert latest.updated_at is not None and older.updated_at is not None
    assert latest.updated_at > older.updated_at
    assert latest.updated_at.tzinfo is not None and latest.updated_at.utcoffset() == timedelta(0)


async def test_submitted_assessments_are_found_whatever_changed_since(
    repo: Repository,
) -> None:
    unit, person, older = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.set_status(older.id, "submitted", person.id)
        newer = await tx.create_assessment(unit.id, FRAMEWORK, 2024)
        await tx.put_answer(newer.id, "1a", "5", person.id)  # the next year, started later
        waiting = await tx.assessments_with_status([unit.id], "submitted")
        await tx.set_decision(older.id, "approved", person.id, None)
        decided = await tx.assessments_with_status([unit.id], "submitted")
    assert [a.id for a in waiting] == [older.id]
    assert decided == []


async def test_submitting_records_who_and_when(repo: Repository) -> None:
    _, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.set_status(assessment.id, "submitted", person.id)
        submitted = await tx.get_assessment_by_id(assessment.id)
        await tx.set_status(assessment.id, "returned", None)
        returned = await tx.get_assessment_by_id(assessment.id)
    assert submitted is not None and submitted.status == "submitted"
    assert submitted.submitted_by == person.id
    assert submitted.submitted_at is not None and submitted.submitted_at.tzinfo is not None
    assert returned is not None and returned.status == "returned"


async def test_clear_answers_starts_over(repo: Repository) -> None:
    unit, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        kept = await tx.create_assessment(unit.id, FRAMEWORK, 2022)
        for target in (assessment, kept):
            await tx.put_answer(target.id, "1a", "10", person.id)
            await tx.add_attachment(
                target.id, "1a", "photo", "telegram", "file-1", "anh.jpg", "image/jpeg", 1024,
                person.id,
            )  # fmt: skip
            await tx.put_narrative(target.id, "uu-diem", "Tích cực", True, person.id)
        await tx.clear_answers(assessment.id)

        assert await tx.answers(assessment.id) == {}
        assert await tx.attachments(assessment.id) == []
        assert await tx.narratives(assessment.id) == {}
        assert list(await tx.answers(kept.id)) == ["1a"]
        assert [a.file_name for a in await tx.attachments(kept.id)] == ["anh.jpg"]
        assert await tx.narratives(kept.id) == {"uu-diem": ("Tích cực", True)}
        assert await tx.latest_assessment(unit.id) == await tx.get_assessment_by_id(assessment.id)


async def test_events_are_append_only(repo: Repository, backend: str) -> None:
    _, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.log("answer", person_id=person.id, assessment_id=assessment.id, data={"v": "10"})
        await tx.log("pause")
    before = await _outside(backend, "SELECT * FROM events ORDER BY id")
    assert [row[2] for row in before] == ["answer", "pause"]
    assert before[0][6] == '{"v":"10"}' and before[1][6] == "{}"

    for sql in ("UPDATE events SET kind = 'forged'", "DELETE FROM events WHERE id = 1"):
        with pytest.raises(Refused, match="append-only"):
            await _outside(backend, sql)
    assert await _outside(backend, "SELECT * FROM events ORDER BY id") == before


async def test_chat_state_round_trips_as_json(repo: Repository) -> None:
    unit, person, _ = await _seeded(repo)
    state = ChatState(
        channel="telegram",
        chat_id="-100123",
        person_id=person.id,
        mode="question",
        data={"code": "3a", "items": [1, 0, 1], "ghi chú": "Đã xong", "nested": {"n": None}},
        nonce="k3x9",
        unit_id=unit.id,
    )
    async with repo.transaction() as tx:
        assert await tx.get_chat("telegram", "-100123") is None
        await tx.save_chat(state)
    async with repo.transaction() as tx:
        assert await tx.get_chat("telegram", "-100123") == state
        state.mode, state.data, state.unit_id = "start", {}, None
        await tx.save_chat(state)
    async with repo.transaction() as tx:
        assert await tx.get_chat("telegram", "-100123") == state


async def test_people_units_memberships_and_invites(repo: Repository) -> None:
    unit, person, _ = await _seeded(repo)
    expires = datetime(2030, 1, 1, 7, tzinfo=UTC) + timedelta(hours=7)
    async with repo.transaction() as tx:
        renamed = await tx.upsert_person("console", "lan", "Cô Lan")
        await tx.add_membership(unit.id, person.id, "staff")
        await tx.add_membership(unit.id, person.id, "leader")  # a change of role
        updated = await tx.update_unit(unit.id, {"member_count": 32, "place_name": "Ba Vì"})
        invite = await tx.create_invite("ABC123", unit.id, "staff", person.id, expires)
        await tx.revoke_invite("ABC123")
        revoked = await tx.get_invite("ABC123")
        with pytest.raises(ValueError, match="naive"):
            await tx.create_invite("X", unit.id, "staff", None, datetime(2030, 1, 1))
        with pytest.raises(ValueError, match="not unit fields"):
            await tx.update_unit(unit.id, {"id": 5})
        with pytest.raises(NotFound):
            await tx.update_unit(unit.id + 100, {"phone": "0243"})
        with pytest.raises(ConstraintError):
            await tx.update_unit(unit.id, {"member_count": "ba mươi"})
        assert (await tx.update_unit(unit.id, {"member_count": "31"})).member_count == 31
        assert await tx.members(unit.id) == [(renamed, "leader")]
        assert [m.role for m in await tx.memberships(person.id)] == ["leader"]
    assert renamed.id == person.id and renamed.display_name == "Cô Lan"
    assert (updated.member_count, updated.place_name, updated.name) == (32, "Ba Vì", unit.name)
    assert invite.expires_at == expires and not invite.revoked
    assert revoked is not None and revoked.revoked


async def test_the_level1_decision_is_kept_with_the_unit(repo: Repository) -> None:
    unit, _, _ = await _seeded(repo)
    assert (unit.level1_decision_number, unit.level1_decision_date) == (None, None)  # not asked
    async with repo.transaction() as tx:
        fields = {
            "level1_decision_number": "125/QĐ-UBND",
            "level1_decision_date": date(2024, 1, 20),
        }
        await tx.update_unit(unit.id, fields)
    async with repo.transaction() as tx:
        stored = await tx.get_unit(unit.id)
    with pytest.raises(ConstraintError):  # not a calendar date: refused by the schema
        async with repo.transaction() as tx:
            await tx.update_unit(unit.id, {"level1_decision_date": "2024-02-30"})
    assert stored is not None
    assert (stored.level1_decision_number, stored.level1_decision_date) == (
        "125/QĐ-UBND",
        date(2024, 1, 20),
    )


# --- what other connections and rolled-back transactions leave ----------------------------------


async def test_a_change_committed_by_another_process_is_seen_at_once(
    repo: Repository, backend: str
) -> None:
    """Another connection's commit (a second process on the file) is what the next turn reads."""
    unit, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:  # read everything a turn reads: now kept
        await tx.put_answer(assessment.id, "1a", "7", person.id)
        assert (await tx.answers(assessment.id))["1a"].value == "7"
        assert (await tx.get_unit(unit.id)) is not None
        assert [m.unit_id for m in await tx.memberships(person.id)] == []
    for sql in (  # e.g. a second process on the same database
        "UPDATE answers SET value = '3' WHERE code = '1a'",
        f"UPDATE units SET name = 'Tên mới' WHERE id = {unit.id}",
        f"UPDATE assessments SET status = 'submitted' WHERE id = {assessment.id}",
        "INSERT INTO memberships (unit_id, person_id, role, created_at)"
        f" VALUES ({unit.id}, {person.id}, 'staff', '2024-01-01T00:00:00+00:00')",
    ):
        await _outside(backend, sql)
    async with repo.transaction() as tx:
        assert (await tx.answers(assessment.id))["1a"].value == "3"
        assert (await tx.get_unit(unit.id)).name == "Tên mới"  # type: ignore[union-attr]
        assert (await tx.get_assessment_by_id(assessment.id)).status == "submitted"  # type: ignore[union-attr]
        assert [m.unit_id for m in await tx.memberships(person.id)] == [unit.id]
    with pytest.raises(ConstraintError):  # the guard reads the database, not memory
        async with repo.transaction() as tx:
            await tx.put_answer(assessment.id, "1a", "9", person.id)


async def test_a_rolled_back_transaction_leaves_no_kept_row_behind(repo: Repository) -> None:
    unit, person, assessment = await _seeded(repo)
    with pytest.raises(RuntimeError):
        async with repo.transaction() as tx:
            await tx.answers(assessment.id)
            await tx.put_answer(assessment.id, "1a", "7", person.id)
            await tx.update_unit(unit.id, {"name": "Tên tạm"})
            assert (await tx.get_unit(unit.id)).name == "Tên tạm"  # type: ignore[union-attr]
            assert (await tx.answers(assessment.id))["1a"].value == "7"
            raise RuntimeError("the turn failed")
    async with repo.transaction() as tx:
        assert await tx.answers(assessment.id) == {}
        assert (await tx.get_unit(unit.id)).name == "Trường THCS Kim Đồng"  # type: ignore[union-attr]


async def test_kept_rows_follow_this_process_writes(repo: Repository) -> None:
    """What a transaction writes, the next one reads back, from memory or not."""
    unit, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.answers(assessment.id)
        await tx.get_assessment_by_id(assessment.id)
        await tx.put_answer(assessment.id, "1a", "7", person.id)
        await tx.append_evidence(assessment.id, "1a", "Quyết định số 12", person.id)
        await tx.set_cursor(assessment.id, "1a")
        await tx.add_membership(unit.id, person.id, "leader")
        renamed = await tx.upsert_person("console", "lan", "Lan (kế toán)")
    async with repo.transaction() as tx:
        record = (await tx.answers(assessment.id))["1a"]
        assert (record.value, record.evidence) == ("7", "Quyết định số 12")
        assert (await tx.get_assessment_by_id(assessment.id)).cursor == "1a"  # type: ignore[union-attr]
        assert [(m.unit_id, m.role) for m in await tx.memberships(person.id)] == [
            (unit.id, "leader")
        ]
        assert (await tx.upsert_person("console", "lan", "Lan (kế toán)")) == renamed
        await tx.record_submission(assessment.id, person.id, date(2024, 3, 1), None)
    async with repo.transaction() as tx:
        assert (await tx.get_assessment_by_id(assessment.id)).status == "submitted"  # type: ignore[union-attr]


async def test_an_answer_moves_the_cursor_to_its_question(repo: Repository) -> None:
    """Resume goes on after the last question answered, whoever answered it."""
    _, person, assessment = await _seeded(repo)
    async with repo.transaction() as tx:
        await tx.put_answer(assessment.id, "2b", "4", person.id)
    async with repo.transaction() as tx:
        assert (await tx.get_assessment_by_id(assessment.id)).cursor == "2b"  # type: ignore[union-attr]
        await tx.put_answer(assessment.id, "1a", "7", person.id)
        assert (await tx.get_assessment_by_id(assessment.id)).cursor == "1a"  # type: ignore[union-attr]
