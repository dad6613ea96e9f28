"""How a candidate responds in the seconds after being interrupted or challenged.

A plain synchronous stage fed every event of the pipeline (`push(event)`): triggers are an
`Interruption` of the candidate and a challenge `Act` addressed to them (from the content
stage, when it runs). Once the speech horizon has passed the trigger by `window_s +
settle_s`, the candidate's own voice pieces (`ProsodyTurn`) and face cues (`FaceCue`) in
the window are compared with their personal baseline and one `Reaction` is emitted:
pitch/loudness/rate jumps (z), face tension against their own earlier cues, whether they
kept the floor, took it back, yielded it or stayed silent, and a composure of
1 - arousal / composure_scale (arousal = mean of the upward voice jumps and face tension).
No voice and no face reading → composure None: nothing is made up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from core.events import (
    Act,
    Event,
    FaceCue,
    FloorTaken,
    Interruption,
    ProsodyTurn,
    Reaction,
    SpeechHorizon,
)
from interaction.config import ReactionConfig

VOICE_Z = (("pitch_hz", "pitch_z"), ("loudness_db", "loudness_z"), ("rate_sps", "rate_z"))


@dataclass(slots=True)
class _Trigger:
    who: str
    at: float
    trigger: str  # interrupted | challenged
    by: str
    successful: bool = False  # interruptions: the floor went to `by`


def face_tension(cue: FaceCue) -> float | None:
    vals = [cue.cues[k] for k in ("brow_tension", "jaw_tension") if k in cue.cues]
    return float(np.mean(vals)) if cue.status == "ok" and vals else None


class ReactionTracker:
    def __init__(self, ids: list[str], config: ReactionConfig | None = None) -> None:
        self.ids = list(ids)
        self.config = config or ReactionConfig()
        self.now = 0.0
        self._pending: list[_Trigger] = []
        self._prosody: deque[ProsodyTurn] = deque()
        self._faces: deque[FaceCue] = deque()
        self._floor: deque[FloorTaken] = deque()

    def push(self, ev: Event) -> list[Event]:
        if isinstance(ev, ProsodyTurn):
            self._prosody.append(ev)
        elif isinstance(ev, FaceCue):
            self._faces.append(ev)
        elif isinstance(ev, FloorTaken):
            self._floor.append(ev)
        elif isinstance(ev, Interruption) and ev.of in self.ids:
            self._pending.append(_Trigger(ev.of, ev.at, "interrupted", ev.by, ev.successful))
        elif isinstance(ev, Act) and ev.kind == "challenge" and ev.to in self.ids:
            if ev.to != ev.by:
                self._pending.append(_Trigger(ev.to, ev.at, "challenged", ev.by))
        elif isinstance(ev, SpeechHorizon):
            self.now = max(self.now, ev.until)
            return self._settle(self.now)
        return []

    def flush(self) -> list[Event]:
        return self._settle(float("inf"))

    def _settle(self, now: float) -> list[Event]:
        cfg = self.config
        due = [t for t in self._pending if t.at + cfg.window_s + cfg.settle_s <= now]
        self._pending = [t for t in self._pending if t not in due]
        out: list[Event] = [self._react(t) for t in sorted(due, key=lambda t: t.at)]
        keep_from = min([now - cfg.history_s] + [t.at - cfg.window_s for t in self._pending])
        for q in (self._prosody, self._faces, self._floor):
            while q and _time(q[0]) < keep_from:
                q.popleft()
        return out

    def _react(self, t: _Trigger) -> Reaction:
        cfg = self.config
        lo, hi = t.at, t.at + cfg.window_s
        cues: dict[str, float] = {}
        spoken = 0.0
        weights: dict[str, list[tuple[float, float]]] = {}
        for p in self._prosody:
            if p.who != t.who:
                continue
            w = min(p.end, hi) - max(p.start, lo)
            if w <= 0:
                continue
            spoken += w
            for feat, key in VOICE_Z:
                if feat in p.z:
                    weights.setdefault(key, []).append((p.z[feat], w))
        if spoken >= cfg.min_speech_s:
            for key, vals in weights.items():
                z, w = np.array(vals).T
                cues[key] = round(float(np.average(z, weights=w)), 3)
        tension = self._face_tension(t.who, lo, hi)
        if tension is not None:
            cues["face_tension"] = round(tension, 3)
        cues["spoken_s"] = round(spoken, 2)
        parts = [max(0.0, cues[k]) for k in ("pitch_z", "loudness_z", "rate_z") if k in cues]
        if "face_tension" in cues:
            parts.append(max(0.0, cues["face_tension"]))
        composure = None
        if parts:
            arousal = float(np.mean(parts))
            cues["arousal"] = round(arousal, 3)
            composure = round(float(np.clip(1 - arousal / cfg.composure_scale, 0, 1)), 3)
        return Reaction(t.who, t.at, t.trigger, t.by, self._outcome(t, spoken), cues, composure)

    def _face_tension(self, who: str, lo: float, hi: float) -> float | None:
        """Tension in the window minus the candidate's own level before the trigger, in
        units of its spread there (a z-score of face tension)."""
        before = [v for c in self._faces if c.who == who and c.at <= lo
                  if (v := face_tension(c)) is not None]
        during = [v for c in self._faces if c.who == who and lo < c.at <= hi + 2.0
                  if (v := face_tension(c)) is not None]
        if len(before) < 3 or not during:
            return None
        spread = max(float(np.std(before)), 0.05)
        return float((np.mean(during) - np.mean(before)) / spread)

    def _outcome(self, t: _Trigger, spoken: float) -> str:
        took = any(f.who == t.who and t.at < f.at <= t.at + self.config.window_s
                   for f in self._floor)
        if t.trigger == "interrupted":
            if not t.successful:
                return "kept_floor"
            return "responded" if took else "yielded"
        holder = None
        for f in self._floor:
            if f.at <= t.at:
                holder = f.who
        if holder == t.who and spoken >= self.config.min_speech_s:
            return "kept_floor"
        return "responded" if took or spoken >= self.config.min_speech_s else "silent"


def _time(ev: ProsodyTurn | FaceCue | FloorTaken) -> float:
    return ev.end if isinstance(ev, ProsodyTurn) else ev.at
