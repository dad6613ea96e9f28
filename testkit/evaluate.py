"""Scores a report against a reference (truth from testkit.synth, or an RTTM).

Used by benchmarks/accuracy.py and the accuracy tests; the definitions are the ones the
issue asks for: speech error = (missed + false-alarm speech) / reference speech on 10 ms
frames per candidate, no collar; share error in percentage points; event F1 with a
0.5 s tolerance on the onset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

HOP_S = 0.01
EVENT_TOLERANCE_S = 0.5


def raster(intervals: Sequence[Sequence[float]], n_frames: int) -> np.ndarray:
    """[[start, end], ...] seconds → (n_frames,) bool on the 10 ms grid."""
    out = np.zeros(n_frames, bool)
    for s, e in intervals:
        out[max(0, int(round(s / HOP_S))) : max(0, int(round(e / HOP_S)))] = True
    return out


@dataclass(frozen=True)
class SpeechScore:
    miss_s: float
    false_alarm_s: float
    reference_s: float

    @property
    def error(self) -> float:
        return (self.miss_s + self.false_alarm_s) / self.reference_s if self.reference_s else 0.0


def speech_score(pred: dict, ref: dict, duration_s: float) -> SpeechScore:
    n = int(round(duration_s / HOP_S)) + 1
    miss = fa = total = 0
    for pid in ref:
        r = raster(ref[pid], n)
        p = raster(pred.get(pid, []), n)
        miss += int((r & ~p).sum())
        fa += int((p & ~r).sum())
        total += int(r.sum())
    return SpeechScore(miss * HOP_S, fa * HOP_S, total * HOP_S)


def share_error_pp(pred: dict[str, float], ref: dict[str, float]) -> float:
    """Largest absolute speaking-share difference over candidates, in percentage points."""
    return max(abs(pred.get(p, 0.0) - v) * 100 for p, v in ref.items())


@dataclass(frozen=True)
class F1:
    tp: int
    n_pred: int
    n_ref: int

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_ref if self.n_ref else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: F1) -> F1:
        return F1(self.tp + other.tp, self.n_pred + other.n_pred, self.n_ref + other.n_ref)


def match_events(
    pred: list[dict], ref: list[dict], same: Callable[[dict, dict], bool]
) -> F1:
    """Greedy one-to-one matching by onset time (`at`) within the tolerance."""
    used: set[int] = set()
    tp = 0
    for r in sorted(ref, key=lambda e: e["at"]):
        best, best_d = None, EVENT_TOLERANCE_S
        for k, p in enumerate(pred):
            d = abs(p["at"] - r["at"])
            if k not in used and d <= best_d and same(p, r):
                best, best_d = k, d
        if best is not None:
            used.add(best)
            tp += 1
    return F1(tp, len(pred), len(ref))


def interruption_f1(pred: list[dict], ref: list[dict], outcome: bool = True) -> F1:
    def same(p: dict, r: dict) -> bool:
        ok = p["by"] == r["by"] and p["of"] == r["of"]
        return ok and (not outcome or p["successful"] == r["successful"])

    return match_events(pred, ref, same)


def backchannel_f1(pred: list[dict], ref: list[dict]) -> F1:
    return match_events(pred, ref, lambda p, r: p["who"] == r["who"])


@dataclass(frozen=True)
class SessionScore:
    speech: SpeechScore
    share_error_pp: float
    interruptions: F1
    backchannels: F1


def score_session(report: dict, truth: dict) -> SessionScore:
    return SessionScore(
        speech=speech_score(report["speech"], truth["speech"], report["session"]["duration_s"]),
        share_error_pp=share_error_pp(report["speaking_share"], truth["speaking_share"]),
        interruptions=interruption_f1(report["interruptions"], truth["interruptions"]),
        backchannels=backchannel_f1(report["backchannels"], truth["backchannels"]),
    )
