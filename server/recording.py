"""A live session's recordings, sealed at rest: each candidate's encoded Opus (and VP8) frames
as they arrived, in a standard container (media/recorder.py), without re-encoding.

- One *segment* per candidate, connection (generation) and kind:
  `<session>/media/<pid>.<generation>.<kind>.<ogg|webm>.sealed`. The container is muxed
  in memory and sealed chunk by chunk (AES-GCM under the session's data key, the chunk's
  position in its associated data, so chunks cannot be reordered, moved or swapped): no
  plain byte of it is ever written, not even to a temporary file.
- Its *index* `<pid>.<generation>.<kind>.index.sealed` maps it onto the session clock: the
  RTP timestamp and the arrival (session seconds) of every packet written, and where the
  live timeline anchored the track (`anchors`: the RTP timestamp each took effect at and
  its session sample; media/timeline.py), so a re-analysis places it the same. It is written
  when the segment opens (the first packet's mapping) and again, whole, when it closes.
- Packets are queued on the event loop and muxed and sealed on one thread per session
  (`SessionRecorder`), so the relay never waits for the disk. The queue is bounded: when
  the disk falls that far behind, packets are dropped from the recording (counted), never
  from the relay or the analysis.
- Nothing is recorded without a KEK: the files could not be sealed.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.settings import RECORDING_MODES, Settings
from media.recorder import SUFFIX, ContainerWriter
from server.store import SessionRecord, SessionStore
from server.vault import VaultError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024  #: container bytes sealed together
CHUNK_S = 5.0  #: ... or at least this often (a crash loses at most this much)
BACKLOG = 60_000  #: queued packets (8 candidates' audio and video, about a minute)
BATCH_S = 0.05  #: the recorder thread wakes at most this often
_LEN = 4  #: a chunk is framed by its length, 4 bytes big-endian


def recording_mode(settings: Settings, rec: SessionRecord, sealed: bool) -> tuple[str, str]:
    """(mode, why): what this session records. The session's option may ask for less than
    the deployment's `LGD_RECORDING`, never more; nothing without a KEK."""
    want = rec.options.get("recording", settings.recording)
    mode = min(want, settings.recording, key=RECORDING_MODES.index)
    if mode != "off" and not sealed:
        return "off", "no KEK is configured (LGD_KEK_FILE): recordings are kept only sealed"
    chosen = "recording" in rec.options and mode == want
    return mode, "session option" if chosen else "deployment setting"


def media_dir(store: SessionStore, sid: str) -> Path:
    return store.dir(sid) / "media"


@dataclass
class Segment:
    """One candidate's track of one connection, being written."""

    name: str  #: <pid>.<generation>.<kind>
    who: str
    generation: int
    kind: str
    codec: str
    writer: ContainerWriter
    first_at: float  #: session time of the first packet
    ts: list[int] = field(default_factory=list)  #: RTP timestamp of each packet written
    at: list[float] = field(default_factory=list)  #: its arrival, session s
    #: the live timeline's anchors: [RTP timestamp it took effect at, session sample]
    anchors: list[list[int]] = field(default_factory=list)
    chunks: int = 0
    sealed_at: float = 0.0  #: monotonic time of the last chunk
    closed: bool = False  #: finished: its index counts every chunk


