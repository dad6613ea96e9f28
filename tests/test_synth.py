"""The test-material generator: determinism, room acoustics as configured, truth as scripted."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from testkit.synth import (
    RoomConfig,
    Session,
    load_pyannote_sample,
    realspeech_session,
    speech_intervals,
    synthesize_session,
    write_session,
)

SR = 16000


@pytest.fixture(scope="module")
def sessions() -> dict[tuple[int, str], Session]:
    return {
        (n, lang): synthesize_session(n, lang, seed=11)
        for n, lang in [(3, "zh"), (8, "zh"), (3, "en"), (8, "en")]
    }


@pytest.fixture(scope="module")
def real() -> Session:
    return realspeech_session(seed=3)


# --- helpers ----------------------------------------------------------------------------
def solo_frames(truth: dict, pid: str, n_frames: int, margin_s: float = 0.3) -> np.ndarray:
    """10 ms frames where `pid` speaks and nobody else is within margin_s (reverb tails)."""
    t = np.arange(n_frames) * 0.01 + 0.005
    mine = np.zeros(n_frames, bool)
    others = np.zeros(n_frames, bool)
    for p, ivs in truth["speech"].items():
        for a, b in ivs:
            if p == pid:
                mine |= (t >= a) & (t < b)
            else:
                others |= (t >= a - margin_s) & (t < b + margin_s)
    return mine & ~others


def level_db(x: np.ndarray, frames: np.ndarray) -> float:
    f = x[: len(frames) * 160].astype(np.float64).reshape(-1, 160)[frames]
    return 10 * np.log10(np.mean(f**2))


def gcc_phat_lag(ref: np.ndarray, sig: np.ndarray, max_lag: int) -> int:
    """Lag (samples) by which sig trails ref; PHAT weighting ignores the voice's pitch."""
    n = 1 << int(np.ceil(np.log2(len(ref) + len(sig))))
    cross = np.fft.rfft(sig, n) * np.conj(np.fft.rfft(ref, n))
    r = np.fft.irfft(cross / (np.abs(cross) + 1e-12), n)
    r = np.concatenate([r[-max_lag:], r[: max_lag + 1]])
    return int(np.argmax(r)) - max_lag


def longest_run(mask: np.ndarray) -> tuple[int, int]:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


# --- speech truth rule ------------------------------------------------------------------
def test_speech_intervals_rule() -> None:
    t = np.arange(int(3.0 * SR)) / SR
    x = np.zeros_like(t)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    for a, b in [(0.2, 0.6), (0.7, 1.0), (1.5, 1.8), (2.2, 2.23)]:  # 0.1 s gap, 0.5 s gap, blip
        x[int(a * SR) : int(b * SR)] = tone[int(a * SR) : int(b * SR)]
    x[int(2.5 * SR) : int(2.9 * SR)] = 0.3 * 10 ** (-50 / 20)  # 50 dB down: not speech
    assert speech_intervals(x.astype(np.float32), SR) == [[0.2, 1.0], [1.5, 1.8]]
    assert speech_intervals(np.zeros(SR, np.float32), SR) == []


# --- determinism and format -------------------------------------------------------------
def test_same_seed_same_session(sessions: dict) -> None:
    a = sessions[(3, "zh")]
    b = synthesize_session(3, "zh", seed=11)
    assert a.truth == b.truth and a.participants == b.participants
    for p in a.tracks:
        assert np.array_equal(a.tracks[p], b.tracks[p])
    c = synthesize_session(3, "zh", seed=12, duration_s=30.0)
    assert c.truth["speech"] != a.truth["speech"]


@pytest.mark.parametrize("key", [(3, "zh"), (8, "zh"), (3, "en"), (8, "en")])
def test_tracks_format(sessions: dict, key: tuple[int, str]) -> None:
    s = sessions[key]
    assert [p for p, _ in s.participants] == [chr(65 + i) for i in range(key[0])]
    assert len({name for _, name in s.participants}) == key[0]
    assert set(s.tracks) == {p for p, _ in s.participants}
    assert s.duration_s == 90.0 and s.language == key[1] and s.sample_rate == SR
    for x in s.tracks.values():
        assert x.dtype == np.float32 and x.shape == (90 * SR,)
    assert 0.3 < max(np.max(np.abs(x)) for x in s.tracks.values()) <= 0.9 + 1e-6
    json.dumps(s.truth)  # JSON-able


