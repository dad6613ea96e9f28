"""Reactions to interruptions on a scripted discussion: the candidate who answers with a
raised voice (espeak-ng pitch +35, +8 dB) shows lower composure, stress-resilience and
steadiness inputs than the one who answers calmly; the report records them."""

import asyncio

import numpy as np
import pytest

from analysis.driver import Analysis, analyze
from analysis.settings import Settings
from core.events import Act, FloorTaken, ProsodyTurn, Reaction, SpeechEnded, SpeechHorizon
from core.session import SessionInfo
from diarize.config import AsrConfig, ProsodyConfig
from testkit.synth.reactions import reaction_session

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


@pytest.mark.parametrize("dim", ["stress_resilience", "emotional_stability", "rapport"])
def test_each_affect_score_is_recomputed_from_the_inputs_the_report_shows(scripted, dim):
    """`nonverbal.<pid>.inputs` are the numbers the score was computed from: the rubric's
    scaling (docs/rubric.md) applied to them gives every candidate's score exactly."""
    _, report = scripted
    w = Settings().portraits.absolute_weight
    values = {p: report["nonverbal"][p]["inputs"][dim]["value"] for p in report["nonverbal"]}
    known = [v for v in values.values() if v is not None]
    assert len(known) >= 2, values
    mean = sum(known) / len(known)
    for p, v in values.items():
        score = report["portraits"][p]["dimensions"][dim]["score"]
        if v is None:
            assert score is None and report["nonverbal"][p]["inputs"][dim]["reason"]
            continue
        clip = lambda x: min(1.0, max(0.0, x))  # noqa: E731
        assert score == round(100 * (w * clip(v) + (1 - w) * clip(0.5 + v - mean)), 1), p


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


def _scored(ids: list[str], events: list, policy: str = "score") -> dict:
    """The report of `events` fed to the driver (reactions, portraits) under `policy`."""
    info = SessionInfo("t", [(p, p) for p in ids], "zh", "", policy)
    analysis = Analysis(info, Settings(affect_analysis=policy, asr=NO_ASR))
    analysis.feed_events(events)
    return analysis.finish()


def test_affect_inputs_from_the_same_events():
    """Stress resilience and steadiness: the reaction and voice pieces of two candidates."""
    events: list = [FloorTaken("a", 0.0, None), SpeechEnded("a", 0.0, 20.0)]
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
    report = _scored(["a", "b"], events)
    inputs = {p: report["nonverbal"][p]["inputs"] for p in ("a", "b")}
    a, b = (inputs[p]["stress_resilience"]["value"] for p in ("a", "b"))
    assert a is not None and b is not None and a < b
    a, b = (inputs[p]["emotional_stability"]["value"] for p in ("a", "b"))
    assert a is not None and b is not None and a < b
    observed = _scored(["a", "b"], events, "observe")
    assert "inputs" not in observed["nonverbal"]["a"]
    dims = observed["portraits"]["a"]["dimensions"]
    assert dims["stress_resilience"]["score"] is None
    assert "observe" in dims["rapport"]["evidence"][0]["detail"]


def test_face_tension_and_listening_signals():
    """A frown after a challenge lowers composure; nods, smiles and attention while another
    candidate holds the floor raise the rapport input; no camera → no face claims."""
    from core.events import Backchannel, FaceCue

    ids = ["a", "b", "c"]
    events: list = [FloorTaken("c", 0.0, None), SpeechEnded("c", 0.0, 29.0)]
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
    report = _scored(ids, events)
    (r,) = [r for r in report["reactions"] if r["who"] == "a"]
    assert r["cues"]["face_tension"] > 3 and r["composure"] is not None and r["composure"] < 0.5
    assert r["outcome"] == "silent"  # no voice in the window
    a, b = (report["nonverbal"][p]["inputs"]["rapport"] for p in ("a", "b"))
    assert a["value"] is not None and b["value"] is not None and a["value"] > b["value"] + 0.3
    assert any(e["kind"] == "face" and "nod 1.0" in e["detail"] for e in a["evidence"])
    face_c = report["nonverbal"]["c"]["face"]
    assert face_c["status"] == {"camera_off": 29} and "smile" not in face_c
    never = report["nonverbal"]["b"]["inputs"]["stress_resilience"]
    assert never["value"] is None and "never" in never["reason"]  # no data, with reason


def test_a_challenge_act_fed_to_the_driver_becomes_a_reaction():
    def analysis(policy: str | None) -> Analysis:
        info = SessionInfo("t", [("a", "a"), ("b", "b")], "zh", "", policy)
        return Analysis(info, Settings(affect_analysis="observe", asr=NO_ASR))

    def reactions(events: list) -> list:
        return [e for e in events if isinstance(e, Reaction)]

    p = analysis(None)
    challenge = Act("challenge", "b", "a", 1.0, "我不同意", "rule", 0.9)
    assert reactions(p.feed_events([challenge])) == []
    (r,) = reactions(p.feed_events([SpeechHorizon(20.0)]))
    assert (r.who, r.by, r.trigger, r.outcome, r.composure) == (
        "a",
        "b",
        "challenged",
        "silent",
        None,
    )
    off = analysis("off")  # policy off: no reaction stage at all
    assert off.reactions is None
    assert reactions(
        off.feed_events([Act("challenge", "b", "a", 1.0, "x", "rule", 0.9), SpeechHorizon(20.0)])
    ) == []
