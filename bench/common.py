"""Shared set-up of the benchmarks: a Bot API answered in-process, units with open assessments.

`CannedRequest` is an injected python-telegram-bot request object: the real Application builds
and encodes every call, and this answers it at once, with no network, so a benchmark measures
our code and PTB's, not a server.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, RequestData

from conversations.events import Event, EventKind, Sender
from storage.base import ChatState
from storage.sqlite import SqliteRepository

BOT = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class CannedRequest(BaseRequest):
    """Answers every Bot API method in-process (sendMessage with a message, others with True)."""

    def __init__(self) -> None:
        self.calls = 0
        self.confirmed = 0  # messages that told a user an answer was saved
        self._ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *a: Any, **k: Any
    ) -> tuple[int, bytes]:
        """The server's side costs next to nothing: a real Bot API server is another process
        (and PTB still decodes the whole answer)."""
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if "✅ Đã lưu" in str(params.get("text", "")):
            self.confirmed += 1
        if name == "getMe":
            return 200, json.dumps({"ok": True, "result": BOT}).encode()
        if name in ("sendMessage", "sendDocument", "editMessageText"):
            return 200, _SENT % (next(self._ids), int(time.time()), int(str(params["chat_id"])))
        return 200, b'{"ok":true,"result":true}'


# A sent message as Telegram describes it (without the text and keyboard it repeats).
_SENT = b'{"ok":true,"result":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"}}}'


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A private text message from user `chat_id`, as Telegram would deliver it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000 + update_id,
            "chat": {"id": chat_id, "type": "private", "first_name": f"U{chat_id}"},
            "from": {"id": chat_id, "is_bot": False, "first_name": f"U{chat_id}"},
            "text": text,
            **({"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
               if text.startswith("/") else {}),
        },
    }  # fmt: skip


async def open_units(engine_handle: Any, count: int, channel: str = "telegram") -> None:
    """Register `count` units through the engine and open an assessment in each (TT 22)."""
    ids = itertools.count(1)
    for n in range(1, count + 1):
        sender = Sender(str(n), f"U{n}")
        for kind, text in (
            (EventKind.COMMAND, "start"),
            (EventKind.TEXT, "1"),
            (EventKind.TEXT, f"Đơn vị thử nghiệm số {n}"),
            (EventKind.TEXT, "1"),
            (EventKind.TEXT, "1"),
            (EventKind.TEXT, "2"),
            (EventKind.COMMAND, "danhgia 2023"),
        ):
            await engine_handle(Event(channel, str(n), sender, kind, text, f"setup-{next(ids)}"))


async def seed_units(
    repo: SqliteRepository, count: int, channel: str = "telegram", supervisor: int | None = None
) -> None:
    """`count` units, each with one staff member whose chat waits at question 1a of an open
    TT 22 assessment: the state the engine leaves, written in bulk (10,000 in a few seconds)."""
    async with repo.transaction() as tx:
        for n in range(1, count + 1):
            unit = await tx.create_unit(f"Đơn vị thử nghiệm số {n}", "co-quan", "cap-huyen")
            if supervisor is not None:
                await tx.update_unit(unit.id, {"supervisor_id": supervisor})
            person = await tx.upsert_person(channel, str(n), f"U{n}")
            await tx.add_membership(unit.id, person.id, "staff")
            assessment = await tx.create_assessment(unit.id, "tt22-2020", 2023)
            data = {"assessment_id": assessment.id, "code": "1a"}
            await tx.save_chat(ChatState(channel, str(n), person.id, "ask", data, "", unit.id))


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float], seconds: float) -> str:
    ms = [x * 1000 for x in latencies]
    return (
        f"{len(ms) / seconds:,.0f} turns/s, p50 {statistics.median(ms):.2f} ms, "
        f"p99 {percentile(ms, 0.99):.2f} ms"
    )


def rss_kb() -> int:
    """Resident memory now (Linux /proc), in KB."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def repository(path: Path) -> SqliteRepository:
    if path.exists():
        path.unlink()
    return await SqliteRepository.open(path)
