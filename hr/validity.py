"""Validity over time: do a role's portrait scores and fit predict later job performance?

HR imports performance ratings (CSV: candidate_id, rating, date). Per role, each dimension
and the overall fit get Pearson's r with the ratings, its n and a 95 % interval (Fisher's z),
and a suggested re-weighting: weights proportional to the positive correlations, blended
with the current ones. A person may accept it into a new profile version; decisions made
keep the version they used.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Any

from scipy import stats

from hr.profiles import JobProfile

MIN_N = 10  #: fewer pairs: the correlation is reported with a warning, not used to re-weight


class RatingsError(ValueError):
    pass


def parse_ratings(text: str) -> dict[str, float]:
    """CSV with a header `candidate_id,rating,date` -> candidate -> latest rating."""
    rows = list(csv.DictReader(io.StringIO(text)))
    out: dict[str, tuple[str, float]] = {}
    for i, row in enumerate(rows, start=2):
        try:
            cid, rating, date = row["candidate_id"], float(row["rating"]), row.get("date") or ""
        except (KeyError, TypeError, ValueError):
            raise RatingsError(f"line {i}: expected candidate_id,rating,date, got {row}") from None
        if not cid or not math.isfinite(rating):
            raise RatingsError(f"line {i}: a candidate id and a finite rating are needed")
        if cid not in out or date >= out[cid][0]:
            out[cid] = (date, rating)
    return {c: r for c, (_, r) in out.items()}


def correlation(x: list[float], y: list[float], confidence: float = 0.95) -> dict[str, Any]:
    """Pearson's r, n, two-sided p and the Fisher-z interval (scipy's own method)."""
    n = len(x)
    if n < 4:
        return {"r": None, "n": n, "ci": None, "p": None, "warning": "fewer than 4 pairs"}
    if len(set(x)) < 2 or len(set(y)) < 2:
        return {"r": None, "n": n, "ci": None, "p": None, "warning": "no spread"}
    r, p = stats.pearsonr(x, y)
    z, se = math.atanh(min(max(r, -0.999999), 0.999999)), 1 / math.sqrt(n - 3)
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    out: dict[str, Any] = {"r": round(float(r), 4), "n": n, "p": round(float(p), 4),
                           "ci": [round(math.tanh(z - q * se), 4), round(math.tanh(z + q * se), 4)]}
    if n < MIN_N:
        out["warning"] = f"only {n} candidates with ratings: indicative only"
    return out


def validity_report(scores: dict[str, dict[str, float | None]], fits: dict[str, float | None],
                    ratings: dict[str, float], profile: JobProfile) -> dict[str, Any]:
    """scores: candidate -> dimension -> score; fits: candidate -> overall fit."""
    dims: dict[str, Any] = {}
    for k in sorted({k for s in scores.values() for k in s}):
        pairs = [(float(v), ratings[c]) for c, s in scores.items()
                 if c in ratings and (v := s.get(k)) is not None]
        dims[k] = correlation([a for a, _ in pairs], [b for _, b in pairs])
    pairs = [(float(f), ratings[c]) for c, f in fits.items() if c in ratings and f is not None]
    return {
        "profile": profile.id, "profile_version": profile.version,
        "dimensions": dims,
        "fit": correlation([a for a, _ in pairs], [b for _, b in pairs]),
        "suggested": suggest_weights(profile, dims),
    }


def suggest_weights(profile: JobProfile, dims: dict[str, Any], blend: float = 0.5
                    ) -> dict[str, Any] | None:
    """New weights = (1 - blend) x current + blend x (positive r, normalised), over the
    profile's dimensions with a usable correlation; None when none is usable."""
    usable = {k: max(0.0, d["r"]) for k, d in dims.items()
              if k in profile.weights and d.get("r") is not None and d["n"] >= MIN_N}
    if not usable or sum(usable.values()) == 0:
        return None
    total = sum(usable.values())
    new = {k: (1 - blend) * w + blend * usable.get(k, 0.0) / total
           for k, w in profile.weights.items()}
    s = sum(new.values())
    new = {k: round(v / s, 4) for k, v in new.items()}
    drift = 1.0 - sum(new.values())  # rounding: keep the sum exactly 1
    top = max(new, key=lambda k: new[k])
    new[top] = round(new[top] + drift, 4)
    return {"weights": new, "version": profile.version + 1,
            "note": "a suggestion: a person accepts it into a new profile version"}


def accept(profile: JobProfile, suggested: dict[str, Any]) -> JobProfile:
    """The profile's next version with the suggested weights."""
    return dataclasses.replace(profile, version=suggested["version"],
                               weights=dict(suggested["weights"]))
