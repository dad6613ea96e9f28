"""The live source: the room's Opus packets in, blocks on the session clock out.

`put()` is called on the event loop for every packet (never dropped: a thread-safe queue);
`poll(now, stopping)` on the analysis thread places what arrived on the `LiveTimeline` and
hands out the audio every sending track has delivered, as one (n_tracks, k*320) block.
`lag(now)` states, at most every `LAG_REPORT_EVERY_S`, that analysis fell behind or lost
frames. Like the timeline it never reads a clock: the caller says what time it is, so a
test can run it on a simulated clock.
"""

from __future__ import annotations

import queue
from collections import deque

import numpy as np

from core.clock import FRAME_SAMPLES, SAMPLE_RATE
from core.events import AnalysisLag
from media.timeline import LiveTimeline

LAG_REPORT_EVERY_S = 2.0
BEHIND_REPORT_S = 1.0  #: analysis further behind the session clock than this is reported


class LiveSource:
    def __init__(self, ids: list[str], max_wait_s: float) -> None:
        self.timeline = LiveTimeline(ids)
        self.max_wait_s = max_wait_s
        self._packets: queue.SimpleQueue[tuple[str, int, int, bytes, float]] = (
            queue.SimpleQueue()
        )
        #: (who, generation, rtp timestamp, capture session s, arrival session s)
        self._clocks: queue.SimpleQueue[tuple[str, int, int, float, float]] = queue.SimpleQueue()
        self.delays: deque[float] = deque(maxlen=3000)  #: recent analysis delays (s)
        self._lost_reported = 0
        self._anchors_taken = 0
        self._last_lag = 0.0

    @property
    def analysed_s(self) -> float:
        return self.timeline.read_head / SAMPLE_RATE

    def start_at(self, at_s: float) -> None:
        """Blocks begin at session time `at_s` (a whole frame), not 0: a session resumed
        after a restart, whose driver was brought there."""
        self.timeline.read_head = int(at_s * SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES

    def put(self, who: str, generation: int, ts: int, payload: bytes, arrival_s: float) -> None:
        """One Opus packet of `who` (RTP timestamp `ts`) that arrived at session time
        `arrival_s`; thread-safe."""
        self._packets.put((who, generation, ts, payload, arrival_s))

    def sender_clock(self, who: str, generation: int, ts: int, captured_s: float,
                     arrival_s: float) -> None:
        """`who`'s sender report: RTP timestamp `ts` was captured at session time
        `captured_s` by the sender's clock; thread-safe."""
        self._clocks.put((who, generation, ts, captured_s, arrival_s))

    def poll(self, now: float, stopping: bool = False, wait_s: float = 0.005) -> np.ndarray | None:
        """Place the packets that arrived (waiting up to `wait_s` for one), then the next
        block: every whole frame up to the watermark (up to `now` when stopping), or None."""
        tl = self.timeline
        try:
            first = self._packets.get(timeout=wait_s) if wait_s > 0 else self._packets.get_nowait()
            tl.place(*first)
            while True:  # drain what else arrived: placement is cheap
                tl.place(*self._packets.get_nowait())
        except queue.Empty:
            pass
        while not self._clocks.empty():  # after the packets: a report needs its track placed
            tl.sender_clock(*self._clocks.get_nowait())
        until = int(now * SAMPLE_RATE) if stopping else tl.ready(now, self.max_wait_s)
        if until - tl.read_head < FRAME_SAMPLES:
            return None
        block = tl.read(until)  # (n_tracks, k*320) float32 16 kHz
        # how far behind the session clock analysed audio is (transport + wait)
        self.delays.append(now - self.analysed_s)
        return block

    def take_anchors(self) -> list[tuple[str, int, int, int]]:
        """The timeline's anchors set since the last call (`LiveTimeline.anchors`)."""
        anchors = self.timeline.anchors[self._anchors_taken:]
        self._anchors_taken += len(anchors)
        return anchors

    def lag(self, now: float) -> AnalysisLag | None:
        """An `AnalysisLag` when frames were lost or analysis is behind, rate-limited."""
        lost = sum(self.timeline.frames_lost.values())
        behind = now - self.analysed_s
        if (lost > self._lost_reported or behind > BEHIND_REPORT_S) and (
            now - self._last_lag > LAG_REPORT_EVERY_S
        ):
            self._lost_reported, self._last_lag = lost, now
            return AnalysisLag("media", round(now, 2), round(behind, 3), lost)
        return None
