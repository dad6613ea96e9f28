"""Five dashboards replaying an hour of events: how long other requests wait meanwhile.

    .venv/bin/python benchmarks/replay_stall.py [--minutes 60] [--dashboards 5]

A real server (in-process bus, as `lgd serve` without Redis) with one live session whose
stream holds `--minutes` of events: a 60 s scripted 4-candidate discussion's events (speech,
turns, portrait updates, …, analysed by the driver) repeated. `--dashboards` dashboards
open the session's live WebSocket at once and read it to the end, while a probe asks
`/healthz` every 10 ms. Printed: the probe's latency p50/p99/max during the replay, and
how long the dashboards took.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def minute_of_events() -> list:
    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.session import SessionInfo
    from testkit.synth import RoomConfig, synthesize_session

    s = synthesize_session(4, "zh", 2, RoomConfig(), 60.0)
    env = Settings.from_env()
    settings = dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False))
    events: list = []
    a = Analysis(SessionInfo("m", s.participants, "zh", ""), settings, sink=events.extend)
    a.run(np.stack([s.tracks[p] for p, _ in s.participants]), 5)
    return events


async def run(minutes: int, dashboards: int) -> None:
    from analysis.settings import Settings
    from server.app import SERVER_KEY, make_app

    events = minute_of_events()
    data = Path(tempfile.mkdtemp(prefix="lgd-replay-"))
    env = Settings.from_env()
    settings = dataclasses.replace(env, data_dir=data, server=dataclasses.replace(
        env.server, auto_start=False, ice_host_addresses="127.0.0.1"))
    app = make_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    server = app[SERVER_KEY]
    hr = {"Authorization": f"Bearer {server.token('hr')}"}
    try:
        async with aiohttp.ClientSession() as http:
            body = {"participants": [{"id": p, "name": p} for p in "ABCD"], "language": "zh"}
            async with http.post(f"{url}/api/sessions", json=body, headers=hr) as r:
                s = await r.json()
            live = server.live[s["id"]]
            for _ in range(minutes):
                for ev in events:
                    await server.bus.publish(live.topic, ev)
            total = minutes * len(events)
            ws_url = url.replace("http", "ws") + f"/api/sessions/{s['id']}/live"
            ws_url += f"?token={s['assessor_token']}"

            async def dashboard() -> float:
                t = time.perf_counter()
                got = 0
                async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                    while got < total:
                        msg = await ws.receive_json()
                        if msg["type"] not in ("hello", "clock"):
                            got += 1
                return time.perf_counter() - t

            waits: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                while not done.is_set():
                    t = time.perf_counter()
                    async with http.get(f"{url}/healthz") as r:
                        await r.read()
                    waits.append(time.perf_counter() - t)
                    await asyncio.sleep(0.01)

            prober = asyncio.ensure_future(probe())
            took = await asyncio.gather(*(dashboard() for _ in range(dashboards)))
            done.set()
            await prober
        ms = np.asarray(waits) * 1000
        print(f"{dashboards} dashboards replaying {minutes} min of events ({total} events each): "
              f"done in {max(took):.1f} s; /healthz meanwhile p50 {np.percentile(ms, 50):.1f} ms, "
              f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms ({len(ms)} requests)")
    finally:
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--dashboards", type=int, default=5)
    args = ap.parse_args()
    asyncio.run(run(args.minutes, args.dashboards))


if __name__ == "__main__":
    main()
