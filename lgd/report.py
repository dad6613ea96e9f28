"""Builds the `lgd.report/1` document (../shared/report-schema.md) from pipeline events.

The same builder serves the live partial report and the final one, so live and offline
reports agree by construction. Fields that later stages fill (transcript, acts,
portraits) are present and empty/null with a reason, never missing.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from interaction.nonverbal_summary import NonverbalSummary
from lgd import policy as affect_policy
from lgd.events import (
    Backchannel,
    Event,
    FaceCue,
    Interruption,
    Overlap,
    Reaction,
    SpeechEnded,
    Turn,
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
    def __init__(self, info: SessionInfo, policy: str = affect_policy.DEFAULT_POLICY) -> None:
        self.info = info
        self.policy = affect_policy.check_policy(policy)
        self.ids = [pid for pid, _ in info.participants]
        self.speech: dict[str, list[list[float]]] = {pid: [] for pid in self.ids}
        self.turns: list[Turn] = []
        self.overlaps: list[Overlap] = []
        self.interruptions: list[Interruption] = []
        self.backchannels: list[Backchannel] = []
        self.nonverbal = NonverbalSummary(self.ids)
        self.reactions: list[Reaction] = []
        self.video = False

    def add(self, ev: Event) -> None:
        self.nonverbal.add(ev)
        if isinstance(ev, Reaction):
            self.reactions.append(ev)
        self.video = self.video or isinstance(ev, FaceCue)
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
            "transcript": [],
            "acts": [],
            "graph": self._graph(turns),
            "portraits": {pid: self._pending_portrait() for pid in self.ids},
            **self._affect_sections(),
        }

    def _affect_sections(self) -> dict[str, Any]:
        """Extra fields: the policy and signals used, observable cues, reactions."""
        computed = affect_policy.computes_affect(self.policy)
        return {
            "affect": {
                "policy": self.policy,
                "signals": affect_policy.signals(self.policy, self.video),
                "scored": affect_policy.scores_affect(self.policy),
            },
            "nonverbal": {pid: self._nonverbal(pid) for pid in self.ids} if computed else {},
            "reactions": [
                {"who": r.who, "at": r.at, "trigger": r.trigger, "by": r.by,
                 "outcome": r.outcome, "composure": r.composure, "cues": r.cues}
                for r in sorted(self.reactions, key=lambda r: r.at)
            ],
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

    def _nonverbal(self, pid: str) -> dict[str, Any]:
        """Observable cues; under `score` also the three dimension inputs (0..1)."""
        out = self.nonverbal.cues(pid)
        if affect_policy.scores_affect(self.policy):
            out["inputs"] = {
                dim: {"value": d.value, "reason": d.reason, "evidence": d.evidence}
                for dim, d in self.nonverbal.dimension_inputs(pid, self.policy).items()
            }
        return out

    def _pending_portrait(self) -> dict[str, Any]:
        reason = "portrait scoring is not part of this build yet (speech-activity core only)"
        policy_reason = affect_policy.null_reason(self.policy)
        scored = affect_policy.scores_affect(self.policy)
        return {
            "dimensions": {
                key: {
                    "score": None,
                    "rank": None,
                    "evidence": [
                        {"at": 0.0, "kind": "policy", "detail": policy_reason}
                        if key in affect_policy.AFFECT_DIMENSIONS and not scored
                        else {"at": 0.0, "kind": "unavailable", "detail": reason}
                    ],
                }
                for key in DIMENSIONS
            },
            "summary": "",
        }
