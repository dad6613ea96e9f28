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


def _shifted(x: np.ndarray, by_ms: tuple[float, ...], seed: int = 1) -> np.ndarray:
    """Each track captured from its own moment: row i starts by_ms[i] later (> 0: its
    samples come late; the gap filled with the converter's noise), same length."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for i, ms in enumerate(by_ms):
        d = int(round(ms * SR / 1000))
        fill = rng.normal(0, 10 ** (-55 / 20), abs(d)).astype(np.float32)
        out[i] = (np.concatenate([fill, x[i, : x.shape[1] - d]]) if d >= 0
                  else np.concatenate([x[i, -d:], fill]))
    return out


def test_capture_offsets_are_measured_and_taken_off(turns):
    """Browsers start capture at different moments: mic 1 40 ms late, mic 2 25 ms early.
    Once each pair's owners have both been heard, its offset is the centre of its lags;
    every mic is then read shifted by its own, and the talkers heard again are named on
    each mic's own frames."""
    dry, who = turns
    late_ms = (0.0, 40.0, -25.0)
    x = _shifted(_mics(dry, (-8.0, 0.0, 6.0), DELAYS), late_ms)
    true = {(0, 1): 40.0, (0, 2): -25.0, (1, 2): -65.0}  # ms the lower mic leads, offsets only
    cue = ArrivalCue(3, ActivityConfig(), HOP)
    cue.push(np.concatenate([x, x], axis=1))  # the same three turns, heard again
    talk = np.repeat((np.concatenate([who, who]) >= 0)[None, :], 3, axis=0).astype(np.float32)
    first, lab = cue.label(2 * len(who), talk, 0)
    for pair, ms in true.items():
        assert pair in cue.offsets, (pair, cue.offsets)
        assert abs(cue.offsets[pair] / SR * 1000 - ms) <= 0.5, (pair, cue.offsets)
    assert list(cue.shift) == [-640, 0, -1040]  # read back against the latest mic (1)
    # the second time round: each mic's labels, taken back to the script's time
    n, both = len(who), np.concatenate([who, who])
    steady = np.array([t >= 10 and (both[t - 10 : t + 10] == both[t]).all()
                       for t in range(2 * n)])
    named, right = np.zeros(2 * n, bool), []
    for m, ms in enumerate(late_ms):
        frames = np.flatnonzero(lab[m] == 1) + first - int(round(ms * SR / 1000 / HOP))
        frames = frames[(frames >= n) & (frames < 2 * n)]
        frames = frames[steady[frames] & (both[frames] >= 0)]
        right += list(both[frames] == m)
        named[frames] = True
    speech = steady & (both >= 0) & (np.arange(2 * n) >= n)
    assert named[speech].mean() >= 0.3
    # as on the aligned tracks: there too one block in these turns goes to a pitch
    # sidelobe of GCC-PHAT (10 of 645-707 named frames wrong, by where the blocks fall)
    assert np.mean(right) >= 0.97, (len(right), sum(right))


def test_without_the_wide_search_a_far_pair_is_never_measured(turns):
    """The same offsets searched only over ±tdoa_max_lag_ms (30 ms): pair 1-2, 65 ms off,
    never shows its owners' lags, so no mic is read shifted and few blocks are named (each
    needs every pair's lead); what is named is still right (abstain rather than guess)."""
    from dataclasses import replace

    dry, who = turns
    x = _shifted(_mics(dry, (-8.0, 0.0, 6.0), DELAYS), (0.0, 40.0, -25.0))
    cue = ArrivalCue(3, replace(ActivityConfig(), tdoa_max_offset_ms=0.0), HOP)
    cue.push(np.concatenate([x, x], axis=1))
    talk = np.repeat((np.concatenate([who, who]) >= 0)[None, :], 3, axis=0).astype(np.float32)
    first, lab = cue.label(2 * len(who), talk, 0)
    assert (1, 2) not in cue.offsets and not cue.shift.any()
    print("named blocks without the wide search:", cue.labelled, "of", cue.blocks)
    assert cue.labelled <= 0.1 * cue.blocks


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


def test_the_veto_without_a_lookahead_is_refused():
    from dataclasses import replace

    with pytest.raises(ValueError, match="LOOKAHEAD"):
        replace(ActivityConfig(), tdoa=True, tdoa_veto=True, lookahead_s=0.0)
    replace(ActivityConfig(), tdoa=True, lookahead_s=0.0)  # the cue alone needs none


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
