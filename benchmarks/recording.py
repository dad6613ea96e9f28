"""What recording costs: server CPU with and without recording, the recorder's own CPU per
candidate, and disk use per candidate-hour.

1. Live: the real server in this process, N aiortc peers in a child process sending
   pre-encoded Opus (32 kbps, as Chrome sends speech) for `--duration` s; once with
   `LGD_RECORDING=off`, once with `audio`. Prints this process's CPU time (SFU relay +
   analysis + recorder) for both, their ratio, and the recorder thread's own CPU time
   (from /proc), per candidate.
2. Offline: `--offline-min` minutes of each candidate's packets through `SessionRecorder`
   as fast as it goes: CPU s per candidate-hour (mux + seal + write), bytes on disk per
   candidate-hour.

    .venv/bin/python benchmarks/recording.py [--candidates 4] [--duration 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fractions
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.settings import Settings  # noqa: E402
from server.recording import SessionRecorder, media_dir  # noqa: E402
from server.store import SessionStore  # noqa: E402
from server.vault import Vault, new_kek, parse_kek  # noqa: E402
from testkit.opus import to_48k  # noqa: E402
from testkit.peers import run_peers  # noqa: E402
from testkit.synth import synthesize_session  # noqa: E402
from tests.serverutil import running_server  # noqa: E402

BITRATE = 32_000


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def thread_cpu_s(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speech_packets(n: int, seconds: float) -> dict[str, list[bytes]]:
    """n candidates' scripted speech as 20 ms Opus packets at BITRATE."""
    sess = synthesize_session(max(n, 3), "en", 3, duration_s=seconds)
    out = {}
    for pid, _ in sess.participants[:n]:
        enc = av.CodecContext.create("libopus", "w")
        enc.sample_rate, enc.layout, enc.format = 48000, "mono", "s16"
        enc.bit_rate = BITRATE
        enc.time_base = fractions.Fraction(1, 48000)
        pcm = (np.clip(to_48k(sess.tracks[pid]), -1, 1) * 32767).astype(np.int16)
        pkts = []
        for i in range(0, len(pcm) - 960 + 1, 960):
            f = av.AudioFrame.from_ndarray(pcm[None, i:i + 960], format="s16", layout="mono")
            f.sample_rate, f.pts = 48000, i
            pkts += [bytes(p) for p in enc.encode(f)]
        out[pid] = pkts
    return out


# -- the peers, in a child process --------------------------------------------------------

async def live(n: int, duration: float, mode: str, packets: dict[str, list[bytes]]) -> dict:
    with tempfile.TemporaryDirectory(prefix="lgd-bench-rec-") as tmp:
        kek = Path(tmp) / "kek"
        kek.write_text(new_kek())
        base = Settings.from_env()
        settings = dataclasses.replace(base, kek_file=kek, recording=mode,
                                       asr=dataclasses.replace(base.asr, enabled=False))
        async with running_server(Path(tmp) / "data", settings) as run:
            s = await run.create(list(packets), phases=[])
            child = mp.get_context("spawn").Process(
                target=run_peers, args=(run.url, s, packets, duration))
            child.start()
            live = run.server.live[s["id"]]
            while not live.live:
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # everyone connected
            c0, t0 = cpu_s(), time.monotonic()
            rec0 = thread_cpu_s(live.recorder._thread.native_id) if live.recorder else 0.0
            await asyncio.sleep(duration - 4.0)
            cpu, wall = cpu_s() - c0, time.monotonic() - t0
            rec = (thread_cpu_s(live.recorder._thread.native_id) - rec0) if live.recorder \
                else 0.0
            await asyncio.get_running_loop().run_in_executor(None, child.join)
            report = await live.end()
            media = media_dir(run.server.store, s["id"])
            disk = sum(f.stat().st_size for f in media.iterdir()) if media.exists() else 0
        return {"mode": mode, "cpu_s": cpu, "wall_s": wall, "recorder_cpu_s": rec,
                "disk_bytes": disk, "session_s": report["session"]["duration_s"]}


def offline(n: int, minutes: float, packets: dict[str, list[bytes]]) -> dict:
    """`minutes` of each candidate through a recorder: process CPU (all threads) and disk."""
    with tempfile.TemporaryDirectory(prefix="lgd-bench-rec-") as tmp:
        store = SessionStore(Path(tmp), Vault(parse_kek(new_kek())))
        per = int(minutes * 60 * 50)
        t0 = time.process_time()
        rec = SessionRecorder(store, "bench", "audio")
        for i in range(per):  # interleaved, as the candidates' packets arrive
            for who, pkts in packets.items():
                while rec._q.full():
                    time.sleep(0.001)
                rec.put(who, 1, "audio", "opus", 960 * i, pkts[i % len(pkts)], 0.02 * i)
        rec.close()
        cpu = time.process_time() - t0
        disk = sum(f.stat().st_size for f in media_dir(store, "bench").iterdir())
    return {"cpu_s": cpu, "disk_bytes": disk, "hours": n * minutes / 60}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--offline-min", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n = args.candidates
    packets = speech_packets(n, 60.0)
    kbps = 8 * np.mean([len(p) for ps in packets.values() for p in ps]) * 50 / 1000
    print(f"{n} candidates, Opus {kbps:.1f} kbps payload, {args.duration:.0f} s live per mode")
    runs: dict[str, list[dict]] = {"off": [], "audio": []}
    for _ in range(args.repeats):  # alternating: drift in the machine's load hits both
        for m in runs:
            runs[m].append(asyncio.run(live(n, args.duration, m, packets)))
    cores = {m: [r["cpu_s"] / r["wall_s"] for r in rs] for m, rs in runs.items()}
    med = {m: float(np.median(c)) for m, c in cores.items()}
    print(f"server CPU (relay + analysis), cores, median of {args.repeats}: off {med['off']:.3f}"
          f" {[round(c, 3) for c in cores['off']]}, audio {med['audio']:.3f} "
          f"{[round(c, 3) for c in cores['audio']]}; ratio {med['audio'] / med['off']:.3f}")
    on = max(runs["audio"], key=lambda r: r["recorder_cpu_s"])  # the worst run
    per_cand = on["recorder_cpu_s"] / on["wall_s"] / n
    print(f"recorder thread CPU: {on['recorder_cpu_s']:.3f} s in {on['wall_s']:.1f} s = "
          f"{100 * per_cand:.3f} % of a core per candidate "
          f"({per_cand * 3600:.1f} CPU s per candidate-hour)")
    print(f"disk, live: {on['disk_bytes']} bytes for {n} x {on['session_s']:.1f} s = "
          f"{on['disk_bytes'] / n / on['session_s'] * 3600 / 1e6:.1f} MB per candidate-hour")
    o = offline(n, args.offline_min, packets)
    total = o["cpu_s"]
    print(f"offline: {o['hours']:.2f} candidate-hours recorded with {total:.2f} CPU s "
          f"(mux + seal + write + queueing) = {total / o['hours']:.1f} CPU s per "
          f"candidate-hour ({100 * total / o['hours'] / 3600:.3f} % of a core); "
          f"{o['disk_bytes'] / o['hours'] / 1e6:.1f} MB per candidate-hour on disk")


if __name__ == "__main__":
    main()
