"""The same workload on the pattern most bots use: ConversationHandler + PicklePersistence.

    python -m bench.stock [--turns 3000] [--units 1000]

Answers are kept in `user_data` and written to a pickle every `update_interval` seconds (PTB's
default, 60). The bench runs both bots through the real Application with the same injected
request object, then "kills" each: it counts the answers a fresh process would find on disk,
out of those the users saw confirmed.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import random
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

from bench.common import CannedRequest, repository, seed_units, summary, update
from bot.telegram_adapter import build_application
from conversations.engine import Engine
from conversations.settings import Settings
from storage.sqlite import SqliteRepository

ASK, EVIDENCE = range(2)
CODES = ["1a", "1b", "1c", "2a", "2b", "2c", "2d", "3a1", "3a2", "3a3", "3a4", "3a5", "3a6",
         "3a7", "3a8", "3b", "3c"]  # fmt: skip


def keyboard(maximum: int) -> InlineKeyboardMarkup:
    scores = [InlineKeyboardButton(str(n), callback_data=f"s:{n}") for n in range(maximum, -1, -1)]
    return InlineKeyboardMarkup([scores[i : i + 6] for i in range(0, len(scores), 6)])


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    code = CODES[len(context.user_data.setdefault("answers", {})) % len(CODES)]
    await update.message.reply_text(f"Câu {code}: điểm?", reply_markup=keyboard(10))
    return ASK


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    answers = context.user_data.setdefault("answers", {})
    code = CODES[len(answers) % len(CODES)]
    answers[f"{code}-{len(answers)}"] = update.message.text
    await update.message.reply_text(f"✅ Đã lưu {code}. Minh chứng? Gõ “xong”.")
    return EVIDENCE


async def evidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await ask(update, context)


def stock_application(
    path: Path, request: CannedRequest
) -> Application[Any, Any, Any, Any, Any, Any]:
    persistence = PicklePersistence(filepath=path)  # update_interval: PTB's default, 60 s
    app = (
        ApplicationBuilder()
        .token("1:bench")
        .request(request)
        .get_updates_request(CannedRequest())
        .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0))
        .persistence(persistence)
        .build()
    )
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", ask)],
        states={
            ASK: [MessageHandler(filters.TEXT & ~filters.COMMAND, answer)],
            EVIDENCE: [MessageHandler(filters.TEXT & ~filters.COMMAND, evidence)],
        },
        fallbacks=[],
        name="assessment",
        persistent=True,
    )
    app.add_handler(conversation)
    return app


async def drive(app: Any, units: int, turns: int, first: int) -> tuple[list[float], float]:
    """`turns` answers/"xong" in random chats; latencies and seconds."""
    step = dict.fromkeys(range(1, units + 1), 0)
    latencies: list[float] = []
    start = time.perf_counter()
    for n in range(turns):
        chat = random.randint(1, units)
        text = "5" if step[chat] % 2 == 0 else "xong"
        step[chat] += 1
        item = Update.de_json(update(first + n, chat, text), app.bot)
        began = time.perf_counter()
        await app.process_update(item)
        latencies.append(time.perf_counter() - began)
    return latencies, time.perf_counter() - start


async def run_stock(folder: Path, units: int, turns: int) -> tuple[str, float]:
    path = folder / "stock.pickle"
    request = CannedRequest()
    app = stock_application(path, request)
    await app.initialize()  # no app.stop()/shutdown(): a killed process flushes nothing
    for chat in range(1, units + 1):
        await app.process_update(Update.de_json(update(chat, chat, "/start"), app.bot))
    latencies, seconds = await drive(app, units, turns, 1_000_000)
    confirmed = request.confirmed
    kept = 0
    if path.exists():
        data = pickle.loads(path.read_bytes())
        kept = sum(len(d.get("answers", {})) for d in data.get("user_data", {}).values())
    line = (f"stock (ConversationHandler + PicklePersistence): {summary(latencies, seconds)}; "
            f"killed now: {kept}/{confirmed} confirmed answers on disk")  # fmt: skip
    return line, turns / seconds


async def run_ours(folder: Path, units: int, turns: int) -> tuple[str, float]:
    repo = await repository(folder / "ours.sqlite3")
    engine = Engine(repo, Settings(reports_dir=folder / "r"), today=lambda: date(2024, 2, 1))
    await seed_units(repo, units)
    request = CannedRequest()
    app = build_application(
        engine, "1:bench", request=request, get_updates_request=CannedRequest(),
        rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
    )  # fmt: skip
    await app.initialize()
    latencies, seconds = await drive(app, units, turns, 2_000_000)
    confirmed = request.confirmed
    reopened = await SqliteRepository.open(folder / "ours.sqlite3")  # as a restarted process
    async with reopened.transaction() as tx:
        kept = 0
        for n in range(1, units + 1):
            assessment = await tx.latest_assessment(n)
            if assessment is not None:
                records = await tx.answers(assessment.id)
                kept += sum(r.value is not None for r in records.values())
    line = (f"ours (engine + SQLite, commit per answer): {summary(latencies, seconds)}; "
            f"killed now: {kept}/{confirmed} confirmed answers on disk")  # fmt: skip
    return line, turns / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        stock, stock_rate = asyncio.run(run_stock(Path(folder), args.units, args.turns))
        random.seed(7)
        ours, our_rate = asyncio.run(run_ours(Path(folder), args.units, args.turns))
    print(stock)
    print(ours)
    print(f"ours / stock, turns per second: {our_rate / stock_rate:.2f}")


if __name__ == "__main__":
    main()
