"""Room and microphone model: what each candidate's laptop mic picks up.

    mic_i = g_i * ( h_ii * s_i + sum_{j != i} 10^(bleed_ij/20) * h_ij * s_j(t - d_ij)
                    [+ 10^(echo/20) * h_ei * sum_{j != i} s_j(t - e_i)] ) + noise_i [+ clicks_i]

Every h is a synthetic impulse response (direct impulse + exponentially decaying noise tail)
scaled to unit energy gain for its talker's long-term spectrum, so bleed_ij is exactly the
level of talker j in mic i relative to mic j once the gains are removed. Dry signals are first
normalised to one active-speech level, so the gains alone set each mic's own-speech level.
All filtering is one overlap-add pass with shared per-source block FFTs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft
from scipy.signal import lfilter

from .mics import agc_curve, apply_response, mic_response, noise_gate, warp_track

REF_RMS = 10 ** (-26 / 20)  # active speech level of every dry talker before mic gain
GAIN_MARGIN_DB = 0.5  # measured on speech the spread scatters ~0.3 dB: keep it >= configured
DRR_OWN_DB = (8.0, 12.0)  # close laptop mic: direct path dominant
DRR_BLEED_DB = (3.0, 7.0)  # a talker across the table reaches the mic more reverberantly


@dataclass(frozen=True)
class RoomConfig:
    """Acoustic conditions; every range is sampled uniformly per mic (or mic pair) by seed."""

    bleed_db: tuple[float, float] = (-12.0, -12.0)
    bleed_delay_ms: tuple[float, float] = (5.0, 15.0)
    gain_spread_db: float = 16.0
    snr_db: tuple[float, float] = (20.0, 30.0)
    rt60_s: tuple[float, float] = (0.2, 0.4)
    echo_db: float | None = None
    echo_delay_ms: tuple[float, float] = (150.0, 400.0)
    transient_rate_hz: float = 0.0
    sample_rate: int = 16000
    #: direct-to-reverberant ratio of a mic's own talker / of a talker across the table
    drr_own_db: tuple[float, float] = DRR_OWN_DB
    drr_bleed_db: tuple[float, float] = DRR_BLEED_DB
    # The mic and browser chain (`mics.py`); all off by default, each one sweep condition.
    #: random per-mic frequency response (high-pass, low-pass, one peak)
    mic_response: bool = False
    #: automatic gain control: the gain wanders within ± this many dB during the session
    agc_db: float = 0.0
    #: the mic's noise is added after the gain (its dBFS does not follow the gain)
    noise_after_gain: bool = False
    #: noise suppression: frames near the noise are attenuated by this many dB
    noise_gate_db: float | None = None
    #: capture start offset per track (s, uniform) and clock drift (± ppm, uniform)
    capture_offset_s: tuple[float, float] = (0.0, 0.0)
    drift_ppm: float = 0.0

    @property
    def mic_chain(self) -> bool:
        """Any step after the room is on (else tracks are made exactly as before it existed)."""
        return (self.mic_response or self.agc_db > 0 or self.noise_after_gain
                or self.noise_gate_db is not None or self.capture_offset_s != (0.0, 0.0)
                or self.drift_ppm > 0)


DEFAULT_ROOM = RoomConfig()  # frozen, so safe as a shared default argument


def impulse_response(
    rng: np.random.Generator, sr: int, rt60: float, drr_db: float, delay: int = 0
) -> np.ndarray:
    """Unit-energy IR: `delay` zeros, a direct impulse, then a noise tail decaying 60 dB in
    rt60 whose energy is drr_db below the direct path's."""
    n = max(2, int(rt60 * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60)
    tail[: 1 + int(rng.uniform(0.001, 0.004) * sr)] = 0.0  # first reflection after the direct
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    tail /= np.sqrt(np.sum(tail**2))
    return np.concatenate([np.zeros(delay), tail])


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS pink-ish noise (Kellet's 3-pole 1/f approximation)."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    x = lfilter(b, a, rng.standard_normal(n + 2000))[2000:]  # drop the filter's start-up
    return x / np.sqrt(np.mean(x**2))


def _span_mask(spans: list[list[float]], n: int, sr: int) -> np.ndarray:
    m = np.zeros(n, bool)
    for a, b in spans:
        m[max(0, int(a * sr)) : int(b * sr)] = True
    return m


def _solo_masks(
    speech: dict[str, list[list[float]]], n: int, sr: int, margin_s: float = 0.3
) -> dict[str, np.ndarray]:
    """Per talker: samples where they speak and nobody else does within margin_s (clear of
    reverb tails); falls back to all their speech. Levels are set where they can be measured."""
    out = {}
    for p, spans in speech.items():
        mine = _span_mask(spans, n, sr)
        others = _span_mask(
            [[a - margin_s, b + margin_s] for q, v in speech.items() if q != p for a, b in v], n, sr
        )
        solo = mine & ~others
        out[p] = solo if solo.sum() >= sr else mine
    return out


def _rms(x: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x[mask].astype(np.float64) ** 2))) if mask.any() else 0.0


