"""A real `lgd serve` app on 127.0.0.1 for tests, and a small REST client."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from analysis.settings import Settings, WorkerConfig
from server.app import SERVER_KEY, Server, make_app
from testkit import peers


@dataclasses.dataclass
class Running:
    url: str
    app: web.Application
    http: aiohttp.ClientSession

    @property
    def server(self) -> Server:
        return self.app[SERVER_KEY]

    def hr(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.token('hr')}"}

    async def create(self, ids: list[str], language: str = "en", **extra: Any) -> dict[str, Any]:
        body = {"participants": [{"id": i, "name": f"name-{i}"} for i in ids], "language": language}
        body.update(extra)
        async with self.http.post(f"{self.url}/api/sessions", json=body, headers=self.hr()) as r:
            assert r.status == 201, await r.text()
            return await r.json()


@asynccontextmanager
async def running_server(
    data_dir: Path, settings: Settings | None = None, bind_port: int = 0, **server: Any
) -> AsyncIterator[Running]:
    settings = dataclasses.replace(settings or Settings.from_env(), data_dir=data_dir)
    # analysis workers on Redis: this server's own jobs stream (tests share one Redis),
    # unless the test gave its servers one to share
    prefix = settings.worker.stream_prefix
    if prefix == WorkerConfig().stream_prefix:
        prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
        settings = dataclasses.replace(
            settings, worker=dataclasses.replace(settings.worker, stream_prefix=prefix))
    server.setdefault("ice_host_addresses", "127.0.0.1")
    cfg = dataclasses.replace(settings.server, **server)
    settings = dataclasses.replace(settings, server=cfg)
    app = make_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", bind_port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(f"http://127.0.0.1:{port}", app, http)
        finally:
            await runner.cleanup()
            if settings.redis_url:
                await _delete_keys("redis://127.0.0.1:6379/0", prefix)


async def _delete_keys(url: str, prefix: str) -> None:
    r = aioredis.from_url(url)
    try:
        keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


async def webhook_receiver(fail_first: int = 0):
    """A webhook endpoint on 127.0.0.1 that answers 503 to its first `fail_first` POSTs;
    returns (runner, url, received [{body, headers}])."""
    got: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        got.append({"body": body, "headers": dict(request.headers)})
        if len(got) <= fail_first:
            return web.Response(status=503)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook", got


class TcpProxy:
    """A loopback TCP proxy to a real service (Redis) that a fault test can cut and restore:
    `cut()` closes every proxied connection and refuses new ones, as a dead link does."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._pipes):
            w.close()
        self._pipes.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


async def give_consent(run: Running, session: dict[str, Any], who: str) -> dict[str, Any]:
    """What the join page does when the candidate ticks "I agree": the notice's version back."""
    return await peers.consent(run.http, run.url, session, who)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(link: str) -> str:
    """The token a join or dashboard link carries."""
    return link.split("token=")[1]
