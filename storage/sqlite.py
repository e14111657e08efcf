"""The repository on SQLite through aiosqlite: WAL, group commit, transactions serialised.

Every statement runs on aiosqlite's thread, never on the event loop. Write transactions share one
connection and run one at a time inside the connection's SQLite transaction (`BEGIN IMMEDIATE`:
the write lock is taken at once, so two processes on one file wait for each other instead of
failing half-way), and many of them share one COMMIT (group commit, see `SqliteRepository`).
Snapshots (`snapshot()`) read on a second connection and take no write lock. The statements
are `storage.sql`'s, shared with PostgreSQL; here are SQLite's own queries and how statements
run on aiosqlite.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import aiosqlite

from storage.base import (
    AnswerRecord,
    Assessment,
    ChannelHeld,
    Conflict,
    ConstraintError,
    Duplicate,
    StorageError,
    Transaction,
    Unit,
)
from storage.migrate import apply_migrations
from storage.sql import (
    _ASSESSMENT_COLS,
    _PERSON_COLS,
    Params,
    Row,
    SqlTransaction,
    _Later,
)

MEMORY = ":memory:"
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_MS = 5000  # how long a statement waits for another process's write lock
CHECKPOINT_SECONDS = 1.0  # how often the WAL is copied back into the database, off the commits
_DUPLICATE = frozenset(("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"))


def _json_row(record: type[Any], table: str) -> str:
    """A SQL expression that packs a row of `table` as a JSON object keyed by the record's
    fields (several rows and kinds of row in one query: one hop to aiosqlite's thread)."""
    return "json_object(" + ", ".join(f"'{f.name}', {table}.{f.name}" for f in fields(record)) + ")"


# What every turn starts from, in one query: the person, their memberships with each unit, their
# private chat (the chat most turns come from) and the assessment with answers that chat works on
# (what a turn reads next: each query saved is a hop to aiosqlite's thread and back).
_PERSON_AND_SO_ON = (
    f"SELECT {_PERSON_COLS},"
    " (SELECT json_group_array(json_array(unit_id, role, json(unit))) FROM"
    f" (SELECT m.unit_id, m.role, {_json_row(Unit, 'u')} AS unit FROM memberships AS m"
    " JOIN units AS u ON u.id = m.unit_id WHERE m.person_id = people.id"
    " ORDER BY m.created_at, m.unit_id)) AS units,"
    " (SELECT json_object('channel', c.channel, 'chat_id', c.chat_id, 'person_id', c.person_id,"
    " 'mode', c.mode, 'data', c.data, 'nonce', c.nonce, 'unit_id', c.unit_id) FROM chats AS c"
    " WHERE c.channel = people.channel AND c.chat_id = people.channel_user_id) AS chat,"
    f" (SELECT {_json_row(Assessment, 'w').removesuffix(')')}, 'answers',"
    f" (SELECT json_group_array({_json_row(AnswerRecord, 'a')}) FROM"
    " (SELECT * FROM answers WHERE assessment_id = w.id ORDER BY code) AS a))"
    " FROM chats AS c JOIN assessments AS w ON w.id = json_extract(c.data, '$.assessment_id')"
    " WHERE c.channel = people.channel AND c.chat_id = people.channel_user_id) AS work"
    " FROM people WHERE channel = ? AND channel_user_id = ?"
)
# The same with whether the event's update was processed already, as one row even on a person's
# first contact (then every person column is NULL).
_TURN_START = (
    "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE channel = ? AND update_id = ?) AS seen,"
    + _PERSON_AND_SO_ON.removeprefix("SELECT ").replace(
        " FROM people WHERE channel = ? AND channel_user_id = ?",
        " FROM (SELECT 1) LEFT JOIN people ON channel = ? AND channel_user_id = ?",
    )
)
# An assessment with its answers, in one query (a turn that reads one reads the other).
_ASSESSMENT_AND_ANSWERS = (
    f"SELECT {_ASSESSMENT_COLS}, (SELECT json_group_array({_json_row(AnswerRecord, 'a')})"
    " FROM (SELECT * FROM answers WHERE assessment_id = assessments.id ORDER BY code) AS a)"
    " AS answers FROM assessments WHERE id = ?"
)


async def _write_held(later: _Later, conn: aiosqlite.Connection) -> None:
    """The batch's held writes, one `executemany` each (just before its COMMIT)."""
    with _translated():
        for sql, rows in later.statements():
            await conn.executemany(sql, rows)
    later.clear()


@contextmanager
def _translated() -> Iterator[None]:
    """SQLite's errors as the storage's own (the engine knows no driver)."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if getattr(error, "sqlite_errorname", "") in _DUPLICATE:
            raise Duplicate(str(error)) from error
        raise ConstraintError(str(error)) from error
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
            raise Conflict(str(error)) from error
        raise StorageError(str(error)) from error
    except sqlite3.Error as error:
        raise StorageError(str(error)) from error


class SqliteTransaction(SqlTransaction):
    """`storage.base.Transaction` on an aiosqlite connection, inside the connection's SQLite
    transaction (or, read-only, inside a snapshot's read transaction)."""

    TURN_START = _TURN_START
    PERSON_AND_SO_ON = _PERSON_AND_SO_ON
    ASSESSMENT_AND_ANSWERS = _ASSESSMENT_AND_ANSWERS
    PARAGRAPH_BREAK = "char(10, 10)"

    def __init__(
        self, conn: aiosqlite.Connection, *, writable: bool = True, batch: _Later | None = None
    ) -> None:
        super().__init__(conn, writable=writable, batch=batch)

    def _write(self) -> aiosqlite.Connection:
        conn: aiosqlite.Connection = super()._write()
        if not conn.in_transaction:  # SQLite rolled it back: never write outside it
            raise Conflict("the transaction was rolled back by SQLite")
        return conn

    async def _run(self, sql: str, params: Params = ()) -> int:
        """Execute one write; the number of rows it changed."""
        conn = self._write()
        with _translated():
            cursor = await conn.execute(sql, params)
        return cursor.rowcount

    async def _run_many(self, sql: str, rows: Sequence[Params]) -> None:
        """Execute one write for each of `rows` (one hop to aiosqlite's thread for all)."""
        conn = self._write()
        with _translated():
            await conn.executemany(sql, rows)

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (one hop to aiosqlite's thread)."""
        conn = self._write() if self._writable else self._open()
        with _translated():
            rows = await conn.execute_fetchall(sql, params)
        return list(rows)

    async def _run_then_all(
        self, write: tuple[str, Params], query: tuple[str, Params]
    ) -> tuple[int, list[Row]]:
        """A write (the rows it changed), then a statement with rows (them).

        aiosqlite runs a connection's calls on its one thread in the order they were queued,
        so both are queued at once: the turn, which holds the write connection meanwhile,
        waits for the event loop to hand it a result once instead of twice (under load that
        wait is the loop's round through every other chat's work). Should SQLite roll the
        transaction back at the write (a full disk, an interrupt), the query queued behind it
        runs outside any transaction: it must then change nothing (see `_IF_MARKED`)."""
        conn = self._write()
        with _translated():
            done, rows = await asyncio.gather(
                conn.execute(*write), conn.execute_fetchall(*query), return_exceptions=True
            )
            for outcome in (done, rows):
                if isinstance(outcome, BaseException):
                    raise outcome
        assert isinstance(done, aiosqlite.Cursor) and not isinstance(rows, BaseException)
        return done.rowcount, list(rows)


class SqliteRepository:
    """`storage.base.Repository` on a SQLite file; open it with `await SqliteRepository.open(path)`.

    Group commit: each `transaction()` runs inside the connection's current SQLite transaction;
    its caller resumes only once a COMMIT that includes it has reached the disk. Transactions
    that queue while a commit is being written run next and share the following commit, so one
    fsync serves many answers under load. A failed block (or SQLite rolling back by itself: a
    full disk, an I/O error, an interrupt) undoes the whole batch, and the other transactions
    of that batch fail with `Conflict`, never confirmed: the engine runs those turns again,
    other callers go through `storage.base.retrying`. There is no savepoint per transaction on
    purpose (two statements fewer a turn, measured in bench.turns); a failed turn is rare.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str, synchronous: str) -> None:
        self._conn = conn
        self._path = path
        self._synchronous = synchronous
        self._lock = asyncio.Lock()  # one transaction (or the commit) on the connection at a time
        self._closed = False
        self._waiting: list[asyncio.Future[None]] = []  # released, waiting for their commit
        self._committer: asyncio.Task[None] | None = None
        self._reader: aiosqlite.Connection | None = None  # snapshots (opened when first asked)
        self._reader_lock = asyncio.Lock()
        self._held: dict[str, int] = {}  # channel -> file descriptor of its lock file
        self._later = _Later()  # the batch's writes held until its commit
        self._checkpointer: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, path: str | Path, *, synchronous: str = "FULL", migrate: bool = True
    ) -> SqliteRepository:
        """Open (creating it and its folders if needed) and migrate the database at `path`."""
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS)}: {synchronous!r}"
            )
        name = str(path)
        try:
            if name != MEMORY:
                await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
            conn = await _connect(name, mode)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {name}: {exc}") from exc
        try:
            if migrate:
                await apply_migrations(conn)
            if name != MEMORY:  # checkpoints on their own connection, never inside a COMMIT
                await conn.execute("PRAGMA wal_autocheckpoint = 0")
        except BaseException:
            await conn.close()
            raise
        repository = cls(conn, name, mode)
        if name != MEMORY:
            repository._checkpointer = asyncio.create_task(repository._checkpoint_often())
        return repository

    async def _checkpoint_often(self) -> None:
        """Copy the WAL back into the database every CHECKPOINT_SECONDS on a connection of its
        own (a PASSIVE checkpoint: writers go on meanwhile). SQLite's automatic checkpoint runs
        inside the COMMIT that crosses its threshold, and every transaction of the next batch
        waited for it (bench.stall: p99 47 ms with no other work; ~4 ms without it)."""
        conn: aiosqlite.Connection | None = None
        try:
            while not self._closed:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                try:
                    conn = conn or await _connect(self._path, self._synchronous)
                    await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except (sqlite3.Error, StorageError):
                    continue  # busy, or the disk is full: the next round tries again
        finally:
            if conn is not None:
                await asyncio.shield(conn.close())

    @property
    def url(self) -> str:
        return self._path

    # --- write transactions -----------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run the block inside the connection's SQLite transaction; the caller continues after
        the commit that makes it durable. No savepoint per transaction (two statements fewer a
        turn): when a block fails, the whole SQLite transaction is rolled back and the
        transactions that ran before it in the same batch fail with `Conflict`, so their turns
        run again (the contract allows it); a failed block is rare, a turn is frequent."""
        async with self._lock:
            if self._closed:
                raise StorageError("the repository is closed")
            await self._begin()
            tx = SqliteTransaction(self._conn, batch=self._later)
            try:
                yield tx
                if not self._conn.in_transaction:  # SQLite ended it during the block
                    raise Conflict("the transaction was rolled back by SQLite")
                self._later.take(tx.later)
            except BaseException:
                await self._abort()
                raise
            finally:
                tx.end()
            durable = asyncio.get_running_loop().create_future()
            self._waiting.append(durable)
            self._commit_soon()
        await durable

    async def _begin(self) -> None:
        """Open the connection's SQLite transaction if none is open."""
        if self._conn.in_transaction:
            return
        if self._waiting:  # released into a transaction SQLite has since ended
            self._lose_batch("the transaction was rolled back by SQLite")
        begin = asyncio.ensure_future(self._conn.execute("BEGIN IMMEDIATE"))
        try:
            with _translated():
                await asyncio.shield(begin)
        except asyncio.CancelledError:  # let it finish, so the connection's state is known
            with contextlib.suppress(Exception):
                await begin
                if not self._waiting and self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")  # hold no write lock for nobody
            raise

    async def _abort(self) -> None:
        """Roll back the whole SQLite transaction after a failed block: the transactions
        released earlier into the same batch are undone with it, and told to run again."""
        self._lose_batch("undone with another transaction of its batch")
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await self._conn.execute("ROLLBACK")

    def _lose_batch(self, why: str) -> None:
        """Fail every transaction waiting for the current batch's commit (never confirmed)."""
        self._later.clear()
        batch, self._waiting = self._waiting, []
        _settle(batch, Conflict(f"not saved: {why}; run it again"))

    def _commit_soon(self) -> None:
        """Make sure a commit follows what ran so far (unless one is already on its way)."""
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit())

    async def _commit(self) -> None:
        """Commit everything released so far, once the transactions queued before it ran."""
        async with self._lock:
            await self._commit_now()

    async def _commit_now(self) -> None:
        """The batch's held writes, then COMMIT; each waiting transaction told how it went."""
        if self._closed and not self._waiting:
            return  # closed, and close() committed what there was
        if not self._conn.in_transaction:
            self._lose_batch("the transaction ended before its commit")
            return
        batch, self._waiting = self._waiting, []
        try:
            await _write_held(self._later, self._conn)
            await self._conn.execute("COMMIT")
        except BaseException as exc:
            self._later.clear()
            with contextlib.suppress(sqlite3.Error):
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
            _settle(batch, Conflict(f"not saved: the commit failed ({exc}); run it again"))
            if not isinstance(exc, Exception):
                raise
        else:
            _settle(batch, None)

    # --- snapshots --------------------------------------------------------------------------

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        """A read transaction on a second connection: one consistent state, no write lock (an
        in-memory database has no second connection: its snapshot waits for the writer)."""
        if self._path == MEMORY:
            async with self._lock:
                memory = SqliteTransaction(self._conn, writable=False)
                try:
                    yield memory
                finally:
                    memory.end()
            return
        async with self._reader_lock:
            if self._closed:
                raise StorageError("the repository is closed")
            if self._reader is None:
                self._reader = await _connect(self._path, self._synchronous)
            reader = self._reader
            tx = SqliteTransaction(reader, writable=False)
            try:
                if reader.in_transaction:  # left open by a snapshot cancelled at its BEGIN
                    await reader.execute("ROLLBACK")
                await reader.execute("BEGIN")
                yield tx
            finally:
                tx.end()
                if reader.in_transaction:
                    await reader.execute("ROLLBACK")

    # --- channels ---------------------------------------------------------------------------

    async def hold_channels(self, channels: Sequence[str], *, shared: bool = False) -> None:
        """An exclusive lock file per channel beside the database (`<db>.<channel>.lock`): the
        operating system releases it when the process ends, even by kill -9, so a restart takes
        the channel at once while a second live process is refused. `shared` changes nothing:
        on one file, one process runs a channel (several workers need PostgreSQL)."""
        if self._path == MEMORY:
            return
        for channel in channels:
            if channel not in self._held:
                try:
                    self._held[channel] = await asyncio.to_thread(_lock_file, self._path, channel)
                except OSError as exc:
                    raise StorageError(f"cannot take channel {channel}: {exc}") from exc

    # --- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Wait for running transactions and their commit, then close; closing twice is
        harmless."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._committer is not None:
            with contextlib.suppress(BaseException):
                await self._committer
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn.in_transaction:
                await self._commit_now()
            self._lose_batch("the repository was closed")
            await self._conn.close()
        async with self._reader_lock:
            if self._reader is not None:
                await self._reader.close()
        for descriptor in self._held.values():
            os.close(descriptor)
        self._held.clear()


def _settle(batch: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


async def _connect(path: str, synchronous: str) -> aiosqlite.Connection:
    """Connect and configure (WAL, foreign keys, the busy wait, durability)."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
        journal = str(next(iter(rows))[0]).lower()
        if journal != "wal" and path != MEMORY:
            raise StorageError(f"could not turn on WAL mode (journal_mode is {journal!r})")
        pragmas = ("foreign_keys = ON", f"busy_timeout = {BUSY_MS}", f"synchronous = {synchronous}")
        for pragma in pragmas:
            await conn.execute(f"PRAGMA {pragma}")
    except BaseException:
        await conn.close()
        raise
    return conn


def _lock_file(path: str, channel: str) -> int:
    """Open and lock `<path>.<channel>.lock`; ChannelHeld when another process holds it."""
    real = os.path.realpath(path)  # one lock whichever link or spelling reaches the file
    descriptor = os.open(f"{real}.{channel}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ChannelHeld(channel) from None
    return descriptor
