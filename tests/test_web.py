"""The assistant's own HTTP endpoint: a webhook path listens before its channel is ready."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.web import WebServer


async def test_a_reserved_path_answers_503_until_its_channel_gives_the_handler() -> None:
    server = WebServer("127.0.0.1", 0)
    server.reserve_post("/telegram")
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.bound_port}/telegram"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={}) as response:
                assert response.status == 503  # the platform retries

            async def handler(request: web.Request) -> web.Response:
                return web.Response(text=str((await request.json())["n"]))

            server.add_post("/telegram", handler)  # after start: no re-routing needed
            async with http.post(url, json={"n": 7}) as response:
                assert (response.status, await response.text()) == (200, "7")
            async with http.get(f"http://127.0.0.1:{server.bound_port}/healthz") as response:
                assert await response.text() == "ok"
    finally:
        await server.stop()


async def test_workers_share_one_port_only_when_they_ask_for_it() -> None:
    """DVHT_REUSE_PORT: several worker processes behind one address, the kernel spreading the
    connections; without it a second listener on the port is refused, as before."""
    first = WebServer("127.0.0.1", 0, reuse_port=True)
    await first.start()
    second = WebServer("127.0.0.1", first.bound_port, reuse_port=True)
    alone = WebServer("127.0.0.1", first.bound_port)
    try:
        await second.start()
        assert second.bound_port == first.bound_port
        async with aiohttp.ClientSession() as http:
            for _ in range(4):
                url = f"http://127.0.0.1:{first.bound_port}/healthz"
                async with http.get(url) as response:
                    assert await response.text() == "ok"
        await first.stop()  # one worker stops: the other still answers on the address
        url = f"http://127.0.0.1:{second.bound_port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert await response.text() == "ok"
        with pytest.raises(OSError):
            await alone.start()
    finally:
        await first.stop()
        await second.stop()
        await alone.stop()
