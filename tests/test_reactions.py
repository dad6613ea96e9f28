"""Reactions to interruptions on a scripted discussion: the candidate who answers with a
raised voice (espeak-ng pitch +35, +8 dB) shows lower composure, stress-resilience and
steadiness inputs than the one who answers calmly; the report records them."""

import asyncio

import numpy as np
import pytest

from diarize.asr_config import AsrConfig
from diarize.nonverbal_config import ProsodyConfig
from interaction.nonverbal_summary import NonverbalSummary
from interaction.reactions import ReactionTracker
from lgd.events import Act, FloorTaken, ProsodyTurn, SpeechHorizon
from lgd.pipeline import SessionInfo, analyze
from lgd.settings import Settings
from lgd.synth.reactions import reaction_session

NO_ASR = AsrConfig(enabled=False)  # speech-only: these tests are about the nonverbal stages


@pytest.fixture(scope="module")
def scripted():
    session = reaction_session("zh", seed=0, baseline_s=16)
    ids = [p for p, _ in session.participants]
    x = np.stack([session.tracks[p] for p in ids]).astype(np.float32)
    settings = Settings(
        affect_analysis="score", prosody=ProsodyConfig(baseline_speech_s=14), asr=NO_ASR
    )

    async def blocks():
        for k in range(0, x.shape[1], 16000):
            yield x[:, k : k + 16000]

    info = SessionInfo("react", session.participants, "zh", "2026-11-25T00:00:00Z")
    return session, asyncio.run(analyze(info, blocks(), settings))


def test_every_scripted_interruption_gets_a_reaction(scripted):
    session, report = scripted
    got = report["reactions"]
    for want in session.truth["reactions"]:
        match = [r for r in got if r["who"] == want["who"] and abs(r["at"] - want["at"]) < 0.5]
        assert match, want
        assert match[0]["by"] == "C" and match[0]["trigger"] == "interrupted"
        assert match[0]["outcome"] == want["outcome"]  # went on / took the floor back


def test_raised_voice_lowers_composure(scripted):
    _, report = scripted
    by = {p: [r for r in report["reactions"] if r["who"] == p] for p in ("A", "B")}
    comp = {p: np.mean([r["composure"] for r in rs]) for p, rs in by.items()}
    assert comp["A"] < 0.5 < 0.8 < comp["B"]
    for r in by["A"]:
        assert r["cues"]["pitch_z"] > 1.5 and r["cues"]["loudness_z"] > 1.5
    for r in by["B"]:
        assert abs(r["cues"]["pitch_z"]) < 1.0 and abs(r["cues"]["loudness_z"]) < 1.0


def test_dimension_inputs_rank_the_calm_candidate_higher(scripted):
    _, report = scripted
    inputs = {p: report["nonverbal"][p]["inputs"] for p in ("A", "B")}
    for dim in ("stress_resilience", "emotional_stability"):
        a, b = inputs["A"][dim]["value"], inputs["B"][dim]["value"]
        assert a is not None and b is not None and a < b, dim
    assert (
        inputs["A"]["stress_resilience"]["value"] < 0.5 < inputs["B"]["stress_resilience"]["value"]
    )
    assert len(inputs["A"]["stress_resilience"]["evidence"]) == 4  # one per interruption
    assert report["affect"] == {
        "policy": "score",
        "scored": True,
        "signals": ["voice_pitch", "voice_loudness", "speech_rate", "pauses"],
    }
    assert report["nonverbal"]["A"]["voice"]["pieces"] > 10
    assert 70 < report["nonverbal"]["A"]["voice"]["pitch_hz"] < 150  # a male voice
    assert 130 < report["nonverbal"]["B"]["voice"]["pitch_hz"] < 300  # a female voice


def test_the_agitated_candidate_scores_lower_on_stress_resilience(scripted):
    """The portrait itself (policy score): A answers interruptions with raised pitch and
    loudness, B calmly; A's stress_resilience and emotional_stability are lower."""
    _, report = scripted
    dims = {p: report["portraits"][p]["dimensions"] for p in ("A", "B")}
    for dim in ("stress_resilience", "emotional_stability"):
        a, b = dims["A"][dim]["score"], dims["B"][dim]["score"]
        assert a is not None and b is not None and a < b, (dim, a, b)
        assert dims["A"][dim]["rank"] > dims["B"][dim]["rank"]
        assert dims["A"][dim]["evidence"]


