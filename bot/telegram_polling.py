"""Long polling that acknowledges an update only once its turn is committed.

Telegram's getUpdates forgets every update below the `offset` of the next call: asking with a
higher offset *is* the acknowledgement. PTB's `Updater` asks for the next batch as soon as the
previous one is in its queue, before any of it is handled, so a process killed (kill -9, power
cut, out of memory) right then loses those updates for good: never answered, never redelivered.

This loop asks for the next offset only when every update of the batch has been processed (the
engine commits each turn before it replies). Killed at any moment, it leaves what it had not
finished with Telegram, which hands it out again after the restart; the engine recognises what
it had already committed (the processed_updates table, by `dedup_key`) and skips it.

Within a batch, updates go through the Application's update processor as a webhook's do, so
`PerChatUpdateProcessor` keeps each chat's updates in order and runs different chats at once.
Only PTB's public API is used: `Bot.delete_webhook`, `Bot.get_updates`,
`Application.update_processor` and `Application.process_update`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]

LONG_POLL = 10  # seconds Telegram holds a getUpdates open while there is nothing (PTB's default)
FIRST_BACKOFF = 1.0  # seconds after the first failed poll; then 1.5 times longer each time
MAX_BACKOFF = 30.0  # as PTB's own polling loop
RETRY_AFTER_SLACK = 0.5  # seconds added to Telegram's flood-control delay, as PTB does


class Poller:
    """Fetches batches of updates and processes each batch fully before fetching the next."""

    def __init__(
        self,
        application: App,
        *,
        allowed_updates: Sequence[str],
        poll_interval: float,
        timeout: int = LONG_POLL,
    ) -> None:
        self.application = application
        self.allowed_updates = list(allowed_updates)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.offset: int | None = None  # the next update wanted: all below it are processed
        self._acknowledged: int | None = None  # the offset Telegram was last told
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Remove any webhook (Telegram refuses getUpdates while one is set), then poll.

        A failure here (a refused token, Telegram unreachable) is raised to the caller, so the
        service does not start deaf; the request object has already retried network errors.
        """
        await self.application.bot.delete_webhook()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Finish the batch in hand, tell Telegram what was processed, and end.

        Re-raises what ended the polling early (InvalidToken: the token was revoked while
        running), so the service can say so and exit with status 2.
        """
        self._stopping.set()
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch()
            except InvalidToken:
                log.error("Telegram refused the bot token while polling; polling stopped")
                raise
            except RetryAfter as exc:
                await self._pause(_seconds(exc) + RETRY_AFTER_SLACK)
                continue
            except TimedOut:
                continue  # the long poll outlasted the read timeout: ask again at once
            except Exception as exc:  # the network, Telegram's servers, an unreadable answer
                backoff = min(MAX_BACKOFF, backoff * 1.5 if backoff else FIRST_BACKOFF)
                log.warning("Telegram getUpdates failed (%s); next try in %.1f s", exc, backoff)
                await self._pause(backoff)
                continue
            backoff = 0.0
            if updates is None:
                break  # stopped during the long poll: nothing was in hand
            if updates:
                await self._process(updates)
                self.offset = updates[-1].update_id + 1
            else:
                await self._pause(self.poll_interval)
        await self._acknowledge()

    async def _fetch(self) -> tuple[Update, ...] | None:
        """The next batch (asking for `offset` acknowledges everything below it); None when
        `stop` came first, the poll then abandoned (what it would have brought stays unacked)."""
        self._acknowledged = self.offset
        fetch: asyncio.Task[tuple[Update, ...]] = asyncio.create_task(
            self.application.bot.get_updates(
                offset=self.offset,
                timeout=timedelta(seconds=self.timeout),
                allowed_updates=self.allowed_updates,
            )
        )
        stopped = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait((fetch, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.wait((fetch,))  # its cancellation done, the connection released
            if fetch.cancelled() or fetch.exception() is not None:
                return None
        return fetch.result()  # a batch that came with the stop is still processed

    async def _process(self, updates: Sequence[Update]) -> None:
        """Every update of the batch processed: chats concurrently, each chat in order.

        `gather` starts one task per update in the batch's order, so each chat's lock in
        `PerChatUpdateProcessor` is queued for in arrival order. An update whose handler failed
        counts as processed: the error handler has told the person, and fetching it again
        would fail the same way for ever.
        """
        processor = self.application.update_processor
        process = self.application.process_update
        results = await asyncio.gather(
            *(processor.process_update(update, process(update)) for update in updates),
            return_exceptions=True,
        )
        for update, result in zip(updates, results, strict=True):
            if isinstance(result, Exception):
                log.error("Telegram update %d failed", update.update_id, exc_info=result)

    async def _acknowledge(self) -> None:
        """Tell Telegram what was processed since the last poll (on stop), so that a restart
        is not handed the last batch again; the one update it may return stays unacked."""
        if self.offset is None or self._acknowledged == self.offset:
            return
        try:
            await self.application.bot.get_updates(
                offset=self.offset,
                limit=1,
                timeout=timedelta(0),
                allowed_updates=self.allowed_updates,
            )
        except TelegramError as exc:  # the engine skips what is redelivered
            log.info("could not acknowledge the last updates (%s); they will be skipped", exc)
        self._acknowledged = self.offset

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when `stop` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def _seconds(exc: RetryAfter) -> float:
    """Telegram's flood-control delay in seconds (PTB 22 gives an int, later a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
