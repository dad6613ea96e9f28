"""Synthetic candidate video: a real face photo with scripted head motion, as frames or a
y4m file (the format Chromium's fake camera plays, `--use-file-for-fake-video-capture`).

The photo is scikit-image's `astronaut()` (a real portrait, public domain; scikit-image is
a test dependency). Motion is a 2-D shift of the whole frame: a nod is a vertical
oscillation of the head, a shake a horizontal one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

Motion = Callable[[float], tuple[float, float]]  #: t → (dx, dy) pixels


def face_photo() -> np.ndarray:
    """(512, 512, 3) uint8 RGB portrait."""
    from skimage import data

    return data.astronaut()


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """img moved by whole pixels, edges repeated."""
    out = img
    for axis, d in ((0, int(round(dy))), (1, int(round(dx)))):
        if d:
            out = np.roll(out, d, axis=axis)
            idx = [slice(None)] * 3
            idx[axis] = slice(0, d) if d > 0 else slice(d, None)
            edge = [slice(None)] * 3
            edge[axis] = slice(0, 1) if d > 0 else slice(-1, None)
            out[tuple(idx)] = img[tuple(edge)]
    return out


def nod(rate_hz: float = 0.8, amp_px: float = 18.0, start_s: float = 0.0) -> Motion:
    """Vertical head oscillation from start_s on (one nod per cycle)."""
    return lambda t: (0.0, amp_px * np.sin(2 * np.pi * rate_hz * (t - start_s))
                      if t >= start_s else 0.0)


def still() -> Motion:
    return lambda t: (0.0, 0.0)


def clip(img: np.ndarray, motion: Motion, fps: float, duration_s: float
         ) -> Iterator[tuple[float, np.ndarray]]:
    """(t, frame) at fps for duration_s."""
    for k in range(int(round(duration_s * fps))):
        t = k / fps
        yield t, shifted(img, *motion(t))


def write_y4m(path: Path, frames: Iterator[np.ndarray], fps: int) -> Path:
    """Write RGB frames as 4:2:0 y4m, BT.601 limited range (what ffmpeg and Chromium
    assume for y4m)."""
    path = Path(path)
    with path.open("wb") as f:
        header = False
        for rgb in frames:
            h, w = rgb.shape[:2]
            if not header:
                f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
                header = True
            x = rgb.astype(np.float32)
            y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
            u = (x[..., 2] - y) * 0.564 * 224 / 255 + 128
            v = (x[..., 0] - y) * 0.713 * 224 / 255 + 128
            y = 16 + y * 219 / 255
            sub = [c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) for c in (u, v)]
            f.write(b"FRAME\n")
            for plane in (y, *sub):
                f.write(np.clip(np.round(plane), 0, 255).astype(np.uint8).tobytes())
    return path
