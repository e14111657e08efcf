"""A thin async client of the Zalo Bot Platform API (`bot<TOKEN>/<method>`), over httpx.

What the platform documents and what measured clients report do not always agree, so the client
accepts both forms where they differ: a result wrapped in `{"ok": true, "result": …}` or not, and
`getUpdates` answering one update object (the docs) or a list of them. An empty long poll is
answered with HTTP 408: that is the normal "nothing new", not an error.

Retries follow bot/telegram_request.py: a request Zalo never carried out (refused connection,
connection dropped before an answer, 429, 5xx) is sent again after a growing pause; a send whose
answer timed out after the request was written is not, because Zalo may have delivered it and
the person would read the same message twice. The token is part of every URL, so no message this
module raises or logs contains a URL.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"  # the docs' host (older: bot-api.zapps.me)
EMPTY_POLL = 408
POLL_SECONDS = 30
MAX_RETRY_AFTER = 30.0  # a longer 429 pause is cut to this; the reply is late, not lost

# Calls that change nothing when repeated: retried even when the first attempt may have landed.
IDEMPOTENT = frozenset({"getMe", "getWebhookInfo", "setWebhook", "deleteWebhook", "getUpdates"})
# Network failures after which the request cannot have reached Zalo.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.RemoteProtocolError)


class ZaloError(Exception):
    """A call that failed for good; `status` is the HTTP status (0: no answer at all)."""

    def __init__(self, method: str, status: int, description: str) -> None:
        super().__init__(f"Zalo {method}: {status or 'no answer'}: {description}")
        self.method = method
        self.status = status
        self.description = description


def api_root(base: str | None, token: str) -> str:
    """The URL before `/<method>`, from ZALO_API_BASE_URL given with or without "/bot"."""
    root = (base or DEFAULT_API_BASE).rstrip("/")
    if "{token}" in root:
        return root.replace("{token}", token)
    return f"{root.removesuffix('/bot')}/bot{token}"


class ZaloClient:
    """The API methods the assistant uses; `transport` may be injected (tests)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        attempts: int = 4,
        backoff: float = 0.5,
        poll_seconds: int = POLL_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._root = api_root(base_url, token)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.poll_seconds = poll_seconds
        timeout = httpx.Timeout(20.0, connect=10.0)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return "ZaloClient(token=***)"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_me(self) -> dict[str, Any]:
        return _mapping(await self.call("getMe"))

    async def get_updates(self) -> list[dict[str, Any]]:
        """The next update(s) of a long poll; [] when the poll ended empty (HTTP 408)."""
        seconds = self.poll_seconds
        params = {"timeout": str(seconds)}  # the docs type it as a string
        result = await self.call("getUpdates", params, read_timeout=seconds + 15.0)
        return updates_of(result)

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        return _mapping(await self.call("sendMessage", {"chat_id": chat_id, "text": text}))

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def probe(self, url: str) -> tuple[int | None, str | None]:
        """(size, MIME type) of a photo Zalo hosts, from a HEAD request; unknown: None."""
        try:
            response = await self._http.head(url, follow_redirects=True, timeout=10.0)
        except httpx.HTTPError as exc:
            log.info("photo size unknown: %s", type(exc).__name__)
            return None, None
        if response.status_code >= 400:
            return None, None
        length = response.headers.get("content-length", "")
        mime = response.headers.get("content-type", "").split(";")[0].strip() or None
        return (int(length) if length.isdigit() else None), mime

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, read_timeout: float = 20.0
    ) -> Any:
        """POST `method` with a JSON body; the result, retried as the module says, or ZaloError."""
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = await self._post(method, params or {}, read_timeout)
            except httpx.HTTPError as exc:
                error = ZaloError(method, 0, self._redact(f"{type(exc).__name__}: {exc}"))
                if last or not _safe_to_repeat(exc, method):
                    raise error from None  # httpx's message may quote the URL, token included
                log.warning("Zalo %s: %s; attempt %d", method, type(exc).__name__, attempt)
                await asyncio.sleep(self.backoff * 2.0 ** (attempt - 1))
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if last:
                    raise ZaloError(method, status, self._redact(response.text[:200]))
                log.warning("Zalo %s: HTTP %d; attempt %d", method, status, attempt)
                await asyncio.sleep(self._pause(response, attempt))
                continue
            return self._result(method, response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, method: str, params: dict[str, Any], read: float) -> httpx.Response:
        timeout = httpx.Timeout(read, connect=10.0)
        return await self._http.post(f"{self._root}/{method}", json=params, timeout=timeout)

    def _result(self, method: str, response: httpx.Response) -> Any:
        """The result of an answered call: unwrapped from `ok`/`result` when wrapped."""
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        wrapped = isinstance(body, dict) and "ok" in body
        if method == "getUpdates" and _empty_poll(status, body):
            return None
        if status >= 400 or (wrapped and body.get("ok") is not True):
            detail = body.get("description", "") if isinstance(body, dict) else response.text
            raise ZaloError(method, _code(body) or status, self._redact(str(detail)[:200]))
        if body is None:
            raise ZaloError(method, status, "not JSON")
        return body.get("result") if wrapped else body

    def _pause(self, response: httpx.Response, attempt: int) -> float:
        """Zalo's retry_after (body or header) when it gives one, else a growing backoff."""
        pause = self.backoff * 2.0 ** (attempt - 1)
        hint: object = response.headers.get("retry-after")
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("parameters"), dict):
            hint = body["parameters"].get("retry_after", hint)
        try:
            return min(max(pause, float(str(hint))), MAX_RETRY_AFTER)
        except ValueError:
            return pause

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***")


def updates_of(result: Any) -> list[dict[str, Any]]:
    """getUpdates' result as a list: one update object (the docs), a list of them, or none."""
    if isinstance(result, list):
        return [item for item in result if isinstance(item, dict) and item]
    if isinstance(result, dict) and result:
        return [result]
    return []


def _safe_to_repeat(exc: httpx.HTTPError, method: str) -> bool:
    """True when the failed request cannot have reached Zalo, or repeating it is harmless."""
    return method in IDEMPOTENT or isinstance(exc, _NOT_SENT)


def _empty_poll(status: int, body: Any) -> bool:
    """HTTP 408, or its JSON form: `{"ok": false, "error_code": 408, "description": "Request
    timeout"}` (some clients see only the description)."""
    if status == EMPTY_POLL or _code(body) == EMPTY_POLL:
        return True
    description = body.get("description") if isinstance(body, dict) else None
    return isinstance(description, str) and "timeout" in description.lower()


def _code(body: Any) -> int:
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else 0


def _mapping(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {}
