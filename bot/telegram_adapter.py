"""The Telegram channel: updates in, the engine's replies out, nothing else.

A thin adapter over python-telegram-bot 22: each update becomes one engine `Event`; the engine
commits before it answers, so by the time a reply is sent the answer it confirms is on disk. The
adapter keeps no state that matters: the only thing it remembers (which message carries the live
keyboard, to take the buttons off when the next question arrives) is kept in memory and stored
(`live_keyboards`), so that after a restart old questions still lose their buttons; the engine
refuses a stale button anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import Bot, BotCommand, Message, Update
from telegram.constants import UpdateType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.chatlocks import ChatLocks
from bot.telegram_polling import Poller
from bot.telegram_render import Outgoing, caption_and_rest, coalesce, messages
from bot.telegram_request import RetryingRequest
from bot.web import Handler, WebServer, read_json, secret_matches
from conversations.engine import COMMANDS, Engine
from conversations.events import Event, EventKind, IncomingFile, OutgoingFile, Reply, Sender
from storage.base import StorageError, Transaction, retrying
from templates.text import t

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = [UpdateType.MESSAGE, UpdateType.CALLBACK_QUERY]
_KEYBOARD = "keyboard_message_id"  # chat_data key: the message whose buttons are live
_LAST = "last_message_id"  # chat_data key: the bot's last message in the chat
_STORED = "stored_keyboard_message_id"  # chat_data key: the live keyboard as stored (or None)
_ADAPTER = "dvht_adapter"  # bot_data key: the adapter, to write its live keyboards at the end
KEYBOARDS_WRITE_DELAY = 2.0  # seconds between a keyboard change and its write, with others
WEBHOOK_PATH = "/telegram"
DEFAULT_API = "https://api.telegram.org/bot"
DEFAULT_FILES = "https://api.telegram.org/file/bot"
POLL_INTERVAL = 0.1  # a server that answers an empty poll at once is not asked 1,000 times/s
UPLOAD_TIMEOUT = 60.0  # seconds for a report upload on a slow connection

Context = ContextTypes.DEFAULT_TYPE
App = Application[Any, Any, Any, Any, Any, Any]


def api_urls(base: str | None) -> tuple[str, str] | None:
    """(base_url, base_file_url) for PTB from TELEGRAM_API_BASE_URL, with or without "/bot"."""
    if not base:
        return None
    root = base.rstrip("/")
    if "{token}" in root:
        return root, root.replace("/bot{token}", "/file/bot{token}")
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    engine: Engine,
    token: str,
    *,
    api_base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: AIORateLimiter | None = None,
    on_refused: Callable[[], object] | None = None,
) -> App:
    """The Application with the adapter's handlers; `request` may be injected (tests, benches).

    The rate limiter keeps under Telegram's limits and waits out a 429 (`max_retries` times).
    `on_refused` is called when Telegram refuses the token while polling (revoked in
    @BotFather): polling cannot go on, and the service stops rather than run deaf.
    """
    urls = api_urls(api_base_url) or (DEFAULT_API, DEFAULT_FILES)
    bot: ExtBot[int] = ExtBot(
        token,
        base_url=urls[0],
        base_file_url=urls[1],
        request=request or RetryingRequest(connection_pool_size=16),
        get_updates_request=(
            get_updates_request or RetryingRequest(attempts=1, on_refused=on_refused)
        ),
        rate_limiter=rate_limiter or AIORateLimiter(max_retries=3),
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .bot(bot)
        .updater(None)  # polling is `Poller`'s: it acknowledges only what it has processed
        .concurrent_updates(PerChatUpdateProcessor(64))
    )
    application = builder.build()
    TelegramAdapter(engine).install(application)
    return application


class TelegramAdapter:
    """The handlers: each turns an update into an engine event and delivers the replies."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._unstored: dict[str, int | None] = {}  # live keyboards changed since the last write
        self._writing: asyncio.Task[None] | None = None

    def install(self, application: App) -> None:
        application.bot_data[_ADAPTER] = self
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(private & filters.COMMAND, self.on_command))
        application.add_handler(MessageHandler(private & filters.TEXT, self.on_text))
        files = filters.PHOTO | filters.Document.ALL | filters.VIDEO
        application.add_handler(MessageHandler(private & files, self.on_file))
        application.add_handler(MessageHandler(private, self.on_unsupported))
        others = filters.COMMAND & filters.UpdateType.MESSAGE
        application.add_handler(MessageHandler(others, self.on_group_command))
        application.add_error_handler(self.on_error)

    async def on_command(self, update: Update, context: Context) -> None:
        message = _message(update)
        event = _event(update, EventKind.COMMAND, (message.text or "").strip()[1:])
        await self._turn(context, message.chat_id, event)

    async def on_text(self, update: Update, context: Context) -> None:
        message = _message(update)
        await self._turn(context, message.chat_id, _event(update, EventKind.TEXT, message.text))

    async def on_file(self, update: Update, context: Context) -> None:
        message = _message(update)
        event = _event(update, EventKind.FILE, file=incoming_file(message))
        await self._turn(context, message.chat_id, event)

    async def on_unsupported(self, update: Update, context: Context) -> None:
        """Stickers, voice, locations…: say what is accepted, then show the current question."""
        message = _message(update)
        await self._turn(
            context,
            message.chat_id,
            _event(update, EventKind.TEXT, ""),
            before=[Reply(t("telegram.unsupported"))],
        )

    async def on_group_command(self, update: Update, context: Context) -> None:
        """Assessments are answered in a private chat: one person, one conversation."""
        await _message(update).reply_text(t("telegram.private_only"))

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        pressed = query.message if isinstance(query.message, Message) else None
        event = _event(update, EventKind.CHOICE, query.data or "")
        replies = await self._handle(context, event)
        notice = next((r.notice for r in replies if r.notice), None)
        await _quietly(query.answer(notice))
        if replies and replies[0].stale and _current_is_last(context, pressed):
            # The question asked now is the last message on screen: the toast says enough.
            if pressed is not None:
                await _quietly(_remove_keyboard(context.bot, pressed.chat_id, pressed.message_id))
            return
        await deliver(context, int(event.chat_id), replies, pressed=pressed)
        await self._store_keyboard(context, event.chat_id)

    async def on_error(self, update: object, context: Context) -> None:
        """Log (the logging filter blanks the token) and tell the person nothing was lost."""
        log.error("Telegram update failed", exc_info=context.error)
        chat = _chat_key(update)
        if chat is not None:
            await _quietly(context.bot.send_message(chat, t("error.channel")))

    async def _turn(
        self, context: Context, chat_id: int, event: Event, before: Sequence[Reply] = ()
    ) -> None:
        replies = await self._handle(context, event)
        if replies or before:
            await deliver(context, chat_id, [*before, *replies])
            await self._store_keyboard(context, event.chat_id)

    async def _handle(self, context: Context, event: Event) -> list[Reply]:
        """The engine's replies to `event`, the chat's stored live keyboard read meanwhile.

        The read is on the snapshot connection, apart from the turn's transaction: run beside
        the turn, it costs the turn nothing (in series it cost ~12 % of turns a second)."""
        recall = None
        if context.chat_data is not None and _STORED not in context.chat_data:
            recall = asyncio.create_task(self._recall_keyboard(context, event.chat_id))
        try:
            return await self.engine.handle(event)
        finally:
            if recall is not None:
                await recall

    async def _recall_keyboard(self, context: Context, chat_id: str) -> None:
        """After a restart, which message of the chat still has live buttons (stored), so the
        next question takes them off: memory alone forgets them at every restart."""
        chat_data = context.chat_data
        if chat_data is None or _STORED in chat_data:
            return
        try:
            async with self.engine.repository.snapshot() as tx:
                stored = await tx.live_keyboard(CHANNEL, chat_id)
        except StorageError as exc:  # cosmetic: at worst an old keyboard stays live
            log.info("live keyboard of a chat not read: %s", exc)
            return
        chat_data[_STORED] = stored
        if stored is not None:
            chat_data.setdefault(_KEYBOARD, stored)

    async def _store_keyboard(self, context: Context, chat_id: str) -> None:
        """Note the chat's live keyboard message id when it changed. The ids are written
        together a moment later (`store_keyboards`): one small commit for many turns, not one
        more per turn; a kill loses at most that moment's, which only leaves buttons live."""
        chat_data = context.chat_data
        if chat_data is None:
            return
        live = chat_data.get(_KEYBOARD)
        live = live if isinstance(live, int) else None
        if chat_data.get(_STORED, -1) == live:
            return
        chat_data[_STORED] = live
        self._unstored[chat_id] = live
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._store_soon())

    async def _store_soon(self) -> None:
        await asyncio.sleep(KEYBOARDS_WRITE_DELAY)
        try:
            await self.store_keyboards()
        except Exception as exc:  # the store closed meanwhile (stopping): buttons stay live
            log.info("live keyboards not stored: %r", exc)

    async def store_keyboards(self) -> None:
        """Write the live keyboards changed since the last write (also when stopping)."""
        unstored, self._unstored = self._unstored, {}
        if not unstored:
            return

        async def write(tx: Transaction) -> None:
            await tx.set_live_keyboards(CHANNEL, unstored)

        try:
            await retrying(self.engine.repository, write)
        except StorageError as exc:  # cosmetic: the buttons would only stay live
            log.info("live keyboards not stored: %s", exc)


