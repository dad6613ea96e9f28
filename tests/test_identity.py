"""Voice identity inside the speech-activity stage (issue 12, item 1), on generated espeak-ng
discussions in the hard room (bleed −12 dB, gains over 16 dB, reverb): each mic owner's
voice is enrolled from the session, windows are labelled with the voice they carry, and
live 20 ms frames label exactly what 1 s file blocks do."""

from dataclasses import replace

import numpy as np
import pytest

from analysis.driver import Analysis
from benchmarks.sessions import HARD, ISSUE_HARD, NO_ASR, device_check_clips, make, run_offline
from core.events import SpeechEnded, SpeechStarted
from core.session import SessionInfo
from diarize.activity import SpeechActivity
from diarize.config import ActivityConfig
from diarize.identity import UNKNOWN
from testkit.evaluate import score_session
from testkit.synth import synthesize_session

ON = replace(ActivityConfig(), identity=True)


@pytest.fixture(scope="module")
def session():
    s = synthesize_session(3, "en", 31, HARD, 40.0)
    ids = [p for p, _ in s.participants]
    return s, ids, np.stack([s.tracks[p] for p in ids]).astype(np.float32)


def _run(x: np.ndarray, ids: list[str], block: int, clips: dict | None = None):
    act = SpeechActivity(ids, ON)
    assert act.identity is not None
    for i, p in enumerate(ids):
        if clips:
            act.identity.enrol_clip(i, clips[p])
    labels: list[tuple[int, np.ndarray]] = []
    update = act.identity.update

    def observed(end, speech, own, level, *rest):  # records what the real update returns
        out = update(end, speech, own, level, *rest)
        labels.append((end, out))
        return out

    act.identity.update = observed  # type: ignore[method-assign]
    events = []
    for k in range(0, x.shape[1], block):
        events += act.push(x[:, k : k + block])
    events += act.flush()
    speech = [e for e in events if isinstance(e, (SpeechStarted, SpeechEnded))]
    return act, labels, speech


def _share(truth: dict, who: str, a: float, b: float) -> float:
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in truth["speech"][who]) / (b - a)


def _judge(s, ids: list[str], labels) -> tuple[int, int]:
    right = wrong = 0
    for end, lab in labels:
        a, b = (end - 160) * 0.01, end * 0.01
        for i, v in enumerate(lab):
            if v == UNKNOWN:
                continue
            # a label is right when that voice talks in a good part of the window (own
            # label) and, for another's voice, the mic owner does not
            owner_talks = _share(s.truth, ids[i], a, b) >= 0.3
            ok = (owner_talks if v == i
                  else _share(s.truth, ids[v], a, b) >= 0.3 and not owner_talks)
            right, wrong = right + ok, wrong + (not ok)
    return right, wrong


def test_each_owner_is_enrolled_and_windows_carry_the_talkers_voice(session):
    s, ids, x = session
    act, labels, _ = _run(x, ids, 16000)
    assert act.identity is not None and act.identity.enrolled.all()
    right, wrong = _judge(s, ids, labels)
    assert right >= 20, (right, wrong)
    assert wrong <= 0.15 * (right + wrong), (right, wrong)


def test_a_device_check_gives_voiceprints_from_the_first_seconds(session):
    # The hard case's misattribution happens before session enrolment has a voiceprint;
    # a clip of each voice alone (a join-page device check) gives them at once.
    s, ids, x = session
    x = x[:, : 12 * 16000]
    _, plain, _ = _run(x, ids, 16000)
    _, checked, _ = _run(x, ids, 16000, device_check_clips(s))
    assert sum((lab != UNKNOWN).sum() for _, lab in plain) == 0  # nobody enrolled yet
    right, wrong = _judge(s, ids, checked)
    assert right >= 8 and wrong <= 0.2 * (right + wrong), (right, wrong)


