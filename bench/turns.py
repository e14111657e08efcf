"""Turns per second and latency of one answer through the real python-telegram-bot Application.

    python -m bench.turns [--units 100 1000 10000] [--turns 3000]

Each turn is one typed message (a score, then "xong" to leave the evidence step) handed to
`Application.process_update`, through the adapter and the engine, with its durable SQLite commit
(WAL, synchronous=FULL) and the replies encoded for the Bot API (answered in-process).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter

from bench.common import CannedRequest, repository, seed_units, summary, update
from bot.telegram_adapter import build_application
from conversations.engine import Engine
from conversations.settings import Settings


async def run(units: int, turns: int, folder: Path, concurrency: int = 32) -> str:
    repo = await repository(folder / f"turns-{units}.sqlite3")
    engine = Engine(repo, Settings(reports_dir=folder / "reports"), today=lambda: date(2024, 2, 1))
    await seed_units(repo, units)
    app = build_application(
        engine,
        "1:bench",
        request=CannedRequest(),
        get_updates_request=CannedRequest(),
        rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
    )
    latencies: list[float] = []
    step = {n: 0 for n in range(1, units + 1)}
    ids = iter(range(10_000_000, 10_000_000 + turns))

    async def person(chats: list[int], count: int) -> None:
        """One stream of turns; each chat belongs to one stream, so its turns stay in order."""
        for _ in range(count):
            chat = random.choice(chats)
            text = "8" if step[chat] % 2 == 0 else "xong"
            step[chat] += 1
            item = Update.de_json(update(next(ids), chat, text), app.bot)
            began = time.perf_counter()
            await app.process_update(item)
            latencies.append(time.perf_counter() - began)

    streams = min(concurrency, units)
    async with app:
        start = time.perf_counter()
        await asyncio.gather(
            *(
                person(list(range(s + 1, units + 1, streams)), turns // streams)
                for s in range(streams)
            )
        )
        seconds = time.perf_counter() - start
    await repo.close()
    return f"{units:>6} open assessments, {streams} at once: {summary(latencies, seconds)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for units in args.units:
            for concurrency in args.concurrency:
                result = asyncio.run(run(units, args.turns, Path(folder), concurrency))
                print(result, flush=True)


if __name__ == "__main__":
    main()
