"""Tracks as a browser sends them: 20 ms Opus packets at 48 kHz (for live-path tests)."""

from __future__ import annotations

import fractions

import av
import numpy as np
from scipy.signal import resample_poly

RATE = 48000
FRAME = 960  # 20 ms


def opus_packets(signal_48k: np.ndarray) -> list[bytes]:
    """Encode a mono float signal at 48 kHz into 20 ms Opus packets (as a browser would)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = RATE
    enc.layout = "stereo"
    enc.format = "s16"
    enc.time_base = fractions.Fraction(1, RATE)
    out = []
    pcm = (np.clip(signal_48k, -1, 1) * 32767).astype(np.int16)
    for i in range(0, len(pcm) - FRAME + 1, FRAME):
        chunk = np.repeat(pcm[i : i + FRAME][None, :], 2, axis=0).T.reshape(1, -1)  # packed s16
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]
    return out


def to_48k(track_16k: np.ndarray) -> np.ndarray:
    """(n,) float 16 kHz → (3n,) float 48 kHz, the rate browsers capture at."""
    return resample_poly(np.asarray(track_16k, np.float64), 3, 1)
