"""ASR cost and latency of the content stages, live-paced, for 4 and 6 candidates.

    .venv/bin/python benchmarks/asr.py [--seconds 60] [--language zh|en]

A scripted turn-taking session is fed through the whole analysis driver (speech activity, turns,
transcription in the ASR worker process, acts) in 20 ms blocks at real-time pace, from a
thread, as a live room does. Printed per size:
- ASR RTF: worker wall time / audio sent to ASR; CPU RTF: worker CPU seconds (both
  threads) per audio second, which depends less on other jobs sharing the cores;
- latency: wall clock from the moment the block holding an utterance's last sample was
  pushed to the moment its `Utterance` came out of `push` (p50 / p95 / max);
- act tagging: wall time per utterance of `ActTagger` (rules + novelty).
The SFU is not running here: the lead measures the same script with rooms live.
"""

from __future__ import annotations

import argparse
import bisect
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLOCK = 320  # 20 ms at 16 kHz


def live_run(session, data_dir: Path) -> dict:
    from analysis.driver import Analysis
    from analysis.settings import Settings
    from core.events import Act, Utterance
    from core.session import SessionInfo

    ids = [p for p, _ in session.participants]
    x = np.stack([session.tracks[p] for p in ids]).astype(np.float32)  # (n, samples)
    settings = replace(Settings.from_env(), data_dir=data_dir)  # LGD_ASR_* apply
    info = SessionInfo("asr", session.participants, session.language, "")
    analysis = Analysis(info, settings)
    pushed_t: list[float] = []  # session time at the end of each pushed block
    pushed_wall: list[float] = []  # wall clock right after it was pushed
    latencies: list[float] = []
    utterances: list[Utterance] = []
    acts: list[Act] = []

    def on(events, now: float) -> None:
        for ev in events:
            if isinstance(ev, Utterance):
                k = bisect.bisect_left(pushed_t, ev.end)
                if k < len(pushed_wall):
                    latencies.append(now - pushed_wall[k])
                utterances.append(ev)
            elif isinstance(ev, Act):
                acts.append(ev)

    def feed() -> None:
        t0 = time.perf_counter()
        for k in range(0, x.shape[1], BLOCK):
            due = t0 + k / 16000
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            events = analysis.feed(x[:, k : k + BLOCK])
            now = time.perf_counter()
            pushed_t.append((k + BLOCK) / 16000)
            pushed_wall.append(now)
            on(events, now)
        done: list = []
        analysis.sink = done.extend
        analysis.finish()
        on(done, time.perf_counter())

    thread = threading.Thread(target=feed, name="live-feed")
    thread.start()
    thread.join()
    tr = analysis.transcriber
    assert tr is not None
    return {"latencies": latencies, "utterances": utterances, "acts": acts,
            "rtf": tr.compute_s / max(tr.audio_s, 1e-9), "audio_s": tr.audio_s,
            "cpu_rtf": tr.cpu_s / max(tr.audio_s, 1e-9),
            "errors": tr.errors}


def tagging_cost(session, utterances) -> float:
    from interaction.acts import ActTagger

    tagger = ActTagger(session.participants, session.language)
    t0 = time.perf_counter()
    for u in utterances:
        tagger.tag(u)
    return (time.perf_counter() - t0) / max(1, len(utterances))


def main() -> None:
    from testkit.synth import synthesize_session

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--language", default="zh", choices=["zh", "en"])
    args = ap.parse_args()
    from analysis.settings import Settings

    asr = Settings.from_env().asr
    print(f"language {args.language}, beam {asr.beam_size}, {asr.threads} ASR threads, "
          f"load average before: {os.getloadavg()[0]:.1f} (other jobs share these 2 cores)")
    print(f"{'cands':>5}{'audio s':>9}{'ASR s':>7}{'ASR RTF':>9}{'CPU RTF':>9}{'utts':>6}"
          f"{'lat p50':>9}{'lat p95':>9}{'lat max':>9}{'tag ms/utt':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (4, 6):
            s = synthesize_session(n, args.language, 200 + n, duration_s=args.seconds)
            r = live_run(s, Path(tmp))
            lat = np.array(r["latencies"]) if r["latencies"] else np.array([np.nan])
            tag = tagging_cost(s, r["utterances"]) * 1000
            print(f"{n:>5}{s.duration_s:>9.0f}{r['audio_s']:>7.0f}{r['rtf']:>9.2f}"
                  f"{r['cpu_rtf']:>9.2f}"
                  f"{len(r['utterances']):>6}{np.percentile(lat, 50):>9.2f}"
                  f"{np.percentile(lat, 95):>9.2f}{lat.max():>9.2f}{tag:>12.2f}")
            for e in r["errors"]:
                print(f"  ASR error: {e}")


if __name__ == "__main__":
    main()
