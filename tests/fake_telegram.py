"""A small Bot API server on loopback: what Telegram would see of the bot, and what users do.

It speaks the real HTTP protocol (JSON and multipart bodies, `bot<TOKEN>/<method>` paths, file
downloads), keeps each chat as a phone would show it (messages edited in place, keyboards, the
documents received) and can fail a method on purpose (HTTP 5xx, 429 with retry_after) to test
the bot's retries. Only the methods the assistant uses are implemented.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTests_never-real-0042"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Trợ lý ĐVHT", "username": "dvht_bot"}


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class FakeBotApi:
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    chats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # bot messages per chat
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    handed_out: dict[int, dict[str, Any]] = field(default_factory=dict)  # by update id
    batches: int = 0  # getUpdates calls that handed out at least one update
    deliveries: int = 0  # updates handed out, counting each time one is handed out again

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with an error."""
        self.failures.setdefault(method, []).extend([Failure(status, retry_after)] * times)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append((method, params))
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.status, "Fake failure", extra)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        data = self.files.get(request.match_info["path"])
        return web.Response(status=404) if data is None else web.Response(body=data)

    # --- methods ----------------------------------------------------------------------------

    async def _m_getMe(self, _: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands = _json(params["commands"])
        return True

    async def _m_deleteWebhook(self, _: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = params
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 2.0)
        limit = min(int(params.get("limit") or 100), 100)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]  # acknowledged
        if not self.updates and timeout:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        batch = self.updates[:limit]
        self.handed_out.update((u["update_id"], u) for u in batch)
        self.batches += bool(batch)
        self.deliveries += len(batch)
        return batch

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._store(params, text=str(params["text"]))

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        document = params["document"]
        file_id = f"doc{next(self._ids)}"
        self.files[file_id] = document["data"]
        meta = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": document["filename"],
            "file_size": len(document["data"]),
        }
        return self._store(params, document=meta, caption=params.get("caption"))

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self._find(params)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message.get("text") == params["text"] and message.get("reply_markup") == _json(
            params.get("reply_markup")
        ):
            return _error(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        _set_markup(message, params)
        message["edited"] = True
        return message

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self._find(params)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        _set_markup(message, params)
        return message

    async def _m_answerCallbackQuery(self, _: dict[str, Any]) -> Any:
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": size,
            "file_path": file_id,
        }

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            **{key: value for key, value in content.items() if value is not None},
        }
        _set_markup(message, params)
        self.chats.setdefault(chat_id, []).append(message)
        return message

    def _find(self, params: dict[str, Any]) -> dict[str, Any] | None:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        return next((m for m in self.chats.get(chat_id, []) if m["message_id"] == message_id), None)

    # --- what users do ------------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (polling) and return it (webhook, process_update)."""
        self.updates.append(update)
        self._new_update.set()
        return update

    def next_update_id(self) -> int:
        return next(self._ids) + 10_000


@dataclass
class PhoneUser:
    """A person in a private chat with the bot: builds the updates their actions produce."""

    api: FakeBotApi
    id: int
    first_name: str
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "update_id": self.api.next_update_id(),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
                "from": self.user,
                **content,
            },
        }

    def text(self, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._message(**content)

    def photo(self, size: int, caption: str | None = None) -> dict[str, Any]:
        sizes = [
            {"file_id": f"small{size}", "file_unique_id": "s", "width": 90, "height": 90,
             "file_size": 1000},
            {"file_id": f"photo{size}", "file_unique_id": "p", "width": 1280, "height": 960,
             "file_size": size},
        ]  # fmt: skip
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._message(**content)

    def sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False,
        }  # fmt: skip
        return self._message(sticker=sticker)

    def press(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press the button labelled `label` (prefix) on `message` (default: the last keyboard)."""
        message = message or self.keyboard_message()
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if button["text"].startswith(label):
                    return self.press_data(button["callback_data"], message)
        raise AssertionError(f"no button {label!r} on {message.get('text')!r}")

    def press_data(self, data: str, message: dict[str, Any]) -> dict[str, Any]:
        query = {
            "id": str(self.api.next_update_id()),
            "from": self.user,
            "chat_instance": f"ci{self.id}",
            "data": data,
            "message": message,
        }
        return {"update_id": self.api.next_update_id(), "callback_query": query}

    # --- what the phone shows -------------------------------------------------------------------

    @property
    def screen(self) -> list[dict[str, Any]]:
        return self.api.chats.get(self.id, [])

    def last_texts(self, n: int = 3) -> str:
        texts = [m.get("text") or m.get("caption") or "" for m in self.screen[-n:]]
        return "\n---\n".join(texts)

    def keyboards(self) -> list[dict[str, Any]]:
        return [m for m in self.screen if m.get("reply_markup", {}).get("inline_keyboard")]

    def keyboard_message(self) -> dict[str, Any]:
        live = self.keyboards()
        assert live, f"no keyboard on screen; last: {self.last_texts()}"
        return live[-1]

    def buttons(self, message: dict[str, Any] | None = None) -> list[str]:
        message = message or self.keyboard_message()
        return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]

    def documents(self) -> list[dict[str, Any]]:
        return [m for m in self.screen if "document" in m]


def _set_markup(message: dict[str, Any], params: dict[str, Any]) -> None:
    markup = _json(params.get("reply_markup"))
    if markup and markup.get("inline_keyboard"):
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.read()
        return dict(json.loads(body)) if body else {}
    if request.content_type.startswith("multipart/"):
        params: dict[str, Any] = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "data": value.file.read()}
            else:
                params[key] = value
        return params
    return dict(request.query) | dict(await request.post())


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