def test_summary_inputs_from_the_same_events():
    """Stress resilience and steadiness: the reaction and voice pieces of two candidates."""
    s = NonverbalSummary(["a", "b"])
    rt = ReactionTracker(["a", "b"])
    events = [FloorTaken("a", 0.0, None)]
    for i in range(10):
        loud = 3.0 if i >= 6 else 0.1
        events.append(
            ProsodyTurn(
                "a",
                2.0 * i,
                2.0 * i + 2,
                {"pitch_hz": 100.0},
                {"pitch_hz": loud, "loudness_db": loud},
                True,
            )
        )
        events.append(
            ProsodyTurn(
                "b",
                2.0 * i,
                2.0 * i + 2,
                {"pitch_hz": 200.0},
                {"pitch_hz": 0.1, "loudness_db": -0.1},
                True,
            )
        )
    events += [
        Act("challenge", "b", "a", 12.0, "不对", "rule", 0.9),
        Act("challenge", "a", "b", 12.0, "不对", "rule", 0.9),
        SpeechHorizon(40.0),
    ]
    for ev in events:
        s.add(ev)
        for out in rt.push(ev):
            s.add(out)
    a, b = s.stress_resilience("a"), s.stress_resilience("b")
    assert a.value is not None and b.value is not None and a.value < b.value
    assert s.emotional_stability("a").value < s.emotional_stability("b").value
    assert s.dimension_inputs("a", "observe")["stress_resilience"].value is None
    assert "observe" in s.dimension_inputs("a", "observe")["rapport"].reason


def test_face_tension_and_listening_signals():
    """A frown after a challenge lowers composure; nods, smiles and attention while another
    candidate holds the floor raise the rapport input; no camera → no face claims."""
    from lgd.events import Backchannel, FaceCue

    ids = ["a", "b", "c"]
    s, rt = NonverbalSummary(ids), ReactionTracker(ids)
    events: list = [FloorTaken("c", 0.0, None)]
    for i in range(1, 30):
        t = float(i)
        tense = 0.9 if 20 < t <= 26 else 0.1
        events.append(
            FaceCue(
                "a",
                t,
                "ok",
                {
                    "looking": 1.0,
                    "smile": 0.6,
                    "nod": 1.0,
                    "brow_tension": tense,
                    "jaw_tension": tense,
                },
            )
        )
        events.append(
            FaceCue(
                "b",
                t,
                "ok",
                {"looking": 0.2, "smile": 0.0, "nod": 0.0, "brow_tension": 0.1, "jaw_tension": 0.1},
            )
        )
        events.append(FaceCue("c", t, "camera_off", {}))
    events += [
        Backchannel("a", 5.0, "c"),
        Act("challenge", "c", "a", 20.0, "?", "rule", 1.0),
        SpeechHorizon(40.0),
    ]
    for ev in events:
        s.add(ev)
        for out in rt.push(ev):
            s.add(out)
    (r,) = s.reactions["a"]
    assert r.cues["face_tension"] > 3 and r.composure is not None and r.composure < 0.5
    assert r.outcome == "silent"  # no voice in the window
    a, b = s.rapport("a"), s.rapport("b")
    assert a.value is not None and b.value is not None and a.value > b.value + 0.3
    assert any(e["kind"] == "nod" for e in a.evidence)
    face_c = s.cues("c")["face"]
    assert face_c["status"] == {"camera_off": 29} and "smile" not in face_c
    assert s.stress_resilience("b").value is None  # never challenged: no data, with reason


def test_a_challenge_act_fed_to_the_pipeline_becomes_a_reaction():
    from lgd.pipeline import Pipeline

    p = Pipeline(["a", "b"], Settings(affect_analysis="observe", asr=NO_ASR))
    assert p.push_events([Act("challenge", "b", "a", 1.0, "我不同意", "rule", 0.9)]) == []
    (r,) = p.push_events([SpeechHorizon(20.0)])
    assert (r.who, r.by, r.trigger, r.outcome, r.composure) == (
        "a",
        "b",
        "challenged",
        "silent",
        None,
    )
    off = Pipeline(["a", "b"])  # policy off: no reaction stage at all
    assert (
        off.push_events([Act("challenge", "b", "a", 1.0, "x", "rule", 0.9), SpeechHorizon(20.0)])
        == []
    )
