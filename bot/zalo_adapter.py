"""The Zalo channel: updates in, the engine's replies out as plain text, nothing else.

Zalo's Bot Platform has no buttons and cannot send documents, so a reply is rendered as the
console renders it (bot.textrender: numbered choices answered by number or label, "Nhập điểm từ
0 đến 10" for scores) and split at Zalo's 2,000 characters; a report becomes a signed download
link (bot.report_links), or, without a public address, a message saying where it was saved.

Updates arrive by long polling (one per `getUpdates`) or on the webhook. Each becomes one engine
`Event` whose de-duplication key is the chat and Zalo's message id, so a redelivered update
changes nothing. Updates of one chat are handled in the order received; different chats run
concurrently. The adapter keeps no state that matters: a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.chatlocks import ChatLocks
from bot.report_links import ReportLinks
from bot.textrender import FileText, render_text, split_text
from bot.web import Handler, WebServer, read_json, secret_matches
from bot.zalo_client import ZaloClient, ZaloError, updates_of
from conversations.engine import Engine
from conversations.events import Event, EventKind, IncomingFile, OutgoingFile, Reply, Sender
from templates.text import t

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MESSAGE_LIMIT = 2000  # sendMessage takes 1 to 2,000 characters
WEBHOOK_PATH = "/zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
_PHOTO_KEYS = ("photo_url", "photo", "image_url", "url")


@dataclass(frozen=True, slots=True)
class Incoming:
    """What the adapter needs of one Zalo update, whichever shape it came in."""

    chat_id: str
    sender: Sender
    message_id: str | None
    kind: str  # "text" | "photo" | "other"
    text: str = ""
    photo_url: str | None = None
    caption: str | None = None
    size: int | None = None
    group: bool = False


def parse_update(update: dict[str, Any]) -> Incoming | None:
    """The update as `Incoming`; None for events that are not a person's message.

    Sources disagree on field names, so both forms are read: the sender under `from` or
    `sender`, its name as `display_name`, `name` or `first_name`, the image as `photo_url` or
    `photo` (a URL, or an object or list holding one), the event name present or not.
    """
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    who = _who(update, message)
    if who is None:
        return None
    return Incoming(**who, **_content(str(update.get("event_name") or ""), message))


def _who(update: dict[str, Any], message: dict[str, Any]) -> dict[str, Any] | None:
    """Chat, sender and message id; None for a message without a person (or from a bot)."""
    user = _first_dict(message.get("from"), message.get("sender"), update.get("sender"))
    if user is None or user.get("id") is None or user.get("is_bot") is True:
        return None
    chat = _first_dict(message.get("chat")) or {}
    chat_type = str(chat.get("chat_type") or chat.get("type") or "PRIVATE").upper()
    message_id = message.get("message_id") or message.get("msg_id")
    name = user.get("display_name") or user.get("name") or user.get("first_name") or ""
    return {
        "chat_id": str(chat.get("id") or user["id"]),
        "sender": Sender(str(user["id"]), str(name)),
        "message_id": str(message_id) if message_id else None,
        "group": chat_type == "GROUP",
    }


def _content(event_name: str, message: dict[str, Any]) -> dict[str, Any]:
    """What was sent: text, a photo (by URL, with caption and size if given), or other."""
    text = message.get("text")
    photo = _photo_url(message)
    if event_name == IMAGE_EVENT or (not event_name and photo and not isinstance(text, str)):
        if photo is None:
            return {"kind": "other"}
        caption = message.get("caption")
        size = message.get("size") or message.get("file_size")
        return {
            "kind": "photo",
            "photo_url": photo,
            "caption": str(caption) if caption else None,
            "size": size if isinstance(size, int) else None,
        }
    if isinstance(text, str) and event_name in (TEXT_EVENT, ""):
        return {"kind": "text", "text": text}
    return {"kind": "other"}


def _first_dict(*values: object) -> dict[str, Any] | None:
    return next((value for value in values if isinstance(value, dict)), None)


def _photo_url(message: dict[str, Any]) -> str | None:
    for key in _PHOTO_KEYS:
        value = message.get(key)
        if isinstance(value, list):
            value = value[-1] if value else None  # the largest size comes last
        if isinstance(value, dict):
            value = value.get("url") or value.get("photo_url")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def messages(reply: Reply, file_text: FileText) -> list[str]:
    """The Zalo messages of `reply`: the console's rendering, cut at 2,000 characters."""
    return split_text(render_text(reply, file_text), MESSAGE_LIMIT)


