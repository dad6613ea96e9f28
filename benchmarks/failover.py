"""Analysis workers: failover time, and capacity (6-candidate sessions per core).

    .venv/bin/python benchmarks/failover.py [--claim-idle 5] [--minutes 1 5]

failover: two `lgd worker` processes on the local Redis; a scripted 6-candidate session is
shipped through the server's link (`server.workers.RedisLink`), 100 ms frames: up to the
kill `--speedup` times faster than real time (the worker keeps up; only the state it has
built matters), after it in real time. `--tail` s before the session's end, the worker
hosting it is killed (SIGKILL). Printed, for a takeover from the latest snapshot and for
one that replays the frames from the start (the snapshots deleted at the kill): death →
the survivor's first new result (its claim after `claim_idle_s`, plus loading the snapshot
or replaying the frames so far), and death → the survivor level with the live audio; the
size and cost of a snapshot.

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


def snapshot_cost(info, tracks: np.ndarray, affect: str) -> tuple[int, float, float]:
    """A snapshot of the driver at the session's end: (bytes, seconds to take it, seconds
    to load it)."""
    from analysis import snapshot
    from analysis.driver import Analysis
    from analysis.settings import Settings
    from media.frames import iter_blocks

    env = Settings.from_env()
    settings = dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False))
    a = Analysis(dataclasses.replace(info, affect=affect), settings)
    for _, b in iter_blocks(tracks, BLOCK_FRAMES):
        a.feed(b)
    took = time.perf_counter()
    blob = snapshot.dump(snapshot.Snapshot("0-1", 0, 0, a))
    took = time.perf_counter() - took
    loaded = time.perf_counter()
    snapshot.load(blob).analysis.close()
    return len(blob), took, time.perf_counter() - loaded


def failover(info, tracks: np.ndarray, claim_idle_s: float, kill_at_s: float,
             mode: str, speedup: float) -> None:
    """mode "snapshot": the survivor loads the latest snapshot; "replay": the snapshots are
    deleted at the kill (frames kept whole), so it replays the session from the start, as
    every takeover did before snapshots."""
    import redis

    from analysis.frames import AudioFrame, EndFrame
    from analysis.worker_redis import StreamKeys
    from media.frames import iter_blocks
    from server.workers import RedisLink

    prefix = f"lgdbench-{uuid.uuid4().hex[:8]}:"
    keys = StreamKeys(prefix)
    env = {**os.environ, "LGD_REDIS_URL": URL, "LGD_WORKER_STREAM_PREFIX": prefix,
           "LGD_WORKER_CLAIM_IDLE_S": str(claim_idle_s), "LGD_ASR_ENABLED": "0",
           "LGD_WORKER_TRIM_FRAMES": "1" if mode == "snapshot" else "0"}
    logs = Path(tempfile.mkdtemp(prefix="lgd-failover-"))
    workers = {n: subprocess.Popen([sys.executable, "-m", "lgd.cli", "worker", "--name", n],
                                   env=env, cwd=ROOT, stdout=open(logs / f"{n}.log", "wb"),
                                   stderr=subprocess.STDOUT) for n in ("w1", "w2")}
    r = redis.Redis.from_url(URL)
    seen: list = []  # (arrival, Result)
    link = RedisLink(redis.Redis.from_url(URL), keys, info,
                     lambda res: seen.append((time.monotonic(), res)), lambda where, what: None)
    died_at = None
    shipped_at_death, n_before, cp = 0.0, 0, {}
    try:
        t0 = time.monotonic()
        for i, (_, b) in enumerate(iter_blocks(tracks, BLOCK_FRAMES)):
            link.send(AudioFrame(b.copy()))
            shipped = (i + 1) * b.shape[1] / 16000
            if died_at is None:  # up to the kill, fast, but never far ahead of the worker
                while seen and shipped - seen[-1][1].analysed_s > 5.0:
                    time.sleep(0.01)
                t0 = max(t0, time.monotonic() - shipped / speedup)  # (a wait above: go on)
                time.sleep(max(0.0, t0 + shipped / speedup - time.monotonic()))
            else:  # after it, in real time: the live audio the survivor must catch up with
                time.sleep(max(0.0, died_at + shipped - shipped_at_death - time.monotonic()))
            if died_at is None and seen and seen[-1][1].analysed_s >= kill_at_s:
                cp = r.hgetall(keys.checkpoint(info.id))
                owner = cp.get(b"worker")
                if owner:
                    workers[owner.decode()].send_signal(signal.SIGKILL)
                    died_at, shipped_at_death = time.monotonic(), shipped
                    workers[owner.decode()].wait()
                    if mode == "replay":
                        r.delete(keys.snapshot(info.id), keys.snapshot_prev(info.id))
                    n_before = len(seen)
        link.send(EndFrame())
        while not (seen and seen[-1][1].final):
            time.sleep(0.05)
        how = r.hget(keys.checkpoint(info.id), "resumed_how")
    finally:
        link.close(retire=True)
        for p in workers.values():
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        r.delete(keys.jobs, *keys.session(info.id))
        r.close()
    if died_at is None:
        print("failover: the session ended before the kill point")
        return
    after = seen[n_before:]
    resumed = after[0][0] - died_at
    # level with the live audio: within 0.5 s of what had been shipped by then
    caught = next((t for t, res in after
                   if res.analysed_s >= shipped_at_death + (t - died_at) - 0.5), None)
    caught_s = f"{caught - died_at:.2f} s" if caught is not None else "not before the end"
    size = cp.get(b"snapshot_bytes", b"?").decode()
    took = float(cp.get(b"snapshot_s", b"nan"))
    print(f"  {mode:8s} (resumed by {how.decode() if how else '?'}): killed at "
          f"{shipped_at_death:.0f} s of audio; death → first new result {resumed:.2f} s; "
          f"death → level with the live audio {caught_s}; last snapshot before the kill "
          f"{size} bytes, taken in {took * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claim-idle", type=float, default=5.0)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 5.0])
    ap.add_argument("--tail", type=float, default=30.0,
                    help="seconds of live audio after the kill")
    ap.add_argument("--speedup", type=float, default=8.0,
                    help="how much faster than real time frames are shipped before the kill")
    ap.add_argument("--modes", nargs="+", default=["replay", "snapshot"])
    args = ap.parse_args()
    for minutes in args.minutes:
        info, tracks = session(minutes)
        cost = capacity(info, tracks)
        print(f"{minutes:g} min, 6 candidates: analysis costs {cost:.3f} CPU s per audio s: "
              f"{1 / cost:.1f} concurrent sessions per core (analysis only, ASR off)")
        for affect in ("off", "score"):
            size, took, load = snapshot_cost(info, tracks, affect)
            print(f"  snapshot at the end, affect {affect}: {size / 1e6:.2f} MB, taken in "
                  f"{took * 1000:.0f} ms, loaded in {load * 1000:.0f} ms")
        for mode in args.modes:
            failover(info, tracks, args.claim_idle, 60.0 * minutes - args.tail, mode,
                     args.speedup)


if __name__ == "__main__":
    main()
