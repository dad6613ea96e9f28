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
mixed without delay).

Tracks captured at different moments (browsers live, separate recorders) add an offset to
every lag of a pair: its owners' voices sit at o + d and o - d' instead of ±d. Once both
owners have been heard, the centre of the pair's strong lags is that offset. Each mic's
offset is solved from its pairs' and tracked (clocks drift); every mic's block is then read
shifted by it, so the blocks hold the same sound (a 100 ms block 65 ms off shares a third of
it) and each mic's labels land on its own frames. Until a pair's offset is known it is
searched over ±`tdoa_max_offset_ms` for evidence, but only lags within ±`tdoa_max_lag_ms`
of zero are believed (the tracks may be aligned: one recorder).

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
#: While a pair's offset is unknown, a longer stretch is surveyed once a second for it (a
#: 100 ms block shares too little sound with a track 100+ ms off): its length and FFT size,
#: and how often (frames)
SURVEY_SAMPLES = 8000
SURVEY_NFFT = 16384
SURVEY_EVERY = 100
#: band used for the phase transform (Hz): below it room noise and hum, above it little
#: speech energy at 16 kHz sampling
BAND_HZ = (200.0, 5000.0)
#: strong lags kept per pair to check that its lags are centred on zero (no capture offset)
KEEP_LAGS = 40
#: strong lags a pair needs before its centre is judged
MIN_CENTRE_LAGS = 20
#: a voice's lags in a pair: at least this many (or 10 % of them) within this many ms
CLUSTER_MIN = 3
CLUSTER_MS = 0.5


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
        # lags the FFT holds without wrapping round: a searched window must stay inside
        self.reach = NFFT - self.block * hop
        # searched per block while a pair's offset is unknown (the FFT's reach)
        self.max_offset = min(int(round(config.tdoa_max_offset_ms * sr / 1000)),
                              self.reach - self.max_lag)
        if self.max_lag > self.reach:
            raise ValueError("tdoa block + max lag exceed the FFT size")
        freqs = np.fft.rfftfreq(NFFT, 1.0 / sr)
        self._band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])  # (NFFT//2+1,) bool
        freqs = np.fft.rfftfreq(SURVEY_NFFT, 1.0 / sr)
        self._survey_band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
        self.survey_offset = min(int(round(config.tdoa_max_offset_ms * sr / 1000)),
                                 SURVEY_NFFT - SURVEY_SAMPLES - 1)
        # recent input: (n, samples), column 0 is sample `_base`
        self._audio = np.zeros((n, 0), np.float32)
        self._base = 0
        self.done = 0  #: first frame not yet labelled (block-aligned)
        # strong lags per pair (i < j), in samples (the lower mic's lead, offset included),
        # and the pair's offset: their centre, once both owners have been heard
        self._lags: dict[tuple[int, int], deque[float]] = {}
        self.offsets: dict[tuple[int, int], float] = {}
        self._solved: dict[tuple[int, int], float] = {}  # the offsets `shift` was solved on
        # (n,) samples each mic's block is read before the common one (<= 0): its offset
        # against the latest mic; all 0 while every offset is within the centre tolerance
        self.shift = np.zeros(n, np.int64)
        self._stale = False  # an offset changed since `shift` was solved
        #: farthest a mic's block is read back (samples), and its labels land (frames)
        self.max_shift = 2 * self.survey_offset
        self.shift_frames = -(-self.max_shift // hop)
        self.blocks = 0  #: blocks looked at
        self.labelled = 0  #: blocks that got a direction
        self.cpu_s = 0.0  #: thread CPU time spent labelling

    def push(self, block: np.ndarray) -> None:
        """block: (n, samples) float32, the samples the activity stage gets."""
        self._audio = np.concatenate([self._audio, block], axis=1)

    def forget_before(self, frame: int) -> None:
        drop = (frame - self.block) * self.hop - max(self.max_shift, SURVEY_SAMPLES) - self._base
        if drop > 0:
            self._audio = self._audio[:, drop:]
            self._base += drop

    def label(self, end: int, prob: np.ndarray, prob_start: int) -> tuple[int, np.ndarray]:
        """Direction labels of the whole steps in [done, end): +1 the block's dominant voice
        is this mic owner's, -1 this mic carries another mic owner's dominant voice, 0 no
        evidence. Each mic's labels land on its own frames (read `shift` before the others:
        up to `shift_frames` before `done`). prob: (n, frames) VAD probability from frame
        `prob_start` (from `done` + step - block - shift_frames on).
        → (first frame, (n, frames) int8); 0 where this call says nothing."""
        t0 = time.thread_time()
        start, st = self.done, self.step
        k = max(0, (end - start) // st)
        first = start - self.shift_frames
        out = np.zeros((self.n, k * st + self.shift_frames), np.int8)
        rows = np.arange(self.n)
        used = 0  # frames before `start` some mic's labels landed on
        for b in range(k):
            a = start + (b + 1) * st - self.block  # the block ending with this step
            stop = a + self.block
            if stop // SURVEY_EVERY > (stop - st) // SURVEY_EVERY:  # at fixed frames
                self._survey(stop, prob, prob_start)
            if self._stale:
                self._solve_shift()
            back = -(self.shift // self.hop)  # (n,) frames each mic is read back (ceil)
            if a - int(back.max()) < prob_start:
                continue
            lab = self._block(a, prob, prob_start)
            if lab is None:
                continue
            sh = -np.round(-self.shift / self.hop).astype(np.int64)  # (n,) frames, <= 0
            used = max(used, int(-sh.min()))
            for f in range(b * st, (b + 1) * st):  # this step's frames, each mic's own
                out[rows, f + self.shift_frames + sh] = lab
        self.done = start + k * st
        self.forget_before(self.done)
        self.cpu_s += time.thread_time() - t0
        return first + self.shift_frames - used, out[:, self.shift_frames - used :]

    def _survey(self, stop: int, prob: np.ndarray, prob_start: int) -> None:
        """Offset evidence for the pairs not known yet, from the stretch ending at frame
        `stop`: one lag per pair (its dominant voice's), searched over the survey's range."""
        s1 = stop * self.hop - self._base
        s0 = s1 - SURVEY_SAMPLES
        if s0 < 0 or s1 > self._audio.shape[1]:
            return
        x = self._audio[:, s0:s1]
        present = np.mean(x.astype(np.float64) ** 2, axis=1) > 1e-10
        pairs = [(i, j) for i in range(self.n) for j in range(i + 1, self.n)
                 if present[i] and present[j] and (i, j) not in self.offsets]
        seen = prob[:, max(0, stop - prob_start - SURVEY_SAMPLES // self.hop) :
                    max(0, stop - prob_start)]
        if not pairs or seen.size == 0 or not (seen.mean(axis=1) >= 0.5).any():
            return
        spec = np.fft.rfft(x, SURVEY_NFFT, axis=1)[:, self._survey_band]
        full = np.zeros(SURVEY_NFFT // 2 + 1, np.complex128)
        for i, j in pairs:
            cross = spec[i] * np.conj(spec[j])
            full[self._survey_band] = cross / np.maximum(np.abs(cross), 1e-12)
            cc = np.fft.irfft(full, SURVEY_NFFT)  # cc[τ] = Σ x_i[t+τ] x_j[t]
            lead = self._peak(cc, 0.0, self.survey_offset, SURVEY_NFFT)
            if lead is not None:
                self._add_lag((i, j), lead)

    def _solve_shift(self) -> None:
        """Each mic's offset from its pairs' (least squares: a pair's offset is the later
        mic's minus the earlier's), as read shifts against the latest mic. Small offsets
        are left to each pair's own centring (a 100 ms block 15 ms off still shares most
        of its sound), and so are pairs judged from an owner and a third voice before the
        other owner was heard: such an estimate is off by at most half a bleed delay."""
        self._stale = False
        self._solved = dict(self.offsets)
        pairs = list(self.offsets.items())
        half = self.max_lag / 2
        if not pairs or max(abs(c) for _, c in pairs) <= half:
            self.shift[:] = 0  # aligned tracks (one recorder) are read as they are
            return
        a = np.zeros((len(pairs) + self.n, self.n))
        y = np.zeros(len(pairs) + self.n)
        for r, ((i, j), c) in enumerate(pairs):
            a[r, j], a[r, i], y[r] = 1.0, -1.0, c
        a[len(pairs) :] = 1e-3 * np.eye(self.n)  # mics no pair reaches stay where they are
        off = np.linalg.lstsq(a, y, rcond=None)[0]
        if np.abs(a[: len(pairs)] @ off - y[: len(pairs)]).max() > half:
            self.shift[:] = 0  # the pairs disagree (i→j + j→k ≠ i→k) beyond that
            return
        self.shift = np.maximum(np.round(off - off.max()), -self.max_shift).astype(np.int64)

    def _block(self, a: int, prob: np.ndarray, prob_start: int) -> np.ndarray | None:
        """(n,) int8 labels of the block starting at frame a (each mic read `shift` before
        it), or None (no evidence)."""
        n_s = self.block * self.hop
        s0 = a * self.hop - self._base + self.shift  # (n,) each mic's first sample
        if s0.min() < 0 or s0.max() + n_s > self._audio.shape[1]:
            return None
        x = np.stack([self._audio[m, s0[m] : s0[m] + n_s] for m in range(self.n)])
        f0 = a - prob_start - np.round(-self.shift / self.hop).astype(np.int64)
        talking = np.array([prob[m, f0[m] : f0[m] + self.block].mean() >= 0.5
                            for m in range(self.n)])
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
        leads, seen = self._leads(spec, ref, present)
        ahead = [k for k, v in leads.items() if v is not None and v <= -self.min_sep]
        if ahead:
            ref = min(ahead, key=lambda k: leads[k])  # type: ignore[arg-type, return-value]
            leads, more = self._leads(spec, ref, present)
            seen += more
        for pair, lag in seen:
            self._add_lag(pair, lag)
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
        return self._leads(spec, ref, np.ones(self.n, bool))[0]

    def _leads(self, spec: np.ndarray, ref: int, present: np.ndarray
               ) -> tuple[dict[int, float | None], list[tuple[tuple[int, int], float]]]:
        """How many samples mic `ref` leads each other present mic by, the pair's capture
        offset taken off (None: no clear peak, or one outside the believed range); and the
        clear lags seen, per pair (the lower mic's lead, offset included)."""
        others = [k for k in range(self.n) if k != ref and present[k]]
        cross = spec[ref][None, :] * np.conj(spec[others])  # (m, bins)
        cross /= np.maximum(np.abs(cross), 1e-12)
        full = np.zeros((len(others), NFFT // 2 + 1), np.complex128)
        full[:, self._band] = cross
        cc = np.fft.irfft(full, NFFT, axis=1)  # (m, NFFT): cc[τ] = Σ x_ref[t+τ] x_k[t]
        out: dict[int, float | None] = {}
        seen: list[tuple[tuple[int, int], float]] = []
        for row, k in enumerate(others):
            pair = (min(ref, k), max(ref, k))
            sign = 1.0 if ref < k else -1.0  # the pair's lags are the lower mic's lead
            offset = self.offsets.get(pair)
            read = float(self.shift[k] - self.shift[ref])  # lead the shifted reads took off
            # what is left of the pair's offset after the reads (it need not agree exactly
            # with the mics' solved offsets); within the centre tolerance it is left alone
            # (one recorder, the owners at different distances from each other's mics)
            rest = 0.0 if offset is None else sign * offset - read
            shift = 0.0 if abs(rest) <= self.max_centre else rest
            if offset is None and self.max_offset > self.max_lag:
                # not known yet: the wide search (a narrow one would take the sidelobe of a
                # peak just outside it), but a lag beyond the usual range is evidence only
                lead = self._peak(cc[row], 0.0, self.max_offset)
                if lead is not None and abs(lead) > self.max_lag:
                    seen.append((pair, sign * (lead + read)))
                    out[k] = None
                    continue
            else:
                lead = self._peak(cc[row], shift, self.max_lag)
            if lead is not None:
                seen.append((pair, sign * (lead + read)))
                lead -= shift
            out[k] = lead
        return out, seen

    def _peak(self, cc: np.ndarray, centre: float, half: int, nfft: int = NFFT) -> float | None:
        """The lead (samples) of cc's clear peak within ±half of `centre`, or None."""
        c = int(round(centre))
        if nfft == NFFT and abs(c) + half > self.reach:
            return None
        taus = np.arange(-c - half, -c + half + 1)  # x_ref(t + τ) ≈ x_k(t): lead = -τ
        w = cc[taus % nfft]
        p = int(np.argmax(w))
        if p in (0, w.size - 1):
            return None  # the flank of a peak outside the window, not a peak
        peak = w[p]
        excl = max(2, int(round(self.min_sep)))
        rest = np.concatenate([w[: max(0, p - excl)], w[p + excl + 1 :]])
        if rest.size == 0 or peak < self.min_peak * max(float(rest.max()), 1e-12):
            return None
        lag = float(taus[p])
        # sub-sample peak (parabola through the peak and its neighbours)
        den = w[p - 1] - 2 * peak + w[p + 1]
        if den < 0:
            lag += 0.5 * (w[p - 1] - w[p + 1]) / den
        return -lag

    def _add_lag(self, pair: tuple[int, int], signed: float) -> None:
        hist = self._lags.setdefault(pair, deque(maxlen=KEEP_LAGS))
        hist.append(signed)
        self._track_offset(pair, hist)

    def _track_offset(self, pair: tuple[int, int], hist: deque[float]) -> None:
        """The pair's offset: halfway between its two owners' lags. Every other voice's lag
        lies between theirs (no path between two mics is shorter than the straight one), so
        they are the lowest and the highest tight cluster of its recent strong lags (recent:
        clocks drift, up to 12 ms a minute at 200 ppm). Judged only once both owners have
        been heard (the two ends apart)."""
        if len(hist) < MIN_CENTRE_LAGS:
            return
        lags = np.sort(np.fromiter(hist, float))
        m = max(CLUSTER_MIN, len(lags) // 10)  # a cluster: m lags within CLUSTER_MS
        tight = np.flatnonzero(lags[m - 1 :] - lags[: len(lags) - m + 1]
                               <= CLUSTER_MS * self.sr / 1000)
        if tight.size == 0:
            return
        lo = float(np.median(lags[tight[0] : tight[0] + m]))
        hi = float(np.median(lags[tight[-1] : tight[-1] + m]))
        if 2 * self.min_sep <= hi - lo <= 2 * self.max_lag:
            centre = (lo + hi) / 2
            if abs(centre - self._solved.get(pair, np.inf)) >= 0.5:  # samples
                self._stale = True
            self.offsets[pair] = centre
