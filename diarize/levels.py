"""Voice and microphone attributes per candidate, for the report's fairness section.

`VoiceLevels` is a plain synchronous stage beside speech activity: `push(block)` keeps the
frame levels of the last `RING_S` seconds; `add(event)` takes each stretch of a candidate's
own speech (`SpeechEnded`) into that candidate's 1 dB level histogram, and each voice piece
(`ProsodyTurn`) into their pitch mean; `attributes(at)` states them as `VoiceAttributes`
events. O(1) memory, whatever the session length.
"""

from __future__ import annotations

import numpy as np

from core.clock import FRAME_S, FRAME_SAMPLES
from core.events import Event, ProsodyTurn, SpeechEnded, VoiceAttributes

BINS = np.arange(-100.0, 1.0, 1.0)  # dBFS histogram edges, 1 dB
RING_S = 30.0  # speech decisions arrive well within this (bridge + lookahead < 1 s)
RING_FRAMES = int(RING_S / FRAME_S)


class VoiceLevels:
    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self.ring = np.full((len(ids), RING_FRAMES), np.nan)  # (n_tracks, frames) dBFS
        self.frames = 0  # frames pushed so far
        self.hist = np.zeros((len(ids), len(BINS) - 1), np.int64)  # (n_tracks, n_bins)
        self.pitch = {p: [0, 0.0] for p in self.ids}  # pid -> [count, sum] of pitch_hz

    def push(self, block: np.ndarray) -> None:
        """block: (n_tracks, n_samples) float32, 16 kHz."""
        n = block.shape[1] // FRAME_SAMPLES
        if n == 0:
            return
        f = block[:, : n * FRAME_SAMPLES].reshape(block.shape[0], n, FRAME_SAMPLES)
        f = f.astype(np.float64)
        db = 10 * np.log10(np.mean(f * f, axis=2) + 1e-12)  # (n_tracks, n) dBFS
        idx = (self.frames + np.arange(n)) % RING_FRAMES
        self.ring[:, idx] = db
        self.frames += n

    def add(self, ev: Event) -> None:
        if isinstance(ev, SpeechEnded):
            self._speech(ev.who, ev.start, ev.end)
        elif isinstance(ev, ProsodyTurn) and ev.who in self.pitch and "pitch_hz" in ev.features:
            self.pitch[ev.who][0] += 1
            self.pitch[ev.who][1] += ev.features["pitch_hz"]

    def _speech(self, who: str, start: float, end: float) -> None:
        if who not in self.ids:
            return
        a = max(int(start / FRAME_S), self.frames - RING_FRAMES)
        b = min(int(end / FRAME_S), self.frames)
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

    def attributes(self, at: float) -> list[Event]:
        """One `VoiceAttributes` per candidate with anything measured, as of session time `at`."""
        levels = self.levels()
        out: list[Event] = []
        for p in self.ids:
            n, total = self.pitch[p]
            pitch = total / n if n else None
            if p in levels or pitch is not None:
                out.append(VoiceAttributes(p, round(at, 2), levels.get(p), pitch))
        return out
