"""Prosody: numba kernels against their numpy twins; pitch and speech rate recovered from
pure tones and espeak-ng voices; the streaming tracker measures own speech only."""

import numpy as np
import pytest

from core.events import ProsodyTurn, SpeechEnded, SpeechHorizon, SpeechStarted
from diarize import prosody_kernels as k
from diarize.config import ProsodyConfig
from diarize.prosody import ProsodyTracker, measure
from testkit.synth.texts import TURNS
from testkit.synth.voices import VOICES, render

SR = 16000


@pytest.fixture
def rng():
    return np.random.default_rng(77)


def test_yin_matches_numpy(rng):
    t = np.arange(4000) / SR
    tone = np.sin(2 * np.pi * 150 * t) + 0.3 * rng.standard_normal(4000)
    for x in (rng.standard_normal(4000).astype(np.float32), tone.astype(np.float32)):
        got = k.yin_periods(x, 160, 400, 32, 267, 0.15)
        ref = k.yin_periods_ref(x, 160, 400, 32, 267, 0.15)
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-12)
    assert (got[0] > 0).mean() > 0.5  # the noisy tone is voiced


def test_syllable_nuclei_matches_numpy(rng):
    for _ in range(50):
        db = np.cumsum(rng.normal(0, 1.5, 300))
        voiced = rng.random(300) > 0.2
        args = (float(np.median(db)), 1.5, int(rng.integers(1, 12)))
        assert k.syllable_nuclei(db, voiced, *args) == k.syllable_nuclei_ref(db, voiced, *args)


@pytest.mark.parametrize("f0", [70.0, 123.4, 220.0, 440.0])
def test_pitch_of_pure_and_harmonic_tones(f0):
    t = np.arange(int(1.5 * SR)) / SR
    pure = 0.3 * np.sin(2 * np.pi * f0 * t)
    rich = pure + 0.2 * np.sin(4 * np.pi * f0 * t + 1) + 0.1 * np.sin(6 * np.pi * f0 * t + 2)
    for x in (pure, rich):
        got = measure(x.astype(np.float32), ProsodyConfig())["pitch_hz"]
        assert abs(got / f0 - 1) < 0.005


def _shs(frames: np.ndarray) -> np.ndarray:
    """Independent reference: subharmonic summation (Hermes 1988) on the magnitude spectrum
    of each 40 ms Hann frame; frequency domain, so it shares no method with YIN."""
    nfft, cands = 8192, np.arange(60.0, 500.0, 0.25)
    spec = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), nfft, axis=1))
    score = np.zeros((len(frames), len(cands)))
    for h in range(1, 9):
        idx = np.clip(np.round(cands * h * nfft / SR).astype(int), 0, spec.shape[1] - 1)
        score += 0.84 ** (h - 1) * spec[:, idx]
    return cands[np.argmax(score, axis=1)]


@pytest.mark.parametrize("lang,gender,i", [("zh", "m", 0), ("zh", "m", 2), ("zh", "f", 0),
                                           ("en", "m", 1), ("en", "f", 0)])
def test_pitch_of_espeak_voices_agrees_with_an_independent_estimate(lang, gender, i):
    voice = VOICES[lang][gender][i]
    x = np.concatenate([render(voice, say) for _, say in TURNS[lang][:3]]).astype(np.float32)
    period, _ = k.yin_periods(x, 160, 400, 32, 267, 0.15)
    starts = np.arange(len(period)) * 160
    level = np.array([10 * np.log10(np.mean(x[s : s + 400] ** 2) + 1e-12) for s in starts])
    ok = (period > 0) & (level > np.percentile(level, 95) - 20)
    ratio = SR / period[ok] / _shs(np.stack([x[s : s + 640] for s in starts[ok]]))
    assert ok.sum() > 200
    assert abs(np.median(ratio) - 1) < 0.03  # typical frame within 3 %
    assert np.mean(np.abs(ratio - 1) < 0.03) > 0.8  # and most frames


