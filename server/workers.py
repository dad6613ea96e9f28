"""The SFU side of analysis: each live session gets a link to an analysis worker process.

`make_workers(settings)`: without Redis, one local worker process (`analysis.worker`) that
`lgd serve` starts itself, fed over a multiprocessing queue; with `LGD_REDIS_URL`, Redis
Streams (`analysis.worker_redis`): the session is a job for the workers' consumer group,
its frames and results are streams, and `settings.worker.local` workers are started here
(more run anywhere as `lgd worker`).

A link's `send(frame)` never blocks and never drops a frame (analysis audio is the one
thing never dropped); results and failures come back on the link's callbacks, called from
a link thread: the caller moves them to its event loop.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Any, Protocol

import redis

from analysis.frames import (
    Frame,
    Result,
    Resume,
    decode_result,
    encode_frame,
    encode_info,
    encode_resume,
)
from analysis.settings import Settings
from analysis.worker import serve_local
from analysis.worker_redis import (
    BLOCK_MS,
    GROUP,
    REDIS_DOWN,
    StreamKeys,
    connect,
    ensure_group,
    run_worker,
)
from core.child import start_child
from core.session import SessionInfo

logger = logging.getLogger(__name__)

OnResult = Callable[[Result], None]
OnProblem = Callable[[str, str | None], None]  #: (where, what is wrong; None: mended)
OnFailure = Callable[[str], None]
STOP_WAIT_S = 10.0


class Link(Protocol):
    def send(self, frame: Frame) -> None: ...

    def close(self, retire: bool) -> None:
        """Stop; `retire`: the session's report is written, its streams may go."""


class Workers(Protocol):
    def start(self) -> None: ...

    def open(self, info: SessionInfo, on_result: OnResult, on_failure: OnFailure,
             on_problem: OnProblem, resume: Resume | None = None) -> Link:
        """resume: the session was live when the server stopped and goes on after a
        restart (its driver rebuilt from the events logged before)."""

    def close(self) -> None: ...


def make_workers(settings: Settings) -> Workers:
    return RedisWorkers(settings) if settings.redis_url else LocalWorkers(settings)


def _spawn(target: Callable[..., None], *args: Any) -> SpawnProcess:
    # spawn, not fork: the server has threads and an event loop a fork would copy mid-step.
    # Not a daemon: the worker may start the ASR process of its own.
    proc = mp.get_context("spawn").Process(target=target, args=args, name="lgd-analysis")
    start_child(proc)
    return proc


# -- embedded: one local worker process ------------------------------------------------


