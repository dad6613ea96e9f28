"""The mic/browser conditions of the accuracy sweep (testkit/synth/mics.py): each does what
it says, alone, and leaves the room it is added to unchanged."""

from dataclasses import replace

import numpy as np
import pytest

from testkit.synth import RoomConfig, synthesize_session
from testkit.synth.voices import frame_rms

ROOM = RoomConfig(bleed_db=(-12.0, -12.0), gain_spread_db=16.0, snr_db=(25.0, 25.0))
SR = 16000


def _make(room: RoomConfig):
    return synthesize_session(3, "en", 7, room, 20.0)


@pytest.fixture(scope="module")
def plain():
    return _make(ROOM)


def _floor_db(x: np.ndarray) -> float:
    """Noise floor: the quietest 5 % of 10 ms frames, dBFS."""
    return float(20 * np.log10(np.percentile(frame_rms(x, SR), 5)))


def test_noise_after_gain_makes_floors_independent_of_gain(plain):
    s = _make(replace(ROOM, noise_after_gain=True))
    for sess, follows in ((plain, True), (s, False)):
        g = np.array([sess.truth["room"]["gains_db"][p] for p in sess.tracks])
        floors = np.array([_floor_db(x) for x in sess.tracks.values()])
        spread = floors - g  # constant when the floor follows the gain
        if follows:
            assert np.ptp(spread) < 3.0, (floors, g)
        else:
            assert np.ptp(floors) < 3.0 and np.ptp(spread) > 10.0, (floors, g)


def test_agc_moves_the_gain_during_the_session(plain):
    s = _make(replace(ROOM, agc_db=6.0))
    p = next(iter(s.tracks))
    ratio = frame_rms(s.tracks[p], SR) / np.maximum(frame_rms(plain.tracks[p], SR), 1e-9)
    loud = frame_rms(plain.tracks[p], SR) > 1e-3
    db = 20 * np.log10(ratio[loud])
    assert np.ptp(db) > 4.0  # the same sound, a gain that changes over 20 s


def test_noise_gate_leaves_near_silence_but_not_absence():
    s = _make(replace(ROOM, noise_gate_db=40.0))
    for x in s.tracks.values():
        floor = _floor_db(x)
        assert -120.0 < floor < -80.0, floor  # lgd's absent level is -100 dB power
        assert not (x == 0).all()


def test_capture_offset_moves_each_track_and_its_truth(plain):
    s = _make(replace(ROOM, capture_offset_s=(0.05, 0.15), drift_ppm=200.0))
    for p, x in s.tracks.items():
        offset, ppm = s.truth["room"]["warp"][p]
        assert 0.05 <= offset <= 0.15 and abs(ppm) <= 200.0
        k = int(offset * SR)
        assert (x[: k - 1] == 0).all() and (x[k + 1 : k + 400] != 0).any()
        first, moved = plain.truth["speech"][p][0], s.truth["speech"][p][0]
        assert moved[0] == pytest.approx(first[0] + offset, abs=0.011)
        # the same dry speech, on the track's clock: the plain track shifted by the offset
        # (level envelopes: drift moves samples by up to 3 ms over the 20 s)
        a = frame_rms(plain.tracks[p][: 10 * SR], SR)
        b = frame_rms(x[k : 10 * SR + k], SR)
        assert np.corrcoef(a, b)[0, 1] > 0.95


def test_mic_response_changes_the_spectrum_not_the_room(plain):
    s = _make(replace(ROOM, mic_response=True))
    assert s.truth["room"]["gains_db"] == plain.truth["room"]["gains_db"]
    assert s.truth["room"]["bleed_delay_ms"] == plain.truth["room"]["bleed_delay_ms"]
    p = next(iter(s.tracks))
    spec = np.abs(np.fft.rfft(s.tracks[p][: 4 * SR])) + 1e-9
    ref = np.abs(np.fft.rfft(plain.tracks[p][: 4 * SR])) + 1e-9
    low = slice(0, 4 * 60)  # below 60 Hz: the high-pass removes it
    assert np.median(spec[low] / ref[low]) < 0.5
