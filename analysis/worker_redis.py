"""Analysis workers on Redis Streams: any worker on any machine can take a session.

Keys (prefix `settings.worker.stream_prefix`):
- ``analysis:jobs`` — one entry per session (``sid``, ``info``), read by the consumer group
  ``analysis-workers`` (XREADGROUP): the group hands each session to one worker;
- ``analysis:<sid>:frames`` — the session's frames (`analysis.frames`), in driver order,
  written by the SFU node that carries its media;
- ``analysis:<sid>:results`` — the numbered events the worker made (`Result`);
- ``analysis:<sid>:checkpoint`` — a hash: the frame id consumed up to, the events published,
  the audio analysed, by whom, the latest snapshot's frame id and size, how the current
  holder resumed (`resumed_how`, `resumed_from`), refreshed every `checkpoint_every_s` of
  session audio;
- ``analysis:<sid>:snapshot`` and ``…:snapshot:prev`` — the latest and the previous snapshot
  of the session's analysis state (`analysis.snapshot`), written with the checkpoint.

A worker keeps the sessions it hosts claimed: every `claim_idle_s / 4` it re-claims their
job entries (XCLAIM … JUSTID resets their idle time). A worker that dies stops doing so;
once a job has been idle `claim_idle_s`, another worker takes it (XAUTOCLAIM), loads the
latest snapshot (else the previous one) and reads the frames after its frame id; with no
loadable snapshot it replays the frames from the start into a fresh driver (exact: the
stages are deterministic). Either way it publishes from the first event number not yet in
the results stream. Once a new snapshot is stored, the frames before the previous one are
trimmed (XTRIM MINID, `trim_frames`), so the fallback to the previous snapshot stays whole;
a session whose frames were trimmed and whose snapshots none loads is let go (logged). The
job is acknowledged (XACK) and deleted once the last result is out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from analysis import snapshot
from analysis.frames import (
    Result,
    decode_frame,
    decode_info,
    decode_result,
    decode_resume,
    encode_result,
)
from analysis.host import SessionHost, warm_up
from analysis.settings import Settings
from analysis.snapshot import Snapshot
from core.child import ignore_sigint

logger = logging.getLogger(__name__)

GROUP = "analysis-workers"
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
FRAMES_BATCH = 64  #: frames per XREAD
BLOCK_MS = 1000  #: the longest a blocked read waits before looking at its stop flags
WARM_TRACKS = 6


@dataclass(frozen=True, slots=True)
class StreamKeys:
    prefix: str

    @property
    def jobs(self) -> str:
        return f"{self.prefix}analysis:jobs"

    def frames(self, sid: str) -> str:
        return f"{self.prefix}analysis:{sid}:frames"

    def results(self, sid: str) -> str:
        return f"{self.prefix}analysis:{sid}:results"

    def checkpoint(self, sid: str) -> str:
        return f"{self.prefix}analysis:{sid}:checkpoint"

    def snapshot(self, sid: str) -> str:
        return f"{self.prefix}analysis:{sid}:snapshot"

    def snapshot_prev(self, sid: str) -> str:
        return f"{self.prefix}analysis:{sid}:snapshot:prev"

    def session(self, sid: str) -> list[str]:
        return [self.frames(sid), self.results(sid), self.checkpoint(sid), self.snapshot(sid),
                self.snapshot_prev(sid)]


def connect(url: str) -> redis.Redis:
    # RESP2: the stream reply shapes below are RESP2's
    return redis.Redis.from_url(url, protocol=2, socket_timeout=5.0, socket_connect_timeout=2.0)


def ensure_group(r: redis.Redis, keys: StreamKeys) -> None:
    """The consumer group, from the start of the jobs stream (a job added before the group
    existed is still handed out)."""
    try:
        r.xgroup_create(keys.jobs, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def published_results(r: redis.Redis, keys: StreamKeys, sid: str) -> list[Result]:
    """Every result of the session so far, in order."""
    out: list[Result] = []
    start = "-"
    while rows := cast(Any, r.xrange(keys.results(sid), start, "+", count=512)):
        out += [decode_result(f[b"r"]) for _, f in rows]
        start = "(" + rows[-1][0].decode()
    return out


@dataclass
class _Job:
    sid: str
    thread: threading.Thread
    lost: threading.Event  #: another worker holds it now (or it was deleted): stop


class RedisWorker:
    """`lgd worker`: hosts sessions from the consumer group until `stop` is set, or until
    its sessions have ended once `drain()` was called (SIGTERM)."""

    def __init__(self, settings: Settings, name: str | None = None,
                 parent: int | None = None) -> None:
        """parent: the pid of the `lgd serve` that started this worker, which stops with
        it (its sessions go to other workers); None: `lgd worker`, on its own."""
        if not settings.redis_url:
            raise ValueError("an analysis worker on Redis needs LGD_REDIS_URL")
        self.settings = settings
        cfg = settings.worker
        self.r = connect(settings.redis_url)
        snapshot.code_version()  # of the code this process loaded, not of a later edit
        self.keys = StreamKeys(cfg.stream_prefix)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.capacity = cfg.sessions_max or (os.cpu_count() or 1)
        self.claim_idle_ms = int(cfg.claim_idle_s * 1000)
        self.beat_s = cfg.claim_idle_s / 4
        self.parent = parent
        self.jobs: dict[bytes, _Job] = {}
        self.stop = threading.Event()  #: let go of every session now
        self.draining = threading.Event()  #: take no new sessions; stop once ours end
        self._drain_until = 0.0
        # what was already said about a session it cannot resume: such a job stays pending,
        # so it is claimed again every claim_idle_s; saying it again each time is noise
        self._said: set[tuple[str, ...]] = set()

    def drain(self) -> None:
        if not self.draining.is_set():
            self._drain_until = time.monotonic() + self.settings.worker.drain_s
            self.draining.set()
            logger.info("worker %s: draining (%d sessions)", self.name, len(self.jobs))

    def run(self) -> None:
        warm_up([f"p{i}" for i in range(WARM_TRACKS)], self.settings)
        pause = 0.25
        logger.info("analysis worker %s: ready (%d sessions at most)", self.name, self.capacity)
        while not self.stop.is_set():
            try:
                ensure_group(self.r, self.keys)
                while not self.stop.is_set():
                    self._step()
                    pause = 0.25
            except REDIS_DOWN as exc:
                logger.warning("worker %s: Redis unreachable (%r); retrying in %.2f s",
                               self.name, exc, pause)
                self.stop.wait(pause)
                pause = min(2 * pause, 5.0)
        for job in self.jobs.values():
            job.lost.set()  # not acknowledged: another worker takes them over
            job.thread.join(timeout=5.0)

    def _step(self) -> None:
        for jid in [j for j, job in self.jobs.items() if not job.thread.is_alive()]:
            del self.jobs[jid]
        if self.parent is not None and os.getppid() != self.parent:
            logger.error("worker %s: the server that started it is gone: exiting", self.name)
            self.stop.set()
            return
        self._heartbeat()
        free = self.capacity - len(self.jobs)
        if self.draining.is_set():
            if not self.jobs or time.monotonic() >= self._drain_until:
                self.stop.set()
            else:
                self.stop.wait(self.beat_s)
            return
        if free <= 0:
            self.stop.wait(self.beat_s)
            return
        # a dead worker's sessions first: they are already late
        _, claimed, *_ = self.r.xautoclaim(self.keys.jobs, GROUP, self.name,
                                           self.claim_idle_ms, "0-0", count=free)
        for jid, fields in claimed:
            if fields and jid not in self.jobs:
                self._say(logging.INFO, ("taking over", jid.decode()),
                          "worker %s: taking over session %s", self.name,
                          fields[b"sid"].decode())
                self._host(jid, fields)
        free = self.capacity - len(self.jobs)
        if free <= 0:
            return
        reply: Any = self.r.xreadgroup(GROUP, self.name, {self.keys.jobs: ">"}, count=free,
                                  block=int(self.beat_s * 1000))
        for _, entries in reply or ():
            for jid, fields in entries:
                self._host(jid, fields)

    def _heartbeat(self) -> None:
        """Keep our jobs' idle time low; let go of those another worker has taken."""
        if not self.jobs:
            return
        mine = {p["message_id"] for p in self.r.xpending_range(
            self.keys.jobs, GROUP, "-", "+", count=10_000, consumername=self.name)}
        held: list[Any] = [jid for jid in self.jobs if jid in mine]
        kept = set(self.r.xclaim(self.keys.jobs, GROUP, self.name, 0, held, justid=True)
                   if held else [])
        for jid, job in self.jobs.items():
            if jid not in kept and not job.lost.is_set():
                logger.warning("worker %s: session %s is no longer ours", self.name, job.sid)
                job.lost.set()

    def _host(self, jid: bytes, fields: dict[bytes, bytes]) -> None:
        sid = fields[b"sid"].decode()
        lost = threading.Event()
        t = threading.Thread(target=self._run_job,
                             args=(jid, sid, fields[b"info"], lost, fields.get(b"resume")),
                             name=f"analysis-{sid}", daemon=True)
        self.jobs[jid] = _Job(sid, t, lost)
        t.start()

    # -- one session (its own thread) ---------------------------------------------------

    def _run_job(self, jid: bytes, sid: str, info: bytes, lost: threading.Event,
                 resume: bytes | None = None) -> None:
        host: SessionHost | None = None
        try:
            host = self._resume(jid, sid, info, lost, resume)
        except Exception:  # a bad job or a stage failure: logged; the job stays pending
            logger.exception("worker %s: session %s stopped", self.name, sid)
        finally:
            if host is not None:
                host.close()

    def _resume(self, jid: bytes, sid: str, info: bytes, lost: threading.Event,
                resume: bytes | None = None) -> SessionHost | None:
        keys = self.keys
        prior = self._retry(lost, lambda: published_results(self.r, keys, sid))
        if prior is None:
            return None
        if prior and prior[-1].final:  # finished before its worker could ack
            self._retry(lost, lambda: self._done(jid))
            return None
        already = [ev for res in prior for ev in res.events]
        snap, how = self._load_snapshot(sid, lost)
        if how == "stuck":
            return None  # not ours to finish: the job stays pending (see _load_snapshot)
        host = SessionHost(decode_info(info), self.settings,
                           lambda res: self._publish(sid, res, lost), already,
                           decode_resume(resume) if resume and snap is None else None,
                           snapshot=snap)
        # from the snapshot's frame on; without one, from the start (a fresh driver: exact)
        last: Any = snap.frame if snap is not None else "0-0"
        snap_frame: str | None = last if snap is not None else None  #: in the snapshot key
        self._retry(lost, lambda: self.r.hset(keys.checkpoint(sid), mapping={
            "worker": self.name, "resumed_from": last, "resumed_how": how,
            "analysed_s": host.analysed_s, "frames": host.frames,
            "published": host.published}))
        every = self.settings.worker.checkpoint_every_s
        next_checkpoint = host.analysed_s + every
        heard = time.monotonic()
        while not (lost.is_set() or self.stop.is_set()):
            reply = self._retry(lost, partial(self.r.xread, {keys.frames(sid): last},
                                              count=FRAMES_BATCH, block=BLOCK_MS))
            if reply:
                heard = time.monotonic()
            elif time.monotonic() - heard > self.settings.worker.abandon_s:
                logger.warning("worker %s: no frames of session %s for %.0f s: abandoned",
                               self.name, sid, self.settings.worker.abandon_s)
                self._retry(lost, lambda: self._done(jid))
                return host
            for _, entries in reply or ():
                for fid, fields in entries:
                    if lost.is_set():
                        return host
                    finished = host.apply(decode_frame(fields[b"f"]))
                    last = fid
                    if finished or host.analysed_s >= next_checkpoint:
                        next_checkpoint = host.analysed_s + every
                        snap_frame = self._checkpoint(sid, last, host, snap_frame, lost)
                    if finished:
                        self._retry(lost, lambda: self._done(jid))
                        return host
        return host

    def _load_snapshot(self, sid: str, lost: threading.Event) -> tuple[Snapshot | None, str]:
        """The session's latest loadable snapshot, and how the session resumes: "snapshot",
        "previous snapshot", "replay" (from the start: no snapshot loads, and the frames
        stream is whole) or "stuck" (none loads and frames were trimmed: this worker cannot
        resume it exactly, so it lets go and the job stays pending: a worker of the code
        version that made the snapshot can take it; the server marks the gap if none does).
        Never silent: every fallback is logged with why."""
        keys = self.keys
        got = self._retry(lost, lambda: (
            self.r.get(keys.snapshot(sid)), self.r.get(keys.snapshot_prev(sid)),
            self.r.hget(keys.checkpoint(sid), "trimmed_to")))
        if got is None:
            return None, "stuck"  # lost or stopping
        latest, prev, trimmed = got
        for how, blob in (("snapshot", latest), ("previous snapshot", prev)):
            if blob is None:
                continue
            started = time.perf_counter()
            try:
                snap = snapshot.load(blob)
            except snapshot.SnapshotError as exc:
                self._say(logging.WARNING, (sid, how, str(exc)),
                          "worker %s: session %s: its %s is unusable: %s", self.name, sid,
                          how, exc)
                continue
            except Exception as exc:  # unpickling other damage, a stage that cannot be restored
                self._say(logging.ERROR, (sid, how, repr(exc)),
                          "worker %s: session %s: its %s does not load", self.name, sid, how,
                          exc_info=True)
                continue
            logger.info("worker %s: session %s resumes from its %s after frame %s (%.1f s of "
                        "audio, %d events; %d bytes, loaded in %.3f s)", self.name, sid, how,
                        snap.frame, snap.analysis.duration_s, snap.published, len(blob),
                        time.perf_counter() - started)
            if how != "snapshot":  # the unusable one must not become the next fallback
                self._retry(lost, lambda: self.r.copy(keys.snapshot_prev(sid),
                                                      keys.snapshot(sid), replace=True))
            return snap, how
        if trimmed:
            self._say(logging.ERROR, (sid, "stuck", trimmed.decode()),
                      "worker %s: session %s: no snapshot loads and its frames before %s were "
                      "trimmed: it cannot be resumed exactly here; letting it go", self.name,
                      sid, trimmed.decode())
            return None, "stuck"
        if latest is not None or prev is not None:
            logger.warning("worker %s: session %s: no snapshot loads: replaying its frames "
                           "from the start", self.name, sid)
            self._retry(lost, lambda: self.r.delete(keys.snapshot(sid), keys.snapshot_prev(sid)))
        else:
            logger.info("worker %s: session %s has no snapshot: its frames from the start",
                        self.name, sid)
        return None, "replay"

    def _say(self, level: int, key: tuple[str, ...], msg: str, *args: Any,
             exc_info: bool = False) -> None:
        """Log once per worker and `key` at `level`, then at DEBUG (the same job, claimed
        again, fails the same way)."""
        first = key not in self._said
        self._said.add(key)
        logger.log(level if first else logging.DEBUG, msg + ("" if first else " (again)"),
                   *args, exc_info=exc_info)

    def _publish(self, sid: str, res: Result, lost: threading.Event) -> None:
        self._retry(lost, lambda: self.r.xadd(self.keys.results(sid), {b"r": encode_result(res)}))

    def _checkpoint(self, sid: str, fid: Any, host: SessionHost, snap_frame: str | None,
                    lost: threading.Event) -> str | None:
        """Record where the session stands and, unless it has finished, a snapshot of its
        driver; the one it replaces becomes the previous snapshot, and frames before that
        one are trimmed (`trim_frames`): the fallback for an unusable latest snapshot stays
        whole. Returns the frame id the snapshot key now holds."""
        keys = self.keys
        frame = fid.decode() if isinstance(fid, bytes) else str(fid)
        fields: dict[Any, Any] = {
            "frame": frame, "frames": host.frames, "published": host.published,
            "analysed_s": host.analysed_s, "worker": self.name, "at": time.time()}
        blob = None
        if not host.finished:
            started = time.perf_counter()
            try:
                blob = snapshot.dump(host.snapshot(frame))
            except Exception:  # a stage that cannot be pickled: no snapshot, never a crash
                logger.exception("worker %s: session %s: no snapshot taken", self.name, sid)
            fields["snapshot_s"] = round(time.perf_counter() - started, 4)
        trim = (blob is not None and snap_frame is not None
                and self.settings.worker.trim_frames)
        if blob is not None:
            fields |= {"snapshot_frame": frame, "snapshot_bytes": len(blob)}
            if trim:
                fields["trimmed_to"] = snap_frame  # said before it is done, never after

        def write() -> None:
            p = self.r.pipeline(transaction=True)  # MULTI: snapshot and hash agree
            if blob is not None:
                if snap_frame is not None:
                    p.copy(keys.snapshot(sid), keys.snapshot_prev(sid), replace=True)
                p.set(keys.snapshot(sid), blob)
            p.hset(keys.checkpoint(sid), mapping=fields)
            p.execute()
            if trim:  # frames up to the previous snapshot are in it
                self.r.xtrim(keys.frames(sid), minid=snap_frame, approximate=False)

        self._retry(lost, write)
        return frame if blob is not None else snap_frame

    def _done(self, jid: bytes) -> None:
        self.r.xack(self.keys.jobs, GROUP, jid)
        self.r.xdel(self.keys.jobs, jid)

    def _retry(self, lost: threading.Event, command: Any) -> Any:
        """Run a Redis command until it succeeds (Redis away: wait and retry, keep our
        place); None once the job is lost or the worker stops."""
        pause = 0.25
        while not (lost.is_set() or self.stop.is_set()):
            try:
                return command()
            except REDIS_DOWN as exc:
                logger.warning("worker %s: %r; retrying in %.2f s", self.name, exc, pause)
                lost.wait(pause)
                pause = min(2 * pause, 5.0)
        return None


def run_worker(settings: Settings, name: str | None = None, parent: int | None = None) -> None:
    """A worker process's main (`lgd worker`, or one `lgd serve` starts with Redis)."""
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    worker = RedisWorker(settings, name, parent)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: worker.drain())
        if parent is None:  # `lgd worker` on its own: Ctrl-C lets go of its sessions
            signal.signal(signal.SIGINT, lambda *_: worker.stop.set())
        else:  # started by `lgd serve`, which asks with SIGUSR1 (core.child)
            ignore_sigint()
            signal.signal(signal.SIGUSR1, lambda *_: worker.stop.set())
    worker.run()
