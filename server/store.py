"""Sessions on disk: ``<data_dir>/sessions/<id>/`` holds everything a session produced.

- ``session.json``: who, language, state and times (rewritten atomically on change);
- ``events.msgpack``: every event as it happened, appended and flushed per batch, each
  record with its checksum, so a crash or restart loses nothing already analysed and
  damage loses only the damaged record;
- ``report.json``: the final `lgd.report/1`, written when the session ends.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from core import codec
from core.events import Event

logger = logging.getLogger(__name__)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_RECORD = 1 << 20  #: no event is near this (a portrait update: tens of kB); bounds a scan


@dataclass
class SessionRecord:
    id: str
    participants: list[tuple[str, str]]  #: (id, display name)
    language: str
    created_at: str
    state: str = "created"  #: created | live | ended
    started_at: str | None = None  #: ISO-8601, session clock 0
    ended_at: str | None = None
    duration_s: float | None = None
    affect: str | None = None  #: per-session affect-analysis policy override
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SessionRecord:
        obj = dict(obj)
        obj["participants"] = [tuple(p) for p in obj["participants"]]
        return cls(**obj)


def valid_id(text: str) -> bool:
    return isinstance(text, str) and _ID.fullmatch(text) is not None  # `$` lets "a\n" in


class EventLog:
    """Append-only log of one session's events, each record framed with its checksum:
    a msgpack array ``[crc32(payload), payload]``, payload = the event's codec bytes.

    Damage loses only what is damaged: a record whose checksum fails is skipped, and if a
    length byte itself is hit the reader scans forward to the next record that checks out.
    An append that fails (a full disk) is cut back to where it began, so a retry writes
    the batch whole and once. Logs of the earlier, unframed format still read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for appends

    def append(self, events: Iterable[Event]) -> None:
        data = b"".join(frame(codec.encode(ev)) for ev in events)
        if not data:
            return
        start = self._file.seek(0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:  # unbuffered: a full disk may take part of it
                n = self._file.write(view)
                if not n:
                    raise OSError(28, "no space left on device (nothing written)")
                view = view[n:]
        except OSError:
            self._file.truncate(start)
            raise

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def read(path: Path) -> list[Event]:
        if not path.exists():
            return []
        return list(read_frames(path.read_bytes()))


def frame(payload: bytes) -> bytes:
    return msgpack.packb([zlib.crc32(payload), payload], use_bin_type=True)


def read_frames(data: bytes) -> Iterable[Event]:
    """Every intact event of a log, in order (see `EventLog`)."""
    view, end, pos = memoryview(data), len(data), 0
    framed = False  # a log of this version: only checksummed records are trusted in a scan
    while pos < end:
        base = pos
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(end - base, 1))
        unpacker.feed(view[base:])
        damaged = False
        while pos < end:  # the usual path: one record after another
            try:
                obj = unpacker.unpack()
            except Exception:  # msgpack's several types: torn or damaged from here on
                damaged = True
                break
            event, is_record = _event(obj)
            if not is_record:
                damaged = True
                break
            pos = base + unpacker.tell()
            framed = framed or isinstance(obj, list)
            if event is not None:  # else a record that failed its checksum: skipped
                yield event
        if damaged:
            pos = _next_record(data, pos + 1, framed)


def _event(obj: object) -> tuple[Event | None, bool]:
    """(event, True); (None, True) for a framed record whose checksum fails (skip it);
    (None, False) for something that is not a record."""
    if isinstance(obj, list) and len(obj) == 2 and isinstance(obj[0], int) \
            and isinstance(obj[1], bytes):
        crc, payload = obj
        if crc != zlib.crc32(payload):
            return None, True
        try:
            return codec.decode(payload), True
        except ValueError:
            return None, True
    if isinstance(obj, dict):  # the unframed format of earlier versions
        try:
            return codec.from_dict(obj), True
        except ValueError:
            return None, False
    return None, False


def _next_record(data: bytes, pos: int, framed: bool) -> int:
    """The first offset at or after `pos` where a record that checks out starts (len(data)
    if none): damage in a length byte is passed over byte by byte, in a bounded window. In
    a framed log only a record whose checksum holds counts (a damaged record's payload is
    not taken on trust)."""
    view = memoryview(data)
    while pos < len(data):
        unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_RECORD + 1)
        unpacker.feed(view[pos:pos + MAX_RECORD])
        try:
            obj = unpacker.unpack()
        except Exception:
            obj = None
        if (not framed or isinstance(obj, list)) and _event(obj)[0] is not None:
            return pos
        pos += 1
    return pos


class SessionStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "sessions"
        self.root.mkdir(parents=True, exist_ok=True)
        self.quarantined: list[str] = []  #: files moved aside because they could not be read

    def dir(self, sid: str) -> Path:
        if not valid_id(sid):
            raise KeyError(sid)
        return self.root / sid

    def new_id(self) -> str:
        while True:
            sid = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
            if not (self.root / sid).exists():
                return sid

    def save(self, rec: SessionRecord) -> None:
        d = self.dir(rec.id)
        d.mkdir(exist_ok=True)
        tmp = d / "session.json.tmp"
        tmp.write_text(json.dumps(asdict(rec), ensure_ascii=False, indent=1))
        os.replace(tmp, d / "session.json")

    def load(self, sid: str) -> SessionRecord:
        path = self.dir(sid) / "session.json"
        if not path.exists():
            raise KeyError(sid)
        return SessionRecord.from_json(json.loads(path.read_text()))

    def all(self) -> list[SessionRecord]:
        """Every readable session. An unreadable `session.json` is moved aside (quarantined,
        named in the log and in `quarantined`) so that one bad file stops nothing else."""
        out = []
        for d in sorted(self.root.iterdir()):
            path = d / "session.json"
            if not path.exists():
                continue
            try:
                out.append(SessionRecord.from_json(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                bad = path.with_name(f"session.json.unreadable-{int(time.time())}")
                os.replace(path, bad)
                logger.error("quarantined %s (%s): moved to %s", path, exc, bad.name)
                self.quarantined.append(f"{bad}: {exc}")
        return out

    def log(self, sid: str) -> EventLog:
        return EventLog(self.dir(sid) / "events.msgpack")

    def events(self, sid: str) -> list[Event]:
        return EventLog.read(self.dir(sid) / "events.msgpack")

    def save_report(self, sid: str, report: dict[str, Any]) -> None:
        d = self.dir(sid)
        tmp = d / "report.json.tmp"
        tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1))
        os.replace(tmp, d / "report.json")

    def report(self, sid: str) -> dict[str, Any] | None:
        path = self.dir(sid) / "report.json"
        return json.loads(path.read_text()) if path.exists() else None
