"""Offline video input for `lgd analyze --video ID=FILE`: decode (PyAV) and sample frames
at the face stage's rate on the session clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


class VideoInputError(ValueError):
    """A video file that cannot be used, with the reason."""


def sample_frames(path: Path | str, fps: float, offset_s: float = 0.0
                  ) -> Iterator[tuple[float, np.ndarray]]:
    """(session time, (H, W, 3) uint8 RGB) at most `fps` frames per second: the first
    decoded frame at or after each tick of 1/fps. offset_s: session time of the file's
    first frame (0 when the recordings start together)."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoInputError(f"{path}: cannot open video ({exc})") from None
    with container:
        if not container.streams.video:
            raise VideoInputError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step, next_t, t0 = 1.0 / fps, 0.0, None
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            t = float(frame.pts * frame.time_base)
            t0 = t if t0 is None else t0
            if t - t0 + 1e-6 < next_t:
                continue
            yield round(offset_s + next_t, 3), frame.to_ndarray(format="rgb24")
            next_t += step * max(1, int((t - t0 - next_t) // step) + 1)


def merged(streams: dict[str, Iterator[tuple[float, np.ndarray]]]
           ) -> Iterator[tuple[str, float, np.ndarray]]:
    """Several candidates' frame streams as one, in time order: (who, t, frame)."""
    import heapq

    heads: list[tuple[float, int, str, np.ndarray]] = []
    its = dict(streams)
    for i, (who, it) in enumerate(its.items()):
        first = next(it, None)
        if first is not None:
            heads.append((first[0], i, who, first[1]))
    heapq.heapify(heads)
    while heads:
        t, i, who, frame = heapq.heappop(heads)
        yield who, t, frame
        nxt = next(its[who], None)
        if nxt is not None:
            heapq.heappush(heads, (nxt[0], i, who, nxt[1]))