async def store_keyboards(application: App) -> None:
    """Write what the adapter of `application` still holds of the live keyboards."""
    adapter = application.bot_data.get(_ADAPTER)
    if isinstance(adapter, TelegramAdapter):
        await adapter.store_keyboards()


def _message(update: Update) -> Message:
    if update.message is None:  # the handlers' filters admit only new messages
        raise TypeError("update without a message")
    return update.message


def _event(
    update: Update, kind: EventKind, payload: str | None = "", file: IncomingFile | None = None
) -> Event:
    """The engine event of `update`."""
    chat_id, sender = _who(update)
    return Event(
        channel=CHANNEL,
        chat_id=str(chat_id),
        sender=sender,
        kind=kind,
        payload=payload or "",
        update_id=dedup_key(update),
        file=file,
    )


def _who(update: Update) -> tuple[int, Sender]:
    """The private chat and its person; either one stands in for the other when missing."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None:
        return (chat.id if chat is not None else user.id), Sender(str(user.id), user.full_name)
    if chat is not None:  # a server that leaves out "from": in a private chat, the chat is the user
        name = chat.full_name or chat.title or str(chat.id)
        return chat.id, Sender(str(chat.id), name)
    raise TypeError("update without a user or chat")


def dedup_key(update: Update) -> str:
    """The key under which the engine recognises a redelivered update.

    Update ids restart from 1 on a new Bot API server (a local server, a test server), so the id
    alone could make a new update look like an old one; a redelivery repeats the whole update.
    So the key is Telegram's own identity of what the update carries, which no server renumbers:
    a new message by its chat, id and date (and edit date, when there is one), a pressed button by
    its callback query's id. Any other update: its id and a digest of all of its content.
    """
    query = update.callback_query
    if query is not None:
        return f"q:{query.id}"
    message = update.message
    if message is not None:
        key = f"m:{message.chat.id}:{message.message_id}:{int(message.date.timestamp())}"
        edited = message.edit_date
        return key if edited is None else f"{key}:{int(edited.timestamp())}"
    content = json.dumps(update.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.blake2b(content.encode(), digest_size=10).hexdigest()
    return f"{update.update_id}:{digest}"


def incoming_file(message: Message) -> IncomingFile | None:
    """The photo (largest size), document or video of `message`, by file id with metadata."""
    caption = message.caption
    if message.photo:
        photo = message.photo[-1]
        return IncomingFile("photo", photo.file_id, None, "image/jpeg", photo.file_size, caption)
    attached = message.document or message.video
    if attached is None:
        return None
    kind = "document" if message.document is not None else "video"
    return IncomingFile(
        kind, attached.file_id, attached.file_name, attached.mime_type, attached.file_size, caption
    )


async def deliver(
    context: Context, chat_id: int, replies: Sequence[Reply], pressed: Message | None = None
) -> None:
    """Send `replies` in order; a reply that replaces the pressed question edits it in place.

    Only the newest question keeps its buttons: the pressed message is edited or stripped, and
    the previous keyboard message of the chat loses its buttons when a new one is sent.
    """
    chat_data = context.chat_data if context.chat_data is not None else {}
    bot = context.bot
    edited = False
    for reply in coalesce(replies):
        parts = messages(reply)
        if pressed is not None and reply.replace_previous and not edited:
            kept = parts
            if reply.amend and pressed.text:  # the question keeps its text, the answer under it
                kept = messages(replace(reply, text=f"{pressed.text}\n\n{reply.text}"))
            edited = len(kept) == 1 and await _edit(bot, pressed, kept[0])
            if edited:
                _remember_keyboard(chat_data, pressed.message_id, kept[0])
                continue
        for part in parts:
            if part.keyboard is not None:
                await _strip(bot, chat_id, chat_data.get(_KEYBOARD), pressed)
            sent = await bot.send_message(chat_id, part.text, api_kwargs=_markup(part))
            _remember_keyboard(chat_data, sent.message_id, part)
            chat_data[_LAST] = sent.message_id
        if reply.files:
            chat_data.pop(_LAST, None)  # a document is now the last message
        await _send_files(context, chat_id, reply.files)
    if pressed is not None and not edited:
        await _quietly(_remove_keyboard(bot, pressed.chat_id, pressed.message_id))


def _current_is_last(context: Context, pressed: Message | None) -> bool:
    """True when the chat's live question is the last message the bot sent (and not the
    message pressed), so a person who pressed an old button sees the current one below."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    live = chat_data.get(_KEYBOARD)
    return (
        isinstance(live, int)
        and live == chat_data.get(_LAST)
        and (pressed is None or pressed.message_id != live)
    )


