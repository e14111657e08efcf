"""Resident memory: at start, and per idle open assessment once its chat has been active.

    python -m bench.memory [--units 10000]

An assessment lives in SQLite, not in memory; what a chat leaves in the process is PTB's
per-chat and per-user dicts (the id of the message whose buttons are live). The figure is the
growth of resident memory after one turn in each of `units` chats, divided by `units`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
from datetime import date
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter

from bench.common import CannedRequest, repository, rss_kb, seed_units, update
from bot.telegram_adapter import build_application
from conversations.engine import Engine
from conversations.settings import Settings


async def run(units: int, folder: Path) -> str:
    before_start = rss_kb()
    repo = await repository(folder / "memory.sqlite3")
    engine = Engine(repo, Settings(reports_dir=folder), today=lambda: date(2024, 2, 1))
    app = build_application(
        engine, "1:bench", request=CannedRequest(), get_updates_request=CannedRequest(),
        rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
    )  # fmt: skip
    await seed_units(repo, units)
    async with app:
        warm = Update.de_json(update(1, 1, "8"), app.bot)  # caches, templates, first question
        await app.process_update(warm)
        gc.collect()
        started = rss_kb()
        for chat in range(2, units + 1):
            await app.process_update(Update.de_json(update(chat, chat, "8"), app.bot))
        gc.collect()
        after = rss_kb()
    await repo.close()
    per = (after - started) * 1024 / max(1, units - 1)
    return (f"resident memory at start (imports, database, Application): {started / 1024:.0f} MB "
            f"({(started - before_start) / 1024:.0f} MB above the bare interpreter with imports); "
            f"per idle open assessment after a turn in each of {units:,} chats: "
            f"{per:,.0f} bytes")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        print(asyncio.run(run(args.units, Path(folder))))


if __name__ == "__main__":
    main()
