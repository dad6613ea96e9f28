"""Builds the `lgd.report/1` document (../shared/report-schema.md) from pipeline events.

The same builder serves the live partial report and the final one, so live and offline
reports agree by construction. Fields that later stages fill (transcript, acts) are
present and empty, never missing; portraits score what the events allow and say why the
rest is null (interaction/portraits.py). The graph is interaction/graph.py's.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from interaction.dimensions import KEYS as DIMENSIONS
from interaction.fairness import fairness_section
from interaction.nonverbal_summary import NonverbalSummary
from interaction.portrait_config import portrait_config
from interaction.portraits import PortraitModel
from lgd import policy as affect_policy
from lgd.events import (
    Act,
    Backchannel,
    Event,
    FaceCue,
    Interruption,
    Overlap,
    Reaction,
    SpeechEnded,
    Turn,
    Utterance,
)

if TYPE_CHECKING:
    from lgd.pipeline import SessionInfo
    from lgd.settings import Settings

SCHEMA = "lgd.report/1"
__all__ = ["DIMENSIONS", "SCHEMA", "ReportBuilder"]


def session_policy(info: SessionInfo, settings: Settings | None) -> str:
    """The affect-analysis policy of this session: its own, else the deployment's."""
    if settings is None:
        from lgd.settings import Settings

        settings = Settings.from_env()
    return affect_policy.resolve(settings.affect_analysis, info.affect)


def _r(t: float) -> float:
    return round(float(t), 2)


class ReportBuilder:
    def __init__(self, info: SessionInfo, settings: Settings | None = None) -> None:
        self.info = info
        self.policy = session_policy(info, settings)
        self.ids = [pid for pid, _ in info.participants]
        # the report reads the model when it is built; live updates come from the pipeline's
        # own model, so this one never computes one (add() stays O(1) on the event loop)
        cfg = dataclasses.replace(
            portrait_config(settings), update_every_s=math.inf, affect_policy=self.policy
        )
        self.portraits = PortraitModel(self.ids, info.language, cfg)
        #: pid -> {attribute: value}: voice/mic attributes for the fairness section
        self.voice_attributes: dict[str, dict[str, float]] = {}
        self.speech: dict[str, list[list[float]]] = {pid: [] for pid in self.ids}
        self.turns: list[Turn] = []
        self.overlaps: list[Overlap] = []
        self.interruptions: list[Interruption] = []
        self.backchannels: list[Backchannel] = []
        self.nonverbal = NonverbalSummary(self.ids)
        self.reactions: list[Reaction] = []
        self.video = False
        self.utterances: list[Utterance] = []
        self.acts: list[Act] = []

    def add(self, ev: Event) -> None:
        self.portraits.push(ev)
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
            "graph": self.portraits.graph.to_report(),
            "portraits": (portraits := self.portraits.portraits()),
            "fairness": fairness_section(portraits, self._attributes()),
            **self._affect_sections(),
        }

    def _attributes(self) -> dict[str, dict[str, float]]:
        attrs = {p: dict(v) for p, v in self.voice_attributes.items()}
        for p, c in self.portraits.tally.c.items():
            if c.pitch_n:
                attrs.setdefault(p, {})["mean_pitch_hz"] = c.pitch_sum / c.pitch_n
        return attrs

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

    def _nonverbal(self, pid: str) -> dict[str, Any]:
        """Observable cues; under `score` also the three dimension inputs (0..1)."""
        out = self.nonverbal.cues(pid)
        if affect_policy.scores_affect(self.policy):
            out["inputs"] = {
                dim: {"value": d.value, "reason": d.reason, "evidence": d.evidence}
                for dim, d in self.nonverbal.dimension_inputs(pid, self.policy).items()
            }
        return out
