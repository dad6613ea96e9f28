"""The affect-analysis policy: `off` runs no voice-affect or face computation at all (calls
counted), leaves the three dimensions null with the reason, and the candidate notice says
so; settings, session and CLI choose it."""

import asyncio

import numpy as np
import pytest

import diarize.face
import diarize.prosody
import interaction.reactions
from analysis.driver import Analysis, analyze
from analysis.settings import Settings
from benchmarks.sessions import make
from core import policy
from core.session import SessionInfo
from diarize.config import AsrConfig
from testkit.synth.video import face_photo

NO_ASR = AsrConfig(enabled=False)  # speech-only: these tests are about the nonverbal stages


@pytest.fixture
def counted(monkeypatch):
    """Count every construction and call of the nonverbal stages and kernels."""
    calls = {"prosody": 0, "face": 0, "reactions": 0}

    def wrap(mod, name, key):
        orig = getattr(mod, name)

        def counting(*a, **kw):
            calls[key] += 1
            return orig(*a, **kw)

        monkeypatch.setattr(mod, name, counting)

    wrap(diarize.prosody, "measure", "prosody")
    wrap(diarize.prosody, "yin_periods", "prosody")
    wrap(diarize.prosody.ProsodyTracker, "__init__", "prosody")
    wrap(diarize.face.FaceAnalyzer, "__init__", "face")
    wrap(diarize.face.FaceAnalyzer, "push_frame", "face")
    wrap(diarize.face, "measure_face", "face")
    wrap(interaction.reactions.ReactionTracker, "__init__", "reactions")
    return calls


@pytest.fixture(scope="module")
def audio():
    s = make(3, "zh", 5)
    ids = [p for p, _ in s.participants]
    return s, np.stack([s.tracks[p] for p in ids])[:, : 16000 * 40].astype(np.float32)


def _run(audio, affect, settings):
    session, x = audio
    photo = face_photo()
    frames = iter([(pid, k / 2, photo) for k in range(80) for pid, _ in session.participants])

    async def blocks():
        for k in range(0, x.shape[1], 16000):
            yield x[:, k : k + 16000]

    info = SessionInfo("p", session.participants, "zh", "2026-11-25T00:00:00Z", affect=affect)
    return asyncio.run(analyze(info, blocks(), settings, frames=frames))


def test_off_computes_nothing_and_nulls_the_three_dimensions(audio, counted):
    report = _run(audio, None, Settings.from_env())  # the default policy is off
    assert counted == {"prosody": 0, "face": 0, "reactions": 0}
    assert report["affect"] == {"policy": "off", "signals": [], "scored": False}
    assert report["nonverbal"] == {} and report["reactions"] == []
    assert report["interruptions"] or report["turns"]  # the rest of the analysis ran
    for portrait in report["portraits"].values():
        for dim in policy.AFFECT_DIMENSIONS:
            d = portrait["dimensions"][dim]
            assert d["score"] is None and d["rank"] is None
            assert "policy 'off'" in d["evidence"][0]["detail"]


def test_observe_computes_cues_but_does_not_score(audio, counted):
    report = _run(audio, "observe", Settings.from_env())  # a session overriding the deployment
    assert counted["prosody"] > 0 and counted["face"] > 0 and counted["reactions"] == 1
    assert report["affect"]["policy"] == "observe" and not report["affect"]["scored"]
    assert "face_present" in report["affect"]["signals"]
    assert {"voice", "face"} <= set(report["nonverbal"]["A"])
    assert report["nonverbal"]["A"]["face"]["status"] == {
        "ok": report["nonverbal"]["A"]["face"]["windows"]
    }
    for portrait in report["portraits"].values():
        d = portrait["dimensions"]["rapport"]
        assert d["score"] is None and "'observe'" in d["evidence"][0]["detail"]


def test_session_off_overrides_a_scoring_deployment(counted):
    info = SessionInfo("t", [("a", "a"), ("b", "b")], "zh", "", affect="off")
    p = Analysis(info, Settings(affect_analysis="score", asr=NO_ASR))
    assert p.feed_video("a", 0.0, np.zeros((48, 64, 3), np.uint8)) == []
    p.feed(np.zeros((2, 16000), np.float32))
    assert counted == {"prosody": 0, "face": 0, "reactions": 0}


def test_settings_and_notice():
    assert Settings.from_env({"LGD_AFFECT_ANALYSIS": "score"}).affect_analysis == "score"
    with pytest.raises(ValueError, match="off, observe, score"):
        Settings.from_env({"LGD_AFFECT_ANALYSIS": "maybe"})
    assert Settings().affect_analysis == policy.DEFAULT_POLICY == "off"
    off_zh, off_en = policy.candidate_notice("off", "zh"), policy.candidate_notice("off", "en")
    assert "不会分析您的面部表情" in off_zh and "not analysed" in off_en
    assert "不会据此打分" in policy.candidate_notice("observe", "zh")
    assert "three assessed dimensions" in policy.candidate_notice("score", "en")
    assert len({policy.candidate_notice(p, "en") for p in policy.POLICIES}) == 3
