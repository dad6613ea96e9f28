"""One session's driver in a worker: frames in, numbered events out.

The worker is only another host for the same `Analysis`: each frame is the one driver call
it stands for. Events are numbered in production order; a host resuming a session another
worker had (its frames replayed from the start into a fresh driver, which is exact because
the stages are deterministic given their inputs) publishes only the numbers from
`published` on, so nothing is counted twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from analysis.driver import Analysis
from analysis.frames import AudioFrame, EndFrame, EventsFrame, Frame, Result, VideoFrame
from analysis.settings import Settings
from core.clock import FRAME_SAMPLES
from core.events import Event
from core.session import SessionInfo

Publish = Callable[[Result], None]


def warm_up(ids: list[str], settings: Settings) -> None:
    """Load the VAD and compile the numba kernels (cached on disk) before a session needs
    them: on a fresh install that takes seconds of CPU."""
    quiet = dataclasses.replace(settings, asr=dataclasses.replace(settings.asr, enabled=False))
    warm = Analysis(SessionInfo("warm-up", [(p, p) for p in ids], "", "", "off"), quiet)
    warm.feed(np.zeros((len(ids), FRAME_SAMPLES * 50), np.float32))


class SessionHost:
    def __init__(self, info: SessionInfo, settings: Settings, publish: Publish,
                 published: int = 0) -> None:
        """published: how many of the session's events are already out (a resumed session)."""
        self.info = info
        self.publish = publish
        self.published = published
        self.seq = 0  #: events the driver produced so far
        self.frames = 0  #: frames applied
        self._made: list[Event] = []
        self.analysis = Analysis(info, settings, sink=self._made.extend)
        self.finished = False
        self._out(final=False)  # the portraits before any data

    @property
    def analysed_s(self) -> float:
        return self.analysis.duration_s

    @property
    def replaying(self) -> bool:
        """Still re-making events another worker had published."""
        return self.seq < self.published

    def apply(self, frame: Frame) -> bool:
        """One driver call; True once the session is finished (its last result is out)."""
        a = self.analysis
        if isinstance(frame, AudioFrame):
            a.feed(frame.block)
        elif isinstance(frame, VideoFrame):
            a.feed_video(frame.who, frame.at, frame.rgb)
        elif isinstance(frame, EventsFrame):
            a.feed_events(frame.events)
        elif isinstance(frame, EndFrame):
            a.finish()
            self.finished = True
        self.frames += 1
        self._out(final=self.finished)
        return self.finished

    def close(self) -> None:
        self.analysis.close()

    def _out(self, final: bool) -> None:
        made, first = self._made[:], self.seq
        self._made.clear()
        self.seq += len(made)
        skip = max(0, self.published - first)
        if skip < len(made) or final:
            fresh = made[skip:]
            self.publish(Result(first + skip, fresh, round(self.analysed_s, 3), final,
                                self.frames))
            self.published = max(self.published, self.seq)
