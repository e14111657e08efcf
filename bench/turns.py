"""Turns per second and latency of one answer through the real python-telegram-bot Application.

    python -m bench.turns [--units 100 1000 10000] [--turns 3000] [--people 1 8 32]
                          [--rate 1000 2000] [--session 4] [--repeat 3]
    python -m bench.turns --db postgresql://… --workers 1 2 [--units 1000] [--people 8]

With `--db`, several worker processes on one PostgreSQL database beside SQLite in the same run
(see bench.multi); without, the measures below, on SQLite.

A turn is one typed message handed to `Application.process_update` (the Update decoded from
the Bot API's JSON first, as the updater does), through the adapter and the engine, with its
durable SQLite commit (WAL, synchronous=FULL) and the replies encoded for the Bot API
(answered in-process). People answer in sittings: a valid score (0–3, within every TT 22
maximum) to each question, one message an answer that moves to the next question (every turn
writes an answer), `--session` questions in a row, then the next person's chat. Each chat
answers at most 16 of its 17 questions.

Two measures per number of open assessments:
- closed loop: `--people` people at once, each sending the next message as soon as the reply
  is out: the most turns per second the process does (latency is then mostly waiting);
- open loop: messages arrive at `--rate` per second whether or not earlier ones are done
  (how a busy day looks to the server); latency counts from the moment a message arrived, so a
  process that falls behind shows it in p99.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.common import CannedRequest, percentile, repository, seed_units, summary, update
from bot.telegram_adapter import build_application
from conversations.engine import Engine
from conversations.settings import Settings

MAX_TURNS_PER_CHAT = 16  # 16 answers: never the 17th, which would end the questionnaire
WARM_CHATS = 8  # chats beyond the measured ones that warm the process up first (a server
# that has run for a while: templates compiled, questionnaires built, code paths taken)


@dataclass
class Workload:
    """Which chat says what next: sittings of `session` answers, chat after chat."""

    units: int
    session: int
    app: Any
    step: dict[int, int] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000_000))
    latencies: list[float] = field(default_factory=list)
    decoding: float = 0.0  # seconds spent decoding updates from JSON (the updater's share)

    async def turn(self, chat: int, arrived: float | None = None) -> bool:
        """One message of `chat`; True while its sitting goes on."""
        step = self.step.get(chat, 0)
        self.step[chat] = step + 1
        text = random.choice("0123")  # one message an answer: it moves to the next question
        began = time.perf_counter() if arrived is None else arrived
        decoding = time.perf_counter()
        item = Update.de_json(update(next(self.ids), chat, text), self.app.bot)
        self.decoding += time.perf_counter() - decoding
        await self.app.process_update(item)
        self.latencies.append(time.perf_counter() - began)
        return (step + 1) % self.session != 0


async def closed_loop(work: Workload, turns: int, people: int) -> float:
    """`people` at once, each on their own chats; the seconds it took."""
    chats = deque(range(1, work.units + 1))

    async def person(count: int) -> None:
        chat = chats.popleft()
        for _ in range(count):
            if not await work.turn(chat) or work.step[chat] >= MAX_TURNS_PER_CHAT:
                if work.step[chat] < MAX_TURNS_PER_CHAT:
                    chats.append(chat)
                chat = chats.popleft()

    start = time.perf_counter()
    await asyncio.gather(*(person(turns // people) for _ in range(people)))
    return time.perf_counter() - start


async def open_loop(work: Workload, turns: int, rate: float) -> float:
    """`turns` messages arriving `rate` per second, each to a chat not busy with the previous
    one (a sitting goes on in the same chat); the seconds it took."""
    idle = deque(range(1, work.units + 1))
    tasks: set[asyncio.Task[None]] = set()

    async def arrive(chat: int, at: float) -> None:
        if await work.turn(chat, arrived=at):
            idle.appendleft(chat)  # the same person types the next answer
        else:
            idle.append(chat)

    start = time.perf_counter()
    for n in range(turns):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        while not idle:  # every chat busy: only with very few units
            await asyncio.sleep(0)
        task = asyncio.create_task(arrive(idle.popleft(), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    return time.perf_counter() - start


def bench_application(engine: Engine) -> Any:
    """The real Application over `engine`, its Bot API answered in-process, no rate limits."""
    return build_application(
        engine,
        "1:bench",
        request=CannedRequest(),
        get_updates_request=CannedRequest(),
        rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
    )


async def run(
    units: int, turns: int, folder: Path, people: int, rate: float | None, session: int
) -> tuple[str, float, float]:
    """One measurement: its line, how good it was (turns a second, or minus the p99 of an
    open loop: the machine's other work only ever makes either worse), and the turns a second
    in process_update alone (closed loop)."""
    most = units * MAX_TURNS_PER_CHAT // 2  # half of what the chats may answer: none runs short
    capped = turns > most
    turns = min(turns, most)
    repo = await repository(folder / f"turns-{units}.sqlite3")
    engine = Engine(repo, Settings(reports_dir=folder / "reports"), today=lambda: date(2024, 2, 1))
    await seed_units(repo, units + WARM_CHATS)
    app = bench_application(engine)
    work = Workload(units, session, app)
    async with app:
        for chat in range(units + 1, units + WARM_CHATS + 1):
            for _ in range(MAX_TURNS_PER_CHAT):
                await work.turn(chat)
        work.latencies.clear()
        work.decoding = 0.0
        if rate is None:
            seconds = await closed_loop(work, turns, min(people, units))
            how = f"{min(people, units)} people at once"
        else:
            seconds = await open_loop(work, turns, rate)
            how = f"arriving {rate:,.0f}/s"
    await repo.close()
    if capped:
        how += f", {turns:,} turns (half of the {MAX_TURNS_PER_CHAT} a chat may answer)"
    line = f"{units:>6} open assessments, {how}: {summary(work.latencies, seconds)}"
    if rate is not None:
        return line, -percentile(work.latencies, 0.99), 0.0
    alone = len(work.latencies) / (seconds - work.decoding)  # the loop is busy all along
    decoding = work.decoding / len(work.latencies) * 1e6
    return (
        (
            f"{line} ({alone:,.0f} turns/s in process_update alone; decoding each update from"
            f" JSON {decoding:.0f} µs)"
        ),
        len(work.latencies) / seconds,
        alone,
    )


async def stock(turns: int, people: int) -> float:
    """python-telegram-bot's own stack with no storage and no engine: a MessageHandler that
    answers every message with a question of the same shape as ours (a text and 14 buttons),
    through the same Application, request object and rate limiter. Turns a second in
    `process_update`, closed loop, `people` at once: the ceiling for a bot on this machine."""
    buttons = [f"{n}" for n in range(11)] + ["◀ Quay lại", "⏭ Bỏ qua", "⏸ Tạm dừng"]

    async def ask(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        rows = [
            [InlineKeyboardButton(b, callback_data=f"abcdef:{b[:8]}") for b in buttons[i : i + 6]]
            for i in range(0, len(buttons), 6)
        ]
        text = "✅ Đã lưu 1a: 8/10 điểm\n\n1b. Câu hỏi tiếp theo …\nNhập điểm từ 0 đến 10"
        await update.get_bot().send_message(
            update.effective_chat.id, text, reply_markup=InlineKeyboardMarkup(rows)
        )

    app = (
        ApplicationBuilder()
        .token("1:bench")
        .request(CannedRequest())
        .get_updates_request(CannedRequest())
        .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0))
        .updater(None)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, ask))
    ids = itertools.count(1)
    decoded = [Update.de_json(update(next(ids), 1 + n % 500, "8"), app.bot) for n in range(turns)]
    async with app:
        for item in decoded[:200]:  # warm up
            await app.process_update(item)
        queue = deque(decoded[200:])

        async def person() -> None:
            while queue:
                await app.process_update(queue.popleft())

        began = time.perf_counter()
        await asyncio.gather(*(person() for _ in range(people)))
        seconds = time.perf_counter() - began
    return (len(decoded) - 200) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--people", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rate", type=float, nargs="*", default=[1000, 2000])
    parser.add_argument("--session", type=int, default=4, help="answers per sitting")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is shown")
    parser.add_argument("--db", help="postgresql://…: worker processes on it, beside SQLite")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if args.db:
        from bench import multi

        multi.main(args.db, args.workers, args.units[0], args.turns, args.people[-1], args.session)
        return
    ceiling = max(asyncio.run(stock(args.turns, 32)) for _ in range(max(1, args.repeat)))
    print(
        f"python-telegram-bot alone (no storage, no engine), 32 at once: {ceiling:,.0f} turns/s"
        " in process_update",
        flush=True,
    )
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for units in args.units:
            runs = [(people, None) for people in args.people] + [(0, r) for r in args.rate]
            for people, rate in runs:
                results = [
                    asyncio.run(run(units, args.turns, Path(folder), people, rate, args.session))
                    for _ in range(max(1, args.repeat))
                ]
                line = best(results)
                if rate is None:
                    rate_alone = max(alone for _, _, alone in results)
                    line += f" [{rate_alone / ceiling:.2f}× python-telegram-bot alone]"
                print(line, flush=True)


def best(results: list[tuple[str, float, float]]) -> str:
    """The best of repeated runs, with the spread of the others (a shared virtual machine's
    neighbours slow some runs down; nothing makes one faster than the code allows)."""
    line, _, _ = max(results, key=lambda result: result[1])
    if len(results) == 1:
        return line
    if results[0][1] > 0:
        spread = ", ".join(f"{value:,.0f}" for _, value, _ in results)
        return f"{line}; runs: {spread} turns/s"
    spread = ", ".join(f"{-value * 1000:.1f}" for _, value, _ in results)
    return f"{line}; runs: p99 {spread} ms"


if __name__ == "__main__":
    main()
