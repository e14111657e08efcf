"""Numbered schema migrations: `storage/migrations/NNNN_name.sql` (SQLite) and
`storage/migrations/postgres/NNNN_name.sql` (PostgreSQL), the same numbers and names for both,
applied in order at open.

Each migration runs in its own transaction together with its row in `schema_migrations`, so a
migration is either applied and recorded, or not at all; a second process opening the same
database at the same time waits (SQLite: the write lock; PostgreSQL: an advisory lock) and then
skips what is done.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import aiosqlite

PACKAGE = "storage"
DIRECTORY = "migrations"
POSTGRES_DIRECTORY = "migrations/postgres"
_PG_MIGRATION_LOCK = 0x64766874  # an advisory lock key: "dvht"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str = PACKAGE, directory: str = DIRECTORY) -> list[Migration]:
    """The package's migration files, ordered by version (duplicates are refused)."""
    found: dict[int, Migration] = {}
    folder = resources.files(package)
    for part in directory.split("/"):
        folder = folder.joinpath(part)
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(
                f"two migrations numbered {version}: {found[version].name}, {entry.name}"
            )
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (a trigger's BEGIN … END stays whole)."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise ValueError(f"incomplete SQL statement at the end of the script: {pending.strip()!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


async def applied_versions(conn: aiosqlite.Connection) -> set[int]:
    rows = await conn.execute_fetchall("SELECT version FROM schema_migrations")
    return {int(row[0]) for row in rows}


async def apply_migrations(
    conn: aiosqlite.Connection, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied now.

    The connection must be in autocommit mode (`isolation_level=None`) and outside a transaction.
    Runs once when the database is opened, before any transaction of the engine.
    """
    await conn.execute(_CREATE_TABLE)
    applied: list[int] = []
    for migration in load_migrations() if migrations is None else migrations:
        if await _apply_one(conn, migration):
            applied.append(migration.version)
    return applied


async def _apply_one(conn: aiosqlite.Connection, migration: Migration) -> bool:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        if migration.version in await applied_versions(conn):
            await conn.execute("ROLLBACK")
            return False
        for statement in split_statements(migration.sql):
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            (migration.version, datetime.now(UTC).isoformat()),
        )
        await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
    return True


async def apply_postgres_migrations(
    conn: Any, migrations: list[Migration] | None = None
) -> list[int]:
    """The same, on an asyncpg connection outside a transaction: each migration in its own
    transaction with its row in `schema_migrations`; processes opening the database at once
    take turns on an advisory lock (held for the session, released at the end)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _PG_MIGRATION_LOCK)
    try:
        await conn.execute(_CREATE_TABLE)
        applied: list[int] = []
        todo = load_migrations(directory=POSTGRES_DIRECTORY) if migrations is None else migrations
        for migration in todo:
            async with conn.transaction():
                done = await conn.fetchval(
                    "SELECT count(*) FROM schema_migrations WHERE version = $1", migration.version
                )
                if done:
                    continue
                await conn.execute(migration.sql)  # a whole script: the simple query protocol
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    migration.version,
                    datetime.now(UTC).isoformat(),
                )
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _PG_MIGRATION_LOCK)
