"""Voice prosody per candidate, on their own speech only, against a personal baseline.

A plain synchronous stage: `push(block, events)` gets the same 16 kHz block the speech
activity stage got plus the speech events that stage produced from it; stretches of a
candidate's own speech (SpeechStarted … SpeechEnded) are measured in pieces of
`segment_s` as soon as the speech-activity horizon has passed them, so a reaction can be
read seconds after a trigger. Each piece becomes a `ProsodyTurn`: pitch (YIN), its spread
in semitones, loudness and its spread, speech rate (syllable nuclei per second), pause
ratio, and z-scores against the candidate's first `baseline_speech_s` of speech.

Only the mic owner's speech is measured: others' bleed is in the mic too, but never in a
stretch the activity stage attributed to the owner alone (except during overlaps).
"""

from __future__ import annotations

import numpy as np

from core.clock import SAMPLE_RATE
from core.events import Event, ProsodyTurn, SpeechEnded, SpeechHorizon, SpeechStarted
from diarize.config import ProsodyConfig
from diarize.kernels import hop_power
from diarize.prosody_kernels import syllable_nuclei, yin_periods

HOP = 160  #: 10 ms analysis frames

#: feature -> (how z is formed, config field holding the smallest spread)
FEATURES = {
    "pitch_hz": ("semitones", "min_sd_pitch_st"),
    "pitch_var_st": ("linear", "min_sd_var"),
    "loudness_db": ("linear", "min_sd_loudness_db"),
    "loudness_var_db": ("linear", "min_sd_var"),
    "rate_sps": ("linear", "min_sd_rate_sps"),
    "pause_ratio": ("linear", "min_sd_pause_ratio"),
}


