"""Builds the `lgd.report/1` document (../shared/report-schema.md) as a fold over the
analysis events.

The same fold serves the live partial report, the final one and a report replayed from a
session's event log, so they agree by construction. Fields that later stages fill
(transcript, acts) are present and empty, never missing. Nothing is computed twice: the
portraits, the graph and the affect dimensions' inputs are the portrait model's latest
`PortraitUpdate` (interaction/portraits.py), the voice attributes the latest
`VoiceAttributes` per candidate (diarize/levels.py).
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from core import policy as affect_policy
from core.events import (
    Act,
    AudioAnalysed,
    Backchannel,
    Event,
    FaceCue,
    Interruption,
    Overlap,
    PhaseStarted,
    PortraitUpdate,
    Reaction,
    SpeechEnded,
    SpeechHorizon,
    Turn,
    Utterance,
    VoiceAttributes,
)
from core.session import SessionInfo
from interaction.dimensions import KEYS as DIMENSIONS
from interaction.fairness import fairness_section
from interaction.graph import InteractionGraph
from interaction.nonverbal_summary import NonverbalSummary

SCHEMA = "lgd.report/1"
__all__ = ["DIMENSIONS", "SCHEMA", "ReportBuilder"]


def _r(t: float) -> float:
    return round(float(t), 2)


class ReportBuilder:
    def __init__(self, info: SessionInfo, policy: str = affect_policy.DEFAULT_POLICY) -> None:
        """policy: the session's resolved affect-analysis policy (`core.policy.resolve`)."""
        self.info = info
        self.policy = policy
        self.ids = info.ids
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
        self.portrait: PortraitUpdate | None = None  #: the portrait model's latest state
        self.voice: dict[str, VoiceAttributes] = {}  #: latest per candidate
        self.analysed_s = 0.0
        self.phases: list[PhaseStarted] = []

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
        elif isinstance(ev, Utterance):
            self.utterances.append(ev)
        elif isinstance(ev, Act):
            self.acts.append(ev)
        elif isinstance(ev, PortraitUpdate):
            self.portrait = ev
        elif isinstance(ev, VoiceAttributes):
            self.voice[ev.who] = ev
        elif isinstance(ev, PhaseStarted):
            self.phases.append(ev)
        elif isinstance(ev, AudioAnalysed | SpeechHorizon):
            self.analysed_s = max(self.analysed_s, ev.until)

    def build(self, duration_s: float | None = None) -> dict[str, Any]:
        """duration_s: default, how far the analysis said it got (`AudioAnalysed`; a log
        cut short by a crash: its last `SpeechHorizon`)."""
        if duration_s is None:
            duration_s = self.analysed_s
        # copies: the report is the caller's to change, the event is not
        portraits = copy.deepcopy(self.portrait.portraits) if self.portrait is not None else {}
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
                    "confidence": u.confidence,
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
            "phases": self._phases(speech, duration_s),
            # whoever ends a session cut short (a crash, lost audio) says so here
            "complete": True,
            "gaps": [],
            "graph": (copy.deepcopy(self.portrait.graph) if self.portrait is not None
                      else InteractionGraph(self.ids).to_report()),
            "portraits": portraits,
            "fairness": fairness_section(portraits, self._attributes()),
            **self._affect_sections(),
        }

    def _phases(self, speech: dict[str, list[list[float]]], duration_s: float
                ) -> list[dict[str, Any]]:
        """The exercise's phases as they ran, each with who spoke how much in it and who
        spoke first (who opened; who gave the summary)."""
        out = []
        phases = sorted(self.phases, key=lambda p: p.at)
        for i, ph in enumerate(phases):
            a = ph.at
            b = phases[i + 1].at if i + 1 < len(phases) else max(duration_s, ph.at)
            time = {pid: _r(sum(max(0.0, min(e, b) - max(s, a)) for s, e in spans))
                    for pid, spans in speech.items()}
            total = sum(time.values())
            starts = [(s, pid) for pid, spans in speech.items() for s, e in spans if a <= s < b]
            out.append({
                "name": ph.name, "index": ph.index, "start": _r(a), "end": _r(b),
                "planned_s": ph.planned_s, "speaking_time_s": time,
                "speaking_share": {p: (round(t / total, 4) if total else 0.0)
                                   for p, t in time.items()},
                "first_speaker": min(starts)[1] if starts else None,
            })
        return out

    def _attributes(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for p, v in self.voice.items():
            if v.mic_level_db is not None:
                out.setdefault(p, {})["mic_level_db"] = v.mic_level_db
            if v.mean_pitch_hz is not None:
                out.setdefault(p, {})["mean_pitch_hz"] = v.mean_pitch_hz
        return out

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
        """Observable cues; under `score` also the three affect dimensions' inputs: the
        levels (0..1) the portrait model scored them from."""
        out = self.nonverbal.cues(pid)
        if affect_policy.scores_affect(self.policy):
            inputs = self.portrait.inputs.get(pid, {}) if self.portrait is not None else {}
            out["inputs"] = copy.deepcopy(inputs)
        return out


def replay(info: SessionInfo, policy: str, events: list[Event]) -> dict[str, Any]:
    """The report of a session's logged events (a restart closes a live session with it)."""
    builder = ReportBuilder(info, policy)
    for ev in events:
        builder.add(ev)
    return builder.build()
