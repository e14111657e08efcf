"""Copy a whole store to another one (SQLite -> PostgreSQL, and back), checked row for row.

Both backends keep the same tables, columns and stored values (see storage/migrations/), so a
row is copied as it is. Both stores are first migrated to the latest schema; the destination
must be empty (`replace=True` empties it first). The copy is one transaction on the
destination (a failure leaves it as it was) read from one consistent state of the source.
Afterwards every table is compared: its number of rows and a digest of all its rows in key
order, computed the same way on both sides.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg

from storage import open_repository
from storage.base import StorageError
from storage.postgres import is_postgres

# Every table of the schema, in an order where what a row refers to is copied before it
# (units.supervisor_id, which may point to a later unit, is set in a second pass).
TABLES = (
    "units", "people", "memberships", "invites", "assessments", "answers", "attachments",
    "narratives", "chats", "processed_updates", "events", "outbox", "reminders", "jobs",
    "documents", "part_notes", "live_keyboards",
)  # fmt: skip
KEYS = {  # each table's primary key: the order rows are read and digested in
    "memberships": ("unit_id", "person_id"),
    "invites": ("code",),
    "answers": ("assessment_id", "code"),
    "narratives": ("assessment_id", "section"),
    "chats": ("channel", "chat_id"),
    "processed_updates": ("channel", "update_id"),
    "reminders": ("unit_id", "year"),
    "part_notes": ("assessment_id", "code"),
    "live_keyboards": ("channel", "chat_id"),
}
TEXT_KEYS = frozenset(("code", "section", "channel", "chat_id", "update_id"))
IDENTITY = ("units", "people", "assessments", "attachments", "events", "outbox", "jobs")
BATCH = 500


class NotEmpty(Exception):
    """The destination already holds rows (the tables named): refused unless replace."""


class MissingSource(Exception):
    """The source is a SQLite file that does not exist: opening it would create an empty store
    and copy nothing over the destination (with replace, erase it), so nothing is done."""


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    source_rows: int
    copied_rows: int
    source_digest: str
    copied_digest: str

    @property
    def same(self) -> bool:
        return (self.source_rows, self.source_digest) == (self.copied_rows, self.copied_digest)


class _Side(Protocol):
    async def columns(self, table: str) -> list[str]: ...

    def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[tuple[Any, ...]]: ...

    async def count(self, table: str) -> int: ...

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Add rows (inside the side's open transaction)."""

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def empty(self) -> None: ...

    async def after_copy(self) -> None: ...

    async def close(self) -> None: ...


def _order(table: str, collate: str = "") -> str:
    """The table's key, for ORDER BY; text keys in byte order on PostgreSQL (`COLLATE "C"`,
    as SQLite's BINARY), whatever the database's own collation."""
    key = KEYS.get(table, ("id",))
    return ", ".join(f"{c}{collate if c in TEXT_KEYS else ''}" for c in key)


class _Sqlite:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def columns(self, table: str) -> list[str]:
        rows = await self.conn.execute_fetchall(f"PRAGMA table_info({table})")
        return [str(row[1]) for row in rows]

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[tuple[Any, ...]]:
        sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_order(table)}"
        async with self.conn.execute(sql) as cursor:
            while batch := await cursor.fetchmany(BATCH):
                for row in batch:
                    yield tuple(row)

    async def count(self, table: str) -> int:
        rows = list(await self.conn.execute_fetchall(f"SELECT count(*) FROM {table}"))
        return int(rows[0][0])

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        await self.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)

    async def empty(self) -> None:
        """Delete every row; the event log's append-only triggers are dropped for it and put
        back in the same transaction."""
        triggers = await self.conn.execute_fetchall(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        )
        for name, _ in triggers:
            await self.conn.execute(f"DROP TRIGGER {name}")
        for table in reversed(TABLES):
            await self.conn.execute(f"DELETE FROM {table}")
        for _, sql in triggers:
            await self.conn.execute(sql)

    async def after_copy(self) -> None:
        """(SQLite moves each AUTOINCREMENT counter past the ids inserted by itself.)"""

    async def close(self) -> None:
        await self.conn.close()