def test_higher_espeak_pitch_setting_measures_higher():
    base = VOICES["zh"]["m"][0]
    say = TURNS["zh"][0][1]
    low = measure(render(base, say), ProsodyConfig())["pitch_hz"]
    high = measure(render(type(base)(base.voice, base.pitch + 35, base.speed, "m"), say),
                   ProsodyConfig())["pitch_hz"]
    assert high > low * 1.15


@pytest.mark.parametrize("voice", [*VOICES["zh"]["m"], *VOICES["zh"]["f"]])
def test_speech_rate_of_mandarin_within_15_percent(voice):
    """Truth: every pinyin token is one syllable. Sentences 12+ were not used to tune."""
    syllables = seconds = measured = 0.0
    for _, say in TURNS["zh"][12:24]:
        x = render(voice, say)
        n = len(say.replace("，", " ").replace("。", " ").replace("：", " ").replace("？", " ")
                .split())
        rate = measure(np.concatenate([x, np.zeros(1000, np.float32)]), ProsodyConfig())
        syllables += n
        seconds += len(x) / SR
        measured += rate["rate_sps"] * (len(x) + 1000) / SR
    assert abs(measured / syllables - 1) < 0.15


def test_tracker_measures_only_own_speech_in_pieces_and_learns_a_baseline():
    voice = VOICES["zh"]["f"][0]
    speech = np.concatenate([render(voice, say) for _, say in TURNS["zh"][:8]])
    n = len(speech) + 3 * SR
    x = np.zeros((2, n), np.float32)
    x[0, SR : SR + len(speech)] = speech
    x[1] = 0.3 * np.sin(2 * np.pi * 200 * np.arange(n) / SR)  # never declared speech
    cfg = ProsodyConfig(baseline_speech_s=10.0, history_s=5.0)
    tr = ProsodyTracker(["a", "b"], cfg)
    end = (SR + len(speech)) / SR
    out = []
    for k0 in range(0, n, 3200):
        t0, t1 = k0 / SR, (k0 + 3200) / SR
        ev: list = []
        if t0 <= 1.0 < t1:
            ev.append(SpeechStarted("a", 1.0))
        if t0 <= end < t1:
            ev.append(SpeechEnded("a", 1.0, round(end, 2)))
        ev.append(SpeechHorizon(max(0.0, t1 - 0.5)))
        out += tr.push(x[:, k0 : k0 + 3200], ev)
    out += tr.flush()
    assert out and all(isinstance(e, ProsodyTurn) and e.who == "a" for e in out)
    assert out[0].start == 1.0 and abs(out[-1].end - end) < 0.02
    assert all(e.end - e.start <= cfg.segment_s + cfg.min_segment_s for e in out)
    assert tr._buf.shape[1] <= (cfg.history_s + 2) * SR  # bounded memory
    ready = [e for e in out if e.baseline_ready]
    assert ready and not out[0].baseline_ready
    assert all(abs(e.z["pitch_hz"]) < 3 for e in ready)  # same voice: no big deviation
    assert 150 < np.median([e.features["pitch_hz"] for e in out]) < 300


def test_live_frames_and_file_blocks_give_the_same_voice_pieces():
    """The same speech events delivered with 20 ms or 1 s audio blocks give the same pieces
    (the events come from one speech-activity run, whose own block-size behaviour is
    tested in test_activity.py)."""
    from benchmarks.sessions import make
    from diarize.activity import SpeechActivity

    s = make(3, "zh", 11)
    ids = [p for p, _ in s.participants]
    x = np.stack([s.tracks[p] for p in ids])[:, : SR * 30].astype(np.float32)
    act = SpeechActivity(ids)
    events = [act.push(x[:, k : k + SR]) for k in range(0, x.shape[1], SR)]
    events[-1] += act.flush()
    cfg = ProsodyConfig(baseline_speech_s=5.0)
    runs = []
    for block in (320, SR):
        tr, out = ProsodyTracker(ids, cfg), []
        for i, evs in enumerate(events):
            for j in range(i * SR, (i + 1) * SR, block):
                out += tr.push(x[:, j : j + block], evs if j + block >= (i + 1) * SR else [])
        runs.append(out + tr.flush())
    assert len(runs[0]) > 10 and runs[0] == runs[1]
    assert any(e.baseline_ready for e in runs[0])
