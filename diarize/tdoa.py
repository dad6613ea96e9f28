"""Arrival-time direction cue (TDOA): which mic a voice reached first, whatever the gains.

A voice reaches its owner's mic (centimetres away) before any other mic (1-3 m away:
room bleed arrives 3-15 ms later). The lag between two mics' *samples* is measured by
GCC-PHAT, which whitens the cross-spectrum, so neither the mics' gains, their noise floors
after the gain, a noise gate nor their frequency responses move the peak. In a short block
where one voice dominates, its owner's mic leads every other mic that hears it: that block
is "voice m alone" for the coupling estimate (`crosstalk.py`), whatever the levels say, and
the mics it leads carry m's voice, not their owner's. Level coupling keeps doing overlaps
and timing; this only breaks the circle where gains are estimated from couplings measured
on frames that were picked with those same gains.

Where two voices overlap the cross-correlation has two peaks (each voice's power times the
other mic's bleed of it: the gains cancel), so no peak stands out and the block abstains.
It also abstains when the lead is under `tdoa_min_sep_ms` (mics at equal distance, bleed
mixed without delay) and when a pair's lags are not centred on zero (tracks captured at
different moments, as browsers do live: the offset would mix with the lead; first slice,
offsets are not estimated).

A plain synchronous part of the speech-activity stage, called at its re-estimates (fixed
frames), so live and file input label the same blocks.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from diarize.config import ActivityConfig

#: FFT size of one block's GCC: block samples + the largest lag searched, without wrap
NFFT = 4096
#: band used for the phase transform (Hz): below it room noise and hum, above it little
#: speech energy at 16 kHz sampling
BAND_HZ = (200.0, 5000.0)
#: strong lags kept per pair to check that its lags are centred on zero (no capture offset)
KEEP_LAGS = 200
#: strong lags a pair needs before its centre is judged
MIN_CENTRE_LAGS = 20


class ArrivalCue:
    """Per-block direction labels for n mics from the arrival order of the dominant voice."""

    def __init__(self, n: int, config: ActivityConfig, hop: int, sr: int = 16000,
                 step: int | None = None) -> None:
        self.n = n
        self.hop = hop
        self.sr = sr
        self.block = max(1, int(round(config.tdoa_block_s * sr / hop)))  # frames per block
        # frames labelled per block: the block's own frames, or (step < block) the last
        # `step` frames of a block ending with them (overlapping blocks, labels sooner)
        self.step = min(step or self.block, self.block)
        self.max_lag = int(round(config.tdoa_max_lag_ms * sr / 1000))  # samples
        self.min_sep = config.tdoa_min_sep_ms * sr / 1000  # samples
        self.min_peak = config.tdoa_min_peak
        self.max_centre = config.tdoa_max_centre_ms * sr / 1000
        if self.block * hop + self.max_lag > NFFT:
            raise ValueError("tdoa block + max lag exceed the FFT size")
        freqs = np.fft.rfftfreq(NFFT, 1.0 / sr)
        self._band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])  # (NFFT//2+1,) bool
        # recent input: (n, samples), column 0 is sample `_base`
        self._audio = np.zeros((n, 0), np.float32)
        self._base = 0
        self.done = 0  #: first frame not yet labelled (block-aligned)
        # strong lags per pair (i < j), in samples, for the centre check
        self._lags: dict[tuple[int, int], deque[float]] = {}
        self.blocks = 0  #: blocks looked at
        self.labelled = 0  #: blocks that got a direction
        self.cpu_s = 0.0  #: thread CPU time spent labelling

    def push(self, block: np.ndarray) -> None:
        """block: (n, samples) float32, the samples the activity stage gets."""
        self._audio = np.concatenate([self._audio, block], axis=1)

    def forget_before(self, frame: int) -> None:
        drop = (frame - self.block) * self.hop - self._base
        if drop > 0:
            self._audio = self._audio[:, drop:]
            self._base += drop

    def label(self, end: int, prob: np.ndarray, prob_start: int) -> tuple[int, np.ndarray]:
        """Direction labels of the whole steps in [done, end): +1 the block's dominant voice
        is this mic owner's, -1 this mic carries another mic owner's dominant voice, 0 no
        evidence. prob: (n, frames) VAD probability from frame `prob_start` (from `done` +
        step - block on). → (first frame, (n, k·step) int8)."""
        t0 = time.thread_time()
        start, st = self.done, self.step
        k = max(0, (end - start) // st)
        out = np.zeros((self.n, k * st), np.int8)
        for b in range(k):
            a = start + (b + 1) * st - self.block  # the block ending with this step
            if a < prob_start:
                continue
            lab = self._block(a, prob[:, a - prob_start : a - prob_start + self.block])
            if lab is not None:
                out[:, b * st : (b + 1) * st] = lab[:, None]
        self.done = start + k * st
        self.forget_before(self.done)
        self.cpu_s += time.thread_time() - t0
        return start, out

    def _block(self, a: int, prob: np.ndarray) -> np.ndarray | None:
        """(n,) int8 labels of the block starting at frame a, or None (no evidence)."""
        s0 = a * self.hop - self._base
        x = self._audio[:, s0 : s0 + self.block * self.hop]  # (n, samples)
        if s0 < 0 or x.shape[1] < self.block * self.hop:
            return None
        talking = prob.mean(axis=1) >= 0.5
        if not talking.any():
            return None
        power = np.mean(x.astype(np.float64) ** 2, axis=1)
        present = power > 1e-10  # digital silence (absence) has no arrival time
        if present.sum() < 2 or not (talking & present).any():
            return None
        self.blocks += 1
        spec = np.fft.rfft(x, NFFT, axis=1)[:, self._band]  # (n, bins) complex
        # Reference: the mic with the most power among the talking ones (gain-dependent,
        # only a first guess); if another mic leads it, that mic is the candidate.
        cand = np.flatnonzero(talking & present)
        ref = int(cand[np.argmax(power[cand])])
        leads = self._leads(spec, ref, present)
        ahead = [k for k, v in leads.items() if v is not None and v <= -self.min_sep]
        if ahead:
            ref = min(ahead, key=lambda k: leads[k])  # type: ignore[arg-type, return-value]
            leads = self._leads(spec, ref, present)
        strong = {k: v for k, v in leads.items() if v is not None}
        others = int(present.sum()) - 1
        if len(strong) < others:
            # Every present mic must show the lead: where one pair has no clear peak, a
            # third voice can put a quiet mic "first" against the rest (its bleed reaches
            # this mic before theirs), and real rooms put no mic before its owner's.
            return None
        if any(v < self.min_sep for v in strong.values()):
            return None  # not first everywhere: overlap, equal distances or an offset
        lab = np.zeros(self.n, np.int8)
        lab[ref] = 1
        for k in strong:
            lab[k] = -1
        self.labelled += 1
        return lab

    def leads(self, x: np.ndarray, ref: int) -> dict[int, float | None]:
        """x: (n, samples) one block of every mic; how many samples mic `ref` leads each
        other mic by (None: no clear peak)."""
        spec = np.fft.rfft(x, NFFT, axis=1)[:, self._band]
        return self._leads(spec, ref, np.ones(self.n, bool))

    def _leads(self, spec: np.ndarray, ref: int, present: np.ndarray) -> dict[int, float | None]:
        """How many samples mic `ref` leads each other present mic by (None: no clear
        peak, or the pair's lags are off-centre)."""
        others = [k for k in range(self.n) if k != ref and present[k]]
        cross = spec[ref][None, :] * np.conj(spec[others])  # (m, bins)
        cross /= np.maximum(np.abs(cross), 1e-12)
        full = np.zeros((len(others), NFFT // 2 + 1), np.complex128)
        full[:, self._band] = cross
        cc = np.fft.irfft(full, NFFT, axis=1)  # (m, NFFT): cc[τ] = Σ x_ref[t+τ] x_k[t]
        L = self.max_lag
        win = np.concatenate([cc[:, NFFT - L :], cc[:, : L + 1]], axis=1)  # lags -L..L
        out: dict[int, float | None] = {}
        excl = max(2, int(round(self.min_sep)))
        for row, k in enumerate(others):
            w = win[row]
            p = int(np.argmax(w))
            peak = w[p]
            rest = np.concatenate([w[: max(0, p - excl)], w[p + excl + 1 :]])
            lag = p - L  # x_ref(t + lag) ≈ x_k(t): ref leads k by -lag
            if rest.size == 0 or peak < self.min_peak * max(float(rest.max()), 1e-12):
                out[k] = None
                continue
            # sub-sample peak (parabola through the peak and its neighbours)
            if 0 < p < w.size - 1:
                den = w[p - 1] - 2 * peak + w[p + 1]
                if den < 0:
                    lag += 0.5 * (w[p - 1] - w[p + 1]) / den
            lead = -float(lag)
            pair = (min(ref, k), max(ref, k))
            signed = lead if ref < k else -lead  # lead of the lower-index mic
            hist = self._lags.setdefault(pair, deque(maxlen=KEEP_LAGS))
            hist.append(signed)
            if len(hist) >= MIN_CENTRE_LAGS:
                # Judged only once both owners have been heard (the two ends apart): one
                # owner's lag alone is off zero by its lead, not by an offset.
                lo, hi = np.percentile(np.fromiter(hist, float), [10.0, 90.0])
                if hi - lo >= 2 * self.min_sep and abs(lo + hi) / 2 > self.max_centre:
                    out[k] = None  # an offset between the tracks: the sign means nothing
                    continue
            out[k] = lead
        return out
