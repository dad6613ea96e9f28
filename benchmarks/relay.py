"""Capacity: concurrent 6-candidate sessions per core, the media node and the analysis
measured separately.

The real server runs in this process (the SFU node: relay + audio tap + frame hand-off),
with its embedded analysis worker in a child process, as `lgd serve` runs them. Each
session's candidates are aiortc peers in their own child process, sending pre-encoded
speech Opus (32 kbps, as Chrome sends speech) and receiving every other candidate. With
`--pin` (default) the server and its worker run on core 0 and the peers on core 1, so the
peers' own CPU cannot slow the server down.

Per run of K concurrent sessions, over `--duration` s after everyone joined:
- media node CPU (this process) and analysis CPU (the worker process), in cores;
- sessions per core = K / cores, for each;
- RTP packets the peers received vs the relay should have forwarded, and lost by sequence
  number (the relay's loss).

ASR is off (benchmarks/asr.py measures the transcriber alone).

    .venv/bin/python benchmarks/relay.py [--sessions 1 2] [--candidates 6] [--duration 30]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from benchmarks.recording import cpu_s, speech_packets  # noqa: E402
from testkit.peers import run_peers  # noqa: E402
from tests.serverutil import running_server  # noqa: E402

SETTLE_S = 3.0  # after the last peer joined: ICE done, jitter buffers full


def pid_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(k: int, n: int, duration: float, pin: bool) -> dict:
    if pin:
        os.sched_setaffinity(0, {0})  # the server; its worker process inherits it
    packets = speech_packets(n, 60.0)
    base = Settings.from_env()
    settings = dataclasses.replace(base, recording="off",
                                   asr=dataclasses.replace(base.asr, enabled=False))
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="lgd-bench-relay-") as tmp:
        async with running_server(Path(tmp) / "data", settings) as run:
            sessions = [await run.create(list(packets), phases=[]) for _ in range(k)]
            out = ctx.Queue()
            cues = (ctx.Event(), ctx.Event())  # the peers' counts at the window's two ends
            children = [ctx.Process(target=run_peers, args=(
                run.url, s, packets, 0.0, out, {1} if pin else None, cues)) for s in sessions]
            for c in children:
                c.start()
            lives = [run.server.live[s["id"]] for s in sessions]
            while not all(lv.live for lv in lives):
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0 + SETTLE_S)  # everyone joins within ~2 s
            peers = {c.pid for c in children}
            workers = [p.pid for p in mp.active_children() if p.pid not in peers]
            cues[0].set()
            c0, w0, t0 = cpu_s(), sum(pid_cpu_s(p) for p in workers), time.monotonic()
            await asyncio.sleep(duration)
            c1, w1, t1 = cpu_s(), sum(pid_cpu_s(p) for p in workers), time.monotonic()
            cues[1].set()
            got = [await asyncio.get_running_loop().run_in_executor(None, out.get)
                   for _ in children]
            for c in children:
                await asyncio.get_running_loop().run_in_executor(None, c.join)
            stats = [lv.stats() for lv in lives]
            for s in sessions:
                async with run.http.post(f"{run.url}/api/sessions/{s['id']}/end",
                                         headers=run.hr()) as r:
                    assert r.status == 200, await r.text()
    wall = t1 - t0
    received, sent, lost = (sum(g["marks"][1][key] - g["marks"][0][key] for g in got)
                            for key in ("received", "sent", "lost"))
    media, analysis = (c1 - c0) / wall, (w1 - w0) / wall
    return {
        "sessions": k, "candidates": n, "window_s": round(wall, 1),
        "media_node_cores": round(media, 3), "analysis_cores": round(analysis, 3),
        "media_sessions_per_core": round(k / media, 1),
        "analysis_sessions_per_core": round(k / analysis, 1) if analysis > 0 else None,
        # each packet one candidate sends reaches the n - 1 others
        "relayed_expected": sent * (n - 1), "relayed_received": received, "relayed_lost": lost,
        "analysis_frames_lost": sum(sum(s["analysis_frames_lost"].values()) for s in stats),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}; pinned: {args.pin}")
    for k in args.sessions:
        r = asyncio.run(run(k, args.candidates, args.duration, args.pin))
        print(f"{k} x {r['candidates']}-candidate sessions, {r['window_s']} s: media node "
              f"{r['media_node_cores']:.3f} cores -> {r['media_sessions_per_core']} sessions "
              f"per core; analysis {r['analysis_cores']:.3f} cores -> "
              f"{r['analysis_sessions_per_core']} sessions per core; relay: "
              f"{r['relayed_received']} of {r['relayed_expected']} packets received, "
              f"{r['relayed_lost']} lost; analysis frames lost {r['analysis_frames_lost']}",
              flush=True)


if __name__ == "__main__":
    main()
