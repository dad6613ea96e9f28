"""Offline tracks cut into the blocks the analysis is fed (the clock is `core.clock`).

Live (WebRTC) and offline (files) audio both end up as blocks of whole frames on one
session clock; `iter_blocks` cuts offline tracks into the same blocks the live path
produces from RTP, so later stages cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.clock import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE

__all__ = ["FRAME_S", "FRAME_SAMPLES", "SAMPLE_RATE", "iter_blocks"]


def iter_blocks(tracks: np.ndarray, block_frames: int = 50) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start_sample, block)`` covering every sample of ``tracks`` exactly once.

    ``tracks`` is (n_tracks, n_samples) float32 at `SAMPLE_RATE`. Every block is
    (n_tracks, block_frames * FRAME_SAMPLES) and a view into ``tracks``, except the last one
    when the tail is not whole blocks: that one is a zero-padded copy of
    (n_tracks, k * FRAME_SAMPLES), k <= block_frames, i.e. padded to whole frames only, so
    no silence longer than one frame is invented at the end of a session.
    """
    if block_frames < 1:
        raise ValueError(f"block_frames must be >= 1, got {block_frames}")
    tracks = np.asarray(tracks, dtype=np.float32)  # no copy when already float32
    if tracks.ndim != 2:
        raise ValueError(f"tracks must be (n_tracks, n_samples), got shape {tracks.shape}")
    n_samples = tracks.shape[1]
    step = block_frames * FRAME_SAMPLES
    for start in range(0, n_samples, step):
        block = tracks[:, start : start + step]  # (n_tracks, <= step) float32 view
        short = -block.shape[1] % FRAME_SAMPLES
        if short:
            block = np.pad(block, ((0, 0), (0, short)))  # (n_tracks, k * FRAME_SAMPLES) copy
        yield start, block
