"""The embedded analysis worker: a process `lgd serve` starts itself (no Redis needed).

The server's media side sends, on one multiprocessing queue, ``("open", sid, info, resume)``
(resume: None, or `analysis.frames.Resume` encoded: a session going on after a restart),
``("frame", sid, frame)`` and ``("stop",)``; the worker answers on another with
``("ready",)``, ``("result", sid, result)`` and ``("failed", sid, why)``. Each session runs
on its own thread here (numba and onnxruntime release the GIL), so neither the server's
event loop nor its GIL carries analysis.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from multiprocessing.queues import Queue
from typing import Any

from analysis.frames import decode_frame, decode_info, decode_resume, encode_result
from analysis.host import SessionHost, warm_up
from analysis.settings import Settings
from core.child import ignore_sigint

logger = logging.getLogger(__name__)

WARM_TRACKS = 6


def serve_local(inbox: Queue[Any], outbox: Queue[Any], settings: Settings, parent: int) -> None:
    """The worker process's main: host sessions until told to stop, or until the server
    process `parent` is gone."""
    ignore_sigint()  # the server stops it, after its sessions' reports (core.child)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    # warmed beside the first sessions, which need not wait for it
    threading.Thread(target=warm_up, args=([f"p{i}" for i in range(WARM_TRACKS)], settings),
                     name="warm-up", daemon=True).start()
    outbox.put(("ready",))
    sessions: dict[str, queue.SimpleQueue[bytes | None]] = {}
    threads: list[threading.Thread] = []
    while True:
        try:
            msg = inbox.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the server died (kill -9): no one to answer
                logger.error("the server process is gone: the analysis worker exits")
                outbox.cancel_join_thread()  # nobody reads the results: do not wait on them
                break
            continue
        if msg[0] == "stop":
            break
        if msg[0] == "open":
            q: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
            sessions[msg[1]] = q
            resume = msg[3] if len(msg) > 3 else None
            t = threading.Thread(target=_host, args=(msg[1], msg[2], q, outbox, settings, resume),
                                 name=f"analysis-{msg[1]}", daemon=True)
            t.start()
            threads.append(t)
        elif msg[0] == "frame" and (q2 := sessions.get(msg[1])) is not None:
            q2.put(msg[2])
    for q in sessions.values():
        q.put(None)  # a session still open: its host stops where it is
    for t in threads:
        t.join(timeout=10.0)


def _host(sid: str, info: bytes, frames: queue.SimpleQueue[bytes | None], outbox: Queue[Any],
          settings: Settings, resume: bytes | None = None) -> None:
    host: SessionHost | None = None
    try:
        host = SessionHost(decode_info(info), settings,
                           lambda r: outbox.put(("result", sid, encode_result(r))),
                           resume=decode_resume(resume) if resume else None)
        while (data := frames.get()) is not None:
            if host.apply(decode_frame(data)):
                return
    except Exception as exc:  # never silent: the server marks the gap and logs why
        logger.exception("session %s: analysis stopped", sid)
        outbox.put(("failed", sid, f"{type(exc).__name__}: {exc}"))
    finally:
        if host is not None:
            host.close()
