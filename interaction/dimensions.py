"""The twelve portrait dimensions: each a *level* in 0..1 from running aggregates and graph
measures, against FIXED reference ranges (docs/rubric.md documents every formula here).

`levels()` returns, per dimension and candidate, either (level, basis) — basis is the one-line
account of the numbers behind it — or (None, reason) when there is no data for it.
Rates are per 10 minutes of session time, so a short and a long session are comparable,
and each is shrunk toward its reference rate by `prior_s` of imagined session at that rate
(`_Ctx.sat_rate`): in a short session one act, or one misheard phrase, is weak evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from interaction.graph import GraphMeasures
from interaction.tally import CandidateTally, SessionTally

#: (key, 中文, English), in the report schema's order.
DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("participation", "发言贡献", "participation"),
    ("idea_contribution", "观点贡献", "idea contribution"),
    ("evidence", "论据支撑", "evidence"),
    ("logical_structure", "逻辑结构", "logical structure"),
    ("turn_taking", "发言秩序", "turn-taking"),
    ("support", "支持他人", "support"),
    ("teamwork", "团队协作", "teamwork"),
    ("leadership", "引导讨论", "leadership"),
    ("influence", "影响力", "influence"),
    ("stress_resilience", "抗压能力", "stress resilience"),
    ("emotional_stability", "情绪稳定", "emotional stability"),
    ("rapport", "沟通亲和力", "rapport"),
)
KEYS = tuple(k for k, _, _ in DIMENSIONS)
#: Dimensions that are explicitly about the voice (exempt from the voice-fairness bound).
VOICE_DIMENSIONS = ("stress_resilience", "emotional_stability")

Level = tuple[float | None, str]
NO_TRANSCRIPT = "no transcript: speech-content analysis (ASR, acts) is off or has produced none"
AFFECT_OFF = "affect analysis is not enabled for scoring (policy {policy!r}; LGD_AFFECT_ANALYSIS)"


def clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def sat(rate: float, ref: float) -> float:
    """0..1, reaching 63 % at `ref` (a fixed reference rate): rises steadily, never clips, so
    more of a behaviour always scores a little higher."""
    return 1.0 - math.exp(-max(0.0, rate) / ref)


class _Ctx:
    """What every formula needs: the tallies, graph measures, group size and session time."""

    def __init__(self, t: SessionTally, g: GraphMeasures, affect_policy: str,
                 prior_s: float = 0.0) -> None:
        self.t, self.g, self.affect = t, g, affect_policy
        self.n = max(1, len(t.ids))
        self.per10 = max(t.now, 60.0) / 600.0  # rates per 10 min; >= 1 min avoids blow-ups
        self.prior10 = max(0.0, prior_s) / 600.0  # the prior's session time, in 10 min
        self.speech_total = sum(c.speech_s for c in t.c.values())
        self.turn_total = sum(c.turns for c in t.c.values())
        self.ideas_total = sum(c.acts_by["new_idea"] for c in t.c.values())

    def rate(self, count: float) -> float:
        return count / self.per10

    def shrunk(self, count: float, ref: float) -> float:
        """The rate per 10 min with `prior_s` of session at the reference rate `ref` added
        (a Gamma-Poisson posterior mean): a 2-minute session's single act moves it by a
        fraction of what it would alone; in a 40-minute session the prior hardly counts."""
        return (count + ref * self.prior10) / (self.per10 + self.prior10)

    def sat_rate(self, count: float, ref: float) -> float:
        return sat(self.shrunk(count, ref), ref)


def _participation(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.speech_total <= 0:
        return None, "nobody has spoken yet"
    share = c.speech_s / x.speech_total
    tshare = c.turns / x.turn_total if x.turn_total else share
    lv = clip((0.7 * share * x.n + 0.3 * tshare * x.n) / 2.0)
    return lv, (f"{share:.0%} of speaking time (fair share {1 / x.n:.0%}), {c.turns} turns "
                f"({tshare:.0%})")


def _ideas(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if not x.t.has_acts:
        return None, NO_TRANSCRIPT
    k = c.acts_by["new_idea"]
    share = k / x.ideas_total if x.ideas_total else 0.0
    m = 5.0 * x.prior10  # everyone's prior ideas: the reference rate over `prior_s`
    shrunk = (k + m) / (x.ideas_total + x.n * m) if x.ideas_total + m > 0 else 0.0
    lv = 0.5 * clip(shrunk * x.n / 2.0) + 0.5 * x.sat_rate(k, 5.0)
    return lv, f"{k:.0f} new ideas, {share:.0%} of the group's ideas"


def _evidence(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if not x.t.has_acts:
        return None, NO_TRANSCRIPT
    k = c.acts_by["evidence"]
    return x.sat_rate(k, 3.0), f"{k:.0f} data/case/reason statements ({x.rate(k):.1f}/10 min)"


def _logic(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if not x.t.has_transcript:
        return None, NO_TRANSCRIPT
    # the structured share, shrunk toward the group's by the utterances the candidate
    # would make in `prior_s` at their own pace (a Beta prior): one line more or less
    # heard with a marker is weak evidence in a short session
    frac = c.structured / c.utterances if c.utterances else 0.0
    u_all = sum(o.utterances for o in x.t.c.values())
    group = sum(o.structured for o in x.t.c.values()) / u_all if u_all else 0.0
    u0 = c.utterances * x.prior10 / x.per10
    if c.utterances + u0 > 0:
        frac = (c.structured + u0 * group) / (c.utterances + u0)
    lv = 0.7 * clip(frac / 0.5) + 0.3 * x.sat_rate(c.markers + c.acts_by["summary"], 5.0)
    return lv, (f"{c.structured} of {c.utterances} utterances structured, "
                f"{c.markers} structure markers, {c.acts_by['summary']:.0f} summaries")


def _turn_taking(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.speech_total <= 0:
        return None, "nobody has spoken yet"
    if c.speech_s <= 0:
        return None, "has not spoken: no turn-taking to judge"
    pen = x.rate(2 * c.int_made_succ + c.int_made_fail)
    return math.exp(-pen / 10.0), (
        f"made {c.int_made_succ} successful and {c.int_made_fail} failed interruptions; "
        f"was interrupted {c.int_recv} times")


def _support(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.speech_total <= 0:
        return None, "nobody has spoken yet"
    bc = x.sat_rate(c.bc_given, 8.0)
    basis = f"{c.bc_given} backchannels"
    if not x.t.has_acts:
        return bc, basis + " (acts unavailable: backchannels only)"
    k = c.acts_by["support"] + c.acts_by["build_on"]
    return 0.6 * x.sat_rate(k, 4.0) + 0.4 * bc, (
        f"{c.acts_by['support']:.0f} agreements, {c.acts_by['build_on']:.0f} build-ons, " + basis)


def _teamwork(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.turn_total == 0:
        return None, "no turns yet"
    rec, br = x.g.reciprocity.get(p, 0.0), x.g.breadth.get(p, 0.0)
    basis = f"reciprocity {rec:.2f}, engaged with {br:.0%} of the others"
    if not x.t.has_acts:
        return 0.5 * rec + 0.5 * br, basis + " (acts unavailable: floor exchanges only)"
    k = c.acts_by["invite"] + c.acts_by["question"]
    return 0.4 * rec + 0.4 * br + 0.2 * x.sat_rate(k, 3.0), (
        basis + f", {k:.0f} invitations/questions to others")


def _leadership(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if not x.t.has_acts:
        return None, NO_TRANSCRIPT
    k = sum(c.acts_by[a] for a in ("guide", "time_keeping", "summary", "invite"))
    b = x.g.betweenness.get(p, 0.0)
    return 0.7 * x.sat_rate(k, 4.0) + 0.3 * clip(b / 0.5), (
        f"{c.acts_by['guide']:.0f} agenda/steering, {c.acts_by['time_keeping']:.0f} time "
        f"keeping, {c.acts_by['summary']:.0f} summaries, {c.acts_by['invite']:.0f} invitations; "
        f"brokerage {b:.2f}")


def _influence(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if not x.t.has_acts:
        return None, NO_TRANSCRIPT
    k = c.acts_to["support"] + c.acts_to["build_on"]
    return x.sat_rate(k, 4.0), (
        f"others agreed {c.acts_to['support']:.0f}× and built on their ideas "
        f"{c.acts_to['build_on']:.0f}×")


def _stress(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.affect != "score":
        return None, AFFECT_OFF.format(policy=x.affect)
    if not x.t.has_reactions:
        return None, "no reactions measured (prosody analysis produced none)"
    if c.reactions == 0:
        return None, "never interrupted or challenged: nothing to measure"
    m = c.composure_sum / c.reactions
    return 0.8 * m + 0.2 * c.held_ground / c.reactions, (
        f"mean composure {m:.2f} over {c.reactions} interruptions/challenges, held ground "
        f"{c.held_ground}×")


def _stability(x: _Ctx, p: str, c: CandidateTally) -> Level:
    if x.affect != "score":
        return None, AFFECT_OFF.format(policy=x.affect)
    if not x.t.has_prosody:
        return None, "no prosody measured (no voice baseline yet)"
    if c.arousal_n < 3:
        return None, f"only {c.arousal_n} turns with a voice baseline (3 needed)"
    a = c.arousal_sum / c.arousal_n
    return 1.0 - clip((a - 0.5) / 1.5), f"mean vocal deviation {a:.2f} SD over {c.arousal_n} turns"


def _rapport(x: _Ctx, p: str, c: CandidateTally) -> Level:
    # one of the three affect-related dimensions: scored only where the deployment (or
    # session) opted in, like the other two (issue 7, lgd/policy.py)
    if x.affect != "score":
        return None, AFFECT_OFF.format(policy=x.affect)
    if x.speech_total <= 0:
        return None, "nobody has spoken yet"
    bc = x.sat_rate(c.bc_given, 8.0)
    basis = f"{c.bc_given} backchannels while others spoke"
    if x.affect == "score" and c.face_n:
        f = sum(c.face_sum[k] for k in ("nod", "smile", "looking")) / (3 * c.face_n)
        return 0.6 * bc + 0.4 * clip(f), basis + f", face listening cues {f:.2f}"
    return bc, basis


FORMULAS: dict[str, Callable[[_Ctx, str, CandidateTally], Level]] = {
    "participation": _participation,
    "idea_contribution": _ideas,
    "evidence": _evidence,
    "logical_structure": _logic,
    "turn_taking": _turn_taking,
    "support": _support,
    "teamwork": _teamwork,
    "leadership": _leadership,
    "influence": _influence,
    "stress_resilience": _stress,
    "emotional_stability": _stability,
    "rapport": _rapport,
}


def levels(t: SessionTally, g: GraphMeasures, affect_policy: str, prior_s: float = 0.0
           ) -> dict[str, dict[str, Level]]:
    ctx = _Ctx(t, g, affect_policy, prior_s)
    return {k: {p: FORMULAS[k](ctx, p, t.c[p]) for p in t.ids} for k in KEYS}
