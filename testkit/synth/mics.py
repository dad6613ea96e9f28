"""The microphone and browser chain after the room: what a laptop and its browser do to the
sound before lgd sees it. Each step is one condition of the accuracy sweep and can be
switched on alone (`RoomConfig` fields) or all together:

    acoustic_i ─► frequency response H_i ─► gain g_i · AGC_i(t) ─► + converter noise
               ─► noise suppression gate ─► capture offset d_i and clock drift ε_i

- frequency response: a high-pass (80–300 Hz), a low-pass (3–7 kHz) and one ±6 dB peak
  (0.8–4 kHz) per mic: laptop, headset and webcam mics differ this much;
- AGC: the gain wanders by up to ±agc_db over the session (two slow sinusoids, periods
  6–40 s), as browser AGC does while it re-adapts to the talker;
- noise after the gain: the converter/browser noise floor is set in dBFS, not relative to
  the mic's gain (the SNR is drawn for a 0 dB gain, so a +8 dB mic is 8 dB cleaner);
- noise suppression: frames within 6 dB of the mic's noise are attenuated by gate_db
  (near-digital silence, but above lgd's "absent" level), with a one-frame ramp;
- capture offset and drift: track i is captured d_i late and its clock runs 1 + ε_i fast,
  so a neighbour's bleed can lead the owner's own track. The truth of candidate i is
  moved the same way (`warp_truth`): it is what that candidate's own track shows.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

FRAME = 160  # 10 ms at 16 kHz


def mic_response(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Random second-order sections of one mic's frequency response."""
    hp = butter(2, rng.uniform(80.0, 300.0), "highpass", fs=sr, output="sos")
    lp = butter(2, rng.uniform(3000.0, 7000.0), "lowpass", fs=sr, output="sos")
    f0, gain_db, q = rng.uniform(800.0, 4000.0), rng.uniform(-6.0, 6.0), rng.uniform(0.7, 2.0)
    return np.vstack([hp, lp, _peaking(f0, gain_db, q, sr)])


def _peaking(f0: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    """RBJ audio-EQ-cookbook peaking filter as one second-order section."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def apply_response(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    return sosfilt(sos, x)


def agc_curve(rng: np.random.Generator, n: int, sr: int, swing_db: float) -> np.ndarray:
    """(n,) linear gain factor wandering within ±swing_db (0 dB mean)."""
    t = np.arange(n) / sr
    db = np.zeros(n)
    for amp in (0.6, 0.4):
        period = rng.uniform(6.0, 40.0)
        db += amp * swing_db * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return 10 ** (db / 20)


def noise_gate(x: np.ndarray, noise: np.ndarray, gate_db: float) -> np.ndarray:
    """Attenuate by gate_db the 10 ms frames of x whose power is within 6 dB of the noise's
    (its power over the surrounding 0.5 s: an ideal noise tracker, so AGC moves it too)."""
    n = len(x) // FRAME
    p = np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1)
    pn = np.mean(noise[: n * FRAME].reshape(n, FRAME) ** 2, axis=1)
    pn = np.convolve(pn, np.ones(51) / 51, mode="same")
    g = np.where(p > pn * 10 ** (6.0 / 10), 1.0, 10 ** (-gate_db / 20))
    # a one-frame linear ramp between frame gains (no clicks at the gate's edges)
    ramp = np.interp(np.arange(n * FRAME), np.arange(n) * FRAME + FRAME / 2, g)
    out = x.copy()
    out[: n * FRAME] *= ramp
    out[n * FRAME :] *= g[-1] if n else 1.0
    return out


def warp_track(x: np.ndarray, offset_s: float, drift: float, sr: int) -> np.ndarray:
    """Track captured offset_s late on a clock running (1 + drift) fast: sample t of the
    output holds the session's time (t - offset) / (1 + drift); before the capture started
    it is digital silence (absence). Same length as x."""
    n = len(x)
    src = (np.arange(n) / sr - offset_s) / (1.0 + drift) * sr
    ok = src >= 0
    out = np.zeros(n, np.float64)
    out[ok] = np.interp(src[ok], np.arange(n), x, right=0.0)
    return out


def warp_time(t: float, offset_s: float, drift: float) -> float:
    return round(offset_s + t * (1.0 + drift), 2)


def warp_truth(truth: dict, warps: dict[str, tuple[float, float]]) -> None:
    """Move each candidate's truth onto their own track's clock, in place: their speech,
    turns, and the interruptions and backchannels they make."""
    if not any(o or d for o, d in warps.values()):
        return
    for p, ivs in truth["speech"].items():
        o, d = warps[p]
        truth["speech"][p] = [[warp_time(a, o, d), warp_time(b, o, d)] for a, b in ivs]
    for t in truth["turns"]:
        o, d = warps[t["who"]]
        t["start"], t["end"] = warp_time(t["start"], o, d), warp_time(t["end"], o, d)
    for e in truth["interruptions"]:
        e["at"] = warp_time(e["at"], *warps[e["by"]])
    for e in truth["backchannels"]:
        e["at"] = warp_time(e["at"], *warps[e["who"]])
    time = {p: round(sum(b - a for a, b in ivs), 2) for p, ivs in truth["speech"].items()}
    total = sum(time.values())
    truth["speaking_time_s"] = time
    truth["speaking_share"] = {p: round(v / total, 4) if total else 0.0 for p, v in time.items()}
