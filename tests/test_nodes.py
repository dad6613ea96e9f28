"""Two SFU nodes and two workers on one Redis: a new session goes to the least-loaded node.

Two real servers on loopback share a Redis (and the HR secret); each starts one analysis
worker process, so two workers share the consumer group. Sessions are created through the
first node only: the second is handed to the other node. Both run at once, each with three
real WebRTC candidates sending scripted speech to its own node; both are analysed by the
workers and end with complete reports in which the script's main speaker is heard.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid

import pytest
import redis.asyncio as aioredis

from analysis.settings import Settings
from server.nodes import BEAT_S
from testkit.opus import opus_packets, to_48k
from testkit.peers import PacketTrack, join
from testkit.synth import RoomConfig, synthesize_session
from tests.serverutil import running_server

URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TALK_S = 10.0
ROOM = RoomConfig(bleed_db=(-40.0, -40.0), gain_spread_db=10.0, snr_db=(25.0, 30.0))


@pytest.mark.slow  # real WebRTC peers talking for 10 s
async def test_sessions_are_placed_on_the_least_loaded_node(tmp_path):
    # candidates in their own rooms (as in test_browser): this test is about placement and
    # media through two nodes, not attribution under heavy bleed in a 10 s session
    script = synthesize_session(3, "en", 7, ROOM, TALK_S)
    speech = [opus_packets(to_48k(script.tracks[p])) for p, _ in script.participants]
    prefix = f"lgdtest-{uuid.uuid4().hex[:12]}:"
    env = Settings.from_env()
    settings = dataclasses.replace(env, redis_url=URL, worker=dataclasses.replace(
        env.worker, stream_prefix=prefix))
    pa, pb = _free_port(), _free_port()
    common = {"settings": settings, "secret": "shared-by-the-nodes"}
    try:
        async with running_server(tmp_path / "a", bind_port=pa,
                                  public_url=f"http://127.0.0.1:{pa}", **common) as a, \
                running_server(tmp_path / "b", bind_port=pb,
                               public_url=f"http://127.0.0.1:{pb}", **common) as b:
            await asyncio.sleep(BEAT_S / 2)  # both have registered (at startup)
            first = await a.create(["p1", "p2", "p3"])
            second = await a.create(["q1", "q2", "q3"])  # through the first node again
            assert first["id"] in a.server.live and first["id"] not in b.server.live
            assert second["id"] in b.server.live and second["id"] not in a.server.live
            assert second["links"]["dashboard"].startswith(f"http://127.0.0.1:{pb}/")
            reports, peers = [], []
            for run, s in ((a, first), (b, second)):  # both rooms talk at once
                ids = list(s["links"]["join"])
                for me in ids:
                    pc, _ = await join(run.http, run.url, s, me, [o for o in ids if o != me],
                                       PacketTrack(speech[ids.index(me)]))
                    peers.append(pc)
            await asyncio.sleep(TALK_S + 2.0)
            for pc in peers:
                await pc.close()
            for run, s in ((a, first), (b, second)):
                async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                         headers=run.hr()) as r:
                    assert r.status == 200
                    reports.append(await r.json())
            said = [sum(e - a for a, e in script.truth["speech"][p])
                    for p, _ in script.participants]
            main = max(range(len(said)), key=said.__getitem__)
            for report, s in zip(reports, (first, second), strict=True):
                assert report["complete"], report["gaps"]
                # each node's room was heard through its own relay and analysed by a
                # worker: the script's main speaker is the report's, heard more than half
                heard = report["speaking_time_s"]
                ids = list(s["links"]["join"])
                assert max(heard, key=heard.__getitem__) == ids[main], (heard, said)
                assert heard[ids[main]] > 0.5 * said[main], (heard, said)
    finally:
        r = aioredis.from_url(URL)
        keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
