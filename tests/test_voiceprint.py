"""The speaker model shipped in the resemblyzer wheel, loaded from its package path, on
real espeak-ng speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diarize.voiceprint import (
    WINDOW_SAMPLES,
    VoiceEncoder,
    load_voice_encoder,
    mel_filters,
    package_weights,
)
from testkit.synth.voices import Voice, render

MALE = Voice("en-us+m3", 40, 165, "m")
FEMALE = Voice("en-us+f3", 70, 170, "f")
LINES = (
    "I think we should start with the budget and then talk about the schedule",
    "Well that is a fair point but the customers told us something quite different",
    "Let us hear what everyone else thinks before we decide anything at all",
)


def _window(voice: Voice, text: str) -> np.ndarray:
    x = render(voice, text)
    assert len(x) >= WINDOW_SAMPLES
    return x[:WINDOW_SAMPLES].astype(np.float32)


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return load_voice_encoder()


def test_weights_come_from_the_installed_package():
    path = package_weights()
    assert path.name == "pretrained.pt" and "resemblyzer" in path.parts
    assert path.stat().st_size > 10_000_000  # the real 17 MB model, not a stub


def test_a_missing_weights_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_voice_encoder(tmp_path / "none.pt")


def test_mel_filters_are_slaney_triangles():
    w = mel_filters()  # (40, 201)
    assert w.shape == (40, 201) and (w >= 0).all()
    peaks = w.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # bands rise in frequency
    # Slaney area norm: each triangle's height is 2 / its width in Hz
    assert w[0].max() > w[-1].max()


def test_same_voice_is_closer_than_another_voice(encoder: VoiceEncoder):
    m = encoder.embed(np.stack([_window(MALE, t) for t in LINES]))  # (3, 256)
    f = encoder.embed(np.stack([_window(FEMALE, t) for t in LINES]))
    assert m.shape == (3, 256)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    # the same line said by both voices: content alike, voice not
    same = [float(m[a] @ m[b]) for a in range(3) for b in range(a + 1, 3)]
    other = [float(m[a] @ f[a]) for a in range(3)]
    assert min(same) > max(other) + 0.1, (same, other)


def test_the_embedding_ignores_the_mic_gain(encoder: VoiceEncoder):
    x = _window(MALE, LINES[0])
    e = encoder.embed(np.stack([x, x * 0.05, x * 3.0]))  # 0, -26, +9.5 dB
    assert float(e[0] @ e[1]) > 0.999 and float(e[0] @ e[2]) > 0.999