def test_the_driver_takes_a_device_check_clip(session):
    s, ids, _ = session
    clips = device_check_clips(s)
    on = Analysis(SessionInfo("t", s.participants, "en", ""), replace(NO_ASR, activity=ON))
    assert on.enrol_voice(ids[0], clips[ids[0]])
    assert on.activity.identity is not None and on.activity.identity.enrolled[0]
    with pytest.raises(ValueError):
        on.enrol_voice(ids[1], clips[ids[1]][:8000])  # 0.5 s: too short to say anything
    with pytest.raises(ValueError):
        on.enrol_voice("nobody", clips[ids[0]])
    off = Analysis(SessionInfo("t", s.participants, "en", ""), NO_ASR)
    assert not off.enrol_voice(ids[0], clips[ids[0]])  # identity off: nothing to enrol


def test_live_frames_and_file_blocks_label_and_decide_the_same(session):
    s, ids, x = session
    x = x[:, : 25 * 16000]
    _, file_labels, file_speech = _run(x, ids, 16000)
    _, live_labels, live_speech = _run(x, ids, 320)
    assert [e for e, _ in file_labels] == [e for e, _ in live_labels]
    assert all((a == b).all() for (_, a), (_, b) in zip(file_labels, live_labels, strict=True))
    assert file_speech == live_speech


@pytest.mark.slow
def test_identity_meets_the_single_condition_bound_on_the_issue_hard_case():
    s = make(3, "zh", 101, ISSUE_HARD)
    on = replace(NO_ASR, activity=ON)
    score = score_session(run_offline(s, on), s.truth)
    assert score.speech.error <= 0.08 and score.share_error_pp <= 2.0, (
        score.speech.error, score.share_error_pp)


def test_the_start_is_held_until_the_prints_settle_then_decided_the_same_live(session):
    # Identity decides the session's start only once every mic's voiceprint exists (or
    # after identity_settle_s): before that the loudest mic takes the first talker. Live
    # 20 ms frames and 1 s file blocks release at the same frame and publish the same
    # events; nothing is published about speech before the release.
    s, ids, x = session
    x = x[:, : 25 * 16000]
    act = SpeechActivity(ids, ON)
    first_at = None
    for k in range(0, x.shape[1], 320):
        out = act.push(x[:, k : k + 320])
        if first_at is None and any(isinstance(e, SpeechStarted) for e in out):
            first_at = (k + 320) / 16000
    assert act.settled_at is not None and 0 < act.settled_at < ON.identity_settle_s
    assert act.identity is not None and act.identity.enrolled.all()
    assert first_at is not None and first_at >= act.settled_at
    file_act, _, file_speech = _run(x, ids, 16000)
    assert file_act.settled_at == act.settled_at
    # the held seconds hold speech, and it was published once the prints settled
    early = [e for e in file_speech if isinstance(e, SpeechStarted) and e.at < act.settled_at]
    assert early, "no speech decided in the held start"


def test_without_a_hold_nothing_waits():
    cfg = replace(ON, identity_settle_s=0.0)
    s = synthesize_session(3, "en", 31, HARD, 12.0)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)
    act = SpeechActivity(ids, cfg)
    events = []
    for k in range(0, x.shape[1], 16000):
        events += act.push(x[:, k : k + 16000])
    assert act.settled_at is None
    assert any(isinstance(e, SpeechStarted) for e in events)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "Issue 12's single-condition bound on its hard case, pooled over the held-out sessions "
    "(301-303), identity on with the held start: measured 10.6 % speech error, worst share "
    "16.22 pp (level coupling alone: 13.1 %, 10.63 pp). A talker heard only at the start "
    "loses it even with the start decided after the prints settle (docs/design.md)."))
def test_identity_meets_the_bound_on_the_held_out_hard_sessions():
    from benchmarks.sessions import HELDOUT_SESSIONS, pooled

    on = replace(NO_ASR, activity=ON)
    scores = []
    for n, lang, seed in HELDOUT_SESSIONS:
        s = make(n, lang, seed, ISSUE_HARD)
        scores.append(score_session(run_offline(s, on), s.truth))
    p = pooled(scores)
    assert p["speech_error"] <= 0.08 and p["max_share_error_pp"] <= 2.0, p
