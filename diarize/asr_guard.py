"""The hallucination guard: which Whisper segments become transcript text.

Whisper base invents text on audio it barely hears (a 0.8 s "可是" came back as
"何时的回忆") and loops after long turns ("这些东西,这些这些,这一些东西"). Two checks:
- confidence, from faster-whisper's own segment statistics: every segment must pass
  Whisper's loop test (compression ratio) and its silence test (no-speech probability high
  *and* log-probability low); a segment of a short job (a backchannel, a cut-off
  interjection: under `short_s`) must also be confident on its own (higher log-probability,
  lower no-speech probability, no improbable word) and hold no more text than its audio
  could (`fits_duration`), because short audio is where base makes things up;
- repetition: immediately repeated n-grams are collapsed and a clause that echoes the one
  before it is dropped (`drop_loops`).
Pure functions on the worker's results, so they are tested without the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from diarize.config import AsrConfig


@dataclass(frozen=True, slots=True)
class AsrSegment:
    """One faster-whisper segment with the statistics the guard reads."""

    text: str
    start: float  #: seconds from the job's audio[0]
    end: float
    avg_logprob: float  #: mean token log-probability (Whisper rejects < -1.0 as a failure)
    no_speech_prob: float  #: probability of the no-speech token at the segment's start
    compression_ratio: float  #: gzip ratio of the text; loops compress well (> 2.4)
    words: tuple[tuple[str, float, float, float], ...] = ()  #: (word, start, end, prob)


def keep_segment(seg: AsrSegment, job_s: float, cfg: AsrConfig) -> bool:
    """Whether a segment of a job of `job_s` seconds of speech is believed."""
    if seg.compression_ratio > cfg.max_compression_ratio:
        return False
    if seg.no_speech_prob > cfg.no_speech_threshold and seg.avg_logprob < cfg.logprob_threshold:
        return False  # Whisper's own silence rule
    if job_s < cfg.short_s:
        return (seg.avg_logprob >= cfg.short_min_logprob
                and seg.no_speech_prob <= cfg.short_max_no_speech
                and all(p >= cfg.short_min_word_prob for _, _, _, p in seg.words))
    return True


def confidence(segments: list[AsrSegment]) -> float:
    """0-1: the mean probability of the words, else exp(mean token log-probability)."""
    probs = [p for s in segments for _, _, _, p in s.words]
    if probs:
        return round(sum(probs) / len(probs), 3)
    if not segments:
        return 0.0
    return round(math.exp(sum(s.avg_logprob for s in segments) / len(segments)), 3)


_UNITS = {"zh": re.compile(r"[\u3400-\u9fff]"), "en": re.compile(r"[A-Za-z0-9']+")}


def fits_duration(text: str, job_s: float, language: str, cfg: AsrConfig) -> bool:
    """A short job's text must be speakable in its audio (longer jobs: always true)."""
    if job_s >= cfg.short_s:
        return True
    units = len(_UNITS.get(language, _UNITS["en"]).findall(text))
    return units <= 1 + cfg.short_max_units_per_s * job_s


_PUNCT = " ,，。.、!！?？:：;；"
# zh: a unit of 2-8 characters repeated straight away (punctuation between allowed), or one
# character three times or more ("处处处"); 对对 / 看看 / 谢谢 are words, not loops.
_ZH_REPEAT = re.compile(r"(\S{2,8}?)(?:[ ,，、。]*\1)+")
_ZH_TRIPLE = re.compile(r"(\S)\1{2,}")
# en: one to four words repeated three times or more ("no, no," is speech; a third is not).
_EN_REPEAT = re.compile(r"\b(\w+(?:[ ,]+\w+){0,3})(?:[ ,]+\1\b){2,}", re.IGNORECASE)


def drop_loops(text: str, language: str) -> str:
    """Repeated n-grams collapsed to one copy; a clause echoing the previous one dropped."""
    if language == "zh":
        prev = None
        while prev != text:  # collapsing can expose a new repeat: 这些这些东西这些东西
            prev = text
            text = _ZH_REPEAT.sub(r"\1", _ZH_TRIPLE.sub(r"\1", text))
        return _drop_echoes(text)
    return _EN_REPEAT.sub(r"\1", text)


def _drop_echoes(text: str) -> str:
    parts = re.split(r"([,，、。!！?？;；])", text)  # clause, sep, clause, sep, ...
    out: list[str] = []
    last = ""
    for k in range(0, len(parts), 2):
        clause, sep = parts[k], parts[k + 1] if k + 1 < len(parts) else ""
        c = clause.strip()
        if last and len(c) >= 2 and (c in last or edit_distance(c, last) <= len(c) // 3):
            continue  # 这些 after 这些东西, 这一些东西 after 这些东西
        out.append(clause + sep)
        if c:
            last = c
    return "".join(out).strip(_PUNCT)


def edit_distance(a: Sequence[object], b: Sequence[object]) -> int:
    """Levenshtein distance between two sequences (characters, words)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def count_units(text: str, language: str) -> int:
    """Characters (zh) or words (other languages) in a text."""
    return len(_UNITS.get(language, _UNITS["en"]).findall(text))


def sounds(text: str, language: str) -> set[str]:
    """The sounds of a text's units (hanzi as toneless pinyin, else lower-case words)."""
    return {_sound(u, language) for u in _UNITS.get(language, _UNITS["en"]).findall(text)}


def _sound(unit: str, language: str) -> str:
    """What a unit sounds like, to compare across mics: toneless pinyin of a hanzi (bleed
    heard through another mic is often written with a homophone), else the lower-case word."""
    if language == "zh" and _UNITS["zh"].fullmatch(unit):
        from pypinyin import lazy_pinyin

        return str(lazy_pinyin(unit)[0])
    return unit.lower()


def drop_echo(text: str, others: set[str], short: bool, language: str) -> str:
    """The line, or "" when it is an echo of other candidates' words said at the same time.

    `others`: the sounds (`sounds`) of the words other candidates were transcribed saying
    around this line's time, in longer lines than this one. A line half or more made of
    such sounds is their bleed, not this candidate's speech (seen on the tune voices: a
    1.2 s stretch at the session's start, "我们开始吧", the leader's onset heard in another
    mic while the activity stage gave the leader only "开始吧…"). A short line (a
    backchannel or cut-off interjection sits inside someone else's turn, so its mic carries
    that turn's bleed) goes with a single such sound: it cannot be told from the bleed, and
    cutting the sound out instead left wrong text ("我觉得" -> "觉得"). Longer lines keep
    a shared word: two people may say the same word at once."""
    units = _UNITS.get(language, _UNITS["en"]).findall(text)
    if not units or not others:
        return text
    echoed = sum(_sound(u, language) in others for u in units)
    if 2 * echoed >= len(units) or (short and echoed):
        return ""
    return text
