"""Portraits at unit level: the role script's truth (speech, turns, interruptions,
backchannels and — standing in for the ASR and act stages — its scripted utterances and acts)
fed as events to the portrait model. End-to-end from audio: test_portraits_e2e.py."""

import dataclasses

import pytest

from analysis.settings import Settings
from core.events import PortraitUpdate, ProsodyTurn, Reaction, Turn
from interaction.dimensions import KEYS, NO_TRANSCRIPT
from interaction.portraits import PortraitModel, rank_scores
from testkit.synth.roles import role_session
from testkit.synth.truth_events import truth_events, truth_report

CASES = [("en", (0, 1, 2, 3)), ("en", (3, 2, 0, 1)), ("zh", (0, 1, 2, 3)), ("zh", (1, 3, 2, 0))]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{''.join(map(str, c[1]))}")
def role_report(request):
    lang, order = request.param
    session = role_session(lang, voice_order=order)
    return session, truth_report(session)


def _by_role(session):
    return {r: p for p, r in session.truth["roles"].items()}


def _ranks(report, dim):
    return {p: d["dimensions"][dim]["rank"] for p, d in report["portraits"].items()}


def _scores(report, dim):
    return {p: d["dimensions"][dim]["score"] for p, d in report["portraits"].items()}


def test_designed_roles_rank_first_and_last(role_report):
    session, report = role_report
    role = _by_role(session)
    assert _ranks(report, "leadership")[role["leader"]] == 1
    assert _ranks(report, "support")[role["supporter"]] == 1
    for dim, who in (("turn_taking", "interrupter"), ("participation", "quiet")):
        s = _scores(report, dim)
        assert s[role[who]] < min(v for p, v in s.items() if p != role[who]), (dim, s)


def test_every_score_has_evidence_or_a_reason(role_report):
    _, report = role_report
    for pid, portrait in report["portraits"].items():
        assert set(portrait["dimensions"]) == set(KEYS)
        assert portrait["summary"]
        for key, dim in portrait["dimensions"].items():
            assert dim["evidence"], (pid, key)
            for e in dim["evidence"]:
                assert set(e) == {"at", "kind", "detail"} and e["detail"]
            if dim["score"] is None:
                assert dim["rank"] is None and dim["evidence"][0]["kind"] == "unavailable"
            else:
                assert 0 <= dim["score"] <= 100 and dim["rank"] >= 1


def test_summary_language_and_idea_share(role_report):
    session, report = role_report
    role = _by_role(session)
    summary = report["portraits"][role["interrupter"]]["summary"]
    ideas = [a for a in session.truth["acts"] if a["type"] == "new_idea"]
    share = sum(a["by"] == role["interrupter"] for a in ideas) / len(ideas)
    if session.language == "zh":
        assert f"观点贡献排名第1（占比{share:.0%}）" in summary
    else:
        assert f"1st of 4 in idea contribution ({share:.0%}" in summary


def test_metrics_match_the_truth(role_report):
    session, report = role_report
    t = session.truth
    for pid, portrait in report["portraits"].items():
        m = portrait["metrics"]
        turns = [x for x in t["turns"] if x["who"] == pid]
        assert m["turns"] == len(turns)
        assert m["longest_monologue_s"] == pytest.approx(max(x["end"] - x["start"] for x in turns))
        made = [i for i in t["interruptions"] if i["by"] == pid]
        assert m["interruptions_made"] == len(made)
        assert m["interruptions_received"] == sum(i["of"] == pid for i in t["interruptions"])
        assert m["questions_asked"] == sum(
            a["by"] == pid and a["type"] == "question" for a in t["acts"])
        assert m["talk_ratio"] == pytest.approx(t["speaking_share"][pid], abs=1e-3)


def test_without_transcript_content_dimensions_are_null_with_the_reason():
    session = role_session("en")
    report = truth_report(session, content=False)
    role = _by_role(session)
    for portrait in report["portraits"].values():
        dims = portrait["dimensions"]
        for key in ("idea_contribution", "evidence", "logical_structure", "leadership",
                    "influence"):
            assert dims[key]["score"] is None
            assert dims[key]["evidence"][0]["detail"] == NO_TRANSCRIPT
        for key in ("stress_resilience", "emotional_stability", "rapport"):
            assert dims[key]["score"] is None and "affect" in dims[key]["evidence"][0]["detail"]
        for key in ("participation", "turn_taking", "support", "teamwork"):
            assert dims[key]["score"] is not None
        assert portrait["metrics"]["questions_asked"] is None
    assert _ranks(report, "support")[role["supporter"]] == 1  # backchannels alone


