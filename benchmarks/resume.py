"""What resuming a session after a server restart costs the analysis worker.

    .venv/bin/python benchmarks/resume.py [--candidates 6] [--minutes 5 10]

`Analysis.resume` brings a fresh driver to the session clock's now on silence (its output
dropped) and rebuilds the whole-session folds from the event log. Printed, per session
length before the crash: CPU and wall seconds of the resume (ASR off), and the CPU seconds
per session second. Live frames of the resumed session wait (queued, never dropped) that
long before the worker analyses them.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from analysis.driver import Analysis
from analysis.settings import Settings
from core.events import SpeechEnded, SpeechHorizon, SpeechStarted
from core.session import SessionInfo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--minutes", type=float, nargs="+", default=[5.0, 10.0])
    args = ap.parse_args()
    base = Settings.from_env()
    settings = dataclasses.replace(base, asr=dataclasses.replace(base.asr, enabled=False))
    ids = [f"p{i}" for i in range(args.candidates)]
    info = SessionInfo("bench", [(p, p) for p in ids], "en", "", "off")
    warm = Analysis(info, settings, live=True)
    warm.resume([], 5.0, 5.0)  # the VAD loaded, the kernels compiled
    for minutes in args.minutes:
        at = minutes * 60.0
        # a log as a session leaves it: one stretch of speech every 3 s, in turn
        logged: list = []
        for k in range(int(at / 3.0)):
            who, t = ids[k % len(ids)], 3.0 * k
            logged += [SpeechStarted(who, t), SpeechEnded(who, t, t + 2.0),
                       SpeechHorizon(t + 2.5)]
        a = Analysis(info, settings, live=True)
        cpu, wall = time.process_time(), time.perf_counter()
        a.resume(logged, at, at)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        a.close()
        print(f"{args.candidates} candidates, crash after {minutes:g} min: resume "
              f"{cpu:.1f} CPU s, {wall:.1f} s wall; {cpu / at:.4f} CPU s per session s")


if __name__ == "__main__":
    main()
