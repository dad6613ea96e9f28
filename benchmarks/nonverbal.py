"""Cost of the nonverbal stage for 6 candidates: prosody RTF per candidate, face-analysis
ms per frame, and the share of one CPU core at the configured frame rate.

    .venv/bin/python benchmarks/nonverbal.py [--fps 4] [--seconds 90]

Prosody runs on a scripted 6-candidate espeak-ng discussion (speech events from the real
speech-activity stage, which is timed separately and not counted). Face analysis runs
mediapipe's face mesh on 640x480 frames of a real portrait (scikit-image's astronaut)
with scripted nodding, `fps` frames per second per candidate. CPU time is the process's
(mediapipe runs its own threads), so "share of one core" = CPU seconds / session seconds.
Goal: the whole nonverbal stage <= 0.25 of one core for 6 candidates.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sessions import make  # noqa: E402
from diarize.activity import SpeechActivity  # noqa: E402
from diarize.config import FaceConfig, ProsodyConfig  # noqa: E402
from diarize.face import FaceAnalyzer  # noqa: E402
from diarize.prosody import ProsodyTracker  # noqa: E402
from interaction.reactions import ReactionTracker  # noqa: E402
from interaction.turns import TurnTracker  # noqa: E402
from testkit.synth.video import face_photo, nod  # noqa: E402

N = 6
BLOCK = 320  # 20 ms, as live rooms deliver audio


def prosody(seconds: float) -> tuple[float, float, dict[str, float]]:
    """→ (CPU s of prosody + reactions, session s, own speech s measured per candidate)."""
    s = make(N, "zh", 3)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)[:, : int(seconds * 16000)]
    act, turns = SpeechActivity(ids), TurnTracker(ids)
    blocks = [x[:, k : k + BLOCK] for k in range(0, x.shape[1], BLOCK)]
    speech = [act.push(b) for b in blocks]
    speech[-1] = speech[-1] + act.flush()
    follow = [[e for ev in evs for e in [ev, *turns.push(ev)]] for evs in speech]
    warm = ProsodyTracker(ids)
    for b, evs in zip(blocks[:500], speech[:500], strict=True):
        warm.push(b, evs)  # numba cache load
    tracker, reactions = ProsodyTracker(ids, ProsodyConfig()), ReactionTracker(ids)
    c0 = time.process_time()
    for b, evs, fol in zip(blocks, speech, follow, strict=True):
        for ev in tracker.push(b, evs) + fol:
            reactions.push(ev)
    for ev in tracker.flush():
        reactions.push(ev)
    reactions.flush()
    return time.process_time() - c0, x.shape[1] / 16000, tracker.measured_s


def face(seconds: float, fps: float) -> tuple[float, float, int]:
    """→ (CPU s, wall s, frames) for N candidates over `seconds` of session at `fps`."""
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, 64:576] = face_photo()[16:496]  # a 640x480 webcam frame
    from testkit.synth.video import shifted

    motion = nod(start_s=2.0)
    frames = [shifted(img, *motion(k / fps)) for k in range(int(seconds * fps))]
    ids = [f"P{i}" for i in range(N)]
    fa = FaceAnalyzer(ids, FaceConfig(fps=fps))
    for pid in ids:
        fa.push_frame(pid, 0.0, frames[0])  # load the model per candidate
    c0, t0 = time.process_time(), time.perf_counter()
    for k, frame in enumerate(frames[1:], start=1):
        for pid in ids:
            fa.push_frame(pid, k / fps, frame)
    fa.flush()
    return time.process_time() - c0, time.perf_counter() - t0, (len(frames) - 1) * N


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=float, default=FaceConfig().fps)
    ap.add_argument("--seconds", type=float, default=90.0)
    args = ap.parse_args()
    cpu_p, session_s, speech = prosody(args.seconds)
    own = sum(speech.values())
    print(f"prosody+reactions, {N} candidates, {session_s:.0f} s session, "
          f"{own:.0f} s of own speech measured")
    print(f"  CPU {cpu_p:.2f} s → RTF per candidate {cpu_p / session_s / N:.4f} "
          f"(per second of own speech {cpu_p / max(own, 1e-9):.4f}); "
          f"share of one core {cpu_p / session_s:.3f}")
    face_s = 20.0
    cpu_f, wall_f, n = face(face_s, args.fps)
    share_f = cpu_f / face_s
    print(f"face cues, {N} candidates at {args.fps:g} fps, {face_s:.0f} s, {n} frames 640x480")
    print(f"  {wall_f / n * 1000:.1f} ms wall and {cpu_f / n * 1000:.1f} ms CPU per frame; "
          f"share of one core {share_f:.3f}")
    total = cpu_p / session_s + share_f
    print(f"whole nonverbal stage, {N} candidates: {total:.3f} of one core "
          f"(goal <= 0.25: {'met' if total <= 0.25 else 'NOT met'})")


if __name__ == "__main__":
    main()