def _markup(part: Outgoing) -> dict[str, Any] | None:
    """The part's keyboard as the Bot API's `reply_markup` (see bot.telegram_render)."""
    return None if part.keyboard is None else {"reply_markup": part.keyboard}


def _remember_keyboard(chat_data: dict[Any, Any], message_id: int, part: Outgoing) -> None:
    if part.keyboard is not None:
        chat_data[_KEYBOARD] = message_id
    elif chat_data.get(_KEYBOARD) == message_id:
        del chat_data[_KEYBOARD]


async def _remove_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the inline keyboard off one of the bot's messages (no markup given: none kept)."""
    await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)


async def _strip(bot: Bot, chat_id: int, message_id: object, pressed: Message | None) -> None:
    """Take the buttons off the chat's previous keyboard message."""
    if not isinstance(message_id, int):
        return
    if pressed is not None and message_id == pressed.message_id:
        return  # the pressed message is edited, or stripped once the replies are out
    await _quietly(_remove_keyboard(bot, chat_id, message_id))


async def _edit(bot: Bot, pressed: Message, part: Outgoing) -> bool:
    """Edit the pressed message into `part`; False when Telegram refuses (then it is sent anew)."""
    try:
        await bot.edit_message_text(
            part.text,
            chat_id=pressed.chat_id,
            message_id=pressed.message_id,
            api_kwargs=_markup(part),
        )
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return True
        log.info("edit refused, sending instead: %s", exc)
        return False
    except TelegramError as exc:  # a server without editing, a message deleted meanwhile…
        log.info("edit failed, sending instead: %s", exc)
        return False
    return True


