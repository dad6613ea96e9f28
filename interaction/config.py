"""Turn-taking thresholds. The only copy of each default (justified in docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass


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
