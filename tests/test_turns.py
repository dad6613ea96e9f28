"""Turn-taking rules on hand-made speech timelines (exact, no audio)."""

from core.events import (
    Backchannel,
    FloorTaken,
    Interruption,
    Overlap,
    ShareUpdate,
    SpeechEnded,
    SpeechHorizon,
    SpeechStarted,
    Turn,
)
from interaction.config import TurnConfig
from interaction.turns import TurnTracker


def run(stretches: dict[str, list[tuple[float, float]]], ids=("A", "B", "C")):
    """Feed stretches as diarize/ would: each event once decided, then horizons."""
    timed = []
    for who, spans in stretches.items():
        for s, e in spans:
            timed.append((s + 0.1, SpeechStarted(who, s)))
            timed.append((e + 0.25, SpeechEnded(who, s, e)))
    timed.sort(key=lambda x: x[0])
    tracker = TurnTracker(list(ids), TurnConfig())
    out = []
    t = 0.0
    for when, ev in timed:
        while t + 0.02 < when:
            t += 0.02
            out += tracker.push(SpeechHorizon(round(t - 0.25, 2)))
        out += tracker.push(ev)
    out += tracker.push(SpeechHorizon(t + 5))
    out += tracker.flush()
    return out


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


def test_plain_turns_and_shares():
    ev = run({"A": [(0.0, 3.0)], "B": [(3.4, 6.0)], "C": [(6.3, 7.0), (7.3, 9.0)]})
    assert [(t.who, t.start, t.end) for t in of(ev, Turn)] == [
        ("A", 0.0, 3.0), ("B", 3.4, 6.0), ("C", 6.3, 9.0)
    ]
    assert of(ev, Interruption) == [] and of(ev, Backchannel) == []
    final = of(ev, ShareUpdate)[-1]
    assert final.speaking_time_s == {"A": 3.0, "B": 2.6, "C": 2.4}
    assert abs(sum(final.speaking_share.values()) - 1) < 1e-3
    assert [f.who for f in of(ev, FloorTaken)] == ["A", "B", "C"]


def test_backchannel_during_a_turn_takes_no_floor():
    ev = run({"A": [(0.0, 6.0)], "B": [(2.0, 2.4)], "C": [(6.3, 8.0)]})
    assert of(ev, Backchannel) == [Backchannel("B", 2.0, "A")]
    assert [t.who for t in of(ev, Turn)] == ["A", "C"]
    assert of(ev, Interruption) == []
    assert of(ev, Overlap) == [Overlap(2.0, 2.4, ("A", "B"))]


def test_failed_interruption_holder_keeps_floor():
    ev = run({"A": [(0.0, 8.0)], "B": [(3.0, 4.5)]})
    assert of(ev, Interruption) == [Interruption("B", "A", 3.0, False)]
    assert [t.who for t in of(ev, Turn)] == ["A"]


def test_successful_interruption_takes_floor():
    ev = run({"A": [(0.0, 4.0)], "B": [(3.2, 7.0)]})
    assert of(ev, Interruption) == [Interruption("B", "A", 3.2, True)]
    assert [(t.who, t.start) for t in of(ev, Turn)] == [("A", 0.0), ("B", 3.2)]


def test_transition_overlap_is_not_an_interruption():
    ev = run({"A": [(0.0, 4.0)], "B": [(3.85, 7.0)]})
    assert of(ev, Interruption) == []
    assert [t.who for t in of(ev, Turn)] == ["A", "B"]


def test_short_burst_in_a_pause_is_feedback_long_one_takes_the_floor():
    ev = run({"A": [(0.0, 3.0), (3.6, 6.0)], "B": [(3.1, 3.4)], "C": [(6.5, 6.8), (8.0, 10.0)]})
    assert Backchannel("B", 3.1, "A") in of(ev, Backchannel)
    # C's short burst comes after a 0.5 s pause, then C speaks at length: a turn by C.
    assert [t.who for t in of(ev, Turn)] == ["A", "C"]


def test_an_event_at_the_horizon_waits_for_its_equals():
    """The horizon promises only *earlier* events. C stops at 8.25 and B starts at 8.25;
    B's start is decided first. Processed at horizon 8.25 before C's end had come in, it
    made a three-way overlap out of a hand-over (live 20 ms blocks did; 1 s blocks not)."""
    def feed(batches):
        tracker = TurnTracker(["A", "B", "C"], TurnConfig())
        out = []
        for batch in batches:
            for ev in batch:
                out += tracker.push(ev)
        return [e for e in out + tracker.flush() if isinstance(e, Overlap)]

    a, c0, b0 = SpeechStarted("A", 5.0), SpeechStarted("C", 8.17), SpeechStarted("B", 8.25)
    c1 = SpeechEnded("C", 8.17, 8.25)
    a1, b1 = SpeechEnded("A", 5.0, 9.0), SpeechEnded("B", 8.25, 9.5)
    fine = feed([[a, c0, b0, SpeechHorizon(8.25)], [c1, SpeechHorizon(8.6)], [a1, b1]])
    coarse = feed([[a, c0, b0, c1, SpeechHorizon(8.6)], [a1, b1]])
    assert fine == coarse == [Overlap(8.25, 9.0, ("A", "B"))]


def test_a_burst_just_after_another_newcomer_starts_is_no_turn():
    # D's turn ends at 39.86; B starts at 40.86, and 0.14 s later C's mic gives a 0.2 s
    # burst (seen: bleed of B's onset). C must not take the floor before B, and turns stay
    # in time order (B then responds to D, not to C).
    ev = run({"D": [(36.4, 39.86)], "B": [(40.86, 45.2)], "C": [(41.0, 41.2)],
              "A": [(46.0, 48.0)]}, ids=("A", "B", "C", "D"))
    turns = of(ev, Turn)
    assert [t.who for t in turns] == ["D", "B", "A"]
    assert [t.start for t in turns] == sorted(t.start for t in turns)
    assert of(ev, Backchannel) == [] and of(ev, Interruption) == []


def test_a_short_turn_alone_in_a_long_pause_still_takes_the_floor():
    ev = run({"A": [(0.0, 3.0)], "B": [(4.5, 4.9)], "C": [(6.5, 9.0)]})
    assert [t.who for t in of(ev, Turn)] == ["A", "B", "C"]
