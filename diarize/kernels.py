"""numba kernels of the speech pipeline, kept together; each has a plain-numpy twin
(`*_ref`) that tests compare it with. All release the GIL so tracks can run in threads.

Conventions: P = power (mean square, linear), dB = 10*log10(P); frames are 10 ms hops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EPS = 1e-12


@njit(nogil=True, cache=True)
def hop_power(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean-square power of each whole hop. x: (n_tracks, n_samples) float32 →
    (n_tracks, n_samples // hop) float64."""
    n, m = x.shape
    k = m // hop
    out = np.empty((n, k))
    for i in range(n):
        for f in range(k):
            acc = 0.0
            base = f * hop
            for s in range(hop):
                v = x[i, base + s]
                acc += v * v
            out[i, f] = acc / hop
    return out


def hop_power_ref(x: np.ndarray, hop: int) -> np.ndarray:
    k = x.shape[1] // hop
    frames = x[:, : k * hop].astype(np.float64).reshape(x.shape[0], k, hop)
    return (frames**2).mean(axis=2)


@njit(nogil=True, cache=True)
def predicted_bleed(
    power: np.ndarray, coupling: np.ndarray, lags: np.ndarray, f0: int, f1: int
) -> np.ndarray:
    """Power each mic would receive from the *other* mics' voices alone, for frames [f0, f1).

    power: (n_tracks, n_frames) linear; coupling[i, j]: linear power ratio of voice j in
    mic i to voice j in mic j; lags[i, j]: frames by which voice j arrives later in mic i.
    Frames before 0 or past the end count as silence. → (n_tracks, f1 - f0) linear.
    """
    n, total = power.shape
    out = np.zeros((n, f1 - f0))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            c = coupling[i, j]
            lag = lags[i, j]
            for f in range(f0, f1):
                g = f - lag
                if 0 <= g < total:
                    out[i, f - f0] += c * power[j, g]
    return out


def predicted_bleed_ref(
    power: np.ndarray, coupling: np.ndarray, lags: np.ndarray, f0: int, f1: int
) -> np.ndarray:
    n, total = power.shape
    out = np.zeros((n, f1 - f0))
    frames = np.arange(f0, f1)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            g = frames - lags[i, j]
            ok = (g >= 0) & (g < total)
            out[i, ok] += coupling[i, j] * power[j, g[ok]]
    return out


@njit(nogil=True, cache=True)
def predicted_relay(
    power: np.ndarray, coupling: np.ndarray, lags: np.ndarray, echo: np.ndarray,
    echo_lags: np.ndarray, f0: int, f1: int, direct: bool = True,
) -> np.ndarray:
    """`predicted_bleed` with a second, echo path per pair (voice k's copy played by mic i's
    own speakers: echo[i, k] at echo_lags[i, k]), each path fed mic k's power with mic i's
    own voice taken out first (its bleed coupling[k, i] at lags[k, i] and its echo echo[k, i]
    at echo_lags[k, i]): with an echo, mic k holds mic i's owner from hundreds of ms ago,
    which must not explain their speech now. Negative remainders count as silence; frames
    before 0 or past the end too. direct=False: the echo path alone.
    → (n_tracks, f1 - f0) linear.
    """
    n, total = power.shape
    out = np.zeros((n, f1 - f0))
    for i in range(n):
        for k in range(n):
            if i == k:
                continue
            for path in range(0 if direct else 1, 2):
                c = coupling[i, k] if path == 0 else echo[i, k]
                if c == 0.0:
                    continue
                lag = lags[i, k] if path == 0 else echo_lags[i, k]
                for f in range(f0, f1):
                    g = f - lag
                    if g < 0 or g >= total:
                        continue
                    v = power[k, g]
                    h = g - lags[k, i]
                    if 0 <= h < total:
                        v -= coupling[k, i] * power[i, h]
                    h = g - echo_lags[k, i]
                    if echo[k, i] != 0.0 and 0 <= h < total:
                        v -= echo[k, i] * power[i, h]
                    if v > 0.0:
                        out[i, f - f0] += c * v
    return out