# --- room -------------------------------------------------------------------------------
def test_gain_spread(sessions: dict) -> None:
    s = sessions[(8, "en")]
    room = s.truth["room"]
    gains = np.array([room["gains_db"][p] for p in s.tracks])
    assert gains.max() - gains.min() >= 16.0 - 1e-9
    n_frames = 90 * 100
    measured = np.array(
        [level_db(s.tracks[p], solo_frames(s.truth, p, n_frames)) for p in s.tracks]
    )
    # Every talker is normalised to one dry level, so a mic's own-speech level is its gain.
    assert measured.max() - measured.min() >= 16.0
    expected = gains - 26.0 + room["scale_db"]  # dry speech level is -26 dBFS before the gain
    np.testing.assert_allclose(measured, expected, atol=0.5)


def _bleed_errors(s: Session) -> list[float]:
    room, n_frames, errs = s.truth["room"], int(s.duration_s * 100), []
    for j in s.tracks:  # talker j alone: compare mic i with j's own mic, gains removed
        solo = solo_frames(s.truth, j, n_frames)
        if solo.sum() < 100:
            continue
        own = level_db(s.tracks[j], solo) - room["gains_db"][j]
        for i in s.tracks:
            if i != j:
                got = level_db(s.tracks[i], solo) - room["gains_db"][i] - own
                errs.append(got - room["bleed_db"][i][j])
    return errs


def test_bleed_level_default(sessions: dict) -> None:
    s = sessions[(3, "en")]
    assert all(v == -12.0 for row in s.truth["room"]["bleed_db"].values() for v in row.values())
    errs = _bleed_errors(s)
    assert len(errs) == 6 and max(abs(e) for e in errs) < 2.0


def test_bleed_level_per_pair() -> None:
    s = synthesize_session(4, "en", seed=5, duration_s=45.0, room=RoomConfig(bleed_db=(-20, -6)))
    bleed = s.truth["room"]["bleed_db"]
    assert bleed["A"]["B"] == bleed["B"]["A"]  # one distance per pair
    errs = _bleed_errors(s)
    assert len(errs) >= 9 and max(abs(e) for e in errs) < 2.0


def test_bleed_delay(sessions: dict) -> None:
    s = sessions[(3, "zh")]
    delays = s.truth["room"]["bleed_delay_ms"]
    n_frames = 90 * 100
    for j in s.tracks:
        a, b = longest_run(solo_frames(s.truth, j, n_frames))
        assert b - a >= 150  # >= 1.5 s of j alone
        ref = s.tracks[j][a * 160 : b * 160]
        for i in s.tracks:
            if i != j:
                lag = gcc_phat_lag(ref, s.tracks[i][a * 160 : b * 160], max_lag=800)
                assert 5.0 <= delays[i][j] <= 15.0
                assert abs(lag / SR * 1000 - delays[i][j]) <= 0.5, (i, j, lag)


def test_echo_and_transients() -> None:
    room = RoomConfig(echo_db=-10.0, bleed_db=(-40.0, -40.0), transient_rate_hz=0.5)
    s = synthesize_session(3, "en", seed=2, duration_s=30.0, room=room)
    r = s.truth["room"]
    assert r["echo_db"] == -10.0
    for j in s.tracks:  # talker j alone comes back in every other mic after that mic's delay
        a, b = longest_run(solo_frames(s.truth, j, 3000))
        for i in s.tracks:
            if i != j:
                lag = gcc_phat_lag(
                    s.tracks[j][a * 160 : b * 160], s.tracks[i][a * 160 : b * 160], max_lag=8000
                )
                assert 150 <= r["echo_delay_ms"][i] <= 400
                assert abs(lag / SR * 1000 - r["echo_delay_ms"][i]) <= 0.5
    assert sum(len(v) for v in r["transients"].values()) >= 15  # ~45 expected
    assert all(np.max(np.abs(x)) <= 0.9 + 1e-6 for x in s.tracks.values())


# --- truth ------------------------------------------------------------------------------
def _interval_at(ivs: list[list[float]], t: float) -> list[float]:
    return next(iv for iv in ivs if abs(iv[0] - t) < 0.011)


def _turn_of(turns: list[dict], who: str, t: float) -> dict:
    return next(x for x in turns if x["who"] == who and x["start"] <= t <= x["end"])


