"""Accuracy of the speech-activity core on hard scripted sessions and on real speech.

    .venv/bin/python benchmarks/accuracy.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sessions import HARD_SESSIONS, make, pooled, run_offline  # noqa: E402
from testkit.evaluate import score_session  # noqa: E402
from testkit.synth import realspeech_session  # noqa: E402


def main() -> None:
    scores = []
    print(f"{'session':<14}{'speech err':>11}{'share err pp':>13}{'int F1':>8}{'bc F1':>7}")
    for n, lang, seed in HARD_SESSIONS:
        session = make(n, lang, seed)
        s = score_session(run_offline(session), session.truth)
        scores.append(s)
        print(f"{n} {lang} seed {seed:<5}{s.speech.error:>11.1%}{s.share_error_pp:>13.2f}"
              f"{s.interruptions.f1:>8.2f}{s.backchannels.f1:>7.2f}")
    p = pooled(scores)
    print(
        f"pooled: speech error {p['speech_error']:.1%} (miss {p['miss_s']:.1f} s, false alarm "
        f"{p['false_alarm_s']:.1f} s); worst share error {p['max_share_error_pp']:.2f} pp; "
        f"interruption F1 {p['interruption_f1']:.2f} (P {p['interruption_precision']:.2f} "
        f"R {p['interruption_recall']:.2f}); backchannel F1 {p['backchannel_f1']:.2f} "
        f"(P {p['backchannel_precision']:.2f} R {p['backchannel_recall']:.2f})"
    )
    for seed in (1, 2):
        real = realspeech_session(seed)
        s = score_session(run_offline(real), real.truth)
        print(f"real speech (pyannote sample laid out per mic, seed {seed}): speech error "
              f"{s.speech.error:.1%}, share error {s.share_error_pp:.2f} pp")


if __name__ == "__main__":
    main()
