"""Re-analysis of a recorded session: its sealed recordings decrypted into memory and run
through the current `Analysis` driver, as the live session ran them. Where the session's
policy analyses faces, the recorded cameras are decoded (in memory, at the face stage's
rate) and fed beside the audio at their session times.

The packets are placed on the session clock by the same `LiveTimeline` the live session
used, in the order and at the times they arrived (the recording's index keeps both), and
the blocks are handed out at the same watermark; the exercise's phases come from the event
log. So a re-analysis with unchanged code gives the live report back, and one with a
better model gives what that model makes of the same audio.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

import numpy as np

from analysis.driver import Analysis
from analysis.settings import Settings
from core import policy
from core.clock import FRAME_SAMPLES, SAMPLE_RATE
from core.events import Event, PhaseStarted
from hr.fit import with_fit
from media.recorder import decoded_frames, demux
from media.timeline import RTP_RATE, LiveTimeline
from server.live import session_info, session_profile
from server.recording import expected_chunks, open_container, segments
from server.store import SessionStore
from server.vault import VaultError

#: one recorded Opus packet: (arrival session s, who, generation, RTP timestamp, payload)
Packet = tuple[float, str, int, int, bytes]


class ReanalysisError(ValueError):
    """The session cannot be re-analysed (no recordings, not ended, a candidate erased)."""


def recorded_audio(store: SessionStore, sid: str) -> list[Packet]:
    """Every recorded Opus packet of the session, decrypted in memory, in arrival order."""
    out: list[Packet] = []
    for seg in segments(store, sid):
        if seg["kind"] != "audio" or not seg["packets"]:
            continue
        try:
            packets = demux(open_container(store, sid, seg["file"], expected_chunks(seg)))
        except VaultError as exc:
            raise ReanalysisError(f"a recording is damaged: {exc}") from None
        n = len(packets)
        if n == len(seg["ts"]):  # the index written when the segment closed
            ts, at = seg["ts"].tolist(), seg["at"].tolist()
        else:  # a segment cut short (a crash): its container's own times from the first
            ts = [round(t * RTP_RATE) for t, _ in packets]
            at = [seg["first_at"] + t for t, _ in packets]
        out += [(at[i], seg["who"], seg["generation"], seg["ts0"] + ts[i], packets[i][1])
                for i in range(n)]
    return sorted(out, key=lambda p: p[0])


def recorded_anchors(store: SessionStore, sid: str) -> list[tuple[str, int, int, int]] | None:
    """Where the live timeline anchored each recorded track (`LiveTimeline.anchors`), or
    None for a recording made before they were kept, or cut short (its index was last
    written at its first packet): the timeline then decides again, as live."""
    segs = [seg for seg in segments(store, sid) if seg["kind"] == "audio" and seg["packets"]]
    if any("anchors" not in seg or not seg.get("closed") for seg in segs):
        return None
    return [(seg["who"], seg["generation"], int(ts), int(anchor))
            for seg in segs for ts, anchor in seg["anchors"]]


def recorded_video(store: SessionStore, sid: str, fps: float
                   ) -> Iterator[tuple[float, str, np.ndarray]]:
    """Every recorded camera's frames, decoded in memory at most `fps` a second, in session
    time order: (session s, who, (H, W, 3) uint8 RGB)."""
    def frames(seg: dict[str, Any]) -> Iterator[tuple[float, str, np.ndarray]]:
        try:
            data = open_container(store, sid, seg["file"], expected_chunks(seg))
        except VaultError as exc:
            raise ReanalysisError(f"a recording is damaged: {exc}") from None
        for t, rgb in decoded_frames(data, fps):
            yield seg["first_at"] + t, seg["who"], rgb

    videos = [seg for seg in segments(store, sid) if seg["kind"] == "video" and seg["packets"]]
    return heapq.merge(*(frames(seg) for seg in videos), key=lambda f: f[0])


def reanalyse(store: SessionStore, sid: str, settings: Settings) -> dict[str, Any]:
    """The report the current pipeline makes of the session's recordings."""
    rec = store.load(sid)
    if rec.state != "ended":
        raise ReanalysisError(f"session {sid} has not ended")
    live = store.report(sid) or {}
    if live.get("erased"):
        raise ReanalysisError("a candidate of this session was erased: their voice is gone, "
                              "a re-analysis would not describe the same discussion")
    packets = recorded_audio(store, sid)
    if not packets:
        raise ReanalysisError(f"session {sid} has no recordings")
    phases = [e for e in store.events(sid) if isinstance(e, PhaseStarted)]
    analysis = Analysis(session_info(rec), settings)
    timeline = LiveTimeline(analysis.ids, anchors=recorded_anchors(store, sid))
    max_wait = settings.server.max_wait_s
    # the cameras, where the session's policy analyses faces (nothing is decoded otherwise)
    video = (recorded_video(store, sid, settings.face.fps)
             if policy.computes_affect(analysis.policy) else iter(()))
    frame = next(video, None)

    def feed(until: int) -> None:
        nonlocal frame
        while phases and phases[0].at <= analysis.duration_s:
            started: list[Event] = [phases.pop(0)]
            analysis.feed_events(started)
        if until - timeline.read_head >= FRAME_SAMPLES:
            analysis.feed(timeline.read(until))  # (n_tracks, k*320) float32 16 kHz
        while frame is not None and frame[0] <= analysis.duration_s:
            at, who, rgb = frame
            if who in analysis.ids:
                analysis.feed_video(who, at, rgb)
            frame = next(video, None)

    for at, who, gen, ts, payload in packets:
        timeline.place(who, gen, ts, payload, at)
        feed(timeline.ready(at, max_wait))
    end_s = (live.get("session") or {}).get("duration_s") or rec.duration_s or packets[-1][0]
    feed(max(int(end_s * SAMPLE_RATE), timeline.read_head))
    while frame is not None:  # a camera that outlived the audio
        if frame[1] in analysis.ids:
            analysis.feed_video(frame[1], frame[0], frame[2])
        frame = next(video, None)
    if phases:
        analysis.feed_events(list[Event](phases))
    report = analysis.finish()
    return with_fit({**report, "consent": live.get("consent", {}),
                     "recording": live.get("recording", {})}, session_profile(rec))
