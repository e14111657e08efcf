"""Persistence behind one contract (`storage.base`): SQLite through aiosqlite by default,
PostgreSQL through asyncpg for a URL `postgresql://…` (several workers on one database)."""

from __future__ import annotations

from pathlib import Path

from storage.base import Repository
from storage.postgres import PostgresRepository, is_postgres
from storage.sqlite import SqliteRepository


async def open_repository(url: str | Path, *, migrate: bool = True) -> Repository:
    """The store at `url`: a PostgreSQL URL, or a SQLite file path (or ":memory:").
    `migrate=False` for a process that only reads what another process has already set up
    (a job worker)."""
    if isinstance(url, str) and is_postgres(url):
        return await PostgresRepository.open(url, migrate=migrate)
    return await SqliteRepository.open(url, migrate=migrate)
