"""A scripted discussion whose candidates play designed roles, with the acts in the truth.

Roles: a *leader* (sets the agenda, keeps time, invites, summarises), a *supporter* (agrees,
builds on others, gives backchannels), an *interrupter* (cuts in, successfully and not) and a
*quiet* member (one short turn). The same script exists in English and Mandarin; voices can be
permuted over the roles and the room (mic gains) re-drawn, so portrait tests can check that
the right role ranks first/last on the matching dimension whatever the voice.

Timing rules are those of `script.py` (backchannel 0.2–0.55 s, >= 0.8 s inside the turn;
failed interruption 1.0–2.0 s, >= 1 s in, the holder goes on >= 1.5 s; successful: onset
>= 1 s in, holder cut 0.4–1.0 s later, the interrupter's turn outlasts the cut by >= 2.5 s;
events >= 3 s apart), so the speech-activity core detects the events the truth lists.
"""

from __future__ import annotations

import numpy as np

from .roles_text import BEATS, ROLES
from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .script import Clip, Script
from .session import Session, mix_dry
from .texts import BACKCHANNELS, INTERJECTIONS, NAMES
from .truth import Event, Floor, build_truth, speech_intervals, speech_onset
from .voices import Voice, fade_out, frame_rms, render

SPEED = 165  # one speaking rate for every voice: a permutation changes timbre/pitch only
ROLE_VOICES: dict[str, tuple[Voice, ...]] = {
    "en": (
        Voice("en-us+m3", 40, SPEED, "m"),
        Voice("en-us+f3", 70, SPEED, "f"),
        Voice("en-gb+m1", 22, SPEED, "m"),
        Voice("en-us+f4", 82, SPEED, "f"),
    ),
    "zh": (
        Voice("cmn-latn-pinyin+m1", 35, SPEED, "m"),
        Voice("cmn-latn-pinyin+f2", 72, SPEED, "f"),
        Voice("cmn-latn-pinyin+m5", 45, SPEED, "m"),
        Voice("cmn-latn-pinyin+f4", 85, SPEED, "f"),
    ),
}
PIDS = ("A", "B", "C", "D")  # A = leader, B = supporter, C = interrupter, D = quiet


def _speaking(audio: np.ndarray, sr: int) -> np.ndarray:
    rms = frame_rms(audio, sr)
    return rms > np.percentile(rms, 95) * 0.01


