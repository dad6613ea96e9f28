"""Every numba kernel against its plain-numpy twin, on seeded random data."""

import numpy as np
import pytest

from diarize import kernels as k


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_hop_power_matches_numpy(rng):
    x = rng.standard_normal((5, 16000 + 77)).astype(np.float32)
    got = k.hop_power(x, 160)
    np.testing.assert_allclose(got, k.hop_power_ref(x, 160), rtol=1e-6)
    assert got.shape == (5, 100)


def test_predicted_bleed_matches_numpy(rng):
    p = rng.random((4, 300))
    c = rng.random((4, 4))
    lags = rng.integers(-5, 40, (4, 4)).astype(np.int64)
    np.testing.assert_allclose(
        k.predicted_bleed(p, c, lags, 20, 250), k.predicted_bleed_ref(p, c, lags, 20, 250)
    )


def test_predicted_bleed_recovers_a_pure_copy():
    # mic 1 hears voice 0 at -12 dB, 7 frames late: the prediction is exactly that copy.
    rng = np.random.default_rng(0)
    voice = rng.random(200)
    p = np.zeros((2, 200))
    p[0] = voice
    p[1, 7:] = voice[:-7] * 10 ** (-12 / 10)
    c = np.array([[0, 0], [10 ** (-12 / 10), 0]])
    lags = np.array([[0, 0], [7, 0]], np.int64)
    pred = k.predicted_bleed(p, c, lags, 0, 200)
    np.testing.assert_allclose(pred[1], p[1])
    assert np.all(pred[0] == 0)


def test_lag_spread_matches_numpy_and_finds_the_lag(rng):
    db = rng.normal(-40, 10, (3, 500))
    db[2, 23:] = db[0, :-23] - 12 + rng.normal(0, 0.1, 477)  # voice 0 reaches mic 2 23 frames late
    frames = np.arange(50, 400, dtype=np.int64)
    got = k.lag_spread(db, frames, 2, 0, -10, 50)
    np.testing.assert_allclose(got, k.lag_spread_ref(db, frames, 2, 0, -10, 50))
    assert -10 + int(np.argmin(got)) == 23


def test_hysteresis_matches_numpy(rng):
    prob = rng.random((3, 400)).astype(np.float32)
    s1 = np.array([False, True, False])
    s2 = s1.copy()
    np.testing.assert_array_equal(
        k.hysteresis(prob, 0.5, 0.35, s1), k.hysteresis_ref(prob, 0.5, 0.35, s2)
    )
    np.testing.assert_array_equal(s1, s2)


def test_hysteresis_holds_between_thresholds():
    prob = np.array([[0.2, 0.6, 0.4, 0.36, 0.3, 0.45, 0.55]], np.float32)
    state = np.zeros(1, bool)
    out = k.hysteresis(prob, 0.5, 0.35, state)
    assert out.tolist() == [[False, True, True, True, False, False, True]]


def test_predicted_relay_matches_numpy(rng):
    p = rng.random((4, 300))
    c = rng.random((4, 4)) * 0.1
    lags = rng.integers(-5, 10, (4, 4)).astype(np.int64)
    e = rng.random((4, 4)) * 0.1
    e[1] = 0.0  # a mic without an echo
    e_lags = rng.integers(10, 60, (4, 4)).astype(np.int64)
    for direct in (True, False):
        np.testing.assert_allclose(
            k.predicted_relay(p, c, lags, e, e_lags, 20, 250, direct),
            k.predicted_relay_ref(p, c, lags, e, e_lags, 20, 250, direct),
        )
    # without echoes it is the one-path prediction, but for the mic's own voice taken out
    no_echo = k.predicted_relay(p, c, lags, np.zeros((4, 4)), e_lags, 20, 250)
    assert np.all(no_echo <= k.predicted_bleed(p, c, lags, 20, 250) + 1e-12)


def test_predicted_relay_leaves_out_the_mics_own_voice():
    # mic 1 hears voice 0 at -12 dB 2 frames late and, through its speakers, 32 frames
    # late; mic 0 also holds voice 1's bleed: that part of mic 0 explains nothing in mic 1
    rng = np.random.default_rng(1)
    v0, v1 = rng.random(300), rng.random(300)
    c = np.array([[0.0, 0.06], [0.06, 0.0]])
    lags = np.array([[0, 2], [2, 0]], np.int64)
    e = np.array([[0.0, 0.0], [0.06, 0.0]])
    e_lags = np.array([[0, 0], [32, 0]], np.int64)
    p = np.zeros((2, 300))
    p[0], p[1] = v0, v1
    p[0, 2:] += 0.06 * v1[:-2]
    echo = k.predicted_relay(p, c, lags, e, e_lags, 50, 300, False)
    np.testing.assert_allclose(echo[1], 0.06 * v0[50 - 32 : 300 - 32])
    assert np.all(echo[0] == 0)
    both = k.predicted_relay(p, c, lags, e, e_lags, 50, 300)
    np.testing.assert_allclose(both[1], 0.06 * v0[48:298] + 0.06 * v0[18:268])
