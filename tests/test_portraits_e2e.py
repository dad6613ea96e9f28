"""Portraits end to end: espeak audio of the role script through a room (bleed, noise, mic
gains) → the speech-activity pipeline → report. Without ASR in this build, the dimensions
that speech activity supports are checked: participation, turn-taking, support
(backchannels), and the graph's responds/interrupts edges. Fairness: the same script in
permuted voices with every mic gain changed scores each role (nearly) the same."""

import numpy as np
import pytest

from analysis.driver import Analysis
from core.events import Act, PortraitUpdate, Utterance
from core.session import SessionInfo
from interaction.dimensions import KEYS, VOICE_DIMENSIONS
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_events

pytestmark = pytest.mark.slow  # four scripted sessions through the whole chain

#: (language, voice order, room seed): base and permuted voices with re-drawn mic gains
RUNS = {
    "en": ((0, 1, 2, 3), 0),
    "en-permuted": ((2, 3, 0, 1), 5),
    "zh": ((0, 1, 2, 3), 0),
    "zh-permuted": ((3, 0, 1, 2), 5),
}
#: Fairness bound, score points on 0..100. The scorer never sees the voice; what a voice/mic
#: change can do is flip one borderline detection in the speech-activity core (seen: the
#: permuted zh run finds one extra backchannel of the supporter). In these 1.5-2 minute
#: sessions one event is a large rate change: 3 vs 4 backchannels in 122 s moves the support
#: score by 6.6 points (0.7 x 7.5 absolute + 0.3 x 5.6 relative); all other scores moved
#: <= 1.1. A voice-dependent scorer would move by tens of points: every mic gain changes by
#: 5.5-16.5 dB here. Bound: one detection flip, 8 points.
FAIRNESS_BOUND = 8.0


def _analyse(lang: str, order, room_seed: int):
    s = role_session(lang, voice_order=order, room_seed=room_seed)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)  # (4, samples)
    events: list = []
    analysis = Analysis(SessionInfo("e2e", s.participants, lang, ""), sink=events.extend)
    return s, analysis.run(x), events


@pytest.fixture(scope="module")
def analysed():
    return {name: _analyse(name[:2], order, seed) for name, (order, seed) in RUNS.items()}


@pytest.fixture(scope="module")
def runs(analysed):
    return {name: (s, report) for name, (s, report, _) in analysed.items()}


def _role_scores(session, report):
    return {r: report["portraits"][p]["dimensions"] for p, r in session.truth["roles"].items()}


@pytest.mark.parametrize("name", list(RUNS))
def test_roles_from_audio(runs, name):
    session, report = runs[name]
    d = _role_scores(session, report)
    for dim, who in (("participation", "quiet"), ("turn_taking", "interrupter")):
        s = {r: d[r][dim]["score"] for r in d}
        assert s[who] < min(v for r, v in s.items() if r != who), (dim, s)
    for dim in ("support",):  # backchannels only: no acts without ASR
        assert d["supporter"][dim]["rank"] == 1, (dim, {r: d[r][dim]["score"] for r in d})
    for r in d:
        for key in KEYS:
            item = d[r][key]
            assert item["evidence"]
            assert item["score"] is not None or item["evidence"][0]["kind"] == "unavailable"
    assert d["interrupter"]["turn_taking"]["evidence"][1]["kind"] == "interruption"


@pytest.mark.parametrize("name", list(RUNS))
def test_graph_from_audio(runs, name):
    session, report = runs[name]
    role = {r: p for p, r in session.truth["roles"].items()}
    edges = report["graph"]["edges"]
    interrupts = [e for e in edges if e["type"] == "interrupts"]
    assert {e["src"] for e in interrupts} == {role["interrupter"]}
    assert sum(e["weight"] for e in interrupts) >= 4  # 3 successful + 2 failed scripted
    responds = {(e["src"], e["dst"]): e["weight"] for e in edges if e["type"] == "responds"}
    turns = session.truth["turns"]
    truth = {}
    for a, b in zip(turns, turns[1:], strict=False):
        if a["who"] != b["who"]:
            truth[(b["who"], a["who"])] = truth.get((b["who"], a["who"]), 0) + 1
    assert set(responds) == set(truth)
    assert sum(responds.values()) == pytest.approx(sum(truth.values()), abs=2)
    m = report["graph"]["measures"]
    assert m["breadth"][role["quiet"]] < m["breadth"][role["leader"]]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fairness_voices_permuted_and_gains_changed(runs, lang):
    a, b = _role_scores(*runs[lang]), _role_scores(*runs[f"{lang}-permuted"])
    gains_a = runs[lang][0].truth["room"]["gains_db"]
    gains_b = runs[f"{lang}-permuted"][0].truth["room"]["gains_db"]
    assert all(abs(gains_a[p] - gains_b[p]) >= 5 for p in gains_a)  # every mic changed
    moved = {}
    for role in a:
        for key in KEYS:
            if key in VOICE_DIMENSIONS or a[role][key]["score"] is None:
                continue
            moved[(role, key)] = abs(a[role][key]["score"] - b[role][key]["score"])
    assert len(moved) >= 16
    assert max(moved.values()) <= FAIRNESS_BOUND, sorted(moved.items(), key=lambda kv: -kv[1])


def test_fairness_section(runs):
    session, report = runs["en"]
    f = report["fairness"]
    assert set(f["dimensions"]) == set(KEYS)
    levels = {p: v["mic_level_db"] for p, v in f["attributes"].items()}
    gains = session.truth["room"]["gains_db"]
    order = sorted(gains, key=gains.get)
    assert sorted(levels, key=levels.get) == order  # the mic level follows the mic gain
    row = f["dimensions"]["participation"]["mic_level_db"]
    assert row["n"] == 4 and -1 <= row["r"] <= 1 and row["gap"] is not None


@pytest.mark.parametrize("name", ["en-permuted", "zh"])
def test_audio_events_with_scripted_acts(analysed, name):
    """Hybrid: the speech events analysed from audio, plus the script's utterances and acts
    (standing in for ASR + act tagging, issue 5) — the content dimensions on real timing."""
    session, _, events = analysed[name]
    content = [e for e in truth_events(session.truth, session.language)
               if isinstance(e, Utterance | Act)]
    def when(e) -> float:
        return next(getattr(e, a) for a in ("end", "at", "until") if hasattr(e, a))

    # stable: the analysis order is kept within a time; the portrait model runs again on all
    merged = sorted([e for e in events if not isinstance(e, PortraitUpdate)] + content, key=when)
    analysis = Analysis(SessionInfo("hybrid", session.participants, session.language, ""))
    analysis.feed_events(merged)
    analysis.finish()
    d = _role_scores(session, analysis.report.build(session.duration_s))
    assert d["leader"]["leadership"]["rank"] == 1
    assert d["supporter"]["support"]["rank"] == 1
    assert d["interrupter"]["idea_contribution"]["rank"] == 1
    s = {r: d[r]["turn_taking"]["score"] for r in d}
    assert s["interrupter"] < min(v for r, v in s.items() if r != "interrupter")
    kinds = {e["kind"] for e in d["leader"]["leadership"]["evidence"]}
    assert {"basis", "guide", "summary"} <= kinds
