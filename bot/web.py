"""The assistant's own HTTP endpoint: channel webhooks and report download links on one port.

aiohttp serves it inside the same event loop as the channels, so a webhook update is handled by
the engine and committed before the HTTP answer goes back: a platform that does not get its 200
sends the update again, and the engine recognises the redelivery.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 1024 * 1024  # a webhook update is a few kilobytes; anything bigger is refused


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of the process one client may hold, and for how long.

    Without them a few hundred idle connections, or a handful sending one byte every few
    seconds, hold the endpoint (and the process's open files) for as long as they like:
    webhooks and report links then time out for everyone.
    """

    head_seconds: float = 10.0  # from connecting (or the last answer) to a whole request head
    body_seconds: float = 10.0  # to read a request's body once its head is in
    keepalive_seconds: float = 15.0  # an idle kept-alive connection is closed after this
    connections: int = 0  # open connections at most; 0: a quarter of the open-file limit
    requests: int = 64  # requests handled at once; more get 503 (the platforms retry)
    backlog: int = 128  # connections the kernel queues before we accept them

    def max_connections(self) -> int:
        if self.connections > 0:
            return self.connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return max(16, min(1024, soft // 4 if soft > 0 else 1024))


class WebServer:
    """One aiohttp application; channels add their routes.

    aiohttp fixes its routes when it starts, but a channel must listen before it asks the
    platform to send it updates (a webhook set first would be tried against a closed port). So a
    POST path can be reserved before `start` and its handler given later; until then it answers
    503, which the platforms retry.

    `reuse_port`: several worker processes listen on the same port (SO_REUSEPORT: the kernel
    spreads the connections among them), each with its own engine on one PostgreSQL database.
    """

    def __init__(
        self, host: str, port: int, limits: Limits | None = None, *, reuse_port: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self.reuse_port = reuse_port
        self.limits = limits or Limits()
        self.gate = _Gate(self.limits)
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self.gate.middleware])
        self.app.on_response_prepare.append(_plain_server_header)
        self.app.router.add_get("/healthz", _health)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
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
        """Listen: aiohttp's request handler behind our gate (`_Guarded`), which bounds how
        many connections are open and how long one may take to send a request."""
        limits = self.limits
        self._runner = web.AppRunner(
            self.app, access_log=None, keepalive_timeout=limits.keepalive_seconds
        )
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: _Guarded(server(), self.gate),
            self.host,
            self.port,
            backlog=limits.backlog,
            reuse_port=self.reuse_port or None,
        )
        log.info("HTTP endpoint listening on %s:%d", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful when started on port 0)."""
        if self._listener is None or not self._listener.sockets:
            return self.port
        return int(self._listener.sockets[0].getsockname()[1])


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's protocol inside, with a deadline for each request head.

    aiohttp reads a request head for as long as the client takes; this closes the connection
    when the head is not complete `head_seconds` after connecting (or after the previous answer,
    plus the keep-alive time). Only the public protocol callbacks are passed through.
    """

    def __init__(self, inner: asyncio.Protocol, gate: _Gate) -> None:
        self.inner = inner
        self.gate = gate
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a request of this connection is being read or answered
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.gate.admit(self):
            transport.abort()  # full of busy connections: this one is refused at once
            self.transport = None
            return
        self.arm(self.gate.limits.head_seconds)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.transport is not None else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return
        self.gate.forget(self)
        self.disarm()
        self.transport = None
        self.inner.connection_lost(exc)

    def arm(self, seconds: float) -> None:
        self.disarm()
        self._timer = asyncio.get_running_loop().call_later(seconds, self.close)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Too slow, or room needed: the connection goes, its file with it."""
        if self.transport is not None and not self.busy:
            self.transport.abort()


class _Gate:
    """The open connections and the requests under way, with their limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._open: dict[asyncio.BaseTransport, _Guarded] = {}  # oldest first
        self._requests = 0

    def admit(self, connection: _Guarded) -> bool:
        """Room for `connection`: when full, the oldest idle connection is closed for it."""
        if len(self._open) >= self.limits.max_connections():
            idle = next((c for c in self._open.values() if not c.busy), None)
            if idle is None:
                log.warning("HTTP endpoint full (%d connections busy)", len(self._open))
                return False
            self.forget(idle)
            idle.close()
        assert connection.transport is not None
        self._open[connection.transport] = connection
        return True

    def forget(self, connection: _Guarded) -> None:
        if connection.transport is not None:
            self._open.pop(connection.transport, None)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A request's head is in: no head deadline now, a body deadline, a bounded number of
        requests at once; the head deadline again (after keep-alive) once it is answered."""
        connection = self._open.get(request.transport) if request.transport else None
        if connection is not None:
            connection.busy = True
            connection.disarm()
        try:
            return await self._handle(request, handler)
        finally:
            if connection is not None:
                connection.busy = False
                connection.arm(self.limits.keepalive_seconds + self.limits.head_seconds)

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._requests >= self.limits.requests:
            return web.Response(status=503, headers={"Retry-After": "1"})
        self._requests += 1
        try:
            if request.can_read_body:
                try:
                    await asyncio.wait_for(request.read(), self.limits.body_seconds)
                except TimeoutError:
                    log.info("%s: body not received in time", request.path)
                    return web.Response(status=408, headers={"Connection": "close"})
            return await handler(request)
        finally:
            self._requests -= 1


async def _plain_server_header(_: web.Request, response: web.StreamResponse) -> None:
    """The Server header names no software or version (aiohttp's own names both)."""
    response.headers["Server"] = "dvht"


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
