"""The assistant's own HTTP endpoint: channel webhooks and report download links on one port.

aiohttp serves it inside the same event loop as the channels, so a webhook update is handled by
the engine and committed before the HTTP answer goes back: a platform that does not get its 200
sends the update again, and the engine recognises the redelivery.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 1024 * 1024  # a webhook update is a few kilobytes; anything bigger is refused


class WebServer:
    """One aiohttp application; channels add their routes.

    aiohttp fixes its routes when it starts, but a channel must listen before it asks the
    platform to send it updates (a webhook set first would be tried against a closed port). So a
    POST path can be reserved before `start` and its handler given later; until then it answers
    503, which the platforms retry.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_get("/healthz", _health)
        self._runner: web.AppRunner | None = None
        self._posts: dict[str, Handler | None] = {}

    def reserve_post(self, path: str) -> None:
        """Route POST `path` now; its handler comes with `add_post`, possibly after `start`."""
        if path not in self._posts:
            self._posts[path] = None
            self.app.router.add_post(path, self._dispatcher(path))

    def add_post(self, path: str, handler: Handler) -> None:
        self.reserve_post(path)
        self._posts[path] = handler

    def _dispatcher(self, path: str) -> Handler:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            handler = self._posts.get(path)
            if handler is None:
                return web.Response(status=503)  # starting: the platform sends it again
            return await handler(request)

        return dispatch

    def add_get(self, path: str, handler: Handler) -> None:
        self.app.router.add_get(path, handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("HTTP endpoint listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful when started on port 0)."""
        if self._runner is None or not self._runner.addresses:
            return self.port
        return int(self._runner.addresses[0][1])


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a webhook's secret header (missing: no match).

    aiohttp decodes header bytes that are not UTF-8 as lone surrogates; they are compared as
    the bytes that came (`surrogateescape`), so a stranger's odd byte is a plain mismatch
    (403), never an exception (a 500 with a traceback in the log, per request)."""
    if given is None:
        return False
    try:
        raw = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # not from a header parser: no secret can match it
        return False
    return hmac.compare_digest(raw, expected.encode())


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; anything else is a 400 with one log line.

    Only called once the secret matched, but a platform's body is still outside data: a body
    that is not UTF-8, not JSON, or nested deeper than the parser recurses (RecursionError,
    which is no ValueError) is bad input, not a failure of ours."""
    try:
        return json.loads(await request.read())
    except (ValueError, RecursionError) as exc:
        log.info("%s: body refused (%s)", request.path, type(exc).__name__)
        raise web.HTTPBadRequest() from None


async def _health(_: web.Request) -> web.Response:
    return web.Response(text="ok")
