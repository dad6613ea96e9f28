"""The hard scripted sessions the accuracy figures and tests are measured on, and the
condition sweep (issue 12).

Hard = bleed −12 dB between every pair of mics (5–15 ms late), mic gains spread over
16 dB, stationary noise at 20–30 dB SNR, room reverberation (RT60 0.2–0.4 s).

Sweep = the hard room plus one mic/room condition the model was never tuned on, each
alone and then all together (`CONDITIONS`, testkit/synth/mics.py). Seeds are split:
`TUNE_SESSIONS` are the only sessions any threshold may be looked at on while changing the
model; `SWEEP_SESSIONS` are the reported rows and the tests, never tuned on.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from analysis.driver import Analysis
from analysis.settings import Settings
from core.session import SessionInfo
from diarize.config import AsrConfig
from testkit.evaluate import F1, SessionScore, score_session
from testkit.synth import RoomConfig, Session, synthesize_session
from testkit.synth.voices import Voice, render

HARD = RoomConfig(bleed_db=(-12.0, -12.0), gain_spread_db=16.0)
#: (speakers, language, seed): Mandarin and English, 3 to 8 candidates.
HARD_SESSIONS = [(3, "zh", 2), (4, "en", 1), (5, "zh", 3), (6, "en", 4), (8, "zh", 5)]

#: One condition each, on top of the hard room (the issue's list, in its order).
CONDITIONS: dict[str, RoomConfig] = {
    "noise after gain": replace(HARD, noise_after_gain=True),
    "AGC ±6 dB": replace(HARD, agc_db=6.0),
    "noise gate": replace(HARD, noise_gate_db=40.0),
    "heavy reverb": replace(
        HARD, rt60_s=(0.5, 0.8), drr_own_db=(2.0, 6.0), drr_bleed_db=(-3.0, 2.0)
    ),
    "relayed echo": replace(HARD, echo_db=-12.0, echo_delay_ms=(100.0, 500.0)),
    "mic responses": replace(HARD, mic_response=True),
    "offset+drift": replace(HARD, capture_offset_s=(0.0, 0.15), drift_ppm=200.0),
}
CONDITIONS["all combined"] = replace(
    HARD,
    noise_after_gain=True,
    agc_db=6.0,
    noise_gate_db=40.0,
    rt60_s=(0.5, 0.8),
    drr_own_db=(2.0, 6.0),
    drr_bleed_db=(-3.0, 2.0),
    echo_db=-12.0,
    echo_delay_ms=(100.0, 500.0),
    mic_response=True,
    capture_offset_s=(0.0, 0.15),
    drift_ppm=200.0,
)
#: The issue's own hard case (its table, row 2): bleed −12 dB carrying 0.25 s of reverb, mic
#: gains over 14 dB (−8…+6), the mic noise added after the gain; and clean per-mic tracks
#: (bleed −26 dB, row 1), which the voice-identity cue must not make worse.
ISSUE_HARD = replace(HARD, rt60_s=(0.25, 0.25), gain_spread_db=14.0, noise_after_gain=True)
CLEAN = RoomConfig(bleed_db=(-26.0, -26.0))
#: Reported and tested sweep rows: never used to choose a threshold.
SWEEP_SESSIONS = [(3, "zh", 101), (5, "en", 102), (8, "zh", 103)]
#: Held out in session 6 (issue 12: identity deciding the session's start, AGC): first run
#: only for the final figures, after every choice was made on the tuning seeds.
HELDOUT_SESSIONS = [(4, "en", 301), (6, "zh", 302), (3, "en", 303)]
#: The only sessions looked at while changing the model (benchmarks/accuracy.py --tune).
TUNE_SESSIONS = [(4, "en", 201), (6, "zh", 202)]
#: Tuning sessions of the voice-identity cue (seeds 201-207; never the reported ones).
TUNE_IDENTITY = [(4, "en", 201), (6, "zh", 202), (5, "zh", 203), (3, "en", 204),
                 (5, "en", 205), (5, "en", 206), (3, "zh", 207)]
#: speech activity only: the content stages (ASR) cost time and do not change attribution
NO_ASR = Settings(asr=AsrConfig(enabled=False))


def make(n: int, lang: str, seed: int, room: RoomConfig = HARD, voice_shift: int = 0) -> Session:
    return synthesize_session(n, lang, seed, room, 90.0, voice_shift)


def run_offline(
    session: Session, settings: Settings | None = None, clips: dict[str, np.ndarray] | None = None
) -> dict:
    """The driver `lgd analyze` runs, fed its 1 s blocks, without files or a bus; `clips`:
    each candidate's voice alone before the discussion, to enrol voice identity from."""
    ids = [pid for pid, _ in session.participants]
    x = np.stack([session.tracks[pid] for pid in ids]).astype(np.float32)  # (n, samples)
    info = SessionInfo("bench", session.participants, session.language, "")
    analysis = Analysis(info, settings)
    for pid, clip in (clips or {}).items():
        analysis.enrol_voice(pid, clip)
    return analysis.run(x)


CHECK_LINES = {
    "en": "Hello, I can hear the room well. My microphone is working and I am ready to start.",
    "zh": "ni3 hao3, wo3 neng2 ting1 dao4 da4 jia1. wo3 de mai4 ke4 feng1 zheng4 chang2, "
          "wo3 zhun3 bei4 hao3 le.",
}


def device_check_clips(session: Session) -> dict[str, np.ndarray]:
    """Each candidate's voice alone, as a join-page device check would record it (near
    field, no neighbours): one line in their session voice."""
    out = {}
    for pid, desc in session.truth["voices"].items():
        name, _, pitch, _, speed = desc.split()
        gender = name.split("+")[1][0]
        out[pid] = np.asarray(render(Voice(name, int(pitch), int(speed), gender),
                                     CHECK_LINES[session.language]), np.float32)
    return out


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


__all__ = [
    "CLEAN", "CONDITIONS", "HARD", "HARD_SESSIONS", "HELDOUT_SESSIONS", "ISSUE_HARD", "NO_ASR",
    "SWEEP_SESSIONS",
    "TUNE_IDENTITY", "TUNE_SESSIONS", "device_check_clips", "make", "pooled", "run_offline",
    "score_session",
]
