"""The repository on PostgreSQL through asyncpg: several worker processes on one database.

The same contract as `storage.sqlite` (`storage.base`), for a deployment past one machine:

- Every write transaction is SERIALIZABLE. PostgreSQL detects the transactions that could not
  have run one at a time (get-then-create of an assessment, a single-use code read then revoked,
  a pending decision read then set) and fails one of them with a serialization failure or a
  deadlock (SQLSTATE 40001 / 40P01): that is `Conflict`, and the engine runs the turn again.
- A turn takes its chat's advisory lock first (`start_turn(..., chat_id=…)`), before its
  transaction begins, so two events of one chat never run at once in any process, and the
  second one's transaction starts from what the first committed (a lock taken inside a
  serializable transaction would come after its snapshot and only make it fail).
- Outbox rows and jobs are claimed with `FOR UPDATE SKIP LOCKED`, each by one worker that runs
  the channel: an outbox row is leased (its next attempt moved OUTBOX_LEASE ahead) in the claiming
  transaction, so two workers sharing a channel never send one row twice.
- `hold_channels` takes an advisory lock per channel on a connection kept open for the
  process's life (PostgreSQL drops it when the process dies, even by kill -9): exclusive for a
  poller, shared for webhook workers, so a second poller, or a poller beside webhook workers,
  is refused.
- `snapshot()` is a READ ONLY REPEATABLE READ transaction: one consistent state, no lock held
  against the turns.

The rows are stored as SQLite stores them (ISO-8601 UTC text timestamps, 0/1 flags, JSON as
text), so the statements both dialects read alike are `storage.sql`'s, shared with SQLite, and
`python -m storage copy` moves rows between the two unchanged. Each
transaction commits on its own (no group commit: PostgreSQL's own WAL writer groups fsyncs).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.base import (
    AnswerRecord,
    ChannelHeld,
    Conflict,
    ConstraintError,
    Duplicate,
    OutboxMessage,
    Person,
    StorageError,
    Transaction,
    Unit,
)
from storage.migrate import apply_postgres_migrations
from storage.sql import (
    _ASSESSMENT_COLS,
    _PERSON_COLS,
    Row,
    SqlTransaction,
    _chat,
    _outbox,
    now,
    to_text,
)

SCHEMES = ("postgresql://", "postgres://")
POOL_SIZE = 10  # connections of one process (turns, the outbox, the job worker, snapshots)
LOCK_TIMEOUT = "20s"  # a chat's turn waits this long for the one before it, then Conflict
OUTBOX_LEASE = timedelta(seconds=60)  # a claimed row is offered again after this (worker died)
_CHAT_LOCKS = "chat"  # what an advisory lock key stands for: a chat's turn, a channel's holder
_CHANNEL_LOCKS = "channel"


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (else: a SQLite file)."""
    return url.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs (one that cannot be parsed is
    shown as its scheme alone: where its password starts is not known)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("://", 1)[0] + "://***" if "://" in url else "***"
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@lru_cache(maxsize=512)
def _dollars(sql: str) -> str:
    """SQLite's `?` placeholders as PostgreSQL's `$1, $2 …` (our statements have no `?` in a
    literal)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _key(*parts: str) -> int:
    """A stable signed 64-bit advisory lock key for `parts` (the same in every process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _count(status: str) -> int:
    """The number of rows a command changed, from its status ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


@contextmanager
def _translated() -> Iterator[None]:
    """asyncpg's errors as the storage's own (the engine knows no driver)."""
    try:
        yield
    except asyncpg.TransactionRollbackError as error:  # 40001 serialization, 40P01 deadlock
        raise Conflict(str(error)) from error
    except asyncpg.LockNotAvailableError as error:  # the chat's turn waited LOCK_TIMEOUT
        raise Conflict(str(error)) from error
    except asyncpg.UniqueViolationError as error:
        raise Duplicate(str(error)) from error
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as error:
        raise ConstraintError(str(error)) from error
    except asyncpg.InterfaceError as error:
        if isinstance(error, ValueError):  # a value of the wrong type for its column
            raise ConstraintError(str(error)) from error
        raise StorageError(str(error)) from error
    except (asyncpg.PostgresError, OSError) as error:
        raise StorageError(str(error)) from error


def _json_row(record: type[Any], table: str) -> str:
    """A row of `table` as a JSON object keyed by the record's fields (PostgreSQL's spelling
    of `storage.sqlite._json_row`)."""
    pairs = ", ".join(f"'{f.name}', {table}.{f.name}" for f in fields(record))
    return f"json_build_object({pairs})"


_PERSON_FROM = (
    "p.id, p.channel, p.channel_user_id, p.display_name,"
    " (SELECT COALESCE(json_agg(json_build_array(m.unit_id, m.role, "
    + _json_row(Unit, "u")
    + ") ORDER BY m.created_at, m.unit_id), '[]'::json) FROM memberships AS m"
    " JOIN units AS u ON u.id = m.unit_id WHERE m.person_id = p.id) AS units,"
    " (SELECT json_build_object('channel', c.channel, 'chat_id', c.chat_id, 'person_id',"
    " c.person_id, 'mode', c.mode, 'data', c.data, 'nonce', c.nonce, 'unit_id', c.unit_id)"
    " FROM chats AS c WHERE c.channel = p.channel AND c.chat_id = p.channel_user_id) AS chat,"
    # SQLite's query also brings the chat's assessment (one hop to its thread fewer); here the
    # assessment is read in the turn's serializable transaction, when the turn asks for it.
    " NULL::text AS work"
)
_PG_PERSON_AND_SO_ON = (
    f"SELECT {_PERSON_FROM} FROM people AS p WHERE p.channel = ? AND p.channel_user_id = ?"
)
_PG_TURN_START = (
    "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE channel = ? AND update_id = ?)"
    f" AS seen, {_PERSON_FROM} FROM (SELECT 1) AS one"
    " LEFT JOIN people AS p ON p.channel = ? AND p.channel_user_id = ?"
)
# What a turn reads under its chat's lock before its transaction (see `start_turn`).
_PG_OWN_ROWS = (
    "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE channel = $1 AND update_id = $2)"
    " AS seen, (SELECT json_build_array(id, display_name) FROM people"
    " WHERE channel = $3 AND channel_user_id = $4) AS person,"
    " (SELECT json_build_object('channel', c.channel, 'chat_id', c.chat_id, 'person_id',"
    " c.person_id, 'mode', c.mode, 'data', c.data, 'nonce', c.nonce, 'unit_id', c.unit_id)"
    " FROM chats AS c WHERE c.channel = $5 AND c.chat_id = $6) AS chat"
)
_PG_ASSESSMENT_AND_ANSWERS = (
    f"SELECT {_ASSESSMENT_COLS}, (SELECT COALESCE(json_agg({_json_row(AnswerRecord, 'a')}"
    " ORDER BY a.code), '[]'::json) FROM answers AS a WHERE a.assessment_id = assessments.id)"
    " AS answers FROM assessments WHERE id = ?"
)


# A turn's transaction. A sequential scan in a serializable transaction locks the whole table
# against the other transactions' writes (a relation-level predicate lock), and the planner
# picks one for a table that is still small (the answers of a new year): every concurrent turn
# then collides with every other (bench.turns, two workers: thousands of serialization failures
# a minute, some turns giving up). The turns read by key, so they are told to use the indexes;
# one round trip with the BEGIN (a script in the simple query protocol).
_BEGIN = "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL enable_seqscan = off"
_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"  # takes no predicate lock


class PostgresTransaction(SqlTransaction):
    """`storage.base.Transaction` on one asyncpg connection. The statements both dialects read
    alike are `storage.sql.SqlTransaction`'s, sent with `$n` placeholders; the few that differ are
    below. The transaction begins at its first statement, after the chat's lock if any."""

    TURN_START = _PG_TURN_START
    PERSON_AND_SO_ON = _PG_PERSON_AND_SO_ON
    ASSESSMENT_AND_ANSWERS = _PG_ASSESSMENT_AND_ANSWERS
    PARAGRAPH_BREAK = "chr(10) || chr(10)"
    CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"  # a job another worker is claiming now is skipped

    def __init__(
        self,
        conn: Any,
        *,
        writable: bool = True,
        exclusive: frozenset[str] = frozenset(),
        kept: KeptTurns | None = None,
    ) -> None:
        super().__init__(conn, writable=writable)
        self._begun = False
        self._chat_lock: int | None = None  # a session advisory lock to release at the end
        self._exclusive = exclusive  # channels this process alone runs
        self._kept = kept  # chats whose failed turn runs again, still holding their lock
        self.again = False  # set when the transaction failed with Conflict (it runs again)

    # --- the connection and its transaction -------------------------------------------------

    async def _begin(self) -> Any:
        conn = self._open()
        if not self._begun:
            with _translated():
                await conn.execute(_BEGIN if self._writable else _BEGIN_SNAPSHOT)
            self._begun = True
        return conn

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        self._write()
        conn = await self._begin()
        with _translated():
            status = await conn.execute(_dollars(sql), *params)
        return _count(status)

    async def _run_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self._write()
        conn = await self._begin()
        with _translated():
            await conn.executemany(_dollars(sql), rows)

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        if self._writable:
            self._write()
        conn = await self._begin()
        with _translated():
            rows = await conn.fetch(_dollars(sql), *params)
        return cast(list[Row], rows)

    async def _run_then_all(
        self, write: tuple[str, tuple[Any, ...]], query: tuple[str, tuple[Any, ...]]
    ) -> tuple[int, list[Row]]:
        """One after the other: an asyncpg connection runs one statement at a time."""
        return await self._run(*write), await self._all(*query)

    async def lock_chat(self, channel: str, chat_id: str) -> None:
        """Wait for the chat's turn. Before the transaction begins, a session lock (released
        by `finish`), so that the transaction's snapshot comes after the previous turn's
        commit; once it has begun (a caller that read first), a transaction lock."""
        key = _key(_CHAT_LOCKS, channel, chat_id)
        conn = self._open()
        held = None if self._begun or self._kept is None else self._kept.take(key)
        if held is not None:  # the run again of a turn that collided: its place is kept
            await self._kept.release(conn)  # type: ignore[union-attr]
            self._connection = held
            self._chat_lock = key
            return
        with _translated():
            if self._begun:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
            elif self._chat_lock is None:
                await conn.execute("SELECT pg_advisory_lock($1)", key)
                self._chat_lock = key

    async def commit(self) -> None:
        """The writes held for the end (the event log, chats, updates), then COMMIT."""
        later = self.later
        if not self._begun and not (later.updates or later.events or later.chats):
            return  # nothing read, nothing written
        conn = await self._begin()
        with _translated():
            for sql, rows in later.statements():
                await conn.executemany(_dollars(sql), rows)
            status = await conn.execute("COMMIT")
        later.clear()
        if status != "COMMIT":  # a statement had failed: PostgreSQL rolled it all back
            raise StorageError("not saved: a statement of the transaction failed")

    async def finish(self) -> Any:
        """Roll back what was not committed and release the chat's lock; the connection to
        give back to the pool (clean), or None when it was kept: a turn that collided keeps
        its chat's lock for its run again (`KeptTurns`), or an event of the same chat waiting
        in another process would be applied before it, out of order."""
        conn = self._connection
        if conn is None:
            return None
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
            if self._chat_lock is not None and self.again and self._kept is not None:
                self._kept.keep(self._chat_lock, conn)
                self._chat_lock = None
                return None
            if self._chat_lock is not None:
                await conn.execute("SELECT pg_advisory_unlock($1)", self._chat_lock)
        self._chat_lock = None
        return conn

    # --- what differs from SQLite -----------------------------------------------------------

    async def start_turn(
        self,
        channel: str,
        update_id: str | None,
        channel_user_id: str,
        display_name: str,
        chat_id: str | None = None,
    ) -> Person | None:
        """The chat's lock first (see `lock_chat`); then, before the transaction begins, what
        only this chat's own turns change: whether the update was processed, the person's row
        and the chat's state. Read outside the serializable transaction, these take no
        predicate lock, so turns of different chats do not collide on the pages of those
        tables (each turn reads and inserts there: under SERIALIZABLE, every pair of
        concurrent turns would); the chat's lock keeps them exact. The person's memberships
        and units, which other turns change, are read inside it."""
        chat = chat_id if chat_id is not None else channel_user_id
        await self.lock_chat(channel, chat)
        if self._begun or update_id is None:  # the caller read first: the plain way
            return await super().start_turn(channel, update_id, channel_user_id, display_name)
        key = (channel, update_id)
        with _translated():
            row = await self._open().fetchrow(
                _PG_OWN_ROWS, channel, update_id, channel, channel_user_id, channel, chat
            )
        if row["seen"] or key in self.later.updates:
            return None  # a redelivered update changes nothing
        self._write()
        self.later.updates[key] = now()
        known = json.loads(row["person"]) if row["person"] else None
        if known is None or known[1] != display_name:  # new, or renamed: written, not read
            written = await self._returning(
                "INSERT INTO people (channel, channel_user_id, display_name, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (channel, channel_user_id)"
                f" DO UPDATE SET display_name = excluded.display_name RETURNING {_PERSON_COLS}",
                (channel, channel_user_id, display_name, now()),
            )
            person = Person(*tuple(written))
        else:
            person = Person(int(known[0]), channel, channel_user_id, display_name)
        state = row["chat"]
        self._chats.setdefault((channel, chat), None if state is None else _chat(json.loads(state)))
        return person

    async def update_unit(self, unit_id: int, fields: dict[str, Any]) -> Unit:
        """Flags as 0/1 and a count given as digits as its number, as SQLite takes them."""
        return await super().update_unit(unit_id, {k: _as_stored(k, v) for k, v in fields.items()})

    async def due_messages(
        self, at: datetime, channels: Sequence[str], limit: int = 50
    ) -> list[OutboxMessage]:
        """The due rows of `channels`, leased to this worker: skipped by the others while
        another transaction holds them, and not due again for OUTBOX_LEASE (sent or failed
        before then, they are marked so)."""
        if not channels or not self._writable:  # a snapshot only looks
            return await super().due_messages(at, channels, limit)
        marks = ", ".join("?" * len(channels))
        rows = await self._all(
            "UPDATE outbox SET next_attempt_at = ? WHERE id IN (SELECT id FROM outbox"
            f" WHERE sent_at IS NULL AND channel IN ({marks}) AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)"
            " RETURNING id, person_id, channel, chat_id, payload, attempts, created_at",
            (to_text(at + OUTBOX_LEASE), *channels, to_text(at), limit),
        )
        return sorted(map(_outbox, rows), key=lambda message: message.id)

    async def release_jobs(self, channels: Sequence[str]) -> int:
        """Only for channels this process runs alone: a shared channel's running jobs may be
        another live worker's (theirs come back when their lease runs out)."""
        alone = [channel for channel in channels if channel in self._exclusive]
        return await super().release_jobs(alone)