class SessionRecorder:
    """`put` on the event loop, everything else on the recorder's own thread."""

    def __init__(self, store: SessionStore, sid: str, mode: str) -> None:
        if store.vault is None:
            raise ValueError("recording needs a KEK: nothing is written unsealed")
        self.store, self.sid = store, sid
        self.video = mode == "audio+video"
        self.dir = media_dir(store, sid)
        self._q: queue.Queue[tuple[Any, ...] | None] = queue.Queue(BACKLOG)
        self._segments: dict[tuple[str, int, str], Segment] = {}
        self.dropped_backlog = 0
        self.failed: str | None = None  #: why recording stopped, if it did
        self._thread = threading.Thread(target=self._run, name=f"recorder-{sid}", daemon=True)
        self._thread.start()

    # -- event loop ----------------------------------------------------------------------

    def put(self, who: str, generation: int, kind: str, codec: str, ts: int, payload: bytes,
            at_s: float) -> None:
        """One encoded frame as it arrived (`at_s`: session time); never blocks."""
        if kind == "video" and not self.video:
            return
        try:
            self._q.put_nowait((who, generation, kind, codec.lower(), ts, bytes(payload), at_s))
        except queue.Full:
            self.dropped_backlog += 1

    def anchor(self, who: str, generation: int, ts: int, anchor: int) -> None:
        """An anchor the live timeline set for `who`'s audio (any thread); never blocks."""
        try:
            self._q.put_nowait((who, generation, ts, anchor))
        except queue.Full:
            self.dropped_backlog += 1

    def close(self) -> dict[str, Any]:
        """Blocking (call off the loop): the rest written, every segment finished."""
        self._q.put(None)
        self._thread.join()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return {"segments": [{"who": s.who, "generation": s.generation, "kind": s.kind,
                              "packets": s.writer.packets, "dropped": s.writer.dropped,
                              "bytes": s.writer.bytes_out} for s in self._segments.values()],
                "dropped_backlog": self.dropped_backlog, "failed": self.failed}

    # -- recorder thread -----------------------------------------------------------------

    def _run(self) -> None:
        """Woken at most every BATCH_S: what queued meanwhile is muxed in one go (a wake-up
        per packet cost ten times the CPU)."""
        while True:
            batch: list[tuple[Any, ...] | None] = []
            try:
                batch.append(self._q.get(timeout=1.0))
                while True:
                    batch.append(self._q.get_nowait())
            except queue.Empty:
                pass
            for item in batch:
                if item is None:
                    for seg in self._segments.values():
                        self._guard(self._finish, seg)
                    return
                if self.failed is None:
                    self._guard(self._write if len(item) == 7 else self._anchor, *item)
            self._guard(self._seal_due)
            time.sleep(BATCH_S)

    def _guard(self, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except Exception as exc:  # a full disk: the session goes on, unrecorded
            if self.failed is None:
                logger.exception("session %s: recording stopped", self.sid)
            self.failed = repr(exc)

    def _write(self, who: str, gen: int, kind: str, codec: str, ts: int, payload: bytes,
               at_s: float) -> None:
        key = (who, gen, kind)
        seg = self._segments.get(key)
        if seg is None:
            seg = Segment(f"{who}.{gen}.{kind}", who, gen, kind, codec, ContainerWriter(codec),
                          at_s, sealed_at=time.monotonic())
            self._segments[key] = seg
        if seg.writer.add(ts, payload):
            if not seg.ts:
                seg.first_at = at_s
            seg.ts.append(ts)
            seg.at.append(at_s)
            if len(seg.ts) == 1:
                self._write_index(seg)  # the mapping is on disk from the first packet
        if seg.writer.pending >= CHUNK_BYTES:
            self._seal(seg, seg.writer.take())

    def _anchor(self, who: str, gen: int, ts: int, anchor: int) -> None:
        seg = self._segments.get((who, gen, "audio"))
        if seg is not None:
            seg.anchors.append([ts, anchor])

    def _seal_due(self) -> None:
        now = time.monotonic()
        for seg in self._segments.values():
            if now - seg.sealed_at >= CHUNK_S:
                self._seal(seg, seg.writer.take())

    def _seal(self, seg: Segment, data: bytes) -> None:
        seg.sealed_at = time.monotonic()
        if not data:
            return
        append_chunk(self.store, self.sid, container_name(seg.name, seg.codec), seg.chunks, data)
        seg.chunks += 1

    def _finish(self, seg: Segment) -> None:
        self._seal(seg, seg.writer.close())
        seg.closed = True
        self._write_index(seg)

    def _write_index(self, seg: Segment) -> None:
        ts = np.asarray(seg.ts, np.int64) - (seg.ts[0] if seg.ts else 0)  # (n,) int64
        index = {"who": seg.who, "generation": seg.generation, "kind": seg.kind,
                 "codec": seg.codec, "file": container_name(seg.name, seg.codec),
                 "first_at": round(seg.first_at, 6), "ts0": seg.ts[0] if seg.ts else None,
                 "packets": len(seg.ts), "dropped": seg.writer.dropped,
                 "bytes": seg.writer.bytes_out, "chunks": seg.chunks, "closed": seg.closed,
                 "ts": base64.b64encode(ts.tobytes()).decode(),
                 "at": base64.b64encode(np.asarray(seg.at, np.float64).tobytes()).decode(),
                 "anchors": seg.anchors}
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store.write_json(self.sid, self.dir / f"{seg.name}.index.sealed",
                              f"media-index/{seg.name}", index)


def container_name(name: str, codec: str) -> str:
    return f"{name}.{SUFFIX[codec]}.sealed"


def append_chunk(store: SessionStore, sid: str, file: str, i: int, data: bytes) -> None:
    assert store.vault is not None
    blob = store.vault.seal(store.dir(sid), f"media/{file}/{i}", data)
    path = media_dir(store, sid) / file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as f:
        f.write(len(blob).to_bytes(_LEN, "big") + blob)


# -- reading back (in memory only) ---------------------------------------------------------

def open_container(store: SessionStore, sid: str, file: str, chunks: int | None = None
                   ) -> bytes:
    """A segment's container, decrypted into memory. `chunks`: how many its closing index
    says it has; fewer is an error (a tail cut off). VaultError if a chunk is damaged or
    out of place. A torn last chunk of a segment never closed (a crash mid-write) is left
    out: the container reads up to it."""
    if store.vault is None:
        raise ValueError("the recordings are sealed: configure LGD_KEK_FILE or LGD_KEK")
    data = (media_dir(store, sid) / file).read_bytes()
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + _LEN], "big")
        if pos + _LEN + n > len(data):
            if chunks is not None:
                raise VaultError(f"{file}: chunk {i} is torn")
            break
        blob = data[pos + _LEN:pos + _LEN + n]
        out.append(store.vault.open(store.dir(sid), f"media/{file}/{i}", blob))
        pos, i = pos + _LEN + n, i + 1
    if chunks is not None and i != chunks:
        raise VaultError(f"{file}: {i} chunks where its index counts {chunks}: cut short")
    return b"".join(out)