def file_text(links: ReportLinks | None) -> FileText:
    """How a file reaches a person on Zalo: a signed link, or where it was saved instead."""
    if links is None:
        return _saved_text

    def link_text(file: OutgoingFile) -> str:
        try:
            url = links.create(file.path, file.name, file.document)
        except OSError as exc:  # the links folder cannot be written (read-only, full, gone…)
            # The report exists and the assessment is stored: say so, rather than retry a
            # message that cannot be built until an administrator fixes the folder.
            log.warning("report link for %s not made: %s", file.name, exc)
            return t("zalo.report_link_failed", caption=file.caption or file.name)
        return t("zalo.report_link", caption=file.caption or file.name, url=url, days=links.days)

    return link_text


def _saved_text(file: OutgoingFile) -> str:
    """Without a public address: that the report is saved, never the server's path (which
    means nothing to a person on a phone and tells outsiders how the server is laid out)."""
    log.warning("no DVHT_PUBLIC_URL: Zalo is told %s was saved, not given a link", file.name)
    return t("zalo.report_saved", caption=file.caption or file.name)


class ZaloChannel:
    """Sends replies to a Zalo chat (the `bot.channels.Channel` of Zalo)."""

    name = CHANNEL

    def __init__(self, client: ZaloClient, files: FileText) -> None:
        self.client = client
        self.files = files

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            for text in messages(reply, self.files):
                await self.client.send_message(chat_id, text)


