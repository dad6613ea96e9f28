"""Settings of the nonverbal stages (voice prosody, face cues). The only copy of each default;
reasons in docs/nonverbal.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProsodyConfig:
    #: pitch search range: covers low male (~70 Hz) to high female/child voices.
    f0_min_hz: float = 60.0
    f0_max_hz: float = 500.0
    #: YIN absolute threshold (the paper's 0.10-0.15); higher accepts breathier frames.
    yin_threshold: float = 0.15
    #: YIN integration window: two periods of the lowest pitch would be 33 ms; 25 ms keeps
    #: the cost down and still holds 1.5 periods of a 60 Hz voice.
    yin_window_s: float = 0.025
    #: frames quieter than this below the stretch's loud frames are pause, not voice.
    voice_floor_db: float = 25.0
    #: a syllable nucleus is a voiced level peak with a dip of this much before it
    #: (de Jong & Wempe 2009 use 2 dB on intensity).
    nucleus_dip_db: float = 1.5
    #: level smoothing before nucleus picking (about one syllable's attack).
    smooth_s: float = 0.04
    #: nuclei closer than this are one syllable (speech rarely exceeds 8-9 syllables/s).
    nucleus_min_gap_s: float = 0.1
    #: a long stretch of speech is measured in pieces of this length, so a reaction can be
    #: read seconds after a trigger instead of at the end of a long turn.
    segment_s: float = 2.0
    #: stretches (or the tail piece) shorter than this are too short for rate and pitch
    #: spread (backchannels are 0.2-0.6 s).
    min_segment_s: float = 0.6
    #: the personal baseline is the candidate's first this-many seconds of own speech.
    baseline_speech_s: float = 30.0
    #: smallest spread assumed for each measure when forming z-scores, so a monotonous
    #: baseline does not turn noise into large deviations (semitones, dB, syllables/s, ratio).
    min_sd_pitch_st: float = 1.0
    min_sd_loudness_db: float = 1.5
    min_sd_rate_sps: float = 0.4
    min_sd_pause_ratio: float = 0.05
    min_sd_var: float = 0.5
    #: audio kept per track (bounded memory); speech decisions lag by ~1 s.
    history_s: float = 20.0


@dataclass(frozen=True, slots=True)
class FaceConfig:
    #: frames analysed per second per candidate (the caller samples at this rate).
    fps: float = 4.0
    #: one FaceCue per candidate per window.
    window_s: float = 2.0
    #: no frame for this long → status camera_off.
    camera_off_s: float = 3.0
    #: mean luma (0-255) under which a frame without a face counts as too dark.
    dark_luma: float = 40.0
    #: face-mesh detection / tracking confidence (mediapipe defaults 0.5).
    min_confidence: float = 0.5
    #: head turned further than this (degrees, landmark estimate) is not looking at the screen.
    looking_max_deg: float = 25.0
    #: a nod: the nose moves down and back up by at least this many inter-ocular distances
    #: within `nod_max_s`; a shake: the same sideways.
    nod_min_iod: float = 0.08
    nod_max_s: float = 2.0
    #: eye aspect ratio under which the eye counts as closed (open eyes ~0.25-0.35).
    blink_ear: float = 0.15
    #: frames of the personal neutral reference (median) for smile/brow/jaw measures.
    reference_frames: int = 40
