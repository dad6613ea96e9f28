"""Settings of the reaction stage (how candidates respond to interruptions and challenges)
and of the session-long nonverbal summaries. The only copy of each default."""

from __future__ import annotations

from dataclasses import dataclass


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
    #: nods per listening minute and backchannels per listening minute that count as full
    #: listening signal in the rapport summary.
    full_nods_per_min: float = 4.0
    full_backchannels_per_min: float = 2.0
