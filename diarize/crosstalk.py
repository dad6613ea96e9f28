"""Cross-track crosstalk model: how loud, and how late, each voice is in every other mic.

Every candidate's mic also hears the others (bleed in one room: −10…−26 dB, 5–15 ms
late; relayed voices coming back through a candidate's speakers: hundreds of ms late),
and mic gains differ by 20 dB. Levels alone cannot say whose voice a mic hears, but the
*same* voice in two mics keeps a constant level ratio at the right lag. So, per pair
(mic i hears voice j), we measure that ratio (`coupling`) and lag while j talks alone,
and then explain every frame of mic i as own speech + Σ_j coupling·(mic j, lagged).
What the sum cannot explain is the mic owner's own voice; true overlaps survive because
two different voices do not keep a constant ratio.

Before a pair has been observed, a gain-free prior stands in: noise floors scale with
mic gain, so levels above each mic's own noise floor are comparable across mics.

Digital silence (exact zeros: a track before its candidate joined, or a live packet-loss
gap) is absence, not a quiet mic: it never enters a noise floor or a coupling. Counted
as noise it would put that mic's floor at −120 dB, and the prior would then read its
ordinary room noise as a voice loud enough to explain away everyone else's speech.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from diarize.config import ActivityConfig
from diarize.kernels import lag_spread, predicted_relay, to_db

#: Frame power below this is digital silence, not a microphone: a real mic's noise (even
#: 16-bit quantisation of a quiet one) stays above about −96 dB.
ABSENT_DB = -100.0
#: frames with signal needed before a mic's noise floor is estimated
MIN_FLOOR_FRAMES = 50
#: frames where two mics both hear speech needed to measure their gain difference (2 s),
#: the percentile taken as each end of their level difference, and the weight that holds
#: the gains to the noise floors where pairs say nothing
MIN_PAIR_FRAMES = 200
PAIR_PERCENTILE = 5.0
GAIN_PRIOR_WEIGHT = 0.1
#: a pair's two ends count as its owners' voices only if they are this far each side of
#: the middle (a voice is 10-26 dB weaker in a neighbour's mic than in its own)
MIN_DEPTH_DB = 8.0
#: a lead must make the level ratio's variance this much smaller than the best usual lag
LEAD_SPREAD_RATIO = 0.7
#: frames identity calls a mic owner's voice count as their solo frames only within this
#: many dB of that voice's level in its own mic (a window also spans others' short turns)
OWN_LEVEL_DB = 8.0
#: relayed echo (`_estimate_echo`): frames a voice's echo explains to within this many dB
#: are not its mic owner's solo frames
ECHO_SOLO_DB = 10.0
#: frames per pair the echo's delay is searched on (thinned evenly), and fitted on
ECHO_SEARCH_FRAMES = 500
ECHO_FIT_FRAMES = 1500
#: a pair's own echo delay is looked for this many frames each side of the mic's pooled one
#: (room paths differ by a few ms)
ECHO_REFINE = 2
#: share of a voice's power in a mic that comes by the echo path, tried when fitting the
#: two paths' levels (0: no echo; at most 0.9, i.e. the direct path 10 dB under the echo)
ECHO_MIX = (0.0, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9)
#: ... an echo is kept only if it makes the level ratio's spread (median absolute
#: deviation) this much smaller
ECHO_FIT_GAIN = 0.55
#: ... and only if it is at least this loud (gain-free dB: relative to the voice in its own mic)
ECHO_MIN_DB = -30.0
#: frames needed to fit a pair's two paths (2 s: a reverb tail on a few frames is no echo)
ECHO_MIN_FRAMES = 30
#: bleed used to read a mic's gain must stand this far above its noise floor (dB)
TRACK_MIN_DB = 6.0
#: robust re-weighting passes of the gain track (each one weighted least-squares solve)
TRACK_PASSES = 3


class CouplingModel:
    """Noise floors, couplings and lags between n mics, re-estimated from history."""

    def __init__(self, n_tracks: int, config: ActivityConfig, hop_s: float = 0.01) -> None:
        self.n = n_tracks
        self.config = config
        self.hop_s = hop_s
        # Symmetric search: bleed may lead the owner's track (capture offsets, drift).
        self.lag_min = -int(round(config.max_lead_s / hop_s))
        self.lag_max = int(round(config.max_lag_s / hop_s))
        self.base_lead = int(round(config.lookahead_s / hop_s))
        self.noise_db = np.full(n_tracks, -90.0)  # (n,) dB
        self.floor_known = np.zeros(n_tracks, bool)  # noise_db measured (else a placeholder)
        self.gain_db = np.full(n_tracks, -90.0)  # (n,) dB: what each mic's levels are read in
        self.coupling_db = np.full((n_tracks, n_tracks), -90.0)  # [i, j]: voice j in mic i
        self.lags = np.zeros((n_tracks, n_tracks), np.int64)  # frames voice j is late in mic i
        self.measured = np.zeros((n_tracks, n_tracks), bool)
        self.solo_frames = np.zeros(n_tracks, np.int64)  # per voice, in the last estimate
        self._init_echo(hop_s)
        # Gain drift of each mic (dB, per frame) over the last estimate's window, which
        # starts at absolute frame `drift_origin`; past its ends the end values hold.
        self.drift = np.zeros((n_tracks, 0))
        self._factor = np.ones((n_tracks, 0))  # 10^(-drift/10)
        self.drift_origin = 0
        self._set_prior()

    def _set_prior(self) -> None:
        for i in range(self.n):
            for j in range(self.n):
                if i != j and not self.measured[i, j]:
                    # voice j in mic i assumed prior_bleed_db below its level in mic j,
                    # in gain-free units (`gain_db`).
                    # a mic without a measured floor yet (just joined): assume equal gains
                    known = self.floor_known[i] and self.floor_known[j]
                    offset = self.gain_db[i] - self.gain_db[j] if known else 0.0
                    self.coupling_db[i, j] = offset - self.config.prior_bleed_db
                    self.lags[i, j] = 0

    def _estimate_gains(self, db: np.ndarray, active: np.ndarray) -> None:
        """Relative mic gains from the level differences of every pair of mics.

        Where both mics hear speech, mic i minus mic j is the gain difference plus ~+12 dB
        while i's owner talks (own voice vs bleed), ~−12 dB while j's owner talks, and about
        0 for anyone else: the midpoint of its high and low ends is the gain difference,
        whatever the noise floors do (converter noise, noise suppression). The pairs are
        solved together by least squares, held weakly to the noise floors (right when
        noise follows the gain) so that a mic without enough shared speech keeps those.
        db: (n, F) dB; active: (n, F) bool, speech above each mic's noise.
        """
        n, c, m = self.n, self.coupling_db, self.measured
        # A measured pair says it best: c[i, j] = g_i - g_j - depth_ij and c[j, i] =
        # g_j - g_i - depth_ji, so with one depth both ways the gain difference is their
        # half-difference, and the depth their half-sum. A pair measured one way only is
        # read with the median depth of the pairs measured both ways.
        depths = [-(c[i, j] + c[j, i]) / 2 for i in range(n) for j in range(i + 1, n)
                  if m[i, j] and m[j, i]]
        depth = float(np.median(depths)) if depths else None
        rows, rhs = [], []
        for i in range(n):
            for j in range(i + 1, n):
                if m[i, j] and m[j, i]:
                    delta = (c[i, j] - c[j, i]) / 2
                elif depth is not None and m[i, j]:
                    delta = c[i, j] + depth
                elif depth is not None and m[j, i]:
                    delta = -c[j, i] - depth
                else:
                    # Nothing measured: where both mics hear speech, mic i minus mic j is
                    # the gain difference +|bleed| while i's owner talks, -|bleed| while
                    # j's does, ~0 for anyone else: take the middle of its two ends.
                    both = active[i] & active[j]
                    if both.sum() < MIN_PAIR_FRAMES:
                        continue
                    d = db[i, both] - db[j, both]
                    lo, hi = np.percentile(d, [PAIR_PERCENTILE, 100 - PAIR_PERCENTILE])
                    if hi - lo < 2 * MIN_DEPTH_DB:
                        continue  # one owner not heard yet: the ends are not both voices
                    delta = float(hi + lo) / 2
                row = np.zeros(n)
                row[i], row[j] = 1.0, -1.0
                rows.append(row)
                rhs.append(delta)
        if not rows:
            self.gain_db = self.noise_db.copy()
            return
        reg = GAIN_PRIOR_WEIGHT * np.eye(n)
        a = np.vstack([np.array(rows), reg])
        b = np.concatenate([np.array(rhs), GAIN_PRIOR_WEIGHT * self.noise_db])
        self.gain_db = np.linalg.lstsq(a, b, rcond=None)[0]

    def gain_factor(self, a: int, b: int) -> np.ndarray:
        """(n, b - a) linear power factors that take each mic's drift out of frames [a, b)
        (`gain_drift` as 10^(-drift/10), computed once per estimate: decisions run every
        20 ms live)."""
        f = self._factor
        if f.shape[1] == 0:
            return np.ones((self.n, b - a))
        lo, hi = a - self.drift_origin, b - self.drift_origin
        if 0 <= lo and hi <= f.shape[1]:
            return f[:, lo:hi]
        return f[:, np.clip(np.arange(lo, hi), 0, f.shape[1] - 1)]

    def gain_drift(self, a: int, b: int) -> np.ndarray:
        """(n, b - a) gain drift in dB of absolute frames [a, b): what each mic's level is
        above its usual gain there (`gain_track`); zeros before any estimate, and past the
        last estimate's window its last value (decisions run up to 1 s past it)."""
        d = self.drift
        if d.shape[1] == 0:
            return np.zeros((self.n, b - a))
        idx = np.clip(np.arange(a, b) - self.drift_origin, 0, d.shape[1] - 1)
        return d[:, idx]

    def _track_gains(self, raw: np.ndarray, db: np.ndarray, present: np.ndarray,
                     solos: list[np.ndarray], prev: np.ndarray) -> np.ndarray:
        """Per-mic gain drift over the window from the frames where one voice is heard alone.

        Voice j alone at frame f, heard in mic i at f + lag: raw_i - raw_j - coupling(i, j)
        is gain_i(t) - gain_j(t) (the room part is the coupling, a median over the whole
        window). Every such pair, pooled over a few seconds, is one weighted least-squares
        problem per time bin; a voice heard in every mic gives every gain difference at
        once. Frames far off the previous track (another voice overlapping, a reverb
        tail) weigh less. raw: (n, F) dB as delivered; db: the same less the previous
        drift `prev`; solos: per voice, its solo frames. → (n, F) drift in dB.
        """
        cfg, n, F = self.config, self.n, raw.shape[1]
        step = max(1, int(round(cfg.gain_track_bin_s / self.hop_s)))
        bins = F // step + 1
        # every (voice alone, other mic) frame: bin, the two mics, and e = gain_i - gain_j
        obs_b, obs_i, obs_j, obs_e = [], [], [], []
        for j, frames in enumerate(solos):
            if frames.size == 0:
                continue
            for i in range(n):
                if i == j or not self.measured[i, j]:
                    continue
                g = frames + self.lags[i, j]
                ok = (g >= 0) & (g < F)
                f, g = frames[ok], g[ok]
                # the bleed must stand above mic i's noise to carry its gain
                keep = present[i, g] & (db[i, g] >= self.noise_db[i] + TRACK_MIN_DB)
                f, g = f[keep], g[keep]
                obs_b.append(f // step)
                obs_i.append(np.full(f.size, i))
                obs_j.append(np.full(f.size, j))
                obs_e.append(raw[i, g] - raw[j, f] - self.coupling_db[i, j])
        if not obs_b or sum(b.size for b in obs_b) == 0:
            return np.zeros((n, F))
        b_, i_, j_, e = (np.concatenate(v) for v in (obs_b, obs_i, obs_j, obs_e))
        centres = np.arange(bins) * step + (step - 1) / 2
        sigma = cfg.gain_track_s / (step * self.hop_s)
        cur = prev[:, np.minimum(np.arange(bins) * step + step // 2, F - 1)].T  # (bins, n)
        diag_idx = np.arange(n)
        for _ in range(TRACK_PASSES):
            # frames far off the current track (an overlap, a reverb tail) count less
            res = e - (cur[b_, i_] - cur[b_, j_])
            w = 1.0 / (1.0 + (res / cfg.gain_track_robust_db) ** 2)
            pair = i_ * n + j_
            key = b_ * n * n + pair
            ws = np.bincount(key, w, bins * n * n).reshape(bins, n, n)  # [b, i, j]
            es = np.bincount(key, w * e, bins * n * n).reshape(bins, n, n)
            ws = gaussian_filter1d(ws, sigma, axis=0, mode="constant")
            es = gaussian_filter1d(es, sigma, axis=0, mode="constant")
            # normal equations of gain_i - gain_j = e per bin, held to 0 by the prior
            sym = ws + ws.transpose(0, 2, 1)
            a = -sym
            a[:, diag_idx, diag_idx] = sym.sum(axis=2) + cfg.gain_track_prior
            rhs = es.sum(axis=2) - es.sum(axis=1)
            cur = np.linalg.solve(a, rhs[:, :, None])[:, :, 0]
        frames_all = np.arange(F)
        return np.stack([np.interp(frames_all, centres, cur[:, i]) for i in range(n)])

    @property
    def lead(self) -> int:
        """Frames a decision must wait for: the largest measured lead of a voice in another
        mic over its own (a negative lag), at least the base lookahead."""
        led = -self.lags[self.measured]
        return max(self.base_lead, int(led.max()) if led.size else 0)

    @property
    def coupling(self) -> np.ndarray:
        c = 10.0 ** (self.coupling_db / 10.0)
        np.fill_diagonal(c, 0.0)
        return c

    def estimate(self, db: np.ndarray, vad: np.ndarray, max_solo: int = 1500,
                 voice: np.ndarray | None = None, own_db: np.ndarray | None = None,
                 arrival: np.ndarray | None = None, origin: int | None = None) -> None:
        """Re-estimate from history. db: (n, F) smoothed frame power in dB; vad: (n, F)
        speech probability. Frames are consecutive; lags are searched within them.
        voice: (n, F) int8 identity labels (+1 the mic owner's voice, -1 another's, 0 not
        known); own_db: (n,) level of each owner's voice in their own mic (dB, -inf unknown).
        arrival: (n, F) int8 arrival-order labels (tdoa.py: +1 the dominant voice reached
        this mic first, -1 this mic carries another's, 0 not known).
        origin: absolute frame of db[:, 0]; with it (and `gain_track`) each mic's gain
        drift is tracked over the window and everything else is read without it."""
        if db.shape[1] < 50:
            return
        present = db > ABSENT_DB  # (n, F): the mic delivered signal
        track = origin is not None and self.config.gain_track and self.n >= 2
        raw = db
        if track:
            assert origin is not None
            prev = self.gain_drift(origin, origin + db.shape[1])
            db = np.where(present, db - prev, db)
        solos: list[np.ndarray] = []
        for i in range(self.n):
            if present[i].sum() >= MIN_FLOOR_FRAMES:
                self.noise_db[i] = np.percentile(db[i, present[i]], 5)
                self.floor_known[i] = True
        if self.n < 2:
            return  # one mic: nothing to couple
        q = db - self.noise_db[:, None]  # level above own noise floor
        self._estimate_gains(db, present & (vad >= 0.5) & (q >= 10.0))
        r = db - self.gain_db[:, None]  # gain-free level: comparable across mics
        # Another mic's voice counts within ±guard frames, guard = the largest lead measured
        # so far: a neighbour's own track may lag their bleed in this mic (capture
        # offsets), so at a neighbour's onset this mic holds their bleed while their own
        # mic is still quiet, which looks like voice j alone and teaches a wrong coupling.
        # No guard until a lead beyond the lookahead is measured: a fixed 0.2 s guard cost
        # solo frames and accuracy on real two-talker speech, and even a 40 ms guard
        # delayed a new talker's coupling into a phantom backchannel (portrait fairness).
        guard = self.lead if self.lead > self.base_lead else 0
        echo_db = self._echo_level(db)  # (n, F) dB or None: the echo modelled so far
        solo_of: list[np.ndarray] = []  # per voice: (F,) bool, its solo frames
        frames_of: list[np.ndarray] = []  # ... the ones used (edges trimmed, latest kept)
        updated = np.zeros((self.n, self.n), bool)  # pairs measured again just now
        for j in range(self.n):
            others = np.delete(r, j, axis=0).max(axis=0)
            if guard > 0:
                others = maximum_filter1d(others, 2 * guard + 1, mode="nearest")
            # Voice j alone: speech, well above its noise, and clearly the loudest mic
            # once gains are removed.
            solo = (vad[j] >= 0.5) & (q[j] >= 12.0) & (r[j] >= others + 3.0)
            if voice is not None and own_db is not None and self.config.identity_solo:
                # Identity decides direction where gains mislead: not j's voice → not j
                # alone; j's voice, loud in j's own mic (gain-free: near its own level),
                # and no other mic carrying its owner's voice → j alone.
                mine = (voice[j] == 1) & ~(np.delete(voice, j, axis=0) == 1).any(axis=0)
                loud = db[j] >= own_db[j] - OWN_LEVEL_DB
                solo = (solo & (voice[j] >= 0)) | (
                    (vad[j] >= 0.5) & (q[j] >= 12.0) & mine & loud)
            if arrival is not None:
                # Arrival order decides direction without gains: a block led by another
                # mic is not j alone; a block j's mic leads is j alone. Once there is
                # enough of the latter, level-picked frames (which rest on the gains being
                # right) are dropped altogether.
                first = (vad[j] >= 0.5) & (q[j] >= 12.0) & (arrival[j] == 1)
                if self.config.tdoa_only and first.sum() >= self.config.tdoa_min_frames:
                    solo = first
                else:
                    solo = (solo & (arrival[j] >= 0)) | first
            if echo_db is not None:
                # a voice's echo through this mic's speakers is not this mic's owner
                solo &= db[j] >= echo_db[j] + ECHO_SOLO_DB
            frames = np.flatnonzero(solo)
            solos.append(frames)
            # Keep away from the edges so every searched lag has data.
            frames = frames[(frames + self.lag_min >= 0) & (frames + self.lag_max < db.shape[1])]
            frames = frames[-max_solo:].astype(np.int64)
            solo_of.append(solo)
            frames_of.append(frames)
            self.solo_frames[j] = frames.size
            if frames.size < self.config.min_solo_frames:
                continue
            for i in range(self.n):
                if i == j:
                    continue
                # only where mic i delivered signal over the whole lag range searched
                both = frames[
                    present[i, frames + self.lag_min]
                    & present[i, frames]
                    & present[i, frames + self.lag_max]
                ]
                if both.size < self.config.min_solo_frames:
                    continue
                spread = lag_spread(db, both, i, j, self.lag_min, self.lag_max)
                lag = self.lag_min + int(np.argmin(spread))
                if lag < -self.base_lead:
                    # A lead is the exception (tracks captured out of step), and the wider
                    # the search the likelier a chance minimum on few frames: take it only
                    # on a second of solo speech and a clearly steadier ratio.
                    k = -self.base_lead - self.lag_min  # index of lag -base_lead
                    usual = k + int(np.argmin(spread[k:]))
                    if (both.size < self.config.min_lead_frames
                            or spread[lag - self.lag_min] > LEAD_SPREAD_RATIO * spread[usual]):
                        lag = self.lag_min + usual
                ratio = db[i, both + lag] - db[j, both]
                # A middle-low quantile: frames where i also spoke only push the ratio up,
                # while reverb spreads it both ways.
                self.coupling_db[i, j] = float(np.percentile(ratio, self.config.coupling_quantile))
                self.lags[i, j] = lag
                self.measured[i, j] = True
                updated[i, j] = True
        if self.config.echo:
            self._estimate_echo(db, present, solo_of, frames_of, updated)
        if track:
            assert origin is not None
            self.drift = self._track_gains(raw, db, present, solos, prev)
            # A mic's track is used only where it moved more than the track's own wobble
            # with constant gains (0.2-0.5 dB): such mics keep exactly today's model.
            rms = np.sqrt(np.mean(self.drift**2, axis=1))
            self.drift[rms < self.config.gain_track_min_rms_db] = 0.0
            self._factor = 10.0 ** (-self.drift / 10.0)
            self.drift_origin = origin
        self._set_prior()

    # -- relayed echo: a second, later path per mic --------------------------------------
    # A candidate's speakers play the other candidates' voices and their mic picks them up
    # again, 100-500 ms after the direct (room) path. The browser's playout delay belongs to
    # the receiving mic, so the echo trails the direct path by about one gap per mic, shared
    # by every voice: the gap is found by pooling the mic's pairs, then each pair's two
    # levels are fitted. A mic without an echo keeps gap 0 and the one-path model exactly.

    def _init_echo(self, hop_s: float) -> None:
        n = self.n
        self.hop_s = hop_s
        self.echo_gap = np.zeros(n, np.int64)  # frames mic i's echo trails the direct path
        self.echo_db = np.full((n, n), -90.0)  # [i, j]: voice j's echo in mic i (as coupling_db)
        self.echo_lags = np.zeros((n, n), np.int64)  # frames voice j's echo is late in mic i

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "echo_gap" not in state:  # a snapshot from before the echo path
            self._init_echo(0.01)

    @property
    def has_echo(self) -> bool:
        return bool((self.echo_db > -90.0).any())

    @property
    def echo_coupling(self) -> np.ndarray:
        c = np.where(self.echo_db > -90.0, 10.0 ** (self.echo_db / 10.0), 0.0)
        np.fill_diagonal(c, 0.0)
        return c

    @property
    def reach(self) -> int:
        """Frames of history a decision looks back: the longest lag searched, or with an
        echo twice the longest path (mic i's own voice is taken out of mic k's past)."""
        if not self.has_echo:
            return self.lag_max
        return 2 * max(self.lag_max, int(self.echo_lags.max()), int(self.lags.max()))

    def relay_power(self, p: np.ndarray, f0: int, f1: int, echo_only: bool = False) -> np.ndarray:
        """(n, f1 - f0) linear power each mic receives from the others' voices by both
        paths (or the echo path alone), frames [f0, f1) of p (n, F linear power); the one
        place decisions and solo frames take it from, once a mic has an echo."""
        return predicted_relay(p, self.coupling, self.lags, self.echo_coupling, self.echo_lags,
                               f0, f1, not echo_only)

    def _echo_level(self, db: np.ndarray) -> np.ndarray | None:
        """(n, F) dB each mic receives by the echo paths modelled so far (None: no echo)."""
        if not self.has_echo:
            return None
        return to_db(self.relay_power(10.0 ** (db / 10.0), 0, db.shape[1], echo_only=True))

    def _estimate_echo(self, db: np.ndarray, present: np.ndarray,
                       solo_of: list[np.ndarray], frames_of: list[np.ndarray],
                       updated: np.ndarray) -> None:
        """Each mic's echo gap, pooled over the voices it hears, then each pair's levels.

        Where voice j talks alone, mic i's level minus j's own is steadiest at the direct
        lag; an echo makes it steady again one gap later (or, if the echo is the stronger
        path and was taken for the direct one, one gap earlier). Divided by j's own level
        against itself that far apart (speech has its own rhythm), and averaged over j, the
        curve dips at the mic's gap only if there is an echo.
        """
        cfg, n_frames = self.config, db.shape[1]
        lo = int(round(cfg.echo_min_s / self.hop_s))
        hi = int(round(cfg.echo_max_s / self.hop_s))
        solos = np.array(solo_of)  # (n, F) each voice's solo frames
        n_solo = solos.sum(axis=0)
        p = 10.0 ** (db / 10.0)
        for i in range(self.n):
            curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            weight: dict[int, float] = {}
            for j in range(self.n):
                if j == i or not updated[i, j]:
                    continue
                lag, f = int(self.lags[i, j]), frames_of[j]
                f = f[(f - hi >= 0) & (f + lag - hi >= 0) & (f + max(lag, 0) + hi < n_frames)]
                f = f[present[i, f + lag - hi] & present[i, f + lag + hi]]
                if f.size > ECHO_SEARCH_FRAMES:
                    f = f[:: -(-f.size // ECHO_SEARCH_FRAMES)]
                if f.size < cfg.min_solo_frames:
                    continue
                own = np.maximum(lag_spread(db, f, j, j, lo, hi), 1e-6)
                later = lag_spread(db, f, i, j, lag + lo, lag + hi) / own
                earlier = lag_spread(db, f, i, j, lag - hi, lag - lo)[::-1] / own
                curves[j] = (later, earlier)
                weight[j] = float(np.sqrt(f.size))
            if not curves:
                continue  # nothing new about this mic: keep what was found
            pooled = sum(weight[j] * np.minimum(*curves[j]) for j in curves) / sum(weight.values())
            k = int(np.argmin(pooled))
            fitted = np.zeros(self.n, bool)
            # a minimum at either end of the range is no dip (at the short end: still the
            # direct path's own slope, a reverb tail, a lag a frame off)
            if 0 < k < pooled.size - 1 and pooled[k] <= cfg.echo_dip * float(np.median(pooled)):
                self.echo_gap[i] = lo + k
                for j, (later, earlier) in curves.items():
                    a, b = max(0, k - ECHO_REFINE), min(later.size, k + ECHO_REFINE + 1)
                    late = later[a:b].min() <= earlier[a:b].min()
                    gap = lo + a + int(np.argmin((later if late else earlier)[a:b]))
                    direct = int(self.lags[i, j]) - (0 if late else gap)
                    if direct < -self.base_lead:
                        continue  # no new lead from the echo's side
                    fitted[j] = self._fit_two_paths(i, j, direct, gap, db, p, solos, n_solo)
            else:
                self.echo_gap[i] = 0
            # a pair measured again with one path and no two-path fit: one path only
            stale = updated[i] & ~fitted
            self.echo_db[i, stale] = -90.0
            self.echo_lags[i, stale] = 0

    def _fit_two_paths(self, i: int, j: int, direct: int, gap: int, db: np.ndarray,
                       p: np.ndarray, solos: np.ndarray, n_solo: np.ndarray) -> bool:
        """Levels of voice j's direct and echo paths in mic i: mic i at frame g + direct
        holds c·P_j(g) + e·P_j(g − gap). Fitted where voice j talks alone at g or at
        g − gap, no other voice talks alone at either, and mic i's owner is not talking
        alone (the echo-only frames after j stops are in), by the share of the echo that
        makes the level ratio steadiest. False: no echo found for this pair."""
        n_frames = db.shape[1]
        solo = solos[j]
        other = (n_solo - solos[i] - solo) > 0  # another voice (not i's, not j's) alone
        g = np.arange(max(gap, -direct), n_frames - max(direct, 0))
        g = g[(solo[g] | solo[g - gap]) & ~other[g] & ~other[g - gap] & ~solos[i, g + direct]]
        g = g[-ECHO_FIT_FRAMES:]
        if g.size < ECHO_MIN_FRAMES:
            return False
        y = db[i, g + direct]
        now, then = p[j, g], p[j, g - gap]
        ratios = [y - 10.0 * np.log10(np.maximum((1 - a) * now + a * then, 1e-12))
                  for a in ECHO_MIX]
        # median absolute deviation: a few frames at a gated or noise-level source (huge
        # ratios) must not decide it, the echo has to steady the bulk of the frames
        spread = np.array([np.median(np.abs(r - np.median(r))) for r in ratios])
        best = int(np.argmin(spread))
        if ECHO_MIX[best] == 0.0 or spread[best] > ECHO_FIT_GAIN * spread[0]:
            return False
        level = float(np.percentile(ratios[best], self.config.coupling_quantile))
        mix = ECHO_MIX[best]
        if level + 10.0 * np.log10(mix) - (self.gain_db[i] - self.gain_db[j]) < ECHO_MIN_DB:
            return False  # too weak to matter (a gated mic's floor, not an echo)
        self.coupling_db[i, j] = level + 10.0 * np.log10(1 - mix)
        self.lags[i, j] = direct
        self.echo_db[i, j] = level + 10.0 * np.log10(mix)
        self.echo_lags[i, j] = direct + gap
        return True
