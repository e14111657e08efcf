"""Persistence behind one contract (`storage.base`): SQLite through aiosqlite by default."""

from __future__ import annotations

from pathlib import Path

from storage.base import Repository
from storage.sqlite import SqliteRepository


async def open_repository(url: str | Path, *, migrate: bool = True) -> Repository:
    """The store at `url`: a SQLite file path (or ":memory:"). `migrate=False` for a process
    that only reads what another process has already set up (a job worker)."""
    return await SqliteRepository.open(url, migrate=migrate)
