"""A test driver that talks to the engine the way a channel does: events in, replies out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from conversations.engine import Engine
from conversations.events import Choice, Event, EventKind, IncomingFile, Reply, Sender

_update_ids = itertools.count(1)


@dataclass
class ChatUser:
    """One person in one chat; `replies` holds what the last event produced."""

    engine: Engine
    user_id: str
    name: str = ""
    channel: str = "test"
    replies: list[Reply] = field(default_factory=list)
    last_event: Event | None = None

    async def _send(self, kind: EventKind, payload: str, file: IncomingFile | None = None) -> str:
        sender = Sender(self.user_id, self.name or self.user_id)
        event = Event(
            self.channel,
            self.user_id,
            sender,
            kind,
            payload,
            update_id=str(next(_update_ids)),
            file=file,
        )
        self.last_event = event
        self.replies = await self.engine.handle(event)
        return self.text

    async def say(self, text: str) -> str:
        return await self._send(EventKind.TEXT, text)

    async def command(self, line: str) -> str:
        return await self._send(EventKind.COMMAND, line)

    async def press(self, label: str) -> str:
        """Press the button whose label starts with `label` on the last question."""
        return await self._send(EventKind.CHOICE, self.choice(label).token)

    async def press_token(self, token: str) -> str:
        """Send a button press with any token (an old button's, or a forged one)."""
        return await self._send(EventKind.CHOICE, token)

    async def send_file(self, file: IncomingFile) -> str:
        return await self._send(EventKind.FILE, "", file)

    async def redeliver(self) -> list[Reply]:
        assert self.last_event is not None
        return await self.engine.handle(self.last_event)

    def choice(self, label: str) -> Choice:
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if choice.label.startswith(label):
                    return choice
        raise AssertionError(f"no choice {label!r} in {self.text!r}")

    @property
    def text(self) -> str:
        return "\n---\n".join(reply.text for reply in self.replies)

    @property
    def question(self) -> Reply:
        return self.replies[-1]


async def register_unit(user: ChatUser, name: str, kind_label: str, level: str = "Cấp xã") -> str:
    """Register a unit through the chat; returns the invite code it shows."""
    await user.command("start")
    await user.press("Đăng ký đơn vị mới")
    await user.say(name)
    await user.press(kind_label)
    text = await user.press(level)
    code = text.split("Mã mời đồng nghiệp cùng đơn vị: ")[1].split()[0]
    await user.press("Để sau")
    return code


CHANNELS = ["test", "console", "telegram", "zalo"]


async def run_jobs(engine: Engine) -> int:
    """Run every queued job now (reports, workbooks …), as the service's worker does."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.jobs import JobWorker

    with ThreadPoolExecutor(max_workers=1) as executor:
        worker = JobWorker(engine.repository, engine.settings, CHANNELS, executor)
        return await worker.drain()


async def settle(engine: Engine) -> dict[str, list[Reply]]:
    """What the service does after the turns: run the queued jobs (in a worker thread, as the
    console does) and take every outbox message, by chat; each is then marked sent."""
    from datetime import UTC, datetime, timedelta

    from conversations.events import replies_from_json

    await run_jobs(engine)
    repository = engine.repository
    later = datetime.now(UTC) + timedelta(days=1)
    delivered: dict[str, list[Reply]] = {}
    async with repository.transaction() as tx:
        for message in await tx.due_messages(later, CHANNELS, limit=10_000):
            delivered.setdefault(message.chat_id, []).extend(replies_from_json(message.payload))
            await tx.message_sent(message.id)
    return delivered
