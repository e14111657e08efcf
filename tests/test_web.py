"""The assistant's own HTTP endpoint: a webhook path listens before its channel is ready."""

from __future__ import annotations

import aiohttp
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
