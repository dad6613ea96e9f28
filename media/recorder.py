"""One track's encoded packets into a standard container, without decoding: Opus into Ogg,
VP8 into WebM (PyAV's muxers, fed `av.Packet`s as they arrived).

The container is written into memory only: `take()` hands out the bytes produced since the
last call, so the caller can seal them chunk by chunk and no plain file is ever written.
The muxer is given a write-only sink, so it never seeks back (Ogg pages and Matroska
clusters are both written front to back, the live-streaming way).

Packets must come in timestamp order; one that goes back (a reordered or duplicated RTP
packet) cannot be muxed and is counted in `dropped`. A plain synchronous class: the caller
owns the thread it runs on.
"""

from __future__ import annotations

import fractions
import io
from collections.abc import Iterator
from typing import Any

import av
import numpy as np

OPUS_RATE = 48000  #: RTP clock of Opus
VP8_RATE = 90000  #: RTP clock of video
_FORMATS = {"opus": ("ogg", "libopus", OPUS_RATE), "vp8": ("webm", "libvpx", VP8_RATE)}
SUFFIX = {"opus": "ogg", "vp8": "webm"}
MIME = {"opus": "audio/ogg", "vp8": "video/webm"}


class _Sink:
    """A write-only file for the muxer: what it writes, kept until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe's header (RFC 6386 §9.1); None otherwise."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return (int.from_bytes(frame[6:8], "little") & 0x3FFF,
            int.from_bytes(frame[8:10], "little") & 0x3FFF)


class ContainerWriter:
    """codec "opus" or "vp8"; `add(ts, payload)` with the RTP timestamp (unwrapped)."""

    def __init__(self, codec: str) -> None:
        if codec not in _FORMATS:
            raise ValueError(f"cannot record {codec!r}: opus or vp8")
        self.codec = codec
        self._sink = _Sink()
        self._out: Any = None
        self._stream: Any = None
        self._tb = fractions.Fraction(1, _FORMATS[codec][2])
        self.ts0: int | None = None  #: RTP timestamp of the first packet written
        self._last: int | None = None
        self.packets = 0  #: written
        self.dropped = 0  #: out of order, or video before its first keyframe
        self.bytes_out = 0

    def _open(self, payload: bytes) -> bool:
        fmt, encoder, rate = _FORMATS[self.codec]
        size = vp8_size(payload) if self.codec == "vp8" else (0, 0)
        if size is None:  # a WebM track must start on a keyframe that gives its size
            return False
        self._out = av.open(self._sink, mode="w", format=fmt)
        self._stream = self._out.add_stream(encoder, rate=rate if self.codec == "opus" else 30)
        if self.codec == "vp8":
            self._stream.width, self._stream.height = size
        self._stream.time_base = self._tb
        return True

    def add(self, ts: int, payload: bytes) -> bool:
        """One encoded frame; False if it could not be written (counted in `dropped`)."""
        if self._out is None and not self._open(payload):
            self.dropped += 1
            return False
        if self.ts0 is None:
            self.ts0 = ts
        if self._last is not None and ts <= self._last:
            self.dropped += 1
            return False
        self._last = ts
        packet = av.Packet(payload)
        packet.pts = packet.dts = ts - self.ts0
        packet.time_base = self._tb
        packet.stream = self._stream
        if self.codec == "vp8" and vp8_size(payload) is not None:
            packet.is_keyframe = True
        self._out.mux(packet)
        self.packets += 1
        return True

    @property
    def pending(self) -> int:
        """Container bytes written and not yet taken."""
        return sum(len(p) for p in self._sink.parts)

    def take(self) -> bytes:
        """The container bytes written since the last call."""
        data = b"".join(self._sink.parts)
        self._sink.parts.clear()
        self.bytes_out += len(data)
        return data

    def close(self) -> bytes:
        """Finish the container (trailer); the bytes not yet taken."""
        if self._out is not None:
            self._out.close()
            self._out = None
        return self.take()


def demux(data: bytes) -> list[tuple[float, bytes]]:
    """A container's packets back: (seconds from its first packet, payload)."""
    out = []
    with av.open(io.BytesIO(data), mode="r") as inp:
        for p in inp.demux():
            if p.size:
                out.append((float((p.pts or 0) * p.time_base), bytes(p)))
    return out


def decoded_frames(data: bytes, fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """A WebM's video decoded, at most `fps` frames a second (as the live session samples
    for the face stage): (seconds from its first packet, (H, W, 3) uint8 RGB). Lazy: an hour
    of video is never held decoded."""
    with av.open(io.BytesIO(data), mode="r") as inp:
        due = 0.0
        for frame in inp.decode(video=0):
            t = float((frame.pts or 0) * (frame.time_base or 0))
            if t + 1e-6 < due:
                continue
            due = t + 1.0 / fps
            yield t, frame.to_ndarray(format="rgb24")
