"""Delivering the outbox: messages the engine queued for other people, sent after the commit.

A row is marked sent as soon as its channel accepted it, and each row is one message (the
engine splits replies so), so a failure never makes the worker repeat a message already
delivered. A failed row is tried again later with growing pauses; nothing is dropped. The one
window left is a crash between the channel's acceptance and the mark: that row is sent again
on restart (at least once; Telegram and Zalo offer no way to make a send idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.channels import Channel
from conversations.events import replies_from_json
from storage.base import OutboxMessage, Repository

log = logging.getLogger(__name__)

BACKOFF = (5, 30, 120, 600, 1800, 3600)  # seconds before attempt 2, 3, …; then hourly
MAX_ATTEMPTS = 48  # about two days: a person who blocked the bot is not retried for ever
GAVE_UP = timedelta(days=3650)
NO_CHANNEL_DELAY = timedelta(hours=1)  # a console user, or a channel not running now


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure."""
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF) - 1)])


class OutboxWorker:
    """Sends due outbox rows through the running channels."""

    def __init__(
        self,
        repository: Repository,
        channels: Mapping[str, Channel],
        *,
        interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.interval = interval
        self.clock = clock

    async def run_once(self) -> int:
        """Try every due row once; the number sent."""
        async with self.repository.transaction() as tx:
            due = await tx.due_messages(self.clock())
        sent = 0
        for message in due:
            sent += await self._deliver(message)
        return sent

    async def _deliver(self, message: OutboxMessage) -> int:
        channel = self.channels.get(message.channel)
        if channel is None:
            await self._failed(message, "no running channel", self.clock() + NO_CHANNEL_DELAY)
            return 0
        try:
            await channel.send(message.chat_id, replies_from_json(message.payload))
        except Exception as exc:  # any failure: keep the row, try later
            log.warning("outbox message %d to %s failed: %s", message.id, message.channel, exc)
            await self._failed(
                message, type(exc).__name__, self.clock() + retry_delay(message.attempts)
            )
            return 0
        async with self.repository.transaction() as tx:
            await tx.message_sent(message.id)
        return 1

    async def _failed(self, message: OutboxMessage, error: str, retry_at: datetime) -> None:
        async with self.repository.transaction() as tx:
            await tx.message_failed(message.id, error, retry_at)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, checking every `interval` seconds."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