class _Postgres:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def columns(self, table: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1"
            " AND table_schema = current_schema() ORDER BY ordinal_position",
            table,
        )
        return [str(row[0]) for row in rows]

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[tuple[Any, ...]]:
        order = _order(table, ' COLLATE "C"')
        sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
        async for row in self.conn.cursor(sql, prefetch=BATCH):
            yield tuple(row)

    async def count(self, table: str) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {table}"))

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql, *args)

    async def empty(self) -> None:
        """TRUNCATE fires no row trigger: the event log's append-only rule is for statements
        that change rows, not for emptying a store that is being replaced."""
        await self.conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")

    async def after_copy(self) -> None:
        """Move each identity counter past the highest id copied (the next row is new)."""
        for table in IDENTITY:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )

    async def close(self) -> None:
        await self.conn.close()


async def _open(url: str, *, write: bool) -> _Side:
    """Migrate the store, then a raw connection to it in a transaction: a consistent read of
    the source, one atomic write of the destination."""
    repository = await open_repository(url)
    await repository.close()
    if is_postgres(url):
        conn = await asyncpg.connect(url)
        mode = "SERIALIZABLE" if write else "REPEATABLE READ READ ONLY"
        await conn.execute(f"BEGIN ISOLATION LEVEL {mode}")
        return _Postgres(conn)
    lite = await aiosqlite.connect(url, isolation_level=None)
    await lite.execute("PRAGMA foreign_keys = ON")
    await lite.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    return _Sqlite(lite)


def _canonical(row: tuple[Any, ...]) -> bytes:
    """One row as bytes that do not depend on the backend it was read from."""
    values = [{"bytes": bytes(v).hex()} if isinstance(v, bytes | memoryview) else v for v in row]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def _digest(side: _Side, table: str, columns: Sequence[str]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    async for row in side.rows(table, columns):
        digest.update(_canonical(row))
        count += 1
    return count, digest.hexdigest()


async def copy(source: str, destination: str, *, replace: bool = False) -> list[TableCheck]:
    """Copy every row of `source` into `destination`; the check of each table. `NotEmpty`
    when the destination has rows and `replace` is not set (nothing is changed then);
    `StorageError` when a database fails on the way (the destination is left as it was);
    `MissingSource` when the source is a SQLite file that is not there (a typo)."""
    if not is_postgres(source) and not Path(source).is_file():
        raise MissingSource(source)
    try:
        return await _copy(source, destination, replace)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error) as exc:
        raise StorageError(str(exc)) from exc


async def _copy(source: str, destination: str, replace: bool) -> list[TableCheck]:
    src = await _open(source, write=False)
    try:
        dst = await _open(destination, write=True)
    except BaseException:
        await src.close()
        raise
    try:
        held = [table for table in TABLES if await dst.count(table)]
        if held and not replace:
            raise NotEmpty(", ".join(held))
        if held:
            await dst.empty()
        columns = {table: await _same_columns(src, dst, table) for table in TABLES}
        for table in TABLES:
            await _copy_table(src, dst, table, columns[table])
        await dst.after_copy()
        checks = [await _check(src, dst, table, columns[table]) for table in TABLES]
        if all(check.same for check in checks):
            await dst.execute("COMMIT")
        return checks
    finally:
        await dst.close()  # without COMMIT: rolled back
        await src.close()


async def _same_columns(src: _Side, dst: _Side, table: str) -> list[str]:
    theirs, ours = await src.columns(table), await dst.columns(table)
    if sorted(theirs) != sorted(ours):
        raise ValueError(f"table {table}: columns differ ({theirs} / {ours})")
    return theirs


async def _copy_table(src: _Side, dst: _Side, table: str, columns: list[str]) -> None:
    later: list[tuple[Any, Any]] = []  # (id, supervisor_id) of units, set in a second pass
    place = columns.index("supervisor_id") if table == "units" else -1
    batch: list[tuple[Any, ...]] = []
    async for row in src.rows(table, columns):
        if place >= 0 and row[place] is not None:
            later.append((row[columns.index("id")], row[place]))
            row = (*row[:place], None, *row[place + 1 :])
        batch.append(row)
        if len(batch) >= BATCH:
            await dst.insert(table, columns, batch)
            batch = []
    if batch:
        await dst.insert(table, columns, batch)
    for unit_id, supervisor_id in later:
        await dst.execute(
            "UPDATE units SET supervisor_id = $1 WHERE id = $2", supervisor_id, unit_id
        )


async def _check(src: _Side, dst: _Side, table: str, columns: list[str]) -> TableCheck:
    rows, digest = await _digest(src, table, columns)
    copied, copied_digest = await _digest(dst, table, columns)
    return TableCheck(table, rows, copied, digest, copied_digest)
