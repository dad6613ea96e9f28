"""The SFU room: one peer connection per candidate, every other candidate relayed to it.

The candidate list is fixed when the session is created, so each browser offers one
receive slot (audio + video transceiver) per other candidate up front. A candidate who
joins late simply starts filling their slot in everyone's connection: no renegotiation,
no glare, and a reconnect (network drop) just replaces that candidate's own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy

from media.passthrough import install_tap, redirect_keyframe_requests, request_keyframe
from media.relay import RelayTrack, SourceHub

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024

#: (who, generation, rtp timestamp, opus payload, arrival monotonic s) for analysis
AudioSink = Callable[[str, int, int, bytes, float], None]
#: (who, generation, rtp timestamp, the sender's wall clock at it in unix s, arrival
#: monotonic s): an audio sender's RTCP report, to place its audio by capture time
ClockSink = Callable[[str, int, int, float, float], None]
#: (who, decoded av.VideoFrame, arrival monotonic s)
VideoSink = Callable[[str, object, float], None]
#: (who, generation, kind, codec, rtp timestamp, encoded frame, arrival monotonic s): every
#: frame of every kind as received, for a recorder
RecordSink = Callable[[str, int, str, str, int, bytes, float], None]


class OfferError(ValueError):
    """The candidate's offer cannot be answered (a 400, not a server fault)."""


ROOM_CODECS = {"audio": "opus", "video": "vp8"}  #: one codec per kind: pass-through


@dataclass
class _Section:
    kind: str
    mid: str | None = None
    direction: str = "sendrecv"
    codecs: set[str] = field(default_factory=set)


def check_offer(sdp: str, slots: dict[str, str]) -> None:
    """The offer must send the candidate's microphone as Opus, and any camera as VP8; the
    media sections it receives on (`slots`) must be able to take the room's codecs. An
    offer that cannot be analysed (`v=0` alone, PCMU only, H.264 only) is refused here,
    before it can replace the candidate's working connection."""
    sections: list[_Section] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("m="):
            sections.append(_Section(line[2:].split(" ", 1)[0]))
        elif not sections:
            continue
        elif line.startswith("a=mid:"):
            sections[-1].mid = line[6:]
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            sections[-1].direction = line[2:]
        elif line.startswith("a=rtpmap:"):
            sections[-1].codecs.add(line.split(" ", 1)[-1].split("/", 1)[0].lower())
    own = [x for x in sections if x.mid not in slots and x.direction in ("sendrecv", "sendonly")]
    if not any(x.kind == "audio" for x in own):
        raise OfferError("the offer sends no microphone audio: it needs an audio section "
                         "that sends (sendonly or sendrecv)")
    for x in sections:
        want = ROOM_CODECS.get(x.kind)
        if want is not None and x.direction != "inactive" and want not in x.codecs:
            raise OfferError(f"the offer's {x.kind} section (mid {x.mid}) has no {want}: "
                             f"this room relays {want} only")


@dataclass
class Peer:
    who: str
    generation: int
    pc: RTCPeerConnection
    relays: list[RelayTrack] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closing: bool = False  #: the room closes it: its own "closed" state needs no handling


