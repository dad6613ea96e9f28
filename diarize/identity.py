"""Voice identity: whose voice a mic hears, whatever its gain and noise floor.

Level coupling (`crosstalk.py`) tells overlaps and timing well, but which way a voice flows
between two mics rests on levels, and levels rest on assumptions about gains and noise
floors that real mics break. A voice's timbre does not depend on either. So each mic
owner's voice is enrolled from the session itself, and stretches are scored against
every candidate's voiceprint:

- Enrolment is gain-free: in its own mic, a candidate's voice is the loudest voice (10-26
  dB above any neighbour's bleed), so a mic's voiceprint is the mean embedding of its
  loudest speech windows (within `identity_enrol_db` of the loudest seen on that mic). It
  is refined as the session goes on: a louder window raises the bar and drops the rest.
- A window is scored only where it can change a decision (cost): on a mic that claims
  own speech, or was heard carrying another's voice last time, and on loud windows while
  the mic's voiceprint is still thin.
- Its label: another candidate's voice when that voiceprint beats the mic owner's by
  `identity_margin`; the owner's own when the owner's beats every other by as much; else
  unknown.

A plain synchronous part of the speech-activity stage (called at its re-estimates, at
fixed frames), so live and file input label the same windows.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from diarize.config import ActivityConfig
from diarize.voiceprint import (
    EMBED_DIM,
    WINDOW_FRAMES,
    WINDOW_SAMPLES,
    VoiceEncoder,
    load_voice_encoder,
)

UNKNOWN = -1
#: enrolment windows kept per mic (the loudest stay; about 2 min of speech)
KEEP_WINDOWS = 120
#: speech-window levels kept per mic (10 min at one window a second)
KEEP_LEVELS = 600


class VoiceIdentity:
    """Voiceprints of n mic owners and the voice label of each mic's latest window."""

    def __init__(self, n: int, config: ActivityConfig, encoder: VoiceEncoder, hop: int) -> None:
        self.n = n
        self.config = config
        self.encoder = encoder
        self.hop = hop
        # (n, samples) recent input, `_len` of it filled; column 0 is sample `_audio_base`
        self._keep = 2 * WINDOW_SAMPLES + int(config.max_lead_s * 16000) + 16000
        self._audio = np.zeros((n, 2 * self._keep), np.float32)
        self._len = 0
        self._audio_base = 0
        self.top_db = np.full(n, -np.inf)  # loudest window seen per mic (dB)
        # (n, windows) speech-window levels per mic, embedded or not: the spread shows
        # whether the loudest windows stand above bleed yet (the owner has spoken)
        self._levels: list[deque[float]] = [deque(maxlen=KEEP_LEVELS) for _ in range(n)]
        self._windows: list[deque[tuple[float, np.ndarray]]] = [
            deque(maxlen=KEEP_WINDOWS) for _ in range(n)
        ]
        self.prints = np.zeros((n, EMBED_DIM), np.float32)  # (n, 256) unit voiceprints
        self.enrolled = np.zeros(n, bool)
        self._clips: list[np.ndarray] = [np.zeros((0, EMBED_DIM), np.float32)] * n
        self.label = np.full(n, UNKNOWN, np.int64)  # voice of each mic's latest window
        self.heard_db = np.full(n, -np.inf)  # (n,) that window's speech level in the mic (dB)
        # While the session's start is held (activity.py): every scored window, to be
        # labelled again once the prints have settled: (window end frame, mics, (k, 256)
        # embeddings, (n,) levels)
        self._kept: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.embedded = 0  #: windows embedded so far
        self.cpu_s = 0.0  #: thread CPU time spent embedding

    # A snapshot (analysis/snapshot.py) keeps the prints and the audio window, never the
    # encoder (a torch model): it is loaded again (shared per process) on restore.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["encoder"] = self.encoder.weights
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.encoder = load_voice_encoder(state["encoder"])

    def push(self, block: np.ndarray) -> None:
        """block: (n, samples) float32, the same samples the activity stage gets."""
        k = block.shape[1]
        if self._len + k > self._audio.shape[1]:
            # keep what a window can still reach; grow only for a block larger than that
            keep = min(self._len, self._keep)
            cap = max(self._audio.shape[1], keep + 2 * k)
            grown = np.zeros((self.n, cap), np.float32)
            grown[:, :keep] = self._audio[:, self._len - keep : self._len]
            self._audio_base += self._len - keep
            self._audio, self._len = grown, keep
        self._audio[:, self._len : self._len + k] = block
        self._len += k

    def update(self, end: int, speech: np.ndarray, own: np.ndarray, level_db: np.ndarray,
               everyone: bool = False) -> np.ndarray:
        """Score the window of frames [end - 160, end) where it can matter (`everyone`:
        on every mic with speech, while the session's start is held undecided).

        speech: (n,) fraction of the window's frames with VAD speech; own: (n,) fraction
        decided as the mic owner's own speech; level_db: (n,) median dB of its speech frames.
        Returns (n,) labels: a voice index per mic, or UNKNOWN.
        """
        cfg = self.config
        talking = speech >= cfg.identity_min_speech
        for i in np.flatnonzero(talking):
            self._levels[i].append(float(level_db[i]))
            if not self.enrolled[i] and self._windows[i]:
                # the owner spoke first, and only the others' quieter voices since show
                # how far their windows stand out: judged again without a new loud window
                self._refresh(int(i))
        loud = talking & (level_db >= self.top_db - cfg.identity_enrol_db)
        thin = np.array([len(w) < cfg.identity_enrol_windows for w in self._windows])
        check = talking & ((own >= cfg.identity_min_speech / 2) | (self.label != UNKNOWN)
                           | (loud & thin) | everyone)
        self.label[:] = UNKNOWN
        mics = np.flatnonzero(check)
        s0 = (end - WINDOW_FRAMES) * self.hop - self._audio_base
        if mics.size == 0 or s0 < 0 or s0 + WINDOW_SAMPLES > self._len:
            return self.label.copy()
        t0 = time.thread_time()
        emb = self.encoder.embed(self._audio[mics, s0 : s0 + WINDOW_SAMPLES])  # (k, 256)
        self.cpu_s += time.thread_time() - t0
        self.embedded += mics.size
        for e, i in zip(emb, mics, strict=True):
            if level_db[i] >= self.top_db[i] - cfg.identity_enrol_db:
                self._enrol(int(i), float(level_db[i]), e)
        for e, i in zip(emb, mics, strict=True):
            self.label[i] = self._label(int(i), e)
            self.heard_db[i] = level_db[i]
        if self._kept is not None:
            self._kept.append((end, mics, emb, np.asarray(level_db, np.float64).copy()))
        return self.label.copy()

    def relabel_kept(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The kept windows labelled with today's prints, in time order: (window end frame,
        (n,) labels, (n,) levels heard: -inf where not scored)."""
        out = []
        for end, mics, emb, level in self._kept or []:
            label = np.full(self.n, UNKNOWN, np.int64)
            heard = np.full(self.n, -np.inf)
            for e, i in zip(emb, mics, strict=True):
                label[i] = self._label(int(i), e)
                heard[i] = level[i]
            out.append((end, label, heard))
        return out

    def keep(self, on: bool) -> None:
        self._kept = [] if on else None

    def enrol_clip(self, i: int, clip: np.ndarray) -> None:
        """Enrol mic i's owner from a clip of their voice alone (a device check before the
        discussion): 1.6 s windows every 0.8 s. clip: (samples,) float32 16 kHz, ≥ 1.6 s.
        Session windows refine it as they come (the clip's stay in the mean)."""
        if len(clip) < WINDOW_SAMPLES:
            raise ValueError(f"a voice clip needs >= {WINDOW_SAMPLES / 16000:.1f} s of audio")
        step = WINDOW_SAMPLES // 2
        starts = range(0, len(clip) - WINDOW_SAMPLES + 1, step)
        windows = np.stack([clip[k : k + WINDOW_SAMPLES] for k in starts]).astype(np.float32)
        self._clips[i] = self.encoder.embed(windows)  # (k, 256)
        self._set_print(i, [])

    def _set_print(self, i: int, session: list[np.ndarray]) -> None:
        parts = [*self._clips[i], *session]
        if not parts:
            return
        m = np.mean(parts, axis=0)
        self.prints[i] = m / max(float(np.linalg.norm(m)), 1e-9)
        self.enrolled[i] = True

    def _enrol(self, i: int, level: float, e: np.ndarray) -> None:
        cfg = self.config
        self.top_db[i] = max(self.top_db[i], level)
        bar = self.top_db[i] - cfg.identity_enrol_db
        kept = [(lv, x) for lv, x in self._windows[i] if lv >= bar] + [(level, e)]
        self._windows[i].clear()
        self._windows[i].extend(kept[-KEEP_WINDOWS:])
        self._refresh(i)

    def _refresh(self, i: int) -> None:
        """A voiceprint only once its windows stand clearly above the mic's usual speech
        level (its quieter windows are the neighbours' bleed): before its owner has spoken,
        a mic's loudest windows are someone else's voice."""
        cfg = self.config
        kept = self._windows[i]
        bar = self.top_db[i] - cfg.identity_enrol_db
        low = float(np.percentile(self._levels[i], 10)) if self._levels[i] else self.top_db[i]
        self.enrolled[i] = len(self._clips[i]) > 0
        if len(kept) >= cfg.identity_min_windows and bar - low >= cfg.identity_spread_db:
            self._set_print(i, [x for _, x in kept])

    def _label(self, i: int, e: np.ndarray) -> int:
        if not self.enrolled[i] or self.enrolled.sum() < 2:
            return UNKNOWN
        score = self.prints @ e  # (n,) cosine to each voiceprint
        score[~self.enrolled] = -np.inf
        mine = score[i]
        score[i] = -np.inf
        j = int(np.argmax(score))
        margin = self.config.identity_margin
        if score[j] - mine >= margin:
            return j
        if mine - score[j] >= margin:
            return i
        return UNKNOWN
