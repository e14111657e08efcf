"""Delivering the outbox: messages the engine queued for other people, sent after the commit.

A row is marked sent as soon as its channel accepted it, and each row is one message (the
engine splits replies so), so a failure never makes the worker repeat a message already
delivered. A failed row is tried again later with growing pauses; nothing is dropped. The one
window left is a crash between the channel's acceptance and the mark: that row is sent again
on restart (at least once; Telegram and Zalo offer no way to make a send idempotent).

A file a message carries may have been rendered by another process, on another machine: when
its path is not on this machine, its copy in the store (`OutgoingFile.document`) is written to
`documents_dir` first and sent from there.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.channels import Channel
from conversations.events import OutgoingFile, Reply, replies_from_json
from conversations.outbox import undeliverable
from storage.base import OutboxMessage, Repository, Transaction, retrying

log = logging.getLogger(__name__)

BACKOFF = (5, 30, 120, 600, 1800, 3600)  # seconds before attempt 2, 3, …; then hourly
MAX_ATTEMPTS = 48  # about two days: a person who blocked the bot is not retried for ever
GAVE_UP = timedelta(days=3650)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure."""
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF) - 1)])


class OutboxWorker:
    """Sends the due outbox rows of the channels this process holds (`Repository.hold_channels`):
    rows of another channel are left to the process that runs it."""

    def __init__(
        self,
        repository: Repository,
        channels: Mapping[str, Channel],
        *,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        documents_dir: Path | None = None,
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.interval = interval
        self.clock = clock
        self.documents_dir = documents_dir or Path(tempfile.gettempdir()) / "dvht-documents"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Rows were just committed: send now rather than at the next interval."""
        self._wake.set()

    async def run_once(self) -> int:
        """Try every due row once; the number sent."""
        now, channels = self.clock(), list(self.channels)
        due = await retrying(self.repository, lambda tx: tx.due_messages(now, channels))
        sent = 0
        for message in due:
            sent += await self._deliver(message)
        return sent

    async def _deliver(self, message: OutboxMessage) -> int:
        channel = self.channels[message.channel]  # due_messages gives only these channels
        try:
            replies = [await self._local(reply) for reply in replies_from_json(message.payload)]
            await channel.send(message.chat_id, replies)
        except Exception as exc:  # any failure: keep the row, try later
            log.warning("outbox message %d to %s failed: %s", message.id, message.channel, exc)
            await self._failed(
                message, type(exc).__name__, self.clock() + retry_delay(message.attempts)
            )
            return 0
        # Sent: record it even through a conflict, or the next pass would send it again.
        await retrying(self.repository, lambda tx: tx.message_sent(message.id), attempts=10)
        return 1

    async def _local(self, reply: Reply) -> Reply:
        """`reply` with each file on this machine (from the store when it is elsewhere)."""
        if not reply.files:
            return reply
        return replace(reply, files=tuple([await self._fetched(file) for file in reply.files]))

    async def _fetched(self, file: OutgoingFile) -> OutgoingFile:
        if file.document is None or await asyncio.to_thread(file.path.is_file):
            return file
        async with self.repository.snapshot() as tx:
            stored = await tx.get_document(file.document)
        if stored is None:
            raise FileNotFoundError(f"document {file.document} of {file.name} is not stored")
        local = self.documents_dir / f"{stored.id}{Path(file.name).suffix}"
        await asyncio.to_thread(_write_whole, local, stored.data)
        return replace(file, path=local)

    async def _failed(self, message: OutboxMessage, error: str, retry_at: datetime) -> None:
        """Try again at `retry_at`; after MAX_ATTEMPTS runs, give up (the row is kept) and tell
        the person's colleagues whom the message did not reach."""
        gave_up = message.attempts + 1 >= MAX_ATTEMPTS
        later = self.clock() + GAVE_UP if gave_up else retry_at

        async def record(tx: Transaction) -> None:
            await tx.message_failed(message.id, error, later)
            if gave_up:
                await undeliverable(tx, message)

        await retrying(self.repository, record)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, checking every `interval` seconds."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed; trying again")
            await pause(stop, self._wake, self.interval)


def _write_whole(path: Path, data: bytes) -> None:
    """Write `path` whole (a temporary file, then renamed): a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)


async def pause(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` or `wake` is set (a worker between its passes)."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
