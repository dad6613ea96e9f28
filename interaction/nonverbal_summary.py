"""Session-long nonverbal summaries per candidate: the inputs of the three affect-related
portrait dimensions, as plain values with evidence (consumed by the portrait stage and the
report; never scores by themselves).

    summary = NonverbalSummary(ids, config); summary.add(event) for every event
    summary.stress_resilience(pid)   # composure after being interrupted / challenged
    summary.emotional_stability(pid) # steadiness of vocal (and facial) arousal
    summary.rapport(pid)             # listening signals while others hold the floor
    summary.dimension_inputs(pid, policy) -> {dim: DimensionInput}
    summary.cues(pid)                # observable cue aggregates (report `nonverbal`)

Every input is `DimensionInput(value 0..1 | None, evidence, reason)`; value None means no
data (or a policy that forbids scoring), with the reason, never a guess.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from interaction.reaction_config import ReactionConfig
from interaction.reactions import face_tension
from lgd.events import Backchannel, Event, FaceCue, FloorTaken, ProsodyTurn, Reaction
from lgd.policy import AFFECT_DIMENSIONS, null_reason, scores_affect


@dataclass(frozen=True, slots=True)
class DimensionInput:
    value: float | None  #: 0..1, higher = more of the quality; None = not available
    evidence: list[dict] = field(default_factory=list)  #: {"at", "kind", "detail"}
    reason: str | None = None  #: why value is None


def _r(x) -> float:
    return round(float(x), 3)


class NonverbalSummary:
    def __init__(self, ids: list[str], config: ReactionConfig | None = None) -> None:
        self.ids = list(ids)
        self.config = config or ReactionConfig()
        self.prosody: dict[str, list[ProsodyTurn]] = {p: [] for p in self.ids}
        self.faces: dict[str, list[FaceCue]] = {p: [] for p in self.ids}
        self.reactions: dict[str, list[Reaction]] = {p: [] for p in self.ids}
        self.backchannels: dict[str, list[float]] = {p: [] for p in self.ids}
        self.floor: list[FloorTaken] = []

    def add(self, ev: Event) -> None:
        if isinstance(ev, ProsodyTurn) and ev.who in self.prosody:
            self.prosody[ev.who].append(ev)
        elif isinstance(ev, FaceCue) and ev.who in self.faces:
            self.faces[ev.who].append(ev)
        elif isinstance(ev, Reaction) and ev.who in self.reactions:
            self.reactions[ev.who].append(ev)
        elif isinstance(ev, Backchannel) and ev.who in self.backchannels:
            self.backchannels[ev.who].append(ev.at)
        elif isinstance(ev, FloorTaken):
            self.floor.append(ev)

    # -- the three inputs ----------------------------------------------------------------
    def stress_resilience(self, pid: str) -> DimensionInput:
        rs = [r for r in self.reactions[pid] if r.composure is not None]
        if not rs:
            return DimensionInput(None, reason="no measured reaction to an interruption or "
                                  "challenge")
        ev = [{"at": r.at, "kind": f"reaction_{r.trigger}",
               "detail": f"by {r.by}: {r.outcome}, composure {r.composure:.2f} "
               + ", ".join(f"{k} {v:+.1f}" for k, v in r.cues.items() if k.endswith("_z"))}
              for r in rs]
        return DimensionInput(_r(np.mean([r.composure for r in rs])), ev)

    def emotional_stability(self, pid: str) -> DimensionInput:
        """1 - rms(arousal)/composure_scale over the candidate's voice pieces after their
        baseline; arousal = mean of pitch and loudness z (face tension z where measured)."""
        pieces = [p for p in self.prosody[pid] if p.baseline_ready]
        arousal, ev = [], []
        for p in pieces:
            zs = [p.z[k] for k in ("pitch_hz", "loudness_db") if k in p.z]
            if zs:
                a = float(np.mean(zs))
                arousal.append(a)
                if abs(a) >= 2.0:
                    ev.append({"at": p.start, "kind": "voice_arousal",
                               "detail": f"voice {a:+.1f} SD from own baseline"})
        if len(arousal) < 3:
            return DimensionInput(None, reason="fewer than 3 voice pieces after the baseline")
        rms = float(np.sqrt(np.mean(np.square(arousal))))
        return DimensionInput(_r(np.clip(1 - rms / self.config.composure_scale, 0, 1)), ev)

    def rapport(self, pid: str) -> DimensionInput:
        """Listening signals while someone else holds the floor: nods, smiles, face present
        and looking, backchannels given."""
        listening = self._listening_spans(pid)
        minutes = sum(b - a for a, b in listening) / 60
        if minutes <= 0:
            return DimensionInput(None, reason="never listened while another held the floor")
        parts, ev = [], []
        bcs = [t for t in self.backchannels[pid] if _inside(t, listening)]
        parts.append(min(1.0, len(bcs) / minutes / self.config.full_backchannels_per_min))
        ev += [{"at": t, "kind": "backchannel", "detail": "feedback while listening"}
               for t in bcs]
        cues = [c for c in self.faces[pid] if _inside(c.at, listening)]
        if cues:
            ok = [c for c in cues if c.status == "ok"]
            parts.append(len(ok) / len(cues) * float(np.mean([c.cues.get("looking", 0.0)
                                                              for c in ok] or [0.0])))
            if ok:
                nods = sum(c.cues.get("nod", 0.0) for c in ok)
                parts.append(min(1.0, nods / minutes / self.config.full_nods_per_min))
                parts.append(float(np.mean([c.cues.get("smile", 0.0) for c in ok])))
                ev += [{"at": c.at, "kind": "nod", "detail": f"{c.cues['nod']:.0f} nod(s)"}
                       for c in ok if c.cues.get("nod", 0.0) > 0]
        return DimensionInput(_r(np.mean(parts)), ev)

    def dimension_inputs(self, pid: str, policy: str) -> dict[str, DimensionInput]:
        if not scores_affect(policy):
            return {d: DimensionInput(None, reason=null_reason(policy)) for d in AFFECT_DIMENSIONS}
        return {"stress_resilience": self.stress_resilience(pid),
                "emotional_stability": self.emotional_stability(pid),
                "rapport": self.rapport(pid)}

    # -- observable cues (report `nonverbal`) -----------------------------------------------
    def cues(self, pid: str) -> dict:
        out: dict = {}
        feats = [p.features for p in self.prosody[pid]]
        if feats:
            out["voice"] = {k: _r(np.median([f[k] for f in feats if k in f]))
                            for k in ("pitch_hz", "loudness_db", "rate_sps", "pause_ratio")
                            if any(k in f for f in feats)}
            out["voice"]["pieces"] = len(feats)
        faces = self.faces[pid]
        if faces:
            ok = [c for c in faces if c.status == "ok"]
            statuses = {s: sum(c.status == s for c in faces) for s in {c.status for c in faces}}
            face: dict = {"windows": len(faces), "status": statuses}
            for k in ("looking", "smile", "brow_tension", "jaw_tension", "blink_rate"):
                vals = [c.cues[k] for c in ok if k in c.cues]
                if vals:
                    face[k] = _r(np.mean(vals))
            for k in ("nod", "shake"):
                face[k + "s"] = int(sum(c.cues.get(k, 0.0) for c in ok))
            tens = [v for c in ok if (v := face_tension(c)) is not None]
            if tens:
                face["tension"] = _r(np.mean(tens))
            out["face"] = face
        return out

    def _listening_spans(self, pid: str) -> list[tuple[float, float]]:
        fl = sorted(self.floor, key=lambda f: f.at)
        spans = []
        for cur, nxt in zip(fl, fl[1:] + [None], strict=True):
            end = nxt.at if nxt is not None else max(
                [cur.at] + [p.end for v in self.prosody.values() for p in v]
                + [c.at for v in self.faces.values() for c in v])
            if cur.who != pid and end > cur.at:
                spans.append((cur.at, end))
        return spans


def _inside(t: float, spans: list[tuple[float, float]]) -> bool:
    i = bisect_right([a for a, _ in spans], t) - 1
    return i >= 0 and t <= spans[i][1]
