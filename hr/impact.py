"""Adverse impact across a campaign: does the recommendation (or the decision) select one
group of candidates at a lower rate than another?

Group attributes (gender, age band, …) are self-reported, optional, stored apart from the
portraits and never used in scoring; they meet the outcomes only here.

- Selection rate per group = selected / candidates; impact ratio = a group's rate / the
  highest group's rate. Under 0.8 is the "four-fifths rule" flag of the US Uniform
  Guidelines (29 CFR 1607.4(D)): evidence of adverse impact to look into, not a verdict.
- With small numbers a ratio says little: Fisher's exact test of each group against the
  highest one is reported beside it, and any group under `MIN_GROUP` candidates (or a
  comparison with under `MIN_SELECTED` selected in all) gets a warning instead of a flag.
- Score differences per dimension between each group and the rest: the mean difference
  with its 95 % Welch interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scipy import stats

FOUR_FIFTHS = 0.8
MIN_GROUP = 30  #: candidates per group below which ratios are only indicative
MIN_SELECTED = 5  #: selections in a comparison below which no flag is raised


@dataclass(frozen=True, slots=True)
class Outcome:
    candidate: str
    group: str  #: the self-reported attribute value, e.g. "female"
    selected: bool  #: recommended (or decided) to advance


def selection_rates(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Per group: n, selected, rate, impact ratio, Fisher p against the highest group,
    the four-fifths flag, or the small-sample warning instead."""
    by: dict[str, list[bool]] = {}
    for o in outcomes:
        by.setdefault(o.group, []).append(o.selected)
    groups: dict[str, dict[str, Any]] = {
        g: {"n": len(v), "selected": sum(v), "rate": sum(v) / len(v)}
        for g, v in sorted(by.items()) if v}
    if not groups:
        return {"groups": {}, "reference": None, "warnings": ["no outcomes"]}
    ref = max(groups, key=lambda g: (groups[g]["rate"], groups[g]["n"]))
    top = groups[ref]
    warnings: list[str] = []
    for g, row in groups.items():
        row["rate"] = round(row["rate"], 4)
        if top["rate"] == 0:
            row["impact_ratio"] = None
        else:
            row["impact_ratio"] = round(row["rate"] / top["rate"], 4)
        if g == ref:
            row["fisher_p"] = None
            row["flag"] = None
            continue
        table = [[row["selected"], row["n"] - row["selected"]],
                 [top["selected"], top["n"] - top["selected"]]]
        row["fisher_p"] = round(float(stats.fisher_exact(table)[1]), 4)
        small = (row["n"] < MIN_GROUP or top["n"] < MIN_GROUP
                 or row["selected"] + top["selected"] < MIN_SELECTED)
        below = row["impact_ratio"] is not None and row["impact_ratio"] < FOUR_FIFTHS
        if small:
            row["flag"] = None
            warnings.append(
                f"{g} vs {ref}: too few candidates to judge (n {row['n']} and {top['n']}, "
                f"{row['selected'] + top['selected']} selected); impact ratio "
                f"{row['impact_ratio']} is indicative only")
        else:
            row["flag"] = "adverse_impact" if below else None
    return {"groups": groups, "reference": ref, "warnings": warnings,
            "rule": f"impact ratio < {FOUR_FIFTHS} against the highest-rate group "
                    "(four-fifths rule, 29 CFR 1607.4(D)); a flag to investigate, not a verdict"}


def score_difference(a: list[float], b: list[float], confidence: float = 0.95
                     ) -> dict[str, Any]:
    """mean(a) - mean(b) with its Welch confidence interval; None where a side has < 2."""
    if len(a) < 2 or len(b) < 2:
        return {"diff": None, "ci": None, "n": [len(a), len(b)],
                "warning": "fewer than 2 scores on a side"}
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    se2 = va / len(a) + vb / len(b)
    if se2 == 0:
        return {"diff": round(ma - mb, 3), "ci": None, "n": [len(a), len(b)],
                "warning": "no spread in the scores"}
    df = se2 ** 2 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(se2)
    d = ma - mb
    return {"diff": round(d, 3), "ci": [round(d - half, 3), round(d + half, 3)],
            "n": [len(a), len(b)], "df": round(df, 2)}


def score_differences(scores: dict[str, dict[str, float | None]], groups: dict[str, str]
                      ) -> dict[str, dict[str, Any]]:
    """scores: candidate -> dimension -> score; groups: candidate -> group. Per dimension and
    group: that group's scores against everyone else's."""
    dims = sorted({k for s in scores.values() for k in s})
    out: dict[str, dict[str, Any]] = {}
    for k in dims:
        out[k] = {}
        for g in sorted(set(groups.values())):
            mine = [s[k] for c, s in scores.items() if groups.get(c) == g and s.get(k) is not None]
            rest = [s[k] for c, s in scores.items()
                    if c in groups and groups[c] != g and s.get(k) is not None]
            out[k][g] = score_difference(mine, rest)  # type: ignore[arg-type]
    return out