def predicted_relay_ref(
    power: np.ndarray, coupling: np.ndarray, lags: np.ndarray, echo: np.ndarray,
    echo_lags: np.ndarray, f0: int, f1: int, direct: bool = True,
) -> np.ndarray:
    n, total = power.shape
    out = np.zeros((n, f1 - f0))
    frames = np.arange(f0, f1)

    def at(row: np.ndarray, idx: np.ndarray) -> np.ndarray:
        ok = (idx >= 0) & (idx < total)
        return np.where(ok, row[np.clip(idx, 0, total - 1)], 0.0)

    for i in range(n):
        for k in range(n):
            if i == k:
                continue
            paths = ((coupling[i, k], lags[i, k]), (echo[i, k], echo_lags[i, k]))
            for c, lag in paths if direct else paths[1:]:
                if c == 0.0:
                    continue
                g = frames - lag
                v = at(power[k], g) - coupling[k, i] * at(power[i], g - lags[k, i])
                if echo[k, i] != 0.0:
                    v = v - echo[k, i] * at(power[i], g - echo_lags[k, i])
                ok = (g >= 0) & (g < total) & (v > 0)
                out[i] += np.where(ok, c * v, 0.0)
    return out


@njit(nogil=True, cache=True)
def lag_spread(
    db: np.ndarray, src_frames: np.ndarray, dst: int, src: int, lag_min: int, lag_max: int
) -> np.ndarray:
    """Variance over the given frames of db[dst, f + lag] - db[src, f], for each lag.

    Where voice `src` is talking alone, its copy in mic `dst` is the same signal scaled:
    the level difference is constant at the true lag, so the lag of least variance is the
    bleed/echo delay. db: (n_tracks, n_frames); src_frames: (k,) int64 frame indices.
    → (lag_max - lag_min + 1,) float64, +inf where fewer than 2 frames fit.
    """
    total = db.shape[1]
    n_lags = lag_max - lag_min + 1
    out = np.empty(n_lags)
    for li in range(n_lags):
        lag = lag_min + li
        s = 0.0
        s2 = 0.0
        cnt = 0
        for f in src_frames:
            g = f + lag
            if 0 <= g < total:
                d = db[dst, g] - db[src, f]
                s += d
                s2 += d * d
                cnt += 1
        if cnt < 2:
            out[li] = np.inf
        else:
            mean = s / cnt
            out[li] = s2 / cnt - mean * mean
    return out


def lag_spread_ref(
    db: np.ndarray, src_frames: np.ndarray, dst: int, src: int, lag_min: int, lag_max: int
) -> np.ndarray:
    total = db.shape[1]
    out = []
    for lag in range(lag_min, lag_max + 1):
        g = src_frames + lag
        ok = (g >= 0) & (g < total)
        if ok.sum() < 2:
            out.append(np.inf)
            continue
        d = db[dst, g[ok]] - db[src, src_frames[ok]]
        out.append(d.var())
    return np.array(out)


def to_db(p: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(p, _EPS))


@njit(nogil=True, cache=True)
def hysteresis(prob: np.ndarray, on: float, off: float, state: np.ndarray) -> np.ndarray:
    """Two-threshold gate per track: turns on at prob >= on, stays on while prob >= off.
    prob: (n_tracks, k); state: (n_tracks,) bool, carried across calls (updated in place).
    → (n_tracks, k) bool."""
    n, k = prob.shape
    out = np.empty((n, k), np.bool_)
    for i in range(n):
        s = state[i]
        for f in range(k):
            p = prob[i, f]
            if s:
                s = p >= off
            else:
                s = p >= on
            out[i, f] = s
        state[i] = s
    return out


def hysteresis_ref(prob: np.ndarray, on: float, off: float, state: np.ndarray) -> np.ndarray:
    out = np.zeros(prob.shape, bool)
    for i in range(prob.shape[0]):
        s = bool(state[i])
        for f in range(prob.shape[1]):
            s = prob[i, f] >= (off if s else on)
            out[i, f] = s
        state[i] = s
    return out