class _RoleScript:
    def __init__(self, lang: str, voices: dict[str, Voice], rng: np.random.Generator, sr: int):
        self.lang, self.voices, self.rng, self.sr = lang, voices, rng, sr
        self.script = Script()
        self.acts: list[dict] = []
        self.utterances: list[dict] = []
        self.last_event = -1e9

    def _token(self, who: str, pool: str) -> tuple[np.ndarray, str]:
        lines = (BACKCHANNELS if pool == "bc" else INTERJECTIONS)[self.lang]
        lo, hi = (0.2, 0.55) if pool == "bc" else (1.0, 2.0)
        for _ in range(20):
            disp, say = lines[int(self.rng.integers(len(lines)))]
            x = render(self.voices[who], say, self.sr)
            cut = 0.55 if pool == "bc" else self.rng.uniform(lo + 0.1, hi - 0.1)
            if len(x) / self.sr > cut:
                x = fade_out(x, self.sr, cut, 0.02)
            ivs = speech_intervals(x, self.sr)
            if len(ivs) == 1 and lo + 0.02 <= ivs[0][1] - ivs[0][0] <= hi:
                return x, disp
        raise RuntimeError(f"no {pool} token renders as one stretch for {who}")

    def _onset(self, act: np.ndarray, lo: float, hi: float) -> float | None:
        ok = [k for k in range(int(np.ceil(lo * 100)), int(hi * 100) + 1)
              if k < len(act) and act[k]]
        return ok[int(self.rng.integers(min(len(ok), 30)))] / 100 if ok else None

    def build(self, roles: dict[str, str]) -> Script:
        t, forced = 0.5, None
        for i, beat in enumerate(BEATS):
            who = roles[beat.role]
            start = forced if forced is not None else t
            parts: list[np.ndarray] = []
            for _, say in beat.lines[self.lang]:
                if parts:
                    parts.append(np.zeros(int(0.3 * self.sr), np.float32))
                parts.append(render(self.voices[who], say, self.sr))
            audio = np.concatenate(parts)
            L, act = len(audio) / self.sr, _speaking(audio, self.sr)
            c = max(0.8, self.last_event + 3.0 - start)
            events = ([("fail", beat.fail)] if beat.fail else []) + [("bc", r) for r in beat.bc]
            for kind, role in events:
                by = roles[role]
                x, disp = self._token(by, kind)
                d = len(x) / self.sr
                lo = max(c, 1.0 if kind == "fail" else 0.8)
                on = self._onset(act, lo, L - d - (1.5 if kind == "fail" else 0.8))
                if on is None:
                    raise RuntimeError(f"beat {i}: no room for a {kind} by {role}")
                self.script.clips.append(
                    Clip(by, "interjection" if kind == "fail" else "backchannel", start + on,
                         x, disp))
                self.script.events.append(Event(kind, by, who, start + on))
                self.last_event = start + on
                c = on + max(3.0, d + 1.5)
            forced = None
            if beat.cut_by:
                on = self._onset(act, max(c, 1.0), L - 2.5)
                assert on is not None, f"beat {i}: no room for the cut"
                k = int(on * 100)
                cuts = [m for m in range(k + 45, k + 95) if m < len(act) and act[m - 3: m].all()]
                assert cuts, f"beat {i}: no cut point"
                audio = fade_out(audio, self.sr, cuts[len(cuts) // 2] / 100, 0.025)
                by = roles[beat.cut_by]
                self.script.events.append(Event("succ", by, who, start + on))
                self.last_event = forced = start + on
            self.script.clips.append(Clip(who, "turn", start, audio, " ".join(
                d for d, _ in beat.lines[self.lang])))
            end = start + len(audio) / self.sr
            self.script.floors.append(Floor(who, start, end))
            text = " ".join(d for d, _ in beat.lines[self.lang])
            self.utterances.append({"who": who, "start": round(start, 2), "end": round(end, 2),
                                    "text": text})
            for kind, to in beat.acts:
                self.acts.append({"type": kind, "by": who, "to": roles[to] if to else None,
                                  "at": round(start, 2), "text": text})
            t = end + float(self.rng.uniform(0.15, 0.8))
        return self.script


def role_session(
    lang: str,
    seed: int = 0,
    voice_order: tuple[int, int, int, int] = (0, 1, 2, 3),
    room: RoomConfig = DEFAULT_ROOM,
    room_seed: int | None = None,
) -> Session:
    """The role discussion in "en" or "zh". Candidate A leads, B supports, C interrupts, D is
    quiet; `voice_order[i]` picks the voice of candidate i, so permuting it gives the same
    script in other voices. `room_seed` re-draws the room (mic gains, bleed, noise)."""
    if lang not in ROLE_VOICES:
        raise ValueError("lang must be 'zh' or 'en'")
    if sorted(voice_order) != [0, 1, 2, 3]:
        raise ValueError("voice_order must be a permutation of 0..3")
    sr = room.sample_rate
    pool = ROLE_VOICES[lang]
    voices = {p: pool[v] for p, v in zip(PIDS, voice_order, strict=True)}
    roles = dict(zip(ROLES, PIDS, strict=True))
    rs = _RoleScript(lang, voices, np.random.default_rng(seed), sr)
    script = rs.build(roles)
    duration = max(f.end for f in script.floors) + 1.0
    n = int(round(duration * sr))
    dry = mix_dry(script, list(PIDS), n, sr)
    speech = {p: speech_intervals(dry[p], sr) for p in PIDS}
    truth = build_truth(speech, script.floors, script.events)
    for a in rs.acts:  # acts start where the turn's speech starts
        a["at"] = speech_onset(speech[a["by"]], a["at"])
    for u in rs.utterances:
        u["start"] = speech_onset(speech[u["who"]], u["start"])
    truth["acts"] = rs.acts
    truth["transcript"] = rs.utterances
    truth["roles"] = {p: r for r, p in roles.items()}
    truth["voices"] = {p: f"{v.voice} -p {v.pitch} -s {v.speed}" for p, v in voices.items()}
    rng = np.random.default_rng(seed if room_seed is None else room_seed)
    tracks, truth["room"] = apply_room(dry, speech, room, rng)
    names = {g: list(v) for g, v in NAMES[lang].items()}
    participants = [(p, names[voices[p].gender].pop(0)) for p in PIDS]
    return Session(participants, tracks, truth, n / sr, lang, sr)
