"""Five dashboards replaying an hour of events: how long other requests wait meanwhile.

    .venv/bin/python benchmarks/replay_stall.py [--minutes 60] [--dashboards 5]

A real server (in-process bus, as `lgd serve` without Redis) with one live session whose
stream holds `--minutes` of events: a 60 s scripted 4-candidate discussion's events (speech,
turns, portrait updates, …, analysed by the driver) repeated. `--dashboards` dashboards
open the session's live WebSocket at once and read it to the end, while a probe asks
`/healthz` every 10 ms. Meanwhile the session's four candidates are real WebRTC peers (in a
child process) sending speech and receiving each other through the relay. Printed: the
probe's latency p50/p99/max during the replay, how long the dashboards took, and the RTP
packets the peers received during the replay against what the relay should have forwarded
(and lost by sequence number). With `--pin` (default) the server runs on core 0 and the
peers on core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing as mp
import os
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


async def run(minutes: int, dashboards: int, pin: bool, data: Path | None = None) -> dict:
    """The replay with media flowing; returns the figures (`main` prints them)."""
    from analysis.settings import Settings
    from benchmarks.recording import speech_packets
    from server.app import SERVER_KEY, make_app
    from testkit.peers import run_peers

    if pin:
        os.sched_setaffinity(0, {0})
    events = minute_of_events()
    packets = speech_packets(4, 60.0)
    data = data or Path(tempfile.mkdtemp(prefix="lgd-replay-"))
    env = Settings.from_env()
    settings = dataclasses.replace(env, data_dir=data, server=dataclasses.replace(
        env.server, auto_start=False, ice_host_addresses="127.0.0.1"),
        asr=dataclasses.replace(env.asr, enabled=False), recording="off")
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
            body = {"participants": [{"id": p, "name": p} for p in packets], "language": "zh",
                    "phases": []}
            async with http.post(f"{url}/api/sessions", json=body, headers=hr) as r:
                s = await r.json()
            live = server.live[s["id"]]
            for _ in range(minutes):
                for ev in events:
                    await server.bus.publish(live.topic, ev)
            total = minutes * len(events)
            ctx = mp.get_context("spawn")
            out, cues = ctx.Queue(), (ctx.Event(), ctx.Event())
            child = ctx.Process(target=run_peers, args=(url, s, packets, 0.0, out,
                                                        {1} if pin else None, cues))
            child.start()
            await live.start()
            while min(live.stats()["audio_frames_in"].get(p, 0) for p in packets) < 100:
                await asyncio.sleep(0.1)  # everyone is connected and sending
            await asyncio.sleep(2.0)
            ws_url = url.replace("http", "ws") + f"/api/sessions/{s['id']}/live"
            ws_url += f"?token={s['assessor_token']}"

            async def dashboard() -> tuple[float, int]:
                t = time.perf_counter()
                got = 0
                async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                    while got < total:
                        msg = await ws.receive_json()
                        if msg["type"] not in ("hello", "clock"):
                            got += 1
                return time.perf_counter() - t, got

            waits: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                while not done.is_set():
                    t = time.perf_counter()
                    async with http.get(f"{url}/healthz") as r:
                        await r.read()
                    waits.append(time.perf_counter() - t)
                    await asyncio.sleep(0.01)

            def relay_dropped() -> int:
                relays = live.stats()["room"]["relays"].values()
                return sum(r["dropped"] for peer in relays for r in peer.values())

            dropped0 = relay_dropped()
            cues[0].set()
            prober = asyncio.ensure_future(probe())
            took = await asyncio.gather(*(dashboard() for _ in range(dashboards)))
            done.set()
            await prober
            cues[1].set()
            dropped = relay_dropped() - dropped0
            got = await asyncio.get_running_loop().run_in_executor(None, out.get)
            await asyncio.get_running_loop().run_in_executor(None, child.join)
            await live.end()
        a, b = got["marks"]
        return {"events": total, "dashboards": dashboards,
                "events_read": [n for _, n in took], "took_s": max(t for t, _ in took),
                "probe_ms": np.asarray(waits) * 1000,
                "relay_received": b["received"] - a["received"],
                # each of the 4 candidates' packets goes to the 3 others
                "relay_expected": 3 * (b["sent"] - a["sent"]),
                "relay_lost": b["lost"] - a["lost"], "relay_dropped": dropped}
    finally:
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--dashboards", type=int, default=5)
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}; pinned: {args.pin}")
    r = asyncio.run(run(args.minutes, args.dashboards, args.pin))
    ms = r["probe_ms"]
    print(f"{args.dashboards} dashboards replaying {args.minutes} min of events ({r['events']} "
          f"events each): done in {r['took_s']:.1f} s; /healthz meanwhile p50 "
          f"{np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max "
          f"{ms.max():.1f} ms ({len(ms)} requests)")
    print(f"relay during the replay: {r['relay_received']} RTP packets received of "
          f"{r['relay_expected']} to expect (4 peers, each to 3), {r['relay_lost']} lost by "
          f"sequence number, {r['relay_dropped']} dropped by the relay's queues")


if __name__ == "__main__":
    main()
