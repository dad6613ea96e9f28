"""Overall fit of a candidate for a role: a pure function of their portrait and a job profile.

    fit = Σ w_k · score_k / Σ w_k      over the dimensions with a score (null ones left out,
                                        and named; under half the weight scored: no fit)

The recommendation compares the fit with the profile's thresholds (advance ≥ `advance`,
hold ≥ `hold`, else reject) and is only ever a recommendation: `confirmed_by` stays null
until a person decides. The reasons are the dimensions that moved the fit most, each with
its pull `w_k · (score_k − 50) / Σ w` (points above or below the scale's middle it adds),
its evidence moments copied from the report, and the role keywords the candidate used
(with the transcript lines they were heard in).
"""

from __future__ import annotations

from typing import Any

from hr.profiles import JobProfile
from interaction.dimensions import DIMENSIONS

MIN_SCORED_WEIGHT = 0.5  #: less of the profile's weight scored than this: no fit
REASONS = 3  #: dimensions named as reasons, the strongest pulls
EVIDENCE_PER_REASON = 2
_LABEL = {k: (zh, en) for k, zh, en in DIMENSIONS}


def _label(dim: str, language: str) -> str:
    zh, en = _LABEL[dim]
    return zh if language.startswith("zh") else en


def candidate_fit(report: dict[str, Any], pid: str, profile: JobProfile) -> dict[str, Any]:
    """The `fit.candidates.<pid>` entry of a report (see the module docstring)."""
    language = str(report["session"].get("language", "zh"))
    dims = report["portraits"][pid]["dimensions"]
    scored = {k: float(dims[k]["score"]) for k, w in profile.weights.items()
              if w > 0 and dims.get(k, {}).get("score") is not None}
    weight = sum(profile.weights[k] for k in scored)
    missing = sorted(k for k, w in profile.weights.items() if w > 0 and k not in scored)
    out: dict[str, Any] = {
        "profile": profile.id,
        "profile_version": profile.version,
        "fit": None,
        "recommendation": None,
        "confirmed_by": None,  # a person decides; the machine only recommends
        "scored_weight": round(weight, 4),
        "unscored": missing,
        "reasons": [],
        "keywords": _keywords(report, pid, profile),
        "suggestions": [],
    }
    if weight < MIN_SCORED_WEIGHT:
        out["why_no_fit"] = (f"only {weight:.0%} of the profile's weight is scored "
                             f"(unscored: {', '.join(missing)})")
        return out
    fit = sum(profile.weights[k] * s for k, s in scored.items()) / weight
    out["fit"] = round(fit, 1)
    out["recommendation"] = ("advance" if fit >= profile.advance
                             else "hold" if fit >= profile.hold else "reject")
    pulls = {k: profile.weights[k] * (s - 50.0) / weight for k, s in scored.items()}
    for k in sorted(pulls, key=lambda k: (-abs(pulls[k]), k))[:REASONS]:
        evidence = [e for e in dims[k]["evidence"] if e.get("kind") != "basis"]
        out["reasons"].append({
            "dimension": k,
            "score": scored[k],
            "weight": profile.weights[k],
            "pull": round(pulls[k], 2),
            "evidence": evidence[:EVIDENCE_PER_REASON],
        })
    for k, s in sorted(scored.items()):
        if s < profile.low_below and k in profile.suggestions:
            text = profile.suggestions[k]
            out["suggestions"].append({
                "dimension": k, "score": s,
                "text": text.get("zh" if language.startswith("zh") else "en",
                                 next(iter(text.values()))),
            })
    out["summary"] = _summary(out, profile, language)
    return out


def _keywords(report: dict[str, Any], pid: str, profile: JobProfile) -> dict[str, Any]:
    """Role keywords in the candidate's own transcript lines: counts and where."""
    hits: dict[str, int] = {}
    lines = []
    for u in report.get("transcript", []):
        if u["who"] != pid:
            continue
        text = u["text"].lower()
        found = [k for k in profile.keywords if k.lower() in text]
        for k in found:
            hits[k] = hits.get(k, 0) + text.count(k.lower())
        if found:
            lines.append({"at": u["start"], "kind": "keyword", "detail": u["text"][:80]})
    return {"hits": hits, "evidence": lines[:5]}


def _summary(fit: dict[str, Any], profile: JobProfile, language: str) -> str:
    zh = language.startswith("zh")
    top = ("，" if zh else ", ").join(
        f"{_label(r['dimension'], language)} {r['score']:.0f}" for r in fit["reasons"])
    verdict = {
        "advance": ("建议进入下一轮", "advance to the next round"),
        "hold": ("建议待定", "hold"),
        "reject": ("建议不进入下一轮", "do not advance"),
    }[fit["recommendation"]][0 if zh else 1]
    role = profile.label(language)
    if zh:
        return f"{role}匹配度 {fit['fit']:.0f}（{top}）：{verdict}，需人工确认。"
    return f"{role} fit {fit['fit']:.0f} ({top}): {verdict}; a person confirms."


def fit_section(report: dict[str, Any], profile: JobProfile) -> dict[str, Any]:
    """The report's `fit` field: the profile used and one entry per candidate."""
    return {
        "method": "fit = sum(weight x score) / sum(weight) over scored dimensions; "
                  "recommendation by the profile's thresholds, confirmed by a person",
        "profile": profile.to_dict(),
        "candidates": {pid: candidate_fit(report, pid, profile) for pid in report["portraits"]},
    }


def with_fit(report: dict[str, Any], profile: JobProfile | None) -> dict[str, Any]:
    """The report with its `fit` field (unchanged without a profile)."""
    if profile is None:
        return report
    return {**report, "fit": fit_section(report, profile)}
