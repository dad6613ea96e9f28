"""Voice attributes per candidate and the report's `fairness` section.

Scores must not depend on how a candidate's voice or microphone sounds. What we can check in
one session: whether a dimension's scores line up with a voice attribute across the group.
Attributes, where known: `mic_level_db` (median level of the candidate's own speech on
their own track, i.e. mic gain × voice loudness; measured in the pipeline) and
`mean_pitch_hz` (from the prosody stage's `ProsodyTurn.features`, when that stage runs).
For each dimension and attribute the section reports Pearson r across candidates and the
score gap between the upper and lower half of the group by that attribute. With 4–8
candidates these are indicators for a reviewer, not proof of bias (docs/rubric.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from interaction.dimensions import KEYS, VOICE_DIMENSIONS

FRAME = 320  # 20 ms at 16 kHz
BINS = np.arange(-100.0, 1.0, 1.0)  # dBFS histogram edges, 1 dB
RING_S = 30.0  # speech decisions arrive well within this (bridge + lookahead < 1 s)
RING_FRAMES = int(RING_S / 0.02)


class MicLevels:
    """Each candidate's own-speech level on their own track (mic gain x voice loudness).

    Frame levels (20 ms, dBFS) of the last `RING_S` seconds are kept in a ring; when the
    speech-activity stage reports a stretch of a candidate's own speech (`SpeechEnded`), its
    frames go into that candidate's 1 dB histogram: O(1) memory, whatever the session length.
    """

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self.ring = np.full((len(ids), RING_FRAMES), np.nan)  # (n_tracks, frames) dBFS
        self.frames = 0  # frames pushed so far
        self.hist = np.zeros((len(ids), len(BINS) - 1), np.int64)  # (n_tracks, n_bins)

    def push(self, block: np.ndarray) -> None:
        """block: (n_tracks, n_samples) float32, 16 kHz."""
        n = block.shape[1] // FRAME
        if n == 0:
            return
        f = block[:, : n * FRAME].reshape(block.shape[0], n, FRAME).astype(np.float64)
        db = 10 * np.log10(np.mean(f * f, axis=2) + 1e-12)  # (n_tracks, n) dBFS
        idx = (self.frames + np.arange(n)) % RING_FRAMES
        self.ring[:, idx] = db
        self.frames += n

    def add_speech(self, who: str, start: float, end: float) -> None:
        if who not in self.ids:
            return
        a = max(int(start / 0.02), self.frames - RING_FRAMES)
        b = min(int(end / 0.02), self.frames)
        if b <= a:
            return
        db = self.ring[self.ids.index(who), np.arange(a, b) % RING_FRAMES]
        self.hist[self.ids.index(who)] += np.histogram(np.clip(db, -99.5, -0.5), BINS)[0]

    def levels(self) -> dict[str, float]:
        """Median own-speech frame level per candidate who has spoken."""
        out = {}
        for i, p in enumerate(self.ids):
            h = self.hist[i]
            if h.sum() == 0:
                continue
            k = int(np.searchsorted(np.cumsum(h), 0.5 * h.sum()))
            out[p] = float(BINS[k] + 0.5)
        return out


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


def pitch_attributes(tally_pitch: dict[str, tuple[int, float]]) -> dict[str, float]:
    """pid -> mean pitch from (count, sum) of ProsodyTurn pitch values."""
    return {p: s / n for p, (n, s) in tally_pitch.items() if n > 0}
