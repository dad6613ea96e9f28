"""Per-track voice activity with silero-vad's bundled ONNX model, all tracks in one batch.

The model ships inside the `silero-vad` wheel (MIT); we run it with onnxruntime only,
so torch is not needed. It is level-independent (a 20 dB quieter mic gets the same
probabilities), which is why it is the first cue; it cannot tell a mic's owner from a
neighbour heard through the mic — that is crosstalk.py's job.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from core.clock import SAMPLE_RATE

CHUNK = 512  #: samples per model step at 16 kHz (32 ms), fixed by the model
_CONTEXT = 64  #: samples of the previous chunk the model sees, as silero's own wrapper does


class VadModelError(RuntimeError):
    pass


def bundled_model_path() -> Path:
    """The ONNX file inside the installed silero-vad wheel (never downloaded)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VadModelError(
            "silero-vad is not installed: run scripts/bootstrap, or set LGD_VAD_MODEL to a "
            "silero_vad.onnx file"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "silero_vad.onnx"


def load_vad_session(path: Path | None = None):  # -> onnxruntime.InferenceSession
    """The one place the VAD model is loaded: a local file, default the bundled one."""
    import onnxruntime as ort

    path = Path(path) if path else bundled_model_path()
    if not path.is_file():
        raise VadModelError(f"VAD model not found: {path}")
    opts = ort.SessionOptions()
    # One thread: tracks are batched, and the other core is for the rest of the pipeline.
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own error types
        raise VadModelError(f"cannot load VAD model {path}: {exc}") from exc


class SileroVad:
    """Streaming speech probability for n tracks at once, one value per 32 ms chunk."""

    def __init__(self, n_tracks: int, model_path: Path | None = None, session=None) -> None:
        self.n_tracks = n_tracks
        self._model_path = model_path
        self._session = session if session is not None else load_vad_session(model_path)
        self._state = np.zeros((2, n_tracks, 128), np.float32)
        self._context = np.zeros((n_tracks, _CONTEXT), np.float32)
        self._pending = np.zeros((n_tracks, 0), np.float32)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.chunks_done = 0

    # A snapshot (analysis/snapshot.py) holds the recurrent state, never the model: the
    # InferenceSession is a runtime resource, loaded again from the same file on restore.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_session"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._session = load_vad_session(self._model_path)

    def push(self, block: np.ndarray) -> np.ndarray:
        """block: (n_tracks, n) float32 16 kHz → (n_tracks, k) float32 probabilities for the
        k whole chunks completed by it (leftover samples wait for the next block)."""
        buf = np.concatenate([self._pending, block.astype(np.float32, copy=False)], axis=1)
        k = buf.shape[1] // CHUNK
        out = np.empty((self.n_tracks, k), np.float32)
        for c in range(k):
            chunk = buf[:, c * CHUNK : (c + 1) * CHUNK]
            x = np.concatenate([self._context, chunk], axis=1)
            prob, self._state = self._session.run(
                None, {"input": x, "state": self._state, "sr": self._sr}
            )
            out[:, c] = prob[:, 0]
            self._context = chunk[:, -_CONTEXT:]
        self._pending = buf[:, k * CHUNK :].copy()
        self.chunks_done += k
        return out
