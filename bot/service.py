"""The long-running assistant: the database, the engine and the configured channels, together.

Every channel shares one engine over one database, so a unit's members can continue each
other's assessment whichever channel they use. Beside the channels run the outbox worker
(messages to leaders and supervisors) and the reminder check. SIGINT/SIGTERM stop it cleanly:
channels stop taking updates, the replies under way are sent, then the database is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from bot.channels import Channel
from bot.config import Config
from bot.outbox import OutboxWorker
from bot.web import WebServer
from conversations.engine import Engine
from conversations.reminders import send_reminders
from conversations.settings import Settings
from storage.base import Repository
from storage.sqlite import SqliteRepository

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration cannot start what was asked (the message is for the operator)."""


def settings_for(config: Config) -> Settings:
    return Settings(
        reports_dir=config.data_dir / "reports",
        admins=config.admins,
        remind_every_days=config.remind_every_days,
        remind_before_days=config.remind_before_days,
    )


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run the channels that have a token until `stop` is set (or a signal arrives)."""
    if not config.telegram_token:
        raise ConfigError("no_token")
    stop = stop or _stop_on_signals()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    repository = await SqliteRepository.open(config.db_path)
    try:
        engine = Engine(repository, settings_for(config))
        async with AsyncExitStack() as stack:
            web = WebServer(config.http_host, config.http_port) if config.public_url else None
            channels = await _start_channels(stack, engine, config, web)
            if web is not None:
                await web.start()
                stack.push_async_callback(web.stop)
            log.info("assistant running; Ctrl-C stops it")
            await _background(repository, engine, channels, config, stop)
    finally:
        await repository.close()


async def _start_channels(
    stack: AsyncExitStack, engine: Engine, config: Config, web: WebServer | None
) -> dict[str, Channel]:
    from bot import telegram_adapter  # python-telegram-bot is loaded only when Telegram runs

    channels: dict[str, Channel] = {}
    if config.telegram_token:
        application = telegram_adapter.build_application(
            engine, config.telegram_token, api_base_url=config.telegram_api_base_url
        )
        await stack.enter_async_context(
            telegram_adapter.running(
                application,
                webhook=web,
                public_url=config.public_url or "",
                secret=config.telegram_webhook_secret or "",
            )
        )
        channels["telegram"] = telegram_adapter.TelegramChannel(application)
        link = telegram_adapter.invite_link(application)
        if link is not None:
            links = {**engine.settings.invite_links, "telegram": link}
            engine.settings = replace(engine.settings, invite_links=links)
    return channels


async def _background(
    repository: Repository,
    engine: Engine,
    channels: dict[str, Channel],
    config: Config,
    stop: asyncio.Event,
) -> None:
    """The outbox worker and the reminder check, until `stop`."""
    worker = OutboxWorker(repository, channels)
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(worker.run(stop)),
        asyncio.create_task(remind_periodically(repository, engine, config, stop)),
    ]
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)


async def remind_periodically(
    repository: Repository, engine: Engine, config: Config, stop: asyncio.Event
) -> None:
    """Check for due reminders at start and every `reminder_check_minutes`."""
    while not stop.is_set():
        try:
            async with repository.transaction() as tx:
                now = datetime.now(UTC)
                count = await send_reminders(tx, now, date.today(), engine.settings)
            if count:
                log.info("reminders queued for %d units", count)
        except Exception:
            log.exception("reminder check failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.reminder_check_minutes * 60)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(sig, stop.set)
    return stop
