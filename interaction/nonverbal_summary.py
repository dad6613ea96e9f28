"""Session-long observable nonverbal cues per candidate (the report's `nonverbal.<pid>`):
median voice measures, face-window statuses and mean face cues. Shown to assessors, never
scored: the affect dimensions are scored by the portrait model (interaction/dimensions.py),
whose inputs the report shows beside these.

    summary = NonverbalSummary(ids); summary.add(event) for every event
    summary.cues(pid)
"""

from __future__ import annotations

import numpy as np

from core.events import Event, FaceCue, ProsodyTurn
from interaction.reactions import face_tension


def _r(x) -> float:
    return round(float(x), 3)


class NonverbalSummary:
    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self.prosody: dict[str, list[ProsodyTurn]] = {p: [] for p in self.ids}
        self.faces: dict[str, list[FaceCue]] = {p: [] for p in self.ids}

    def add(self, ev: Event) -> None:
        if isinstance(ev, ProsodyTurn) and ev.who in self.prosody:
            self.prosody[ev.who].append(ev)
        elif isinstance(ev, FaceCue) and ev.who in self.faces:
            self.faces[ev.who].append(ev)

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