async def _send_files(context: Context, chat_id: int, files: Sequence[OutgoingFile]) -> None:
    await send_files(context.bot, chat_id, files)


async def send_files(bot: Bot, chat_id: int, files: Sequence[OutgoingFile]) -> None:
    """Each file as a document (the report), its caption apart when longer than Telegram's."""
    for file in files:
        caption, rest = caption_and_rest(file.caption)
        for text in rest:
            await bot.send_message(chat_id, text)
        await bot.send_document(
            chat_id,
            document=file.path.read_bytes(),
            filename=file.name,
            caption=caption or None,
            read_timeout=UPLOAD_TIMEOUT,
            write_timeout=UPLOAD_TIMEOUT,
        )


class TelegramChannel:
    """Telegram as a `bot.channels.Channel`: the outbox's messages (leaders, reminders).

    Their buttons run commands, never stale, so they are not tracked as the chat's live
    keyboard and a later question does not take them away.
    """

    name = CHANNEL

    def __init__(self, application: App) -> None:
        self.bot: Bot = application.bot
        self.chat_data = application.chat_data

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            for part in messages(reply):
                await self.bot.send_message(int(chat_id), part.text, api_kwargs=_markup(part))
            await send_files(self.bot, int(chat_id), reply.files)
        chat_data = self.chat_data.get(int(chat_id))
        if chat_data is not None:  # the live question is no longer the last message
            chat_data.pop(_LAST, None)


