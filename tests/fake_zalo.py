"""A small Zalo Bot Platform server on loopback: what Zalo would see of the bot, and what users do.

It speaks the `bot<TOKEN>/<method>` API over real HTTP with JSON bodies, as the docs describe it:
`getUpdates` hands out one update per call (as an object, or as a one-item list: sources
disagree) and answers an empty poll with HTTP 408; `sendMessage` refuses a text outside 1 to
2,000 characters, as Zalo does. It keeps each chat's received messages as a phone would show them,
serves the photos users send (so their size can be checked) and can fail a method on purpose
(HTTP 5xx, 429) to test the bot's retries. Only the methods the assistant uses are implemented.
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

TOKEN = "1459232241454765289:FakeZaloTokenForTests-never_real-0042"
BOT_INFO = {"id": "1459232241454765289", "account_name": "bot.dvht", "account_type": "BASIC"}
TEXT_LIMIT = 2000


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class FakeZaloApi:
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    chats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # bot messages per chat
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    photos: dict[str, int] = field(default_factory=dict)  # photo name -> size in bytes
    result_as_list: bool = False  # getUpdates' result as [update] instead of update
    poll_cap: float = 0.5  # the longest a test waits in an empty long poll
    empty_polls: int = 0
    polls_waiting: int = 0  # long polls held open, including ones their client gave up on

    def __post_init__(self) -> None:
        self._message_ids = itertools.count(0x5A10000)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/photos/{name}", self._photo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
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
        body = await request.read()
        params: dict[str, Any] = json.loads(body) if body else {}
        self.calls.append((method, params))
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.status, "Fake failure", extra)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _photo(self, request: web.Request) -> web.Response:
        size = self.photos.get(request.match_info["name"])
        if size is None:
            return web.Response(status=404)
        return web.Response(body=b"\xff\xd8" + bytes(max(0, size - 2)), content_type="image/jpeg")

    # --- methods ----------------------------------------------------------------------------

    async def _m_getMe(self, _: dict[str, Any]) -> Any:
        return BOT_INFO

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            return _error(400, "Webhook is set: getUpdates is not available")
        timeout = min(float(params.get("timeout") or 0), self.poll_cap)
        if not self.updates and timeout:
            self._new_update.clear()
            self.polls_waiting += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), timeout)
            finally:
                self.polls_waiting -= 1
        if not self.updates:
            self.empty_polls += 1
            return _error(408, "Request timeout")
        update = self.updates.pop(0)
        return [update] if self.result_as_list else update

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        text, chat_id = params.get("text"), params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            return _error(400, "chat_id is required")
        if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
            return _error(400, "text must be 1 to 2000 characters")
        message = {"message_id": f"{next(self._message_ids):020x}", "date": _ms(), "text": text}
        self.chats.setdefault(chat_id, []).append(message)
        return {"message_id": message["message_id"], "date": message["date"]}

    async def _m_sendChatAction(self, _: dict[str, Any]) -> Any:
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return _error(400, "secret_token must be 8 to 256 characters")
        self.webhook = {"url": params.get("url"), "secret_token": secret}
        return {"url": self.webhook["url"], "updated_at": _ms()}

    async def _m_deleteWebhook(self, _: dict[str, Any]) -> Any:
        self.webhook = {}
        return {"url": "", "updated_at": _ms()}

    async def _m_getWebhookInfo(self, _: dict[str, Any]) -> Any:
        if not self.webhook:
            return _error(404, "Not Found")  # as measured on a bot without a webhook
        return {"url": self.webhook["url"], "updated_at": _ms()}

    # --- what users do ------------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (polling) and return it (webhook, direct handling)."""
        self.updates.append(update)
        self._new_update.set()
        return update

    def photo_url(self, name: str, size: int) -> str:
        self.photos[name] = size
        return f"{self.base_url}/photos/{name}"


@dataclass
class ZaloUser:
    """A person in a private chat with the bot: builds the updates their actions produce.

    `name_field` and `sender_field` choose between the shapes the sources disagree on.
    """

    api: FakeZaloApi
    id: str
    name: str
    name_field: str = "display_name"
    sender_field: str = "from"
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _update(self, event_name: str | None, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": f"{self.id[:8]}{next(self._message_ids):012x}",
            "date": _ms(),
            "chat": {"id": self.id, "chat_type": "PRIVATE"},
            self.sender_field: {"id": self.id, self.name_field: self.name, "is_bot": False},
            **content,
        }
        update: dict[str, Any] = {"message": message}
        if event_name is not None:
            update["event_name"] = event_name
        return update

    def text(self, text: str) -> dict[str, Any]:
        return self._update("message.text.received", text=text)

    def photo(self, url: str, caption: str | None = None, key: str = "photo_url") -> dict[str, Any]:
        content: dict[str, Any] = {key: url}
        if caption:
            content["caption"] = caption
        return self._update("message.image.received", **content)

    def sticker(self) -> dict[str, Any]:
        return self._update("message.sticker.received", sticker="d063f44dc80821567819")

    # --- what the phone shows -------------------------------------------------------------------

    @property
    def screen(self) -> list[str]:
        return [m["text"] for m in self.api.chats.get(self.id, [])]

    def last_texts(self, n: int = 3) -> str:
        return "\n---\n".join(self.screen[-n:])


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _ms() -> int:
    return int(time.time() * 1000)
