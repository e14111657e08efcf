"""Numbered schema migrations: `storage/migrations/NNNN_name.sql`, applied in order at open.

Each migration runs in its own immediate transaction together with its row in
`schema_migrations`, so a migration is either applied and recorded, or not at all; a second
process opening the same database at the same time waits and then skips what is done.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import aiosqlite

PACKAGE = "storage"
DIRECTORY = "migrations"
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
    for entry in resources.files(package).joinpath(directory).iterdir():
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
