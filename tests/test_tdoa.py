"""The arrival-time direction cue (diarize/tdoa.py) on synthesized bleed with known delays:
mic gains (-8...+6 dB) and noise added after the gain must not move the measured lead or
the direction labels; bleed mixed without delay must make the cue abstain."""

import numpy as np
import pytest

from diarize.config import ActivityConfig
from diarize.tdoa import ArrivalCue
from testkit.synth.voices import Voice, render

SR = 16000
HOP = 160
LINES = ["the committee should decide on the budget before the summer",
         "I would rather start with the people who will use the product",
         "we have heard both sides, so let us write down the trade offs"]
VOICES = [Voice("en-us+m3", 40, 160, "m"), Voice("en-gb+f2", 60, 170, "f"),
          Voice("en-us+m7", 30, 150, "m")]


@pytest.fixture(scope="module")
def turns():
    """Three voices, one after another, 0.3 s apart: dry (3, samples), who (frames,)."""
    clips = [render(v, t) for v, t in zip(VOICES, LINES, strict=True)]
    gap = int(0.3 * SR)
    total = sum(len(c) for c in clips) + gap * 4
    dry = np.zeros((3, total), np.float32)
    who = np.full(total // HOP, -1)
    at = gap
    for k, c in enumerate(clips):
        dry[k, at : at + len(c)] = c / np.sqrt(np.mean(c**2)) * 0.05
        who[at // HOP : (at + len(c)) // HOP] = k
        at += len(c) + gap
    return dry, who


def _mics(dry, gains_db, delays_ms, seed=0):
    """mic i = g_i (s_i + Σ_j -12 dB · s_j delayed d_ij) + noise at a fixed dBFS."""
    rng = np.random.default_rng(seed)
    n, total = dry.shape
    x = np.zeros((n, total))
    for i in range(n):
        x[i] += dry[i]
        for j in range(n):
            if j != i:
                d = int(round(delays_ms[min(i, j)][max(i, j)] * SR / 1000))
                x[i, d:] += 10 ** (-12 / 20) * dry[j, : total - d]
        x[i] *= 10 ** (gains_db[i] / 20)
        x[i] += rng.normal(0, 10 ** (-55 / 20), total)  # converter noise, not gained
    return x.astype(np.float32)


DELAYS = [[0, 6.0, 11.0], [0, 0, 8.5], [0, 0, 0]]  # ms, upper triangle: pair (i, j)


@pytest.mark.parametrize("gains", [(-8.0, 0.0, 6.0), (6.0, -8.0, 0.0), (0.0, 6.0, -8.0)])
def test_lead_is_the_bleed_delay_whatever_the_gains(turns, gains):
    dry, who = turns
    x = _mics(dry, gains, DELAYS)
    cue = ArrivalCue(3, ActivityConfig(), HOP)
    found = asked = 0
    for k in range(3):  # blocks spread over each talker's turn
        frames = np.flatnonzero(who == k)
        for q in (0.2, 0.35, 0.5, 0.65, 0.8):
            a = frames[int(len(frames) * q)] * HOP
            leads = cue.leads(x[:, a : a + 1600], k)
            for j in range(3):
                if j == k:
                    continue
                asked += 1
                if leads[j] is None:
                    continue  # no clear peak (a pause, a weak band): abstains, never wrong
                true = DELAYS[min(j, k)][max(j, k)] * SR / 1000
                assert abs(leads[j] - true) <= 0.5 * SR / 1000, (k, j, leads[j], true)
                found += 1
    assert found >= 0.6 * asked


@pytest.mark.parametrize("gains", [(-8.0, 0.0, 6.0), (6.0, -8.0, 0.0)])
def test_labels_name_the_talker_whatever_the_gains(turns, gains):
    dry, who = turns
    x = _mics(dry, gains, DELAYS)
    cue = ArrivalCue(3, ActivityConfig(), HOP)
    cue.push(x)
    talk = np.repeat((who >= 0)[None, :], 3, axis=0).astype(np.float32)  # VAD hears bleed too
    start, lab = cue.label(len(who), talk, 0)
    blocks = lab[:, :: cue.block]  # (3, blocks)
    per_block = who[start : start + lab.shape[1]].reshape(-1, cue.block)
    truth = per_block[:, -1]  # blocks within one turn (or one gap) are scored
    whole = (per_block == truth[:, None]).all(axis=1)
    speech = whole & (truth >= 0)
    named = (blocks == 1).any(axis=0)
    assert named[speech].mean() >= 0.3  # much of the speech gets a direction
    leader = np.argmax(blocks == 1, axis=0)
    assert (leader[named & whole] == truth[named & whole]).all()
    # the others carry the talker's voice
    for b in np.flatnonzero(named):
        assert (blocks[np.arange(3) != leader[b], b] == -1).all()


def test_bleed_without_delay_abstains(turns):
    dry, who = turns
    x = _mics(dry, (-8.0, 0.0, 6.0), [[0, 0.0, 0.0], [0, 0, 0.0], [0, 0, 0]])
    cue = ArrivalCue(3, ActivityConfig(), HOP)
    cue.push(x)
    talk = np.repeat((who >= 0)[None, :], 3, axis=0).astype(np.float32)
    _, lab = cue.label(len(who), talk, 0)
    assert not (lab == 1).any()


# -- attribution with the cue, on a reported sweep session (seeds 101-103, never tuned on) --

@pytest.fixture(scope="module")
def gated_101():
    """Reported sweep session 101 (3 zh) under the noise-gate condition, cue off and on."""
    from benchmarks.accuracy import with_tdoa
    from benchmarks.sessions import CONDITIONS, make, run_offline
    from testkit.evaluate import score_session

    s = make(3, "zh", 101, CONDITIONS["noise gate"])
    return [score_session(run_offline(s, with_tdoa(on)), s.truth) for on in (False, True)]


def test_arrival_cue_breaks_the_noise_gate_gains_circle(gated_101):
    off, on = gated_101
    # level coupling alone locks into wrong gains here (60.7 % speech error); the arrival
    # labels give the couplings the right solo frames
    assert on.speech.error <= 0.5 * off.speech.error, (off.speech.error, on.speech.error)
    assert on.share_error_pp < off.share_error_pp


@pytest.mark.xfail(strict=True, reason="issue 12 single-condition bound not met: noise gate, "
                   "reported session 101, cue on: 18.8 % speech error, 11.47 pp worst share "
                   "(off: 60.7 %, 14.65 pp)")
def test_noise_gate_session_meets_the_issue_bound_with_the_cue(gated_101):
    _, on = gated_101
    assert on.speech.error <= 0.08
    assert on.share_error_pp <= 2.0


def test_live_frames_and_file_blocks_give_identical_events():
    """The cue labels at fixed frames (couplings at the re-estimates, the veto in steps
    within the decision delay), so 20 ms live frames and 1 s file blocks decide alike."""
    from dataclasses import replace

    from benchmarks.sessions import CONDITIONS
    from core.events import SpeechEnded, SpeechStarted
    from diarize.activity import SpeechActivity
    from testkit.synth import synthesize_session

    s = synthesize_session(3, "en", 36, CONDITIONS["noise gate"], 30.0)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)
    cfg = replace(ActivityConfig(), tdoa=True, tdoa_veto=True)
    runs = []
    for block in (320, 16000):
        act = SpeechActivity(ids, cfg)
        events = []
        for k in range(0, x.shape[1], block):
            events += act.push(x[:, k : k + block])
        events += act.flush()
        assert act.arrival is not None and act.arrival.labelled > 0
        runs.append([e for e in events if isinstance(e, (SpeechStarted, SpeechEnded))])
    assert runs[0] == runs[1]
    assert runs[0]
