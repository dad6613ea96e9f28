"""Voice attributes per candidate and the report's `fairness` section.

Scores must not depend on how a candidate's voice or microphone sounds. What we can check in
one session: whether a dimension's scores line up with a voice attribute across the group.
Attributes, where known: `mic_level_db` (median level of the candidate's own speech on
their own track, i.e. mic gain × voice loudness) and `mean_pitch_hz` (when the prosody
stage runs), both from the `VoiceAttributes` events of `diarize/levels.py`.
For each dimension and attribute the section reports Pearson r across candidates and the
score gap between the upper and lower half of the group by that attribute. With 4–8
candidates these are indicators for a reviewer, not proof of bias (docs/rubric.md).
"""

from __future__ import annotations

import math
from typing import Any

from interaction.dimensions import KEYS, VOICE_DIMENSIONS


def _pearson(x: list[float], y: list[float]) -> float | None:
    if len(x) < 3:
        return None
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return round(sxy / (sx * sy), 3) if sx > 1e-9 and sy > 1e-9 else None


def fairness_section(
    portraits: dict[str, Any], attributes: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """attributes: pid -> {attribute: value}. See the module docstring for what is computed."""
    names = sorted({a for v in attributes.values() for a in v})
    dims: dict[str, dict[str, Any]] = {}
    for k in KEYS:
        row: dict[str, Any] = {}
        for a in names:
            pairs = [
                (attributes[p][a], d["dimensions"][k]["score"])
                for p, d in portraits.items()
                if a in attributes.get(p, {}) and d["dimensions"][k]["score"] is not None
            ]
            if len(pairs) < 2:
                row[a] = {"r": None, "gap": None, "n": len(pairs)}
                continue
            pairs.sort()
            half = len(pairs) // 2
            lo = [s for _, s in pairs[:half]]
            hi = [s for _, s in pairs[len(pairs) - half:]]
            row[a] = {
                "r": _pearson([x for x, _ in pairs], [s for _, s in pairs]),
                "gap": round(sum(hi) / len(hi) - sum(lo) / len(lo), 1),
                "n": len(pairs),
            }
        dims[k] = row
    return {
        "method": "per dimension and voice attribute: Pearson r of scores across candidates, "
        "and gap = mean score of the upper half by the attribute minus the lower half; "
        "indicators for review with 4-8 candidates, not proof",
        "attributes": {p: {a: round(v, 2) for a, v in attrs.items()}
                       for p, attrs in attributes.items()},
        "voice_dimensions": list(VOICE_DIMENSIONS),
        "dimensions": dims,
    }

