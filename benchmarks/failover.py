"""Analysis workers: failover time, and capacity (6-candidate sessions per core).

    .venv/bin/python benchmarks/failover.py [--claim-idle 5] [--minutes 1]

failover: two `lgd worker` processes on the local Redis; a scripted 6-candidate session is
shipped in real time through the server's link (`server.workers.RedisLink`), 100 ms frames.
Once the worker hosting it has analysed `--kill-at` s, it is killed (SIGKILL). Printed:
death → the survivor's first new result (its claim after `claim_idle_s`, plus the replay
of the frames so far), and death → the survivor caught up with the live audio.

capacity: CPU seconds one 6-candidate session's analysis costs per second of audio (the
worker's driver, fed 100 ms blocks as the media thread ships them; ASR off, as
benchmarks/asr.py measures it alone): sessions per core = 1 / that. The relay's capacity
(media only) is measured by the SFU tests and NOTES.md, not here.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL = os.environ.get("LGD_REDIS_URL", "redis://127.0.0.1:6379/0")
BLOCK_FRAMES = 5


def session(minutes: float) -> tuple[object, np.ndarray]:
    from core.session import SessionInfo
    from testkit.synth import RoomConfig, synthesize_session

    s = synthesize_session(6, "zh", 3, RoomConfig(), 60.0 * minutes)
    tracks = np.stack([s.tracks[p] for p, _ in s.participants])  # (6, n) float32 16 kHz
    info = SessionInfo(f"bench-{uuid.uuid4().hex[:8]}", s.participants, "zh", "")
    return info, tracks


def capacity(info, tracks: np.ndarray) -> float:
    from analysis.driver import Analysis
    from analysis.settings import Settings
    from media.frames import iter_blocks

    env = Settings.from_env()
    settings = dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False))
    Analysis(info, settings).feed(tracks[:, :16000])  # warm: numba, ONNX
    a = Analysis(info, settings)
    cpu = time.process_time()
    for _, b in iter_blocks(tracks, BLOCK_FRAMES):
        a.feed(b)
    a.finish()
    return (time.process_time() - cpu) / (tracks.shape[1] / 16000)


def failover(info, tracks: np.ndarray, claim_idle_s: float, kill_at_s: float) -> None:
    import redis

    from analysis.frames import AudioFrame, EndFrame
    from analysis.worker_redis import StreamKeys
    from media.frames import iter_blocks
    from server.workers import RedisLink

    prefix = f"lgdbench-{uuid.uuid4().hex[:8]}:"
    keys = StreamKeys(prefix)
    env = {**os.environ, "LGD_REDIS_URL": URL, "LGD_WORKER_STREAM_PREFIX": prefix,
           "LGD_WORKER_CLAIM_IDLE_S": str(claim_idle_s), "LGD_ASR_ENABLED": "0"}
    logs = Path(tempfile.mkdtemp(prefix="lgd-failover-"))
    workers = {n: subprocess.Popen([sys.executable, "-m", "lgd.cli", "worker", "--name", n],
                                   env=env, cwd=ROOT, stdout=open(logs / f"{n}.log", "wb"),
                                   stderr=subprocess.STDOUT) for n in ("w1", "w2")}
    r = redis.Redis.from_url(URL)
    seen: list = []  # (arrival, Result)
    link = RedisLink(redis.Redis.from_url(URL), keys, info,
                     lambda res: seen.append((time.monotonic(), res)), lambda where, what: None)
    died_at = None
    shipped_at_death, n_before = 0.0, 0
    try:
        t0 = time.monotonic()
        for i, (_, b) in enumerate(iter_blocks(tracks, BLOCK_FRAMES)):
            link.send(AudioFrame(b.copy()))
            shipped = (i + 1) * b.shape[1] / 16000
            time.sleep(max(0.0, t0 + shipped - time.monotonic()))
            if died_at is None and seen and seen[-1][1].analysed_s >= kill_at_s:
                owner = r.hget(keys.checkpoint(info.id), "worker")
                if owner:
                    workers[owner.decode()].send_signal(signal.SIGKILL)
                    died_at, shipped_at_death = time.monotonic(), shipped
                    n_before = len(seen)
        link.send(EndFrame())
        while not (seen and seen[-1][1].final):
            time.sleep(0.05)
    finally:
        link.close(retire=True)
        for p in workers.values():
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        r.delete(keys.jobs)
        r.close()
    if died_at is None:
        print("failover: the session ended before the kill point")
        return
    after = seen[n_before:]
    resumed = after[0][0] - died_at
    caught = next(t for t, res in after if res.analysed_s >= shipped_at_death) - died_at
    print(f"failover (claim after {claim_idle_s:.1f} s idle, killed at {kill_at_s:.0f} s of "
          f"audio): death → analysis resumed {resumed:.2f} s; death → caught up with the "
          f"live audio {caught:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claim-idle", type=float, default=5.0)
    ap.add_argument("--kill-at", type=float, default=30.0)
    ap.add_argument("--minutes", type=float, default=1.0)
    args = ap.parse_args()
    info, tracks = session(args.minutes)
    cost = capacity(info, tracks)
    print(f"capacity: 6-candidate analysis costs {cost:.3f} CPU s per audio s: "
          f"{1 / cost:.1f} concurrent sessions per core (analysis only, ASR off)")
    failover(info, tracks, args.claim_idle, args.kill_at)


if __name__ == "__main__":
    main()
