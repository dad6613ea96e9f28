"""The wash-up's numbers, computed once for the server, the report and the exports: the
machine's score on the assessors' 1–5 scale, the flag where they disagree, and the agreement
between assessors (hr/agreement.py)."""

from __future__ import annotations

import statistics
from typing import Any

from hr.agreement import category_counts, fleiss_kappa, icc2k
from interaction.dimensions import KEYS

FLAG_POINTS = 1.5  #: machine vs assessors' mean, on the 1–5 scale, that opens a discussion
SCALE = "1–5 behaviourally anchored (docs/rubric.md); machine = 1 + 4·score/100"


def machine_on_scale(score: float | None) -> float | None:
    """0–100 → 1–5, linearly (0 → 1, 50 → 3, 100 → 5)."""
    return None if score is None else round(1 + 4 * score / 100, 2)


def washup(report: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Per candidate and dimension: every assessor's rating, their mean, the machine's score
    on the 1–5 scale, a flag where they differ by FLAG_POINTS or more (with the moments behind
    the machine's number), the consensus so far; per dimension, the agreement."""
    ratings: dict[str, dict[str, dict[str, int | None]]] = data.get("ratings") or {}
    consensus: dict[str, dict[str, Any]] = data.get("consensus") or {}
    assessors = sorted(ratings)
    candidates: dict[str, Any] = {}
    for pid, portrait in report["portraits"].items():
        dims = {}
        for k in KEYS:
            given: dict[str, int] = {}
            for a in assessors:
                if (v := ratings[a].get(pid, {}).get(k)) is not None:
                    given[a] = v
            mean = round(statistics.fmean(given.values()), 2) if given else None
            d = portrait["dimensions"][k]
            machine = machine_on_scale(d["score"])
            flag = (mean is not None and machine is not None
                    and abs(machine - mean) >= FLAG_POINTS)
            dims[k] = {"ratings": given, "mean": mean, "machine": machine,
                       "machine_score": d["score"], "flag": flag,
                       "evidence": d["evidence"] if flag else d["evidence"][:2],
                       "consensus": consensus.get(pid, {}).get(k)}
        candidates[pid] = dims
    agreement = {}
    for k in KEYS:
        rows: list[list[int]] = []
        for pid in report["portraits"]:
            row = [ratings[a].get(pid, {}).get(k) for a in assessors]
            if all(v is not None for v in row):
                rows.append([int(v) for v in row if v is not None])
        agreement[k] = {
            "n": len(rows), "raters": len(assessors),
            "icc2k": None if len(rows) < 2 else _round(icc2k([[float(v) for v in r]
                                                              for r in rows])),
            "fleiss_kappa": (None if not rows or len(assessors) < 2
                             else _round(fleiss_kappa(category_counts(rows)))),
        }
    return {"scale": SCALE,
            "flag_points": FLAG_POINTS, "candidates": candidates, "agreement": agreement}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