@pytest.mark.parametrize("key", [(3, "zh"), (8, "zh"), (3, "en"), (8, "en")])
def test_truth_events(sessions: dict, key: tuple[int, str]) -> None:
    tr = sessions[key].truth
    sp, turns = tr["speech"], tr["turns"]
    succ = [i for i in tr["interruptions"] if i["successful"]]
    fail = [i for i in tr["interruptions"] if not i["successful"]]
    assert len(succ) >= 3 and len(fail) >= 3 and len(tr["backchannels"]) >= 4
    for b in tr["backchannels"]:
        a, e = _interval_at(sp[b["who"]], b["at"])
        held = _turn_of(turns, b["to"], b["at"])
        assert 0.2 <= e - a <= 0.6
        assert b["at"] - held["start"] >= 0.79 and held["end"] - e >= 0.79
    for i in fail:
        a, e = _interval_at(sp[i["by"]], i["at"])
        held = _turn_of(turns, i["of"], i["at"])
        assert 1.0 <= e - a <= 2.01 and i["at"] - held["start"] >= 0.99
        assert held["end"] - e >= 1.5  # the holder keeps the floor
    for i in succ:
        held = _turn_of(turns, i["of"], i["at"])
        new = next(x for x in turns if x["who"] == i["by"] and x["start"] == i["at"])
        assert i["at"] - held["start"] >= 0.99 and 0.35 <= held["end"] - i["at"] <= 1.01
        assert new["end"] - held["end"] >= 2.0
    onsets = sorted([i["at"] for i in tr["interruptions"]] + [b["at"] for b in tr["backchannels"]])
    assert np.diff(onsets).min() >= 2.95


@pytest.mark.parametrize("key", [(3, "zh"), (8, "en")])
def test_truth_turns_and_shares(sessions: dict, key: tuple[int, str]) -> None:
    tr = sessions[key].truth
    turns = tr["turns"]
    assert all(a["who"] != b["who"] for a, b in zip(turns, turns[1:], strict=False))
    assert {t["who"] for t in turns} == set(tr["speech"])  # everyone holds the floor once
    succ_at = {i["at"] for i in tr["interruptions"] if i["successful"]}
    gaps = [
        b["start"] - a["end"]
        for a, b in zip(turns, turns[1:], strict=False)
        if b["start"] not in succ_at
    ]
    assert min(gaps) >= -0.27 and max(gaps) <= 0.83
    for t in turns:  # turn edges are speech-truth edges
        ivs = tr["speech"][t["who"]]
        assert any(iv[0] == t["start"] for iv in ivs) and any(iv[1] == t["end"] for iv in ivs)
    for p, ivs in tr["speech"].items():
        total = sum(b - a for a, b in ivs)
        assert abs(tr["speaking_time_s"][p] - total) < 0.011
        assert all(b > a for a, b in ivs)
        assert all(b[0] - a[1] >= 0.25 for a, b in zip(ivs, ivs[1:], strict=False))
    shares = sorted(tr["speaking_share"].values())
    assert abs(sum(shares) - 1) < 1e-3 and shares[-1] / shares[0] >= 2.0  # uneven


# --- real speech ------------------------------------------------------------------------
def test_pyannote_sample() -> None:
    audio, sr, segs = load_pyannote_sample()
    assert sr == SR and audio.dtype == np.float32 and len(audio) == 30 * SR
    assert set(segs) == {"speaker90", "speaker91"} and sum(map(len, segs.values())) == 10


def test_realspeech_session(real: Session) -> None:
    _, _, segs = load_pyannote_sample()
    tr = real.truth
    assert [p for p, _ in real.participants] == ["A", "B"]
    assert len({len(x) for x in real.tracks.values()}) == 1
    assert all(x.dtype == np.float32 for x in real.tracks.values())
    for p in ("A", "B"):
        used = [s for s in tr["source"] if s["who"] == p]
        total = sum(s["rttm_end"] - s["rttm_start"] for s in used)
        assert abs(tr["speaking_time_s"][p] - total) <= 0.011 * len(used)
        for s in used:  # each piece lies in its speaker's RTTM segment, clear of the other's
            spk = s["rttm_speaker"]
            other = next(k for k in segs if k != spk)
            assert any(
                a - 1e-6 <= s["rttm_start"] and s["rttm_end"] <= b + 1e-6 for a, b in segs[spk]
            )
            assert not any(
                a < s["rttm_end"] - 1e-6 and s["rttm_start"] < b - 1e-6 for a, b in segs[other]
            )
    assert 2 <= len(tr["interruptions"]) <= 3 and all(i["successful"] for i in tr["interruptions"])
    assert tr["backchannels"] == []
    assert realspeech_session(seed=3).truth == tr


# --- files ------------------------------------------------------------------------------
def test_write_session(real: Session, tmp_path: Path) -> None:
    paths = write_session(real, tmp_path)
    assert set(paths) == {"A", "B"}
    for p, path in paths.items():
        with wave.open(str(path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767.0
        assert np.max(np.abs(x - real.tracks[p])) < 1e-4
    doc = json.loads((tmp_path / "truth.json").read_text())
    assert doc["speech"] == real.truth["speech"] and doc["participants"][0]["id"] == "A"
