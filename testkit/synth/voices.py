"""espeak-ng rendering: distinct voices per candidate, trimmed 16 kHz float32 clips.

espeak-ng is deterministic (same input -> identical samples), so renders are cached per
(voice, text) for the life of the process; a session needs a few dozen ~10 ms calls.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from functools import lru_cache
from math import gcd

import numpy as np
from scipy.signal import resample_poly

ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
FRAME_S = 0.01


@dataclass(frozen=True)
class Voice:
    """One espeak-ng voice: language voice + variant, pitch (0-99) and speed (words/min)."""

    voice: str  # e.g. "en-us+m3", "cmn-latn-pinyin+f2"
    pitch: int
    speed: int
    gender: str  # "m" | "f"

    def args(self) -> list[str]:
        return ["-v", self.voice, "-p", str(self.pitch), "-s", str(self.speed)]


# Male and female variants at spread-out pitches: m1 and m3 alone sound alike to a
# speaker-embedding model, so pitch and accent (en-gb/en-us) vary as well.
VOICES: dict[str, dict[str, tuple[Voice, ...]]] = {
    "en": {
        "m": (
            Voice("en-us+m3", 40, 165, "m"),
            Voice("en-gb+m1", 22, 155, "m"),
            Voice("en-us+m7", 58, 175, "m"),
            Voice("en-gb+m4", 32, 170, "m"),
        ),
        "f": (
            Voice("en-us+f3", 70, 170, "f"),
            Voice("en-gb+f2", 58, 160, "f"),
            Voice("en-us+f4", 82, 175, "f"),
            Voice("en-gb+f5", 50, 165, "f"),
        ),
    },
    "zh": {
        "m": (
            Voice("cmn-latn-pinyin+m1", 35, 165, "m"),
            Voice("cmn-latn-pinyin+m3", 55, 175, "m"),
            Voice("cmn-latn-pinyin+m5", 45, 155, "m"),
            Voice("cmn-latn-pinyin+m7", 25, 170, "m"),
        ),
        "f": (
            Voice("cmn-latn-pinyin+f2", 72, 170, "f"),
            Voice("cmn-latn-pinyin+f1", 60, 160, "f"),
            Voice("cmn-latn-pinyin+f4", 85, 175, "f"),
            Voice("cmn-latn-pinyin+f3", 50, 165, "f"),
        ),
    },
}


def pick_voices(lang: str, n: int, rng: np.random.Generator) -> list[Voice]:
    """n distinct voices, alternating gender (random first gender) so neighbours differ."""
    pools = {g: list(VOICES[lang][g]) for g in ("m", "f")}
    for g in pools:
        pools[g] = [pools[g][i] for i in rng.permutation(len(pools[g]))]
    first = "m" if rng.random() < 0.5 else "f"
    order = [first, "f" if first == "m" else "m"]
    return [pools[order[k % 2]][k // 2] for k in range(n)]


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        sr = w.getframerate()
        pcm = w.readframes(w.getnframes())
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, sr


@lru_cache(maxsize=4096)
def _render_cached(voice: Voice, text: str, sr: int) -> np.ndarray:
    out = subprocess.run(
        [ESPEAK, *voice.args(), "--stdout", text], capture_output=True, check=True
    ).stdout
    x, src_sr = _read_wav(out)
    if src_sr != sr:
        g = gcd(sr, src_sr)
        x = resample_poly(x, sr // g, src_sr // g).astype(np.float32)
    x = trim_silence(x, sr)
    x.setflags(write=False)  # shared by the cache: callers copy before editing
    return x


def render(voice: Voice, text: str, sr: int = 16000) -> np.ndarray:
    """espeak-ng speech for `text`, leading/trailing silence trimmed, float32 at `sr`."""
    return _render_cached(voice, text, sr)


def frame_rms(x: np.ndarray, sr: int) -> np.ndarray:
    """RMS of consecutive 10 ms frames (a trailing partial frame is dropped)."""
    hop = int(round(sr * FRAME_S))
    n = len(x) // hop
    f = x[: n * hop].astype(np.float64).reshape(n, hop)
    return np.sqrt(np.mean(f * f, axis=1))


def trim_silence(x: np.ndarray, sr: int, floor_db: float = -45.0) -> np.ndarray:
    """Cut leading/trailing frames quieter than the clip's loudest frame + floor_db."""
    rms = frame_rms(x, sr)
    if len(rms) == 0 or rms.max() <= 0:
        return x[:0]
    on = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    hop = int(round(sr * FRAME_S))
    return x[on[0] * hop : (on[-1] + 1) * hop].copy()


def fade_out(x: np.ndarray, sr: int, at_s: float, fade_s: float) -> np.ndarray:
    """Copy of x that stops at at_s with a linear fade of fade_s (an abrupt give-up/cut-off)."""
    end = min(len(x), int(round(at_s * sr)))
    nf = min(end, max(1, int(round(fade_s * sr))))
    y = x[:end].astype(np.float32)  # astype copies: cached renders stay untouched
    y[end - nf :] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)
    return y
