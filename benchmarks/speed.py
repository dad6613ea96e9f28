"""Real-time factor and peak memory of the speech-activity core for 4, 6 and 8 tracks.

    .venv/bin/python benchmarks/speed.py [--tracks 8] [--tdoa | --echo]

Each size runs in its own process (numba caches warm) on a 120 s scripted session:
RTF = processing time / audio time for the whole stage (VAD + crosstalk + segmentation +
turn-taking), fed 20 ms frames as live rooms do and 1 s blocks as `lgd analyze` does;
each with the voice-identity cue off and on (`cue` column; `embed RTF`: the speaker model's
share of the CPU time), or with `--tdoa` the arrival-time cue off, on, and on with its
decision veto (`tdoa RTF`: its share); or with `--echo` the relayed-echo path off and on,
on a session whose speakers relay the others' voices (the sweep's echo row), so its fits run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(path: str, block: int) -> None:
    import dataclasses

    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.session import SessionInfo

    # the speech-activity core alone: ASR (benchmarks/asr.py) and the affect stages
    # (benchmarks/nonverbal.py) are measured on their own
    env = Settings.from_env()
    settings = dataclasses.replace(env, asr=dataclasses.replace(env.asr, enabled=False))
    x = np.load(path)  # (n_tracks, n_samples) float32
    ids = [chr(65 + i) for i in range(x.shape[0])]
    info = SessionInfo("speed", [(p, p) for p in ids], "zh", "", affect="off")
    Analysis(info, settings).feed(x[:, :16000])  # warm-up: numba, ONNX session
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    analysis = Analysis(info, settings)
    t0, c0 = time.perf_counter(), time.process_time()
    analysis.run(x, block_frames=block // 320)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    audio = x.shape[1] / 16000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    identity = analysis.activity.identity
    embed = identity.cpu_s / audio if identity is not None else 0.0
    act = analysis.activity
    tdoa = sum(c.cpu_s for c in (act.arrival, act.arrival_now) if c is not None) / audio
    print(json.dumps({"rtf": wall / audio, "cpu_rtf": cpu / audio, "peak_rss_mb": rss / 1024,
                      "stage_mb": (rss - rss0) / 1024, "embed_rtf": embed,
                      "tdoa_rtf": tdoa}))


#: cue columns: level coupling alone, voice identity, the arrival-time cue (and its veto)
CUES = {"off": {}, "on": {"LGD_ACTIVITY_IDENTITY": "1"}}
TDOA_CUES = {"off": {}, "tdoa": {"LGD_ACTIVITY_TDOA": "1"},
             "veto": {"LGD_ACTIVITY_TDOA": "1", "LGD_ACTIVITY_TDOA_VETO": "1"}}
ECHO_CUES = {"off": {"LGD_ACTIVITY_ECHO": "0"}, "echo": {}}


def main(sizes: tuple[int, ...] = (4, 6, 8), cues: dict[str, dict[str, str]] = CUES,
         echo: bool = False) -> None:
    from testkit.synth import synthesize_session
    from testkit.synth.room import DEFAULT_ROOM

    room = DEFAULT_ROOM
    if echo:  # the sweep's relayed echo (benchmarks/sessions.py CONDITIONS)
        room = replace(room, echo_db=-12.0, echo_delay_ms=(100.0, 500.0))

    print(f"{'tracks':>6}{'block':>8}{'cue':>5}{'RTF (wall)':>12}{'RTF (cpu)':>11}"
          f"{'embed RTF':>11}{'tdoa RTF':>10}{'peak RSS MB':>13}{'stage MB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            s = synthesize_session(n, "zh", 100 + n, room, duration_s=120.0)
            x = np.stack([s.tracks[p] for p, _ in s.participants]).astype(np.float32)
            path = str(Path(tmp) / f"{n}.npy")
            np.save(path, x)
            for block in (320, 16000):
                for identity, extra in cues.items():
                    env = {**os.environ, **extra}
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", path, str(block)],
                        capture_output=True, text=True, check=True, env=env,
                    )
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    label = "20 ms" if block == 320 else "1 s"
                    print(f"{n:>6}{label:>8}{identity:>5}{r['rtf']:>12.4f}{r['cpu_rtf']:>11.4f}"
                          f"{r['embed_rtf']:>11.4f}{r['tdoa_rtf']:>10.4f}{r['peak_rss_mb']:>13.0f}"
                          f"{r['stage_mb']:>10.0f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--tracks":
        tdoa, echo = "--tdoa" in sys.argv, "--echo" in sys.argv
        main(tuple(int(a) for a in sys.argv[2:] if not a.startswith("--")),
             TDOA_CUES if tdoa else ECHO_CUES if echo else CUES, echo)
    else:
        main()
