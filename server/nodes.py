"""SFU nodes on one Redis: each registers its load; a new session goes to the least-loaded.

Every node with `LGD_REDIS_URL` and a `LGD_SERVER_PUBLIC_URL` keeps an entry in the hash
``<prefix>nodes`` (its URL → its load and when it said so), refreshed every `BEAT_S`.
`POST /api/sessions` on any node asks `least_loaded()`; when another node carries fewer
sessions, the request is handed to it (the way LiveKit places rooms) and its answer, with
links to that node, is the answer. Nodes share `LGD_SERVER_SECRET`, so an HR token is good
on every node. An entry older than `STALE_S` is a node that stopped: never chosen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from analysis.settings import Settings

logger = logging.getLogger(__name__)

BEAT_S = 2.0
STALE_S = 3 * BEAT_S
PLACED = "X-LGD-Placed"  #: a request another node already placed here: create it here


class Nodes:
    def __init__(self, settings: Settings, load: Callable[[], int]) -> None:
        self.url = settings.server.public_url.rstrip("/")
        self.load = load
        self.key = f"{settings.worker.stream_prefix}nodes"
        self._r: Any = None
        if settings.redis_url and self.url:
            self._r = aioredis.from_url(settings.redis_url, protocol=2)

    @property
    def enabled(self) -> bool:
        return self._r is not None

    async def register(self) -> None:
        if self._r is None:
            return
        try:
            await self._r.hset(self.key, self.url,
                               json.dumps({"load": self.load(), "at": time.time()}))
        except Exception as exc:  # Redis away: the next beat says it again
            logger.warning("node %s: cannot register its load: %r", self.url, exc)

    async def beat(self) -> None:
        while True:
            await self.register()
            await asyncio.sleep(BEAT_S)

    async def least_loaded(self) -> str | None:
        """The URL of a live node carrying fewer sessions than this one; None: this one."""
        if self._r is None:
            return None
        try:
            entries = await self._r.hgetall(self.key)
        except Exception as exc:
            logger.warning("node %s: cannot read the nodes' loads: %r", self.url, exc)
            return None
        now, mine = time.time(), self.load()
        best: tuple[int, str] | None = None
        for url, raw in entries.items():
            url = url.decode()
            info = json.loads(raw)
            if url == self.url or now - info["at"] > STALE_S:
                continue
            if info["load"] < mine and (best is None or (info["load"], url) < best):
                best = (info["load"], url)
        return best[1] if best else None

    async def close(self) -> None:
        if self._r is None:
            return
        try:
            await self._r.hdel(self.key, self.url)
        except Exception as exc:
            logger.warning("node %s: cannot deregister: %r", self.url, exc)
        await self._r.aclose()
