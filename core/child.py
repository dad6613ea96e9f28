"""Child processes (the analysis worker, the ASR worker) and a terminal's Ctrl-C.

A Ctrl-C in a terminal sends SIGINT to the whole foreground process group: to `lgd serve`
and to every child it started. The server answers by ending its live sessions at once with
their reports, which needs its children alive; a child that took the SIGINT itself died
(KeyboardInterrupt) and the reports came out cut short ("the analysis worker process
died"). So children never take SIGINT: they are started with it blocked (the mask is
inherited through fork and exec, so it covers their imports too), and once running they
ignore it. Their parent stops them in order (a message, SIGTERM, or `lgd serve`'s SIGUSR1
for a Redis worker).
"""

from __future__ import annotations

import signal
from multiprocessing import resource_tracker
from typing import Protocol


class _Startable(Protocol):
    def start(self) -> None: ...


def start_child(proc: _Startable) -> None:
    """`proc.start()` with SIGINT blocked in the calling thread, so the child starts with
    it blocked (works from any thread: it changes this thread's mask only)."""
    # multiprocessing starts its resource tracker on the first spawn and then *unblocks*
    # SIGINT in this thread: have it running before the mask is set
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_sigint() -> None:
    """In a child's main thread: ignore SIGINT from now on, dropping one that arrived while
    it was blocked, then unblock it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
