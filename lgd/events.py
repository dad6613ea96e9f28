"""Typed events that flow one way on the bus: media → diarize → interaction → server.

Every event is a frozen, slotted dataclass whose fields are plain msgpack types
(str, int, float, bool, tuples/dicts of those). Times are seconds on the session
clock (0 = session start). Participant ids are the ids given at session creation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """A candidate became audibly speaking on their own microphone (crosstalk removed)."""

    who: str
    at: float  #: onset, session seconds


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """A stretch of a candidate's own speech ended; pauses shorter than the bridge are inside it."""

    who: str
    start: float  #: onset of this stretch
    end: float  #: offset of this stretch


@dataclass(frozen=True, slots=True)
class SpeechHorizon:
    """Every SpeechStarted/SpeechEnded with a time before `until` has been published.

    Speech decisions are final only after the bridge delay; downstream stages order the
    speech events by their own times and act on those before the horizon.
    """

    until: float


@dataclass(frozen=True, slots=True)
class FloorTaken:
    """`who` took the floor at `at` (live signal; the complete `Turn` follows when it ends)."""

    who: str
    at: float
    previous: str | None  #: the floor holder before, if any


@dataclass(frozen=True, slots=True)
class Turn:
    """A completed floor holding by one candidate."""

    who: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Overlap:
    """A stretch where two or more candidates spoke at once."""

    start: float
    end: float
    who: tuple[str, ...]  #: sorted participant ids


@dataclass(frozen=True, slots=True)
class Interruption:
    """`by` started speaking while `of` held the floor, and kept at it long enough to contest it."""

    by: str
    of: str
    at: float  #: onset of the interrupter's speech
    successful: bool  #: `of` yielded and `by` took the floor


@dataclass(frozen=True, slots=True)
class Backchannel:
    """Short feedback from `who` while `to` held the floor; takes no floor."""

    who: str
    at: float
    to: str | None  #: floor holder at the time


@dataclass(frozen=True, slots=True)
class ShareUpdate:
    """Running totals, emitted periodically so a dashboard can draw bars without replaying."""

    at: float  #: session time these totals are complete up to
    speaking_time_s: dict[str, float]
    speaking_share: dict[str, float]
    turns: dict[str, int]


@dataclass(frozen=True, slots=True)
class AnalysisLag:
    """A stage fell behind real time or lost frames; surfaced to operators, never silent."""

    stage: str
    at: float
    behind_s: float  #: how far behind the session clock the stage is
    frames_lost: int  #: audio frames that could not be analysed (goal: 0)


Event = (
    SpeechStarted
    | SpeechEnded
    | SpeechHorizon
    | FloorTaken
    | Turn
    | Overlap
    | Interruption
    | Backchannel
    | ShareUpdate
    | AnalysisLag
)

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        SpeechStarted,
        SpeechEnded,
        SpeechHorizon,
        FloorTaken,
        Turn,
        Overlap,
        Interruption,
        Backchannel,
        ShareUpdate,
        AnalysisLag,
    )
}
