"""Two SFU nodes and two workers on one Redis: a new session goes to the least-loaded node.

Two real servers on loopback share a Redis (and the HR secret); each starts one analysis
worker process, so two workers share the consumer group. Sessions are created through the
first node only: the second is handed to the other node, and both are analysed and end
with complete reports.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid

import redis.asyncio as aioredis

from analysis.settings import Settings
from core.events import SpeechEnded, SpeechHorizon, SpeechStarted
from server.nodes import BEAT_S
from tests.serverutil import running_server

URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_sessions_are_placed_on_the_least_loaded_node(tmp_path):
    prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
    env = Settings.from_env()
    settings = dataclasses.replace(env, redis_url=URL, worker=dataclasses.replace(
        env.worker, stream_prefix=prefix))
    pa, pb = _free_port(), _free_port()
    common = {"settings": settings, "auto_start": False, "secret": "shared-by-the-nodes"}
    try:
        async with running_server(tmp_path / "a", bind_port=pa,
                                  public_url=f"http://127.0.0.1:{pa}", **common) as a, \
                running_server(tmp_path / "b", bind_port=pb,
                               public_url=f"http://127.0.0.1:{pb}", **common) as b:
            await asyncio.sleep(BEAT_S / 2)  # both have registered (at startup)
            first = await a.create(["p1", "p2"])
            second = await a.create(["q1", "q2"])  # through the first node again
            assert first["id"] in a.server.live and first["id"] not in b.server.live
            assert second["id"] in b.server.live and second["id"] not in a.server.live
            assert second["links"]["dashboard"].startswith(f"http://127.0.0.1:{pb}/")
            reports = []
            for run, s, who in ((a, first, "p1"), (b, second, "q1")):
                live = run.server.live[s["id"]]
                await live.start()
                await live.analysed(live.feed_events([
                    SpeechStarted(who, 1.0), SpeechEnded(who, 1.0, 3.0), SpeechHorizon(4.0)]))
            for run, s in ((a, first), (b, second)):
                async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                         headers=run.hr()) as r:
                    assert r.status == 200
                    reports.append(await r.json())
            for report, who in zip(reports, ("p1", "q1"), strict=True):
                assert report["complete"] and report["speech"][who] == [[1.0, 3.0]]
    finally:
        r = aioredis.from_url(URL)
        keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
