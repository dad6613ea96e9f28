"""The speech-activity stage fed in blocks of a given size, for tests that compare live
(20 ms) and file (1 s) input or read the model's state afterwards."""

from __future__ import annotations

import numpy as np

from core.events import SpeechEnded, SpeechStarted
from diarize.activity import SpeechActivity
from diarize.config import ActivityConfig


def run_activity(x: np.ndarray, ids: list[str], block: int,
                 config: ActivityConfig | None = None) -> tuple[SpeechActivity, list]:
    """x: (n, samples) float32 16 kHz. → the stage, and its SpeechStarted/Ended events."""
    act = SpeechActivity(ids, config)
    events = []
    for k in range(0, x.shape[1], block):
        events += act.push(x[:, k : k + block])
    events += act.flush()
    return act, [e for e in events if isinstance(e, (SpeechStarted, SpeechEnded))]
