"""Scores the content stages against a script's truth: act precision/recall per type,
addressee accuracy, and transcript error rates (CER for Mandarin, WER for English)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from diarize.asr_guard import edit_distance
from diarize.zh_text import to_simplified

TOL_S = 0.5  # an act counts for a scripted line if it starts within the line (± this)


@dataclass(frozen=True)
class PR:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _line_of(act: dict, truth: list[dict]) -> dict | None:
    for t in truth:
        if t["by"] == act["by"] and t["at"] - TOL_S <= act["at"] <= t["end"] + TOL_S:
            return t
    return None


def score_acts(acts: list[dict], truth: list[dict]) -> tuple[dict[str, PR], list[tuple]]:
    """Per act type: true/false positives and misses; plus (truth act, detected addressee)
    for every truth act found, to check addressees. `acts`: the report's acts."""
    kinds = sorted({t["type"] for t in truth} | {a["type"] for a in acts})
    out: dict[str, PR] = {}
    found: list[tuple] = []
    for kind in kinds:
        ref = [t for t in truth if t["type"] == kind]
        hyp = [a for a in acts if a["type"] == kind]
        matched: set[int] = set()
        fp = 0
        for a in hyp:
            hit = next(
                (
                    i
                    for i, t in enumerate(ref)
                    if i not in matched
                    and t["by"] == a["by"]
                    and t["at"] - TOL_S <= a["at"] <= t["end"] + TOL_S
                ),
                None,
            )
            if hit is None:
                # a second detection inside the same line (a split utterance) is not an error
                if _line_of(a, ref) is None:
                    fp += 1
                continue
            matched.add(hit)
            found.append((ref[hit], a["to"]))
        out[kind] = PR(len(matched), fp, len(ref) - len(matched))
    return out, found


def _units(text: str, language: str) -> list[str]:
    if language == "zh":
        return re.findall(r"[\u3400-\u9fff]|[a-z0-9]+", to_simplified(text).lower())
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def error_rate(refs: list[str], hyps: list[str], language: str) -> float:
    """CER (zh) / WER (en) of the concatenated hypothesis against the concatenated script."""
    ref = [u for r in refs for u in _units(r, language)]
    hyp = [u for h in hyps for u in _units(h, language)]
    return edit_distance(ref, hyp) / max(1, len(ref))


def ngram_loops(text: str, language: str) -> list[str]:
    """Repeated n-gram loops in one transcript line, punctuation ignored: an n-gram said
    twice in a row (zh: 2+ characters, "这些这些"; en: 2+ words), one character three times
    in a row, or a zh n-gram of 2+ characters three times anywhere in the line. Written
    apart from the product's guard (diarize/asr_guard.py), so a test can catch it."""
    u = _units(text, language)
    found: list[str] = []
    lo = 2
    for n in range(lo, 7):
        for i in range(len(u) - 2 * n + 1):
            if u[i : i + n] == u[i + n : i + 2 * n]:
                found.append("".join(u[i : i + n]) if language == "zh" else " ".join(u[i : i + n]))
    if language == "zh":
        found += [u[i] for i in range(len(u) - 2) if u[i] == u[i + 1] == u[i + 2]]
        for n in range(2, 7):
            grams = ["".join(u[i : i + n]) for i in range(len(u) - n + 1)]
            found += sorted({g for g in grams if grams.count(g) >= 3})
    return found
