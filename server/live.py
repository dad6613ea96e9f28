"""A live session: the SFU room, the link to its analysis worker and its event stream.

Media packets go from the room to one media thread (never dropped), which places them on
the session clock (`media.live.LiveSource`) and ships the driver's inputs as frames
(`analysis.frames`) to an analysis worker process (`server.workers`): the worker runs the
same `Analysis` driver as `lgd analyze`. Its numbered events come back to the event loop,
which drops any number already seen (a worker that took over after a crash), appends them
to the session's log and publishes them on the bus. The report is the fold of the same
events (`ReportBuilder`), as the driver's own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np

from analysis.frames import (
    AudioFrame,
    EndFrame,
    EventsFrame,
    Frame,
    Result,
    Resume,
    VideoFrame,
)
from analysis.report import ReportBuilder
from analysis.settings import Settings
from core.bus import Bus
from core.clock import FRAME_SAMPLES, SAMPLE_RATE
from core.events import AnalysisLag, Event, PhaseStarted, PortraitUpdate, SpeechHorizon
from core.policy import computes_affect, resolve
from core.session import SessionInfo
from hr.fit import with_fit
from hr.profiles import JobProfile, profile_from_dict
from media.live import LiveSource
from media.room import Room
from server.recording import SessionRecorder, recording_mode
from server.store import EventLog, SessionRecord, SessionStore
from server.workers import Link, Workers

logger = logging.getLogger(__name__)

CLIENT_ENVELOPE_MAX = 20 * 60 * 20  # 20 minutes of 50 ms level points per source
CLIENT_FIELDS_MAX = 48  # a browser's receive report: what join.js sends, with room to spare
CLIENT_FIELD_BYTES = 4096
PENDING_MAX = 200_000  # events held while the log or the bus fails (~1 h of a session)
RETRY_MIN_S, RETRY_MAX_S = 0.25, 5.0
END_DRAIN_S = 15.0  # at the end, how long to keep retrying before the report is written
STREAM_KEEP_S = 600.0  # a finished session's bus stream, for dashboards still catching up
VIDEO_BACKLOG = 2  # per candidate; older frames are dropped (audio never is)
MEDIA_JOIN_S = 10.0  # at shutdown, how long to wait for a session's media thread
#: connections after the n-th restart are numbered from n * this (recordings keep apart)
RESTART_GENERATIONS = 1000


class TooLate(Exception):
    """A session cannot be resumed: the server was down longer than a room waits."""


def session_profile(rec: SessionRecord) -> JobProfile | None:
    """The job profile the session was created with, as it was then (its version kept)."""
    saved = rec.options.get("profile")
    return profile_from_dict(saved, f"session {rec.id}") if saved else None


def session_info(rec: SessionRecord) -> SessionInfo:
    return SessionInfo(rec.id, rec.participants, rec.language, rec.started_at or "", rec.affect)


class LiveSession:
    def __init__(self, rec: SessionRecord, settings: Settings, store: SessionStore, bus: Bus,
                 workers: Workers):
        self.rec = rec
        self.workers = workers
        self.settings = settings
        self.store = store
        self.bus = bus
        self.topic = f"{rec.id}.events"
        self.ids = [pid for pid, _ in rec.participants]
        self.policy = resolve(settings.affect_analysis, rec.affect)
        cfg = settings.server
        #: off | audio | audio+video, and why (server/recording.py)
        self.recording, self.recording_why = recording_mode(settings, rec,
                                                            store.vault is not None)
        self.recorder: SessionRecorder | None = None
        self.room = Room(
            self.ids,
            audio_sink=self._on_audio,
            video_sink=self._on_video,
            # video is decoded only when the session's policy lets the face stage run
            video_fps=settings.face.fps if computes_affect(self.policy) else 0.0,
            ice_servers=_ice(cfg.ice_servers),
            remb_bps=cfg.remb_bps,
            record_sink=self._on_record if self.recording != "off" else None,
            clock_sink=self._on_sender_clock if cfg.sender_clock else None,
        )
        self.source = LiveSource(self.ids, cfg.max_wait_s)
        self.link: Link | None = None  #: to the session's analysis worker, from the start
        self.report = ReportBuilder(session_info(rec), self.policy)  #: folds what arrives
        self._seq = 0  #: the next event number expected from the worker
        self.duplicates = 0  #: events received again (a worker that took over) and dropped
        self._analysed_s = 0.0  #: audio the worker had analysed at its latest result
        self._results_in = 0  #: results from the worker so far (its progress, at the end)
        self._finished = asyncio.Event()  #: the worker's last result is in, or it failed
        self._failure: str | None = None
        self._sent = 0  #: frames sent to the worker
        self._send_lock = threading.Lock()  # the media thread and the loop both send
        self.frames_done = 0  #: frames the worker had applied, at its latest result
        self._answered = asyncio.Event()  #: set (and replaced) on each result
        self.client_stats: dict[str, Any] = {}
        self._t0: float | None = None  # monotonic time of session clock 0
        self._video: dict[str, deque] = {pid: deque(maxlen=VIDEO_BACKLOG) for pid in self.ids}
        self._video_dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log: EventLog | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        # events not yet in the log / on the bus (a full disk, Redis down): kept, retried
        self._unlogged: deque[Event] = deque(maxlen=PENDING_MAX)
        self._unpublished: deque[Event] = deque(maxlen=PENDING_MAX)
        self._retry_s = RETRY_MIN_S
        self._draining_until: float | None = None
        self.faults: dict[str, str] = {}  #: where -> what is failing now
        self._publisher: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self.loop_stall_max_s = 0.0
        self._idle_since: float | None = None
        self.phases: list[dict[str, Any]] = rec.options.get("phases") or []
        self.phase: tuple[int, float] | None = None  #: (index, started at) of the current one
        self._advance = asyncio.Event()
        self._phase_task: asyncio.Future[None] | None = None
        self._loop_watch: asyncio.Task[None] | None = None
        self._restart: dict[str, Any] | None = None  #: this run's entry in options.restarts

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._t0 is not None and not self._ended.is_set()

    @property
    def started(self) -> bool:
        """Started (live, ending or ended): it holds a media thread and a worker's session."""
        return self._t0 is not None

    def now(self) -> float:
        """Session time (s); 0 before the start."""
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    async def start(self) -> None:
        if self._t0 is not None:
            return
        self.rec.state = "live"
        self.rec.started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.store.save(self.rec)
        await self._run(time.monotonic())

    async def resume(self) -> None:
        """The session was live when the server stopped: it goes on, on the same session
        clock (its zero is `started_at`, kept in session.json with ms). Its driver starts
        where the clock is now, rebuilt from the events logged before (`Analysis.resume`);
        the candidates' re-offers join it as reconnects do. The gap — from the last time the
        log vouches for to the first audio after the restart — is kept with the session and
        listed in the report's `gaps`."""
        if self._t0 is not None:
            return
        loop = asyncio.get_running_loop()
        logged = await loop.run_in_executor(None, lambda: list(self.store.events(self.rec.id)))
        for ev in logged:
            self.report.add(ev)
        # every speech decision before the last horizon is in the log; after it, none is sure
        horizon = max((ev.until for ev in logged if isinstance(ev, SpeechHorizon)),
                      default=0.0)
        started = datetime.fromisoformat(self.rec.started_at or "")
        elapsed = (datetime.now(UTC) - started).total_seconds()
        limit = self.settings.server.idle_end_s
        if limit > 0 and elapsed - horizon > limit:  # nobody waited that long: it ended idle
            raise TooLate(f"the server was down for {elapsed - horizon:.0f} s, longer than "
                          f"LGD_SERVER_IDLE_END_S ({limit:.0f} s)")
        at = max(elapsed, self.report.analysed_s, horizon)  # a wall clock set back: never before
        at = math.ceil(at * SAMPLE_RATE / FRAME_SAMPLES) * FRAME_SAMPLES / SAMPLE_RATE
        restarts = self.rec.options.setdefault("restarts", [])
        self._restart = {"from_s": round(horizon, 2), "resumed_at_s": round(at, 2),
                         "to_s": None, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        restarts.append(self._restart)
        self.store.save(self.rec)
        self.source.start_at(at)
        self.room.continue_generations(RESTART_GENERATIONS * len(restarts))
        await self._republish(logged)
        phase = next(((ev.index, ev.at) for ev in reversed(logged)
                      if isinstance(ev, PhaseStarted)), None)
        seed: list[Event] = [ev for ev in logged
                             if not isinstance(ev, PortraitUpdate | AnalysisLag)]
        logger.info("session %s: resumed at %.2f s of session time (its log vouches for "
                    "%.2f s)", self.rec.id, at, horizon)
        await self._run(time.monotonic() - at, Resume(at, horizon, seed), phase)

    async def _republish(self, logged: list[Event]) -> None:
        """Dashboards opened from now on replay the whole session from the bus: what it lost
        with the old process (an in-process bus) goes on it again, once."""
        try:
            have = len(await self.bus.events(self.topic))
            for ev in logged[have:]:
                await self.bus.publish(self.topic, ev)
        except Exception as exc:  # the bus is down: the publisher's faults show it
            logger.warning("session %s: cannot republish its events: %r", self.rec.id, exc)

    async def _run(self, t0: float, resume: Resume | None = None,
                   phase: tuple[int, float] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = t0
        self._log = self.store.log(self.rec.id)
        if self.recording != "off":
            self.recorder = SessionRecorder(self.store, self.rec.id, self.recording)
        self._publisher = asyncio.ensure_future(self._publish())
        self._loop_watch = asyncio.ensure_future(self._watch_loop())
        loop = self._loop

        def on_result(res: Result) -> None:
            loop.call_soon_threadsafe(self._on_result, res)

        def on_failure(why: str) -> None:
            loop.call_soon_threadsafe(self._on_failure, why)

        def on_problem(where: str, what: str | None) -> None:
            loop.call_soon_threadsafe(self._problem, where, what)

        # opening may start a worker process: off the loop
        self.link = await loop.run_in_executor(None, self.workers.open, session_info(self.rec),
                                               on_result, on_failure, on_problem, resume)
        self._thread = threading.Thread(target=self._media, name=f"media-{self.rec.id}",
                                        daemon=True)
        self._thread.start()
        if self.phases:
            self._phase_task = asyncio.ensure_future(self._run_phases(*(phase or (0, None))))

    def feed_events(self, events: list[Event]) -> int:
        """Events from outside the media (a phase, an operator's note) into the analysis,
        in order with the audio shipped so far; the frame's number (see `analysed`)."""
        if self.link is None or self._stop.is_set():
            return 0
        return self._send(EventsFrame(list(events)))

    def _send(self, frame: Frame) -> int:
        assert self.link is not None
        with self._send_lock:  # numbered in the order the link carries them
            self.link.send(frame)
            self._sent += 1
            return self._sent

    async def analysed(self, frame: int, timeout: float = 60.0) -> None:
        """Wait until the worker has answered frame number `frame` (`feed_events`)."""
        async with asyncio.timeout(timeout):
            while self.frames_done < frame and not self._finished.is_set():
                answered = self._answered
                await answered.wait()

    # -- the exercise's phases -----------------------------------------------------------

    async def _run_phases(self, first: int = 0, started: float | None = None) -> None:
        """Each phase starts when the one before has run its planned time, or when the lead
        moves on (`advance`); the last one lasts until the session ends. After a restart:
        from phase `first`, which had started at `started` (announced before)."""
        for i in range(first, len(self.phases)):
            ph = self.phases[i]
            if i == first and started is not None:
                at = started
            else:
                at = round(self.now(), 2)
                self.feed_events([PhaseStarted(ph["name"], i, at, ph["duration_s"])])
            self.phase = (i, at)
            if i == len(self.phases) - 1:
                return
            try:
                left = max(0.0, at + ph["duration_s"] - self.now())
                await asyncio.wait_for(self._advance.wait(), left)
            except TimeoutError:
                pass
            self._advance.clear()

    def advance(self) -> bool:
        """Move to the next phase now; False when already in the last one."""
        if self.phase is None or self.phase[0] >= len(self.phases) - 1:
            return False
        self._advance.set()
        return True

    def idle_s(self) -> float:
        """How long nobody has been connected (0 while someone is)."""
        if self.room.stats()["connected"]:
            self._idle_since = None
            return 0.0
        if self._idle_since is None:
            self._idle_since = time.monotonic()
        return time.monotonic() - self._idle_since

    @property
    def ending(self) -> bool:
        return self._ended.is_set()

    async def end(self, gap: dict[str, str] | None = None) -> dict[str, Any]:
        """Stop analysis, flush every stage, write the final report; idempotent. `gap`: why
        it ended early, if it did (listed in the report's `gaps`)."""
        if self._ended.is_set():
            return self.store.report(self.rec.id) or {}
        self._ended.set()
        if self._phase_task is not None:
            self._phase_task.cancel()
        await self.room.close()
        loop = asyncio.get_running_loop()
        recorded = {"mode": self.recording, "why": self.recording_why}
        if self.recorder is not None:  # the rest sealed and every container finished
            recorded |= await loop.run_in_executor(None, self.recorder.close)
        if self._thread is not None:
            self._stop.set()
            await loop.run_in_executor(None, self._thread.join)  # it sends the end frame
            await self._worker_done()
        if self._publisher is not None:
            await self._outbox.put(None)
            await self._publisher
            if self._loop_watch is not None:
                self._loop_watch.cancel()
        if self._log is not None:
            self._log.close()
        try:  # the log on disk has every event: the bus need not keep them
            await self.bus.retire(self.topic, STREAM_KEEP_S)
        except Exception as exc:  # a bus that is down: the stream stays, and says so
            logger.warning("session %s: cannot retire its stream: %r", self.rec.id, exc)
        gaps = [gap] if gap else []
        for r in self.rec.options.get("restarts", []):
            to = r["to_s"] if r["to_s"] is not None else r["resumed_at_s"]
            gaps.append({"what": "server restart", "from_s": r["from_s"], "to_s": to,
                         "detail": f"the server stopped and restarted: nothing was analysed "
                         f"from {r['from_s']:.2f} s to {to:.2f} s of the session"})
        if self._thread is None:  # never started
            report = self._empty_report()
        elif self._failure is None:
            report = self.report.build()  # the fold of every event: the driver's own report
        else:  # the analysis stopped early: what it produced
            report = self.report.build(self._analysed_s)
            gaps.append({"what": "analysis stopped", "detail": f"{self._failure}, after "
                         f"{self._analysed_s:.1f} s of audio (see the server log)"})
        lost = {p: n for p, n in self.source.timeline.frames_lost.items() if n}
        if lost:
            gaps.append({"what": "audio not analysed",
                         "detail": ", ".join(f"{p}: {n * 0.02:.2f} s" for p, n in lost.items())})
        waiting = max(len(self._unlogged), len(self._unpublished))
        if waiting:
            gaps.append({"what": "events not stored", "detail": f"{waiting} events could not "
                         f"be written or published: {'; '.join(self.faults.values())}"})
        report = {**report, "complete": not gaps, "gaps": gaps,
                  # who agreed to what notice, when (the join page's consent records)
                  "consent": dict(self.rec.options.get("consent", {})),
                  "recording": recorded}
        report = with_fit(report, session_profile(self.rec))
        duration = report["session"]["duration_s"]
        self.rec.state = "ended"
        self.rec.ended_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.rec.duration_s = round(duration, 2)
        self.store.save_report(self.rec.id, report)
        self.store.save(self.rec)
        if self.link is not None:  # the report is written: the worker's streams may go
            await loop.run_in_executor(None, self.link.close, True)
        return report

    async def stop_media(self) -> None:
        """Stop and join the media thread (idempotent): a server shutting down leaves none
        behind sending frames to a stopped worker, even for a session whose `end` was cut
        short (cancelled midway)."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join,
                                                             MEDIA_JOIN_S)
            if self._thread.is_alive():
                logger.error("session %s: the media thread did not stop within %.0f s",
                             self.rec.id, MEDIA_JOIN_S)

    async def _worker_done(self) -> None:
        """Wait for the worker's last events while it makes progress: on a busy machine it
        may still be working through a backlog at the end, and cutting it off would write
        an incomplete report of audio that is all there."""
        limit = self.settings.worker.end_wait_s
        while True:
            seen = self._results_in
            try:
                await asyncio.wait_for(self._finished.wait(), limit)
                return
            except TimeoutError:
                if self._results_in == seen:
                    self._failure = (f"no progress from the analysis worker for {limit:.0f} s "
                                     "after the end")
                    return

    def partial_report(self) -> dict[str, Any]:
        return self.report.build(self._analysed_s)

    def _empty_report(self) -> dict[str, Any]:
        return ReportBuilder(session_info(self.rec), self.policy).build(0.0)

    async def join(self, who: str, sdp: str, slots: dict[str, str]) -> str:
        answer = await self.room.connect(who, sdp, slots)
        if self.settings.server.auto_start and self._t0 is None:
            await self.start()
        return answer

    def add_client_stats(self, who: str, body: dict[str, Any]) -> None:
        """A candidate browser's receive report; level envelopes accumulate (bounded). A
        report with too many or too large fields is refused (ValueError), so no client can
        grow the session resource that dashboards poll."""
        mine = self.client_stats.setdefault(who, {"envelope": {}})
        env = body.pop("envelope", {})
        fields = {k: v for k, v in body.items() if k != "envelope"}
        if len(set(mine) | set(fields)) > CLIENT_FIELDS_MAX or any(
                len(json.dumps(v)) > CLIENT_FIELD_BYTES for v in fields.values()):
            raise ValueError(f"client-stats: at most {CLIENT_FIELDS_MAX} fields of "
                             f"{CLIENT_FIELD_BYTES} bytes each")
        mine.update(fields)
        if isinstance(env, dict):
            for src, points in env.items():
                if src in self.ids and isinstance(points, list):
                    kept = mine["envelope"].setdefault(src, [])
                    kept.extend(points[:CLIENT_ENVELOPE_MAX])
                    del kept[:-CLIENT_ENVELOPE_MAX]

    def stats(self, envelopes: bool = False) -> dict[str, Any]:
        """Operator diagnostics; the clients' level envelopes (large) only when asked for,
        else how many points each holds."""
        tl = self.source.timeline
        clients = self.client_stats if envelopes else {
            who: {**c, "envelope": {src: len(p) for src, p in c.get("envelope", {}).items()}}
            for who, c in self.client_stats.items()}
        return {
            "session_time_s": round(self.now(), 3),
            "analysed_until_s": round(self.source.analysed_s, 3),
            "audio_frames_in": dict(tl.frames_in),
            "analysis_frames_lost": dict(tl.frames_lost),
            "resyncs": dict(tl.resyncs),
            # placed by the sender's capture clock (RTCP reports): moves, the latest one
            # (ms, + later), reports refused, audio a move earlier dropped (ms)
            "sender_clock_reports": dict(tl.clock_reports),
            "sender_clock_realigns": dict(tl.realigns),
            "sender_clock_realigned_ms": dict(tl.realigned_ms),
            "sender_clock_refused": dict(tl.clock_refused),
            "sender_clock_dropped_ms": {p: round(v, 1) for p, v in tl.realign_dropped_ms.items()},
            "video_frames_dropped": self._video_dropped,
            "loop_stall_max_s": round(self.loop_stall_max_s, 3),
            "analysis_delay_ms": _percentiles(self.source.delays),
            "worker_analysed_s": round(self._analysed_s, 3),
            "events_received": self._seq,
            "duplicate_events_dropped": self.duplicates,
            "faults": dict(self.faults),
            #: server restarts this session went through: what was not heard (s)
            "restarts": [{k: r[k] for k in ("from_s", "to_s", "resumed_at_s")}
                         for r in self.rec.options.get("restarts", [])],
            "phase": None if self.phase is None else {
                "index": self.phase[0], "name": self.phases[self.phase[0]]["name"],
                "started_at": self.phase[1],
                "planned_s": self.phases[self.phase[0]]["duration_s"]},
            "events_waiting": max(len(self._unlogged), len(self._unpublished)),
            "room": self.room.stats(),
            "clients": clients,
        }

    # -- media in (event loop) ---------------------------------------------------------

    def _on_audio(self, who: str, generation: int, ts: int, payload: bytes, arrival: float) -> None:
        if self._t0 is not None and not self._stop.is_set():
            self.source.put(who, generation, ts, payload, arrival - self._t0)
            if self._restart is not None and self._restart["to_s"] is None:
                # the restart's gap ends with the first audio heard after it
                self._restart["to_s"] = round(arrival - self._t0, 2)
                self.store.save(self.rec)

    def _on_sender_clock(self, who: str, generation: int, ts: int, wall: float,
                         arrival: float) -> None:
        """An RTCP sender report: RTP timestamp `ts` was captured at `wall` on the sender's
        clock, taken onto the session clock through this host's wall clock."""
        if self._t0 is not None and not self._stop.is_set():
            captured = wall - (time.time() - time.monotonic()) - self._t0
            self.source.sender_clock(who, generation, ts, captured, arrival - self._t0)

    def _on_record(self, who: str, generation: int, kind: str, codec: str, ts: int,
                   payload: bytes, arrival: float) -> None:
        if self.recorder is None or self._t0 is None or self._stop.is_set():
            return
        # only who agreed to a notice that said they would be recorded
        if self.rec.options.get("consent", {}).get(who, {}).get("recording", "off") != "off":
            self.recorder.put(who, generation, kind, codec, ts, payload, arrival - self._t0)

    def _on_video(self, who: str, frame: Any, arrival: float) -> None:
        if self._t0 is None:
            return
        q = self._video.get(who)
        if q is not None:
            if len(q) == q.maxlen:
                self._video_dropped += 1
            q.append((arrival - self._t0, frame))

    # -- media thread: frames out to the worker ----------------------------------------

    def _media(self) -> None:
        try:
            self._media_loop()
        except Exception as exc:  # never silent: the report says why the analysis stopped
            logger.exception("session %s: the media thread stopped", self.rec.id)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._on_failure, f"media thread: {exc!r}")

    def _media_loop(self) -> None:
        source = self.source
        while True:
            stopping = self._stop.is_set()
            block = source.poll(self.now(), stopping)
            if self.recorder is not None:  # a re-analysis places the audio the same way
                for anchor in source.take_anchors():
                    self.recorder.anchor(*anchor)
            if block is not None:
                self._send(AudioFrame(block))
            for who, q in self._video.items():
                if q:
                    at, frame = q.popleft()
                    rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
                    self._send(VideoFrame(who, at, np.ascontiguousarray(rgb)))
            if (lag := source.lag(self.now())) is not None:
                self._send(EventsFrame([lag]))
            if stopping:
                self._send(EndFrame())
                return

    # -- the worker's events in (event loop) -------------------------------------------

    def _on_result(self, res: Result) -> None:
        """Numbered events: each number once, in order (a worker that took over a session
        sends again what its predecessor may have sent)."""
        self._results_in += 1
        if res.first_seq > self._seq:  # never expected: the stream lost events
            self._problem("analysis", f"events {self._seq}-{res.first_seq - 1} never arrived")
        fresh = res.events[max(0, self._seq - res.first_seq):]
        self.duplicates += len(res.events) - len(fresh)
        if fresh:
            self._seq = res.next_seq
            for ev in fresh:
                self.report.add(ev)
            self._outbox.put_nowait(fresh)
        self._analysed_s = max(self._analysed_s, res.analysed_s)
        self.frames_done = max(self.frames_done, res.frames)
        answered, self._answered = self._answered, asyncio.Event()
        answered.set()
        if res.final:
            self._finished.set()

    def _on_failure(self, why: str) -> None:
        self._failure = why
        self._fault("analysis", f"the analysis stopped: {why}")
        self._finished.set()
        self._answered.set()

    def _problem(self, where: str, what: str | None) -> None:
        if what is None:
            self.faults.pop(where, None)
        else:
            self._fault(where, what)

    async def _watch_loop(self) -> None:
        """Event-loop stalls delay every packet of every candidate: keep the worst seen."""
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.05)
            self.loop_stall_max_s = max(self.loop_stall_max_s, loop.time() - t - 0.05)

    # -- events out (event loop) -------------------------------------------------------

    async def _publish(self) -> None:
        """One consumer keeps the log and the bus in production order. Neither a full disk
        nor a bus that is down stops it: what could not be written waits (bounded) and is
        retried with backoff, in order; the fault shows in `stats()["faults"]` and the log."""
        stopping = False
        while True:
            timeout = None if not (self._unlogged or self._unpublished) else self._retry_s
            try:
                events = await asyncio.wait_for(self._outbox.get(), timeout)
            except TimeoutError:
                events = []
            if events is None:
                stopping = True
                events = []
            self._unlogged.extend(events)
            self._unpublished.extend(events)
            await self._flush_out()
            if self._unlogged or self._unpublished:
                self._retry_s = min(2 * self._retry_s, RETRY_MAX_S)
            else:
                self._retry_s = RETRY_MIN_S
            if stopping and (not (self._unlogged or self._unpublished)
                             or time.monotonic() > self._drain_deadline()):
                return

    def _drain_deadline(self) -> float:
        if self._draining_until is None:
            self._draining_until = time.monotonic() + END_DRAIN_S
        return self._draining_until

    async def _flush_out(self) -> None:
        if self._unlogged and self._log is not None:
            try:
                self._log.append(self._unlogged)
                self._unlogged.clear()
                self.faults.pop("event_log", None)
            except (OSError, ValueError) as exc:  # ValueError: a log closed under us
                self._fault("event_log", f"cannot write the event log: {exc}")
        while self._unpublished:
            try:
                await self.bus.publish(self.topic, self._unpublished[0])
            except Exception as exc:  # the bus's own error types (redis, connection)
                self._fault("bus", f"cannot publish events: {exc!r}")
                return
            self._unpublished.popleft()
            self.faults.pop("bus", None)

    def _fault(self, where: str, message: str) -> None:
        if self.faults.get(where) != message:
            logger.error("session %s: %s (%d events waiting)", self.rec.id, message,
                         max(len(self._unlogged), len(self._unpublished)))
        self.faults[where] = message


def _percentiles(values: deque[float]) -> dict[str, float]:
    if not values:
        return {}
    a = np.asarray(values) * 1000
    p50, p95 = np.percentile(a, [50, 95])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1)}


def _ice(raw: str) -> list[dict]:
    import json

    servers = json.loads(raw or "[]")
    if not isinstance(servers, list):
        raise ValueError("LGD_SERVER_ICE_SERVERS must be a JSON list")
    return servers
