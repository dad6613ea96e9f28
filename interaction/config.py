"""Settings of the interaction stages, one dataclass per stage and the only copy of each
default: turn-taking (`turns`, docs/design.md), discourse acts (`acts`, docs/content.md),
reactions (`reactions`, docs/nonverbal.md), portraits (`portraits`, docs/rubric.md).
Env: `LGD_<SECTION>_<FIELD>`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TurnConfig:
    #: a burst of speech shorter than this that does not take the floor is a backchannel
    #: (嗯 / 对 / mm-hmm are 0.2-0.6 s); at or above it, speech over the holder contests the
    #: floor (LiveKit: an interruption needs >= 0.5 s of speech).
    backchannel_max_s: float = 0.8
    #: the holder must go on speaking at least this long after the newcomer's onset for the
    #: onset to count as an interruption; shorter is an ordinary turn-transition overlap
    #: (transitions overlap by up to ~200 ms).
    interruption_min_overlap_s: float = 0.35
    #: a successful interruption: the holder stops within this time after the onset...
    yield_window_s: float = 2.5
    #: ...and stays silent this long while the interrupter goes on (a holder who resumes
    #: sooner only paused: human within-turn pauses are mostly under 0.7 s).
    hold_after_yield_s: float = 0.7
    #: a challenger's pause shorter than this does not end their burst (speech stretches
    #: split at 0.25 s pauses; an interjection often has a comma pause in it).
    burst_gap_s: float = 0.5
    #: a short burst in the holder's pause is feedback (not a turn) if the pause so far is
    #: shorter than this; within-turn pauses are mostly under 0.5-0.7 s.
    turn_pause_s: float = 0.7
    #: overlaps shorter than this are not reported (onset jitter of two voices).
    min_overlap_s: float = 0.1
    #: running totals (`ShareUpdate`) are published this often.
    share_every_s: float = 0.5


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


@dataclass(frozen=True, slots=True)
class ReactionConfig:
    #: the candidate's "next seconds" after being interrupted or challenged.
    window_s: float = 6.0
    #: extra wait past the window before deciding: the last prosody piece (segment_s) and
    #: the floor decision (yield window + hold, ~3 s) must have arrived.
    settle_s: float = 3.5
    #: voice speech needed in the window for a voice reading (s).
    min_speech_s: float = 0.8
    #: deviation (in baseline standard deviations) at which composure reaches 0.
    composure_scale: float = 3.0
    #: events older than this are dropped (bounded memory; a late challenge Act from the
    #: content stage must still find the voice pieces after it).
    history_s: float = 90.0


@dataclass(frozen=True, slots=True)
class PortraitConfig:
    #: a live `PortraitUpdate` is emitted at most this often (session seconds).
    update_every_s: float = 5.0
    #: weight of the fixed reference range in a score; the rest is the candidate's position
    #: within the group (so a strong group does not make everyone average, and a weak group
    #: does not make everyone excellent).
    absolute_weight: float = 0.7
    #: evidence moments kept per candidate and dimension (the strongest ones).
    evidence_items: int = 5
    #: affect dimensions (stress_resilience, emotional_stability, the face part of rapport)
    #: are scored only when this is "score"; "observe" and "off" leave them null. The
    #: analysis driver sets the session's resolved policy here.
    affect_policy: str = "off"
    #: at least this much session time before scores are given (too little data before).
    min_session_s: float = 10.0
    #: every count-based rate is shrunk toward its dimension's reference rate as if this
    #: much more session had been seen at that rate (docs/rubric.md, "Shrinkage"): one act
    #: in a 2-minute session is weak evidence, in a 40-minute one it is not diluted much.
    prior_s: float = 300.0

