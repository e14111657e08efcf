"""The long-running assistant: the database, the engine and the configured channels, together.

Every channel shares one engine over one database, so a unit's members can continue each
other's assessment whichever channel they use. SIGINT/SIGTERM stop it cleanly: channels stop
taking updates, the replies under way are sent, then the database is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import AsyncExitStack

from bot.config import Config
from bot.web import WebServer
from conversations.engine import Engine
from conversations.settings import Settings
from storage.sqlite import SqliteRepository

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration cannot start what was asked (the message is for the operator)."""


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run the channels that have a token until `stop` is set (or a signal arrives)."""
    if not config.telegram_token:
        raise ConfigError("no_token")
    stop = stop or _stop_on_signals()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    repository = await SqliteRepository.open(config.db_path)
    try:
        engine = Engine(repository, Settings(reports_dir=config.data_dir / "reports"))
        async with AsyncExitStack() as stack:
            web = WebServer(config.http_host, config.http_port) if config.public_url else None
            await stack.enter_async_context(_telegram(engine, config, web))
            if web is not None:
                await web.start()
                stack.push_async_callback(web.stop)
            log.info("assistant running; Ctrl-C stops it")
            await stop.wait()
    finally:
        await repository.close()


def _telegram(
    engine: Engine, config: Config, web: WebServer | None
) -> contextlib.AbstractAsyncContextManager[object]:
    from bot import telegram_adapter  # python-telegram-bot is loaded only when Telegram runs

    assert config.telegram_token is not None
    application = telegram_adapter.build_application(
        engine, config.telegram_token, api_base_url=config.telegram_api_base_url
    )
    return telegram_adapter.running(
        application,
        webhook=web,
        public_url=config.public_url or "",
        secret=config.telegram_webhook_secret or "",
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(sig, stop.set)
    return stop
