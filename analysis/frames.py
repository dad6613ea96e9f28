"""The driver's inputs as frames, and its numbered events as results: what an SFU node and
an analysis worker send each other.

A session's analysis is a function of the calls made on `Analysis`, in order: `feed`,
`feed_video`, `feed_events`, `finish`. Each call is one frame. Shipped in order to a worker
(a pipe, or a Redis stream) and replayed in order into a fresh driver after a crash (or,
from a snapshot's frame on, into the driver the snapshot holds: `analysis.snapshot`), the
same frames give the same events in the same order; events are numbered (`seq`, from 0 per
session) so a resumed worker publishes only those not already out, and a receiver drops
any number it has already seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import msgpack
import numpy as np

from core import codec
from core.events import Event
from core.session import SessionInfo


@dataclass(frozen=True, slots=True)
class AudioFrame:
    block: np.ndarray  #: (n_tracks, n) float32 16 kHz: the next samples of every track


@dataclass(frozen=True, slots=True)
class VideoFrame:
    who: str
    at: float  #: session time (s)
    rgb: np.ndarray  #: (H, W, 3) uint8


@dataclass(frozen=True, slots=True)
class EventsFrame:
    events: list[Event]  #: lag reports, phases: events from outside the media


@dataclass(frozen=True, slots=True)
class EndFrame:
    """The session ended: flush every stage."""


Frame = AudioFrame | VideoFrame | EventsFrame | EndFrame


@dataclass(frozen=True, slots=True)
class Result:
    """Events `first_seq`, `first_seq + 1`, … of a session, as a worker published them."""

    first_seq: int
    events: list[Event] = field(default_factory=list)
    analysed_s: float = 0.0  #: audio analysed when they were produced
    final: bool = False  #: the last result: `finish()` ran, the report is complete
    frames: int = 0  #: frames the worker had applied when it made them

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.events)


@dataclass(frozen=True, slots=True)
class Resume:
    """A session that was live when its server stopped, going on after a restart: its
    driver starts at session time `at_s`, rebuilt from the events logged before
    (`Analysis.resume`); `until_s` is the last time that log vouches for."""

    at_s: float
    until_s: float
    events: list[Event] = field(default_factory=list)


def encode_resume(r: Resume) -> bytes:
    return cast(bytes, msgpack.packb(
        {"at": r.at_s, "until": r.until_s, "e": [codec.encode(ev) for ev in r.events]},
        use_bin_type=True))


def decode_resume(data: bytes) -> Resume:
    d = msgpack.unpackb(data, raw=False)
    return Resume(float(d["at"]), float(d["until"]), [codec.decode(e) for e in d["e"]])


def encode_frame(frame: Frame) -> bytes:
    if isinstance(frame, AudioFrame):
        b = np.ascontiguousarray(frame.block, np.float32)
        body: dict[str, Any] = {"k": "a", "n": b.shape[0], "b": b.tobytes()}
    elif isinstance(frame, VideoFrame):
        v = np.ascontiguousarray(frame.rgb, np.uint8)
        body = {"k": "v", "who": frame.who, "at": frame.at, "shape": list(v.shape),
                "b": v.tobytes()}
    elif isinstance(frame, EventsFrame):
        body = {"k": "e", "e": [codec.encode(ev) for ev in frame.events]}
    else:
        body = {"k": "end"}
    return cast(bytes, msgpack.packb(body, use_bin_type=True))


def decode_frame(data: bytes) -> Frame:
    d = msgpack.unpackb(data, raw=False)
    kind = d.get("k")
    if kind == "a":
        block = np.frombuffer(d["b"], np.float32).reshape(d["n"], -1)  # (n_tracks, n)
        return AudioFrame(block)
    if kind == "v":
        rgb = np.frombuffer(d["b"], np.uint8).reshape(d["shape"])  # (H, W, 3)
        return VideoFrame(d["who"], float(d["at"]), rgb)
    if kind == "e":
        return EventsFrame([codec.decode(e) for e in d["e"]])
    if kind == "end":
        return EndFrame()
    raise ValueError(f"not an analysis frame: kind {kind!r}")


def encode_result(r: Result) -> bytes:
    return cast(bytes, msgpack.packb(
        {"s": r.first_seq, "e": [codec.encode(ev) for ev in r.events], "t": r.analysed_s,
         "end": r.final, "f": r.frames}, use_bin_type=True))


def decode_result(data: bytes) -> Result:
    d = msgpack.unpackb(data, raw=False)
    return Result(int(d["s"]), [codec.decode(e) for e in d["e"]], float(d["t"]), bool(d["end"]),
                  int(d["f"]))


def encode_info(info: SessionInfo) -> bytes:
    return json.dumps({"id": info.id, "participants": info.participants,
                       "language": info.language, "started_at": info.started_at,
                       "affect": info.affect}).encode()


def decode_info(data: bytes) -> SessionInfo:
    d = json.loads(data)
    return SessionInfo(d["id"], [(str(p), str(n)) for p, n in d["participants"]],
                       d["language"], d["started_at"], d["affect"])
