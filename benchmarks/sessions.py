"""The hard scripted sessions the accuracy figures and tests are measured on.

Hard = bleed −12 dB between every pair of mics (5–15 ms late), mic gains spread over
16 dB, stationary noise at 20–30 dB SNR, room reverberation (RT60 0.2–0.4 s).
"""

from __future__ import annotations

import numpy as np

from analysis.driver import Analysis
from analysis.settings import Settings
from core.session import SessionInfo
from testkit.evaluate import F1, SessionScore, score_session
from testkit.synth import RoomConfig, Session, synthesize_session

HARD = RoomConfig(bleed_db=(-12.0, -12.0), gain_spread_db=16.0)
#: (speakers, language, seed): Mandarin and English, 3 to 8 candidates.
HARD_SESSIONS = [(3, "zh", 2), (4, "en", 1), (5, "zh", 3), (6, "en", 4), (8, "zh", 5)]


def make(n: int, lang: str, seed: int, room: RoomConfig = HARD) -> Session:
    return synthesize_session(n, lang, seed, room, 90.0)


def run_offline(session: Session, settings: Settings | None = None) -> dict:
    """The driver `lgd analyze` runs, fed its 1 s blocks, without files or a bus."""
    ids = [pid for pid, _ in session.participants]
    x = np.stack([session.tracks[pid] for pid in ids]).astype(np.float32)  # (n, samples)
    info = SessionInfo("bench", session.participants, session.language, "")
    return Analysis(info, settings).run(x)


def pooled(scores: list[SessionScore]) -> dict[str, float]:
    miss = sum(s.speech.miss_s for s in scores)
    fa = sum(s.speech.false_alarm_s for s in scores)
    ref = sum(s.speech.reference_s for s in scores)
    ints = sum((s.interruptions for s in scores), F1(0, 0, 0))
    bcs = sum((s.backchannels for s in scores), F1(0, 0, 0))
    return {
        "speech_error": (miss + fa) / ref,
        "miss_s": miss,
        "false_alarm_s": fa,
        "max_share_error_pp": max(s.share_error_pp for s in scores),
        "interruption_f1": ints.f1,
        "interruption_precision": ints.precision,
        "interruption_recall": ints.recall,
        "backchannel_f1": bcs.f1,
        "backchannel_precision": bcs.precision,
        "backchannel_recall": bcs.recall,
    }


__all__ = ["HARD", "HARD_SESSIONS", "make", "run_offline", "pooled", "score_session"]
