"""Running per-candidate aggregates that the portrait dimensions are computed from.

Everything is a counter, a sum or a bounded heap, updated once per event: an update never
re-reads the session's history, so its cost does not grow with session length.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from core.events import (
    Act,
    Backchannel,
    Event,
    FaceCue,
    Interruption,
    ProsodyTurn,
    Reaction,
    SpeechEnded,
    Turn,
    Utterance,
)

#: Discourse markers of a structured argument (first/then/therefore, problem→cause→solution).
STRUCTURE_MARKERS = re.compile(
    r"\b(first(ly)?|second(ly)?|third(ly)?|then|next|finally|because|therefore|thus|hence|"
    r"so that|as a result|in conclusion|to sum up|on the other hand|however|the reason)\b"
    r"|首先|其次|然后|最后|第一|第二|第三|因为|所以|因此|总之|总结|另外|一方面|另一方面|原因|结果",
    re.IGNORECASE,
)
#: Prosody z-score keys that describe vocal arousal (whichever the prosody stage provides).
AROUSAL_KEYS = ("pitch_hz", "loudness_db", "rate_sps", "pitch_var_st")
_seq = itertools.count()


def evidence(at: float, kind: str, detail: str) -> dict[str, Any]:
    return {"at": round(float(at), 2), "kind": kind, "detail": detail}


@dataclass(slots=True)
class TopMoments:
    """The k strongest evidence moments seen so far (a min-heap of size k)."""

    k: int
    heap: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)

    def add(self, weight: float, item: dict[str, Any]) -> None:
        entry = (weight, next(_seq), item)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, entry)
        elif weight > self.heap[0][0]:
            heapq.heapreplace(self.heap, entry)

    def items(self) -> list[dict[str, Any]]:
        return [e[2] for e in sorted(self.heap, key=lambda e: (-e[0], e[2]["at"]))]


@dataclass(slots=True)
class CandidateTally:
    speech_s: float = 0.0
    turns: int = 0
    turn_s: float = 0.0
    longest_turn_s: float = 0.0
    latency_sum: float = 0.0
    latency_n: int = 0
    int_made_succ: int = 0
    int_made_fail: int = 0
    int_recv: int = 0
    bc_given: int = 0
    #: act kind -> strength-weighted count performed / received
    acts_by: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    acts_to: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    utterances: int = 0
    structured: int = 0  #: utterances with a structure marker
    markers: int = 0
    question_marks: int = 0
    arousal_n: int = 0
    arousal_sum: float = 0.0
    reactions: int = 0
    composure_sum: float = 0.0
    held_ground: int = 0  #: reactions with outcome kept_floor / responded
    face_n: int = 0
    face_sum: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


class SessionTally:
    """All candidates' running aggregates plus their evidence moments per dimension."""

    def __init__(self, ids: list[str], evidence_items: int) -> None:
        self.ids = list(ids)
        self.k = evidence_items
        self.c: dict[str, CandidateTally] = {p: CandidateTally() for p in self.ids}
        self.moments: dict[tuple[str, str], TopMoments] = {}
        self.now = 0.0
        self.has_transcript = self.has_acts = self.has_prosody = False
        self.has_reactions = self.has_face = False
        self.total_turns = 0
        self._last_turn: Turn | None = None

    def _cand(self, pid: str) -> CandidateTally:
        if pid not in self.c:  # late joiner
            self.ids.append(pid)
            self.c[pid] = CandidateTally()
        return self.c[pid]

    def moment(self, pid: str, dim: str, weight: float, at: float, kind: str, detail: str
               ) -> None:
        self.moments.setdefault((pid, dim), TopMoments(self.k)).add(
            weight, evidence(at, kind, detail))

    def top(self, pid: str, dim: str) -> list[dict[str, Any]]:
        m = self.moments.get((pid, dim))
        return m.items() if m else []

    def push(self, ev: Event) -> None:
        for attr in ("end", "at", "until"):
            t = getattr(ev, attr, None)
            if isinstance(t, float | int):
                self.now = max(self.now, float(t))
                break
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev)

    # -- per event type ------------------------------------------------------------------
    def _speech(self, ev: SpeechEnded) -> None:
        self._cand(ev.who).speech_s += ev.end - ev.start

    def _turn(self, ev: Turn) -> None:
        c, d = self._cand(ev.who), ev.end - ev.start
        c.turns += 1
        c.turn_s += d
        c.longest_turn_s = max(c.longest_turn_s, d)
        self.total_turns += 1
        self.moment(ev.who, "participation", d, ev.start, "turn", f"held the floor {d:.1f} s")
        prev, self._last_turn = self._last_turn, ev
        if prev is not None and prev.who != ev.who:
            c.latency_sum += ev.start - prev.end
            c.latency_n += 1

    def _interruption(self, ev: Interruption) -> None:
        c = self._cand(ev.by)
        if ev.successful:
            c.int_made_succ += 1
        else:
            c.int_made_fail += 1
        self._cand(ev.of).int_recv += 1
        how = "took the floor from" if ev.successful else "tried to cut in on"
        self.moment(ev.by, "turn_taking", 2.0 if ev.successful else 1.0, ev.at,
                    "interruption", f"{how} {ev.of}")

    def _backchannel(self, ev: Backchannel) -> None:
        self._cand(ev.who).bc_given += 1
        to = f" to {ev.to}" if ev.to else ""
        for dim in ("support", "rapport"):
            self.moment(ev.who, dim, 0.5, ev.at, "backchannel", f"listening feedback{to}")

    def _utterance(self, ev: Utterance) -> None:
        self.has_transcript = True
        c = self._cand(ev.who)
        c.utterances += 1
        n = len(STRUCTURE_MARKERS.findall(ev.text))
        c.question_marks += ev.text.rstrip().endswith(("?", "？"))
        if n:
            c.structured += 1
            c.markers += n
            self.moment(ev.who, "logical_structure", float(n), ev.start, "structure",
                        f"“{ev.text[:80]}”")

    def _act(self, ev: Act) -> None:
        self.has_acts = True
        w = max(0.0, min(1.0, ev.strength)) or 1.0
        self._cand(ev.by).acts_by[ev.kind] += w
        if ev.to is not None and ev.to != ev.by:
            self._cand(ev.to).acts_to[ev.kind] += w
        to = f" → {ev.to}" if ev.to else ""
        detail = f"{ev.kind}{to}: “{ev.text[:80]}” ({ev.cue})"
        for dim in _ACT_DIMS.get(ev.kind, ()):
            self.moment(ev.by, dim, w, ev.at, ev.kind, detail)
        if ev.to is not None and ev.kind in ("support", "build_on"):
            self.moment(ev.to, "influence", w, ev.at, f"{ev.kind}_received",
                        f"{ev.by} {ev.kind.replace('_', ' ')}: “{ev.text[:80]}”")

    def _prosody(self, ev: ProsodyTurn) -> None:
        c = self._cand(ev.who)
        if not ev.baseline_ready:
            return
        zs = [abs(ev.z[k]) for k in AROUSAL_KEYS if k in ev.z]
        if not zs:
            return
        self.has_prosody = True
        a = sum(zs) / len(zs)
        c.arousal_n += 1
        c.arousal_sum += a
        self.moment(ev.who, "emotional_stability", a, ev.start, "arousal",
                    f"vocal arousal {a:.2f} SD from own baseline")

    def _reaction(self, ev: Reaction) -> None:
        if ev.composure is None:  # nothing measurable (silent, no camera): no evidence
            return
        self.has_reactions = True
        c = self._cand(ev.who)
        c.reactions += 1
        c.composure_sum += ev.composure
        c.held_ground += ev.outcome in ("kept_floor", "responded")
        self.moment(ev.who, "stress_resilience", abs(ev.composure - 0.5) + 0.5, ev.at,
                    "reaction", f"{ev.trigger} by {ev.by}: {ev.outcome}, composure "
                    f"{ev.composure:.2f}")

    def _face(self, ev: FaceCue) -> None:
        if ev.status != "ok":
            return
        self.has_face = True
        c = self._cand(ev.who)
        c.face_n += 1
        for k in ("nod", "smile", "looking"):
            c.face_sum[k] += float(ev.cues.get(k, 0.0))
        if ev.cues.get("nod", 0.0) > 0.5 or ev.cues.get("smile", 0.0) > 0.5:
            self.moment(ev.who, "rapport", 0.4, ev.at, "face",
                        f"nod {ev.cues.get('nod', 0):.1f}, smile {ev.cues.get('smile', 0):.1f}")


_ACT_DIMS: dict[str, tuple[str, ...]] = {
    "new_idea": ("idea_contribution",),
    "evidence": ("evidence",),
    "summary": ("leadership", "logical_structure"),
    "guide": ("leadership",),
    "time_keeping": ("leadership",),
    "invite": ("leadership", "teamwork"),
    "support": ("support",),
    "build_on": ("support", "idea_contribution"),
    "question": ("teamwork",),
}
_HANDLERS: dict[type, Any] = {
    SpeechEnded: SessionTally._speech,
    Turn: SessionTally._turn,
    Interruption: SessionTally._interruption,
    Backchannel: SessionTally._backchannel,
    Utterance: SessionTally._utterance,
    Act: SessionTally._act,
    ProsodyTurn: SessionTally._prosody,
    Reaction: SessionTally._reaction,
    FaceCue: SessionTally._face,
}