def measure(x: np.ndarray, cfg: ProsodyConfig, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """Prosodic measures of one piece of speech. x: (n,) float32, including a tail of
    `yin_window_s + 1/f0_min_hz` past the piece (YIN looks ahead). Keys whose measure is not
    defined for this piece (too few voiced frames) are left out, never guessed."""
    win = int(round(cfg.yin_window_s * sr))
    tau_min, tau_max = int(sr / cfg.f0_max_hz), int(np.ceil(sr / cfg.f0_min_hz))
    n_frames = max(0, (len(x) - win - tau_max) // HOP + 1)
    if n_frames < 5:
        return {}
    x = np.ascontiguousarray(x, np.float32)
    period, aper = yin_periods(x, HOP, win, tau_min, tau_max, cfg.yin_threshold)
    # Level of the same frames (centred on the YIN integration window).
    power = hop_power(x[None, : (n_frames + 2) * HOP], HOP)[0, :n_frames] + 1e-12
    db = 10 * np.log10(power)
    loud = np.percentile(db, 95)
    active = db > loud - cfg.voice_floor_db
    voiced = active & (period > 0)
    out: dict[str, float] = {
        "loudness_db": float(10 * np.log10(power[active].mean())),
        "loudness_var_db": float(db[active].std()),
        "pause_ratio": float(1.0 - active.mean()),
    }
    k = max(1, int(round(cfg.smooth_s * sr / HOP)))
    smooth = 10 * np.log10(np.convolve(power, np.ones(k) / k, mode="same"))
    gap = max(1, int(round(cfg.nucleus_min_gap_s * sr / HOP)))
    nuclei = syllable_nuclei(smooth, voiced, loud - cfg.voice_floor_db, cfg.nucleus_dip_db, gap)
    out["rate_sps"] = float(nuclei / (n_frames * HOP / sr))
    if voiced.sum() >= 10:
        f0 = sr / period[voiced]
        st = 12 * np.log2(f0 / np.median(f0))
        out["pitch_hz"] = float(np.median(f0))
        out["pitch_var_st"] = float(st.std())
    return out


class _Baseline:
    """A candidate's typical values, learnt from their first seconds of speech."""

    def __init__(self, cfg: ProsodyConfig) -> None:
        self.cfg = cfg
        self.speech_s = 0.0
        self.samples: dict[str, list[float]] = {k: [] for k in FEATURES}
        self.stats: dict[str, tuple[float, float]] | None = None

    def learn(self, features: dict[str, float], dur: float) -> None:
        if self.stats is not None:
            return
        for k, v in features.items():
            self.samples[k].append(np.log2(v) * 12 if FEATURES[k][0] == "semitones" else v)
        self.speech_s += dur
        if self.speech_s >= self.cfg.baseline_speech_s:
            self.stats = {
                k: (float(np.mean(v)), max(float(np.std(v)), getattr(self.cfg, FEATURES[k][1])))
                for k, v in self.samples.items()
                if len(v) >= 3
            }

    def z(self, features: dict[str, float]) -> dict[str, float]:
        if self.stats is None:
            return {}
        out = {}
        for k, v in features.items():
            if k in self.stats:
                mean, sd = self.stats[k]
                val = np.log2(v) * 12 if FEATURES[k][0] == "semitones" else v
                out[k] = round(float((val - mean) / sd), 3)
        return out


class ProsodyTracker:
    """Per-candidate prosody on their own speech; bounded audio history."""

    def __init__(self, ids: list[str], config: ProsodyConfig | None = None) -> None:
        self.ids = list(ids)
        self.config = cfg = config or ProsodyConfig()
        self._keep = int(cfg.history_s * SAMPLE_RATE)
        # (n_tracks, capacity) float32; the first _len columns hold audio from sample _base.
        # Shifted when full (every ~2 s), so appending 20 ms blocks costs no full copy.
        self._buf = np.zeros((len(self.ids), self._keep + 2 * SAMPLE_RATE), np.float32)
        self._len = 0
        self._base = 0
        self._tail = int(np.ceil((cfg.yin_window_s + 1 / cfg.f0_min_hz) * SAMPLE_RATE)) + HOP
        self._open: dict[str, float] = {}  # who -> start of the next piece of an open stretch
        self._horizon = 0.0
        self.baselines = {pid: _Baseline(cfg) for pid in self.ids}
        self.measured_s = dict.fromkeys(self.ids, 0.0)  # speech measured, for benchmarks

    # A snapshot (analysis/snapshot.py) holds only the audio a later piece can still read:
    # from the oldest open stretch or the last horizon (no later speech event starts before
    # it), less a second. Restored, the buffer has its old layout (zeros before that), so
    # it shifts at the same blocks as the original's and every later read is the same.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        oldest = min([self._horizon, *self._open.values()])
        cut = min(max(int(round((oldest - 1.0) * SAMPLE_RATE)) - self._base, 0), self._len)
        state["_buf"] = (cut, self._buf[:, cut : self._len].copy(), self._buf.shape[1])
        return state

    def __setstate__(self, state: dict) -> None:
        cut, kept, cap = state.pop("_buf")
        self.__dict__.update(state)
        self._buf = np.zeros((kept.shape[0], cap), np.float32)  # (n_tracks, capacity)
        self._buf[:, cut : self._len] = kept

    @property
    def now(self) -> float:
        return (self._base + self._len) / SAMPLE_RATE

    def _append(self, block: np.ndarray) -> None:
        k = block.shape[1]
        if self._len + k > self._buf.shape[1]:
            drop = max(0, self._len - self._keep)
            self._buf[:, : self._len - drop] = self._buf[:, drop : self._len]
            self._len -= drop
            self._base += drop
            if self._len + k > self._buf.shape[1]:  # a block longer than the slack
                grown = np.zeros((self._buf.shape[0], self._len + k), np.float32)
                grown[:, : self._len] = self._buf[:, : self._len]
                self._buf = grown
        self._buf[:, self._len : self._len + k] = block
        self._len += k

    def push(self, block: np.ndarray, events: list[Event]) -> list[Event]:
        """block: (n_tracks, n_samples) float32 16 kHz (what the speech stage got);
        events: what the speech stage returned for it."""
        self._append(np.asarray(block, np.float32))
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, SpeechStarted):
                self._open[ev.who] = ev.at
            elif isinstance(ev, SpeechEnded):
                start = self._open.pop(ev.who, ev.start)
                out += self._pieces(ev.who, start, ev.end, final=True)
            elif isinstance(ev, SpeechHorizon):
                self._horizon = ev.until
                for who, start in list(self._open.items()):
                    out += self._pieces(who, start, ev.until, final=False)
        return out

    def flush(self) -> list[Event]:
        out: list[Event] = []
        for who, start in list(self._open.items()):
            out += self._pieces(who, start, self.now, final=True)
        self._open.clear()
        return out

    def _pieces(self, who: str, start: float, end: float, final: bool) -> list[Event]:
        seg, out = self.config.segment_s, list[Event]()
        while end - start >= seg or (final and end - start >= self.config.min_segment_s):
            stop = min(start + seg, end)
            if final and end - stop < self.config.min_segment_s:
                stop = end  # a short tail joins its piece
            ev = self._measure(who, start, stop)
            if ev is not None:
                out.append(ev)
            start = stop
        if not final:
            self._open[who] = start
        return out

    def _measure(self, who: str, start: float, end: float) -> ProsodyTurn | None:
        i = self.ids.index(who)
        a = int(round(start * SAMPLE_RATE)) - self._base
        b = int(round(end * SAMPLE_RATE)) - self._base + self._tail
        x = self._buf[i, max(0, a) : max(0, min(b, self._len))]
        feats = measure(x, self.config)
        if not feats:
            return None
        dur = end - start
        self.measured_s[who] += dur
        base = self.baselines[who]
        z = base.z(feats)
        base.learn(feats, dur)
        return ProsodyTurn(
            who,
            round(start, 2),
            round(end, 2),
            {k: round(v, 4) for k, v in feats.items()},
            z,
            base.stats is not None and bool(z),
        )
