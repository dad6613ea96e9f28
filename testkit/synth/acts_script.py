"""Scripted discussions with known discourse acts (`ACT_LINES`), rendered with espeak-ng.

Four candidates take turns, one line each, with 0.6-0.9 s gaps (no overlaps: acts, not
turn-taking, are under test). The lines go through the same room model as every synthetic
session. Truth: the usual speech/turn truth plus `acts` [{type, by, to, at, end, text}]
(`at`/`end` = the line's placed audio) and `script` (the lines as spoken).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .acts_lines import ACT_LINES, ACT_NAMES, parse_acts
from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .script import Clip, Script
from .session import Session, mix_dry
from .truth import Floor, build_truth, speech_intervals
from .voices import VOICES, Voice, render

GAP_S = (0.6, 0.9)
#: distinct voices: male/female alternating, spread pitches. (English: the very low m1 and
#: very high f3 voices were the ones base misheard most: "I agree" -> "I breathe".)
_VOICE_PICK = {
    "en": {"A": ("m", 0), "B": ("f", 3), "C": ("m", 2), "D": ("f", 1)},
    "zh": {"A": ("m", 0), "B": ("f", 0), "C": ("m", 2), "D": ("f", 1)},
}


def speakable(text: str, language: str) -> str:
    """What espeak-ng is given: the text itself (en) or tone-numbered pinyin (zh)."""
    if language != "zh":
        return text
    from pypinyin import Style, lazy_pinyin

    parts = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)
    # Full-width punctuation after a tone digit gives espeak its pause (see texts.py).
    out = " ".join(parts)
    for ascii_p, wide in ((",", "，"), (".", "。"), ("?", "？"), (":", "：")):
        out = out.replace(ascii_p, wide)
    return out


def act_turns(lang: str, audio_of: Callable[[str, str], np.ndarray], rng: np.random.Generator,
              sr: int) -> tuple[Script, list[dict], float]:
    """The act script's lines one after another, each spoken as `audio_of(who, text)`, with
    short gaps: the script, its acts' truth, and the end time."""
    script = Script()
    acts: list[dict] = []
    t = 0.5
    for who, text, spec in ACT_LINES[lang]:
        x = audio_of(who, text)
        end = t + len(x) / sr
        script.clips.append(Clip(who, "turn", t, x, text))
        script.floors.append(Floor(who, t, end))
        for kind, to in parse_acts(spec):
            acts.append({"type": kind, "by": who, "to": to, "at": round(t, 2),
                         "end": round(end, 2), "text": text})
        t = end + float(rng.uniform(*GAP_S))
    return script, acts, t


def acts_session(lang: str, seed: int = 0, room: RoomConfig = DEFAULT_ROOM) -> Session:
    if lang not in ACT_LINES:
        raise ValueError(f"no act script for language {lang!r}")
    sr = room.sample_rate
    rng = np.random.default_rng(seed)
    names = ACT_NAMES[lang]
    pids = list(names)
    voices: dict[str, Voice] = {
        p: VOICES[lang][g][k] for p, (g, k) in _VOICE_PICK[lang].items() if p in names
    }
    script, acts, t = act_turns(
        lang, lambda who, text: render(voices[who], speakable(text, lang), sr), rng, sr)
    n = int(round((t + 0.5) * sr))
    dry = mix_dry(script, pids, n, sr)
    speech = {p: speech_intervals(dry[p], sr) for p in pids}
    truth = build_truth(speech, script.floors, [])
    truth["acts"] = acts
    truth["script"] = [
        {"who": c.who, "start": round(c.start, 2), "end": round(c.start + len(c.audio) / sr, 2),
         "text": c.text}
        for c in script.clips
    ]
    truth["voices"] = {p: f"{v.voice} -p {v.pitch} -s {v.speed}" for p, v in voices.items()}
    tracks, truth["room"] = apply_room(dry, speech, room, rng)
    participants = [(p, names[p]) for p in pids]
    return Session(participants, tracks, truth, n / sr, lang, sr)
