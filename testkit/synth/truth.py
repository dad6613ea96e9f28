"""Ground truth in the report's own shapes (`speech`, `turns`, `interruptions`, ...).

Speech truth is measured on each candidate's *dry* signal (before the room), so it says who
is audibly speaking, independent of bleed, echo and noise that the analyser must remove.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .voices import FRAME_S, frame_rms

Interval = list[float]


def _r(t: float) -> float:
    return round(float(t), 2)


def speech_intervals(
    dry: np.ndarray, sr: int, floor_db: float = -40.0, bridge_s: float = 0.25, min_s: float = 0.05
) -> list[Interval]:
    """Where one speaker is audibly speaking, from their own clean signal.

    Rule (the reference definition the analyser is scored against):
    1. 10 ms frames, RMS per frame; frames above -100 dBFS are "active" (not digital silence).
    2. A frame is speech when its RMS > (95th percentile of active-frame RMS) + floor_db,
       i.e. within 40 dB of the speaker's loud speech, whatever the absolute level.
    3. Gaps shorter than bridge_s are closed (the analyser bridges 0.25 s too, so a
       comma pause or stop closure does not split a stretch), then islands shorter than
       min_s are dropped.
    Returns [[start, end], ...] in seconds, rounded to 0.01.
    """
    rms = frame_rms(dry, sr)
    active = rms > 1e-5
    if not active.any():
        return []
    ref = np.percentile(rms[active], 95)
    on = rms > ref * 10 ** (floor_db / 20)
    runs = _runs(on)
    bridge, min_len = round(bridge_s / FRAME_S), round(min_s / FRAME_S)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < bridge:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [[_r(a * FRAME_S), _r(b * FRAME_S)] for a, b in merged if b - a >= min_len]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of the True runs of a boolean mask, end exclusive."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def merge_intervals(spans: list[tuple[float, float]], bridge_s: float = 0.25) -> list[Interval]:
    """Sort, merge overlapping spans and gaps shorter than bridge_s; round to 0.01."""
    out: list[Interval] = []
    for a, b in sorted(spans):
        if out and a - out[-1][1] < bridge_s:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [[_r(a), _r(b)] for a, b in out]


@dataclass
class Floor:
    """One scripted floor holding: `who` holds the floor over [start, end] (placed audio)."""

    who: str
    start: float
    end: float


@dataclass
class Event:
    """A scripted interruption (kind "succ"/"fail") or backchannel ("bc") by `who` of `to`."""

    kind: str
    who: str
    to: str
    at: float


def speech_onset(intervals: list[Interval], t: float, tol: float = 0.1) -> float:
    """Onset of the speech stretch that starts near scripted time t (speech-truth consistent)."""
    best = min(intervals, key=lambda iv: abs(iv[0] - t), default=None)
    return best[0] if best is not None and abs(best[0] - t) <= tol else _r(t)


def build_truth(
    speech: dict[str, list[Interval]], floors: list[Floor], events: list[Event]
) -> dict:
    """Assemble the truth dict; turn edges snap to the holder's own speech-truth edges."""
    turns = []
    for f in floors:
        ivs = [iv for iv in speech[f.who] if iv[1] > f.start - 0.02 and iv[0] < f.end + 0.02]
        if ivs:
            turns.append({"who": f.who, "start": ivs[0][0], "end": ivs[-1][1]})
    turns.sort(key=lambda t: (t["start"], t["end"]))
    interruptions, backchannels = [], []
    for e in sorted(events, key=lambda e: e.at):
        at = speech_onset(speech[e.who], e.at)
        if e.kind == "bc":
            backchannels.append({"who": e.who, "at": at, "to": e.to})
        else:
            interruptions.append(
                {"by": e.who, "of": e.to, "at": at, "successful": e.kind == "succ"}
            )
    time = {p: _r(sum(b - a for a, b in ivs)) for p, ivs in speech.items()}
    total = sum(time.values())
    share = {p: (round(t / total, 4) if total > 0 else 0.0) for p, t in time.items()}
    return {
        "speech": speech,
        "turns": turns,
        "interruptions": interruptions,
        "backchannels": backchannels,
        "speaking_time_s": time,
        "speaking_share": share,
    }
