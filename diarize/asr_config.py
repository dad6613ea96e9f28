"""Speech-recognition settings (section `asr`, env `LGD_ASR_<FIELD>`). The only copy of each
default; the reasons are in docs/content.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    #: initial prompts: a Simplified-Chinese prompt keeps Whisper from drifting to
    #: Traditional characters.
    prompt_zh: str = "以下是普通话的句子。"
    prompt_en: str = ""
