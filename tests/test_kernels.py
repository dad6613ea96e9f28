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