class LocalWorkers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx = mp.get_context("spawn")
        self._proc: SpawnProcess | None = None
        self._inbox: Any = None
        self._outbox: Any = None
        self._sessions: dict[str, tuple[OnResult, OnFailure]] = {}
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.is_alive():
                return
            self._inbox, self._outbox = self._ctx.Queue(), self._ctx.Queue()
            # frames for a worker that died would block the queue's feeder thread on a full
            # pipe, and interpreter exit joins that thread: never wait for it (a live worker
            # still gets everything: `close` waits for the process, not the thread)
            self._inbox.cancel_join_thread()
            self._proc = _spawn(serve_local, self._inbox, self._outbox, self.settings,
                                os.getpid())
            self._reader = threading.Thread(target=self._read, args=(self._proc, self._outbox),
                                            name="analysis-results", daemon=True)
            self._reader.start()

    def open(self, info: SessionInfo, on_result: OnResult, on_failure: OnFailure,
             on_problem: OnProblem, resume: Resume | None = None) -> Link:
        self.start()
        with self._lock:
            self._sessions[info.id] = (on_result, on_failure)
            inbox = self._inbox
        inbox.put(("open", info.id, encode_info(info),
                   encode_resume(resume) if resume is not None else None))
        return _LocalLink(info.id, inbox, self._sessions)

    def _read(self, proc: SpawnProcess, outbox: Any) -> None:
        while True:
            try:
                msg = outbox.get(timeout=0.5)
            except queue.Empty:
                if proc.is_alive():
                    continue
                if not self._closed:  # it died under live sessions: each shows the gap
                    why = f"the analysis worker process died (exit code {proc.exitcode})"
                    logger.error(why)
                    for _, on_failure in list(self._sessions.values()):
                        on_failure(why)
                return
            if msg[0] == "ready":
                logger.info("analysis worker process %d ready", proc.pid)
            elif (cb := self._sessions.get(msg[1])) is not None:
                if msg[0] == "result":
                    cb[0](decode_result(msg[2]))
                elif msg[0] == "failed":
                    cb[1](msg[2])

    def close(self) -> None:
        self._closed = True
        with self._lock:
            proc, inbox = self._proc, self._inbox
        if proc is None:
            return
        inbox.put(("stop",))
        proc.join(STOP_WAIT_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(STOP_WAIT_S)


class _LocalLink:
    def __init__(self, sid: str, inbox: Any, sessions: dict[str, Any]) -> None:
        self.sid, self._inbox, self._sessions = sid, inbox, sessions

    def send(self, frame: Frame) -> None:
        self._inbox.put(("frame", self.sid, encode_frame(frame)))

    def close(self, retire: bool) -> None:
        self._sessions.pop(self.sid, None)


# -- at scale: Redis Streams and a consumer group of workers ---------------------------


class RedisWorkers:
    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url
        self.settings = settings
        self.keys = StreamKeys(settings.worker.stream_prefix)
        self._procs: list[SpawnProcess] = []

    def start(self) -> None:
        self._procs = [p for p in self._procs if p.is_alive()]
        for i in range(self.settings.worker.local - len(self._procs)):
            name = f"{os.uname().nodename}-{os.getpid()}-local{i}"
            self._procs.append(_spawn(run_worker, self.settings, name, os.getpid()))

    def open(self, info: SessionInfo, on_result: OnResult, on_failure: OnFailure,
             on_problem: OnProblem, resume: Resume | None = None) -> Link:
        self.start()
        assert self.settings.redis_url
        r = connect(self.settings.redis_url)
        stream = info.id
        if resume is not None:  # a new job on new streams: the old ones are the dead run's
            stream = f"{info.id}.r{int(time.time() * 1000)}"
            _forget_jobs(r, self.keys, info.id)
        return RedisLink(r, self.keys, info, on_result, on_problem, stream, resume)

    def close(self) -> None:
        for p in self._procs:
            if p.pid is not None and p.is_alive():  # let go of its sessions now
                os.kill(p.pid, signal.SIGUSR1)
        for p in self._procs:
            p.join(STOP_WAIT_S)
            if p.is_alive():
                p.kill()


def _forget_jobs(r: redis.Redis, keys: StreamKeys, sid: str) -> None:
    """A session's jobs and streams from before a restart (their frames stopped): deleted,
    so no worker takes them over; best effort (a worker abandons them anyway)."""
    try:
        rows: Any = r.xrange(keys.jobs, "-", "+")
        for jid, fields in rows:
            old = fields.get(b"sid", b"").decode()
            if old == sid or old.startswith(f"{sid}.r"):
                r.xack(keys.jobs, GROUP, jid)
                r.xdel(keys.jobs, jid)
                r.delete(*keys.session(old))
    except REDIS_DOWN as exc:
        logger.warning("session %s: cannot delete its jobs from before the restart: %r",
                       sid, exc)


class RedisLink:
    """One session on Redis: a sender thread appends the job, then every frame, retrying
    while Redis is away (frames wait, in order, in memory); a reader thread follows the
    results stream from the start."""

    def __init__(self, r: redis.Redis, keys: StreamKeys, info: SessionInfo,
                 on_result: OnResult, on_problem: OnProblem, stream: str | None = None,
                 resume: Resume | None = None) -> None:
        """stream: the id the session's streams go by (default its id; a session resumed
        after a restart gets new ones)."""
        self.r, self.keys, self.sid = r, keys, stream or info.id
        self._on_result, self._on_problem = on_result, on_problem
        self._out: queue.SimpleQueue[tuple[str, dict[bytes, bytes]] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._job: Any = None  #: the job's entry id, once appended
        job = {b"sid": self.sid.encode(), b"info": encode_info(info)}
        if resume is not None:
            job[b"resume"] = encode_resume(resume)
        self._out.put((keys.jobs, job))
        self._threads = [threading.Thread(target=f, name=f"{f.__name__}-{info.id}", daemon=True)
                         for f in (self._send_loop, self._read_loop)]
        for t in self._threads:
            t.start()

    def send(self, frame: Frame) -> None:
        self._out.put((self.keys.frames(self.sid), {b"f": encode_frame(frame)}))

    def _send_loop(self) -> None:
        while (item := self._out.get()) is not None:
            pause = 0.25
            while True:
                try:
                    if item[0] == self.keys.jobs:
                        ensure_group(self.r, self.keys)
                    entry = self.r.xadd(item[0], item[1])  # type: ignore[arg-type]
                    if item[0] == self.keys.jobs:
                        self._job = entry
                    if pause > 0.25:
                        self._on_problem("analysis", None)
                    break
                except REDIS_DOWN as exc:
                    self._on_problem("analysis", f"cannot send frames to the workers: {exc!r}")
                    if self._stop.wait(pause):
                        return
                    pause = min(2 * pause, 5.0)

    def _read_loop(self) -> None:
        last: Any = "0-0"
        pause = 0.25
        while not self._stop.is_set():
            try:
                reply: Any = self.r.xread({self.keys.results(self.sid): last}, count=256,
                                     block=BLOCK_MS)
            except (*REDIS_DOWN, ValueError) as exc:  # ValueError: a client closed under us
                if self._stop.is_set():
                    return
                logger.warning("session %s: reading results failed (%r)", self.sid, exc)
                self._stop.wait(pause)
                pause = min(2 * pause, 5.0)
                continue
            pause = 0.25
            for _, entries in reply or ():
                for rid, fields in entries:
                    last = rid
                    res = decode_result(fields[b"r"])
                    self._on_result(res)
                    if res.final:
                        return

    def close(self, retire: bool) -> None:
        self._out.put(None)
        self._threads[0].join(STOP_WAIT_S)
        self._stop.set()
        self._threads[1].join(STOP_WAIT_S)
        if retire:  # the report is written: frames and results have served their purpose
            try:
                self.r.delete(*self.keys.session(self.sid))
                if self._job is not None:  # done, or nobody finished it: no worker takes it
                    self.r.xdel(self.keys.jobs, self._job)
            except REDIS_DOWN as exc:
                logger.warning("session %s: cannot delete its streams: %r", self.sid, exc)
        self.r.close()
