"""Builds the `lgd.report/1` document (../shared/report-schema.md) from pipeline events.

The same builder serves the live partial report and the final one, so live and offline
reports agree by construction. Fields that later stages fill (transcript, acts,
portraits) are present and empty/null with a reason, never missing.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from lgd.events import (
    Act,
    Backchannel,
    Event,
    Interruption,
    Overlap,
    SpeechEnded,
    Turn,
    Utterance,
)

if TYPE_CHECKING:
    from lgd.pipeline import SessionInfo

SCHEMA = "lgd.report/1"
DIMENSIONS = (
    "participation",
    "idea_contribution",
    "evidence",
    "logical_structure",
    "turn_taking",
    "support",
    "teamwork",
    "leadership",
    "influence",
    "stress_resilience",
    "emotional_stability",
    "rapport",
)


def _r(t: float) -> float:
    return round(float(t), 2)


class ReportBuilder:
    def __init__(self, info: SessionInfo) -> None:
        self.info = info
        self.ids = [pid for pid, _ in info.participants]
        self.speech: dict[str, list[list[float]]] = {pid: [] for pid in self.ids}
        self.turns: list[Turn] = []
        self.overlaps: list[Overlap] = []
        self.interruptions: list[Interruption] = []
        self.backchannels: list[Backchannel] = []
        self.utterances: list[Utterance] = []
        self.acts: list[Act] = []

    def add(self, ev: Event) -> None:
        if isinstance(ev, SpeechEnded):
            self.speech.setdefault(ev.who, []).append([_r(ev.start), _r(ev.end)])
        elif isinstance(ev, Turn):
            self.turns.append(ev)
        elif isinstance(ev, Overlap):
            self.overlaps.append(ev)
        elif isinstance(ev, Interruption):
            self.interruptions.append(ev)
        elif isinstance(ev, Backchannel):
            self.backchannels.append(ev)
        elif isinstance(ev, Utterance):
            self.utterances.append(ev)
        elif isinstance(ev, Act):
            self.acts.append(ev)

    def build(self, duration_s: float) -> dict[str, Any]:
        speech = {pid: sorted(v) for pid, v in self.speech.items()}
        time = {pid: _r(sum(e - s for s, e in v)) for pid, v in speech.items()}
        total = sum(time.values())
        share = {pid: (round(t / total, 4) if total > 0 else 0.0) for pid, t in time.items()}
        turns = sorted(self.turns, key=lambda t: t.start)
        return {
            "schema": SCHEMA,
            "session": {
                "id": self.info.id,
                "started_at": self.info.started_at,
                "duration_s": _r(duration_s),
                "language": self.info.language,
            },
            "participants": [{"id": pid, "name": name} for pid, name in self.info.participants],
            "speech": speech,
            "speaking_time_s": time,
            "speaking_share": share,
            "turns": [{"who": t.who, "start": t.start, "end": t.end} for t in turns],
            "turn_counts": dict(Counter(t.who for t in turns)),
            "overlaps": [
                {"start": o.start, "end": o.end, "who": list(o.who)}
                for o in sorted(self.overlaps, key=lambda o: o.start)
            ],
            "interruptions": [
                {"by": i.by, "of": i.of, "at": i.at, "successful": i.successful}
                for i in sorted(self.interruptions, key=lambda i: i.at)
            ],
            "backchannels": [
                {"who": b.who, "at": b.at, "to": b.to}
                for b in sorted(self.backchannels, key=lambda b: b.at)
            ],
            "transcript": [
                {
                    "who": u.who, "start": _r(u.start), "end": _r(u.end), "text": u.text,
                    "words": [{"w": w, "start": _r(a), "end": _r(b)} for w, a, b in u.words],
                }
                for u in sorted(self.utterances, key=lambda u: (u.start, u.who))
            ],
            "acts": [
                {
                    "type": a.kind, "by": a.by, "to": a.to, "at": _r(a.at), "text": a.text,
                    "cue": a.cue, "strength": a.strength,
                }
                for a in sorted(self.acts, key=lambda a: (a.at, a.by))
            ],
            "graph": self._graph(turns),
            "portraits": {pid: self._pending_portrait() for pid in self.ids},
        }

    def _graph(self, turns: list[Turn]) -> dict[str, Any]:
        """Edges this stage can already vouch for: who takes the floor after whom, and who
        interrupts whom. Content-based edges come with the transcript."""
        weights: Counter[tuple[str, str, str]] = Counter()
        for prev, nxt in zip(turns, turns[1:], strict=False):
            if prev.who != nxt.who:
                weights[(nxt.who, prev.who, "responds")] += 1
        for i in self.interruptions:
            weights[(i.by, i.of, "interrupts")] += 1
        return {
            "nodes": list(self.ids),
            "edges": [
                {"src": s, "dst": d, "type": t, "weight": float(w)}
                for (s, d, t), w in sorted(weights.items())
            ],
        }

    @staticmethod
    def _pending_portrait() -> dict[str, Any]:
        reason = "portrait scoring is not part of this build yet (speech-activity core only)"
        return {
            "dimensions": {
                key: {
                    "score": None,
                    "rank": None,
                    "evidence": [{"at": 0.0, "kind": "unavailable", "detail": reason}],
                }
                for key in DIMENSIONS
            },
            "summary": "",
        }
