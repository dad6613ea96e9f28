"""A scripted discussion timeline: turns, transitions, interruptions and backchannels.

Built sequentially. Each turn is rendered first, then its events are placed on the holder's
actual speech, so every timing rule below holds on the audio, not only on paper:
- turns: 1-3 sentences (~3-10 s, more only when events need room), never the same speaker
  twice in a row; gap U(0.15, 0.8) s, or in 15 % of transitions a 0-0.25 s overlap;
- successful interruption: onset >= 1 s into the turn with >= 2 s of the holder's audio
  left; the holder is cut (20-30 ms fade) U(0.4, 1.0) s later; the interrupter's full turn
  starts at its onset and lasts >= 2.5 s past the cut;
- failed interruption: a 1.0-2.0 s interjection >= 1 s into the turn; the holder goes on
  >= 1.5 s after it stops;
- backchannel: a 0.2-0.55 s token >= 0.8 s after turn start and >= 0.8 s before its end;
- events (any kind) start >= 3 s apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .texts import BACKCHANNELS, INTERJECTIONS, TURNS
from .truth import Event, Floor, speech_intervals
from .voices import Voice, fade_out, frame_rms, render

GAP_S = (0.15, 0.8)
OVERLAP_P, OVERLAP_S = 0.15, 0.25
PAUSE_S = (0.25, 0.6)  # between sentences inside a turn (espeak itself: commas ~0.16 s)
EVENT_SPACING_S = 3.0
BC_MAX_S = 0.55  # clip length; its speech-truth span is then <= 0.6 s


@dataclass
class Clip:
    """One piece of one speaker's dry audio, placed at `start` seconds."""

    who: str
    kind: str  # "turn" | "interjection" | "backchannel"
    start: float
    audio: np.ndarray
    text: str


@dataclass
class Script:
    clips: list[Clip] = field(default_factory=list)
    floors: list[Floor] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: sum(e.kind == k for e in self.events) for k in ("succ", "fail", "bc")}


def quotas(duration_s: float) -> dict[str, int]:
    """Minimum events per session: >= 3 successful, 3 failed, 4 backchannels per 90 s."""
    k = duration_s / 90.0
    return {"succ": max(1, round(3 * k)), "fail": max(1, round(3 * k)), "bc": max(1, round(4 * k))}


