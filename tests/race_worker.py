"""A worker process for the race tests: the engine on a PostgreSQL database, driven over pipes.

`python -m tests.race_worker URL REPORTS_DIR` reads one JSON event per line on stdin and
handles each as a channel adapter does (its own task; one chat's events one after the other in
this process, other chats at once), writing JSON lines on stdout:

- `{"id": N, "locking": true}` once the event's turn holds its chat's lock (the driver may then
  hand the next event to the other worker: it must wait on the database for this one);
- `{"id": N, "texts": [...]}` with the replies once the turn is committed.

An event with `"die": true` kills the process (kill -9) in the middle of its turn: after its
writes reached the database, before its COMMIT. `python -m tests.race_worker URL - outbox`
instead delivers the shared channel "test"'s outbox, printing `{"sent": CHAT_ID}` for each
message sent, until no message is due.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.chatlocks import ChatLocks
from bot.outbox import OutboxWorker
from conversations.engine import Engine
from conversations.events import Event, EventKind, Reply, Sender
from conversations.settings import Settings
from storage import open_repository
from storage.postgres import PostgresTransaction

TODAY = date(2024, 2, 1)
_current: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("event")


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _instrument() -> None:
    """Say when a turn holds its chat's lock, and die before a COMMIT when told to."""
    lock_chat, commit = PostgresTransaction.lock_chat, PostgresTransaction.commit

    async def announced(self: PostgresTransaction, channel: str, chat_id: str) -> None:
        await lock_chat(self, channel, chat_id)
        event = _current.get(None)
        if event is not None and not event.get("announced"):
            event["announced"] = True
            _emit({"id": event["id"], "locking": True})

    async def fatal(self: PostgresTransaction) -> None:
        event = _current.get(None)
        if event is not None and event.get("die"):
            os.kill(os.getpid(), signal.SIGKILL)  # the writes are in, the COMMIT never comes
        await commit(self)

    PostgresTransaction.lock_chat = announced  # type: ignore[method-assign]
    PostgresTransaction.commit = fatal  # type: ignore[method-assign]


async def _serve(url: str, reports: Path) -> None:
    repository = await open_repository(url)
    engine = Engine(
        repository,
        Settings(reports_dir=reports, admins=frozenset({"test:admin"})),
        today=lambda: TODAY,
    )
    locks = ChatLocks()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(event: dict[str, Any]) -> None:
        _current.set(event)
        sender = Sender(event["user"], event.get("name") or event["user"])
        kind = EventKind(event.get("kind", "text"))
        incoming = Event("test", event["user"], sender, kind, event["payload"], event["update"])
        async with locks.hold(event["user"]):
            replies = await engine.handle(incoming)
        _emit({"id": event["id"], "texts": [reply.text for reply in replies]})

    while line := await reader.readline():
        task = asyncio.create_task(handle(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await repository.close()


class _Printed:
    name = "test"

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        await asyncio.sleep(0.001)  # a real send takes a moment: the other worker goes on
        _emit({"sent": chat_id})


async def _deliver(url: str) -> None:
    repository = await open_repository(url)
    await repository.hold_channels(["test"], shared=True)
    worker = OutboxWorker(repository, {"test": _Printed()})
    idle = 0
    while idle < 3:
        idle = 0 if await worker.run_once() else idle + 1
        await asyncio.sleep(0.01)
    await repository.close()


def main() -> None:
    url, reports, *mode = sys.argv[1:]
    if mode == ["outbox"]:
        asyncio.run(_deliver(url))
        return
    _instrument()
    asyncio.run(_serve(url, Path(reports)))


if __name__ == "__main__":
    main()