def expected_chunks(seg: dict[str, Any]) -> int | None:
    """What `open_container` checks: a closed segment's chunk count."""
    return seg["chunks"] if seg.get("closed") else None


def segments(store: SessionStore, sid: str) -> list[dict[str, Any]]:
    """Every recorded segment's index (decoded arrays under `ts` / `at`), by who and start."""
    d = media_dir(store, sid)
    if not d.exists():
        return []
    out = []
    for path in sorted(d.glob("*.index.sealed")):
        name = path.name[:-len(".index.sealed")]
        idx = store.read_json(sid, path, f"media-index/{name}")
        idx["name"] = name
        idx["ts"] = np.frombuffer(base64.b64decode(idx["ts"]), np.int64)  # (n,) from ts0
        idx["at"] = np.frombuffer(base64.b64decode(idx["at"]), np.float64)  # (n,) session s
        out.append(idx)
    return sorted(out, key=lambda s: (s["who"], s["first_at"]))


def delete_media(store: SessionStore, sid: str, who: str | None = None) -> int:
    """Delete a session's recordings (one candidate's, with `who`); how many files went."""
    d = media_dir(store, sid)
    if not d.exists():
        return 0
    gone = 0
    for path in list(d.iterdir()):
        if who is None or path.name.startswith(f"{who}."):
            with contextlib.suppress(FileNotFoundError):  # a sweep running alongside
                path.unlink()
                gone += 1
    if who is None:
        with contextlib.suppress(FileNotFoundError):
            d.rmdir()
    return gone
