"""One session's driver in a worker: frames in, numbered events out.

The worker is only another host for the same `Analysis`: each frame is the one driver call
it stands for. Published events are numbered (`seq`, from 0 per session). A host resuming
a session another worker had replays its frames from the start into a fresh driver and is
given the events already published: each event it makes again is matched against them
(as a multiset, by its encoding) and not published twice; what is new goes out with the
next numbers. A host given a snapshot of the driver (`analysis.snapshot`) goes on from the
frame it was taken at instead, and makes again only what was published after it. Without
ASR the stages are deterministic given their frames, so the replay re-makes exactly the
published prefix; with ASR an utterance can come out at another
place in the stream (the ASR process's timing), and matching by content still publishes
each once.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import numpy as np

from analysis.driver import Analysis
from analysis.frames import (
    AudioFrame,
    EndFrame,
    EventsFrame,
    Frame,
    Result,
    Resume,
    VideoFrame,
)
from analysis.settings import Settings
from analysis.snapshot import Snapshot
from core import codec
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
                 already: list[Event] | None = None, resume: Resume | None = None,
                 snapshot: Snapshot | None = None) -> None:
        """already: the session's events published before (a worker that took over), in
        order. resume: the session was live when its server stopped, and goes on from
        `resume.at_s` after a restart (`Analysis.resume`). snapshot: the driver as a worker
        left it at a frame (`analysis.snapshot`): this host goes on from there, and only
        the events published after the snapshot are made again (and not republished)."""
        self.info = info
        self.publish = publish
        already = already or []
        self.published = len(already)  #: events out so far: the next number
        since = snapshot.published if snapshot is not None else 0
        self._already = Counter(codec.encode(ev) for ev in already[since:])
        self.frames = snapshot.frames if snapshot is not None else 0  #: frames applied
        self._made: list[Event] = []
        self.finished = False
        if snapshot is not None:
            self.analysis = snapshot.analysis
            self.analysis.sink = self._made.extend
            return
        # live: transcripts keep up (ASR never waits to fill a pack); see AsrConfig.pack_live
        self.analysis = Analysis(info, settings, sink=self._made.extend, live=True)
        if resume is not None:  # not the empty portraits: those of the whole session so far
            self._made.clear()
            self.analysis.resume(resume.events, resume.at_s, resume.until_s)
        self._out(final=False)  # the portraits before any data

    def snapshot(self, frame: str) -> Snapshot:
        """The driver as it stands after frame `frame` (between frames: nothing waits).
        Its event count is of what this driver made: a host still making again what the
        worker before it had published counts only those it made so far."""
        return Snapshot(frame, self.frames, self.published - self._already.total(),
                        self.analysis)

    @property
    def analysed_s(self) -> float:
        return self.analysis.duration_s

    @property
    def replaying(self) -> bool:
        """Still re-making events another worker had published."""
        return self._already.total() > 0

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
        made = self._made[:]
        self._made.clear()
        if self._already:
            made = [ev for ev in made if not self._seen(ev)]
        if made or final:
            self.publish(Result(self.published, made, round(self.analysed_s, 3), final,
                                self.frames))
            self.published += len(made)

    def _seen(self, ev: Event) -> bool:
        """Published before (by the worker this host took over from): consumed once."""
        key = codec.encode(ev)
        if self._already[key] <= 0:
            return False
        self._already[key] -= 1
        if self._already[key] == 0:
            del self._already[key]
        return True
