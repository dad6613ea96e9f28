"""The analysis clock: every track, live or from a file, is 16 kHz mono float32 on one
session clock (0 = session start), analysed in 20 ms frames. The only copy of these."""

from __future__ import annotations

SAMPLE_RATE = 16000  #: Hz, every track after decoding/resampling
FRAME_S = 0.02  #: seconds per analysis frame
FRAME_SAMPLES = 320  #: SAMPLE_RATE * FRAME_S

