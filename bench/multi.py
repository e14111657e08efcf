"""Turns per second with several worker processes on one PostgreSQL, beside SQLite.

    python -m bench.turns --db postgresql://… --workers 1 2 [--units 1000] [--turns 3000]
                          [--people 8]

Each worker is a separate process (multiprocessing, "spawn") with the whole stack of
`bench.turns`: python-telegram-bot's Application, the adapter, the engine, its repository.
The workers share the chats (worker i takes the chats whose number is i modulo N) and start
measuring at one agreed moment; each runs `--people` people at once (closed loop: the next
message as soon as the reply is out). Printed per configuration: turns a second (all the
workers' turns over the time the slowest took), p50/p99 of a turn, and the time each turn
spent waiting for its database (the driver's calls: aiosqlite's, asyncpg's), beside the same
workload on SQLite (one process: SQLite has one writer) in the same run.

The database time is measured by timing the driver's query methods in the worker processes
(the benchmark's own instrumentation, never in the service).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any

from bench.common import percentile, seed_units
from storage import open_repository
from storage.base import ATTEMPTS
from storage.postgres import is_postgres, redacted

WARM_CHATS = 8  # per worker, beyond the measured chats
MAX_TURNS_PER_CHAT = 32


@dataclass
class Share:
    """What one worker measured."""

    latencies: list[float]
    began: float
    ended: float
    database: float  # seconds awaiting the database driver, all turns together
    gave_up: int  # turns the engine gave up after ATTEMPTS conflicts (the person told to retry)


_waiting = [0.0]


class _GaveUp(logging.Handler):
    """Counts the engine's "a turn gave up after N conflicts" warnings."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "gave up" in record.getMessage():
            _GaveUp.count += 1


def _timed(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            _waiting[0] += time.perf_counter() - began

    return timed


def _instrument() -> None:
    """Time every call the repositories make to their driver (this process only)."""
    import aiosqlite
    import asyncpg

    for cls, names in (
        (asyncpg.Connection, ("execute", "executemany", "fetch", "fetchrow", "fetchval")),
        (aiosqlite.Connection, ("execute", "executemany", "execute_fetchall")),
    ):
        for name in names:
            setattr(cls, name, _timed(getattr(cls, name)))


def worker(args: tuple[str, int, int, int, int, int, int, float, str]) -> Share:
    """One worker process's share (run in a spawned process)."""
    return asyncio.run(_share(*args))


async def _share(
    url: str,
    units: int,
    turns: int,
    people: int,
    session: int,
    index: int,
    count: int,
    start_at: float,
    folder: str,
) -> Share:
    from bench.turns import Workload, bench_application
    from conversations.engine import Engine
    from conversations.settings import Settings

    _instrument()
    logging.getLogger("conversations.engine").addHandler(_GaveUp())
    logging.getLogger("conversations.engine").propagate = False
    repo = await open_repository(url, migrate=False)
    engine = Engine(repo, Settings(reports_dir=Path(folder)), today=lambda: date(2024, 2, 1))
    app = bench_application(engine)
    work = Workload(units, session, app)
    work.ids = itertools.count(10_000_000 * (index + 1))  # update ids apart from the others
    mine = deque(chat for chat in range(1, units + 1) if chat % count == index)
    warm = range(units + 1 + index * WARM_CHATS, units + 1 + (index + 1) * WARM_CHATS)
    async with app:
        for chat in warm:
            for _ in range(MAX_TURNS_PER_CHAT):
                await work.turn(chat)
        work.latencies.clear()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        _waiting[0] = 0.0
        _GaveUp.count = 0
        began = time.time()

        async def person(todo: int) -> None:
            chat = mine.popleft()
            for _ in range(todo):
                if not await work.turn(chat):
                    mine.append(chat)
                    chat = mine.popleft()

        await asyncio.gather(*(person(turns // people) for _ in range(people)))
        ended = time.time()
    await repo.close()
    return Share(work.latencies, began, ended, _waiting[0], _GaveUp.count)


async def _fresh(url: str, units: int, workers: int) -> str:
    """A new database for one run (on PostgreSQL: created beside the one named, dropped by
    `_drop`), seeded with the units' open assessments."""
    if is_postgres(url):
        import asyncpg

        name = f"dvht_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        target = url.rsplit("/", 1)[0] + "/" + name
    else:
        target = url
    repo = await open_repository(target)
    try:
        await seed_units(repo, units + WARM_CHATS * workers)  # type: ignore[arg-type]
    finally:
        await repo.close()
    return target


async def _drop(admin_url: str, url: str) -> None:
    if not is_postgres(url):
        return
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def measure(url: str, workers: int, units: int, turns: int, people: int, session: int) -> str:
    """One configuration's line."""
    target = asyncio.run(_fresh(url, units, workers))
    try:
        with tempfile.TemporaryDirectory() as folder:
            start_at = time.time() + 6 + 3 * workers  # spawned, imported and warmed by then
            jobs = [
                (target, units, turns // workers, people, session, i, workers, start_at, folder)
                for i in range(workers)
            ]
            context = multiprocessing.get_context("spawn")
            with context.Pool(workers) as pool:
                shares = pool.map(worker, jobs)
    finally:
        asyncio.run(_drop(url, target))
    latencies = [x * 1000 for share in shares for x in share.latencies]
    seconds = max(s.ended for s in shares) - min(s.began for s in shares)
    database = sum(s.database for s in shares) / len(latencies) * 1000
    name = "PostgreSQL" if is_postgres(url) else "SQLite"
    gave_up = sum(s.gave_up for s in shares)
    return (
        f"{name}, {workers} worker{'s' if workers > 1 else ''} × {people} people at once,"
        f" {units} open assessments: {len(latencies) / seconds:,.0f} turns/s,"
        f" p50 {statistics.median(latencies):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms,"
        f" database {database:.2f} ms a turn, {gave_up} gave up after {ATTEMPTS} conflicts"
    )


def main(url: str, workers: list[int], units: int, turns: int, people: int, session: int) -> None:
    """SQLite (one process) first, then PostgreSQL with each number of workers."""
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        sqlite = str(Path(folder) / "bench.sqlite3")
        print(measure(sqlite, 1, units, turns, people, session), flush=True)
    print(f"(PostgreSQL at {redacted(url)})", flush=True)
    for count in workers:
        print(measure(url, count, units, turns, people, session), flush=True)