def invite_link(application: App) -> str | None:
    """The deep link that opens the bot with /start <code> (Telegram's start parameter)."""
    username = application.bot.username
    return f"https://t.me/{username}?start={{code}}" if username else None


async def _quietly(call: Awaitable[object]) -> None:
    """Run a cosmetic call (toast, removing old buttons); its failure must not stop the turn."""
    try:
        await call
    except TelegramError as exc:
        log.info("cosmetic Telegram call failed: %s", exc)


async def set_commands(application: App) -> None:
    """Register the commands in Telegram's menu, in Vietnamese (a server may not support it)."""
    commands = [BotCommand(name, t(f"command.{name}")) for name in COMMANDS]
    await _quietly(application.bot.set_my_commands(commands))


async def download_attachment(application: App, file_ref: str, dest: Path) -> Path:
    """Fetch a stored evidence file by its Telegram file id (for the report's annex)."""
    telegram_file = await application.bot.get_file(file_ref)
    saved: Path = await telegram_file.download_to_drive(dest)
    return saved


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat run in the order received.

    A person who taps two buttons quickly must see the answers applied in that order, while one
    unit's report being rendered must not hold up everybody else. The chat's lock is taken
    before a concurrency slot, so a burst from one chat waits without holding the slots that
    other chats need.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        # PTB takes its slot before the chat is known; ours is taken after the chat's lock.
        super().__init__(max_concurrent_updates=1 << 16)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._chats = ChatLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with self._chats.hold(_chat_key(update)), self._slots:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: locks are created per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _chat_key(update: object) -> int | None:
    """The private chat an update belongs to (the user's id when the chat is not given)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_handler(application: App, secret: str) -> Handler:
    """The POST handler of Telegram's webhook: wrong or missing secret is 403, nothing processed.

    The update is handled (and committed) before the 200 goes back, so Telegram resends whatever
    was not acknowledged; the engine drops the resent copy of what was.
    """

    async def handle(request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return web.Response(status=403)
        data = await read_json(request)
        try:
            update = Update.de_json(data, application.bot) if isinstance(data, dict) else None
        except Exception as exc:  # PTB's reading of outside data: a date of 1e300, a bad type…
            log.info("Telegram webhook: update refused (%s)", type(exc).__name__)
            update = None
        if update is None:
            return web.Response(status=400)
        processor = application.update_processor
        await processor.process_update(update, application.process_update(update))
        return web.Response(text="ok")

    return handle


@asynccontextmanager
async def running(
    application: App, *, webhook: WebServer | None = None, public_url: str = "", secret: str = ""
) -> AsyncIterator[App]:
    """Telegram started (long polling, or webhook on `webhook` when given) until the block ends.

    Polling is our `Poller`, not PTB's `Updater`, which acknowledges a batch before handling it
    (see bot/telegram_polling.py). Leaving the block finishes the batch in hand, then stops.
    """
    await application.initialize()
    try:
        await set_commands(application)
        poller = None
        if webhook is None:
            poller = Poller(
                application, allowed_updates=ALLOWED_UPDATES, poll_interval=POLL_INTERVAL
            )
        else:
            secret = secret or secrets.token_urlsafe(32)
            webhook.add_post(WEBHOOK_PATH, webhook_handler(application, secret))
            await application.bot.set_webhook(
                f"{public_url}{WEBHOOK_PATH}", secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        await application.start()
        try:
            if poller is not None:
                await poller.start()
            yield application
        finally:
            try:
                if poller is not None:
                    # Re-raises what ended the polling (InvalidToken: the token was revoked
                    # while running), once the Application is stopped and shut down.
                    await poller.stop()
            finally:
                await application.stop()
                await store_keyboards(application)
    finally:
        await application.shutdown()