def _affect_events(ids, calm, tense):
    """Prosody and reactions as the affect stage would emit them: `tense` deviates from its
    own baseline by 2 SD, `calm` by 0.3 SD."""
    out = []
    for k in range(6):
        for who, z in ((calm, 0.3), (tense, 2.0)):
            t = 20.0 + 5 * k
            out.append(ProsodyTurn(who, t, t + 3, {"pitch_hz": 180.0}, {"pitch_hz": z,
                                   "loudness_db": -z}, True))
    out.append(Reaction(calm, 30.0, "interrupted", tense, "kept_floor", {}, 0.9))
    out.append(Reaction(tense, 40.0, "challenged", calm, "yielded", {"pitch_z": 2.5}, 0.2))
    return out


def test_affect_dimensions_follow_the_policy():
    ids = ["A", "B", "C"]
    events = [Turn("A", 0.0, 10.0), Turn("B", 10.5, 20.0), *_affect_events(ids, "A", "B"),
              Turn("C", 50.0, 60.0)]
    for policy in ("off", "observe", "score"):
        cfg = dataclasses.replace(Settings().portraits, affect_policy=policy)
        model = PortraitModel(ids, "en", cfg)
        for ev in events:
            model.push(ev)
        dims = {p: d["dimensions"] for p, d in model.portraits().items()}
        for key in ("stress_resilience", "emotional_stability"):
            if policy != "score":
                assert dims["A"][key]["score"] is None
                assert policy in dims["A"][key]["evidence"][0]["detail"]
            else:
                assert dims["A"][key]["score"] > dims["B"][key]["score"]
                assert dims["C"][key]["score"] is None  # no data for C, and it says so
                assert dims["C"][key]["evidence"][0]["kind"] == "unavailable"


def test_live_updates_are_paced_and_match_the_report():
    session = role_session("en")
    ids = [p for p, _ in session.participants]
    cfg = Settings().portraits
    model = PortraitModel(ids, "en", cfg)
    updates = []
    for ev in truth_events(session.truth, "en"):
        updates += model.push(ev)
    assert all(isinstance(u, PortraitUpdate) for u in updates)
    times = [u.at for u in updates]
    assert len(times) >= session.duration_s / (2 * cfg.update_every_s)  # events are sparse
    assert all(b - a >= cfg.update_every_s - 1e-6 for a, b in zip(times, times[1:], strict=False))
    final = model.flush()[0]
    report = model.portraits()
    for pid in ids:
        for key in KEYS:
            assert final.scores[pid][key] == report[pid]["dimensions"][key]["score"]
            assert final.ranks[pid][key] == report[pid]["dimensions"][key]["rank"]


def test_ranks_share_ties_and_skip_nulls():
    assert rank_scores({"a": 80.0, "b": 80.0, "c": 20.0, "d": None}) == {
        "a": 1, "b": 1, "c": 3, "d": None}


def test_a_silent_candidate_is_not_scored_on_turn_taking():
    from core.events import SpeechEnded

    model = PortraitModel(["A", "B", "C"], "en")
    for ev in (SpeechEnded("A", 0.0, 8.0), Turn("A", 0.0, 8.0), SpeechEnded("B", 8.5, 20.0),
               Turn("B", 8.5, 20.0)):
        model.push(ev)
    dims = model.portraits()["C"]["dimensions"]
    assert dims["turn_taking"]["score"] is None
    assert "has not spoken" in dims["turn_taking"]["evidence"][0]["detail"]
    assert dims["participation"]["score"] is not None and dims["participation"]["rank"] == 3


def _support_scores(minutes: float, acts_of_a: int, prior_s: float) -> dict:
    """Four candidates take turns for `minutes`; A agrees `acts_of_a` times, B twice."""
    from core.events import Act, SpeechEnded
    from interaction.config import PortraitConfig

    ids = ["A", "B", "C", "D"]
    model = PortraitModel(ids, "zh", PortraitConfig(prior_s=prior_s))
    t, k = 0.0, 0
    while t < minutes * 60:
        who = ids[k % 4]
        model.push(SpeechEnded(who, t, t + 5.0))
        model.push(Turn(who, t, t + 5.0))
        t, k = t + 6.0, k + 1
    for j in range(acts_of_a):
        model.push(Act("support", "A", "B", 10.0 + j, "我同意", "同意", 1.0))
    for j in range(2):
        model.push(Act("support", "B", "C", 30.0 + j, "我同意", "同意", 1.0))
    return model.flush()[0].scores


def test_one_act_in_a_short_session_is_weak_evidence_and_ranks_keep():
    def move(minutes, prior_s):
        return (_support_scores(minutes, 1, prior_s)["A"]["support"]
                - _support_scores(minutes, 0, prior_s)["A"]["support"])

    raw, shrunk = move(2, 0.0), move(2, 300.0)
    # one agreement in 2 minutes: 40 points on the raw rate, 8 with the prior
    assert raw > 30 and 0 < shrunk < raw / 4, (raw, shrunk)
    # in a 40-minute session the prior is diluted: the same act counts nearly as much
    assert move(40, 300.0) >= 0.8 * move(40, 0.0) > 0
    s = _support_scores(2, 3, 300.0)
    assert s["A"]["support"] > s["B"]["support"] > s["C"]["support"] == s["D"]["support"]