class _OverlapAdd:
    """out_i = sum_j filt_ij * src_j, sharing each source's block FFTs across all mics."""

    def __init__(self, sources: list[np.ndarray], max_filter: int, n_out: int) -> None:
        self.block = max(16384, 1 << int(np.ceil(np.log2(max_filter))))
        self.nfft = fft.next_fast_len(self.block + max_filter - 1, real=True)
        self.nb = -(-n_out // self.block)
        self.n_out = n_out
        self.spec = [fft.rfft(self._blocks(s), n=self.nfft, axis=1) for s in sources]
        w = np.full(self.nfft // 2 + 1, 2.0)  # Parseval weights of a one-sided spectrum
        w[0] = w[-1] = 1.0
        self.psd = [w * np.sum(np.abs(x) ** 2, axis=0, dtype=np.float64) for x in self.spec]

    def _blocks(self, s: np.ndarray) -> np.ndarray:
        buf = np.zeros(self.nb * self.block, np.float32)
        m = min(len(s), len(buf))
        buf[:m] = s[:m]
        return buf.reshape(self.nb, self.block)

    def filt(self, h: np.ndarray, j: int) -> np.ndarray:
        """Spectrum of h scaled to unit energy gain *for source j's long-term spectrum*: a
        random IR colours speech by up to ~1 dB, which would blur the configured levels."""
        hf = fft.rfft(h, n=self.nfft)
        p = self.psd[j]
        gain = float(np.sum(np.abs(hf) ** 2 * p) / np.sum(p)) if p.sum() > 0 else 1.0
        return (hf / np.sqrt(gain)).astype(np.complex64)

    def run(self, terms: list[tuple[int, np.ndarray]]) -> np.ndarray:
        """Filter-and-sum: terms are (source index, filter spectrum from `filt`)."""
        acc = np.zeros_like(self.spec[0])
        for j, hf in terms:
            acc += self.spec[j] * hf[None, :]
        y = fft.irfft(acc, n=self.nfft, axis=1)
        out = np.zeros((self.nb + -(-self.nfft // self.block)) * self.block, np.float64)
        for c in range(0, self.nfft, self.block):  # overlap-add the block tails
            seg = y[:, c : c + self.block]
            view = out[c : c + self.nb * self.block].reshape(self.nb, self.block)
            view[:, : seg.shape[1]] += seg
        return out[: self.n_out]


def apply_room(
    dry: dict[str, np.ndarray],
    speech: dict[str, list[list[float]]],
    cfg: RoomConfig,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict]:
    """Mic tracks (float32, peak <= 0.9, one global scale) and the sampled room parameters."""
    sr, pids = cfg.sample_rate, list(dry)
    n, n_out = len(pids), max(len(x) for x in dry.values())
    solo, src = _solo_masks(speech, n_out, sr), []
    for p in pids:  # equal speech level per talker: the gains alone set mic levels
        lvl = _rms(dry[p], solo[p])
        src.append((dry[p] * (REF_RMS / lvl if lvl > 0 else 1.0)).astype(np.float32))
    half = (cfg.gain_spread_db + GAIN_MARGIN_DB) / 2
    gains = np.linspace(-half, half, n)[rng.permutation(n)]
    bleed, delay = np.zeros((n, n)), np.zeros((n, n), int)
    for i in range(n):  # symmetric per pair: both directions share one distance
        for j in range(i + 1, n):
            bleed[i, j] = bleed[j, i] = rng.uniform(*cfg.bleed_db)
            delay[i, j] = delay[j, i] = round(rng.uniform(*cfg.bleed_delay_ms) * sr / 1000)
    rt60 = rng.uniform(*cfg.rt60_s, size=n)
    echo_delay = np.round(rng.uniform(*cfg.echo_delay_ms, size=n) * sr / 1000).astype(int)
    max_len = int(max(rt60) * sr) + max(int(delay.max()), int(echo_delay.max())) + 1
    ola = _OverlapAdd(src, max_len, n_out)
    tracks, snr, clicks, noises = {}, {}, {}, {}
    for i, p in enumerate(pids):
        g = 10 ** (gains[i] / 20)
        h_own = impulse_response(rng, sr, rt60[i], rng.uniform(*cfg.drr_own_db))
        own = ola.run([(i, ola.filt(h_own, i))])
        terms = []
        h_echo = (
            impulse_response(rng, sr, rt60[i], rng.uniform(*cfg.drr_own_db), int(echo_delay[i]))
            if cfg.echo_db is not None
            else None
        )
        for j in range(n):
            if j == i:
                continue
            h = impulse_response(
                rng, sr, rt60[i], rng.uniform(*cfg.drr_bleed_db), int(delay[i, j])
            )
            hf = ola.filt(h, j) * 10 ** (bleed[i, j] / 20)
            if h_echo is not None and cfg.echo_db is not None:
                hf += ola.filt(h_echo, j) * 10 ** (cfg.echo_db / 20)
            terms.append((j, hf))
        x = g * (own + (ola.run(terms) if terms else 0.0))
        level = g * _rms(own, solo[p]) or g * REF_RMS
        snr[p] = float(rng.uniform(*cfg.snr_db))
        noise = pink_noise(rng, n_out) * level * 10 ** (-snr[p] / 20)
        if cfg.noise_after_gain:
            noise /= g  # set in dBFS for a 0 dB gain: the floor does not follow the gain
        if cfg.mic_chain:
            noises[p] = noise  # added in the mic chain below
        else:
            x += noise
        clicks[p] = _add_transients(x, rng, sr, cfg.transient_rate_hz, level)
        tracks[p] = x
    warps = {p: (0.0, 0.0) for p in pids}
    if cfg.mic_chain:
        # Drawn after every room draw, so the room itself is the same with the chain on.
        tracks, warps = _mic_chain(
            tracks, noises, cfg, np.random.default_rng(int(rng.integers(2**63)))
        )
    peak = max(float(np.max(np.abs(x))) for x in tracks.values())
    scale = min(1.0, 0.9 / peak) if peak > 0 else 1.0
    out = {
        p: (warp_track(x * scale, *warps[p], sr) if any(warps[p]) else x * scale).astype(
            np.float32
        )
        for p, x in tracks.items()
    }
    params = {
        "gains_db": {p: round(float(gains[i]), 2) for i, p in enumerate(pids)},
        "bleed_db": {
            p: {q: round(float(bleed[i, j]), 2) for j, q in enumerate(pids) if j != i}
            for i, p in enumerate(pids)
        },
        "bleed_delay_ms": {
            p: {q: round(float(delay[i, j] * 1000 / sr), 4) for j, q in enumerate(pids) if j != i}
            for i, p in enumerate(pids)
        },
        "echo_db": cfg.echo_db,
        "echo_delay_ms": {
            p: round(float(echo_delay[i] * 1000 / sr), 4) for i, p in enumerate(pids)
        },
        "rt60_s": {p: round(float(rt60[i]), 3) for i, p in enumerate(pids)},
        "snr_db": {p: round(v, 2) for p, v in snr.items()},
        "transients": clicks,
        "speech_dbfs_at_0db_gain": round(float(20 * np.log10(REF_RMS * scale)), 2),
        "scale_db": round(float(20 * np.log10(scale)), 2),
        "warp": {p: [round(o, 4), round(d * 1e6, 1)] for p, (o, d) in warps.items()},
        "noise_after_gain": cfg.noise_after_gain,
        "agc_db": cfg.agc_db,
        "noise_gate_db": cfg.noise_gate_db,
        "mic_response": cfg.mic_response,
    }
    return out, params


def _mic_chain(
    tracks: dict[str, np.ndarray],
    noises: dict[str, np.ndarray],
    cfg: RoomConfig,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    """Gained acoustic signal (+ noise) → response → AGC → noise after gain → gate.
    Returns the tracks and each track's (capture offset s, drift) for the final warp."""
    sr = cfg.sample_rate
    out, warps = {}, {}
    for p, x in tracks.items():
        noise = noises[p]
        pre = np.zeros_like(noise) if cfg.noise_after_gain else noise
        post = noise if cfg.noise_after_gain else np.zeros_like(noise)
        sig, nz = x + pre, pre
        if cfg.mic_response:
            sos = mic_response(rng, sr)
            sig, nz = apply_response(sig, sos), apply_response(nz, sos)
        if cfg.agc_db > 0:
            agc = agc_curve(rng, len(sig), sr, cfg.agc_db)
            sig, nz = sig * agc, nz * agc
        sig, nz = sig + post, nz + post
        if cfg.noise_gate_db is not None:
            sig = noise_gate(sig, nz, cfg.noise_gate_db)
        out[p] = sig
        warps[p] = (
            float(rng.uniform(*cfg.capture_offset_s)),
            float(rng.uniform(-cfg.drift_ppm, cfg.drift_ppm)) * 1e-6,
        )
    return out, warps


def _add_transients(
    x: np.ndarray, rng: np.random.Generator, sr: int, rate: float, level: float
) -> list[float]:
    """Keyboard clicks / knocks: decaying noise bursts at Poisson times; returns their times."""
    times: list[float] = []
    if rate <= 0:
        return times
    t = rng.exponential(1 / rate)
    while t < len(x) / sr - 0.1:
        tau = rng.uniform(0.002, 0.008)
        m = int(5 * tau * sr)
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (tau * sr))
        burst *= level * 10 ** (rng.uniform(-6, 6) / 20) / np.sqrt(np.mean(burst**2))
        k = int(t * sr)
        x[k : k + m] += burst[: len(x) - k]
        times.append(round(float(t), 3))
        t += rng.exponential(1 / rate)
    return times
