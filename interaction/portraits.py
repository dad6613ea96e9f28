"""Twelve-dimension portraits per candidate, live and for the report.

`PortraitModel(participants, language, cfg).push(event) -> list[PortraitUpdate]` is a plain
synchronous stage: it folds every event into running aggregates (`interaction.tally`) and
the interaction graph, and at most every `update_every_s` of session time emits the current
scores and ranks. `portraits()` gives the report's `portraits` (scores, ranks, evidence,
summary, plain conversation metrics). Scaling, per dimension (docs/rubric.md):

    score = 100 * (w * clip(level) + (1 - w) * clip(0.5 + level - group mean level))

`level` is the dimension's value against its fixed reference range (0..1), w =
`absolute_weight`. The second term places the candidate within the group, continuously (not
by rank, so two nearly equal candidates get nearly equal scores).
"""

from __future__ import annotations

from typing import Any

from core.events import Event, PortraitUpdate
from core.policy import AFFECT_DIMENSIONS
from interaction.config import PortraitConfig
from interaction.dimensions import KEYS, Level, clip, levels
from interaction.graph import InteractionGraph
from interaction.summary import summarize
from interaction.tally import SessionTally, evidence

Scores = dict[str, dict[str, float | None]]
Ranks = dict[str, dict[str, int | None]]


def rank_scores(scores: dict[str, float | None]) -> dict[str, int | None]:
    """1 = best; equal scores share a rank; null scores have no rank."""
    vals = [s for s in scores.values() if s is not None]
    return {p: (None if s is None else 1 + sum(v > s for v in vals)) for p, s in scores.items()}


class PortraitModel:
    def __init__(self, participants: list[str], language: str = "zh",
                 cfg: PortraitConfig | None = None) -> None:
        self.cfg = cfg or PortraitConfig()
        self.language = language
        self.tally = SessionTally(participants, self.cfg.evidence_items)
        self.graph = InteractionGraph(participants)
        self._next_update = self.cfg.update_every_s

    @property
    def ids(self) -> list[str]:
        return self.tally.ids

    def push(self, ev: Event) -> list[Event]:
        if isinstance(ev, PortraitUpdate):
            return []
        self.tally.push(ev)
        self.graph.push(ev)
        if self.tally.now < self._next_update:
            return []
        self._next_update = self.tally.now + self.cfg.update_every_s
        return [self.update()]

    def flush(self) -> list[Event]:
        return [self.update()]

    def update(self) -> PortraitUpdate:
        """The model's state now: scores and ranks, and the report's sections as computed."""
        scores, ranks, lv = self.compute()
        return PortraitUpdate(round(self.tally.now, 2), scores, ranks,
                              self._portraits(scores, ranks, lv), self.graph.to_report(),
                              self._inputs(lv))

    def compute(self) -> tuple[Scores, Ranks, dict[str, dict[str, Level]]]:
        """Scores and ranks now, plus each dimension's (level, basis) per candidate."""
        ids = self.ids
        if self.tally.now < self.cfg.min_session_s:
            reason = f"not enough data yet (under {self.cfg.min_session_s:.0f} s of session)"
            lv: dict[str, dict[str, Level]] = {k: dict.fromkeys(ids, (None, reason)) for k in KEYS}
        else:
            lv = levels(self.tally, self.graph.measures(), self.cfg.affect_policy,
                        self.cfg.prior_s)
        w = self.cfg.absolute_weight
        scores: Scores = {p: {} for p in ids}
        for k in KEYS:
            vals = [v for v, _ in lv[k].values() if v is not None]
            mean = sum(vals) / len(vals) if vals else 0.0
            for p in ids:
                v = lv[k][p][0]
                scores[p][k] = None if v is None else round(
                    100 * (w * clip(v) + (1 - w) * clip(0.5 + v - mean)), 1)
        by_dim = {k: rank_scores({p: scores[p][k] for p in ids}) for k in KEYS}
        ranks: Ranks = {p: {k: by_dim[k][p] for k in KEYS} for p in ids}
        return scores, ranks, lv

    # -- the report ----------------------------------------------------------------------
    def portraits(self) -> dict[str, Any]:
        return self._portraits(*self.compute())

    def _portraits(self, scores: Scores, ranks: Ranks, lv: dict[str, dict[str, Level]]
                   ) -> dict[str, Any]:
        t, now = self.tally, round(self.tally.now, 2)
        out = {}
        for p in self.ids:
            dims = {}
            for k in KEYS:
                value, basis = lv[k][p]
                if value is None:
                    ev = [evidence(now, "unavailable", basis)]
                else:
                    ev = [evidence(now, "basis", basis)] + t.top(p, k)
                dims[k] = {"score": scores[p][k], "rank": ranks[p][k], "evidence": ev}
            tied = {k for k in KEYS if ranks[p][k] is not None
                    and sum(ranks[q][k] == ranks[p][k] for q in self.ids) > 1}
            out[p] = {
                "dimensions": dims,
                "summary": summarize(scores[p], ranks[p], self._shares(p), len(self.ids),
                                     self.language, tied),
                "metrics": self.metrics(p),
            }
        return out

    def _inputs(self, lv: dict[str, dict[str, Level]]) -> dict[str, Any]:
        """pid -> affect dimension -> the level it was scored from, with its basis (or the
        reason it is null) and its evidence: the report's `nonverbal.<pid>.inputs`."""
        out: dict[str, Any] = {}
        for p in self.ids:
            out[p] = {}
            for k in AFFECT_DIMENSIONS:
                value, basis = lv[k][p]
                out[p][k] = {
                    "value": value,
                    "basis": basis if value is not None else None,
                    "reason": None if value is not None else basis,
                    "evidence": self.tally.top(p, k) if value is not None else [],
                }
        return out

    def _shares(self, p: str) -> dict[str, float]:
        cs = self.tally.c.values()
        total_speech = sum(c.speech_s for c in cs)
        total_ideas = sum(c.acts_by["new_idea"] for c in cs)
        out = {}
        if total_speech > 0:
            out["participation"] = self.tally.c[p].speech_s / total_speech
        if total_ideas > 0:
            out["idea_contribution"] = self.tally.c[p].acts_by["new_idea"] / total_ideas
        return out

    def metrics(self, p: str) -> dict[str, Any]:
        """Plain conversation metrics (what conversation-analytics users expect)."""
        t = self.tally
        c = t.c[p]
        total = sum(x.speech_s for x in t.c.values())
        questions: int | None = None
        if t.has_acts:
            questions = round(c.acts_by["question"])
        elif t.has_transcript:
            questions = c.question_marks
        return {
            "talk_ratio": round(c.speech_s / total, 4) if total > 0 else 0.0,
            "speaking_time_s": round(c.speech_s, 2),
            "turns": c.turns,
            "avg_monologue_s": round(c.turn_s / c.turns, 2) if c.turns else 0.0,
            "longest_monologue_s": round(c.longest_turn_s, 2),
            "response_latency_s": round(c.latency_sum / c.latency_n, 2) if c.latency_n else None,
            "questions_asked": questions,
            "interruptions_made": c.int_made_succ + c.int_made_fail,
            "interruptions_made_successful": c.int_made_succ,
            "interruptions_received": c.int_recv,
            "backchannels_given": c.bc_given,
        }