class Room:
    def __init__(
        self,
        participants: list[str],
        audio_sink: AudioSink,
        video_sink: VideoSink | None = None,
        video_fps: float = 0.0,
        ice_servers: list[dict] | None = None,
        remb_bps: int = 250_000,
        record_sink: RecordSink | None = None,
        clock_sink: ClockSink | None = None,
    ) -> None:
        self.participants = list(participants)
        self.hubs = {(p, k): SourceHub(p, k) for p in participants for k in ("audio", "video")}
        self.peers: dict[str, Peer] = {}
        self.audio_sink = audio_sink
        self.video_sink = video_sink
        self.video_fps = video_fps
        self.record_sink = record_sink
        self.clock_sink = clock_sink
        self.ice_servers = [RTCIceServer(**s) for s in (ice_servers or [])]
        self.remb_bps = remb_bps
        self._generations = 0

    def continue_generations(self, after: int) -> None:
        """Number connections from `after` + 1 (a session resumed after a restart: its
        connections and recordings from before keep their own numbers)."""
        self._generations = max(self._generations, after)

    async def connect(self, who: str, sdp: str, slots: dict[str, str]) -> str:
        """Answer `who`'s offer. `slots` maps the offer's receive-only mids to the candidate
        whose media they carry. Returns the answer SDP; OfferError on a bad offer."""
        if who not in self.participants:
            raise OfferError(f"{who!r} is not a candidate of this session")
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_BYTES:
            raise OfferError("offer must be an SDP string (v=0 …) of at most 64 KiB")
        if sdp.count("\nm=") > 2 * len(self.participants):
            raise OfferError("offer has more media sections than the room has slots")
        for mid, other in slots.items():
            if other not in self.participants or other == who:
                raise OfferError(f"slot {mid!r} names {other!r}, not another candidate")
        check_offer(sdp, slots)  # before anything changes: the live connection, the clock

        self._generations += 1
        config = RTCConfiguration(
            iceServers=self.ice_servers or None, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        pc = RTCPeerConnection(config)
        peer = Peer(who, self._generations, pc)

        @pc.on("track")
        def on_track(track) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            self._tap(peer, receiver, track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            logger.info("%s connection %s", who, pc.connectionState)
            if pc.connectionState in ("failed", "closed") and not peer.closing:
                await self._drop(peer)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as e:  # aiortc raises many types on bad SDP
            await pc.close()
            raise OfferError(f"malformed offer: {e}") from None
        for t in pc.getTransceivers():
            other_id = slots.get(t.mid or "")
            if other_id is None:
                continue
            caps = RTCRtpReceiver.getCapabilities(t.kind)
            wanted = "opus" if t.kind == "audio" else "VP8"  # pass-through cannot transcode
            if caps is not None:
                t.setCodecPreferences([c for c in caps.codecs if c.name == wanted])
            relay = self.hubs[(other_id, t.kind)].subscribe()
            peer.relays.append(relay)
            t.sender.replaceTrack(relay)
            t.direction = "sendonly"
            redirect_keyframe_requests(t.sender, relay.hub.request_keyframe)
        for t in pc.getTransceivers():
            if t.mid not in slots:
                caps = RTCRtpReceiver.getCapabilities(t.kind)
                wanted = "opus" if t.kind == "audio" else "VP8"
                if caps is not None:
                    t.setCodecPreferences([c for c in caps.codecs if c.name == wanted])
        try:
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as e:
            await self._close_peer(peer)
            raise OfferError(f"cannot answer this offer: {e}") from None

        old = self.peers.get(who)
        self.peers[who] = peer
        if old is not None:  # a reconnect replaces the old connection
            await self._close_peer(old)
        return pc.localDescription.sdp

    def _tap(self, peer: Peer, receiver: RTCRtpReceiver, track) -> None:
        hub = self.hubs[(peer.who, track.kind)]
        hub.attach(peer.generation, lambda: request_keyframe(receiver))
        want_video = track.kind == "video" and self.video_sink is not None and self.video_fps > 0

        def on_frame(codec: str, ts: int, data: bytes, arrival: float) -> None:
            hub.push(peer.generation, codec, ts, data)
            if track.kind == "audio":
                self.audio_sink(peer.who, peer.generation, ts, data, arrival)
            if self.record_sink is not None:
                self.record_sink(peer.who, peer.generation, track.kind, codec, ts, data, arrival)

        def on_report(ts: int, wall: float, arrival: float) -> None:
            if self.clock_sink is not None:
                self.clock_sink(peer.who, peer.generation, ts, wall, arrival)

        install_tap(receiver, on_frame, lambda: None, want_video, self.remb_bps,
                    on_report if track.kind == "audio" else None)
        if want_video:
            peer.tasks.append(asyncio.ensure_future(self._sample_video(peer.who, track)))

    async def _sample_video(self, who: str, track) -> None:
        """Decoded frames at `video_fps` for the nonverbal stage; the rest are discarded."""
        loop = asyncio.get_running_loop()
        step = 1.0 / self.video_fps
        next_at = 0.0
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                now = loop.time()
                if now >= next_at and self.video_sink is not None:
                    next_at = now + step
                    self.video_sink(who, frame, now)

    async def _drop(self, peer: Peer) -> None:
        if self.peers.get(peer.who) is peer:
            del self.peers[peer.who]
        await self._close_peer(peer)

    async def _close_peer(self, peer: Peer) -> None:
        peer.closing = True
        for task in peer.tasks:
            task.cancel()
        for relay in peer.relays:
            relay.stop()
        await peer.pc.close()
        for task in peer.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def stats(self) -> dict:
        return {
            "connected": sorted(
                w for w, p in self.peers.items() if p.pc.connectionState == "connected"
            ),
            "sources": {
                f"{w}/{k}": {"frames_in": h.frames_in, "subscribers": len(h.subscribers)}
                for (w, k), h in self.hubs.items()
            },
            "relays": {
                w: {
                    f"{r.hub.who}/{r.kind}": {"sent": r.sent, "dropped": r.dropped}
                    for r in p.relays
                }
                for w, p in self.peers.items()
            },
        }

    async def close(self) -> None:
        for peer in list(self.peers.values()):
            await self._close_peer(peer)
        self.peers.clear()