class ScriptBuilder:
    def __init__(
        self,
        lang: str,
        voices: dict[str, Voice],
        rng: np.random.Generator,
        duration_s: float,
        sr: int,
    ) -> None:
        self.lang, self.voices, self.rng, self.sr = lang, voices, rng, sr
        self.end_s = duration_s - 0.4
        self.pids = list(voices)
        n = len(self.pids)
        # Uneven talkativeness (dominant .. quiet, ~5x apart), shuffled over the speakers.
        self.talk = dict(
            zip(self.pids, np.exp(np.linspace(0, -1.6, n))[rng.permutation(n)], strict=True)
        )
        self.deck: list[int] = []
        self.left = quotas(duration_s)
        self.had_turn: set[str] = set()
        self.last_event = -1e9
        self.script = Script()

    # --- choices -------------------------------------------------------------------------
    def _pick(
        self,
        exclude: set[str],
        weighted: bool = True,
        boost: frozenset[str] | set[str] = frozenset(),
    ) -> str:
        cands = [p for p in self.pids if p not in exclude]
        w = np.array(
            [(self.talk[p] if weighted else 1.0) * (3.0 if p in boost else 1.0) for p in cands]
        )
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def _holder(self, prev: str | None, remaining: float) -> str:
        silent = set(self.pids) - self.had_turn - {prev}
        if silent and len(silent) >= remaining / 14.0:  # everyone gets at least one turn
            return self._pick(set(self.pids) - silent)
        return self._pick({prev} if prev else set(), boost=silent)

    def _want(self, kind: str, remaining: float) -> bool:
        extra = {"succ": 0.1, "fail": 0.1, "bc": 0.25}[kind]  # beyond the quota
        p = 1.6 * self.left[kind] / max(1.0, remaining / 7.0) if self.left[kind] > 0 else extra
        return bool(self.rng.random() < p)

    def _sentence(self) -> tuple[str, str]:
        if not self.deck:
            self.deck = list(self.rng.permutation(len(TURNS[self.lang])))
        return TURNS[self.lang][self.deck.pop()]

    # --- audio ---------------------------------------------------------------------------
    def _turn_audio(
        self, who: str, target: float, min_len: float, max_len: float
    ) -> tuple[np.ndarray, str]:
        parts: list[np.ndarray] = []
        texts: list[str] = []
        length = 0.0
        while (length < target and len(parts) < 3) or (length < min_len and len(parts) < 5):
            disp, say = self._sentence()
            x = render(self.voices[who], say, self.sr)
            pause = self.rng.uniform(*PAUSE_S) if parts else 0.0
            if parts and length + pause + len(x) / self.sr > max_len:
                break
            if parts:
                parts.append(np.zeros(int(pause * self.sr), np.float32))
            parts.append(x)
            texts.append(disp)
            length += pause + len(x) / self.sr
        return np.concatenate(parts), " ".join(texts)

    def _token(self, who: str, pool: str) -> tuple[np.ndarray, str]:
        """A backchannel (0.2-0.55 s) or interjection (1.0-2.0 s) that is ONE speech stretch
        under the truth rule; re-picked otherwise (some renders are too short)."""
        lines = (BACKCHANNELS if pool == "bc" else INTERJECTIONS)[self.lang]
        lo, hi = (0.2, BC_MAX_S) if pool == "bc" else (1.0, 2.0)
        for _ in range(10):
            disp, say = lines[int(self.rng.integers(len(lines)))]
            x = render(self.voices[who], say, self.sr)
            cut = BC_MAX_S if pool == "bc" else self.rng.uniform(lo + 0.05, hi)
            if len(x) / self.sr > cut:
                x = fade_out(x, self.sr, cut, 0.02)
            ivs = speech_intervals(x, self.sr)
            if len(ivs) == 1 and lo + 0.02 <= ivs[0][1] - ivs[0][0] <= hi:
                break
        return x, disp

    def _speaking(self, audio: np.ndarray) -> np.ndarray:
        rms = frame_rms(audio, self.sr)
        return rms > np.percentile(rms, 95) * 0.01

    def _onset(self, act: np.ndarray, lo: float, hi: float) -> float | None:
        """A random time in [lo, hi] (10 ms grid) where the holder is speaking."""
        ok = [
            k for k in range(int(np.ceil(lo * 100)), int(hi * 100) + 1) if k < len(act) and act[k]
        ]
        return ok[int(self.rng.integers(len(ok)))] / 100 if ok else None

    def _cut_point(self, act: np.ndarray, lo: float, hi: float) -> tuple[float, float] | None:
        """(onset, cut) for a successful interruption: the holder speaks at the onset and
        right up to the cut U(0.4, 1.0) s later, so the truth overlap is that long."""
        ons = [
            k for k in range(int(np.ceil(lo * 100)), int(hi * 100) + 1) if k < len(act) and act[k]
        ]
        for k in self.rng.permutation(ons) if ons else []:
            cuts = [m for m in range(k + 40, k + 100) if m < len(act) and act[m - 3 : m].all()]
            if cuts:
                return k / 100, cuts[int(self.rng.integers(len(cuts)))] / 100
        return None

    # --- timeline ------------------------------------------------------------------------
    def build(self) -> Script:
        t, prev = float(self.rng.uniform(0.3, 1.0)), None
        forced: tuple[str, float] | None = None
        while True:
            remaining = self.end_s - t
            if forced:
                who, t = forced
                remaining = self.end_s - t
            elif remaining < 3.0:
                break
            else:
                who = self._holder(prev, remaining)
            t, prev, forced = self._turn(who, t, remaining)
        return self.script

    def _turn(
        self, who: str, start: float, remaining: float
    ) -> tuple[float, str, tuple[str, float] | None]:
        self.had_turn.add(who)
        c0 = max(1.0, self.last_event + EVENT_SPACING_S - start)
        plan = [k for k in ("fail", "bc") if self._want(k, remaining)]
        self.rng.shuffle(plan)
        succ = self._want("succ", remaining) and remaining > c0 + 3 * len(plan) + 6.0
        # Room for the planned events; an interrupter's turn (c0 >= 3) also outlasts the cut.
        min_len = c0 + 3.0 * len(plan) + (2.5 if succ else 1.5)
        w = self.talk[who] / max(self.talk.values())
        target = float(np.clip(self.rng.uniform(3, 10) * (0.75 + 0.5 * w), 3, 10))
        max_len = remaining - (4.0 if succ else 0.0)
        audio, text = self._turn_audio(who, max(target, min_len), min_len, max_len)
        if len(audio) / self.sr > max_len:
            audio = fade_out(audio, self.sr, max_len, 0.02)
        L, act = len(audio) / self.sr, self._speaking(audio)
        c = c0
        for kind in plan:
            by = self._pick({who}, weighted=kind == "fail")  # talkative people interrupt
            x, disp = self._token(by, kind)
            d = len(x) / self.sr
            fail = kind == "fail"
            lo, hi = max(c, 1.0 if fail else 0.8), L - d - (1.5 if fail else 0.8)
            on = self._onset(act, lo, min(hi, lo + 2.5))
            if on is None:
                continue
            self._event(kind, by, who, start + on, x, disp)
            c = on + max(EVENT_SPACING_S, d + 1.5)  # a later cut still leaves A >= 1.5 s
        nxt: tuple[str, float] | None = None
        if succ:
            pick = self._cut_point(act, max(c, 1.0), L - 2.0)
            if pick is not None and start + pick[0] + 4.0 < self.end_s:
                on, cut = pick
                audio = fade_out(audio, self.sr, cut, self.rng.uniform(0.02, 0.03))
                by = self._pick({who}, boost=set(self.pids) - self.had_turn)
                self.script.events.append(Event("succ", by, who, start + on))
                self.left["succ"] -= 1
                self.last_event = start + on
                nxt = (by, start + on)
        self.script.clips.append(Clip(who, "turn", start, audio, text))
        end = start + len(audio) / self.sr
        self.script.floors.append(Floor(who, start, end))
        if nxt is None:
            ov = self.rng.random() < OVERLAP_P
            gap = -self.rng.uniform(0, OVERLAP_S) if ov else self.rng.uniform(*GAP_S)
            return end + gap, who, None
        return nxt[1], who, nxt

    def _event(self, kind: str, by: str, of: str, at: float, x: np.ndarray, disp: str) -> None:
        self.script.clips.append(
            Clip(by, "interjection" if kind == "fail" else "backchannel", at, x, disp)
        )
        self.script.events.append(Event(kind, by, of, at))
        self.left[kind] -= 1
        self.last_event = at
