"""Speaker embeddings: the voice encoder that `resemblyzer` ships (GE2E, 3×256 LSTM on 40 mel
bands, 256-d unit vectors; weights `pretrained.pt` inside its wheel, Apache-2.0).

Only the weights file is read: importing the `resemblyzer` package pulls in librosa (and
webrtcvad) for preprocessing we do not need, so the network (a few lines) and its mel
features are rebuilt here to the package's definition (`voice_encoder.py`, `audio.py`,
`hparams.py`): linear-power mel of a 25 ms Hann window every 10 ms, Slaney mel scale and
area norm (librosa's defaults), centred frames, audio level set to −30 dBFS first.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400  #: 25 ms
HOP = 160  #: 10 ms
N_MELS = 40
WINDOW_FRAMES = 160  #: 1.6 s: the encoder's training partials
WINDOW_SAMPLES = WINDOW_FRAMES * HOP
TARGET_DBFS = -30.0
EMBED_DIM = 256


def package_weights() -> Path:
    """`pretrained.pt` inside the installed resemblyzer package (found without importing it)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("resemblyzer is not installed (make install puts it in .venv)")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no voice-encoder weights at {path}")
    return path


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney: linear below 1 kHz, logarithmic above (librosa htk=False)."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log = f >= 1000.0
    mel[log] = 15.0 + np.log(f[log] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    f = m * (200.0 / 3)
    log = m >= 15.0
    f[log] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log] - 15.0))
    return f


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) float32: triangular Slaney-normalised filters, 0 Hz–8 kHz."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0],
                                   _hz_to_mel(np.array([SAMPLE_RATE / 2]))[0], N_MELS + 2))
    fdiff = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return w.astype(np.float32)


def mel_power(windows: np.ndarray) -> np.ndarray:
    """windows: (batch, WINDOW_SAMPLES) float32 → (batch, WINDOW_FRAMES, N_FFT // 2 + 1)
    float32 power spectra, each window first set to −30 dBFS (so the gain never matters)."""
    x = windows.astype(np.float64)
    rms = np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    x *= 10 ** (TARGET_DBFS / 20) / np.maximum(rms, 1e-9)
    pad = N_FFT // 2
    x = np.pad(x, ((0, 0), (pad, pad)))  # centred frames, zero padding (librosa's default)
    idx = np.arange(WINDOW_FRAMES)[:, None] * HOP + np.arange(N_FFT)[None, :]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic
    return (np.abs(np.fft.rfft(x[:, idx] * hann, axis=2)) ** 2).astype(np.float32)


def mel_frames(windows: np.ndarray) -> np.ndarray:
    """windows: (batch, WINDOW_SAMPLES) float32 → (batch, WINDOW_FRAMES, N_MELS) float32
    linear mel power (numpy; the encoder does the same product in torch)."""
    return mel_power(windows) @ mel_filters().T


class VoiceEncoder:
    """The resemblyzer network in torch, CPU, one thread (shared 2-core machines)."""

    def __init__(self, weights: Path | None = None) -> None:
        import torch
        from torch import nn

        self._torch = torch
        self.weights = weights  #: None: the package's own file
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, EMBED_DIM)
        state = torch.load(weights or package_weights(), map_location="cpu", weights_only=True)
        state = state.get("model_state", state)
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict(
            {k[7:]: v for k, v in state.items() if k.startswith("linear.")}
        )
        self.lstm.eval()
        self.linear.eval()
        self._filters = torch.from_numpy(mel_filters().T.copy())  # (201, 40)

    def __reduce__(self) -> str | tuple:
        # a model is never part of a snapshot (analysis/snapshot.py): its holder drops it
        raise TypeError("VoiceEncoder is a model: it is loaded again, never pickled")

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """windows: (batch, WINDOW_SAMPLES) float32 16 kHz → (batch, 256) float32 unit vectors."""
        if windows.shape[0] == 0:
            return np.zeros((0, EMBED_DIM), np.float32)
        torch = self._torch
        with torch.inference_mode():
            # the filter product in torch (one thread): numpy's BLAS would start its own
            # thread pool, whose idle workers spin and doubled the embedding's CPU cost
            mels = torch.from_numpy(mel_power(windows)) @ self._filters
            _, (hidden, _) = self.lstm(mels)
            e = torch.relu(self.linear(hidden[-1])).numpy()
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)


_shared: VoiceEncoder | None = None


def load_voice_encoder(weights: Path | None = None) -> VoiceEncoder:
    """The one way to get the encoder: from `weights` or the package's own file; the package's
    model is loaded once per process (17 MB, ~0.1 s) and shared, read-only."""
    global _shared
    if weights is not None:
        return VoiceEncoder(weights)
    if _shared is None:
        _import_torch_single_threaded()
        _shared = VoiceEncoder()
    return _shared


def _import_torch_single_threaded() -> None:
    """One thread for torch: the embedding cost stays predictable on a shared 2-core
    machine (the stages run in their own threads)."""
    import torch

    torch.set_num_threads(1)
