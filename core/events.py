"""Typed events that flow one way on the bus: media → diarize → interaction → server.

Every event is a frozen, slotted dataclass whose fields are plain msgpack types (str, int,
float, bool, tuples/dicts of those; `Any` = a report section as plain data). Times are
seconds on the session clock (0 = session start). Participant ids are the ids given at
session creation. A field added later has a default, so older event logs still decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class Utterance:
    """What `who` said between `start` and `end`, from their own microphone (one ASR result).

    A long turn arrives as several utterances, so text shows while the candidate is still
    speaking; each utterance is final for its own span.
    """

    who: str
    start: float
    end: float
    text: str  #: Simplified Chinese for zh sessions
    words: tuple[tuple[str, float, float], ...]  #: (word, start, end), session seconds
    language: str
    #: the ASR's confidence in the text, 0-1: mean word probability (else exp of the mean
    #: token log-probability); acts found in it are weighted by it
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Act:
    """A discourse act performed by an utterance (support, challenge, question, guide, ...)."""

    # `kind`, not `type`: the wire map's "type" key names the event class. The report's
    # `acts[].type` is this field.
    kind: str  #: support | build_on | challenge | question | guide | time_keeping | summary |
    #: invite | evidence | new_idea (more allowed)
    by: str
    to: str | None  #: addressee: the named candidate, else the previous floor holder, else None
    at: float  #: start of the utterance that performs it
    text: str  #: the utterance text
    cue: str  #: what triggered it (the matched rule or "novelty 0.71"), shown as evidence
    strength: float  #: 0..1 confidence of the rule / novelty score


@dataclass(frozen=True, slots=True)
class ProsodyTurn:
    """Voice measures over one stretch of a candidate's own speech, against their baseline."""

    who: str
    start: float
    end: float
    features: dict[str, float]  #: e.g. pitch_hz, pitch_var_st, loudness_db, rate_sps, pause_ratio
    z: dict[str, float]  #: the same keys as z-scores against the personal baseline
    baseline_ready: bool  #: False while the baseline is still being learnt


@dataclass(frozen=True, slots=True)
class FaceCue:
    """Face and head cues of one candidate over a short window of video frames."""

    who: str
    at: float  #: window end, session seconds
    status: str  #: ok | no_face | several_faces | dark | camera_off
    cues: dict[str, float]  #: looking, smile, brow_tension, jaw_tension, nod, shake, blink_rate


@dataclass(frozen=True, slots=True)
class Reaction:
    """How `who` responded in the seconds after being interrupted or challenged by `by`."""

    who: str
    at: float  #: the moment of the trigger
    trigger: str  #: interrupted | challenged
    by: str
    outcome: str  #: kept_floor | responded | yielded | silent
    cues: dict[str, float]  #: deviations from baseline (pitch_z, loudness_z, rate_z, face_tension…)
    composure: float | None  #: 0..1, 1 = no deviation from baseline; None = nothing measured


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """The exercise moved to its next phase (reading the case, opening statements, free
    discussion, the group's summary), on its timer or by the lead assessor."""

    name: str  #: reading | opening | discussion | summary (or a configured name)
    index: int  #: 0-based position in the session's sequence
    at: float  #: session time it started
    planned_s: float  #: its planned length (the timer counts it down)


@dataclass(frozen=True, slots=True)
class AudioAnalysed:
    """Every stage has analysed the session's audio up to `until`: stated every few seconds
    and at the end, so a report folded from a log knows how long the session ran."""

    until: float


@dataclass(frozen=True, slots=True)
class VoiceAttributes:
    """How a candidate's voice and microphone measure so far (the report's fairness section
    relates scores to these; they are never scored themselves)."""

    who: str
    at: float  #: session time these are complete up to
    mic_level_db: float | None  #: median level of their own speech on their own track (dBFS)
    mean_pitch_hz: float | None  #: mean voice pitch (only when the prosody stage runs)


@dataclass(frozen=True, slots=True)
class PortraitUpdate:
    """The portrait model's state at `at`: scores and ranks for the live radar, and what the
    report shows of it, exactly as computed (the report folds the latest update)."""

    at: float
    scores: dict[str, dict[str, float | None]]  #: pid -> dimension -> 0..100 or None
    ranks: dict[str, dict[str, int | None]]  #: pid -> dimension -> 1 = best in group
    #: the report's `portraits` section (scores, ranks, evidence, summary, metrics)
    portraits: dict[str, Any] = field(default_factory=dict)
    graph: dict[str, Any] = field(default_factory=dict)  #: the report's `graph` section
    #: pid -> dimension -> {value, reason, evidence}: the levels (0..1) the affect
    #: dimensions were scored from (report `nonverbal.<pid>.inputs`)
    inputs: dict[str, Any] = field(default_factory=dict)


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
    | Utterance
    | Act
    | ProsodyTurn
    | FaceCue
    | Reaction
    | PhaseStarted
    | AudioAnalysed
    | VoiceAttributes
    | PortraitUpdate
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
        Utterance,
        Act,
        ProsodyTurn,
        FaceCue,
        Reaction,
        PhaseStarted,
        AudioAnalysed,
        VoiceAttributes,
        PortraitUpdate,
    )
}
