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
import shutil
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack

from core import codec
from core.events import Event
from server.vault import Vault, VaultError, is_sealed

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

    def __init__(self, path: Path, seal: Callable[[bytes], bytes] | None = None) -> None:
        self.path = path
        self._seal = seal  # a session vault's: each record's payload sealed on its own
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for appends

    def append(self, events: Iterable[Event]) -> None:
        seal = self._seal or (lambda b: b)
        data = b"".join(frame(seal(codec.encode(ev))) for ev in events)
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
    def read(path: Path, opener: Callable[[bytes], bytes] | None = None) -> list[Event]:
        if not path.exists():
            return []
        return list(read_frames(path.read_bytes(), opener))


def frame(payload: bytes) -> bytes:
    return msgpack.packb([zlib.crc32(payload), payload], use_bin_type=True)


def read_frames(data: bytes, opener: Callable[[bytes], bytes] | None = None
                ) -> Iterable[Event]:
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
            event, is_record = _event(obj, opener)
            if not is_record:
                damaged = True
                break
            pos = base + unpacker.tell()
            framed = framed or isinstance(obj, list)
            if event is not None:  # else a record that failed its checksum: skipped
                yield event
        if damaged:
            pos = _next_record(data, pos + 1, framed, opener)


def _event(obj: object, opener: Callable[[bytes], bytes] | None = None
           ) -> tuple[Event | None, bool]:
    """(event, True); (None, True) for a framed record whose checksum fails (skip it);
    (None, False) for something that is not a record."""
    if isinstance(obj, list) and len(obj) == 2 and isinstance(obj[0], int) \
            and isinstance(obj[1], bytes):
        crc, payload = obj
        if crc != zlib.crc32(payload):
            return None, True
        try:
            if is_sealed(payload):
                if opener is None:
                    raise VaultError("a sealed event log needs the session's key")
                payload = opener(payload)
            return codec.decode(payload), True
        except ValueError:
            return None, True
    if isinstance(obj, dict):  # the unframed format of earlier versions
        try:
            return codec.from_dict(obj), True
        except ValueError:
            return None, False
    return None, False


def _next_record(data: bytes, pos: int, framed: bool,
                 opener: Callable[[bytes], bytes] | None = None) -> int:
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
        if (not framed or isinstance(obj, list)) and _event(obj, opener)[0] is not None:
            return pos
        pos += 1
    return pos


class SessionStore:
    """Sessions on disk, sealed by `vault` when the deployment has a KEK (server/vault.py)."""

    def __init__(self, data_dir: Path, vault: Vault | None = None) -> None:
        self.root = Path(data_dir) / "sessions"
        self.root.mkdir(parents=True, exist_ok=True)
        self.vault = vault
        self.quarantined: list[str] = []  #: files moved aside because they could not be read
        self.sealed_unread: list[str] = []  #: sealed files no configured KEK opens

    def dir(self, sid: str) -> Path:
        if not valid_id(sid):
            raise KeyError(sid)
        return self.root / sid

    def new_id(self) -> str:
        while True:
            sid = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
            if not (self.root / sid).exists():
                return sid

    # -- whole files, sealed or plain ----------------------------------------------------

    def write_json(self, sid: str, path: Path, role: str, obj: Any) -> None:
        """`obj` as JSON at `path`, sealed under session `sid`'s key when there is a vault;
        atomically (a crash leaves the old file or the new one)."""
        data = json.dumps(obj, ensure_ascii=False, indent=1).encode()
        if self.vault is not None:
            data = self.vault.seal(self.dir(sid), role, data)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def read_json(self, sid: str, path: Path, role: str) -> Any:
        data = path.read_bytes()
        if is_sealed(data):
            if self.vault is None:
                raise VaultError(f"{path} is encrypted: configure LGD_KEK_FILE or LGD_KEK")
            data = self.vault.open(self.dir(sid), role, data)
        return json.loads(data)

    # -- sessions ------------------------------------------------------------------------

    def save(self, rec: SessionRecord) -> None:
        self.dir(rec.id).mkdir(exist_ok=True)
        self.write_json(rec.id, self.dir(rec.id) / "session.json", "session", asdict(rec))

    def load(self, sid: str) -> SessionRecord:
        path = self.dir(sid) / "session.json"
        if not path.exists():
            raise KeyError(sid)
        return SessionRecord.from_json(self.read_json(sid, path, "session"))

    def all(self) -> list[SessionRecord]:
        """Every readable session. An unreadable `session.json` is moved aside (quarantined,
        named in the log and in `quarantined`) so that one bad file stops nothing else; one
        sealed under a key that is not configured is left in place and listed."""
        out = []
        for d in sorted(self.root.iterdir()):
            path = d / "session.json"
            if not path.exists() or not valid_id(d.name):
                continue
            try:
                out.append(SessionRecord.from_json(self.read_json(d.name, path, "session")))
            except VaultError as exc:
                logger.error("cannot open %s: %s", path, exc)
                self.sealed_unread.append(f"{path}: {exc}")
            except (OSError, ValueError, TypeError, KeyError) as exc:
                bad = path.with_name(f"session.json.unreadable-{int(time.time())}")
                os.replace(path, bad)
                logger.error("quarantined %s (%s): moved to %s", path, exc, bad.name)
                self.quarantined.append(f"{bad}: {exc}")
        return out

    def _sealer(self, sid: str) -> tuple[Any, Any]:
        if self.vault is None:
            return None, None
        vault, d = self.vault, self.dir(sid)
        return (lambda data: vault.seal(d, "event", data)), (
            lambda blob: vault.open(d, "event", blob))

    def log(self, sid: str) -> EventLog:
        seal, _ = self._sealer(sid)
        return EventLog(self.dir(sid) / "events.msgpack", seal)

    def events(self, sid: str) -> list[Event]:
        _, opener = self._sealer(sid)
        return EventLog.read(self.dir(sid) / "events.msgpack", opener)

    def rewrite_events(self, sid: str, events: list[Event]) -> None:
        """Replace a session's event log whole (erasure); atomically."""
        path = self.dir(sid) / "events.msgpack"
        tmp = path.with_name(path.name + ".rewrite")
        tmp.unlink(missing_ok=True)
        seal, _ = self._sealer(sid)
        log = EventLog(tmp, seal)
        try:
            log.append(events)
        finally:
            log.close()
        os.replace(tmp, path)

    def save_report(self, sid: str, report: dict[str, Any]) -> None:
        self.write_json(sid, self.dir(sid) / "report.json", "report", report)

    def report(self, sid: str) -> dict[str, Any] | None:
        path = self.dir(sid) / "report.json"
        return self.read_json(sid, path, "report") if path.exists() else None

    def expired(self, now: float, retention_s: float) -> list[str]:
        """Ended sessions whose end lies more than `retention_s` before `now` (Unix s)."""
        out = []
        for rec in self.all():
            if rec.state == "ended" and rec.ended_at:
                ended = datetime.fromisoformat(rec.ended_at).timestamp()
                if now - ended > retention_s:
                    out.append(rec.id)
        return out

    def delete(self, sid: str) -> None:
        """Everything of a session: its record, events, report and key."""
        shutil.rmtree(self.dir(sid), ignore_errors=False)

    def rotate(self, new: Vault) -> int:
        """Re-wrap every session's data key under `new`'s KEK (data untouched); how many."""
        if self.vault is None:
            raise VaultError("no current KEK configured: nothing is sealed under one")
        n = 0
        for d in sorted(self.root.iterdir()):
            if (d / "key.json").exists():
                self.vault.rewrap(d, new)
                n += 1
        self.vault = new
        return n