_WHOLE_NUMBERS = frozenset(("member_count", "supervisor_id"))


def _as_stored(name: str, value: Any) -> Any:
    """A unit field's value as its column takes it (SQLite's column affinity does the same)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and name in _WHOLE_NUMBERS:
        if not (value.isascii() and value.isdecimal()):
            raise ConstraintError(f"{name} must be a whole number, not {value[:20]!r}")
        return int(value)
    return value


class KeptTurns:
    """Chats whose turn failed with `Conflict` and is about to run again (`retrying` pauses a
    moment first): their connection is kept, still holding the chat's lock, for the run again
    to take (`take`), so another process's event of that chat keeps waiting behind it. Not
    taken within KEEP_SECONDS (the turn gave up), the lock is released."""

    KEEP_SECONDS = 2.0

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._kept: dict[int, tuple[Any, asyncio.TimerHandle]] = {}
        self._dropping: set[asyncio.Task[None]] = set()

    def keep(self, key: int, conn: Any) -> None:
        loop = asyncio.get_running_loop()
        self._kept[key] = (conn, loop.call_later(self.KEEP_SECONDS, self._expire, key))

    def take(self, key: int) -> Any:
        kept = self._kept.pop(key, None)
        if kept is None:
            return None
        conn, timer = kept
        timer.cancel()
        return conn

    async def release(self, conn: Any) -> None:
        await self._pool.release(conn)

    def _expire(self, key: int) -> None:
        task = asyncio.ensure_future(self._drop(key))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _drop(self, key: int) -> None:
        conn = self.take(key)
        if conn is None:
            return
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("SELECT pg_advisory_unlock($1)", key)
        await self.release(conn)

    async def close(self) -> None:
        for key in list(self._kept):
            await self._drop(key)
        if self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)


class PostgresRepository:
    """`storage.base.Repository` on a PostgreSQL database: `await PostgresRepository.open(url)`."""

    def __init__(self, pool: Any, url: str) -> None:
        self._pool = pool
        self._url = url
        self._closed = False
        self._holder: Any = None  # the connection that holds this process's channels
        self._exclusive: frozenset[str] = frozenset()
        self._shared: frozenset[str] = frozenset()
        self._kept = KeptTurns(pool)

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, pool_size: int = POOL_SIZE
    ) -> PostgresRepository:
        """Connect (a pool of up to `pool_size` connections) and migrate the database."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                server_settings={"lock_timeout": LOCK_TIMEOUT, "application_name": "dvht"},
            )
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # ValueError: an address asyncpg cannot parse (e.g. an unclosed "[" of an IPv6 host)
            raise StorageError(f"cannot open the database {redacted(url)}: {exc}") from exc
        try:
            if migrate:
                async with pool.acquire() as conn:
                    with _translated():
                        await apply_postgres_migrations(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url)

    @property
    def url(self) -> str:
        return self._url

    async def _acquire(self) -> Any:
        if self._closed:
            raise StorageError("the repository is closed")
        try:
            return await self._pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"no connection to the database: {exc}") from exc

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        conn = await self._acquire()
        try:
            yield conn
        finally:
            await asyncio.shield(self._pool.release(conn))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A SERIALIZABLE transaction on a connection of the pool, committed before the block
        returns; `Conflict` when PostgreSQL could not serialise it (run it again)."""
        conn = await self._acquire()
        tx = PostgresTransaction(conn, exclusive=self._exclusive, kept=self._kept)
        try:
            yield tx
            await tx.commit()
        except Conflict:
            tx.again = True  # the caller runs it again: its chat's place is kept
            raise
        finally:
            done = await asyncio.shield(tx.finish())
            tx.end()
            if done is not None:
                await asyncio.shield(self._pool.release(done))

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        """A READ ONLY REPEATABLE READ transaction: one consistent state, no lock held."""
        async with self._connection() as conn:
            tx = PostgresTransaction(conn, writable=False)
            try:
                yield tx
            finally:
                await asyncio.shield(tx.finish())  # a snapshot holds no chat's lock
                tx.end()

    async def hold_channels(self, channels: Sequence[str], *, shared: bool = False) -> None:
        """An advisory lock per channel on a connection of its own, kept until `close` (or
        until the process dies: PostgreSQL drops it with the connection). Exclusive for a
        poller; `shared` for webhook workers, who run the channel together."""
        if self._closed:
            raise StorageError("the repository is closed")
        try:
            if self._holder is None:
                self._holder = await asyncpg.connect(self._url)
            for channel in channels:
                if channel in self._exclusive or channel in self._shared:
                    continue
                function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
                taken = await self._holder.fetchval(
                    f"SELECT {function}($1)", _key(_CHANNEL_LOCKS, channel)
                )
                if not taken:
                    raise ChannelHeld(channel)
                if shared:
                    self._shared |= {channel}
                else:
                    self._exclusive |= {channel}
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"cannot take channels {', '.join(channels)}: {exc}") from exc

    async def close(self) -> None:
        """Wait for the transactions under way, then close every connection; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self._holder is not None:
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await self._holder.close()
            self._holder = None
        await self._kept.close()
        await self._pool.close()
