"""The crosstalk model under the sweep's mic conditions (issue 12), checked against the
generated room's exact parameters: bleed that leads its owner's own track is measured as
a lead (and decisions wait for it, whatever the block size), mic gains are recovered
when the noise floors do not follow them, and on headset-like real speech the crosstalk
model does no worse than the VAD alone."""

from dataclasses import replace

import numpy as np
import pytest

from analysis.settings import Settings
from benchmarks.sessions import HARD, run_offline
from core.events import SpeechEnded, SpeechStarted
from diarize.activity import SpeechActivity
from diarize.config import ActivityConfig, AsrConfig
from testkit.evaluate import score_session
from testkit.synth import RoomConfig, realspeech_session, synthesize_session
from tests.activityutil import run_activity

OFFSETS = replace(HARD, capture_offset_s=(0.0, 0.2), drift_ppm=0.0)


@pytest.fixture(scope="module")
def misaligned():
    s = synthesize_session(3, "zh", 36, OFFSETS, 40.0)  # C captured 0.18 s after A
    ids = [p for p, _ in s.participants]
    return s, ids, np.stack([s.tracks[p] for p in ids]).astype(np.float32)


def test_bleed_that_leads_its_owner_is_measured_as_a_lead(misaligned):
    s, ids, x = misaligned
    act, _ = run_activity(x, ids, 16000)
    m, room = act.model, s.truth["room"]
    leads = 0
    for i, p in enumerate(ids):
        for j, q in enumerate(ids):
            if i == j or not m.measured[i, j]:
                continue
            # voice q reaches mic p after the bleed delay, on p's clock; q's own track runs
            # on q's clock: in frames, how late q's voice is in p relative to q's track
            true = (room["bleed_delay_ms"][p][q] / 1000 + room["warp"][p][0]
                    - room["warp"][q][0]) / 0.01
            assert abs(m.lags[i, j] - true) <= 1.5, (p, q, m.lags[i, j], true)
            leads += true < -4
    assert leads >= 1  # the seed puts at least one track > 40 ms behind a neighbour's bleed
    assert act._delay >= -int(m.lags[m.measured].min())


def test_a_measured_lead_keeps_live_and_file_blocks_identical(misaligned):
    _, ids, x = misaligned
    _, live = run_activity(x, ids, 320)
    _, offline = run_activity(x, ids, 16000)
    assert live and live == offline


def test_gains_are_recovered_when_noise_does_not_follow_them():
    s = synthesize_session(4, "en", 32, replace(HARD, noise_after_gain=True), 40.0)
    ids = [p for p, _ in s.participants]
    act, _ = run_activity(np.stack([s.tracks[p] for p in ids]).astype(np.float32), ids, 16000)
    g = np.array([s.truth["room"]["gains_db"][p] for p in ids])
    est = act.model.gain_db
    err = (est - est.mean()) - (g - g.mean())
    noise = act.model.noise_db
    assert np.ptp(noise - g) > 10.0  # the floors say nothing about the gains here
    assert np.abs(err).max() <= 3.0, (est, g)


