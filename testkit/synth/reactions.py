"""A scripted discussion about reactions to interruptions, with the truth recorded.

Three candidates: A and B each hold the floor and are interrupted by C (a failed
interruption: C's 1-2 s interjection overlaps the holder, who goes on). After a calm
baseline phase, A answers every interruption with a raised voice (espeak pitch +35,
speed +15 %, +8 dB) while B goes on in their usual voice. A last round has C take the floor
from each of them (a successful interruption), and they answer after C's turn. The truth lists each
interruption and how its target was scripted to react.
"""

from __future__ import annotations

import numpy as np

from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .session import Session
from .texts import INTERJECTIONS, TURNS
from .truth import Event, Floor, build_truth, speech_intervals
from .voices import Voice, fade_out, render

SR = 16000
AGITATED_GAIN = 10 ** (8 / 20)


def _voices(lang: str) -> dict[str, Voice]:
    v = "cmn-latn-pinyin" if lang == "zh" else "en-us"
    return {
        "A": Voice(f"{v}+m3", 45, 165, "m"),
        "B": Voice(f"{v}+f1", 55, 160, "f"),
        "C": Voice(f"{v}+m7", 30, 170, "m"),
    }


def agitated(v: Voice) -> Voice:
    return Voice(v.voice, min(99, v.pitch + 35), int(v.speed * 1.15), v.gender)


def reaction_session(
    lang: str = "zh", seed: int = 0, rounds: int = 3, baseline_s: float = 24.0,
    room: RoomConfig = DEFAULT_ROOM,
) -> Session:
    """~(3 * baseline_s + rounds * 25 + 30) s; truth["reactions"] = [{who, by, at, style,
    outcome}]: `rounds` failed interruptions of A and of B, then one successful one each."""
    rng = np.random.default_rng(seed)
    voices = _voices(lang)
    lines = [say for _, say in TURNS[lang]]
    jects = [say for _, say in INTERJECTIONS[lang]]
    order = rng.permutation(len(lines))
    clips: list[tuple[str, float, np.ndarray]] = []
    floors: list[Floor] = []
    events: list[Event] = []
    said = {p: 0.0 for p in voices}
    t, k = 0.5, 0

    def say(who: str, v: Voice, gain: float = 1.0) -> np.ndarray:
        nonlocal k
        x = render(v, lines[order[k % len(lines)]], SR) * gain
        k += 1
        return np.clip(x, -1, 1).astype(np.float32)

    while min(said["A"], said["B"]) < baseline_s:  # calm turns: each learns a baseline
        for who in ("A", "B", "C"):
            x = np.concatenate([say(who, voices[who]), np.zeros(int(0.3 * SR), np.float32),
                                say(who, voices[who])])
            clips.append((who, t, x))
            floors.append(Floor(who, t, t + len(x) / SR))
            said[who] += len(x) / SR
            t += len(x) / SR + rng.uniform(0.4, 0.8)
    reactions = []
    for _ in range(rounds):
        for who, style in (("A", "agitated"), ("B", "calm")):
            first = say(who, voices[who])
            v = agitated(voices[who]) if style == "agitated" else voices[who]
            gain = AGITATED_GAIN if style == "agitated" else 1.0
            rest = np.concatenate([say(who, v, gain), np.zeros(int(0.2 * SR), np.float32),
                                   say(who, v, gain)])
            cut = len(first) / SR
            clips.append((who, t, first))
            clips.append((who, t + cut + 0.15, rest))
            end = t + cut + 0.15 + len(rest) / SR
            floors.append(Floor(who, t, end))
            ject = render(voices["C"], jects[int(rng.integers(len(jects)))], SR)[: int(1.6 * SR)]
            at = round(t + max(1.0, cut - 0.8), 2)
            clips.append(("C", at, ject))
            events.append(Event("fail", "C", who, at))
            reactions.append({"who": who, "by": "C", "at": at, "style": style,
                              "outcome": "kept_floor"})
            t = end + rng.uniform(0.5, 0.9)
    for who, style in (("A", "agitated"), ("B", "calm")):  # C takes the floor; they answer
        first = say(who, voices[who])
        on = max(1.0, len(first) / SR - 1.5)
        first = fade_out(first, SR, on + 0.6, 0.025)  # cut off 0.6 s after C's onset
        clips.append((who, t, first))
        floors.append(Floor(who, t, t + len(first) / SR))
        at = round(t + on, 2)
        c_turn = fade_out(say("C", voices["C"]), SR, 3.5, 0.05)
        clips.append(("C", at, c_turn))
        floors.append(Floor("C", at, at + len(c_turn) / SR))
        events.append(Event("succ", "C", who, at))
        v = agitated(voices[who]) if style == "agitated" else voices[who]
        gain = AGITATED_GAIN if style == "agitated" else 1.0
        reply = np.concatenate([say(who, v, gain), np.zeros(int(0.2 * SR), np.float32),
                                say(who, v, gain)])
        start = at + len(c_turn) / SR + 0.4
        clips.append((who, start, reply))
        floors.append(Floor(who, start, start + len(reply) / SR))
        reactions.append({"who": who, "by": "C", "at": at, "style": style,
                          "outcome": "responded"})
        t = start + len(reply) / SR + rng.uniform(0.5, 0.9)
    n = int((t + 0.5) * SR)
    dry = {p: np.zeros(n, np.float32) for p in voices}
    for who, start, x in clips:
        a = int(round(start * SR))
        dry[who][a : a + len(x)] += x[: n - a]
    speech = {p: speech_intervals(dry[p], SR) for p in voices}
    truth = build_truth(speech, floors, events)
    for r in reactions:
        r["at"] = next(e["at"] for e in truth["interruptions"] if e["of"] == r["who"]
                       and abs(e["at"] - r["at"]) < 0.2)
    truth["reactions"] = reactions
    truth["voices"] = {p: " ".join(v.args()) for p, v in voices.items()}
    tracks, truth["room"] = apply_room(dry, speech, room, np.random.default_rng(seed + 1))
    names = {"A": "Agitated", "B": "Calm", "C": "Challenger"}
    return Session([(p, names[p]) for p in voices], tracks, truth, n / SR, lang, SR)
