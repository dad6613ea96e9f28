"""Sessions on disk: ``<data_dir>/sessions/<id>/`` holds everything a session produced.

- ``session.json``: who, language, state and times (rewritten atomically on change);
- ``events.msgpack``: every event as it happened, appended and flushed per batch, so a
  crash or restart loses nothing already analysed; a torn last record is ignored;
- ``report.json``: the final `lgd.report/1`, written when the session ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from core import codec
from core.events import Event

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
    """Append-only msgpack log of one session's events."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for appends

    def append(self, events: Iterable[Event]) -> None:
        data = b"".join(codec.encode(ev) for ev in events)
        if data:
            self._file.write(data)  # unbuffered: in the OS after each batch

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def read(path: Path) -> list[Event]:
        if not path.exists():
            return []
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(path.read_bytes())
        out: list[Event] = []
        try:
            for obj in unpacker:
                out.append(codec.from_dict(obj))
        except (msgpack.OutOfData, ValueError):
            pass  # a record torn by a crash: everything before it is intact
        return out


class SessionStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "sessions"
        self.root.mkdir(parents=True, exist_ok=True)

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
        out = []
        for d in sorted(self.root.iterdir()):
            if (d / "session.json").exists():
                out.append(SessionRecord.from_json(json.loads((d / "session.json").read_text())))
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
