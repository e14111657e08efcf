"""The HTTP layer under python-telegram-bot: retries that can neither lose nor double a message.

Telegram answers 429 with a delay (PTB's `AIORateLimiter` waits and retries those). What remains
are failures of the network or of Telegram's servers: a 5xx answer, a refused connection, a
connection dropped before any answer. Those requests were not carried out, so sending them again
is safe, and this request class does, with growing pauses. A read that timed out after the
request was written is different: Telegram may have sent the message already, so a send is not
repeated (that would show the person the same question twice); idempotent calls still are.

A 5xx answer is taken as "not carried out". Telegram's front end can, rarely, answer 502 after
the message went out; repeating then shows one message twice, which we prefer to losing the
question the person is waiting for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

# Calls that change nothing when repeated: retried even when the first attempt may have landed.
IDEMPOTENT = frozenset(
    {"getMe", "getFile", "getUpdates", "deleteWebhook", "setWebhook", "editMessageText"}
)
# Cosmetic calls (a toast, taking old buttons off, the command menu): tried once, so that a
# server that does not offer them costs no pauses; their failure changes nothing for the person.
COSMETIC = frozenset({"answerCallbackQuery", "editMessageReplyMarkup", "setMyCommands"})
NOT_IMPLEMENTED = 501
UNAUTHORIZED = 401


class RetryingRequest(HTTPXRequest):
    """`HTTPXRequest` that repeats a request Telegram never carried out."""

    def __init__(
        self,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        on_refused: Callable[[], object] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.on_refused = on_refused  # Telegram answered 401: the token was revoked

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: object,
        **kwargs: object,
    ) -> tuple[int, bytes]:
        api_method = url.rstrip("/").rsplit("/", 1)[-1]
        attempts = 1 if api_method in COSMETIC else self.attempts
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                status, body = await super().do_request(
                    url,
                    method,
                    request_data,
                    *args,  # type: ignore[arg-type]
                    **kwargs,  # type: ignore[arg-type]
                )
            except NetworkError as exc:
                if last or not _safe_to_repeat(exc, api_method):
                    raise
                log.warning("Telegram %s: %s; attempt %d", api_method, type(exc).__name__, attempt)
            else:
                if status == UNAUTHORIZED and self.on_refused is not None:
                    self.on_refused()
                if status < 500 or status == NOT_IMPLEMENTED or last:
                    return status, body
                log.warning("Telegram %s: HTTP %d; attempt %d", api_method, status, attempt)
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _safe_to_repeat(exc: NetworkError, api_method: str) -> bool:
    """True when the failed request cannot have reached Telegram, or repeating it is harmless."""
    if api_method in IDEMPOTENT:
        return True
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(cause, httpx.ConnectError | httpx.RemoteProtocolError)
