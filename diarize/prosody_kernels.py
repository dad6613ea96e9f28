"""numba kernels of the prosody stage, kept together; each has a plain-numpy twin (`*_ref`)
that tests compare it with. All release the GIL so candidates can run in threads.

Conventions: x is one candidate's own-mic signal, (n_samples,) float32 at 16 kHz; frames
start every `hop` samples; a period is in samples (f0 = sample_rate / period).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def yin_periods(
    x: np.ndarray, hop: int, win: int, tau_min: int, tau_max: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """YIN pitch (de Cheveigné & Kawahara 2002): per frame, the first lag in
    [tau_min, tau_max) whose cumulative-mean-normalised difference dips under `threshold`,
    refined to its local minimum and by parabolic interpolation.

    A frame f covers x[f*hop : f*hop + win + tau_max]. → (period, aperiodicity), both
    (n_frames,) float64; period 0.0 where no lag passes (unvoiced), aperiodicity = the
    normalised difference at the chosen lag (or the minimum over the range when unvoiced).
    """
    need = win + tau_max
    n_frames = max(0, (x.shape[0] - need) // hop + 1)
    period = np.zeros(n_frames)
    aper = np.ones(n_frames)
    d = np.empty(tau_max + 1)
    cmnd = np.empty(tau_max + 1)
    for f in range(n_frames):
        base = f * hop
        d[0] = 0.0
        for tau in range(1, tau_max + 1):
            acc = 0.0
            for j in range(win):
                diff = np.float64(x[base + j]) - np.float64(x[base + j + tau])
                acc += diff * diff
            d[tau] = acc
        cmnd[0] = 1.0
        running = 0.0
        for tau in range(1, tau_max + 1):
            running += d[tau]
            cmnd[tau] = d[tau] * tau / running if running > 0.0 else 1.0
        best = -1
        tau = tau_min
        while tau < tau_max:
            if cmnd[tau] < threshold:
                while tau + 1 < tau_max and cmnd[tau + 1] < cmnd[tau]:
                    tau += 1
                best = tau
                break
            tau += 1
        if best < 0:
            lo = 1.0
            for t in range(tau_min, tau_max):
                lo = min(lo, cmnd[t])
            aper[f] = lo
            continue
        a, b, c = cmnd[best - 1], cmnd[best], cmnd[best + 1]
        den = a - 2.0 * b + c
        shift = 0.5 * (a - c) / den if den > 0.0 else 0.0
        period[f] = best + shift
        aper[f] = b
    return period, aper


def yin_periods_ref(
    x: np.ndarray, hop: int, win: int, tau_min: int, tau_max: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    need = win + tau_max
    n_frames = max(0, (len(x) - need) // hop + 1)
    period, aper = np.zeros(n_frames), np.ones(n_frames)
    xd = x.astype(np.float64)
    taus = np.arange(1, tau_max + 1)
    for f in range(n_frames):
        seg = xd[f * hop : f * hop + need]
        d = np.array([np.sum((seg[:win] - seg[t : t + win]) ** 2) for t in taus])
        cum = np.cumsum(d)
        cmnd = np.concatenate(([1.0], np.where(cum > 0, d * taus / np.where(cum > 0, cum, 1), 1.0)))
        below = np.flatnonzero(cmnd[tau_min:tau_max] < threshold)
        if len(below) == 0:
            aper[f] = min(1.0, cmnd[tau_min:tau_max].min())
            continue
        best = tau_min + below[0]
        while best + 1 < tau_max and cmnd[best + 1] < cmnd[best]:
            best += 1
        a, b, c = cmnd[best - 1 : best + 2]
        den = a - 2 * b + c
        period[f] = best + (0.5 * (a - c) / den if den > 0 else 0.0)
        aper[f] = b
    return period, aper


@njit(nogil=True, cache=True)
def syllable_nuclei(
    db: np.ndarray, voiced: np.ndarray, floor_db: float, min_dip_db: float, min_gap: int
) -> int:
    """Syllable nuclei after de Jong & Wempe (2009): voiced peaks of the (smoothed) level
    above `floor_db`, each separated from the previous nucleus by a dip of >= min_dip_db on
    both sides, or by an unvoiced frame (a voicing break: most syllable onsets), and by
    >= min_gap frames (a low voice's pitch ripple is no syllable); a higher peak without
    such a separation replaces the previous one.

    db: (n_frames,) float64 level per frame; voiced: (n_frames,) bool. → nucleus count.
    """
    n = db.shape[0]
    count = 0
    last = -1e300  # level of the last nucleus (none yet)
    at = -min_gap  # frame of the last nucleus
    broke = False  # an unvoiced frame since the last nucleus
    low = 1e300  # lowest level since the last nucleus
    for i in range(n):
        v = db[i]
        if v < low:
            low = v
        if not voiced[i]:
            broke = True
        if i == 0 or i == n - 1:
            continue
        if not (v >= db[i - 1] and v > db[i + 1] and v > floor_db and voiced[i]):
            continue
        if count == 0:
            count = 1
            last, low, at, broke = v, v, i, False
        elif i - at >= min_gap and (broke or (last - low >= min_dip_db and v - low >= min_dip_db)):
            count += 1
            last, low, at, broke = v, v, i, False
        elif v > last:
            last, low, at, broke = v, v, i, False  # the same nucleus, a higher peak of it
    return count


def syllable_nuclei_ref(
    db: np.ndarray, voiced: np.ndarray, floor_db: float, min_dip_db: float, min_gap: int
) -> int:
    peaks = [
        i
        for i in range(1, len(db) - 1)
        if db[i] >= db[i - 1] and db[i] > db[i + 1] and db[i] > floor_db and voiced[i]
    ]
    nuclei: list[int] = []
    for p in peaks:
        if not nuclei:
            nuclei.append(p)
            continue
        q = nuclei[-1]
        low = db[q : p + 1].min()
        dip = db[q] - low >= min_dip_db and db[p] - low >= min_dip_db
        if p - q >= min_gap and (dip or not voiced[q : p + 1].all()):
            nuclei.append(p)
        elif db[p] > db[q]:
            nuclei[-1] = p
    return len(nuclei)