class ZaloAdapter:
    """Turns each update into an engine event and delivers the replies through the channel."""

    def __init__(self, engine: Engine, channel: ZaloChannel) -> None:
        self.engine = engine
        self.channel = channel
        self._chats = ChatLocks()
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, update: dict[str, Any]) -> None:
        """Handle one update to the end: committed by the engine, replies sent (or logged)."""
        incoming = parse_update(update)
        if incoming is None:
            log.info("Zalo update ignored: %s", update.get("event_name") or "no message")
            return
        async with self._chats.hold(incoming.chat_id):
            try:
                await self._turn(incoming)
            except Exception:
                log.exception("Zalo update failed")

    def dispatch(self, update: dict[str, Any]) -> None:
        """Handle `update` in the background (polling: the next poll need not wait for it)."""
        task = asyncio.create_task(self.handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the updates under way, so their replies are sent before stopping."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _turn(self, incoming: Incoming) -> None:
        chat_id = incoming.chat_id
        if incoming.group:  # one person, one conversation: assessments are answered in private
            await self._deliver(chat_id, [Reply(t("zalo.private_only"))])
            return
        before: list[Reply] = []
        if incoming.kind == "other":  # stickers and the like: say what is accepted, then ask again
            before.append(Reply(t("zalo.unsupported")))
        replies = await self.engine.handle(await self._event(incoming))
        if replies or before:
            await self._deliver(chat_id, [*before, *replies])

    async def _event(self, incoming: Incoming) -> Event:
        kind, payload, file = EventKind.TEXT, incoming.text, None
        if incoming.kind == "text" and incoming.text.strip().startswith("/"):
            kind, payload = EventKind.COMMAND, incoming.text.strip()[1:]
        elif incoming.kind == "photo" and incoming.photo_url is not None:
            kind, file = EventKind.FILE, await self._photo(incoming, incoming.photo_url)
        key = f"{incoming.chat_id}:{incoming.message_id}" if incoming.message_id else None
        return Event(CHANNEL, incoming.chat_id, incoming.sender, kind, payload, key, file)

    async def _photo(self, incoming: Incoming, url: str) -> IncomingFile:
        """The photo by its URL, with the size Zalo gave or its server reports (for the limit)."""
        size, mime = incoming.size, None
        if size is None:
            size, mime = await self.channel.client.probe(url)
        return IncomingFile("photo", url, None, mime or "image/jpeg", size, incoming.caption)

    async def _deliver(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies; if that fails, say so (the turn is committed: every answer it
        confirmed is saved). Any failure, not only Zalo's: a reply that cannot be rendered
        after a commit must not leave the person with no answer at all."""
        try:
            await self.channel.send(chat_id, replies)
        except Exception as exc:
            log.warning("Zalo reply failed (the turn is committed): %r", exc)
            with contextlib.suppress(ZaloError):
                await self.channel.client.send_message(chat_id, t("error.channel"))


def unwrap(body: Any) -> Any:
    """A webhook body: the update itself, or wrapped as `{"ok": true, "result": update}`."""
    if isinstance(body, dict) and "result" in body and "message" not in body:
        return body["result"]
    return body


def webhook_handler(adapter: ZaloAdapter, secret: str) -> Handler:
    """The POST handler of Zalo's webhook: wrong or missing secret is 403, nothing processed.

    The update is handled (and committed) before the 200 goes back, so Zalo resends whatever
    was not acknowledged; the engine drops the resent copy of what was.
    """

    async def handle(request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return web.Response(status=403)
        body = await read_json(request)
        for update in updates_of(unwrap(body)):
            await adapter.handle(update)
        return web.Response(text="ok")

    return handle


async def poll(
    client: ZaloClient, adapter: ZaloAdapter, stop: asyncio.Event, pause: float = 1.0
) -> None:
    """Long polling until `stop`: an empty poll is normal; a failing one waits, growing.

    At `stop` the poll under way is abandoned. Zalo has no acknowledgement (no offset), so a
    message it hands to that abandoned poll at that very moment is not seen; the person gets no
    answer and writes again. The updates already received are all handled (`drain`).
    """
    failures = 0
    while not stop.is_set():
        try:
            updates = await _unless_stopped(client.get_updates(), stop)
        except ZaloError as exc:
            failures += 1
            log.warning("Zalo getUpdates failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(pause * 2 ** (failures - 1), 60.0))
            continue
        failures = 0
        for update in updates or ():
            adapter.dispatch(update)


async def _unless_stopped(
    call: Awaitable[list[dict[str, Any]]], stop: asyncio.Event
) -> list[dict[str, Any]] | None:
    """The call's result, or None when `stop` is set first (the call is then abandoned)."""
    fetch = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetch
        return None
    return fetch.result()


@asynccontextmanager
async def running(
    engine: Engine,
    client: ZaloClient,
    *,
    links: ReportLinks | None = None,
    webhook: WebServer | None = None,
    public_url: str = "",
    secret: str = "",
    pause: float = 1.0,
) -> AsyncIterator[ZaloAdapter]:
    """Zalo started (long polling, or webhook on `webhook` when given) until the block ends.

    On the way out no new update is taken, the ones under way finish, and the client closes.
    """
    adapter = ZaloAdapter(engine, ZaloChannel(client, file_text(links)))
    stop = asyncio.Event()
    poller: asyncio.Task[None] | None = None
    try:
        me = await client.get_me()  # a wrong token stops here, with a clear error
        log.info(
            "Zalo bot %s: %s", me.get("account_name", "?"), "webhook" if webhook else "polling"
        )
        if webhook is None:
            await _quietly(client.delete_webhook())  # getUpdates does not work under a webhook
            poller = asyncio.create_task(poll(client, adapter, stop, pause))
        else:
            secret = secret or secrets.token_urlsafe(32)
            webhook.add_post(WEBHOOK_PATH, webhook_handler(adapter, secret))
            await client.set_webhook(f"{public_url}{WEBHOOK_PATH}", secret)
        try:
            yield adapter
        finally:
            stop.set()
            if poller is not None:
                await poller
            await adapter.drain()
    finally:
        await client.aclose()


async def _quietly(call: Awaitable[object]) -> None:
    """A preparatory call whose failure must not stop the channel (it is logged)."""
    try:
        await call
    except ZaloError as exc:
        log.info("Zalo: %s", exc)
