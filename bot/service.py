"""The long-running assistant: the database, the engine and the configured channels, together.

Every channel shares one engine over one database, so a unit's members can continue each
other's assessment whichever channel they use. Beside the channels run the outbox worker
(messages to leaders and supervisors) and the reminder check. With a public URL
(DVHT_PUBLIC_URL) one HTTP endpoint serves every channel's webhook and the report download
links; without one, the channels poll and no link can be given. SIGINT/SIGTERM stop it
cleanly: channels stop taking updates, the replies under way are sent, then the database is
closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
from collections.abc import Callable, Collection
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bot.channels import Channel
from bot.config import Config
from bot.jobs import JobWorker, process_executor
from bot.outbox import OutboxWorker
from bot.report_links import ROUTE, ReportLinks
from bot.web import WebServer
from bot.zalo_adapter import ZaloAdapter
from conversations import jobs
from conversations.engine import Engine
from conversations.settings import Settings
from storage import open_repository
from storage.base import ChannelHeld, Document, Repository, StorageError, retrying

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "zalo")


class ConfigError(Exception):
    """The configuration cannot start what was asked (the message is for the operator)."""


def settings_for(config: Config) -> Settings:
    return Settings(
        reports_dir=config.data_dir / "reports",
        admins=config.admins,
        remind_every_days=config.remind_every_days,
        remind_before_days=config.remind_before_days,
    )


def configured(config: Config) -> list[str]:
    """The channels that have a token, in the order they start."""
    tokens = {"telegram": config.telegram_token, "zalo": config.zalo_token}
    return [name for name in CHANNELS if tokens[name]]


async def serve(
    config: Config, stop: asyncio.Event | None = None, channels: Collection[str] | None = None
) -> None:
    """Run `channels` (default: every one that has a token) until `stop` or a signal."""
    names = [name for name in configured(config) if channels is None or name in channels]
    if not names:
        raise ConfigError("no_token")
    stop = stop or _stop_on_signals()
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        repository = await open_repository(config.store)
    except (OSError, StorageError) as exc:  # a read-only or missing disk: say so in one line
        raise ConfigError(_unopened(config), config.store_name()) from exc
    try:
        try:  # before any channel starts: a second process on these channels would steal rows
            # webhook workers may share a channel (PostgreSQL hands each row to one of them);
            # a poller holds its channel alone
            await repository.hold_channels(names, shared=config.public_url is not None)
        except ChannelHeld as held:
            raise ConfigError("channel_held", str(held)) from None
        except StorageError as exc:
            raise ConfigError(_unopened(config), config.store_name()) from exc
        engine = Engine(repository, settings_for(config))
        async with AsyncExitStack() as stack:
            web = (
                WebServer(config.http_host, config.http_port, reuse_port=config.reuse_port)
                if config.public_url
                else None
            )
            secret = _secret(config)
            reports = _links(config, web, secret, repository)
            # Telegram sends files; Zalo gets links, served from the store by any worker
            links = reports if "zalo" in names else None
            if web is not None and reports is not None:  # the supervising level's page
                engine.settings = _pages(stack, config, web, reports, repository, engine, secret)
            senders: dict[str, Channel] = {}
            if web is not None:  # listen before any platform is told where to send updates
                for name in names:
                    web.reserve_post(f"/{name}")
                await web.start()
                stack.push_async_callback(web.stop)
            if "telegram" in names:
                senders["telegram"] = await _telegram(stack, engine, config, web, stop)
            if "zalo" in names:
                adapter = await stack.enter_async_context(_zalo(engine, config, web, links))
                senders["zalo"] = adapter.channel
            settle_garbage_collector()
            log.info("assistant running (%s); Ctrl-C stops it", ", ".join(names))
            await _background(repository, engine, senders, config, stop)
    finally:
        await repository.close()


def _unopened(config: Config) -> str:
    """The message key for a store that could not be opened."""
    return "db_unreachable" if config.db_url else "data_unwritable"


GC_YOUNG_OBJECTS = 10_000  # allocations between young collections (Python's default: 700)


def settle_garbage_collector() -> None:
    """Once started: leave what start-up built (modules, rubrics, templates) out of every later
    full collection, and collect the young generation less often.

    Measured with `python -m bench.stall`: a full collection walks the ~80,000 objects left
    after start-up and stops the event loop for 70–140 ms on this machine, so every chat
    waits that long; frozen, the loop's longest stall is about 10 ms. gc.freeze is the
    standard library's own switch for this; nothing the process frees later is affected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])


def _secret(config: Config) -> str:
    """The key that signs report and page links; a new one each start when none is set."""
    if config.link_secret is not None:
        return config.link_secret
    if config.public_url:
        log.warning("DVHT_LINK_SECRET is not set: links given now stop working at restart")
    return secrets.token_urlsafe(32)


