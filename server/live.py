"""A live session: the SFU room, the analysis worker and the session's event stream.

Media packets go from the room to one analysis thread (never dropped); the thread places
them on the session clock (`LiveTimeline`), runs the same `Pipeline` as `lgd analyze`
and hands its events back to the event loop, which appends them to the session's log,
adds them to the live report and publishes them on the bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lgd.bus import Bus
from lgd.events import AnalysisLag, Event
from lgd.pipeline import Pipeline, SessionInfo
from lgd.policy import computes_affect, resolve
from lgd.report import ReportBuilder
from lgd.settings import Settings
from media.frames import FRAME_SAMPLES, SAMPLE_RATE
from media.room import Room
from media.timeline import LiveTimeline
from server.store import EventLog, SessionRecord, SessionStore

logger = logging.getLogger(__name__)

LAG_REPORT_EVERY_S = 2.0
CLIENT_ENVELOPE_MAX = 20 * 60 * 20  # 20 minutes of 50 ms level points per source
VIDEO_BACKLOG = 2  # per candidate; older frames are dropped (audio never is)


def warm_up(ids: list[str], settings: Settings) -> None:
    """Load the VAD and compile the numba kernels (cached on disk) before anyone joins: on a
    fresh install that takes seconds of CPU the first browsers need to start up."""
    quiet = dataclasses.replace(settings, asr=dataclasses.replace(settings.asr, enabled=False))
    warm = Pipeline(ids, quiet, affect="off")
    warm.push(np.zeros((len(ids), FRAME_SAMPLES * 50), np.float32))


def session_info(rec: SessionRecord) -> SessionInfo:
    return SessionInfo(rec.id, rec.participants, rec.language, rec.started_at or "", rec.affect)


class LiveSession:
    def __init__(self, rec: SessionRecord, settings: Settings, store: SessionStore, bus: Bus):
        self.rec = rec
        self.settings = settings
        self.store = store
        self.bus = bus
        self.topic = f"{rec.id}.events"
        self.ids = [pid for pid, _ in rec.participants]
        self.policy = resolve(settings.affect_analysis, rec.affect)
        cfg = settings.server
        self.room = Room(
            self.ids,
            audio_sink=self._on_audio,
            video_sink=self._on_video,
            # video is decoded only when the session's policy lets the face stage run
            video_fps=settings.face.fps if computes_affect(self.policy) else 0.0,
            ice_servers=_ice(cfg.ice_servers),
            remb_bps=cfg.remb_bps,
        )
        self.report = ReportBuilder(session_info(rec), settings)
        self.client_stats: dict[str, Any] = {}
        self._t0: float | None = None  # monotonic time of session clock 0
        self._packets: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._video: dict[str, deque] = {pid: deque(maxlen=VIDEO_BACKLOG) for pid in self.ids}
        self._video_dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log: EventLog | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self.timeline: LiveTimeline | None = None
        self.loop_stall_max_s = 0.0
        self.delays: deque[float] = deque(maxlen=3000)  #: recent analysis delays (s)
        self._loop_watch: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._t0 is not None and not self._ended.is_set()

    def now(self) -> float:
        """Session time (s); 0 before the start."""
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    async def start(self) -> None:
        if self._t0 is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._t0 = time.monotonic()
        self.rec.state = "live"
        self.rec.started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.report = ReportBuilder(session_info(self.rec), self.settings)
        self.store.save(self.rec)
        self._log = self.store.log(self.rec.id)
        self._publisher = asyncio.ensure_future(self._publish())
        self._loop_watch = asyncio.ensure_future(self._watch_loop())
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._analyse, args=(ready,), name=f"analysis-{self.rec.id}", daemon=True
        )
        self._thread.start()
        await asyncio.get_running_loop().run_in_executor(None, ready.wait)

    async def end(self) -> dict[str, Any]:
        """Stop analysis, flush every stage, write the final report; idempotent."""
        if self._ended.is_set():
            return self.store.report(self.rec.id) or {}
        self._ended.set()
        await self.room.close()
        duration = self.now()
        if self._thread is not None:
            self._stop.set()
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            duration = self.timeline.read_head / SAMPLE_RATE if self.timeline else duration
        if self._publisher is not None:
            await self._outbox.put(None)
            await self._publisher
            if self._loop_watch is not None:
                self._loop_watch.cancel()
        if self._log is not None:
            self._log.close()
        self.report.voice_attributes = getattr(self, "voice_attributes", {})
        report = self.report.build(duration_s=duration)
        self.rec.state = "ended"
        self.rec.ended_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.rec.duration_s = round(duration, 2)
        self.store.save_report(self.rec.id, report)
        self.store.save(self.rec)
        return report

    def partial_report(self) -> dict[str, Any]:
        if self.timeline is not None:
            return self.report.build(duration_s=self.timeline.read_head / SAMPLE_RATE)
        return self.report.build(duration_s=0.0)

    async def join(self, who: str, sdp: str, slots: dict[str, str]) -> str:
        answer = await self.room.connect(who, sdp, slots)
        if self.settings.server.auto_start and self._t0 is None:
            await self.start()
        return answer

    def add_client_stats(self, who: str, body: dict[str, Any]) -> None:
        """A candidate browser's receive report; level envelopes accumulate (bounded)."""
        mine = self.client_stats.setdefault(who, {"envelope": {}})
        env = body.pop("envelope", {})
        mine.update(body)
        if isinstance(env, dict):
            for src, points in env.items():
                if src in self.ids and isinstance(points, list):
                    kept = mine["envelope"].setdefault(src, [])
                    kept.extend(points[:CLIENT_ENVELOPE_MAX])
                    del kept[:-CLIENT_ENVELOPE_MAX]

    def stats(self) -> dict[str, Any]:
        tl = self.timeline
        return {
            "session_time_s": round(self.now(), 3),
            "analysed_until_s": round(tl.read_head / SAMPLE_RATE, 3) if tl else 0.0,
            "audio_frames_in": dict(tl.frames_in) if tl else {},
            "analysis_frames_lost": dict(tl.frames_lost) if tl else {},
            "resyncs": dict(tl.resyncs) if tl else {},
            "video_frames_dropped": self._video_dropped,
            "loop_stall_max_s": round(self.loop_stall_max_s, 3),
            "analysis_delay_ms": _percentiles(self.delays),
            "room": self.room.stats(),
            "clients": self.client_stats,
        }

    # -- media in (event loop) ---------------------------------------------------------

    def _on_audio(self, who: str, generation: int, ts: int, payload: bytes, arrival: float) -> None:
        if self._t0 is not None and not self._stop.is_set():
            self._packets.put((who, generation, ts, payload, arrival - self._t0))

    def _on_video(self, who: str, frame: Any, arrival: float) -> None:
        if self._t0 is None:
            return
        q = self._video.get(who)
        if q is not None:
            if len(q) == q.maxlen:
                self._video_dropped += 1
            q.append((arrival - self._t0, frame))

    # -- analysis thread ---------------------------------------------------------------

    def _analyse(self, ready: threading.Event) -> None:
        try:
            self._analyse_loop(ready)
        except Exception:  # never silent: the log says why the analysis stopped
            logger.exception("session %s: live analysis stopped", self.rec.id)
            ready.set()

    def _analyse_loop(self, ready: threading.Event) -> None:
        try:
            warm_up(self.ids, self.settings)  # quick when the server did it at creation
            pipeline = Pipeline(
                self.ids,
                self.settings,
                affect=self.rec.affect,
                language=self.rec.language,
                names=self.rec.participants,
            )
            self.timeline = LiveTimeline(self.ids)
        finally:
            ready.set()
        tl = self.timeline
        max_wait = self.settings.server.max_wait_s
        lost_reported = 0
        last_lag = 0.0
        while True:
            stopping = self._stop.is_set()
            try:
                item = self._packets.get(timeout=0.005)
                tl.place(*item)
                while True:  # drain what else arrived: placement is cheap
                    tl.place(*self._packets.get_nowait())
            except queue.Empty:
                pass
            now = self.now()
            until = int(now * SAMPLE_RATE) if stopping else tl.ready(now, max_wait)
            events: list[Event] = []
            if until - tl.read_head >= FRAME_SAMPLES:
                block = tl.read(until)  # (n_tracks, k*320) float32 16 kHz
                events += pipeline.push(block)
                # how far behind the session clock analysed audio is (transport + wait)
                self.delays.append(now - tl.read_head / SAMPLE_RATE)
            events += self._video_step(pipeline)
            lost = sum(tl.frames_lost.values())
            behind = now - tl.read_head / SAMPLE_RATE
            if (lost > lost_reported or behind > 1.0) and now - last_lag > LAG_REPORT_EVERY_S:
                events.append(AnalysisLag("media", round(now, 2), round(behind, 3), lost))
                lost_reported, last_lag = lost, now
            if stopping:
                events += pipeline.flush()
                levels = pipeline.mic_levels.levels()  # for the report's fairness section
                self.voice_attributes = {p: {"mic_level_db": v} for p, v in levels.items()}
            if events:
                self._deliver_threadsafe(events)
            if stopping:
                return

    def _video_step(self, pipeline: Pipeline) -> list[Event]:
        push_video = getattr(pipeline, "push_video", None)
        out: list[Event] = []
        for who, q in self._video.items():
            if not q:
                continue
            at, frame = q.popleft()
            if push_video is None:
                continue
            rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
            out += push_video(who, at, np.ascontiguousarray(rgb))
        return out

    def _deliver_threadsafe(self, events: list[Event]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, events)

    async def _watch_loop(self) -> None:
        """Event-loop stalls delay every packet of every candidate: keep the worst seen."""
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.05)
            self.loop_stall_max_s = max(self.loop_stall_max_s, loop.time() - t - 0.05)

    # -- events out (event loop) -------------------------------------------------------

    async def _publish(self) -> None:
        """One consumer keeps the log, the report and the bus in production order."""
        while (events := await self._outbox.get()) is not None:
            if self._log is not None:
                self._log.append(events)
            for ev in events:
                self.report.add(ev)
                await self.bus.publish(self.topic, ev)


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