#: one headset per speaker: little bleed (−30 dB), gains within 10 dB, quiet
HEADSET = RoomConfig(bleed_db=(-30.0, -30.0), gain_spread_db=10.0, snr_db=(25.0, 35.0))
#: the same stage with the crosstalk model switched off: no measured couplings, a prior
#: bleed of −300 dB, no noise margin; VAD hysteresis and stretch rules unchanged
VAD_ALONE = ActivityConfig(prior_bleed_db=300.0, min_solo_frames=10**9, noise_margin_db=-100.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_never_worse_than_the_vad_alone_on_headset_speech(seed):
    # Issue 12: on real headset audio the crosstalk model removed more true speech than
    # bleed. Real speech (pyannote's sample) laid out one headset per speaker.
    s = realspeech_session(seed, HEADSET)
    no_asr = Settings(asr=AsrConfig(enabled=False))
    ours = score_session(run_offline(s, no_asr), s.truth).speech.error
    alone = score_session(
        run_offline(s, replace(no_asr, activity=VAD_ALONE)), s.truth
    ).speech.error
    assert ours <= alone + 0.01, (ours, alone)


def _gain_curves(n: int, frames: int) -> np.ndarray:
    """(n, frames) dB: a known gain drift per mic (±5 dB, periods 12-30 s), as AGC does."""
    t = np.arange(frames) * 0.01
    periods, phases = np.linspace(12.0, 30.0, n), np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return 5.0 * np.sin(2 * np.pi * t[None, :] / periods[:, None] + phases[:, None])


#: the per-mic gain track on (off by default: docs/design.md, "Gain track")
TRACKED = ActivityConfig(gain_track=True)


def _final_drift(x: np.ndarray, ids: list[str]) -> tuple[np.ndarray, int]:
    act, _ = run_activity(x, ids, 16000, TRACKED)
    return act.model.drift, act.model.drift_origin


def _relative(d: np.ndarray) -> np.ndarray:
    # only gain differences between mics are observable, and a constant per mic is part
    # of the room coupling
    d = d - d.mean(axis=0)
    return d - np.median(d, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def steady():
    s = synthesize_session(4, "en", 41, HARD, 60.0)
    ids = [p for p, _ in s.participants]
    return ids, np.stack([s.tracks[p] for p in ids]).astype(np.float64)


def test_gain_track_follows_a_gain_that_wanders(steady):
    ids, x = steady
    true = _gain_curves(len(ids), x.shape[1] // 160 + 1)
    gained = x * 10 ** (np.repeat(true, 160, axis=1)[:, : x.shape[1]] / 20)
    peak = np.abs(gained).max()
    drift, origin = _final_drift((gained * 0.9 / peak).astype(np.float32), ids)
    # the last estimate's window, less its last 2 s (the tail, where no voice is heard
    # alone past the end of the speech, is held at no drift)
    est = drift[:, : true.shape[1] - origin - 200]
    t = _relative(true[:, origin : origin + est.shape[1]])
    err = _relative(est) - t
    err -= np.median(err, axis=1, keepdims=True)
    # the track takes out at least half of each mic's drift
    assert (err.std(axis=1) <= 0.5 * t.std(axis=1)).all(), (err.std(axis=1), t.std(axis=1))


def test_gain_track_stays_near_zero_when_gains_are_constant(steady):
    ids, x = steady
    drift, _ = _final_drift(x.astype(np.float32), ids)
    # 0.5 dB, the bound first set: the track before the 1 dB RMS gate wobbled 0.27-0.52
    # dB here and missed it (the wandering gains above are 2.3-3.1 dB std, the decision
    # margin 3 dB); with the gate it is read as no drift
    assert drift.std(axis=1).max() <= 0.5, drift.std(axis=1)


@pytest.mark.slow
def test_agc_row_on_a_reported_session():
    # Issue 12, the AGC row of the sweep with the gain track on, on reported session
    # (5 en, 102): never tuned on; the bound is the single-condition bound.
    from benchmarks.sessions import CONDITIONS, NO_ASR, make

    s = make(5, "en", 102, CONDITIONS["AGC ±6 dB"])
    tracked = replace(NO_ASR, activity=replace(NO_ASR.activity, gain_track=True))
    score = score_session(run_offline(s, tracked), s.truth)
    assert score.speech.error <= 0.08, score.speech.error
    assert score.share_error_pp <= 2.0, score.share_error_pp


def test_gain_track_keeps_live_and_file_blocks_identical():
    s = synthesize_session(3, "en", 42, replace(HARD, agc_db=6.0), 30.0)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)
    live_act, live = run_activity(x, ids, 320, TRACKED)
    _, offline = run_activity(x, ids, 16000, TRACKED)
    assert np.abs(live_act.model.drift).max() > 0.5  # the track moved
    assert live and live == offline


def test_gain_track_survives_a_snapshot():
    # the driver's state is pickled (analysis/snapshot.py): the track must come back whole
    import pickle

    s = synthesize_session(3, "en", 42, replace(HARD, agc_db=6.0), 30.0)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids]).astype(np.float32)
    _, whole = run_activity(x, ids, 16000, TRACKED)
    act = SpeechActivity(ids, TRACKED)
    events = []
    half = 15 * 16000
    for k in range(0, half, 16000):
        events += act.push(x[:, k : k + 16000])
    act = pickle.loads(pickle.dumps(act))
    for k in range(half, x.shape[1], 16000):
        events += act.push(x[:, k : k + 16000])
    events += act.flush()
    assert [e for e in events if isinstance(e, (SpeechStarted, SpeechEnded))] == whole