def _links(
    config: Config, web: WebServer | None, secret: str, repository: Repository
) -> ReportLinks | None:
    """Report links on the public endpoint; none without a public URL (nowhere to serve them).
    Stored documents are served from the store, so any worker serves any link."""
    if web is None or not config.public_url:
        return None
    links = ReportLinks(
        secret,
        config.data_dir / "links",
        config.public_url,
        config.link_days,
        documents=partial(stored_document, repository),
    )
    web.add_get(ROUTE, links.handle)
    return links


def _pages(
    stack: AsyncExitStack,
    config: Config,
    web: WebServer,
    reports: ReportLinks,
    repository: Repository,
    engine: Engine,
    secret: str,
) -> Settings:
    """The supervising level's page on the public endpoint, its worker a process of its own
    (started when a page is first asked for); the engine's settings, now giving its links."""
    from bot.page_links import PageLinks
    from bot.webpage import PageServer, page_executor

    assert config.public_url is not None
    links = PageLinks(secret, config.public_url, config.page_hours)
    pages = PageServer(
        repository.url, engine.settings, links, reports, page_executor(),
        new_executor=page_executor,
    )  # fmt: skip
    pages.add_to(web)
    stack.callback(pages.close)
    return replace(engine.settings, page_links=links)


async def stored_document(repository: Repository, document_id: str) -> Document | None:
    """A document of the store, read on a snapshot (a download never holds up a turn)."""
    async with repository.snapshot() as tx:
        return await tx.get_document(document_id)


async def _telegram(
    stack: AsyncExitStack,
    engine: Engine,
    config: Config,
    web: WebServer | None,
    stop: asyncio.Event,
) -> Channel:
    """Telegram started; its invite links given to the engine; its sender for the outbox."""
    from bot import telegram_adapter  # python-telegram-bot is loaded only when Telegram runs

    assert config.telegram_token is not None
    application = telegram_adapter.build_application(
        engine,
        config.telegram_token,
        api_base_url=config.telegram_api_base_url,
        on_refused=stop.set,  # the token was revoked: stop, and say so (exit 2)
    )
    await stack.enter_async_context(
        telegram_adapter.running(
            application,
            webhook=web,
            public_url=config.public_url or "",
            secret=config.telegram_webhook_secret or "",
        )
    )
    link = telegram_adapter.invite_link(application)
    if link is not None:
        links = {**engine.settings.invite_links, "telegram": link}
        engine.settings = replace(engine.settings, invite_links=links)
    return telegram_adapter.TelegramChannel(application)


def _zalo(
    engine: Engine, config: Config, web: WebServer | None, links: ReportLinks | None
) -> contextlib.AbstractAsyncContextManager[ZaloAdapter]:
    from bot import zalo_adapter
    from bot.zalo_client import ZaloClient

    assert config.zalo_token is not None
    client = ZaloClient(config.zalo_token, base_url=config.zalo_api_base_url)
    return zalo_adapter.running(
        engine,
        client,
        links=links,
        webhook=web,
        public_url=config.public_url or "",
        secret=config.zalo_webhook_secret or "",
    )


async def _background(
    repository: Repository,
    engine: Engine,
    channels: dict[str, Channel],
    config: Config,
    stop: asyncio.Event,
) -> None:
    """The job worker, the outbox worker and the hourly reminder pass, until `stop`."""
    outbox = OutboxWorker(repository, channels, documents_dir=config.data_dir / "documents")
    worker = JobWorker(
        repository,
        engine.settings,
        list(channels),
        process_executor(),
        on_done=outbox.wake,
        new_executor=process_executor,
    )
    try:
        await worker.start()
        engine.on_queued = _waking(worker, outbox)
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(worker.run(stop)),
            asyncio.create_task(outbox.run(stop)),
            asyncio.create_task(remind_periodically(repository, worker, config, stop)),
        ]
        await stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        worker.executor.shutdown(wait=True, cancel_futures=True)


def _waking(worker: JobWorker, outbox: OutboxWorker) -> Callable[[], None]:
    def wake() -> None:
        worker.wake()
        outbox.wake()

    return wake


async def remind_periodically(
    repository: Repository, worker: JobWorker, config: Config, stop: asyncio.Event
) -> None:
    """Queue the reminder pass (a job: it reads every unit) at start and every
    `reminder_check_minutes`; one pass per period whichever process queues it first."""
    while not stop.is_set():
        try:
            await retrying(
                repository,
                partial(
                    jobs.queue_reminders,
                    now=datetime.now(UTC),
                    every_minutes=config.reminder_check_minutes,
                ),
            )
            worker.wake()
        except Exception:
            log.exception("queueing the reminder pass failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.reminder_check_minutes * 60)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(sig, stop.set)
    return stop
