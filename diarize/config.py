"""Thresholds of the speech-activity stage. The only copy of each default (see docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActivityConfig:
    #: VAD probability above which a frame may start speech / below which it may end it
    #: (silero's own defaults: 0.5 on, 0.35 off).
    vad_on: float = 0.5
    vad_off: float = 0.35
    #: a frame is the mic owner's own speech when its power exceeds the bleed predicted
    #: from the other mics by this many dB (bleed and own speech add in power).
    own_margin_db: float = 3.0
    #: ... and exceeds the mic's noise floor by this many dB.
    noise_margin_db: float = 10.0
    #: bleed assumed before a pair's coupling has been measured: the other mic's level
    #: above its own noise floor, minus this (gain-free, since noise scales with gain).
    prior_bleed_db: float = 6.0
    #: silences shorter than this stay inside a speech stretch. Human turn gaps are
    #: ~200 ms; 250 ms keeps within-sentence pauses inside and splits at clause breaks.
    bridge_s: float = 0.25
    #: runs of own-speech frames shorter than this are ignored: single-frame blips from
    #: noise or a neighbour's reverb tail would otherwise be bridged onto real onsets.
    min_run_s: float = 0.03
    #: speech stretches shorter than this are dropped (clicks, breaths). Also the
    #: confirmation delay of a live onset. 50 ms scored the same on the accuracy benchmark
    #: but let mic gain decide whether short backchannels count (portrait fairness test).
    min_speech_s: float = 0.08
    #: decision delay: lets a mic be compared with others whose copy of a voice arrives
    #: later (room bleed 5-15 ms, relayed echo up to lookahead + max_lag). 40 ms scores the
    #: same as 100 ms on the hard benchmark sessions and cuts live onset latency by ~60 ms.
    lookahead_s: float = 0.04
    #: longest bleed/echo lag searched between two mics (speaker echo: 150-400 ms).
    max_lag_s: float = 0.5
    #: couplings, lags and noise floors are re-estimated this often, from this much history.
    update_every_s: float = 1.0
    history_s: float = 60.0
    #: quantile (%) of a voice's level ratio between two mics taken as their coupling.
    coupling_quantile: float = 50.0
    #: frames of a talker alone needed before a pair's measured coupling replaces the prior.
    min_solo_frames: int = 30
