"""Fan-out of one source's encoded frames to every subscriber, encoded once.

A `SourceHub` holds one candidate's audio or video as it arrives (any number of
connections over time: a reconnect starts a new *generation*); every other candidate's
peer connection sends it through its own `RelayTrack`, whose `recv()` returns the shared
`av.Packet` — aiortc's sender then only re-packetizes it (`encoder.pack`).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

CLOCK_RATE = {"audio": 48000, "video": 90000}
FRAME_TICKS = {"audio": 960, "video": 3000}  # one 20 ms Opus frame; one frame at 30 fps
QUEUE_LIMIT = {"audio": 50, "video": 30}  # ~1 s; a slow subscriber loses its oldest frames
KEYFRAME_INTERVAL_S = 0.5  # at most one PLI per source per 0.5 s (NOTES.md)


def is_keyframe(codec: str, data: bytes) -> bool:
    if codec == "VP8":
        return len(data) > 0 and data[0] & 1 == 0  # VP8 frame tag: P bit clear on key frames
    if codec == "H264":  # Annex B: look for an IDR (5) or SPS (7) NAL unit
        i = data.find(b"\x00\x00\x01")
        while i >= 0 and i + 3 < len(data):
            if data[i + 3] & 0x1F in (5, 7):
                return True
            i = data.find(b"\x00\x00\x01", i + 3)
        return False
    return True


class RelayTrack(MediaStreamTrack):
    """One subscriber's view of a source: yields encoded `av.Packet`s, never decodes."""

    def __init__(self, hub: SourceHub) -> None:
        super().__init__()
        self.kind = hub.kind
        self.hub = hub
        self._packets: deque[av.Packet] = deque()
        self._ready = asyncio.Event()
        self.waiting_for_keyframe = hub.kind == "video"
        self.sent = 0
        self.dropped = 0

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        if self.waiting_for_keyframe:
            if not keyframe:
                self.hub.request_keyframe()
                return
            self.waiting_for_keyframe = False
        if len(self._packets) >= QUEUE_LIMIT[self.kind]:
            self._packets.popleft()
            self.dropped += 1
        self._packets.append(packet)
        self._ready.set()

    async def recv(self) -> av.Packet:  # type: ignore[override]
        while not self._packets:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.sent += 1
        return self._packets.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()
        self.hub.unsubscribe(self)


class SourceHub:
    """One candidate's audio or video, shared by all subscribers; continuous across reconnects."""

    def __init__(self, who: str, kind: str) -> None:
        self.who = who
        self.kind = kind
        self.codec: str | None = None
        self.subscribers: set[RelayTrack] = set()
        self.frames_in = 0
        self._time_base = fractions.Fraction(1, CLOCK_RATE[kind])
        self._generation = -1
        self._offset = 0
        self._last_pts: int | None = None
        self._keyframe_sender: Callable[[], Awaitable[None]] | None = None
        self._last_pli = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self) -> RelayTrack:
        track = RelayTrack(self)
        self.subscribers.add(track)
        if self.kind == "video":
            self.request_keyframe()
        return track

    def unsubscribe(self, track: RelayTrack) -> None:
        self.subscribers.discard(track)

    def attach(self, generation: int, keyframe_sender: Callable[[], Awaitable[None]]) -> None:
        """A (re)connected source; keyframe requests go to its browser from now on."""
        self._keyframe_sender = keyframe_sender

    def push(self, generation: int, codec: str, timestamp: int, data: bytes) -> None:
        """An encoded frame from the source's connection `generation` (event loop)."""
        if generation != self._generation:
            # Continue the outgoing timeline where the previous connection stopped, so
            # subscribers' jitter buffers see one stream, not a jump back in time.
            self._generation = generation
            nxt = 0 if self._last_pts is None else self._last_pts + FRAME_TICKS[self.kind]
            self._offset = nxt - timestamp
            for track in self.subscribers:
                track.waiting_for_keyframe = self.kind == "video"
        self.codec = codec
        self.frames_in += 1
        pts = timestamp + self._offset
        self._last_pts = pts if self._last_pts is None else max(self._last_pts, pts)
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = self._time_base
        key = is_keyframe(codec, data)
        for track in self.subscribers:
            track.offer(packet, key)

    def request_keyframe(self) -> None:
        now = time.monotonic()
        if self._keyframe_sender is None or now - self._last_pli < KEYFRAME_INTERVAL_S:
            return
        self._last_pli = now
        task = asyncio.ensure_future(self._keyframe_sender())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
