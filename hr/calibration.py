"""Assessor calibration across sessions: who rates leniently or severely, and how often each
assessor's rating holds in the group's consensus, so a lead assessor sees who needs a
calibration session.

An assessor is known across sessions by their name (the `name` of the session's `assessors`
entry; the id when no name was given), so give the same person the same name each time.

Per rating (session, candidate, dimension) the reference is the consensus rating the lead
recorded; where there is none, the mean of the *other* assessors' ratings of the same cell;
where nobody else rated it, the rating has no reference and is only counted.
- leniency: mean(rating − reference), in scale points (> 0 lenient, < 0 severe);
- mean_abs_diff: mean |rating − reference|;
- exact / within_one: share of the assessor's ratings equal to the consensus, or within one
  point of it (consensus cells only);
- vs_machine: mean(rating − the machine's score on the same scale), where the machine scored.
Only sessions where every assessor has submitted count: before that, ratings are blind and may
still change.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from hr.washup import machine_on_scale

LENIENCY_POINTS = 0.5  #: |leniency| from which calibration is suggested (a rule of thumb)
WITHIN_ONE = 0.8  #: share of ratings within one point of the consensus below which, likewise
MIN_CONSENSUS = 5  #: consensus cells an assessor needs before the within-one rule applies


@dataclass(frozen=True, slots=True)
class AssessedSession:
    """One ended session's assessors' side, as kept in its folder."""

    session: str
    assessors: dict[str, dict[str, Any]]  #: id -> {"name", "lead", "candidates"}
    ratings: dict[str, dict[str, dict[str, int | None]]]  #: assessor -> pid -> dim -> 1..5
    submitted: dict[str, str]  #: assessor -> when
    consensus: dict[str, dict[str, dict[str, Any]]]  #: pid -> dim -> {"rating", ...}
    report: dict[str, Any] | None  #: the machine's report, if written


def calibration(sessions: list[AssessedSession]) -> dict[str, Any]:
    diffs: dict[str, list[float]] = {}
    exact: dict[str, list[bool]] = {}
    within: dict[str, list[bool]] = {}
    machine: dict[str, list[float]] = {}
    seen: dict[str, set[str]] = {}
    counted: dict[str, int] = {}
    for s in sessions:
        if not s.assessors or not set(s.assessors) <= set(s.submitted):
            continue
        portraits = (s.report or {}).get("portraits", {})
        for aid, by_pid in s.ratings.items():
            who = str(s.assessors.get(aid, {}).get("name") or aid)
            seen.setdefault(who, set()).add(s.session)
            for pid, dims in by_pid.items():
                for dim, r in dims.items():
                    if r is None:
                        continue
                    counted[who] = counted.get(who, 0) + 1
                    agreed = s.consensus.get(pid, {}).get(dim)
                    others = [v for b, ps in s.ratings.items() if b != aid
                              if (v := ps.get(pid, {}).get(dim)) is not None]
                    if agreed is not None:
                        ref: float | None = float(agreed["rating"])
                        exact.setdefault(who, []).append(r == agreed["rating"])
                        within.setdefault(who, []).append(abs(r - agreed["rating"]) <= 1)
                    else:
                        ref = statistics.fmean(others) if others else None
                    if ref is not None:
                        diffs.setdefault(who, []).append(r - ref)
                    score = portraits.get(pid, {}).get("dimensions", {}).get(dim, {}).get(
                        "score")
                    if (m := machine_on_scale(score)) is not None:
                        machine.setdefault(who, []).append(r - m)
    out = {}
    for who in sorted(seen):
        d, e, w = diffs.get(who, []), exact.get(who, []), within.get(who, [])
        leniency = _mean(d)
        within_one = _mean([float(x) for x in w])
        reasons = []
        if leniency is not None and abs(leniency) >= LENIENCY_POINTS:
            reasons.append(f"{'lenient' if leniency > 0 else 'severe'} by {abs(leniency):.2f}")
        if within_one is not None and len(w) >= MIN_CONSENSUS and within_one < WITHIN_ONE:
            reasons.append(f"within one point of the consensus {100 * within_one:.0f}%")
        out[who] = {
            "sessions": len(seen[who]), "ratings": counted.get(who, 0),
            "compared": len(d), "consensus_cells": len(e),
            "leniency": leniency, "mean_abs_diff": _mean([abs(x) for x in d]),
            "exact": _mean([float(x) for x in e]), "within_one": within_one,
            "vs_machine": _mean(machine.get(who, [])),
            "calibrate": bool(reasons), "why": reasons,
        }
    return {"assessors": out,
            "rules": {"leniency_points": LENIENCY_POINTS, "within_one": WITHIN_ONE,
                      "min_consensus_cells": MIN_CONSENSUS}}


def _mean(xs: list[float]) -> float | None:
    return round(statistics.fmean(xs), 3) if xs else None
