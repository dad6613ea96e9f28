"""Discourse-act settings (section `acts`, env `LGD_ACTS_<FIELD>`). The only copy of each
default; see docs/content.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ActConfig:
    #: a directory of `acts_<lang>.json` lexicons replacing the bundled ones.
    lexicons: Path | None = None
    #: an utterance is a new idea when 1 - (highest n-gram similarity to anything said
    #: before) is at least this; espeak+Whisper paraphrases of one idea score 0.3-0.6.
    novelty_min: float = 0.75
    #: ...and it has at least this many characters (zh) / words (en): short lines carry
    #: agreement or procedure, not ideas.
    novelty_min_chars_zh: int = 8
    novelty_min_words_en: int = 6
    #: a short utterance made only of backchannel words ("嗯", "对", "mm-hmm") is tagged
    #: `backchannel` (refines the timing-only detector) when it is at most this long.
    backchannel_max_s: float = 1.0
    #: utterances shorter than this carry no other act: half a second is too little for
    #: a real move, and Whisper invents words on such clips (often a neighbour's bleed).
    min_act_s: float = 0.5
